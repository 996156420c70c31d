//! The four event formats escucha ships pipelines for, and the ways the demo
//! breaks some events on purpose.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use escucha_core::{Channel, Speaker};
use rand::seq::SliceRandom;
use rand::Rng;
use serde::{Serialize, Serializer};

use crate::compose::{Ctx, PlannedTurn};
use crate::rng::{normal, DemoRng};
use crate::story::{Contact, Corruption, Format, Gap, Plan, Record};
use crate::world::World;
use crate::{DemoEvent, TOPIC_MESSAGING, TOPIC_SURVEYS, TOPIC_SURVEYTOOL, TOPIC_TRANSCRIPTS};

/// Share of survey responses with an empty comment.
const EMPTY_COMMENT: f64 = 0.15;

/// A JSON member that may be absent, explicitly null, or set.
#[derive(Debug, Clone, PartialEq)]
enum Field<T> {
    Absent,
    Null,
    Value(T),
}

impl<T> Field<T> {
    fn is_absent(&self) -> bool {
        matches!(self, Field::Absent)
    }
}

impl<T: Serialize> Serialize for Field<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Field::Value(v) => v.serialize(s),
            _ => s.serialize_none(),
        }
    }
}

/// Decides absent / null / value with the given shares of absent and null.
fn field<T>(rng: &mut DemoRng, absent: f64, null: f64, value: T) -> Field<T> {
    let x: f64 = rng.gen();
    if x < absent {
        Field::Absent
    } else if x < absent + null {
        Field::Null
    } else {
        Field::Value(value)
    }
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Renders every record, in publication order, with ids assigned in that
/// order so that they grow over time like real ids do.
pub(crate) fn render_all(rng: &mut DemoRng, world: &World, plan: &Plan) -> Vec<DemoEvent> {
    let mut order: Vec<usize> = (0..plan.records.len()).collect();
    order.sort_by_key(|&i| (plan.records[i].at, i));

    let mut ids = Ids {
        conversation: vec![None; plan.contacts.len()],
        conv_counter: rng.gen_range(80_000..90_000),
        ticket_counter: rng.gen_range(70_000..75_000),
        response_counter: rng.gen_range(100..400),
    };
    let mut events = Vec::with_capacity(order.len());
    for i in order {
        let record = &plan.records[i];
        let contact = &plan.contacts[record.contact];
        let mut r = Renderer {
            rng: &mut *rng,
            world,
            contact,
            record,
        };
        let (topic, payload) = match record.format {
            Format::Transcript => (
                TOPIC_TRANSCRIPTS,
                serde_json::to_vec(&r.transcript(&mut ids)),
            ),
            Format::Messaging => (TOPIC_MESSAGING, serde_json::to_vec(&r.messaging(&mut ids))),
            Format::Survey => (TOPIC_SURVEYS, serde_json::to_vec(&r.survey(&mut ids))),
            Format::SurveyTool => (
                TOPIC_SURVEYTOOL,
                serde_json::to_vec(&r.surveytool(&mut ids)),
            ),
        };
        // Serializing these plain structs cannot fail.
        let mut payload = payload.unwrap_or_default();
        if record.corruption == Some(Corruption::InvalidJson) {
            payload = break_json(rng, payload);
        }
        events.push(DemoEvent {
            topic: topic.to_string(),
            key: world.customers[contact.customer].id.clone(),
            payload,
        });
    }
    events
}

/// Makes a payload unparseable the way real producers do.
fn break_json(rng: &mut DemoRng, mut payload: Vec<u8>) -> Vec<u8> {
    match rng.gen_range(0..3) {
        0 => {
            let cut = payload.len() * rng.gen_range(30..90) / 100;
            payload.truncate(cut.max(1));
            payload
        }
        1 => {
            payload.extend_from_slice(b",\"extra\":");
            payload
        }
        _ => {
            if let Some(p) = payload.iter().position(|b| *b == b':') {
                payload[p] = b'=';
            }
            payload
        }
    }
}

struct Ids {
    conversation: Vec<Option<String>>,
    conv_counter: u32,
    ticket_counter: u32,
    response_counter: u32,
}

impl Ids {
    fn next_conversation(&mut self, rng: &mut DemoRng) -> String {
        // Not every conversation reaches the demo, so numbers skip.
        self.conv_counter += rng.gen_range(1..4);
        format!("conv-{}", self.conv_counter)
    }
    fn next_ticket(&mut self, rng: &mut DemoRng) -> String {
        self.ticket_counter += rng.gen_range(1..4);
        format!("TK-{}", self.ticket_counter)
    }
    fn next_response(&mut self, rng: &mut DemoRng) -> String {
        self.response_counter += rng.gen_range(1..3);
        format!("srv-{:06}", self.response_counter)
    }
}

struct Renderer<'a> {
    rng: &'a mut DemoRng,
    world: &'a World,
    contact: &'a Contact,
    record: &'a Record,
}

#[derive(Serialize)]
struct SurveyJson {
    #[serde(skip_serializing_if = "Field::is_absent")]
    response_id: Field<String>,
    submitted_at: String,
    channel: &'static str,
    customer_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    interaction_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    queue: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    agent_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    product: Option<&'static str>,
    #[serde(skip_serializing_if = "Field::is_absent")]
    language: Field<&'static str>,
    #[serde(skip_serializing_if = "Field::is_absent")]
    nps: Field<i32>,
    #[serde(skip_serializing_if = "Field::is_absent")]
    csat: Field<u8>,
    #[serde(skip_serializing_if = "Field::is_absent")]
    ces: Field<u8>,
    #[serde(skip_serializing_if = "Field::is_absent")]
    comment: Field<String>,
}

#[derive(Serialize)]
struct TurnJson {
    speaker: &'static str,
    text: String,
    at: String,
}

#[derive(Serialize)]
struct TranscriptJson {
    #[serde(skip_serializing_if = "Option::is_none")]
    conversation_id: Option<String>,
    channel: &'static str,
    started_at: String,
    ended_at: String,
    customer_id: String,
    queue: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    agent_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    team: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    product: Option<&'static str>,
    wait_seconds: u32,
    handle_seconds: u32,
    transfers: u32,
    bot_handled: bool,
    escalated: bool,
    resolved: bool,
    turns: Vec<TurnJson>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Respondent {
    external_ref: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    locale: Option<&'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Embedded {
    touchpoint: &'static str,
    queue: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    agent: Option<String>,
    product: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    contact_id: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Answer {
    question_id: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    scale: Option<&'static str>,
    value: serde_json::Value,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SurveyToolJson {
    survey_id: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_id: Option<String>,
    recorded_date: String,
    respondent: Respondent,
    embedded: Embedded,
    answers: Vec<Answer>,
}

#[derive(Serialize)]
struct Ticket {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    opened: i64,
    closed: i64,
    source: &'static str,
    group: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    assignee: Option<String>,
    product: &'static str,
}

#[derive(Serialize)]
struct Requester {
    id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    lang: Option<&'static str>,
}

#[derive(Serialize)]
struct Stats {
    first_reply_secs: u32,
    handle_secs: u32,
    reassignments: u32,
    bot: bool,
    escalated_to_human: bool,
    solved: bool,
}

#[derive(Serialize)]
struct Author {
    role: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
}

#[derive(Serialize)]
struct Message {
    author: Author,
    body: String,
    created_ms: i64,
}

#[derive(Serialize)]
struct MessagingJson {
    ticket: Ticket,
    requester: Requester,
    stats: Stats,
    messages: Vec<Message>,
}

impl Renderer<'_> {
    fn customer_id(&self) -> String {
        self.world.customers[self.contact.customer].id.clone()
    }

    fn agent_id(&self) -> Option<String> {
        self.contact.agent.map(|a| self.world.agents[a].id.clone())
    }

    fn corrupted(&self, c: Corruption) -> bool {
        self.record.corruption == Some(c)
    }

    /// Scores on the canonical scales: (NPS 0–10, CSAT 1–5, CES 1–7).
    fn scores(&mut self) -> (u8, u8, u8) {
        let s = self.contact.satisfaction;
        let nps = (s * 10.0 + 0.5 * normal(self.rng)).round().clamp(0.0, 10.0) as u8;
        let csat_s = (s + 0.07 * normal(self.rng)).clamp(0.0, 1.0);
        let csat = (1.0 + 4.0 * csat_s).round().clamp(1.0, 5.0) as u8;
        let ces = (1.0 + 6.0 * self.contact.ease).round().clamp(1.0, 7.0) as u8;
        (nps, csat, ces)
    }

    fn comment(&mut self) -> Option<String> {
        if self.rng.gen_bool(EMPTY_COMMENT) {
            return None;
        }
        let mut ctx = Ctx::new(self.rng, self.world, self.contact);
        Some(ctx.survey_comment())
    }

    fn conversation_id(&mut self, ids: &mut Ids) -> Option<String> {
        if !self.record.with_contact_id {
            return None;
        }
        let c = self.record.contact;
        if let Some(id) = &ids.conversation[c] {
            return Some(id.clone());
        }
        let id = ids.next_conversation(self.rng);
        ids.conversation[c] = Some(id.clone());
        Some(id)
    }

    fn survey(&mut self, ids: &mut Ids) -> SurveyJson {
        let c = self.contact;
        let cust = &self.world.customers[c.customer];
        let response_id = if self.corrupted(Corruption::MissingId) {
            Field::Absent
        } else {
            Field::Value(ids.next_response(self.rng))
        };
        let interaction_id = self.conversation_id(ids);
        let tag = if self.rng.gen_bool(0.6) {
            match cust.locale.language() {
                escucha_core::Language::Es => "es",
                escucha_core::Language::Pt => "pt",
                _ => "en",
            }
        } else {
            cust.locale.tag()
        };
        let language = field(self.rng, 0.15, 0.05, tag);
        let (nps, csat, ces) = self.scores();
        let nps = if self.corrupted(Corruption::NpsOutOfRange) {
            Field::Value(14)
        } else {
            field(self.rng, 0.04, 0.02, i32::from(nps))
        };
        let csat = field(self.rng, 0.1, 0.03, csat);
        let ces = field(self.rng, 0.3, 0.03, ces);
        let comment = match self.comment() {
            Some(text) => Field::Value(text),
            None => match self.rng.gen_range(0..3) {
                0 => Field::Absent,
                1 => Field::Null,
                _ => Field::Value(String::new()),
            },
        };
        SurveyJson {
            response_id,
            submitted_at: rfc3339(self.record.at),
            channel: c.channel.as_str(),
            customer_id: self.customer_id(),
            interaction_id,
            queue: self.rng.gen_bool(0.95).then_some(c.queue.id()),
            agent_id: self.agent_id(),
            product: self.rng.gen_bool(0.9).then_some(c.product.id()),
            language,
            nps,
            csat,
            ces,
            comment,
        }
    }

    fn surveytool(&mut self, ids: &mut Ids) -> SurveyToolJson {
        let c = self.contact;
        let cust = &self.world.customers[c.customer];
        let touchpoint = self.touchpoint();
        let contact_id = self.conversation_id(ids);
        let response_id = (!self.corrupted(Corruption::MissingId)).then(|| {
            let chars: Vec<char> = "abcdefghijklmnopqrstuvwxyz0123456789".chars().collect();
            let tail: String = (0..15)
                .map(|_| *chars.choose(self.rng).unwrap_or(&'x'))
                .collect();
            format!("R_{tail}")
        });
        let (nps, _, _) = self.scores();
        let s = (self.contact.satisfaction + 0.06 * normal(self.rng)).clamp(0.0, 1.0);
        let sat = (1.0 + 9.0 * s).round().clamp(1.0, 10.0) as u8;
        let effort = (1.0 + 4.0 * c.ease).round().clamp(1.0, 5.0) as u8;
        let mut answers = Vec::new();
        if self.corrupted(Corruption::NpsOutOfRange) {
            answers.push(Answer {
                question_id: "Q_LTR",
                kind: "nps",
                scale: None,
                value: 14.into(),
            });
        } else if self.rng.gen_bool(0.95) {
            answers.push(Answer {
                question_id: "Q_LTR",
                kind: "nps",
                scale: None,
                value: nps.into(),
            });
        }
        if self.rng.gen_bool(0.88) {
            answers.push(Answer {
                question_id: "Q_SAT",
                kind: "rating",
                scale: Some("1-10"),
                value: sat.into(),
            });
        }
        if self.rng.gen_bool(0.7) {
            answers.push(Answer {
                question_id: "Q_EFFORT",
                kind: "rating",
                scale: Some("1-5"),
                value: effort.into(),
            });
        }
        if let Some(text) = self.comment() {
            answers.push(Answer {
                question_id: "Q_COMMENT",
                kind: "text",
                scale: None,
                value: text.into(),
            });
        }
        SurveyToolJson {
            survey_id: "SV-POSTCONTACT",
            response_id,
            recorded_date: self.record.at.format("%Y-%m-%d %H:%M:%S").to_string(),
            respondent: Respondent {
                external_ref: cust.id.clone(),
                locale: self.rng.gen_bool(0.8).then_some(cust.locale.posix_tag()),
            },
            embedded: Embedded {
                touchpoint,
                queue: c.queue.id(),
                agent: self.agent_id(),
                product: c.product.id(),
                contact_id,
            },
            answers,
        }
    }

    /// The survey tool's name for the channel.
    fn touchpoint(&mut self) -> &'static str {
        let c = self.contact;
        match c.channel {
            Channel::Voice if c.gaps.has(Gap::BotDeadEnd) => "ivr",
            Channel::Voice => "phone",
            Channel::Chat => "webchat",
            Channel::Email => "email",
            Channel::Whatsapp => "whatsapp",
            Channel::Social => ["facebook", "instagram", "twitter"]
                .choose(self.rng)
                .copied()
                .unwrap_or("facebook"),
            _ => {
                if self.rng.gen_bool(0.5) {
                    "app"
                } else {
                    "web"
                }
            }
        }
    }

    /// Planned turns with their timestamps.
    fn timed_turns(&mut self) -> Vec<(PlannedTurn, DateTime<Utc>)> {
        if self.corrupted(Corruption::NoTurns) {
            return Vec::new();
        }
        let c = self.contact;
        let turns = {
            let mut ctx = Ctx::new(self.rng, self.world, c);
            ctx.conversation()
        };
        let start = c.started;
        let agent_start = start + Duration::seconds(i64::from(c.wait_s));
        let end = c.ended();
        let mut early = turns.iter().filter(|t| t.before_agent).count();
        let late = turns.len() - early;
        let (agent_start, handle_s) = if late == 0 {
            // Nobody took over (a bot closed it): the turns fill the contact.
            early = 0;
            (start, c.wait_s + c.handle_s)
        } else {
            (agent_start, c.handle_s)
        };
        let late = turns.len() - early;
        let mut out = Vec::with_capacity(turns.len());
        let bot_step = (i64::from(c.wait_s) / (early as i64 + 1)).clamp(1, 40);
        let mut k = 0;
        for (i, turn) in turns.into_iter().enumerate() {
            let at = if i < early {
                start + Duration::seconds(bot_step * i as i64 + self.rng.gen_range(0..bot_step))
            } else {
                let frac = (k as f64 + self.rng.gen_range(0.1..0.9)) / late.max(1) as f64;
                k += 1;
                agent_start + Duration::milliseconds((f64::from(handle_s) * 1_000.0 * frac) as i64)
            };
            out.push((turn, at.min(end)));
        }
        out
    }

    fn transcript(&mut self, ids: &mut Ids) -> TranscriptJson {
        let c = self.contact;
        let id = ids.next_conversation(self.rng);
        ids.conversation[self.record.contact] = Some(id.clone());
        let turns = self
            .timed_turns()
            .into_iter()
            .map(|(t, at)| TurnJson {
                speaker: t.speaker.as_str(),
                text: t.text,
                at: rfc3339(at),
            })
            .collect();
        let team = c.agent.map(|a| self.world.agents[a].team.id());
        TranscriptJson {
            conversation_id: (!self.corrupted(Corruption::MissingId)).then_some(id),
            channel: c.channel.as_str(),
            started_at: rfc3339(c.started),
            ended_at: rfc3339(c.ended()),
            customer_id: self.customer_id(),
            queue: c.queue.id(),
            agent_id: self.agent_id(),
            team: team.filter(|_| self.rng.gen_bool(0.7)),
            product: self.rng.gen_bool(0.7).then_some(c.product.id()),
            wait_seconds: c.wait_s,
            handle_seconds: c.handle_s,
            transfers: c.transfers,
            bot_handled: c.bot,
            escalated: c.escalated,
            resolved: c.resolved,
            turns,
        }
    }

    fn messaging(&mut self, ids: &mut Ids) -> MessagingJson {
        let c = self.contact;
        let cust = &self.world.customers[c.customer];
        let id = ids.next_ticket(self.rng);
        ids.conversation[self.record.contact] = Some(id.clone());
        let source = match c.channel {
            Channel::Whatsapp => "whatsapp",
            Channel::Email => "email",
            Channel::Social => {
                if self.rng.gen_bool(0.6) {
                    "instagram"
                } else {
                    "facebook"
                }
            }
            _ => "chat",
        };
        let display = format!(
            "{} {}.",
            cust.first,
            cust.last.chars().next().unwrap_or('X')
        );
        let bot_name = match cust.locale.language() {
            escucha_core::Language::Es => "Lía",
            escucha_core::Language::Pt => "Bia",
            _ => "Ava",
        };
        let agent_name = c.agent.map(|a| self.world.agents[a].name.to_string());
        let messages = self
            .timed_turns()
            .into_iter()
            .map(|(t, at)| {
                let author = match t.speaker {
                    Speaker::Customer => Author {
                        role: "end-user",
                        name: Some(display.clone()),
                    },
                    Speaker::Agent => Author {
                        role: "agent",
                        name: agent_name.clone(),
                    },
                    Speaker::Bot => Author {
                        role: "bot",
                        name: Some(bot_name.to_string()),
                    },
                    Speaker::System => Author {
                        role: "system",
                        name: None,
                    },
                };
                let body = if t.speaker == Speaker::System {
                    system_message_for_tickets(&t.text)
                } else {
                    t.text
                };
                Message {
                    author,
                    body,
                    created_ms: at.timestamp_millis(),
                }
            })
            .collect();
        MessagingJson {
            ticket: Ticket {
                id: (!self.corrupted(Corruption::MissingId)).then_some(id),
                opened: c.started.timestamp(),
                closed: c.ended().timestamp(),
                source,
                group: c.queue.id(),
                assignee: self.agent_id(),
                product: c.product.id(),
            },
            requester: Requester {
                id: cust.id.clone(),
                lang: self.rng.gen_bool(0.8).then_some(cust.locale.tag()),
            },
            stats: Stats {
                first_reply_secs: c.wait_s,
                handle_secs: c.handle_s,
                reassignments: c.transfers,
                bot: c.bot,
                escalated_to_human: c.escalated,
                solved: c.resolved,
            },
            messages,
        }
    }
}

/// The ticketing platform words its system events differently.
fn system_message_for_tickets(text: &str) -> String {
    match text.strip_prefix("Transferring to ") {
        Some(group) => format!("Ticket reassigned to group {group}"),
        None => text.to_string(),
    }
}
