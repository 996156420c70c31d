//! Reading pipeline files and directories.

use crate::error::{Problems, ValidationError};
use crate::pipeline::{build, Pipeline};
use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

/// Loads and validates one pipeline file.
///
/// Returns every problem found in the file at once: TOML syntax errors (with
/// line and column), unknown keys, wrong types, missing keys and invalid
/// values, each with its key path.
pub fn load_file(path: &Path) -> Result<Pipeline, Vec<ValidationError>> {
    let text = fs::read_to_string(path).map_err(|e| {
        vec![ValidationError::new(
            path,
            "",
            format!("cannot read the file: {e}"),
        )]
    })?;
    load_str(path, &text)
}

/// Validates pipeline TOML held in memory; `file` names it in errors and in
/// [`Pipeline::file`].
pub fn load_str(file: &Path, text: &str) -> Result<Pipeline, Vec<ValidationError>> {
    let doc: toml::Table = toml::from_str(text).map_err(|e| {
        let message = match e.span() {
            Some(span) => {
                let (line, column) = line_column(text, span.start);
                format!(
                    "invalid TOML at line {line}, column {column}: {}",
                    e.message().trim()
                )
            }
            None => format!("invalid TOML: {}", e.message().trim()),
        };
        vec![ValidationError::new(file, "", message)]
    })?;
    let mut problems = Problems::default();
    match build(file, &doc, &mut problems) {
        Some(pipeline) if problems.is_empty() => Ok(pipeline),
        _ => Err(problems.into_errors(file)),
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..floor_char_boundary(text, offset)];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, column)
}

fn floor_char_boundary(text: &str, offset: usize) -> usize {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// Loads and validates every `*.toml` file of `dir` (not recursively), in
/// file-name order.
///
/// Reports every problem of every file at once, plus the checks that span
/// files: two pipelines with the same name or the same consumer group, and a
/// dead-letter topic that another pipeline consumes. A directory without
/// pipeline files is an error too.
pub fn load_dir(dir: &Path) -> Result<Vec<Pipeline>, Vec<ValidationError>> {
    let files = pipeline_files(dir).map_err(|e| {
        vec![ValidationError::new(
            dir,
            "",
            format!("cannot list pipeline files: {e}"),
        )]
    })?;
    if files.is_empty() {
        return Err(vec![ValidationError::new(
            dir,
            "",
            "no pipeline files (*.toml) in this directory",
        )]);
    }
    let mut pipelines = Vec::new();
    let mut errors = Vec::new();
    for file in &files {
        match load_file(file) {
            Ok(pipeline) => pipelines.push(pipeline),
            Err(mut file_errors) => errors.append(&mut file_errors),
        }
    }
    errors.extend(cross_file_errors(&pipelines));
    if errors.is_empty() {
        Ok(pipelines)
    } else {
        Err(errors)
    }
}

fn pipeline_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        if path.extension().is_some_and(|ext| ext == "toml") && entry.file_type()?.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Conflicts between pipelines, each reported on the later file.
fn cross_file_errors(pipelines: &[Pipeline]) -> Vec<ValidationError> {
    let mut errors = Vec::new();
    let mut names: HashMap<&str, &Pipeline> = HashMap::new();
    let mut groups: HashMap<&str, &Pipeline> = HashMap::new();
    for p in pipelines {
        if let Some(first) = names.insert(p.name(), p) {
            names.insert(first.name(), first);
            errors.push(ValidationError::new(
                p.file(),
                "name",
                format!(
                    "pipeline name `{}` is already used by {}",
                    p.name(),
                    first.file().display()
                ),
            ));
        }
        let group = p.source().group.as_str();
        if let Some(first) = groups.insert(group, p) {
            groups.insert(group, first);
            errors.push(ValidationError::new(
                p.file(),
                "source.group",
                format!(
                    "consumer group `{group}` is already used by pipeline `{}` ({})",
                    first.name(),
                    first.file().display()
                ),
            ));
        }
    }
    for p in pipelines {
        let dlq = &p.source().dead_letter_topic;
        for other in pipelines.iter().filter(|o| !std::ptr::eq(*o, p)) {
            if other.source().topics.contains(dlq) {
                errors.push(ValidationError::new(
                    p.file(),
                    "source.dead_letter_topic",
                    format!(
                        "`{dlq}` is a source topic of pipeline `{}` ({}); dead letters would be consumed again",
                        other.name(),
                        other.file().display()
                    ),
                ));
            }
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_count_characters() {
        let text = "a = 1\nnombre = \"señal\"\n";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 6), (2, 1));
        let after_enye = text.find("al\"").unwrap();
        assert_eq!(line_column(text, after_enye), (2, 14));
        assert_eq!(line_column(text, 1000), (3, 1));
    }
}
