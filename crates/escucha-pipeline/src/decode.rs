//! Decoding a message payload into an [`Interaction`] with a pipeline.

use crate::error::DecodeError;
use crate::pipeline::{Pipeline, TurnsSpec};
use crate::spec::{
    fmt_num, map_key, parse_pattern, FieldName, FieldSpec, Literal, TimeFormat, ValueType,
};
use chrono::{DateTime, Utc};
use escucha_core::{
    Channel, Interaction, InteractionKind, Language, Operational, Scores, Speaker, Turn,
    UnknownName,
};
use serde_json::Value;
use std::str::FromStr;

/// Longest string value an error message quotes. Longer values are
/// described by their length only, so that a pipeline that points a
/// structured field at free text cannot leak that text into errors.
const MAX_QUOTED_CHARS: usize = 40;

impl Pipeline {
    /// Decodes one message payload (one JSON object) into an interaction.
    ///
    /// Lenient where real data is messy: numbers and booleans written as
    /// strings, identifiers written as numbers, `null` and empty strings
    /// taken as absent. Strict where it matters: scores outside their scale,
    /// unreadable times, unknown channels or speakers, missing required
    /// fields and transcripts without turns are errors.
    pub fn decode(&self, payload: &[u8]) -> Result<Interaction, DecodeError> {
        let doc: Value = serde_json::from_slice(payload).map_err(|e| DecodeError::InvalidJson {
            reason: e.to_string(),
        })?;
        self.decode_json(&doc)
    }

    /// Decodes an already parsed JSON document; see [`Pipeline::decode`].
    pub fn decode_json(&self, doc: &Value) -> Result<Interaction, DecodeError> {
        if !doc.is_object() {
            return Err(DecodeError::InvalidJson {
                reason: format!("found {}", json_type(doc)),
            });
        }
        let id = self
            .text_field(FieldName::Id, doc)?
            .ok_or_else(|| self.missing(FieldName::Id))?;
        let occurred_at = self
            .time_field(FieldName::OccurredAt, doc)?
            .ok_or_else(|| self.missing(FieldName::OccurredAt))?;
        let ended_at = self.time_field(FieldName::EndedAt, doc)?;
        if let (Some(end), Some(spec)) = (ended_at, self.fields.get(&FieldName::EndedAt)) {
            if end < occurred_at {
                return Err(invalid(
                    spec,
                    format!(
                        "{} is before occurred_at {}",
                        end.to_rfc3339(),
                        occurred_at.to_rfc3339()
                    ),
                ));
            }
        }
        let channel = match self.fields.get(&FieldName::Channel) {
            Some(spec) => name_value::<Channel>(spec, doc, |l| match l {
                Literal::Channel(c) => Some(*c),
                _ => None,
            })?
            .ok_or_else(|| self.missing(FieldName::Channel))?,
            None => Channel::Other,
        };
        let language = match self.fields.get(&FieldName::Language) {
            Some(spec) => language_value(spec, doc)?,
            None => None,
        };
        let scores = Scores {
            nps: self.score_field(FieldName::Nps, doc)?,
            csat: self.score_field(FieldName::Csat, doc)?,
            ces: self.score_field(FieldName::Ces, doc)?,
        };
        let ops = Operational {
            queue: self.text_field(FieldName::Queue, doc)?,
            team: self.text_field(FieldName::Team, doc)?,
            agent: self.text_field(FieldName::Agent, doc)?,
            product: self.text_field(FieldName::Product, doc)?,
            wait_seconds: self.count_field(FieldName::WaitSeconds, doc)?,
            handle_seconds: self.count_field(FieldName::HandleSeconds, doc)?,
            transfers: self.count_field(FieldName::Transfers, doc)?,
            bot_involved: self.flag_field(FieldName::BotInvolved, doc)?,
            escalated: self.flag_field(FieldName::Escalated, doc)?,
            resolved: self.flag_field(FieldName::Resolved, doc)?,
        };
        let turns = match (&self.turns, self.kind) {
            (Some(spec), _) => decode_turns(spec, doc)?,
            (None, kind) => self.decode_texts(kind, doc)?,
        };
        Ok(Interaction {
            id,
            kind: self.kind,
            channel,
            occurred_at,
            ended_at,
            customer_id: self.text_field(FieldName::CustomerId, doc)?,
            related_id: self.text_field(FieldName::RelatedId, doc)?,
            language,
            scores,
            ops,
            turns,
        })
    }

    fn missing(&self, name: FieldName) -> DecodeError {
        DecodeError::MissingField {
            field: name.as_str().to_string(),
            path: self
                .fields
                .get(&name)
                .map(|s| s.path_text.clone())
                .unwrap_or_default(),
        }
    }

    fn text_field(&self, name: FieldName, doc: &Value) -> Result<Option<String>, DecodeError> {
        match self.fields.get(&name) {
            Some(spec) => id_value(spec, doc),
            None => Ok(None),
        }
    }

    fn time_field(
        &self,
        name: FieldName,
        doc: &Value,
    ) -> Result<Option<DateTime<Utc>>, DecodeError> {
        match self.fields.get(&name) {
            Some(spec) => time_value(spec, doc),
            None => Ok(None),
        }
    }

    fn count_field(&self, name: FieldName, doc: &Value) -> Result<Option<u32>, DecodeError> {
        match self.fields.get(&name) {
            Some(spec) => count_value(spec, doc),
            None => Ok(None),
        }
    }

    fn flag_field(&self, name: FieldName, doc: &Value) -> Result<Option<bool>, DecodeError> {
        match self.fields.get(&name) {
            Some(spec) => flag_value(spec, doc),
            None => Ok(None),
        }
    }

    fn score_field(&self, name: FieldName, doc: &Value) -> Result<Option<u8>, DecodeError> {
        match self.fields.get(&name) {
            Some(spec) => score_value(spec, doc),
            None => Ok(None),
        }
    }

    /// The `[[texts]]` of a survey or message, in order, skipping absent
    /// ones. A message must have its text.
    fn decode_texts(&self, kind: InteractionKind, doc: &Value) -> Result<Vec<Turn>, DecodeError> {
        let mut turns = Vec::with_capacity(self.texts.len());
        for text in &self.texts {
            match free_text(&text.field, doc)? {
                Some(body) => turns.push(Turn {
                    speaker: text.speaker,
                    text: body,
                    at: None,
                }),
                None if kind == InteractionKind::Message => {
                    return Err(DecodeError::MissingField {
                        field: text.field.name.clone(),
                        path: text.field.path_text.clone(),
                    })
                }
                None => {}
            }
        }
        Ok(turns)
    }
}

/// The turns of a transcript, in source order. Elements without text are
/// skipped; a transcript left without turns is an error.
fn decode_turns(spec: &TurnsSpec, doc: &Value) -> Result<Vec<Turn>, DecodeError> {
    let nodes = spec.path.query(doc);
    let elements = match nodes.len() {
        0 => &[][..],
        1 => match nodes.first() {
            Some(Value::Array(items)) => items.as_slice(),
            Some(Value::Null) | None => &[][..],
            Some(other) => {
                return Err(DecodeError::InvalidValue {
                    field: "turns".to_string(),
                    path: spec.path_text.clone(),
                    reason: format!("expected an array of turns, found {}", json_type(other)),
                })
            }
        },
        count => {
            return Err(DecodeError::AmbiguousPath {
                field: "turns".to_string(),
                path: spec.path_text.clone(),
                count,
            })
        }
    };
    let mut turns = Vec::with_capacity(elements.len());
    for (index, element) in elements.iter().enumerate() {
        let decoded = (|| {
            let Some(text) = free_text(&spec.text, element)? else {
                return Ok(None);
            };
            let speaker = name_value::<Speaker>(&spec.speaker, element, |l| match l {
                Literal::Speaker(s) => Some(*s),
                _ => None,
            })?
            .ok_or_else(|| DecodeError::MissingField {
                field: spec.speaker.name.clone(),
                path: spec.speaker.path_text.clone(),
            })?;
            let at = match &spec.at {
                Some(at) => time_value(at, element)?,
                None => None,
            };
            Ok(Some(Turn { speaker, text, at }))
        })()
        .map_err(|e: DecodeError| e.in_element(index))?;
        turns.extend(decoded);
    }
    if turns.is_empty() {
        return Err(DecodeError::NoTurns {
            path: spec.path_text.clone(),
        });
    }
    Ok(turns)
}

/// A field's value after `default` and `map` are applied.
enum Resolved<'a> {
    Absent,
    Literal(&'a Literal),
    Raw(&'a Value),
}

/// The single value `spec.path` selects, or `None` when it selects nothing,
/// `null` or a blank string.
fn select<'a>(spec: &FieldSpec, root: &'a Value) -> Result<Option<&'a Value>, DecodeError> {
    let nodes = spec.path.query(root);
    match nodes.len() {
        0 => Ok(None),
        1 => Ok(nodes.first().filter(|v| !is_blank(v))),
        count => Err(DecodeError::AmbiguousPath {
            field: spec.name.clone(),
            path: spec.path_text.clone(),
            count,
        }),
    }
}

fn resolve<'a>(spec: &'a FieldSpec, root: &'a Value) -> Result<Resolved<'a>, DecodeError> {
    let Some(value) = select(spec, root)? else {
        return Ok(spec
            .default
            .as_ref()
            .map_or(Resolved::Absent, Resolved::Literal));
    };
    if !spec.map.is_empty() {
        if let Some(literal) = value_key(value).and_then(|key| spec.map.get(&key)) {
            return Ok(Resolved::Literal(literal));
        }
    }
    Ok(Resolved::Raw(value))
}

fn is_blank(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        _ => false,
    }
}

/// The text a payload value is looked up by in a `map`.
fn value_key(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(map_key(s)),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(match n.as_f64() {
            Some(f) if n.is_f64() && f.fract() == 0.0 => fmt_num(f),
            _ => n.to_string(),
        }),
        _ => None,
    }
}

fn invalid(spec: &FieldSpec, reason: String) -> DecodeError {
    DecodeError::InvalidValue {
        field: spec.name.clone(),
        path: spec.path_text.clone(),
        reason,
    }
}

/// Raised when a literal in the file has another type than its field; the
/// loader rules this out, so it signals a defect in this crate.
fn literal_mismatch(spec: &FieldSpec) -> DecodeError {
    invalid(
        spec,
        "the pipeline's literal for this field has the wrong type".to_string(),
    )
}

fn id_value(spec: &FieldSpec, root: &Value) -> Result<Option<String>, DecodeError> {
    match resolve(spec, root)? {
        Resolved::Absent => Ok(None),
        Resolved::Literal(Literal::Str(s)) => Ok(Some(s.clone())),
        Resolved::Literal(_) => Err(literal_mismatch(spec)),
        Resolved::Raw(Value::String(s)) => Ok(Some(s.trim().to_string())),
        Resolved::Raw(Value::Number(n)) => Ok(Some(n.to_string())),
        Resolved::Raw(other) => Err(invalid(
            spec,
            format!("expected a string or a number, found {}", json_type(other)),
        )),
    }
}

/// A name field (channel, speaker): a `map` entry, the name itself, or the
/// `default` when the value is not recognised.
fn name_value<T>(
    spec: &FieldSpec,
    root: &Value,
    from_literal: impl Fn(&Literal) -> Option<T>,
) -> Result<Option<T>, DecodeError>
where
    T: FromStr<Err = UnknownName>,
{
    match resolve(spec, root)? {
        Resolved::Absent => Ok(None),
        Resolved::Literal(literal) => from_literal(literal)
            .map(Some)
            .ok_or_else(|| literal_mismatch(spec)),
        Resolved::Raw(value) => {
            let parsed = match value {
                Value::String(s) => T::from_str(s).map_err(|e| {
                    format!(
                        "unknown {} {}; expected one of: {}, or an entry in the pipeline's `map`",
                        e.what,
                        describe(value),
                        e.expected
                    )
                }),
                other => Err(format!("expected a string, found {}", json_type(other))),
            };
            match (parsed, spec.default.as_ref()) {
                (Ok(name), _) => Ok(Some(name)),
                (Err(_), Some(default)) => from_literal(default)
                    .map(Some)
                    .ok_or_else(|| literal_mismatch(spec)),
                (Err(reason), None) => Err(invalid(spec, reason)),
            }
        }
    }
}

fn language_value(spec: &FieldSpec, root: &Value) -> Result<Option<Language>, DecodeError> {
    match resolve(spec, root)? {
        Resolved::Absent => Ok(None),
        Resolved::Literal(Literal::Language(l)) => Ok(Some(*l)),
        Resolved::Literal(_) => Err(literal_mismatch(spec)),
        Resolved::Raw(Value::String(tag)) => Ok(Some(Language::from_tag(tag))),
        Resolved::Raw(other) => Err(invalid(
            spec,
            format!("expected a language tag, found {}", json_type(other)),
        )),
    }
}

fn time_value(spec: &FieldSpec, root: &Value) -> Result<Option<DateTime<Utc>>, DecodeError> {
    match resolve(spec, root)? {
        Resolved::Absent => Ok(None),
        Resolved::Literal(_) => Err(literal_mismatch(spec)),
        Resolved::Raw(value) => parse_time(&spec.time, value)
            .map(Some)
            .map_err(|reason| invalid(spec, reason)),
    }
}

fn parse_time(format: &TimeFormat, value: &Value) -> Result<DateTime<Utc>, String> {
    let out_of_range = || format!("{} is not a representable time", describe(value));
    match format {
        TimeFormat::Rfc3339 => match value {
            Value::String(s) => DateTime::parse_from_rfc3339(s.trim())
                .map(|t| t.to_utc())
                .map_err(|e| format!("{} is not an RFC 3339 timestamp: {e}", describe(value))),
            other => Err(format!(
                "expected an RFC 3339 timestamp string, found {}",
                json_type(other)
            )),
        },
        TimeFormat::UnixSeconds => {
            let seconds = epoch_number(value)?;
            let whole = seconds.floor();
            let nanos = ((seconds - whole) * 1e9).round().min(999_999_999.0) as u32;
            if !(i64::MIN as f64..=i64::MAX as f64).contains(&whole) {
                return Err(out_of_range());
            }
            DateTime::from_timestamp(whole as i64, nanos).ok_or_else(out_of_range)
        }
        TimeFormat::UnixMillis => {
            let millis = epoch_number(value)?.round();
            if !(i64::MIN as f64..=i64::MAX as f64).contains(&millis) {
                return Err(out_of_range());
            }
            DateTime::from_timestamp_millis(millis as i64).ok_or_else(out_of_range)
        }
        TimeFormat::Pattern(pattern) => match value {
            Value::String(s) => parse_pattern(s, pattern)
                .map_err(|e| format!("{} does not match `{pattern}`: {e}", describe(value))),
            other => Err(format!(
                "expected a string in the format `{pattern}`, found {}",
                json_type(other)
            )),
        },
    }
}

fn epoch_number(value: &Value) -> Result<f64, String> {
    number(value).ok_or_else(|| format!("expected a Unix timestamp, found {}", describe(value)))
}

/// A finite number, or a string holding one.
fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
    .filter(|n| n.is_finite())
}

fn count_value(spec: &FieldSpec, root: &Value) -> Result<Option<u32>, DecodeError> {
    let n = match resolve(spec, root)? {
        Resolved::Absent => return Ok(None),
        Resolved::Literal(Literal::Count(n)) => return Ok(Some(*n)),
        Resolved::Literal(_) => return Err(literal_mismatch(spec)),
        Resolved::Raw(value) => number(value).ok_or_else(|| {
            invalid(
                spec,
                format!("expected a non-negative number, found {}", describe(value)),
            )
        })?,
    };
    let rounded = n.round();
    if rounded < 0.0 || rounded > f64::from(u32::MAX) {
        return Err(DecodeError::OutOfRange {
            field: spec.name.clone(),
            path: spec.path_text.clone(),
            value: fmt_num(n),
            range: format!("range 0..{}", u32::MAX),
        });
    }
    Ok(Some(rounded as u32))
}

fn flag_value(spec: &FieldSpec, root: &Value) -> Result<Option<bool>, DecodeError> {
    match resolve(spec, root)? {
        Resolved::Absent => Ok(None),
        Resolved::Literal(Literal::Flag(b)) => Ok(Some(*b)),
        Resolved::Literal(_) => Err(literal_mismatch(spec)),
        Resolved::Raw(value) => flag(value).map(Some).ok_or_else(|| {
            invalid(
                spec,
                format!(
                    "expected a boolean (true/false, yes/no, sí/no, sim/não, 1/0), found {}",
                    describe(value)
                ),
            )
        }),
    }
}

/// Booleans as sources write them, in English, Spanish and Portuguese.
fn flag(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => match n.as_f64() {
            Some(1.0) => Some(true),
            Some(0.0) => Some(false),
            _ => None,
        },
        Value::String(s) => match map_key(s).as_str() {
            "true" | "t" | "yes" | "y" | "1" | "sí" | "si" | "s" | "sim" | "verdadero"
            | "verdadeiro" => Some(true),
            "false" | "f" | "no" | "n" | "0" | "não" | "nao" | "falso" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// A score mapped onto its canonical scale. With `from = [a, b]`, `v` becomes
/// `round(lo + (v - a) * (hi - lo) / (b - a))`; without it `v` must already be
/// a whole number on the canonical scale.
fn score_value(spec: &FieldSpec, root: &Value) -> Result<Option<u8>, DecodeError> {
    let ValueType::Score((lo, hi)) = spec.ty else {
        return Err(literal_mismatch(spec));
    };
    let v = match resolve(spec, root)? {
        Resolved::Absent => return Ok(None),
        Resolved::Literal(Literal::Number(n)) => *n,
        Resolved::Literal(_) => return Err(literal_mismatch(spec)),
        Resolved::Raw(value) => number(value).ok_or_else(|| {
            invalid(
                spec,
                format!("expected a number, found {}", describe(value)),
            )
        })?,
    };
    let (min, max) = spec.from.unwrap_or((f64::from(lo), f64::from(hi)));
    if v < min || v > max {
        return Err(DecodeError::OutOfRange {
            field: spec.name.clone(),
            path: spec.path_text.clone(),
            value: fmt_num(v),
            range: format!("declared scale {}..{}", fmt_num(min), fmt_num(max)),
        });
    }
    let canonical = match spec.from {
        Some((a, b)) => (f64::from(lo) + (v - a) * f64::from(hi - lo) / (b - a)).round(),
        None if v.fract() != 0.0 => {
            return Err(invalid(
                spec,
                format!(
                    "{} is not a whole number on the scale {lo}..{hi} (declare `from` to map another scale)",
                    fmt_num(v)
                ),
            ))
        }
        None => v,
    };
    // `canonical` lies in [lo, hi] because `v` lies in [min, max].
    Ok(Some(canonical.clamp(f64::from(lo), f64::from(hi)) as u8))
}

/// Free text. Its content never appears in an error.
fn free_text(spec: &FieldSpec, root: &Value) -> Result<Option<String>, DecodeError> {
    match select(spec, root)? {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(invalid(
            spec,
            format!("expected text, found {}", json_type(other)),
        )),
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A short rendering of a value of a structured field (identifier, time,
/// score, flag, name) for error messages: numbers and booleans as written,
/// short strings quoted, longer strings only by their length, arrays and
/// objects by type. Free-text fields never call this.
fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => {
            let chars = s.chars().count();
            if chars <= MAX_QUOTED_CHARS {
                format!("{s:?}")
            } else {
                format!("a string of {chars} characters")
            }
        }
        Value::Array(_) | Value::Object(_) => json_type(value).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn booleans_are_read_in_three_languages() {
        for yes in [
            json!(true),
            json!(1),
            json!("yes"),
            json!("Sí"),
            json!(" sim "),
            json!("TRUE"),
            json!("1"),
        ] {
            assert_eq!(flag(&yes), Some(true), "{yes}");
        }
        for no in [
            json!(false),
            json!(0),
            json!("no"),
            json!("Não"),
            json!("nao"),
            json!("0"),
        ] {
            assert_eq!(flag(&no), Some(false), "{no}");
        }
        for neither in [json!(2), json!("maybe"), json!([true]), json!(0.5)] {
            assert_eq!(flag(&neither), None, "{neither}");
        }
    }

    #[test]
    fn numbers_may_be_strings_but_must_be_finite() {
        assert_eq!(number(&json!(" 9 ")), Some(9.0));
        assert_eq!(number(&json!(7.5)), Some(7.5));
        assert_eq!(number(&json!("NaN")), None);
        assert_eq!(number(&json!("inf")), None);
        assert_eq!(number(&json!("nueve")), None);
        assert_eq!(number(&json!(true)), None);
    }

    #[test]
    fn map_lookup_keys_ignore_case_and_number_formatting() {
        assert_eq!(value_key(&json!(" WebChat ")), Some("webchat".to_string()));
        assert_eq!(value_key(&json!(3)), Some("3".to_string()));
        assert_eq!(value_key(&json!(3.0)), Some("3".to_string()));
        assert_eq!(value_key(&json!(2.5)), Some("2.5".to_string()));
        assert_eq!(value_key(&json!(false)), Some("false".to_string()));
        assert_eq!(value_key(&json!({"a": 1})), None);
    }

    #[test]
    fn epoch_times_accept_numbers_strings_and_fractions() {
        let at = |format: TimeFormat, v: Value| parse_time(&format, &v).map(|t| t.to_rfc3339());
        assert_eq!(
            at(TimeFormat::UnixSeconds, json!(1763640000)),
            Ok("2025-11-20T12:00:00+00:00".to_string())
        );
        assert_eq!(
            at(TimeFormat::UnixSeconds, json!("1763640000.25")),
            Ok("2025-11-20T12:00:00.250+00:00".to_string())
        );
        assert_eq!(
            at(TimeFormat::UnixMillis, json!(1763640012000_i64)),
            Ok("2025-11-20T12:00:12+00:00".to_string())
        );
        assert!(at(TimeFormat::UnixSeconds, json!(1e300)).is_err());
        assert!(at(TimeFormat::UnixMillis, json!("yesterday")).is_err());
        assert_eq!(
            at(TimeFormat::Rfc3339, json!("2026-11-20T11:03:11-03:00")),
            Ok("2026-11-20T14:03:11+00:00".to_string())
        );
        assert!(at(TimeFormat::Rfc3339, json!(1763640000)).is_err());
    }

    #[test]
    fn only_short_strings_are_quoted() {
        assert_eq!(describe(&json!("fax")), "\"fax\"");
        assert_eq!(
            describe(&json!("2026-11-20 14:03:11")),
            "\"2026-11-20 14:03:11\""
        );
        let long = "me cortaron la llamada tres veces seguidas, ya no sé qué hacer";
        assert_eq!(describe(&json!(long)), "a string of 62 characters");
        assert_eq!(describe(&json!({"k": "secret"})), "an object");
    }
}
