//! The validated pipeline and the checks that build it from a raw file.

use crate::error::Problems;
use crate::raw::{
    join, parse_table, RawClassify, RawDestination, RawPipeline, RawSource, RawText, RawTurns,
};
use crate::spec::{parse_field, parse_path, FieldName, FieldSpec, ValueType};
use escucha_core::{InteractionKind, Speaker};
use serde_json_path::JsonPath;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use toml::Table;

/// Partitions given to topics escucha creates when `source.partitions` is
/// not set.
pub const DEFAULT_PARTITIONS: i32 = 3;

/// Longest Kafka topic name.
const MAX_TOPIC_LEN: usize = 249;

/// Longest pipeline name.
const MAX_NAME_LEN: usize = 64;

/// A validated pipeline: which Kafka topics to consume and how to map each
/// message onto an [`escucha_core::Interaction`].
///
/// Built only by [`crate::load_file`], [`crate::load_str`] or
/// [`crate::load_dir`], so every `Pipeline` has passed validation.
#[derive(Debug, Clone)]
pub struct Pipeline {
    pub(crate) name: String,
    pub(crate) description: Option<String>,
    pub(crate) kind: InteractionKind,
    pub(crate) source: Source,
    pub(crate) destination: Destination,
    pub(crate) fields: BTreeMap<FieldName, FieldSpec>,
    pub(crate) texts: Vec<TextSpec>,
    pub(crate) turns: Option<TurnsSpec>,
    pub(crate) classify: Classify,
    pub(crate) file: PathBuf,
}

impl Pipeline {
    /// Unique name, `[a-z0-9][a-z0-9_-]*`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Free-form description, if the file has one.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// What kind of interaction every message becomes.
    pub fn kind(&self) -> InteractionKind {
        self.kind
    }

    /// Where messages come from and where bad ones go.
    pub fn source(&self) -> &Source {
        &self.source
    }

    /// Where interactions are stored.
    pub fn destination(&self) -> &Destination {
        &self.destination
    }

    /// What gets classified.
    pub fn classify(&self) -> &Classify {
        &self.classify
    }

    /// The file the pipeline was loaded from.
    pub fn file(&self) -> &Path {
        &self.file
    }
}

/// `[source]`: the Kafka side of a pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Source {
    /// Topics to consume; at least one, no duplicates.
    pub topics: Vec<String>,
    /// Consumer group; unique across pipelines.
    pub group: String,
    /// Payload encoding.
    pub format: Format,
    /// Where messages that fail to decode are sent, with the reason. Never
    /// one of this pipeline's (or any pipeline's) source topics.
    pub dead_letter_topic: String,
    /// Partition count for topics escucha creates when they are missing
    /// (at least 1; [`DEFAULT_PARTITIONS`] unless set).
    pub partitions: i32,
}

/// Payload encodings a pipeline can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Format {
    /// One JSON object per message.
    Json,
}

impl Format {
    /// The name used in pipeline files.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Json => "json",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `[destination]`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Destination {
    /// The store interactions are written to.
    pub store: Store,
}

/// Stores interactions can be written to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Store {
    /// ClickHouse, through escucha's batch writer.
    ClickHouse,
}

impl Store {
    /// The name used in pipeline files.
    pub fn as_str(self) -> &'static str {
        match self {
            Store::ClickHouse => "clickhouse",
        }
    }
}

impl fmt::Display for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `[classify]`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Classify {
    /// Speakers whose texts are classified for customer emotions and
    /// themes; non-empty, no duplicates, `[customer]` unless set.
    pub speakers: Vec<Speaker>,
}

/// One `[[texts]]` entry: a free text with a fixed speaker.
#[derive(Debug, Clone)]
pub(crate) struct TextSpec {
    pub field: FieldSpec,
    pub speaker: Speaker,
}

/// `[turns]`: an array of turns, with sub-field paths relative to each
/// element.
#[derive(Debug, Clone)]
pub(crate) struct TurnsSpec {
    pub path_text: String,
    pub path: JsonPath,
    pub speaker: FieldSpec,
    pub text: FieldSpec,
    pub at: Option<FieldSpec>,
}

/// Validates a parsed TOML document. Every problem is recorded in
/// `problems`; `None` is returned when there is at least one.
pub(crate) fn build(file: &Path, doc: &Table, problems: &mut Problems) -> Option<Pipeline> {
    let raw: RawPipeline = parse_table(doc, "", problems);

    let name = raw.name.as_deref().and_then(|n| check_name(n, problems));
    if raw.name.is_none() {
        problems.missing(
            "name",
            "missing: give the pipeline a unique name such as \"surveys\"",
        );
    }
    let description = raw
        .description
        .as_deref()
        .map(|d| d.trim().to_string())
        .filter(|d| !d.is_empty());
    let kind = match raw.kind.as_deref() {
        Some(text) => InteractionKind::from_str(text)
            .map_err(|e| problems.add("kind", e.to_string()))
            .ok(),
        None => {
            problems.missing("kind", "missing: one of survey, transcript, message");
            None
        }
    };
    let source = build_source(raw.source.as_ref(), problems);
    let destination = build_destination(raw.destination.as_ref(), problems);
    let fields = build_fields(raw.fields.as_ref(), problems);
    let texts = build_texts(raw.texts.as_deref().unwrap_or_default(), problems);
    let turns = raw.turns.as_ref().and_then(|t| build_turns(t, problems));
    let classify = build_classify(raw.classify.as_ref(), problems);

    if let Some(kind) = kind {
        check_kind(kind, &raw, problems);
    }

    let (Some(name), Some(kind), Some(source), Some(destination), Some(classify)) =
        (name, kind, source, destination, classify)
    else {
        debug_assert!(!problems.is_empty());
        return None;
    };
    if !problems.is_empty() {
        return None;
    }
    Some(Pipeline {
        name,
        description,
        kind,
        source,
        destination,
        fields,
        texts,
        turns,
        classify,
        file: file.to_path_buf(),
    })
}

fn check_name(name: &str, problems: &mut Problems) -> Option<String> {
    let mut chars = name.chars();
    let valid = matches!(chars.next(), Some('a'..='z' | '0'..='9'))
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_' | '-'))
        && name.len() <= MAX_NAME_LEN;
    if valid {
        Some(name.to_string())
    } else {
        problems.add(
            "name",
            format!(
                "`{name}` is not a valid pipeline name: use lowercase letters, digits, `_` and `-`, starting with a letter or digit, at most {MAX_NAME_LEN} characters"
            ),
        );
        None
    }
}

/// Checks a Kafka topic name (also used for consumer groups).
fn check_topic(what: &str, topic: &str) -> Result<(), String> {
    if topic.is_empty() {
        return Err(format!("the {what} must not be empty"));
    }
    if topic == "." || topic == ".." {
        return Err(format!("`{topic}` is not a valid {what}"));
    }
    if topic.len() > MAX_TOPIC_LEN {
        return Err(format!(
            "the {what} is {} characters long; at most {MAX_TOPIC_LEN} are allowed",
            topic.len()
        ));
    }
    if let Some(bad) = topic
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(format!(
            "`{topic}` contains {bad:?}; a {what} may use only ASCII letters, digits, `.`, `_` and `-`"
        ));
    }
    Ok(())
}

fn build_source(table: Option<&Table>, problems: &mut Problems) -> Option<Source> {
    let Some(table) = table else {
        problems.missing(
            "source",
            "missing [source] table (topics, group, dead_letter_topic)",
        );
        return None;
    };
    let raw: RawSource = parse_table(table, "source", problems);
    let before = problems.len();

    let topics = raw.topics.unwrap_or_default();
    if topics.is_empty() {
        problems.missing("source.topics", "list at least one Kafka topic to consume");
    }
    for (i, topic) in topics.iter().enumerate() {
        let at = format!("source.topics[{i}]");
        if let Err(message) = check_topic("topic name", topic) {
            problems.add(at, message);
        } else if let Some(first) = topics[..i].iter().position(|t| t == topic) {
            problems.add(
                at,
                format!("`{topic}` is already listed as source.topics[{first}]"),
            );
        }
    }

    let group = raw.group.unwrap_or_default();
    if group.is_empty() {
        problems.missing(
            "source.group",
            "missing: the Kafka consumer group, unique across pipelines",
        );
    } else if let Err(message) = check_topic("consumer group", &group) {
        problems.add("source.group", message);
    }

    let format = match raw.format.as_deref() {
        None | Some("json") => Format::Json,
        Some(other) => {
            problems.add(
                "source.format",
                format!("unknown format `{other}`; expected json"),
            );
            Format::Json
        }
    };

    let dead_letter_topic = raw.dead_letter_topic.unwrap_or_default();
    if dead_letter_topic.is_empty() {
        problems.missing(
            "source.dead_letter_topic",
            "missing: the topic that receives messages which cannot be decoded",
        );
    } else if let Err(message) = check_topic("topic name", &dead_letter_topic) {
        problems.add("source.dead_letter_topic", message);
    } else if let Some(i) = topics.iter().position(|t| *t == dead_letter_topic) {
        problems.add(
            "source.dead_letter_topic",
            format!("`{dead_letter_topic}` is also source.topics[{i}]; the dead-letter topic must differ from the source topics"),
        );
    }

    let partitions = match raw.partitions {
        None => DEFAULT_PARTITIONS,
        Some(n) => i32::try_from(n)
            .ok()
            .filter(|n| *n >= 1)
            .unwrap_or_else(|| {
                problems.add(
                    "source.partitions",
                    format!(
                        "{n} is not a valid partition count; expected 1..{}",
                        i32::MAX
                    ),
                );
                DEFAULT_PARTITIONS
            }),
    };

    (problems.len() == before).then_some(Source {
        topics,
        group,
        format,
        dead_letter_topic,
        partitions,
    })
}

fn build_destination(table: Option<&Table>, problems: &mut Problems) -> Option<Destination> {
    let Some(table) = table else {
        return Some(Destination {
            store: Store::ClickHouse,
        });
    };
    let raw: RawDestination = parse_table(table, "destination", problems);
    match raw.store.as_deref() {
        None | Some("clickhouse") => Some(Destination {
            store: Store::ClickHouse,
        }),
        Some(other) => {
            problems.add(
                "destination.store",
                format!("unknown store `{other}`; expected clickhouse"),
            );
            None
        }
    }
}

fn build_fields(table: Option<&Table>, problems: &mut Problems) -> BTreeMap<FieldName, FieldSpec> {
    let mut fields = BTreeMap::new();
    let Some(table) = table else {
        problems.missing(
            "fields",
            "missing [fields] table (at least id and occurred_at)",
        );
        return fields;
    };
    for (key, value) in table {
        let at = join("fields", key);
        match FieldName::parse(key) {
            Some(name) => {
                if let Some(spec) = parse_field(
                    value,
                    &at,
                    name.as_str(),
                    name.value_type(),
                    name.is_required(),
                    problems,
                ) {
                    fields.insert(name, spec);
                }
            }
            None => {
                let expected: Vec<&str> = FieldName::ALL.iter().map(|f| f.as_str()).collect();
                problems.add(
                    at,
                    format!(
                        "unknown field `{key}`; expected one of: {}",
                        expected.join(", ")
                    ),
                );
            }
        }
    }
    for name in FieldName::ALL.into_iter().filter(|f| f.is_required()) {
        if !table.contains_key(name.as_str()) {
            problems.add(join("fields", name.as_str()), "required field missing");
        }
    }
    fields
}

fn build_texts(tables: &[Table], problems: &mut Problems) -> Vec<TextSpec> {
    let mut texts = Vec::new();
    for (i, table) in tables.iter().enumerate() {
        let at = format!("texts[{i}]");
        let raw: RawText = parse_table(table, &at, problems);
        let speaker = match raw.speaker.as_deref() {
            None => Some(Speaker::Customer),
            Some(text) => Speaker::from_str(text)
                .map_err(|e| problems.add(join(&at, "speaker"), e.to_string()))
                .ok(),
        };
        let field = match raw.path {
            Some(path) => parse_field(
                &toml::Value::String(path),
                &at,
                &at,
                ValueType::Text,
                false,
                problems,
            ),
            None => {
                problems.missing(
                    join(&at, "path"),
                    "missing `path` (a JSONPath such as \"$.comment\")",
                );
                None
            }
        };
        if let (Some(field), Some(speaker)) = (field, speaker) {
            texts.push(TextSpec { field, speaker });
        }
    }
    texts
}

fn build_turns(table: &Table, problems: &mut Problems) -> Option<TurnsSpec> {
    let raw: RawTurns = parse_table(table, "turns", problems);
    let path = match &raw.path {
        Some(text) => parse_path(text, "turns.path", problems),
        None => {
            problems.missing(
                "turns.path",
                "missing: a JSONPath selecting the array of turns",
            );
            None
        }
    };
    let mut sub = |key: &str, ty: ValueType, value: Option<&toml::Value>, required: bool| {
        let at = join("turns", key);
        match value {
            Some(value) => parse_field(value, &at, &at, ty, false, problems),
            None => {
                if required {
                    problems.missing(
                        at,
                        "missing: a JSONPath relative to each turn, such as \"$.text\"",
                    );
                }
                None
            }
        }
    };
    let speaker = sub("speaker", ValueType::Speaker, raw.speaker.as_ref(), true);
    let text = sub("text", ValueType::Text, raw.text.as_ref(), true);
    let at = sub("at", ValueType::Time, raw.at.as_ref(), false);
    if raw.at.is_some() && at.is_none() {
        return None;
    }
    Some(TurnsSpec {
        path_text: raw.path?,
        path: path?,
        speaker: speaker?,
        text: text?,
        at,
    })
}

fn build_classify(table: Option<&Table>, problems: &mut Problems) -> Option<Classify> {
    let default = Classify {
        speakers: vec![Speaker::Customer],
    };
    let Some(table) = table else {
        return Some(default);
    };
    let raw: RawClassify = parse_table(table, "classify", problems);
    let Some(names) = raw.speakers else {
        return Some(default);
    };
    if names.is_empty() {
        problems.add(
            "classify.speakers",
            "list at least one speaker (usually \"customer\")",
        );
        return None;
    }
    let before = problems.len();
    let mut speakers = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let at = format!("classify.speakers[{i}]");
        match Speaker::from_str(name) {
            Ok(s) if speakers.contains(&s) => problems.add(at, format!("`{s}` is listed twice")),
            Ok(s) => speakers.push(s),
            Err(e) => problems.add(at, e.to_string()),
        }
    }
    (problems.len() == before).then_some(Classify { speakers })
}

/// Rules that depend on the pipeline's kind.
fn check_kind(kind: InteractionKind, raw: &RawPipeline, problems: &mut Problems) {
    let texts = raw.texts.as_ref().map_or(0, Vec::len);
    match kind {
        InteractionKind::Transcript => {
            if raw.turns.is_none() {
                problems.add("turns", "a transcript pipeline needs a [turns] table");
            }
            if texts > 0 {
                problems.add(
                    "texts",
                    "[[texts]] is for surveys and messages; a transcript reads [turns]",
                );
            }
        }
        InteractionKind::Survey | InteractionKind::Message => {
            if raw.turns.is_some() {
                problems.add(
                    "turns",
                    format!(
                        "[turns] is only for transcripts; a {kind} reads its text from [[texts]]"
                    ),
                );
            }
        }
    }
    match kind {
        InteractionKind::Survey => {
            let has_score = [FieldName::Nps, FieldName::Csat, FieldName::Ces]
                .iter()
                .any(|f| raw_has_field(raw, *f));
            if !has_score && texts == 0 {
                problems.add(
                    "fields",
                    "a survey pipeline needs at least one score field (nps, csat, ces) or a [[texts]] entry",
                );
            }
        }
        InteractionKind::Message => {
            if texts != 1 {
                problems.add(
                    "texts",
                    format!("a message pipeline needs exactly one [[texts]] entry, found {texts}"),
                );
            }
        }
        InteractionKind::Transcript => {}
    }
}

fn raw_has_field(raw: &RawPipeline, name: FieldName) -> bool {
    raw.fields
        .as_ref()
        .is_some_and(|t| t.contains_key(name.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_names_follow_kafka_rules() {
        assert!(check_topic("topic name", "escucha.surveys_v2-dlq").is_ok());
        assert!(check_topic("topic name", "").is_err());
        assert!(check_topic("topic name", "..").is_err());
        assert!(check_topic("topic name", &"a".repeat(249)).is_ok());
        assert!(check_topic("topic name", &"a".repeat(250))
            .unwrap_err()
            .contains("250 characters"));
        assert!(check_topic("topic name", "encuestas/2026")
            .unwrap_err()
            .contains("'/'"));
        assert!(check_topic("topic name", "señal").is_err());
    }

    #[test]
    fn pipeline_names_are_lowercase_slugs() {
        let mut problems = Problems::default();
        assert_eq!(
            check_name("surveys-v2_mx", &mut problems).as_deref(),
            Some("surveys-v2_mx")
        );
        assert!(check_name("Surveys", &mut problems).is_none());
        assert!(check_name("-surveys", &mut problems).is_none());
        assert!(check_name(&"a".repeat(65), &mut problems).is_none());
        assert_eq!(problems.len(), 3);
    }
}
