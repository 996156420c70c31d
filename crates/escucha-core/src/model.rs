//! Interactions as escucha stores them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Error returned when a string is not one of an enum's accepted names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} `{value}`; expected one of: {expected}")]
pub struct UnknownName {
    pub what: &'static str,
    pub value: String,
    pub expected: String,
}

macro_rules! named_enum {
    ($(#[$meta:meta])* $name:ident, $what:literal, { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "lowercase")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.as_str()) }
        }

        impl FromStr for $name {
            type Err = UnknownName;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let lower = s.trim().to_ascii_lowercase();
                match lower.as_str() {
                    $($text => Ok($name::$variant),)+
                    _ => Err(UnknownName {
                        what: $what,
                        value: s.to_string(),
                        expected: [$($text),+].join(", "),
                    }),
                }
            }
        }
    };
}

named_enum!(
    /// The channel an interaction happened on.
    Channel, "channel", {
        Voice => "voice", Chat => "chat", Email => "email", Whatsapp => "whatsapp",
        Social => "social", Web => "web", Other => "other",
    }
);

named_enum!(
    /// Who said a turn.
    Speaker, "speaker", { Customer => "customer", Agent => "agent", Bot => "bot", System => "system" }
);

named_enum!(
    /// What kind of record an interaction came from.
    InteractionKind, "kind", { Survey => "survey", Transcript => "transcript", Message => "message" }
);

named_enum!(
    /// Language of a text. `Other` covers everything escucha does not classify natively.
    Language, "language", { Es => "es", Pt => "pt", En => "en", Other => "other" }
);

impl Language {
    /// Parses tags such as `es`, `es-MX`, `pt_BR`, `EN`; anything else is `Other`.
    pub fn from_tag(tag: &str) -> Language {
        let primary = tag
            .trim()
            .split(['-', '_'])
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        match primary.as_str() {
            "es" | "spa" | "spanish" | "español" | "espanol" => Language::Es,
            "pt" | "por" | "portuguese" | "português" | "portugues" => Language::Pt,
            "en" | "eng" | "english" => Language::En,
            _ => Language::Other,
        }
    }
}

/// One utterance in a conversation, or the free-text comment of a survey.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Turn {
    pub speaker: Speaker,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<DateTime<Utc>>,
}

/// Survey scores on escucha's canonical scales: NPS 0–10, CSAT 1–5, CES 1–7.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scores {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nps: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csat: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ces: Option<u8>,
}

impl Scores {
    pub const NPS: (u8, u8) = (0, 10);
    pub const CSAT: (u8, u8) = (1, 5);
    pub const CES: (u8, u8) = (1, 7);

    pub fn is_empty(&self) -> bool {
        self.nps.is_none() && self.csat.is_none() && self.ces.is_none()
    }
}

/// Operational metadata of an interaction.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operational {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_seconds: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handle_seconds: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfers: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot_involved: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalated: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved: Option<bool>,
}

/// Where a record came from in Kafka.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourcePosition {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}

/// A survey response, a transcript or a single message, after decoding and
/// mapping, before classification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interaction {
    /// Stable id from the source (response id, conversation id, message id).
    pub id: String,
    pub kind: InteractionKind,
    pub channel: Channel,
    pub occurred_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<DateTime<Utc>>,
    /// Customer identifier as received. Adapters store only its keyed hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    /// Id of the conversation a survey refers to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub related_id: Option<String>,
    /// Declared language, if the source gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<Language>,
    #[serde(default, skip_serializing_if = "Scores::is_empty")]
    pub scores: Scores,
    #[serde(default)]
    pub ops: Operational,
    /// Texts in order. A survey comment is a single customer turn.
    #[serde(default)]
    pub turns: Vec<Turn>,
}
