//! Realistic demo data for escucha.
//!
//! [`generate`] produces the contact-center traffic of a fictional company
//! (fiber, mobile, TV, cards, savings and insurance) over a period of days:
//! survey responses, call and chat transcripts, survey-tool exports and
//! messaging tickets, in the four formats escucha ships pipelines for. This
//! crate does no I/O: callers publish each [`DemoEvent`] to its topic as is.
//!
//! What makes it useful for a demo:
//!
//! - Customers in Mexico, Argentina, Spain, Colombia, Chile, Brazil, the US
//!   and the UK (about 45% Spanish, 35% Portuguese, 20% English) write like
//!   people do: regional vocabulary, missing accents, abbreviations, emoji,
//!   capitals when angry, negation, contrast and sarcasm. Texts are composed
//!   from many fragments per scenario, so they rarely repeat.
//! - Each contact has a story (the issue, the process gaps the customer ran
//!   into, how they felt, whether it was solved), and everything follows
//!   from it: the comment, the transcript turns, the operational fields
//!   (wait, transfers, bot escalation, resolution) and the scores.
//! - Agents differ: some are warm and fix things, some are cold or new.
//! - Customers come back about the same issue over other channels; surveys
//!   follow conversations and reference them.
//! - Volume follows weekdays and business hours in the customer's time zone,
//!   with an app outage week and a billing error that show up as spikes.
//! - About one text in ten carries personal data (e-mails, phones, CPF, DNI,
//!   CURP, CUIT, RUT, card numbers) with valid check digits, for redaction.
//! - A configurable number of events are malformed (invalid JSON, an NPS of
//!   14, a conversation without turns, a missing id) for the dead-letter
//!   topics.
//!
//! Generation is pure and deterministic: the same [`DemoConfig`] always
//! yields the same bytes.
//!
//! ```
//! use escucha_demo::{generate, summarize, DemoConfig};
//!
//! let cfg = DemoConfig { interactions: 200, malformed: 4, ..DemoConfig::default() };
//! let events = generate(&cfg);
//! assert_eq!(events.len(), 204);
//! let summary = summarize(&events);
//! assert_eq!(summary.malformed, 4);
//! println!("{summary}");
//! ```

mod calendar;
mod compose;
mod formats;
mod pii;
mod rng;
mod story;
mod summary;
mod text;
mod world;

use chrono::{DateTime, Utc};
use rand::SeedableRng;

pub use summary::{summarize, DemoSummary};

/// Topic of reference survey responses.
pub const TOPIC_SURVEYS: &str = "escucha.surveys";
/// Topic of reference transcripts.
pub const TOPIC_TRANSCRIPTS: &str = "escucha.transcripts";
/// Topic of the survey-tool export.
pub const TOPIC_SURVEYTOOL: &str = "escucha.surveytool";
/// Topic of the messaging-platform ticket export.
pub const TOPIC_MESSAGING: &str = "escucha.messaging";
/// Every topic the demo writes to.
pub const TOPICS: [&str; 4] = [
    TOPIC_SURVEYS,
    TOPIC_TRANSCRIPTS,
    TOPIC_SURVEYTOOL,
    TOPIC_MESSAGING,
];

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoConfig {
    /// Survey responses plus conversations across the four topics (about
    /// 40% reference surveys, 30% reference transcripts, 15% survey-tool
    /// export, 15% messaging export). Malformed events come on top.
    pub interactions: usize,
    /// Length of the period, ending at `now`. At least one day is used.
    pub days: u32,
    /// Seed of the generator: the same configuration yields the same events.
    pub seed: u64,
    /// End of the period; every timestamp lies in `[now - days, now]`.
    pub now: DateTime<Utc>,
    /// Extra events that the pipelines must send to dead-letter topics.
    pub malformed: usize,
}

impl Default for DemoConfig {
    /// 6,000 interactions over 90 days ending now, seed 42, 12 malformed.
    fn default() -> Self {
        DemoConfig {
            interactions: 6_000,
            days: 90,
            seed: 42,
            now: Utc::now(),
            malformed: 12,
        }
    }
}

/// One message to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoEvent {
    /// One of [`TOPICS`].
    pub topic: String,
    /// The customer id, so that one customer's events share a partition.
    pub key: String,
    /// The JSON document (or, for some malformed events, broken JSON).
    pub payload: Vec<u8>,
}

/// Generates the demo data set, ordered by publication time.
pub fn generate(cfg: &DemoConfig) -> Vec<DemoEvent> {
    let mut rng = rng::DemoRng::seed_from_u64(cfg.seed);
    let world = world::World::build(&mut rng, cfg.interactions);
    let cal = calendar::Calendar::new(cfg.now, cfg.days);
    let plan = story::plan(&mut rng, &world, &cal, cfg.interactions, cfg.malformed);
    formats::render_all(&mut rng, &world, &plan)
}
