//! Decoding payloads: leniency, strictness, scale mapping, JSONPath filters
//! and privacy of error messages.

use chrono::{DateTime, Utc};
use escucha_core::{Channel, InteractionKind, Language, Scores, Speaker};
use escucha_pipeline::{load_str, DecodeError, Pipeline};
use serde_json::json;
use std::path::Path;

/// A survey pipeline with the given `[fields]` lines (after `id` and
/// `occurred_at`) and extra sections.
fn survey(fields: &str, extra: &str) -> Pipeline {
    pipeline("survey", fields, extra)
}

fn pipeline(kind: &str, fields: &str, extra: &str) -> Pipeline {
    let text = format!(
        r#"
name = "test"
kind = "{kind}"
[source]
topics = ["in"]
group = "g"
dead_letter_topic = "in.dlq"
[fields]
id = "$.id"
occurred_at = {{ path = "$.at", time = "rfc3339" }}
{fields}
{extra}
"#
    );
    load_str(Path::new("test.toml"), &text).unwrap_or_else(|errors| {
        let listing: Vec<String> = errors.iter().map(ToString::to_string).collect();
        panic!("{}", listing.join("\n"))
    })
}

fn decode(
    p: &Pipeline,
    payload: serde_json::Value,
) -> Result<escucha_core::Interaction, DecodeError> {
    p.decode(payload.to_string().as_bytes())
}

const AT: &str = "2026-11-20T14:03:11Z";

fn at() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(AT).unwrap().to_utc()
}

#[test]
fn filters_select_nested_answers() {
    let p = survey(
        r#"
nps = "$.survey.answers[?@.question.id == 'LTR'].answer.value"
csat = { path = "$.survey.answers[?@.question.id == 'SAT' && @.answer.scale == '0-10'].answer.value", from = [0, 10] }
ces = { path = "$.survey.answers[?@.question.id == 'EFFORT'].answer.label", map = { "very easy" = 7, "easy" = 6, "neutral" = 4, "hard" = 2, "very hard" = 1 } }
"#,
        "",
    );
    let payload = json!({
        "id": "r1", "at": AT,
        "survey": {"answers": [
            {"question": {"id": "SAT"}, "answer": {"scale": "1-5", "value": 2}},
            {"question": {"id": "SAT"}, "answer": {"scale": "0-10", "value": 7}},
            {"question": {"id": "LTR"}, "answer": {"value": 10}},
            {"question": {"id": "EFFORT"}, "answer": {"label": "Very Easy"}}
        ]}
    });
    let i = decode(&p, payload).unwrap();
    // 7 on 0..10 -> round(1 + 7 * 4 / 10) = round(3.8) = 4.
    assert_eq!(
        i.scores,
        Scores {
            nps: Some(10),
            csat: Some(4),
            ces: Some(7)
        }
    );
}

#[test]
fn a_path_that_selects_several_values_is_an_error() {
    let p = survey(r#"nps = "$.answers[?@.type == 'rating'].value""#, "");
    let err = decode(
        &p,
        json!({"id": "r1", "at": AT, "answers": [
            {"type": "rating", "value": 3}, {"type": "rating", "value": 5}
        ]}),
    )
    .unwrap_err();
    assert_eq!(err.kind(), "ambiguous_path");
    assert_eq!(
        err.to_string(),
        r#"field "nps" ($.answers[?@.type == 'rating'].value): the path selects 2 values; it must select at most one"#
    );
}

#[test]
fn declared_scales_map_linearly_and_round() {
    let p = survey(
        r#"
csat = { path = "$.sat", from = [1, 10] }
ces = { path = "$.effort", from = [1, 5] }
nps = { path = "$.ltr", from = [0, 100] }
"#,
        "",
    );
    for v in 1..=10 {
        // round(lo + (v - a) * (hi - lo) / (b - a)) with CSAT 1..5 from 1..10.
        let expected = (1.0 + f64::from(v - 1) * 4.0 / 9.0).round() as u8;
        let i = decode(&p, json!({"id": "r", "at": AT, "sat": v})).unwrap();
        assert_eq!(i.scores.csat, Some(expected), "Q_SAT {v}");
    }
    let effort: Vec<Option<u8>> = (1..=5)
        .map(|v| {
            decode(&p, json!({"id": "r", "at": AT, "effort": v}))
                .unwrap()
                .scores
                .ces
        })
        .collect();
    // 1 + (v - 1) * 6 / 4 = 1, 2.5, 4, 5.5, 7; halves round away from zero.
    assert_eq!(effort, [Some(1), Some(3), Some(4), Some(6), Some(7)]);
    let i = decode(&p, json!({"id": "r", "at": AT, "ltr": "85"})).unwrap();
    assert_eq!(i.scores.nps, Some(9));
    let i = decode(&p, json!({"id": "r", "at": AT, "sat": 7.5})).unwrap();
    assert_eq!(i.scores.csat, Some(4));

    let err = decode(&p, json!({"id": "r", "at": AT, "effort": 0})).unwrap_err();
    assert_eq!(err.kind(), "out_of_range");
    assert_eq!(
        err.to_string(),
        r#"field "ces" ($.effort): 0 is outside the declared scale 1..5"#
    );
}

#[test]
fn canonical_scores_must_be_whole_and_in_range() {
    let p = survey(r#"nps = "$.nps""#, "");
    assert_eq!(
        decode(&p, json!({"id": "r", "at": AT, "nps": "9"}))
            .unwrap()
            .scores
            .nps,
        Some(9)
    );
    let err = decode(&p, json!({"id": "r", "at": AT, "nps": 14})).unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"field "nps" ($.nps): 14 is outside the declared scale 0..10"#
    );
    let err = decode(&p, json!({"id": "r", "at": AT, "nps": -1})).unwrap_err();
    assert_eq!(err.kind(), "out_of_range");
    let err = decode(&p, json!({"id": "r", "at": AT, "nps": 8.5})).unwrap_err();
    assert_eq!(err.kind(), "invalid_value");
    let err = decode(&p, json!({"id": "r", "at": AT, "nps": "nueve"})).unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"field "nps" ($.nps): expected a number, found "nueve""#
    );
    for absent in [json!(null), json!(""), json!("  ")] {
        let i = decode(&p, json!({"id": "r", "at": AT, "nps": absent})).unwrap();
        assert_eq!(i.scores.nps, None);
    }
}

#[test]
fn messy_values_are_read_leniently() {
    let p = survey(
        r#"
nps = "$.nps"
customer_id = "$.customer"
queue = "$.queue"
team = "$.team"
wait_seconds = "$.wait"
handle_seconds = "$.handle"
transfers = "$.transfers"
bot_involved = "$.bot"
escalated = "$.escalated"
resolved = "$.resolved"
language = "$.lang"
"#,
        "",
    );
    let i = decode(
        &p,
        json!({
            "id": 123456, "at": " 2026-11-20T14:03:11Z ", "nps": "10", "customer": 10023,
            "queue": " billing ", "team": "", "wait": "61.6", "handle": 90.2, "transfers": "2",
            "bot": "Sí", "escalated": 0, "resolved": "sim", "lang": "pt_BR"
        }),
    )
    .unwrap();
    assert_eq!(i.id, "123456");
    assert_eq!(i.occurred_at, at());
    assert_eq!(i.customer_id.as_deref(), Some("10023"));
    assert_eq!(i.ops.queue.as_deref(), Some("billing"));
    assert_eq!(i.ops.team, None);
    assert_eq!(
        (i.ops.wait_seconds, i.ops.handle_seconds, i.ops.transfers),
        (Some(62), Some(90), Some(2))
    );
    assert_eq!(
        (i.ops.bot_involved, i.ops.escalated, i.ops.resolved),
        (Some(true), Some(false), Some(true))
    );
    assert_eq!(i.language, Some(Language::Pt));
    assert_eq!(i.channel, Channel::Other, "no channel field declared");

    let err = decode(&p, json!({"id": "r", "at": AT, "wait": -5})).unwrap_err();
    assert_eq!(err.kind(), "out_of_range");
    assert_eq!(
        err.to_string(),
        r#"field "wait_seconds" ($.wait): -5 is outside the range 0..4294967295"#
    );
    let err = decode(&p, json!({"id": "r", "at": AT, "resolved": "maybe"})).unwrap_err();
    assert_eq!(err.kind(), "invalid_value");
    assert_eq!(err.field(), Some("resolved"));
}

#[test]
fn required_fields_must_be_present() {
    let p = survey(r#"nps = "$.nps""#, "");
    for payload in [
        json!({"at": AT}),
        json!({"id": null, "at": AT}),
        json!({"id": " ", "at": AT}),
    ] {
        let err = decode(&p, payload).unwrap_err();
        assert_eq!(err.kind(), "missing_field");
        assert_eq!(
            err.to_string(),
            r#"field "id" ($.id): required but missing"#
        );
    }
    let err = decode(&p, json!({"id": "r"})).unwrap_err();
    assert_eq!(err.field(), Some("occurred_at"));
    let err = decode(&p, json!({"id": {"a": 1}, "at": AT})).unwrap_err();
    assert_eq!(err.kind(), "invalid_value");
}

#[test]
fn times_must_parse_in_their_declared_format() {
    let p = survey(
        r#"
nps = "$.nps"
ended_at = { path = "$.end", time = "%d/%m/%Y %H:%M" }
"#,
        "",
    );
    let err = decode(&p, json!({"id": "r", "at": "20/11/2026 14:03"})).unwrap_err();
    assert_eq!(err.kind(), "invalid_value");
    assert!(
        err.to_string().starts_with(
            r#"field "occurred_at" ($.at): "20/11/2026 14:03" is not an RFC 3339 timestamp"#
        ),
        "{err}"
    );
    let i = decode(&p, json!({"id": "r", "at": AT, "end": "20/11/2026 14:30"})).unwrap();
    assert_eq!(
        i.ended_at.unwrap().to_rfc3339(),
        "2026-11-20T14:30:00+00:00"
    );
    let err = decode(&p, json!({"id": "r", "at": AT, "end": "20/11/2026 13:00"})).unwrap_err();
    assert_eq!(err.field(), Some("ended_at"));
    assert!(err.to_string().contains("is before occurred_at"), "{err}");
    let err = decode(&p, json!({"id": "r", "at": AT, "end": 1795176000})).unwrap_err();
    assert_eq!(err.kind(), "invalid_value");
}

#[test]
fn channels_use_the_map_then_the_name_then_the_default() {
    let mapped = survey(
        r#"
nps = "$.nps"
channel = { path = "$.ch", map = { phone = "voice", "web chat" = "chat" }, default = "other" }
"#,
        "",
    );
    let channel = |p: &Pipeline, v: serde_json::Value| {
        decode(p, json!({"id": "r", "at": AT, "ch": v})).map(|i| i.channel)
    };
    assert_eq!(channel(&mapped, json!("PHONE")), Ok(Channel::Voice));
    assert_eq!(channel(&mapped, json!("Web Chat")), Ok(Channel::Chat));
    assert_eq!(channel(&mapped, json!("whatsapp")), Ok(Channel::Whatsapp));
    assert_eq!(channel(&mapped, json!("fax")), Ok(Channel::Other));
    assert_eq!(channel(&mapped, json!(null)), Ok(Channel::Other));

    let strict = survey("nps = \"$.nps\"\nchannel = \"$.ch\"", "");
    let err = channel(&strict, json!("fax")).unwrap_err();
    assert_eq!(err.kind(), "invalid_value");
    assert_eq!(
        err.to_string(),
        r#"field "channel" ($.ch): unknown channel "fax"; expected one of: voice, chat, email, whatsapp, social, web, other, or an entry in the pipeline's `map`"#
    );
    assert_eq!(
        channel(&strict, json!(null)).unwrap_err().kind(),
        "missing_field"
    );
}

#[test]
fn survey_texts_become_turns_in_order() {
    let p = survey(
        "",
        r#"
[[texts]]
path = "$.comment"
[[texts]]
path = "$.followup.agent_note"
speaker = "agent"
[[texts]]
path = "$.improve"
"#,
    );
    let i = decode(
        &p,
        json!({"id": "r", "at": AT, "comment": "Me atendieron genial.", "improve": "Nada, todo bien", "followup": {}}),
    )
    .unwrap();
    let texts: Vec<(Speaker, &str)> = i
        .turns
        .iter()
        .map(|t| (t.speaker, t.text.as_str()))
        .collect();
    assert_eq!(
        texts,
        [
            (Speaker::Customer, "Me atendieron genial."),
            (Speaker::Customer, "Nada, todo bien")
        ]
    );
    assert!(i.turns.iter().all(|t| t.at.is_none()));
    assert!(i.scores.is_empty());
}

#[test]
fn a_message_pipeline_needs_its_text() {
    let p = pipeline(
        "message",
        "channel = \"$.channel\"",
        "[[texts]]\npath = \"$.body\"\n",
    );
    let i = decode(
        &p,
        json!({"id": "m1", "at": AT, "channel": "email", "body": "Hello, my order never arrived."}),
    )
    .unwrap();
    assert_eq!(i.kind, InteractionKind::Message);
    assert_eq!(i.turns.len(), 1);
    assert_eq!(i.turns[0].speaker, Speaker::Customer);
    let err = decode(
        &p,
        json!({"id": "m2", "at": AT, "channel": "email", "body": ""}),
    )
    .unwrap_err();
    assert_eq!(err.kind(), "missing_field");
    assert_eq!(
        err.to_string(),
        r#"field "texts[0]" ($.body): required but missing"#
    );
}

fn transcript() -> Pipeline {
    pipeline(
        "transcript",
        "channel = \"$.channel\"",
        r#"
[turns]
path = "$.conversation.parts"
speaker = { path = "$.from.type", map = { user = "customer", lead = "customer", admin = "agent", operator = "bot" } }
text = "$.content"
at = { path = "$.ts", time = "unix_millis" }
"#,
    )
}

#[test]
fn transcript_turns_map_speakers_and_name_the_failing_element() {
    let p = transcript();
    let i = decode(
        &p,
        json!({"id": "c1", "at": AT, "channel": "chat", "conversation": {"parts": [
            {"from": {"type": "operator"}, "content": "Hi! How can I help?", "ts": 1795176000000_i64},
            {"from": {"type": "user"}, "content": "Mi pedido no llegó", "ts": "1795176005000"},
            {"from": {"type": "admin"}, "content": null, "ts": 1795176006000_i64},
            {"from": {"type": "admin"}, "content": "Lo reviso ahora mismo."}
        ]}}),
    )
    .unwrap();
    let got: Vec<(Speaker, &str, Option<i64>)> = i
        .turns
        .iter()
        .map(|t| {
            (
                t.speaker,
                t.text.as_str(),
                t.at.map(|a| a.timestamp_millis()),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (Speaker::Bot, "Hi! How can I help?", Some(1795176000000)),
            (Speaker::Customer, "Mi pedido no llegó", Some(1795176005000)),
            (Speaker::Agent, "Lo reviso ahora mismo.", None),
        ]
    );

    let err = decode(
        &p,
        json!({"id": "c2", "at": AT, "channel": "chat", "conversation": {"parts": [
            {"from": {"type": "user"}, "content": "Hola"},
            {"from": {"type": "supervisor"}, "content": "Buenas"}
        ]}}),
    )
    .unwrap_err();
    assert_eq!(err.kind(), "invalid_value");
    assert_eq!(err.field(), Some("turns[1].speaker"));
    assert!(
        err.to_string()
            .starts_with(r#"field "turns[1].speaker" ($.from.type): unknown speaker "supervisor""#),
        "{err}"
    );

    let err = decode(
        &p,
        json!({"id": "c3", "at": AT, "channel": "chat", "conversation": {"parts": [{"content": "Hola"}]}}),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"field "turns[0].speaker" ($.from.type): required but missing"#
    );
}

#[test]
fn transcripts_without_turns_are_rejected() {
    let p = transcript();
    for parts in [
        json!(null),
        json!([]),
        json!([{"from": {"type": "user"}, "content": " "}]),
    ] {
        let err = decode(
            &p,
            json!({"id": "c", "at": AT, "channel": "chat", "conversation": {"parts": parts}}),
        )
        .unwrap_err();
        assert_eq!(err.kind(), "no_turns", "{parts}");
    }
    let err = decode(&p, json!({"id": "c", "at": AT, "channel": "chat"})).unwrap_err();
    assert_eq!(err.kind(), "no_turns");
    let err = decode(
        &p,
        json!({"id": "c", "at": AT, "channel": "chat", "conversation": {"parts": {"a": 1}}}),
    )
    .unwrap_err();
    assert_eq!(err.kind(), "invalid_value");
}

#[test]
fn payloads_must_be_json_objects() {
    let p = survey(r#"nps = "$.nps""#, "");
    let err = p
        .decode(b"{\"id\": \"r\", \"comment\": \"secreto")
        .unwrap_err();
    assert_eq!(err.kind(), "invalid_json");
    assert!(!err.to_string().contains("secreto"), "{err}");
    assert_eq!(
        p.decode(b"[1, 2]").unwrap_err().to_string(),
        "payload is not a JSON object: found an array"
    );
    assert_eq!(p.decode(&[0xff, 0xfe]).unwrap_err().kind(), "invalid_json");
}

#[test]
fn errors_never_quote_free_text() {
    let secret = "Mi DNI es 12345678Z y vivo en la calle Mayor 5";
    let texts = survey("", "[[texts]]\npath = \"$.comment\"\n");
    let err = decode(
        &texts,
        json!({"id": "r", "at": AT, "comment": {"text": secret}}),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"field "texts[0]" ($.comment): expected text, found an object"#
    );

    let p = transcript();
    let err = decode(
        &p,
        json!({"id": "c", "at": AT, "channel": "chat", "conversation": {"parts": [
            {"from": {"type": "user"}, "content": [secret]}
        ]}}),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"field "turns[0].text" ($.content): expected text, found an array"#
    );

    // A structured field pointed at free text by mistake quotes no long value.
    let misconfigured = survey("nps = \"$.nps\"\nended_at = \"$.comment\"", "");
    let err = decode(
        &misconfigured,
        json!({"id": "r", "at": AT, "comment": secret}),
    )
    .unwrap_err();
    assert!(!err.to_string().contains("12345678Z"), "{err}");
    assert!(
        err.to_string().contains("a string of 46 characters"),
        "{err}"
    );
}

#[test]
fn pipelines_can_be_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Pipeline>();
    assert_send_sync::<DecodeError>();
}
