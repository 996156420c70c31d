//! Counting what a batch of demo events contains, for progress output.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use escucha_core::{Channel, Language};
use serde_json::Value;

use crate::{DemoEvent, TOPIC_MESSAGING, TOPIC_SURVEYS, TOPIC_SURVEYTOOL, TOPIC_TRANSCRIPTS};

/// Counts over a batch of events. Per-language and per-channel counts cover
/// well-formed events only; the language is the one the event declares
/// (`undeclared` when it has none, as the classifier then detects it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DemoSummary {
    /// All events, malformed included.
    pub total: usize,
    /// Events per topic, malformed included.
    pub per_topic: BTreeMap<String, usize>,
    /// Well-formed events per declared language: `es`, `pt`, `en`, `other`
    /// or `undeclared`.
    pub per_language: BTreeMap<String, usize>,
    /// Well-formed events per escucha channel (`voice`, `chat`, ...).
    pub per_channel: BTreeMap<String, usize>,
    /// Well-formed survey responses (both survey formats).
    pub surveys: usize,
    /// Well-formed conversations (transcripts and messaging tickets).
    pub conversations: usize,
    /// Survey responses with a non-empty comment.
    pub comments: usize,
    /// Distinct customers (event keys).
    pub customers: usize,
    /// Events the pipelines must dead-letter.
    pub malformed: usize,
    /// Earliest publication time of well-formed events.
    pub first: Option<DateTime<Utc>>,
    /// Latest publication time of well-formed events.
    pub last: Option<DateTime<Utc>>,
}

/// What one well-formed event says about itself.
struct Facts {
    survey: bool,
    language: Option<Language>,
    channel: Channel,
    at: Option<DateTime<Utc>>,
    comment: bool,
}

/// Summarizes a batch of events.
pub fn summarize(events: &[DemoEvent]) -> DemoSummary {
    let mut s = DemoSummary {
        total: events.len(),
        ..DemoSummary::default()
    };
    let mut customers = BTreeSet::new();
    for e in events {
        *s.per_topic.entry(e.topic.clone()).or_default() += 1;
        customers.insert(e.key.as_str());
        let Some(f) = inspect(&e.topic, &e.payload) else {
            s.malformed += 1;
            continue;
        };
        if f.survey {
            s.surveys += 1;
        } else {
            s.conversations += 1;
        }
        if f.comment {
            s.comments += 1;
        }
        let lang = f
            .language
            .map(|l| l.as_str().to_string())
            .unwrap_or_else(|| "undeclared".to_string());
        *s.per_language.entry(lang).or_default() += 1;
        *s.per_channel
            .entry(f.channel.as_str().to_string())
            .or_default() += 1;
        if let Some(at) = f.at {
            s.first = Some(s.first.map_or(at, |x| x.min(at)));
            s.last = Some(s.last.map_or(at, |x| x.max(at)));
        }
    }
    s.customers = customers.len();
    s
}

/// Facts of a well-formed event, or `None` when a pipeline would reject it.
fn inspect(topic: &str, payload: &[u8]) -> Option<Facts> {
    let v: Value = serde_json::from_slice(payload).ok()?;
    match topic {
        TOPIC_SURVEYS => {
            non_empty_str(&v["response_id"])?;
            in_range(&v["nps"], 0, 10)?;
            in_range(&v["csat"], 1, 5)?;
            in_range(&v["ces"], 1, 7)?;
            Some(Facts {
                survey: true,
                language: v["language"].as_str().map(Language::from_tag),
                channel: v["channel"].as_str()?.parse().ok()?,
                at: rfc3339(&v["submitted_at"]),
                comment: v["comment"].as_str().is_some_and(|c| !c.trim().is_empty()),
            })
        }
        TOPIC_TRANSCRIPTS => {
            non_empty_str(&v["conversation_id"])?;
            let turns = v["turns"].as_array()?;
            if turns.is_empty() {
                return None;
            }
            Some(Facts {
                survey: false,
                language: None,
                channel: v["channel"].as_str()?.parse().ok()?,
                at: rfc3339(&v["ended_at"]),
                comment: false,
            })
        }
        TOPIC_SURVEYTOOL => {
            non_empty_str(&v["responseId"])?;
            let answers = v["answers"].as_array()?;
            let mut comment = false;
            for a in answers {
                match a["type"].as_str() {
                    Some("nps") => in_range(&a["value"], 0, 10)?,
                    Some("text") => {
                        comment = a["value"].as_str().is_some_and(|t| !t.trim().is_empty())
                    }
                    _ => {}
                }
            }
            let at = v["recordedDate"]
                .as_str()
                .and_then(|d| NaiveDateTime::parse_from_str(d, "%Y-%m-%d %H:%M:%S").ok())
                .map(|d| Utc.from_utc_datetime(&d));
            Some(Facts {
                survey: true,
                language: v["respondent"]["locale"].as_str().map(Language::from_tag),
                channel: touchpoint_channel(v["embedded"]["touchpoint"].as_str()?),
                at,
                comment,
            })
        }
        TOPIC_MESSAGING => {
            non_empty_str(&v["ticket"]["id"])?;
            let messages = v["messages"].as_array()?;
            if messages.is_empty() {
                return None;
            }
            Some(Facts {
                survey: false,
                language: v["requester"]["lang"].as_str().map(Language::from_tag),
                channel: source_channel(v["ticket"]["source"].as_str()?),
                at: v["ticket"]["closed"]
                    .as_i64()
                    .and_then(|t| Utc.timestamp_opt(t, 0).single()),
                comment: false,
            })
        }
        _ => None,
    }
}

fn non_empty_str(v: &Value) -> Option<&str> {
    v.as_str().filter(|s| !s.trim().is_empty())
}

/// `Some(())` when `v` is absent, null, or an integer in `lo..=hi`.
fn in_range(v: &Value, lo: i64, hi: i64) -> Option<()> {
    match v {
        Value::Null => Some(()),
        v => v.as_i64().filter(|n| (lo..=hi).contains(n)).map(|_| ()),
    }
}

fn rfc3339(v: &Value) -> Option<DateTime<Utc>> {
    v.as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// Survey-tool touchpoints in escucha channels.
fn touchpoint_channel(t: &str) -> Channel {
    match t {
        "phone" | "ivr" => Channel::Voice,
        "webchat" => Channel::Chat,
        "email" => Channel::Email,
        "whatsapp" => Channel::Whatsapp,
        "facebook" | "instagram" | "twitter" => Channel::Social,
        "web" | "app" => Channel::Web,
        _ => Channel::Other,
    }
}

/// Messaging sources in escucha channels.
fn source_channel(s: &str) -> Channel {
    match s {
        "whatsapp" => Channel::Whatsapp,
        "chat" => Channel::Chat,
        "email" => Channel::Email,
        "instagram" | "facebook" => Channel::Social,
        _ => Channel::Other,
    }
}

impl fmt::Display for DemoSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |m: &BTreeMap<String, usize>| {
            m.iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        writeln!(
            f,
            "{} events: {} survey responses ({} with a comment), {} conversations, {} malformed",
            self.total, self.surveys, self.comments, self.conversations, self.malformed
        )?;
        writeln!(f, "topics:    {}", list(&self.per_topic))?;
        writeln!(f, "languages: {}", list(&self.per_language))?;
        writeln!(f, "channels:  {}", list(&self.per_channel))?;
        write!(f, "customers: {}", self.customers)?;
        if let (Some(a), Some(b)) = (self.first, self.last) {
            write!(
                f,
                "\nperiod:    {} to {}",
                a.format("%Y-%m-%d %H:%M"),
                b.format("%Y-%m-%d %H:%M")
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(topic: &str, json: &str) -> DemoEvent {
        DemoEvent {
            topic: topic.into(),
            key: "C-1".into(),
            payload: json.as_bytes().to_vec(),
        }
    }

    #[test]
    fn counts_and_flags_malformed_events() {
        let events = vec![
            ev(
                TOPIC_SURVEYS,
                r#"{"response_id":"srv-1","submitted_at":"2026-01-01T10:00:00Z","channel":"chat","customer_id":"C-1","language":"es-MX","nps":9,"comment":"genial"}"#,
            ),
            ev(
                TOPIC_SURVEYS,
                r#"{"response_id":"srv-2","submitted_at":"2026-01-01T10:00:00Z","channel":"chat","customer_id":"C-1","nps":14}"#,
            ),
            ev(
                TOPIC_TRANSCRIPTS,
                r#"{"conversation_id":"conv-1","channel":"voice","turns":[]}"#,
            ),
            ev(
                TOPIC_TRANSCRIPTS,
                r#"{"conversation_id":"conv-2","channel":"voice","ended_at":"2026-01-02T10:00:00Z","turns":[{"speaker":"customer","text":"hola"}]}"#,
            ),
            ev(
                TOPIC_SURVEYTOOL,
                r#"{"responseId":"R_1","recordedDate":"2026-01-01 09:00:00","respondent":{"externalRef":"C-2","locale":"pt_BR"},"embedded":{"touchpoint":"ivr"},"answers":[{"questionId":"Q_COMMENT","type":"text","value":"ok"}]}"#,
            ),
            ev(
                TOPIC_MESSAGING,
                r#"{"ticket":{"source":"instagram","closed":1},"requester":{"id":"C-3"},"messages":[{"body":"x"}]}"#,
            ),
            ev(TOPIC_MESSAGING, r#"{"ticket":{"id":"TK-1""#),
        ];
        let s = summarize(&events);
        assert_eq!(s.total, 7);
        assert_eq!(s.malformed, 4);
        assert_eq!(s.surveys, 2);
        assert_eq!(s.conversations, 1);
        assert_eq!(s.comments, 2);
        assert_eq!(s.per_topic[TOPIC_SURVEYS], 2);
        assert_eq!(s.per_language["es"], 1);
        assert_eq!(s.per_language["pt"], 1);
        assert_eq!(s.per_language["undeclared"], 1);
        assert_eq!(s.per_channel["voice"], 2);
        assert_eq!(s.per_channel["chat"], 1);
        assert_eq!(
            s.first,
            Some(Utc.with_ymd_and_hms(2026, 1, 1, 9, 0, 0).unwrap())
        );
        assert!(s.to_string().contains("4 malformed"));
    }
}
