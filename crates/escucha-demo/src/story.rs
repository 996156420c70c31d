//! What happened in each contact: the issue, the process gaps the customer
//! ran into, how they felt, how it ended, and the operational numbers that
//! follow from it. Texts and scores are derived from this, so they agree.

use chrono::{DateTime, Duration, Utc};
use escucha_core::Channel;
use rand::Rng;

use crate::calendar::{Calendar, Incident};
use crate::rng::{normal, weighted_index, DemoRng};
use crate::world::{Product, Queue, World, CHANNELS};

/// A process gap, in the order of [`escucha_core::taxonomy::THEMES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Gap {
    LongWait,
    Transfer,
    RepeatContact,
    RepeatInformation,
    BotDeadEnd,
    BrokenSelfService,
    ChannelMismatch,
    NoCallback,
    Knowledge,
    LackOfEmpathy,
    Unresolved,
}

impl Gap {
    /// The order a customer tells them in: what happened before reaching
    /// anyone, then in the queue, then with the agent, then the outcome.
    pub(crate) const STORY_ORDER: [Gap; 11] = [
        Gap::RepeatContact,
        Gap::BrokenSelfService,
        Gap::BotDeadEnd,
        Gap::ChannelMismatch,
        Gap::LongWait,
        Gap::Transfer,
        Gap::RepeatInformation,
        Gap::Knowledge,
        Gap::LackOfEmpathy,
        Gap::NoCallback,
        Gap::Unresolved,
    ];

    /// The taxonomy id, e.g. `long_wait`.
    #[cfg(test)]
    pub(crate) fn id(self) -> &'static str {
        escucha_core::taxonomy::THEMES[self as usize]
    }

    /// Gaps that cost the customer effort (they lower CES).
    fn effortful(self) -> bool {
        !matches!(self, Gap::LackOfEmpathy | Gap::Unresolved)
    }
}

/// A customer emotion, in the order of [`escucha_core::taxonomy::EMOTIONS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Emotion {
    Surprise,
    Familiarity,
    Relief,
    Gratitude,
    Belonging,
    Frustration,
    Anger,
    Anxiety,
    Confusion,
    Disappointment,
}

impl Emotion {
    #[cfg(test)]
    pub(crate) fn id(self) -> &'static str {
        escucha_core::taxonomy::EMOTIONS[self as usize]
    }

    pub(crate) fn is_loyalty(self) -> bool {
        (self as usize) < 5
    }
}

/// A small set of gaps.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Gaps(u16);

impl Gaps {
    pub(crate) fn has(self, g: Gap) -> bool {
        self.0 & (1 << g as u16) != 0
    }
    pub(crate) fn add(&mut self, g: Gap) {
        self.0 |= 1 << g as u16;
    }
    pub(crate) fn is_empty(self) -> bool {
        self.0 == 0
    }
    pub(crate) fn count(self) -> u32 {
        self.0.count_ones()
    }
    /// The gaps present, in story order.
    pub(crate) fn in_story_order(self) -> impl Iterator<Item = Gap> {
        Gap::STORY_ORDER.into_iter().filter(move |g| self.has(*g))
    }
}

/// The arc of the contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tone {
    /// Went well; loyalty emotions.
    Positive,
    /// Went fine; nothing to report.
    Neutral,
    /// Started badly (gaps) but the agent turned it around.
    Recovery,
    /// Went badly.
    Negative,
}

/// What the customer contacted about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Issue {
    NoInternet,
    SlowSpeed,
    InstallVisit,
    RechargeMissing,
    NoSignal,
    UnexpectedBill,
    PlanChange,
    Portability,
    DuplicateCharge,
    CardBlocked,
    FraudCharge,
    HomeClaim,
    TravelClaim,
    TvChannels,
    TransferMissing,
    AccountOpening,
    Cancellation,
    AppOutage,
    PriceIncrease,
}

impl Issue {
    #[cfg(test)]
    pub(crate) const ALL: [Issue; 19] = [
        Issue::NoInternet,
        Issue::SlowSpeed,
        Issue::InstallVisit,
        Issue::RechargeMissing,
        Issue::NoSignal,
        Issue::UnexpectedBill,
        Issue::PlanChange,
        Issue::Portability,
        Issue::DuplicateCharge,
        Issue::CardBlocked,
        Issue::FraudCharge,
        Issue::HomeClaim,
        Issue::TravelClaim,
        Issue::TvChannels,
        Issue::TransferMissing,
        Issue::AccountOpening,
        Issue::Cancellation,
        Issue::AppOutage,
        Issue::PriceIncrease,
    ];

    /// Issues a product's customers raise, with relative frequency.
    fn for_product(p: Product) -> &'static [(Issue, f64)] {
        use Issue::*;
        match p {
            Product::Fiber300 => &[
                (NoInternet, 3.0),
                (SlowSpeed, 2.0),
                (InstallVisit, 1.5),
                (UnexpectedBill, 1.5),
                (PlanChange, 1.0),
                (Cancellation, 0.8),
                (PriceIncrease, 1.0),
            ],
            Product::MobilePrepaid => &[
                (RechargeMissing, 3.0),
                (NoSignal, 2.0),
                (Portability, 1.0),
                (PlanChange, 1.0),
                (Cancellation, 0.4),
            ],
            Product::MobilePostpaid => &[
                (UnexpectedBill, 3.0),
                (NoSignal, 1.5),
                (PlanChange, 1.5),
                (Portability, 1.0),
                (Cancellation, 0.8),
                (PriceIncrease, 1.0),
            ],
            Product::CreditCard => &[
                (DuplicateCharge, 2.5),
                (CardBlocked, 2.0),
                (FraudCharge, 1.5),
                (AccountOpening, 1.0),
                (Cancellation, 0.6),
            ],
            Product::HomeInsurance => &[
                (HomeClaim, 3.5),
                (PriceIncrease, 1.0),
                (PlanChange, 0.6),
                (Cancellation, 0.8),
            ],
            Product::TravelInsurance => {
                &[(TravelClaim, 4.0), (PlanChange, 0.5), (Cancellation, 0.4)]
            }
            Product::TvPlus => &[
                (TvChannels, 3.0),
                (UnexpectedBill, 1.0),
                (InstallVisit, 1.0),
                (Cancellation, 1.0),
                (PriceIncrease, 1.0),
            ],
            Product::SavingsAccount => &[
                (TransferMissing, 3.0),
                (AccountOpening, 2.0),
                (CardBlocked, 1.0),
                (Cancellation, 0.4),
            ],
        }
    }

    fn queue(self, rng: &mut DemoRng) -> Queue {
        use Issue::*;
        match self {
            NoInternet | SlowSpeed | NoSignal | TvChannels | CardBlocked | AppOutage => {
                Queue::TechSupport
            }
            InstallVisit | Portability | AccountOpening => Queue::Onboarding,
            RechargeMissing | UnexpectedBill | DuplicateCharge | TransferMissing => Queue::Billing,
            PlanChange => Queue::Sales,
            Cancellation => Queue::Cancellations,
            FraudCharge | HomeClaim | TravelClaim => Queue::Claims,
            PriceIncrease if rng.gen_bool(0.5) => Queue::Cancellations,
            PriceIncrease => Queue::Billing,
        }
    }

    /// Issues about money or safety make people anxious.
    pub(crate) fn worrying(self) -> bool {
        use Issue::*;
        matches!(
            self,
            DuplicateCharge
                | CardBlocked
                | FraudCharge
                | HomeClaim
                | TravelClaim
                | TransferMissing
                | RechargeMissing
        )
    }

    /// Issues about money: charges, refunds, payouts.
    pub(crate) fn about_money(self) -> bool {
        use Issue::*;
        self.worrying() || matches!(self, UnexpectedBill | PriceIncrease | Cancellation)
    }

    /// Issues where someone comes to the customer's home.
    pub(crate) fn has_visit(self) -> bool {
        use Issue::*;
        matches!(
            self,
            InstallVisit | NoInternet | SlowSpeed | TvChannels | HomeClaim
        )
    }

    /// Issues that tend to leave people not understanding what happened.
    pub(crate) fn confusing(self) -> bool {
        use Issue::*;
        matches!(
            self,
            UnexpectedBill | PlanChange | PriceIncrease | Portability | DuplicateCharge
        )
    }

    /// Issues a bot can close on its own.
    fn bot_can_solve(self) -> bool {
        use Issue::*;
        matches!(
            self,
            RechargeMissing | PlanChange | UnexpectedBill | CardBlocked
        )
    }

    /// Issues that involve money, where an amount comes up.
    fn amount_range(self) -> (f64, f64) {
        use Issue::*;
        match self {
            RechargeMissing => (5.0, 25.0),
            FraudCharge => (150.0, 1_200.0),
            TransferMissing => (80.0, 900.0),
            DuplicateCharge => (20.0, 400.0),
            UnexpectedBill | PriceIncrease => (40.0, 180.0),
            _ => (20.0, 120.0),
        }
    }
}

/// One contact: a call, chat, e-mail thread, message thread or the contact
/// behind a survey.
#[derive(Debug, Clone)]
pub(crate) struct Contact {
    pub customer: usize,
    /// The agent who handled the contact in the end.
    pub agent: Option<usize>,
    /// The agent before a transfer.
    pub first_agent: Option<usize>,
    pub channel: Channel,
    pub queue: Queue,
    /// Where the contact first landed when it was transferred.
    pub dept_from: Queue,
    pub product: Product,
    pub issue: Issue,
    pub started: DateTime<Utc>,
    pub wait_s: u32,
    pub handle_s: u32,
    pub transfers: u32,
    pub bot: bool,
    pub escalated: bool,
    pub resolved: bool,
    pub gaps: Gaps,
    /// Emotions in the order they were felt.
    pub feelings: Vec<Emotion>,
    pub tone: Tone,
    /// Position in the case: 0 for the first contact about the issue.
    pub index: u32,
    /// How many times the customer says they have contacted about it.
    pub times: u32,
    /// Days since the issue started.
    pub days_since: u32,
    pub prev_channel: Option<Channel>,
    pub callback_promised: bool,
    pub ticket: u32,
    /// Money at stake in a reference unit worth about one US dollar;
    /// texts convert it to the customer's currency.
    pub amount: f64,
    /// Satisfaction 0..1 and ease 0..1 behind the scores.
    pub satisfaction: f64,
    pub ease: f64,
    pub incident: Option<Incident>,
}

impl Contact {
    pub(crate) fn ended(&self) -> DateTime<Utc> {
        self.started + Duration::seconds(i64::from(self.wait_s + self.handle_s))
    }
}

/// Which topic a record goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Survey,
    Transcript,
    SurveyTool,
    Messaging,
}

/// A way to break an event so that the pipeline must dead-letter it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Corruption {
    InvalidJson,
    NpsOutOfRange,
    NoTurns,
    MissingId,
}

/// One event to publish.
#[derive(Debug, Clone)]
pub(crate) struct Record {
    pub format: Format,
    pub contact: usize,
    /// When the event is published: end of the conversation, or submission
    /// of the survey.
    pub at: DateTime<Utc>,
    /// For surveys: whether to carry the id of the contact it follows.
    pub with_contact_id: bool,
    pub corruption: Option<Corruption>,
}

/// The planned data set.
pub(crate) struct Plan {
    pub contacts: Vec<Contact>,
    pub records: Vec<Record>,
}

/// Probability that a conversation is followed by a survey response.
const SURVEY_AFTER_CONVERSATION: f64 = 0.6;

/// Plans contacts and records until `interactions` records exist (40%
/// reference surveys, 30% reference transcripts, 15% survey-tool export,
/// 15% messaging export), then adds `malformed` records to be corrupted.
pub(crate) fn plan(
    rng: &mut DemoRng,
    world: &World,
    cal: &Calendar,
    interactions: usize,
    malformed: usize,
) -> Plan {
    let n = interactions;
    let mut left = Quotas {
        survey: n * 40 / 100,
        transcript: n * 30 / 100,
        surveytool: n * 15 / 100,
        messaging: 0,
    };
    left.messaging = n - left.survey - left.transcript - left.surveytool;

    let mut planner = Planner {
        rng,
        world,
        cal,
        contacts: Vec::new(),
        records: Vec::new(),
        next_customer: 0,
    };
    while left.total() > 0 {
        planner.case(&mut left);
    }

    let kinds = [
        Corruption::InvalidJson,
        Corruption::NpsOutOfRange,
        Corruption::NoTurns,
        Corruption::MissingId,
    ];
    for i in 0..malformed {
        let corruption = kinds[i % kinds.len()];
        let format = match corruption {
            Corruption::NpsOutOfRange => [Format::Survey, Format::SurveyTool][(i / 4) % 2],
            Corruption::NoTurns => [Format::Transcript, Format::Messaging][(i / 4) % 2],
            _ => [
                Format::Survey,
                Format::Transcript,
                Format::SurveyTool,
                Format::Messaging,
            ][(i / 4 + i % 4) % 4],
        };
        planner.single(format, corruption);
    }

    Plan {
        contacts: planner.contacts,
        records: planner.records,
    }
}

#[derive(Debug, Clone, Copy)]
struct Quotas {
    survey: usize,
    transcript: usize,
    surveytool: usize,
    messaging: usize,
}

impl Quotas {
    fn total(&self) -> usize {
        self.survey + self.transcript + self.surveytool + self.messaging
    }
    fn surveys(&self) -> usize {
        self.survey + self.surveytool
    }
}

struct Planner<'a> {
    rng: &'a mut DemoRng,
    world: &'a World,
    cal: &'a Calendar,
    contacts: Vec<Contact>,
    records: Vec<Record>,
    next_customer: usize,
}

/// Channels a format can carry.
fn allowed(format: Format, channel: Channel) -> bool {
    match format {
        Format::Messaging => matches!(
            channel,
            Channel::Whatsapp | Channel::Chat | Channel::Email | Channel::Social
        ),
        _ => true,
    }
}

impl Planner<'_> {
    /// Every customer gets a first case in turn; after that, customers are
    /// drawn again at random, so some have several cases over the period.
    fn next_customer(&mut self) -> usize {
        let count = self.world.customers.len();
        let c = if self.next_customer < count {
            self.next_customer
        } else {
            // Square bias: a minority of customers contacts much more often.
            let x: f64 = self.rng.gen();
            ((x * x) * count as f64) as usize
        };
        self.next_customer += 1;
        c.min(count - 1)
    }

    /// One issue of one customer, possibly contacted about several times
    /// over several channels until it is solved or the customer gives up.
    fn case(&mut self, left: &mut Quotas) {
        let world = self.world;
        let customer = self.next_customer();
        let cust = &world.customers[customer];
        let locale = cust.locale;
        let product = cust.products[self.rng.gen_range(0..cust.products.len())];

        // Pick the format of the first contact now: it decides the channel,
        // which decides the time of day.
        let mut format = self.pick_format(left);
        let mut channel = self.pick_channel(customer, format, None);
        let mut t = self.cal.sample(
            self.rng,
            locale.utc_offset_hours(),
            channel == Channel::Voice,
        );
        let case_start = t;
        let incident = self.cal.incident_at(t);
        let issue = match incident {
            Some(Incident::AppOutage) if self.rng.gen_bool(0.55) => Issue::AppOutage,
            Some(Incident::BillingError) if self.rng.gen_bool(0.45) => match product {
                Product::CreditCard | Product::SavingsAccount => Issue::DuplicateCharge,
                _ => Issue::UnexpectedBill,
            },
            _ => {
                let options = Issue::for_product(product);
                let weights: Vec<f64> = options.iter().map(|(_, w)| *w).collect();
                options[weighted_index(self.rng, &weights)].0
            }
        };
        let product = if issue == Issue::DuplicateCharge && product != Product::SavingsAccount {
            Product::CreditCard
        } else {
            product
        };
        let queue = issue.queue(self.rng);
        let amount = {
            let (lo, hi) = issue.amount_range();
            self.rng.gen_range(lo..hi)
        };
        let ticket = self.rng.gen_range(1_000_000..9_999_999);

        let mut index = 0u32;
        let mut prev: Option<usize> = None;
        loop {
            let c = self.contact(ContactSeed {
                customer,
                channel,
                queue,
                product,
                issue,
                started: t,
                index,
                case_start,
                prev,
                amount,
                ticket,
                incident: self.cal.incident_at(t).or(incident),
            });
            self.emit(c, format, left);
            let (resolved, tone, ended, last_channel) = {
                let contact = &self.contacts[c];
                (
                    contact.resolved,
                    contact.tone,
                    contact.ended(),
                    contact.channel,
                )
            };
            if resolved || index >= 3 || left.total() == 0 {
                break;
            }
            let keep_trying = match tone {
                Tone::Negative => 0.55,
                _ => 0.3,
            };
            if !self.rng.gen_bool(keep_trying) {
                break;
            }
            // Next attempt hours to a few days later, often on another channel.
            let gap_hours = self.rng.gen_range(2.0f64..96.0);
            let next_t = ended + Duration::minutes((gap_hours * 60.0) as i64);
            if next_t >= self.cal.now - Duration::hours(2) {
                break;
            }
            prev = Some(c);
            index += 1;
            t = next_t;
            format = self.pick_format(left);
            let avoid = if self.rng.gen_bool(0.65) {
                Some(last_channel)
            } else {
                None
            };
            channel = self.pick_channel(customer, format, avoid);
        }
    }

    /// A standalone contact with one record, for malformed events.
    fn single(&mut self, format: Format, corruption: Corruption) {
        let world = self.world;
        let customer = self.rng.gen_range(0..world.customers.len());
        let cust = &world.customers[customer];
        let product = cust.products[0];
        let channel = self.pick_channel(customer, format, None);
        let started = self.cal.sample(
            self.rng,
            cust.locale.utc_offset_hours(),
            channel == Channel::Voice,
        );
        let options = Issue::for_product(product);
        let issue = options[self.rng.gen_range(0..options.len())].0;
        let queue = issue.queue(self.rng);
        let ticket = self.rng.gen_range(1_000_000..9_999_999);
        let c = self.contact(ContactSeed {
            customer,
            channel,
            queue,
            product,
            issue,
            started,
            index: 0,
            case_start: started,
            prev: None,
            amount: 50.0,
            ticket,
            incident: None,
        });
        let at = self.publish_time(c, format);
        self.records.push(Record {
            format,
            contact: c,
            at,
            with_contact_id: true,
            corruption: Some(corruption),
        });
    }

    fn pick_format(&mut self, left: &Quotas) -> Format {
        let expected_linked = SURVEY_AFTER_CONVERSATION * (left.transcript + left.messaging) as f64;
        let standalone = (left.surveys() as f64 - expected_linked).max(0.0);
        let weights = [
            left.transcript as f64,
            left.messaging as f64,
            if left.transcript + left.messaging == 0 {
                left.surveys() as f64
            } else {
                standalone
            },
        ];
        match weighted_index(self.rng, &weights) {
            0 => Format::Transcript,
            1 => Format::Messaging,
            _ => self.pick_survey_format(left),
        }
    }

    fn pick_survey_format(&mut self, left: &Quotas) -> Format {
        if weighted_index(self.rng, &[left.survey as f64, left.surveytool as f64]) == 0 {
            Format::Survey
        } else {
            Format::SurveyTool
        }
    }

    fn pick_channel(&mut self, customer: usize, format: Format, avoid: Option<Channel>) -> Channel {
        let mix = self.world.customers[customer].channel_mix;
        let mut weights = [0.0; 6];
        for (i, ch) in CHANNELS.iter().enumerate() {
            if allowed(format, *ch) && Some(*ch) != avoid {
                weights[i] = mix[i];
                // Transcripts come mostly from the phone platform.
                if format == Format::Transcript && *ch == Channel::Voice {
                    weights[i] *= 1.8;
                }
            }
        }
        if weights.iter().all(|w| *w <= 0.0) {
            for (i, ch) in CHANNELS.iter().enumerate() {
                if allowed(format, *ch) {
                    weights[i] = 1.0;
                }
            }
        }
        CHANNELS[weighted_index(self.rng, &weights)]
    }

    /// Records for one contact: the conversation itself and/or a survey.
    fn emit(&mut self, c: usize, format: Format, left: &mut Quotas) {
        match format {
            Format::Transcript | Format::Messaging => {
                let format = match format {
                    Format::Transcript if left.transcript > 0 => Format::Transcript,
                    Format::Messaging if left.messaging > 0 => Format::Messaging,
                    _ if left.transcript > 0 => Format::Transcript,
                    _ if left.messaging > 0 => Format::Messaging,
                    _ => return self.emit_survey(c, left, false),
                };
                match format {
                    Format::Transcript => left.transcript -= 1,
                    _ => left.messaging -= 1,
                }
                let at = self.publish_time(c, format);
                self.records.push(Record {
                    format,
                    contact: c,
                    at,
                    with_contact_id: true,
                    corruption: None,
                });
                if left.surveys() > 0 && self.rng.gen_bool(SURVEY_AFTER_CONVERSATION) {
                    self.emit_survey(c, left, true);
                }
            }
            _ => self.emit_survey(c, left, false),
        }
    }

    fn emit_survey(&mut self, c: usize, left: &mut Quotas, linked: bool) {
        if left.surveys() == 0 {
            return;
        }
        let format = self.pick_survey_format(left);
        match format {
            Format::Survey => left.survey -= 1,
            _ => left.surveytool -= 1,
        }
        let at = self.publish_time(c, format);
        let with_contact_id = linked || self.rng.gen_bool(0.45);
        self.records.push(Record {
            format,
            contact: c,
            at,
            with_contact_id,
            corruption: None,
        });
    }

    /// Conversations are published when they end; survey answers minutes to
    /// a day after the contact.
    fn publish_time(&mut self, c: usize, format: Format) -> DateTime<Utc> {
        let ended = self.contacts[c].ended();
        let at = match format {
            Format::Transcript | Format::Messaging => ended,
            Format::Survey | Format::SurveyTool => {
                let minutes = if self.rng.gen_bool(0.6) {
                    self.rng.gen_range(2..90)
                } else {
                    self.rng.gen_range(90..1_800)
                };
                let at = ended + Duration::minutes(minutes);
                if at > self.cal.now {
                    // Answered before now: spread over the time left instead
                    // of piling every late answer onto the current second.
                    let left = (self.cal.now - ended).num_seconds().max(0);
                    ended + Duration::seconds(self.rng.gen_range(0..=left))
                } else {
                    at
                }
            }
        };
        self.cal.clamp(at)
    }

    /// Decides what happened in one contact and returns its index.
    fn contact(&mut self, s: ContactSeed) -> usize {
        let rng = &mut *self.rng;
        let world = self.world;
        let cust = &world.customers[s.customer];
        let (prev_channel, prev_callback) = match s.prev {
            Some(p) => (
                Some(self.contacts[p].channel),
                self.contacts[p].callback_promised,
            ),
            None => (None, false),
        };
        let outage = s.incident == Some(Incident::AppOutage);

        let digital = matches!(
            s.channel,
            Channel::Chat | Channel::Whatsapp | Channel::Web | Channel::Social
        );
        let bot = digital && rng.gen_bool(if outage { 0.75 } else { 0.55 });

        let mut gaps = Gaps::default();
        let chance = |g: Gap, p: f64, gaps: &mut Gaps, rng: &mut DemoRng| {
            if rng.gen_bool(p.clamp(0.0, 1.0)) {
                gaps.add(g);
            }
        };

        if s.index > 0 {
            chance(Gap::RepeatContact, 0.9, &mut gaps, rng);
        } else {
            chance(Gap::RepeatContact, 0.04, &mut gaps, rng);
        }
        if s.issue == Issue::AppOutage {
            gaps.add(Gap::BrokenSelfService);
        } else {
            chance(
                Gap::BrokenSelfService,
                if outage { 0.5 } else { 0.07 },
                &mut gaps,
                rng,
            );
        }
        let bot_dead_end = bot && rng.gen_bool(if outage { 0.55 } else { 0.3 });
        let bot_solves =
            bot && !bot_dead_end && s.issue.bot_can_solve() && s.index == 0 && rng.gen_bool(0.45);
        if bot_dead_end {
            gaps.add(Gap::BotDeadEnd);
        }
        if !bot_solves {
            let mismatch = match s.queue {
                Queue::Cancellations => 0.25,
                Queue::Claims => 0.1,
                _ => 0.05,
            };
            chance(Gap::ChannelMismatch, mismatch, &mut gaps, rng);
            let wait = match s.channel {
                Channel::Voice => 0.2,
                Channel::Email => 0.2,
                Channel::Whatsapp => 0.13,
                Channel::Social => 0.12,
                _ => 0.1,
            } * if outage { 2.8 } else { 1.0 };
            chance(Gap::LongWait, wait, &mut gaps, rng);
        }
        let agent = if bot_solves {
            None
        } else {
            Some(world.pick_agent(rng, cust.locale, s.queue, None))
        };
        let (empathy, skill) = agent
            .map(|a| (world.agents[a].empathy, world.agents[a].skill))
            .unwrap_or((0.7, 0.9));
        let mut transfers = 0;
        let mut first_agent = None;
        let mut dept_from = s.queue;
        if agent.is_some() {
            let p = match s.queue {
                Queue::TechSupport | Queue::Claims => 0.16,
                _ => 0.1,
            };
            if rng.gen_bool(p) {
                gaps.add(Gap::Transfer);
                transfers = if rng.gen_bool(0.25) { 2 } else { 1 };
                let others: Vec<Queue> = Queue::ALL
                    .iter()
                    .copied()
                    .filter(|q| *q != s.queue)
                    .collect();
                dept_from = others[rng.gen_range(0..others.len())];
                first_agent = Some(world.pick_agent(rng, cust.locale, dept_from, agent));
            }
            chance(Gap::Knowledge, 0.04 + 0.22 * (1.0 - skill), &mut gaps, rng);
            chance(
                Gap::LackOfEmpathy,
                0.01 + 0.45 * (1.0 - empathy).powi(2),
                &mut gaps,
                rng,
            );
        }
        let mut repeat_info = 0.05;
        if gaps.has(Gap::Transfer) {
            repeat_info += 0.35;
        }
        if bot && agent.is_some() {
            repeat_info += 0.2;
        }
        if s.index > 0 && prev_channel != Some(s.channel) {
            repeat_info += 0.2;
        }
        chance(Gap::RepeatInformation, repeat_info, &mut gaps, rng);
        if prev_callback {
            chance(Gap::NoCallback, 0.85, &mut gaps, rng);
        } else {
            let p = if s.issue == Issue::InstallVisit {
                0.4
            } else {
                0.03
            };
            chance(Gap::NoCallback, p, &mut gaps, rng);
        }

        let blocking = [
            Gap::Knowledge,
            Gap::Transfer,
            Gap::ChannelMismatch,
            Gap::BotDeadEnd,
        ]
        .iter()
        .filter(|g| gaps.has(**g))
        .count() as f64;
        let difficulty = match s.queue {
            Queue::Claims => 0.15,
            Queue::Cancellations => 0.1,
            _ => 0.0,
        };
        let p_resolved = if bot_solves {
            0.97
        } else {
            0.5 + 0.4 * skill - 0.1 * blocking - difficulty
                + 0.08 * f64::from(s.index)
                + if outage { -0.1 } else { 0.0 }
        };
        let resolved = rng.gen_bool(p_resolved.clamp(0.1, 0.97));
        if !resolved {
            gaps.add(Gap::Unresolved);
        }
        let callback_promised = !resolved && rng.gen_bool(0.45);

        let tone = if gaps.is_empty() {
            if rng.gen_bool(0.2) {
                Tone::Neutral
            } else {
                Tone::Positive
            }
        } else if resolved
            && !gaps.has(Gap::LackOfEmpathy)
            && rng.gen_bool((0.25 + 0.65 * empathy).min(0.95))
        {
            Tone::Recovery
        } else if resolved && gaps.count() == 1 && rng.gen_bool(0.3) {
            Tone::Neutral
        } else {
            Tone::Negative
        };
        // A neutral contact carries no gap the customer would complain about.
        if tone == Tone::Neutral {
            gaps = Gaps::default();
            transfers = 0;
            first_agent = None;
            dept_from = s.queue;
        }

        let feelings = feel(rng, tone, gaps, s.issue, cust.tenure_years, empathy);

        let wait_s = wait_seconds(rng, s.channel, gaps.has(Gap::LongWait), bot);
        let mut handle_s = match s.channel {
            Channel::Voice => rng.gen_range(180..780),
            Channel::Email => rng.gen_range(240..900),
            Channel::Whatsapp | Channel::Social => rng.gen_range(420..2_400),
            _ => rng.gen_range(300..1_500),
        };
        handle_s += transfers * rng.gen_range(180..420);
        if gaps.has(Gap::Knowledge) {
            handle_s += rng.gen_range(120..480);
        }
        if gaps.has(Gap::BotDeadEnd) {
            handle_s += rng.gen_range(120..420);
        }
        // A bot that closes the contact answers at once and is quick.
        let (wait_s, handle_s) = if agent.is_none() {
            (rng.gen_range(1..8), rng.gen_range(60..300))
        } else {
            (wait_s, handle_s)
        };

        let satisfaction = {
            let base = match tone {
                Tone::Positive => 0.88,
                Tone::Neutral => 0.72,
                Tone::Recovery => 0.66,
                Tone::Negative => 0.3 - 0.05 * f64::from(gaps.count()),
            };
            let noise = if rng.gen_bool(0.05) {
                // Someone who scores the company, not the contact.
                rng.gen_range(-0.6..0.6)
            } else {
                0.1 * normal(rng)
            };
            (base + 0.12 * (empathy - 0.5) + noise).clamp(0.0, 1.0)
        };
        let effort = gaps.in_story_order().filter(|g| g.effortful()).count() as f64;
        let ease = (0.9 - 0.17 * effort + 0.1 * normal(rng)).clamp(0.0, 1.0);

        let started = s.started;
        let times = if s.index > 0 {
            s.index + 1
        } else {
            rng.gen_range(2..5)
        };
        let days_since = ((started - s.case_start).num_days() as u32).max(if s.index > 0 {
            1
        } else {
            rng.gen_range(2..12)
        });

        self.contacts.push(Contact {
            customer: s.customer,
            agent,
            first_agent,
            channel: s.channel,
            queue: s.queue,
            dept_from,
            product: s.product,
            issue: s.issue,
            started,
            wait_s,
            handle_s,
            transfers,
            bot,
            escalated: bot && agent.is_some(),
            resolved,
            gaps,
            feelings,
            tone,
            index: s.index,
            times,
            days_since,
            prev_channel,
            callback_promised,
            ticket: s.ticket,
            amount: s.amount,
            satisfaction,
            ease,
            incident: s.incident,
        });
        // Keep the whole conversation inside the window.
        let last = self.contacts.len() - 1;
        let ended = self.contacts[last].ended();
        if ended > self.cal.now {
            let shift = ended - self.cal.now;
            let c = &mut self.contacts[last];
            c.started = self.cal.clamp(c.started - shift);
            if c.ended() > self.cal.now {
                let room = (self.cal.now - c.started).num_seconds().max(0) as u32;
                c.wait_s = c.wait_s.min(room / 2);
                c.handle_s = room - c.wait_s;
            }
        }
        last
    }
}

struct ContactSeed {
    customer: usize,
    channel: Channel,
    queue: Queue,
    product: Product,
    issue: Issue,
    started: DateTime<Utc>,
    index: u32,
    case_start: DateTime<Utc>,
    prev: Option<usize>,
    amount: f64,
    ticket: u32,
    incident: Option<Incident>,
}

/// Seconds in queue (or until the first reply on written channels).
fn wait_seconds(rng: &mut DemoRng, channel: Channel, long: bool, bot: bool) -> u32 {
    let (normal, long_range) = match channel {
        Channel::Voice => ((20, 240), (900, 3_600)),
        Channel::Email => ((3_600, 10 * 3_600), (2 * 86_400, 5 * 86_400)),
        Channel::Whatsapp | Channel::Social => ((30, 600), (3 * 3_600, 9 * 3_600)),
        _ => ((10, 150), (900, 2_700)),
    };
    let (lo, hi) = if long { long_range } else { normal };
    let mut w = rng.gen_range(lo..hi);
    if bot && !long {
        w += rng.gen_range(30..150);
    }
    w
}

/// The emotions a story carries, in the order the customer felt them.
fn feel(
    rng: &mut DemoRng,
    tone: Tone,
    gaps: Gaps,
    issue: Issue,
    tenure: u32,
    empathy: f64,
) -> Vec<Emotion> {
    use Emotion::*;
    let mut out = Vec::new();
    let maybe = |e: Emotion, p: f64, out: &mut Vec<Emotion>, rng: &mut DemoRng| {
        if rng.gen_bool(p.clamp(0.0, 1.0)) && !out.contains(&e) {
            out.push(e);
        }
    };
    let negatives = |out: &mut Vec<Emotion>, rng: &mut DemoRng, strong: bool| {
        let mut m = |e, p: f64| {
            if rng.gen_bool(p.clamp(0.0, 1.0)) && !out.contains(&e) {
                out.push(e);
            }
        };
        if issue.worrying() {
            m(Anxiety, 0.6);
        }
        if issue.confusing() || gaps.has(Gap::Knowledge) {
            m(Confusion, 0.45);
        }
        let repeated = [
            Gap::RepeatContact,
            Gap::Transfer,
            Gap::BotDeadEnd,
            Gap::RepeatInformation,
        ]
        .iter()
        .any(|g| gaps.has(*g));
        m(Frustration, if repeated { 0.85 } else { 0.55 });
        if strong {
            let angry = gaps.count() >= 3 || gaps.has(Gap::LackOfEmpathy);
            m(Anger, if angry { 0.55 } else { 0.18 });
            m(Disappointment, if tenure >= 5 { 0.5 } else { 0.25 });
        }
        if out.is_empty() {
            out.push(Frustration);
        }
    };
    match tone {
        Tone::Neutral => {}
        Tone::Positive => {
            maybe(Gratitude, 0.6, &mut out, rng);
            maybe(Surprise, 0.3, &mut out, rng);
            maybe(
                Relief,
                if issue.worrying() { 0.6 } else { 0.12 },
                &mut out,
                rng,
            );
            maybe(Familiarity, 0.12 + 0.25 * empathy, &mut out, rng);
            maybe(
                Belonging,
                if tenure >= 5 { 0.35 } else { 0.04 },
                &mut out,
                rng,
            );
            if out.is_empty() {
                out.push(Gratitude);
            }
        }
        Tone::Recovery => {
            negatives(&mut out, rng, false);
            out.truncate(2);
            let before = out.len();
            maybe(
                Relief,
                if issue.worrying() { 0.8 } else { 0.45 },
                &mut out,
                rng,
            );
            maybe(Gratitude, 0.7, &mut out, rng);
            maybe(Surprise, 0.15, &mut out, rng);
            if out.len() == before {
                out.push(Gratitude);
            }
        }
        Tone::Negative => {
            negatives(&mut out, rng, true);
            out.truncate(3);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::Calendar;
    use chrono::TimeZone;
    use rand::SeedableRng;

    fn planned(n: usize) -> (World, Plan, Calendar) {
        let mut rng = DemoRng::seed_from_u64(11);
        let world = World::build(&mut rng, n);
        let now = Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap();
        let cal = Calendar::new(now, 90);
        let p = plan(&mut rng, &world, &cal, n, 8);
        (world, p, cal)
    }

    #[test]
    fn ids_follow_the_taxonomy() {
        assert_eq!(Gap::LongWait.id(), "long_wait");
        assert_eq!(Gap::Unresolved.id(), "unresolved");
        assert_eq!(Gap::BotDeadEnd.id(), "bot_dead_end");
        assert_eq!(Emotion::Surprise.id(), "surprise");
        assert_eq!(Emotion::Disappointment.id(), "disappointment");
        assert!(Emotion::Belonging.is_loyalty() && !Emotion::Frustration.is_loyalty());
    }

    #[test]
    fn quotas_are_met_exactly() {
        let (_, p, _) = planned(2_000);
        let count = |f: Format| {
            p.records
                .iter()
                .filter(|r| r.format == f && r.corruption.is_none())
                .count()
        };
        assert_eq!(count(Format::Survey), 800);
        assert_eq!(count(Format::Transcript), 600);
        assert_eq!(count(Format::SurveyTool), 300);
        assert_eq!(count(Format::Messaging), 300);
        assert_eq!(
            p.records.iter().filter(|r| r.corruption.is_some()).count(),
            8
        );
    }

    #[test]
    fn operations_agree_with_the_story() {
        let (_, p, cal) = planned(3_000);
        for c in &p.contacts {
            assert_eq!(c.transfers > 0, c.gaps.has(Gap::Transfer));
            assert_eq!(!c.resolved, c.gaps.has(Gap::Unresolved));
            if c.gaps.has(Gap::BotDeadEnd) {
                assert!(c.bot && c.escalated);
            }
            if c.gaps.has(Gap::LongWait) && c.channel == Channel::Voice {
                assert!(c.wait_s >= 600, "wait {}", c.wait_s);
            }
            if !c.gaps.has(Gap::LongWait) && c.channel == Channel::Voice {
                assert!(c.wait_s < 600);
            }
            assert!(c.started >= cal.start && c.ended() <= cal.now);
            match c.tone {
                Tone::Positive => assert!(c.feelings.iter().all(|e| e.is_loyalty())),
                Tone::Negative => assert!(c.feelings.iter().all(|e| !e.is_loyalty())),
                Tone::Recovery => {
                    assert!(!c.feelings[0].is_loyalty());
                    assert!(c.feelings.last().is_some_and(|e| e.is_loyalty()));
                }
                Tone::Neutral => assert!(c.feelings.is_empty() && c.gaps.is_empty()),
            }
        }
    }

    #[test]
    fn the_outage_week_brings_self_service_failures_and_waits() {
        let (_, p, cal) = planned(4_000);
        let (from, to) = cal.outage();
        let share = |inside: bool, g: Gap| {
            let cs: Vec<&Contact> = p
                .contacts
                .iter()
                .filter(|c| (c.started >= from && c.started < to) == inside)
                .collect();
            cs.iter().filter(|c| c.gaps.has(g)).count() as f64 / cs.len() as f64
        };
        assert!(share(true, Gap::BrokenSelfService) > 4.0 * share(false, Gap::BrokenSelfService));
        assert!(share(true, Gap::LongWait) > 1.8 * share(false, Gap::LongWait));
    }

    #[test]
    fn cold_agents_leave_customers_without_empathy_more_often() {
        let (world, p, _) = planned(4_000);
        let rate = |cold: bool| {
            let cs: Vec<&Contact> = p
                .contacts
                .iter()
                .filter(|c| {
                    c.agent
                        .is_some_and(|a| (world.agents[a].empathy < 0.3) == cold)
                })
                .collect();
            cs.iter().filter(|c| c.gaps.has(Gap::LackOfEmpathy)).count() as f64 / cs.len() as f64
        };
        assert!(
            rate(true) > 3.0 * rate(false),
            "{} vs {}",
            rate(true),
            rate(false)
        );
    }

    #[test]
    fn negative_stories_score_lower() {
        let (_, p, _) = planned(3_000);
        let mean = |t: Tone| {
            let xs: Vec<f64> = p
                .contacts
                .iter()
                .filter(|c| c.tone == t)
                .map(|c| c.satisfaction)
                .collect();
            xs.iter().sum::<f64>() / xs.len() as f64
        };
        assert!(mean(Tone::Positive) > mean(Tone::Recovery));
        assert!(mean(Tone::Recovery) > mean(Tone::Negative) + 0.2);
    }

    #[test]
    fn linked_surveys_follow_their_conversation() {
        let (_, p, _) = planned(2_000);
        let mut linked = 0;
        for s in p
            .records
            .iter()
            .filter(|r| matches!(r.format, Format::Survey | Format::SurveyTool))
        {
            let conv = p.records.iter().find(|r| {
                r.contact == s.contact && matches!(r.format, Format::Transcript | Format::Messaging)
            });
            if let Some(conv) = conv {
                linked += 1;
                assert!(s.with_contact_id);
                assert!(s.at >= conv.at);
            }
        }
        // About 60% of 900 conversations are followed by a survey.
        assert!((420..650).contains(&linked), "{linked}");
    }
}
