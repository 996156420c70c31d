//! Query-parameter parsing and validation. Every problem is reported at
//! once; unknown parameters are errors so typos do not silently widen a
//! query.

use crate::error::{ApiError, ParamError};
use chrono::{DateTime, NaiveDate, Utc};
use escucha_clickhouse::query::{
    Cursor, Filters, GroupDimension, GroupMetric, ImpactMetric, Interval, LabelKind,
};
use escucha_core::{taxonomy, Channel, InteractionKind, Language};
use std::collections::{BTreeMap, HashSet};

/// The filters every aggregate and list endpoint takes.
pub const FILTER_PARAMS: &[(&str, &str)] = &[
    (
        "from",
        "Start of the period, inclusive: RFC 3339 timestamp or YYYY-MM-DD (UTC).",
    ),
    (
        "to",
        "End of the period, exclusive: RFC 3339 timestamp or YYYY-MM-DD (UTC).",
    ),
    (
        "channel",
        "Comma-separated channels: voice, chat, email, whatsapp, social, web, other.",
    ),
    ("queue", "Comma-separated queue ids."),
    ("team", "Comma-separated team ids."),
    ("agent", "Comma-separated agent ids."),
    ("product", "Comma-separated product ids."),
    ("language", "Comma-separated languages: es, pt, en, other."),
    ("pipeline", "Comma-separated pipeline names."),
    (
        "kind",
        "Comma-separated record kinds: survey, transcript, message.",
    ),
    (
        "emotion",
        "Only interactions carrying any of these emotions (comma-separated ids).",
    ),
    (
        "theme",
        "Only interactions carrying any of these themes (comma-separated ids).",
    ),
];

/// Collected problems of one request.
#[derive(Default)]
pub struct Problems(Vec<ParamError>);

impl Problems {
    pub fn add(&mut self, param: &str, message: impl Into<String>) {
        self.0.push(ParamError {
            param: param.into(),
            message: message.into(),
        });
    }

    pub fn finish(self) -> Result<(), ApiError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ApiError::BadRequest(self.0))
        }
    }
}

/// Raw query parameters of a request.
pub struct Params {
    values: BTreeMap<String, String>,
}

const MAX_VALUE_LEN: usize = 200;
const MAX_LIST: usize = 50;

impl Params {
    pub fn new(values: Vec<(String, String)>, problems: &mut Problems) -> Params {
        let mut map = BTreeMap::new();
        for (k, v) in values {
            if map.contains_key(&k) {
                problems.add(&k, "given more than once; use a comma-separated list");
            }
            map.insert(k, v);
        }
        Params { values: map }
    }

    /// Reports parameters this endpoint does not take.
    pub fn reject_unknown(&self, allowed: &[&str], problems: &mut Problems) {
        let allowed: HashSet<&str> = allowed
            .iter()
            .copied()
            .chain(FILTER_PARAMS.iter().map(|(n, _)| *n))
            .collect();
        for k in self.values.keys() {
            if !allowed.contains(k.as_str()) {
                let mut names: Vec<&str> = allowed.iter().copied().collect();
                names.sort_unstable();
                problems.add(
                    k,
                    format!(
                        "unknown parameter; this endpoint takes: {}",
                        names.join(", ")
                    ),
                );
            }
        }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.values
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    fn list(
        &self,
        name: &str,
        problems: &mut Problems,
        check: impl Fn(&str) -> Result<String, String>,
    ) -> Vec<String> {
        let Some(raw) = self.get(name) else {
            return Vec::new();
        };
        let items: Vec<&str> = raw
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        if items.len() > MAX_LIST {
            problems.add(name, format!("at most {MAX_LIST} values"));
            return Vec::new();
        }
        let mut out = Vec::new();
        for item in items {
            match check(item) {
                Ok(v) => out.push(v),
                Err(e) => problems.add(name, e),
            }
        }
        out
    }

    /// Parses and validates the shared filters.
    pub fn filters(&self, custom_themes: &[String], problems: &mut Problems) -> Filters {
        let free = |v: &str| -> Result<String, String> {
            if v.chars().count() > MAX_VALUE_LEN {
                Err(format!("values are at most {MAX_VALUE_LEN} characters"))
            } else if v.chars().any(char::is_control) {
                Err("values must not contain control characters".into())
            } else {
                Ok(v.to_string())
            }
        };
        let f = Filters {
            from: self.time("from", problems),
            to: self.time("to", problems),
            channel: self.list("channel", problems, |v| {
                v.parse::<Channel>()
                    .map(|c| c.as_str().to_string())
                    .map_err(|e| e.to_string())
            }),
            queue: self.list("queue", problems, free),
            team: self.list("team", problems, free),
            agent: self.list("agent", problems, free),
            product: self.list("product", problems, free),
            language: self.list("language", problems, |v| {
                v.parse::<Language>()
                    .map(|l| l.as_str().to_string())
                    .map_err(|e| e.to_string())
            }),
            pipeline: self.list("pipeline", problems, free),
            kind: self.list("kind", problems, |v| {
                v.parse::<InteractionKind>()
                    .map(|k| k.as_str().to_string())
                    .map_err(|e| e.to_string())
            }),
            emotion: self.list("emotion", problems, |v| {
                if taxonomy::is_emotion(v) {
                    Ok(v.to_string())
                } else {
                    Err(format!(
                        "unknown emotion `{v}`; expected one of: {}",
                        taxonomy::EMOTIONS.join(", ")
                    ))
                }
            }),
            theme: self.list("theme", problems, |v| {
                if taxonomy::is_builtin_theme(v) || custom_themes.iter().any(|t| t == v) {
                    Ok(v.to_string())
                } else {
                    Err(format!(
                        "unknown theme `{v}`; expected one of: {}",
                        taxonomy::THEMES.join(", ")
                    ))
                }
            }),
        };
        if let (Some(from), Some(to)) = (f.from, f.to) {
            if from >= to {
                problems.add("to", "must be after `from`");
            }
        }
        f
    }

    fn time(&self, name: &str, problems: &mut Problems) -> Option<DateTime<Utc>> {
        let raw = self.get(name)?;
        if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
            return Some(t.with_timezone(&Utc));
        }
        if let Ok(d) = NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
            return d.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
        }
        problems.add(
            name,
            format!("`{raw}` is not an RFC 3339 timestamp or a YYYY-MM-DD date"),
        );
        None
    }

    pub fn label_kind(&self, problems: &mut Problems) -> LabelKind {
        match self.get("labels") {
            None | Some("emotion") | Some("emotions") => LabelKind::Emotion,
            Some("theme") | Some("themes") => LabelKind::Theme,
            Some(other) => {
                problems.add("labels", format!("`{other}` is not one of: emotion, theme"));
                LabelKind::Emotion
            }
        }
    }

    pub fn interval(&self, problems: &mut Problems) -> Interval {
        match self.get("interval") {
            None | Some("day") => Interval::Day,
            Some("hour") => Interval::Hour,
            Some("week") => Interval::Week,
            Some("month") => Interval::Month,
            Some(other) => {
                problems.add(
                    "interval",
                    format!("`{other}` is not one of: hour, day, week, month"),
                );
                Interval::Day
            }
        }
    }

    pub fn limit(&self, default: u32, max: u32, problems: &mut Problems) -> u32 {
        match self.get("limit") {
            None => default,
            Some(raw) => match raw.parse::<u32>() {
                Ok(n) if (1..=max).contains(&n) => n,
                _ => {
                    problems.add("limit", format!("must be an integer from 1 to {max}"));
                    default
                }
            },
        }
    }

    /// An integer parameter in `range`, `default` when absent.
    pub fn int(
        &self,
        name: &str,
        default: u32,
        range: std::ops::RangeInclusive<u32>,
        problems: &mut Problems,
    ) -> u32 {
        match self.get(name) {
            None => default,
            Some(raw) => match raw.parse::<u32>() {
                Ok(n) if range.contains(&n) => n,
                _ => {
                    problems.add(
                        name,
                        format!(
                            "must be an integer from {} to {}",
                            range.start(),
                            range.end()
                        ),
                    );
                    default
                }
            },
        }
    }

    /// One of `choices` (the first is the default).
    pub fn choice<'a>(&self, name: &str, choices: &[&'a str], problems: &mut Problems) -> &'a str {
        match self.get(name) {
            None => choices[0],
            Some(raw) => match choices.iter().find(|c| **c == raw) {
                Some(c) => c,
                None => {
                    problems.add(
                        name,
                        format!("`{raw}` is not one of: {}", choices.join(", ")),
                    );
                    choices[0]
                }
            },
        }
    }

    /// `format=json|csv`: whether CSV is asked for.
    pub fn csv(&self, problems: &mut Problems) -> bool {
        self.choice("format", &["json", "csv"], problems) == "csv"
    }

    pub fn impact_metric(&self, problems: &mut Problems) -> ImpactMetric {
        match self.choice("metric", &["nps", "csat"], problems) {
            "csat" => ImpactMetric::Csat,
            _ => ImpactMetric::Nps,
        }
    }

    /// `by=theme|emotion` (default theme).
    pub fn impact_by(&self, problems: &mut Problems) -> LabelKind {
        match self.choice("by", &["theme", "emotion"], problems) {
            "emotion" => LabelKind::Emotion,
            _ => LabelKind::Theme,
        }
    }

    /// `dimensions` of the grouped query: required, known, distinct, at most 4.
    pub fn dimensions(&self, problems: &mut Problems) -> Vec<GroupDimension> {
        let names: Vec<&str> = GroupDimension::ALL.iter().map(|d| d.name()).collect();
        let Some(raw) = self.get("dimensions") else {
            problems.add(
                "dimensions",
                format!("required: one to four of {}", names.join(", ")),
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in raw.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match GroupDimension::parse(item) {
                Some(d) if out.contains(&d) => {
                    problems.add("dimensions", format!("`{item}` is given twice"))
                }
                Some(d) => out.push(d),
                None => problems.add(
                    "dimensions",
                    format!(
                        "unknown dimension `{item}`; expected one of: {}",
                        names.join(", ")
                    ),
                ),
            }
        }
        if out.len() > 4 {
            problems.add("dimensions", "at most 4 dimensions");
        }
        out
    }

    /// `metrics` of the grouped query (default `interactions`).
    pub fn metrics(&self, problems: &mut Problems) -> Vec<GroupMetric> {
        let names: Vec<&str> = GroupMetric::ALL.iter().map(|m| m.name()).collect();
        let Some(raw) = self.get("metrics") else {
            return vec![GroupMetric::Interactions];
        };
        let mut out = Vec::new();
        for item in raw.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match GroupMetric::parse(item) {
                Some(m) if out.contains(&m) => {
                    problems.add("metrics", format!("`{item}` is given twice"))
                }
                Some(m) => out.push(m),
                None => problems.add(
                    "metrics",
                    format!(
                        "unknown metric `{item}`; expected one of: {}",
                        names.join(", ")
                    ),
                ),
            }
        }
        if out.is_empty() {
            problems.add("metrics", format!("at least one of: {}", names.join(", ")));
        }
        out
    }

    pub fn cursor(&self, problems: &mut Problems) -> Option<Cursor> {
        let raw = self.get("cursor")?;
        match decode_cursor(raw) {
            Some(c) => Some(c),
            None => {
                problems.add("cursor", "not a cursor returned by this endpoint");
                None
            }
        }
    }
}

/// Opaque cursor: URL-safe base64 of the cursor's JSON.
pub fn encode_cursor(c: &Cursor) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(serde_json::to_vec(c).unwrap_or_default())
}

fn decode_cursor(raw: &str) -> Option<Cursor> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(raw)
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

impl Params {
    /// For endpoints that take no parameter at all.
    pub fn reject_unknown_only(&self, problems: &mut Problems) {
        for k in self.values.keys() {
            problems.add(k, "unknown parameter; this endpoint takes none");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(q: &[(&str, &str)], allowed: &[&str]) -> Result<Filters, ApiError> {
        let mut p = Problems::default();
        let params = Params::new(
            q.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            &mut p,
        );
        params.reject_unknown(allowed, &mut p);
        let f = params.filters(&[], &mut p);
        p.finish().map(|_| f)
    }

    #[test]
    fn valid_filters_are_normalised() {
        let f = parse(
            &[
                ("channel", "Chat, voice"),
                ("from", "2026-01-01"),
                ("to", "2026-02-01T00:00:00Z"),
                ("emotion", "relief"),
            ],
            &[],
        )
        .unwrap();
        assert_eq!(f.channel, vec!["chat", "voice"]);
        assert_eq!(f.from.unwrap().to_rfc3339(), "2026-01-01T00:00:00+00:00");
        assert_eq!(f.emotion, vec!["relief"]);
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let Err(ApiError::BadRequest(errors)) = parse(
            &[
                ("channel", "fax"),
                ("from", "yesterday"),
                ("emotion", "joy"),
                ("chanel", "chat"),
                ("language", "fr"),
            ],
            &[],
        ) else {
            panic!("expected a bad request");
        };
        let params: Vec<&str> = errors.iter().map(|e| e.param.as_str()).collect();
        assert_eq!(
            params,
            vec!["chanel", "from", "channel", "language", "emotion"]
        );
        assert!(errors[2].message.contains("unknown channel `fax`"));
    }

    #[test]
    fn grouped_query_parameters_report_every_problem() {
        let mut p = Problems::default();
        let params = Params::new(
            vec![
                ("dimensions".into(), "theme,fax,theme".into()),
                ("metrics".into(), "nps,joy".into()),
                ("format".into(), "xml".into()),
            ],
            &mut p,
        );
        assert_eq!(params.dimensions(&mut p), vec![GroupDimension::Theme]);
        assert_eq!(params.metrics(&mut p), vec![GroupMetric::Nps]);
        assert!(!params.csv(&mut p));
        let Err(ApiError::BadRequest(errors)) = p.finish() else {
            panic!("expected a bad request");
        };
        let params: Vec<&str> = errors.iter().map(|e| e.param.as_str()).collect();
        assert_eq!(
            params,
            vec!["dimensions", "dimensions", "metrics", "format"]
        );
        assert!(errors[0].message.contains("unknown dimension `fax`"));
        assert!(errors[1].message.contains("twice"));

        let mut p = Problems::default();
        let params = Params::new(vec![], &mut p);
        assert!(params.dimensions(&mut p).is_empty());
        assert_eq!(params.metrics(&mut p), vec![GroupMetric::Interactions]);
        assert!(p.finish().is_err(), "dimensions are required");
    }

    #[test]
    fn reversed_period_is_rejected() {
        assert!(parse(&[("from", "2026-02-01"), ("to", "2026-01-01")], &[]).is_err());
    }

    #[test]
    fn cursor_round_trips_and_garbage_is_rejected() {
        let c = Cursor {
            occurred_at: 1_700_000_000,
            pipeline: "surveys".into(),
            interaction_id: "a'b".into(),
        };
        assert_eq!(decode_cursor(&encode_cursor(&c)), Some(c));
        assert_eq!(decode_cursor("not-a-cursor"), None);
    }
}
