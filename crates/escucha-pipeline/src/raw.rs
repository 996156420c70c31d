//! The file as written: serde types that mirror the TOML layout.
//!
//! Every key is optional at this level so that a missing key is reported by
//! validation together with every other problem, instead of stopping the
//! parse. Each section is parsed on its own, and a section that fails to
//! parse is parsed again key by key, so one bad key never hides problems in
//! other keys.

use crate::error::Problems;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use toml::{Table, Value};

/// The top level of a pipeline file. Sections stay raw tables here and are
/// parsed into their own types by [`parse_table`].
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPipeline {
    pub name: Option<String>,
    pub description: Option<String>,
    pub kind: Option<String>,
    pub source: Option<Table>,
    pub destination: Option<Table>,
    pub fields: Option<Table>,
    pub texts: Option<Vec<Table>>,
    pub turns: Option<Table>,
    pub classify: Option<Table>,
}

/// `[source]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSource {
    pub topics: Option<Vec<String>>,
    pub group: Option<String>,
    pub format: Option<String>,
    pub dead_letter_topic: Option<String>,
    pub partitions: Option<i64>,
}

/// `[destination]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDestination {
    pub store: Option<String>,
}

/// A field written as a table, in `[fields]` or `[turns]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawField {
    pub path: Option<String>,
    pub default: Option<Value>,
    pub map: Option<Table>,
    pub time: Option<String>,
    pub from: Option<Vec<f64>>,
}

/// One `[[texts]]` entry.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawText {
    pub path: Option<String>,
    pub speaker: Option<String>,
}

/// `[turns]`. The sub-fields are strings or tables, parsed like `[fields]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTurns {
    pub path: Option<String>,
    pub speaker: Option<Value>,
    pub text: Option<Value>,
    pub at: Option<Value>,
}

/// `[classify]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawClassify {
    pub speakers: Option<Vec<String>>,
}

/// Joins a key path and a key, quoting keys that are not bare TOML keys:
/// `join("fields.ces.map", "very easy")` is `fields.ces.map."very easy"`.
pub(crate) fn join(base: &str, key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let key = if bare {
        key.to_string()
    } else {
        format!("{key:?}")
    };
    if base.is_empty() {
        key
    } else {
        format!("{base}.{key}")
    }
}

/// Parses `table` (found at key path `at`) into `T`, recording every key that
/// is unknown or has the wrong type, and returns `T` built from the keys that
/// were fine.
pub(crate) fn parse_table<T>(table: &Table, at: &str, problems: &mut Problems) -> T
where
    T: DeserializeOwned + Default,
{
    if let Ok(parsed) = Value::Table(table.clone()).try_into::<T>() {
        return parsed;
    }
    let mut good = Table::new();
    for (key, value) in table {
        let single: Table = [(key.clone(), value.clone())].into_iter().collect();
        match Value::Table(single).try_into::<T>() {
            Ok(_) => {
                good.insert(key.clone(), value.clone());
            }
            Err(e) => problems.add(join(at, key), e.message().to_string()),
        }
    }
    Value::Table(good).try_into::<T>().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_quotes_keys_that_are_not_bare() {
        assert_eq!(join("", "name"), "name");
        assert_eq!(
            join("fields.channel.map", "end-user"),
            "fields.channel.map.end-user"
        );
        assert_eq!(
            join("fields.ces.map", "very easy"),
            "fields.ces.map.\"very easy\""
        );
    }

    #[test]
    fn every_bad_key_of_a_section_is_reported_and_good_keys_survive() {
        let table: Table = toml::from_str(
            r#"
            topic = ["typo"]
            group = 7
            format = "json"
            partitions = "three"
            "#,
        )
        .unwrap();
        let mut problems = Problems::default();
        let raw: RawSource = parse_table(&table, "source", &mut problems);
        assert_eq!(raw.format.as_deref(), Some("json"));
        assert!(raw.group.is_none() && raw.partitions.is_none());
        let errors = problems.into_errors(std::path::Path::new("x.toml"));
        let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["source.group", "source.partitions", "source.topic"]);
        assert!(
            errors[2].message.contains("unknown field `topic`"),
            "{}",
            errors[2].message
        );
    }
}
