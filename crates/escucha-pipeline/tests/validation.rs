//! Validation of pipeline files: every problem at once, with its key path.

use escucha_pipeline::{load_dir, load_file, load_str, ValidationError};
use std::fs;
use std::path::Path;

/// A minimal valid survey pipeline, with `name`, `group` and topics
/// substituted so several can share a directory.
fn survey_toml(name: &str, group: &str, topic: &str, dead_letter: &str) -> String {
    format!(
        r#"
name = "{name}"
kind = "survey"

[source]
topics = ["{topic}"]
group = "{group}"
dead_letter_topic = "{dead_letter}"

[fields]
id = "$.id"
occurred_at = "$.at"
nps = "$.nps"
"#
    )
}

fn paths(errors: &[ValidationError]) -> Vec<&str> {
    errors.iter().map(|e| e.path.as_str()).collect()
}

/// Asserts that `errors` holds exactly one error at each of `expected`'s
/// paths, each message containing the given fragment, and nothing else.
fn assert_errors(errors: &[ValidationError], expected: &[(&str, &str)]) {
    let listing: Vec<String> = errors.iter().map(ToString::to_string).collect();
    let listing = listing.join("\n");
    for (path, fragment) in expected {
        let matching: Vec<&ValidationError> = errors.iter().filter(|e| e.path == *path).collect();
        assert_eq!(
            matching.len(),
            1,
            "expected one error at `{path}` in:\n{listing}"
        );
        assert!(
            matching[0].message.contains(fragment),
            "error at `{path}` should mention `{fragment}`:\n{listing}"
        );
    }
    assert_eq!(
        errors.len(),
        expected.len(),
        "unexpected errors in:\n{listing}"
    );
}

#[test]
fn a_broken_pipeline_reports_all_its_errors_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("broken.toml");
    fs::write(
        &file,
        r#"
name = "Encuestas NPS"
kind = "survey"
colour = "blue"

[source]
topics = ["escucha.nps", "bad topic!", "escucha.nps"]
group = "escucha-nps"
dead_letter_topic = "escucha.nps"
partitions = 0

[destination]
store = "postgres"

[fields]
occurred_at = { path = "$.submitted_at", time = "iso8601" }
channel = { path = "$.channel", map = { phone = "telephone" } }
nps = { path = "$.nps", from = [10, 0] }
csat = { path = "$.answers[?@.q == 'SAT'.value" }
queue = { path = "$.queue", from = [1, 5] }
wait_seconds = { path = "$.wait", time = "unix_seconds" }
sentiment = "$.sentiment"
product = { path = "$.product", mapping = { a = "b" } }

[[texts]]
path = "comment"
speaker = "client"

[turns]
path = "$.turns"
speaker = "$.who"
text = "$.text"

[classify]
speakers = ["customer", "customer", "robot"]
"#,
    )
    .unwrap();

    let errors = load_file(&file).unwrap_err();
    assert_errors(
        &errors,
        &[
            ("colour", "unknown field `colour`"),
            ("name", "`Encuestas NPS` is not a valid pipeline name"),
            ("source.topics[1]", "`bad topic!` contains ' '"),
            ("source.topics[2]", "already listed as source.topics[0]"),
            (
                "source.dead_letter_topic",
                "must differ from the source topics",
            ),
            ("source.partitions", "0 is not a valid partition count"),
            ("destination.store", "unknown store `postgres`"),
            ("fields.id", "required field missing"),
            ("fields.occurred_at.time", "unknown time format `iso8601`"),
            ("fields.channel.map.phone", "unknown channel `telephone`"),
            (
                "fields.nps.from",
                "minimum (10) must be below its maximum (0)",
            ),
            (
                "fields.csat.path",
                "invalid JSONPath `$.answers[?@.q == 'SAT'.value`",
            ),
            ("fields.queue.from", "`from` applies only to score fields"),
            (
                "fields.wait_seconds.time",
                "`time` applies only to time fields",
            ),
            ("fields.sentiment", "unknown field `sentiment`"),
            ("fields.product.mapping", "unknown field `mapping`"),
            ("texts[0].path", "invalid JSONPath `comment`"),
            ("texts[0].speaker", "unknown speaker `client`"),
            ("turns", "[turns] is only for transcripts"),
            ("classify.speakers[1]", "`customer` is listed twice"),
            ("classify.speakers[2]", "unknown speaker `robot`"),
        ],
    );
    assert!(errors.iter().all(|e| e.file == file));
    let nps = errors.iter().find(|e| e.path == "fields.nps.from").unwrap();
    assert_eq!(
        nps.to_string(),
        format!(
            "{}: fields.nps.from: the scale minimum (10) must be below its maximum (0)",
            file.display()
        )
    );
}

#[test]
fn toml_syntax_errors_give_line_and_column() {
    let errors = load_str(Path::new("p.toml"), "name = \"x\"\nkind = \n").unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].path, "");
    assert!(
        errors[0]
            .message
            .starts_with("invalid TOML at line 2, column 8: "),
        "{}",
        errors[0].message
    );
}

#[test]
fn an_empty_file_lists_every_missing_section() {
    let errors = load_str(Path::new("empty.toml"), "").unwrap_err();
    assert_eq!(paths(&errors), ["name", "kind", "source", "fields"]);
}

#[test]
fn a_section_of_the_wrong_type_is_reported_once() {
    let text = survey_toml("a", "g", "t", "t.dlq").replace("topics = [\"t\"]", "topics = \"t\"");
    let errors = load_str(Path::new("a.toml"), &text).unwrap_err();
    assert_errors(
        &errors,
        &[(
            "source.topics",
            "invalid type: string \"t\", expected a sequence",
        )],
    );
}

#[test]
fn required_source_keys_are_reported_together() {
    let text = r#"
name = "x"
kind = "transcript"
[source]
topics = []
[fields]
id = "$.id"
occurred_at = "$.at"
"#;
    let errors = load_str(Path::new("x.toml"), text).unwrap_err();
    assert_errors(
        &errors,
        &[
            ("source.topics", "at least one"),
            ("source.group", "consumer group"),
            ("source.dead_letter_topic", "cannot be decoded"),
            ("turns", "needs a [turns] table"),
        ],
    );
}

#[test]
fn kind_rules_are_enforced() {
    let base = |kind: &str, extra: &str| {
        format!(
            r#"
name = "x"
kind = "{kind}"
[source]
topics = ["t"]
group = "g"
dead_letter_topic = "t.dlq"
[fields]
id = "$.id"
occurred_at = "$.at"
{extra}
"#
        )
    };
    let survey = load_str(Path::new("s.toml"), &base("survey", "")).unwrap_err();
    assert_errors(&survey, &[("fields", "at least one score field")]);

    let message = load_str(Path::new("m.toml"), &base("message", "")).unwrap_err();
    assert_errors(
        &message,
        &[("texts", "exactly one [[texts]] entry, found 0")],
    );

    let two_texts = "[[texts]]\npath = \"$.a\"\n[[texts]]\npath = \"$.b\"\n";
    let message = load_str(Path::new("m.toml"), &base("message", two_texts)).unwrap_err();
    assert_errors(&message, &[("texts", "found 2")]);
    assert!(load_str(
        Path::new("m.toml"),
        &base("message", "[[texts]]\npath = \"$.body\"\n")
    )
    .is_ok());

    let transcript_with_texts =
        "[[texts]]\npath = \"$.a\"\n[turns]\npath = \"$.t\"\nspeaker = \"$.s\"\ntext = \"$.x\"\n";
    let transcript = load_str(
        Path::new("t.toml"),
        &base("transcript", transcript_with_texts),
    )
    .unwrap_err();
    assert_errors(&transcript, &[("texts", "a transcript reads [turns]")]);

    let unknown = load_str(Path::new("k.toml"), &base("chat", "")).unwrap_err();
    assert_errors(
        &unknown,
        &[(
            "kind",
            "unknown kind `chat`; expected one of: survey, transcript, message",
        )],
    );
}

#[test]
fn turn_sub_fields_are_validated_like_fields() {
    let text = r#"
name = "x"
kind = "transcript"
[source]
topics = ["t"]
group = "g"
dead_letter_topic = "t.dlq"
[fields]
id = "$.id"
occurred_at = "$.at"
[turns]
path = "$.turns[*"
speaker = { path = "$.role", map = { "end-user" = "client" } }
at = { path = "$.ts", time = "%H:%M" }
"#;
    let errors = load_str(Path::new("x.toml"), text).unwrap_err();
    assert_errors(
        &errors,
        &[
            ("turns.path", "invalid JSONPath"),
            ("turns.speaker.map.end-user", "unknown speaker `client`"),
            ("turns.text", "missing"),
            ("turns.at.time", "does not identify a date"),
        ],
    );
}

#[test]
fn a_directory_reports_every_file_and_cross_file_conflicts() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| fs::write(dir.path().join(name), text).unwrap();
    write(
        "a.toml",
        &survey_toml("surveys", "escucha-surveys", "escucha.a", "escucha.a.dlq"),
    );
    // Same name and group as a.toml; its dead letters go to a.toml's topic.
    write(
        "b.toml",
        &survey_toml("surveys", "escucha-surveys", "escucha.b", "escucha.a"),
    );
    write("c.toml", "name = \"c\"\nkind = [\n");
    write(
        "d.toml",
        &survey_toml("d", "escucha-d", "escucha.d", "escucha.d.dlq").replace("$.id", "id"),
    );
    write("README.md", "not a pipeline");
    fs::create_dir(dir.path().join("samples")).unwrap();

    let errors = load_dir(dir.path()).unwrap_err();
    let found: Vec<(String, &str)> = errors
        .iter()
        .map(|e| {
            (
                e.file.file_name().unwrap().to_string_lossy().into_owned(),
                e.path.as_str(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            ("c.toml".to_string(), ""),
            ("d.toml".to_string(), "fields.id.path"),
            ("b.toml".to_string(), "name"),
            ("b.toml".to_string(), "source.group"),
            ("b.toml".to_string(), "source.dead_letter_topic"),
        ]
    );
    assert!(
        errors[2].message.contains("already used by"),
        "{}",
        errors[2]
    );
    assert!(
        errors[4]
            .message
            .contains("source topic of pipeline `surveys`"),
        "{}",
        errors[4]
    );

    fs::remove_file(dir.path().join("b.toml")).unwrap();
    fs::remove_file(dir.path().join("c.toml")).unwrap();
    fs::remove_file(dir.path().join("d.toml")).unwrap();
    let pipelines = load_dir(dir.path()).unwrap();
    assert_eq!(pipelines.len(), 1);
    assert_eq!(
        pipelines[0].source().partitions,
        escucha_pipeline::DEFAULT_PARTITIONS
    );
}

#[test]
fn missing_and_empty_locations_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let errors = load_dir(dir.path()).unwrap_err();
    assert_eq!(errors.len(), 1);
    assert!(errors[0].message.contains("no pipeline files"));

    let gone = dir.path().join("nope");
    assert!(load_dir(&gone).unwrap_err()[0]
        .message
        .starts_with("cannot list pipeline files"));
    let errors = load_file(&gone.join("x.toml")).unwrap_err();
    assert!(errors[0].message.starts_with("cannot read the file"));
    assert_eq!(errors[0].file, gone.join("x.toml"));
}
