//! Validated field specifications: where a value lives in the payload
//! (a JSONPath) and how it becomes a domain value.

use crate::error::Problems;
use crate::raw::{join, parse_table, RawField};
use chrono::format::{Item, Parsed, StrftimeItems};
use chrono::{DateTime, NaiveTime, TimeZone, Utc};
use escucha_core::{Channel, Language, Scores, Speaker};
use serde_json_path::JsonPath;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::str::FromStr;
use toml::Value;

/// The names accepted in `[fields]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum FieldName {
    Id,
    OccurredAt,
    EndedAt,
    Channel,
    CustomerId,
    RelatedId,
    Language,
    Queue,
    Team,
    Agent,
    Product,
    WaitSeconds,
    HandleSeconds,
    Transfers,
    BotInvolved,
    Escalated,
    Resolved,
    Nps,
    Csat,
    Ces,
}

impl FieldName {
    pub(crate) const ALL: [FieldName; 20] = [
        FieldName::Id,
        FieldName::OccurredAt,
        FieldName::EndedAt,
        FieldName::Channel,
        FieldName::CustomerId,
        FieldName::RelatedId,
        FieldName::Language,
        FieldName::Queue,
        FieldName::Team,
        FieldName::Agent,
        FieldName::Product,
        FieldName::WaitSeconds,
        FieldName::HandleSeconds,
        FieldName::Transfers,
        FieldName::BotInvolved,
        FieldName::Escalated,
        FieldName::Resolved,
        FieldName::Nps,
        FieldName::Csat,
        FieldName::Ces,
    ];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            FieldName::Id => "id",
            FieldName::OccurredAt => "occurred_at",
            FieldName::EndedAt => "ended_at",
            FieldName::Channel => "channel",
            FieldName::CustomerId => "customer_id",
            FieldName::RelatedId => "related_id",
            FieldName::Language => "language",
            FieldName::Queue => "queue",
            FieldName::Team => "team",
            FieldName::Agent => "agent",
            FieldName::Product => "product",
            FieldName::WaitSeconds => "wait_seconds",
            FieldName::HandleSeconds => "handle_seconds",
            FieldName::Transfers => "transfers",
            FieldName::BotInvolved => "bot_involved",
            FieldName::Escalated => "escalated",
            FieldName::Resolved => "resolved",
            FieldName::Nps => "nps",
            FieldName::Csat => "csat",
            FieldName::Ces => "ces",
        }
    }

    pub(crate) fn parse(name: &str) -> Option<FieldName> {
        FieldName::ALL.into_iter().find(|f| f.as_str() == name)
    }

    /// Fields every pipeline must declare.
    pub(crate) fn is_required(self) -> bool {
        matches!(self, FieldName::Id | FieldName::OccurredAt)
    }

    pub(crate) fn value_type(self) -> ValueType {
        match self {
            FieldName::Id
            | FieldName::CustomerId
            | FieldName::RelatedId
            | FieldName::Queue
            | FieldName::Team
            | FieldName::Agent
            | FieldName::Product => ValueType::Id,
            FieldName::OccurredAt | FieldName::EndedAt => ValueType::Time,
            FieldName::Channel => ValueType::Channel,
            FieldName::Language => ValueType::Language,
            FieldName::WaitSeconds | FieldName::HandleSeconds | FieldName::Transfers => {
                ValueType::Count
            }
            FieldName::BotInvolved | FieldName::Escalated | FieldName::Resolved => ValueType::Flag,
            FieldName::Nps => ValueType::Score(Scores::NPS),
            FieldName::Csat => ValueType::Score(Scores::CSAT),
            FieldName::Ces => ValueType::Score(Scores::CES),
        }
    }
}

/// What kind of domain value a field produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ValueType {
    /// An identifier or a name: a string, or a number taken as its text.
    Id,
    /// A point in time, read with a [`TimeFormat`].
    Time,
    /// An escucha channel name.
    Channel,
    /// A language tag.
    Language,
    /// A non-negative whole number (seconds, counts).
    Count,
    /// A boolean.
    Flag,
    /// A score on the given canonical scale (inclusive).
    Score((u8, u8)),
    /// An escucha speaker name.
    Speaker,
    /// Free text. Its value never appears in errors.
    Text,
}

impl ValueType {
    fn describe(self) -> &'static str {
        match self {
            ValueType::Id => "an identifier field",
            ValueType::Time => "a time field",
            ValueType::Channel => "the channel field",
            ValueType::Language => "the language field",
            ValueType::Count => "a count field",
            ValueType::Flag => "a boolean field",
            ValueType::Score(_) => "a score field",
            ValueType::Speaker => "a speaker field",
            ValueType::Text => "a text field",
        }
    }

    /// Whether `map` and `default` make sense for this type.
    fn accepts_literals(self) -> bool {
        !matches!(self, ValueType::Time | ValueType::Text)
    }
}

/// A value written in the pipeline file (`default` or a `map` target),
/// already checked against the field's type.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Literal {
    Str(String),
    Language(Language),
    Channel(Channel),
    Speaker(Speaker),
    Count(u32),
    Flag(bool),
    /// A score on the source scale (`from`) or, without `from`, on the
    /// canonical scale.
    Number(f64),
}

impl Literal {
    fn from_toml(
        ty: ValueType,
        value: &Value,
        from: Option<(f64, f64)>,
    ) -> Result<Literal, String> {
        let found = || format!("expected {}, found {}", expected(ty), value.type_str());
        match ty {
            ValueType::Id => match value {
                Value::String(s) if !s.trim().is_empty() => Ok(Literal::Str(s.trim().to_string())),
                Value::Integer(i) => Ok(Literal::Str(i.to_string())),
                Value::String(_) => Err("must not be empty".to_string()),
                _ => Err(found()),
            },
            ValueType::Language => match value {
                Value::String(s) if !s.trim().is_empty() => {
                    Ok(Literal::Language(Language::from_tag(s)))
                }
                _ => Err(found()),
            },
            ValueType::Channel => match value {
                Value::String(s) => Channel::from_str(s)
                    .map(Literal::Channel)
                    .map_err(|e| e.to_string()),
                _ => Err(found()),
            },
            ValueType::Speaker => match value {
                Value::String(s) => Speaker::from_str(s)
                    .map(Literal::Speaker)
                    .map_err(|e| e.to_string()),
                _ => Err(found()),
            },
            ValueType::Count => match value {
                Value::Integer(i) => u32::try_from(*i)
                    .map(Literal::Count)
                    .map_err(|_| format!("{i} is outside the range 0..{}", u32::MAX)),
                _ => Err(found()),
            },
            ValueType::Flag => match value {
                Value::Boolean(b) => Ok(Literal::Flag(*b)),
                _ => Err(found()),
            },
            ValueType::Score(canonical) => {
                let n = match value {
                    Value::Integer(i) => *i as f64,
                    Value::Float(f) if f.is_finite() => *f,
                    _ => return Err(found()),
                };
                check_score(n, canonical, from).map(|_| Literal::Number(n))
            }
            ValueType::Time | ValueType::Text => Err(format!("not allowed on {}", ty.describe())),
        }
    }
}

fn expected(ty: ValueType) -> &'static str {
    match ty {
        ValueType::Id => "a string or an integer",
        ValueType::Language => "a language tag such as \"es\" or \"pt-BR\"",
        ValueType::Channel => "a channel name",
        ValueType::Speaker => "a speaker name",
        ValueType::Count => "a non-negative integer",
        ValueType::Flag => "true or false",
        ValueType::Score(_) => "a number",
        ValueType::Time | ValueType::Text => "nothing",
    }
}

/// Checks that a score written in the file lies on the scale it will be
/// read on: the declared `from` scale, or the canonical one.
fn check_score(n: f64, canonical: (u8, u8), from: Option<(f64, f64)>) -> Result<(), String> {
    match from {
        Some((min, max)) if n < min || n > max => Err(format!(
            "{} is outside the declared scale {}..{}",
            fmt_num(n),
            fmt_num(min),
            fmt_num(max)
        )),
        Some(_) => Ok(()),
        None => {
            let (lo, hi) = canonical;
            if n < f64::from(lo) || n > f64::from(hi) || n.fract() != 0.0 {
                Err(format!(
                    "{} is not a whole number on the canonical scale {lo}..{hi} (declare `from` for another scale)",
                    fmt_num(n)
                ))
            } else {
                Ok(())
            }
        }
    }
}

/// Formats a number without a trailing `.0` when it is whole.
pub(crate) fn fmt_num(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// How a time field is written in the payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TimeFormat {
    /// `2026-11-20T14:03:11Z`, `2026-11-20T11:03:11-03:00`.
    Rfc3339,
    /// Seconds since the Unix epoch (number or numeric string).
    UnixSeconds,
    /// Milliseconds since the Unix epoch (number or numeric string).
    UnixMillis,
    /// A chrono strftime pattern; read as UTC unless it contains an offset.
    Pattern(String),
}

impl TimeFormat {
    fn parse(text: &str) -> Result<TimeFormat, String> {
        match text {
            "rfc3339" => Ok(TimeFormat::Rfc3339),
            "unix_seconds" => Ok(TimeFormat::UnixSeconds),
            "unix_millis" => Ok(TimeFormat::UnixMillis),
            pattern if pattern.contains('%') => {
                if StrftimeItems::new(pattern).any(|item| matches!(item, Item::Error)) {
                    return Err(format!("invalid strftime pattern `{pattern}`"));
                }
                // A pattern must identify a full date: write a known instant
                // with it and read it back.
                let probe = Utc.with_ymd_and_hms(2001, 2, 3, 4, 5, 6).single();
                let mut written = String::new();
                let readable = probe.is_some_and(|t| {
                    write!(written, "{}", t.format(pattern)).is_ok()
                        && parse_pattern(&written, pattern).is_ok()
                });
                if readable {
                    Ok(TimeFormat::Pattern(pattern.to_string()))
                } else {
                    Err(format!(
                        "strftime pattern `{pattern}` does not identify a date (it needs a year, month and day, or %s)"
                    ))
                }
            }
            other => Err(format!(
                "unknown time format `{other}`; expected rfc3339, unix_seconds, unix_millis or a strftime pattern such as \"%Y-%m-%d %H:%M:%S\""
            )),
        }
    }
}

/// Reads `text` with a strftime pattern. Without an offset in the pattern the
/// time is UTC; without a time of day it is midnight.
pub(crate) fn parse_pattern(text: &str, pattern: &str) -> Result<DateTime<Utc>, String> {
    let mut parsed = Parsed::new();
    chrono::format::parse(&mut parsed, text.trim(), StrftimeItems::new(pattern))
        .map_err(|e| e.to_string())?;
    let offset = parsed.offset().unwrap_or(0);
    match parsed.to_naive_datetime_with_offset(offset) {
        Ok(naive) => Ok(Utc.from_utc_datetime(&(naive - chrono::Duration::seconds(offset.into())))),
        Err(e) if parsed.hour_div_12().is_none() && parsed.hour_mod_12().is_none() => {
            let date = parsed.to_naive_date().map_err(|_| e.to_string())?;
            let naive = date.and_time(NaiveTime::MIN);
            Ok(Utc.from_utc_datetime(&(naive - chrono::Duration::seconds(offset.into()))))
        }
        Err(e) => Err(e.to_string()),
    }
}

/// A validated field: where its value lives and how to read it.
#[derive(Debug, Clone)]
pub(crate) struct FieldSpec {
    /// The name used in decode errors, e.g. `csat`, `turns.speaker`,
    /// `texts[0]`.
    pub name: String,
    /// The JSONPath as written in the file.
    pub path_text: String,
    pub path: JsonPath,
    pub ty: ValueType,
    pub default: Option<Literal>,
    /// Keys are trimmed and lowercased; see [`map_key`].
    pub map: HashMap<String, Literal>,
    pub time: TimeFormat,
    /// The declared source scale of a score.
    pub from: Option<(f64, f64)>,
}

/// The normalised form of a `map` key, used both for the file's keys and for
/// payload values: trimmed and lowercased.
pub(crate) fn map_key(text: &str) -> String {
    text.trim().to_lowercase()
}

/// Parses a JSONPath, recording a problem at `at` when it is invalid.
pub(crate) fn parse_path(text: &str, at: &str, problems: &mut Problems) -> Option<JsonPath> {
    match JsonPath::parse(text) {
        Ok(path) => Some(path),
        Err(e) => {
            problems.add(at, format!("invalid JSONPath `{text}`: {e}"));
            None
        }
    }
}

/// Parses and validates one field written either as a JSONPath string or as
/// a table (`path`, `default`, `map`, `time`, `from`), found at key path `at`.
/// Returns `None` after recording at least one problem.
pub(crate) fn parse_field(
    value: &Value,
    at: &str,
    name: &str,
    ty: ValueType,
    required: bool,
    problems: &mut Problems,
) -> Option<FieldSpec> {
    let raw: RawField = match value {
        Value::String(path) => RawField {
            path: Some(path.clone()),
            ..RawField::default()
        },
        Value::Table(table) => parse_table(table, at, problems),
        other => {
            problems.add(
                at,
                format!(
                    "expected a JSONPath string or a table with `path`, found {}",
                    other.type_str()
                ),
            );
            return None;
        }
    };
    let before = problems.len();

    let path = match &raw.path {
        Some(text) => parse_path(text, &join(at, "path"), problems),
        None => {
            problems.missing(
                join(at, "path"),
                "missing `path` (a JSONPath such as \"$.id\")",
            );
            None
        }
    };

    let time = match (&raw.time, ty) {
        (None, _) => TimeFormat::Rfc3339,
        (Some(text), ValueType::Time) => TimeFormat::parse(text).unwrap_or_else(|message| {
            problems.add(join(at, "time"), message);
            TimeFormat::Rfc3339
        }),
        (Some(_), _) => {
            problems.add(
                join(at, "time"),
                format!(
                    "`time` applies only to time fields, and this is {}",
                    ty.describe()
                ),
            );
            TimeFormat::Rfc3339
        }
    };

    let from = match (&raw.from, ty) {
        (None, _) => None,
        (Some(bounds), ValueType::Score(_)) => match bounds.as_slice() {
            [min, max] if min.is_finite() && max.is_finite() && min < max => Some((*min, *max)),
            [min, max] => {
                problems.add(
                    join(at, "from"),
                    format!(
                        "the scale minimum ({}) must be below its maximum ({})",
                        fmt_num(*min),
                        fmt_num(*max)
                    ),
                );
                None
            }
            _ => {
                problems.add(
                    join(at, "from"),
                    format!("expected [min, max], found {} numbers", bounds.len()),
                );
                None
            }
        },
        (Some(_), _) => {
            problems.add(
                join(at, "from"),
                format!(
                    "`from` applies only to score fields (nps, csat, ces), and this is {}",
                    ty.describe()
                ),
            );
            None
        }
    };
    // Literals on a score are checked against `from` only when `from` itself
    // is valid; otherwise its problem is already recorded.
    let from_is_broken = matches!(ty, ValueType::Score(_)) && raw.from.is_some() && from.is_none();

    let mut map = HashMap::new();
    if let Some(table) = &raw.map {
        let map_at = join(at, "map");
        if !ty.accepts_literals() {
            problems.add(map_at, format!("`map` does not apply to {}", ty.describe()));
        } else if table.is_empty() {
            problems.add(
                map_at,
                "an empty `map` maps nothing; remove it or add entries",
            );
        } else {
            for (key, target) in table {
                let key_at = join(&map_at, key);
                let normal = map_key(key);
                if normal.is_empty() {
                    problems.add(key_at, "a map key must not be empty");
                    continue;
                }
                match Literal::from_toml(ty, target, from) {
                    Ok(literal) => {
                        if map.insert(normal, literal).is_some() {
                            problems.add(
                                key_at,
                                "duplicate key (keys are matched ignoring case and surrounding spaces)",
                            );
                        }
                    }
                    Err(_) if from_is_broken => {}
                    Err(message) => problems.add(key_at, message),
                }
            }
        }
    }

    let default = match &raw.default {
        None => None,
        Some(_) if required => {
            problems.add(
                join(at, "default"),
                "a required field cannot have a default",
            );
            None
        }
        Some(_) if !ty.accepts_literals() => {
            problems.add(
                join(at, "default"),
                format!("`default` does not apply to {}", ty.describe()),
            );
            None
        }
        Some(value) => match Literal::from_toml(ty, value, from) {
            Ok(literal) => Some(literal),
            Err(_) if from_is_broken => None,
            Err(message) => {
                problems.add(join(at, "default"), message);
                None
            }
        },
    };

    if problems.len() > before {
        return None;
    }
    Some(FieldSpec {
        name: name.to_string(),
        path_text: raw.path?,
        path: path?,
        ty,
        default,
        map,
        time,
        from,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(toml_value: &str, ty: ValueType) -> Result<FieldSpec, Vec<(String, String)>> {
        let doc: toml::Table = toml::from_str(&format!("f = {toml_value}")).unwrap();
        let mut problems = Problems::default();
        let spec = parse_field(&doc["f"], "fields.f", "f", ty, false, &mut problems);
        match spec {
            Some(spec) if problems.is_empty() => Ok(spec),
            _ => Err(problems
                .into_errors(std::path::Path::new("t.toml"))
                .into_iter()
                .map(|e| (e.path, e.message))
                .collect()),
        }
    }

    #[test]
    fn a_plain_string_is_a_path_and_defaults_to_rfc3339() {
        let spec = field(r#""$.a.b""#, ValueType::Time).unwrap();
        assert_eq!(spec.path_text, "$.a.b");
        assert_eq!(spec.time, TimeFormat::Rfc3339);
        assert!(spec.map.is_empty() && spec.default.is_none() && spec.from.is_none());
    }

    #[test]
    fn map_keys_are_normalised_and_targets_typed() {
        let spec = field(
            r#"{ path = "$.c", map = { " Phone " = "voice", WebChat = "CHAT" }, default = "other" }"#,
            ValueType::Channel,
        )
        .unwrap();
        assert_eq!(spec.map["phone"], Literal::Channel(Channel::Voice));
        assert_eq!(spec.map["webchat"], Literal::Channel(Channel::Chat));
        assert_eq!(spec.default, Some(Literal::Channel(Channel::Other)));
    }

    #[test]
    fn every_problem_of_a_field_is_reported_with_its_path() {
        let errors = field(
            r#"{ path = "$[", map = { a = "fax", A = "voice" }, time = "rfc3339", from = [1, 5], default = 3 }"#,
            ValueType::Channel,
        )
        .unwrap_err();
        let paths: Vec<&str> = errors.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            [
                "fields.f.path",
                "fields.f.time",
                "fields.f.from",
                "fields.f.map.a",
                "fields.f.default"
            ]
        );
        assert!(
            errors[0].1.starts_with("invalid JSONPath `$[`"),
            "{}",
            errors[0].1
        );
        assert!(
            errors[3].1.contains("unknown channel `fax`"),
            "{}",
            errors[3].1
        );
    }

    #[test]
    fn duplicate_map_keys_after_case_folding_are_rejected() {
        let errors = field(
            r#"{ path = "$.c", map = { Phone = "voice", phone = "chat" } }"#,
            ValueType::Channel,
        )
        .unwrap_err();
        assert_eq!(errors.len(), 1);
        assert!(errors[0].1.starts_with("duplicate key"));
    }

    #[test]
    fn score_scales_and_literals_are_checked() {
        assert_eq!(
            field(
                r#"{ path = "$.s", from = [1, 10] }"#,
                ValueType::Score(Scores::CSAT)
            )
            .unwrap()
            .from,
            Some((1.0, 10.0))
        );
        let errors = field(
            r#"{ path = "$.s", from = [10, 1] }"#,
            ValueType::Score(Scores::CSAT),
        )
        .unwrap_err();
        assert_eq!(errors[0].0, "fields.f.from");
        let errors = field(
            r#"{ path = "$.s", from = [1, 2, 3] }"#,
            ValueType::Score(Scores::CSAT),
        )
        .unwrap_err();
        assert_eq!(errors[0].1, "expected [min, max], found 3 numbers");
        let errors = field(
            r#"{ path = "$.s", map = { "very easy" = 9 } }"#,
            ValueType::Score(Scores::CES),
        )
        .unwrap_err();
        assert_eq!(errors[0].0, "fields.f.map.\"very easy\"");
        let spec = field(
            r#"{ path = "$.s", from = [1, 10], map = { "excelente" = 10, "malo" = 2 } }"#,
            ValueType::Score(Scores::CSAT),
        )
        .unwrap();
        assert_eq!(spec.map["excelente"], Literal::Number(10.0));
        let errors = field(
            r#"{ path = "$.s", from = [1, 10], map = { x = 11 } }"#,
            ValueType::Score(Scores::CSAT),
        )
        .unwrap_err();
        assert_eq!(errors[0].1, "11 is outside the declared scale 1..10");
    }

    #[test]
    fn time_formats_and_strftime_patterns_are_validated() {
        assert_eq!(TimeFormat::parse("unix_millis"), Ok(TimeFormat::UnixMillis));
        assert_eq!(
            TimeFormat::parse("%d/%m/%Y %H:%M"),
            Ok(TimeFormat::Pattern("%d/%m/%Y %H:%M".to_string()))
        );
        assert!(TimeFormat::parse("%Y-%m-%d").is_ok());
        assert!(TimeFormat::parse("%H:%M:%S")
            .unwrap_err()
            .contains("does not identify a date"));
        assert!(TimeFormat::parse("%Y-%Q")
            .unwrap_err()
            .starts_with("invalid strftime pattern"));
        assert!(TimeFormat::parse("iso")
            .unwrap_err()
            .starts_with("unknown time format `iso`"));
    }

    #[test]
    fn patterns_read_utc_offsets_and_dates_without_time() {
        let expected = Utc.with_ymd_and_hms(2026, 11, 20, 14, 3, 11).unwrap();
        assert_eq!(
            parse_pattern("2026-11-20 14:03:11", "%Y-%m-%d %H:%M:%S"),
            Ok(expected)
        );
        assert_eq!(
            parse_pattern("20/11/2026 11:03:11 -0300", "%d/%m/%Y %H:%M:%S %z"),
            Ok(expected)
        );
        assert_eq!(
            parse_pattern("2026-11-20", "%Y-%m-%d"),
            Ok(Utc.with_ymd_and_hms(2026, 11, 20, 0, 0, 0).unwrap())
        );
        assert!(parse_pattern("2026-13-20 14:03:11", "%Y-%m-%d %H:%M:%S").is_err());
    }

    #[test]
    fn defaults_are_refused_where_they_make_no_sense() {
        let doc: toml::Table = toml::from_str(r#"f = { path = "$.id", default = "x" }"#).unwrap();
        let mut problems = Problems::default();
        assert!(parse_field(
            &doc["f"],
            "fields.id",
            "id",
            ValueType::Id,
            true,
            &mut problems
        )
        .is_none());
        let errors = problems.into_errors(std::path::Path::new("t.toml"));
        assert_eq!(errors[0].path, "fields.id.default");
        let errors = field(
            r#"{ path = "$.t", default = "2026-01-01T00:00:00Z" }"#,
            ValueType::Time,
        )
        .unwrap_err();
        assert_eq!(errors[0].1, "`default` does not apply to a time field");
    }
}
