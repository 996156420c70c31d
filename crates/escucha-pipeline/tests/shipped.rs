//! The pipeline files and samples shipped in `pipelines/`.

use chrono::{DateTime, TimeZone, Utc};
use escucha_core::{
    Channel, Interaction, InteractionKind, Language, Operational, Scores, Speaker, Turn,
};
use escucha_pipeline::{load_dir, DecodeError, Format, Pipeline, Store};
use std::path::{Path, PathBuf};

fn pipelines_dir() -> PathBuf {
    Path::new(
        &std::env::var_os("CARGO_MANIFEST_DIR")
            .unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("../../pipelines")
}

fn shipped(name: &str) -> Pipeline {
    load_dir(&pipelines_dir())
        .unwrap_or_else(|errors| panic!("shipped pipelines are invalid: {errors:#?}"))
        .into_iter()
        .find(|p| p.name() == name)
        .unwrap_or_else(|| panic!("no shipped pipeline named {name}"))
}

/// Decodes every line of `pipelines/samples/<name>.jsonl`.
fn decode_samples(name: &str) -> Vec<Result<Interaction, DecodeError>> {
    let pipeline = shipped(name);
    let path = pipelines_dir()
        .join("samples")
        .join(format!("{name}.jsonl"));
    let text = std::fs::read_to_string(&path).unwrap();
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| pipeline.decode(line.as_bytes()))
        .collect()
}

/// The valid lines (all but the last) and the error of the last line, which
/// each sample file makes invalid on purpose.
fn split_samples(name: &str) -> (Vec<Interaction>, DecodeError) {
    let mut results = decode_samples(name);
    let last = results.pop().expect("sample file is empty");
    let valid = results
        .into_iter()
        .enumerate()
        .map(|(i, r)| r.unwrap_or_else(|e| panic!("{name}.jsonl line {}: {e}", i + 1)))
        .collect();
    let error = match last {
        Ok(interaction) => panic!("{name}.jsonl: the last line should fail, got {interaction:?}"),
        Err(e) => e,
    };
    (valid, error)
}

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

fn turn(speaker: Speaker, text: &str, at: Option<&str>) -> Turn {
    Turn {
        speaker,
        text: text.to_string(),
        at: at.map(utc),
    }
}

fn speakers(i: &Interaction) -> Vec<Speaker> {
    i.turns.iter().map(|t| t.speaker).collect()
}

#[test]
fn shipped_directory_validates_with_zero_errors() {
    let pipelines = load_dir(&pipelines_dir()).unwrap_or_else(|errors| {
        let listing: Vec<String> = errors.iter().map(ToString::to_string).collect();
        panic!("{}", listing.join("\n"))
    });
    let names: Vec<&str> = pipelines.iter().map(Pipeline::name).collect();
    assert_eq!(names, ["messaging", "surveys", "surveytool", "transcripts"]);
    for p in &pipelines {
        let src = p.source();
        assert_eq!(src.topics, [format!("escucha.{}", p.name())]);
        assert_eq!(src.group, format!("escucha-{}", p.name()));
        assert_eq!(src.dead_letter_topic, format!("escucha.{}.dlq", p.name()));
        assert_eq!(src.partitions, 3);
        assert_eq!(src.format, Format::Json);
        assert_eq!(p.destination().store, Store::ClickHouse);
        assert_eq!(p.classify().speakers, [Speaker::Customer]);
        assert_eq!(p.file(), pipelines_dir().join(format!("{}.toml", p.name())));
        assert!(p.description().is_some_and(|d| !d.is_empty()));
    }
    let kinds: Vec<InteractionKind> = pipelines.iter().map(Pipeline::kind).collect();
    assert_eq!(
        kinds,
        [
            InteractionKind::Transcript,
            InteractionKind::Survey,
            InteractionKind::Survey,
            InteractionKind::Transcript
        ]
    );
}

#[test]
fn reference_survey_samples_decode() {
    let (valid, error) = split_samples("surveys");
    assert_eq!(valid.len(), 5);

    assert_eq!(
        valid[0],
        Interaction {
            id: "srv-000123".into(),
            kind: InteractionKind::Survey,
            channel: Channel::Chat,
            occurred_at: utc("2026-11-20T14:03:11Z"),
            ended_at: None,
            customer_id: Some("C-10023".into()),
            related_id: Some("conv-88812".into()),
            language: Some(Language::Es),
            scores: Scores {
                nps: Some(3),
                csat: Some(2),
                ces: Some(3)
            },
            ops: Operational {
                queue: Some("billing".into()),
                agent: Some("ag-017".into()),
                product: Some("fiber-300".into()),
                ..Operational::default()
            },
            turns: vec![turn(
                Speaker::Customer,
                "Esperé 40 minutos y al final me cortaron. Tuve que volver a explicar todo desde cero a otra persona.",
                None
            )],
        }
    );

    let pt = &valid[1];
    assert_eq!(
        (pt.channel, pt.language),
        (Channel::Whatsapp, Some(Language::Pt))
    );
    assert_eq!(
        (pt.scores.nps, pt.scores.csat, pt.scores.ces),
        (Some(10), Some(5), Some(7))
    );

    // An offset is converted to UTC, a score written as a string is read,
    // and null or absent scores stay absent.
    let en = &valid[2];
    assert_eq!(en.occurred_at, utc("2026-11-20T19:45:02Z"));
    assert_eq!(en.channel, Channel::Voice);
    assert_eq!(en.language, Some(Language::En));
    assert_eq!(
        en.scores,
        Scores {
            nps: Some(7),
            csat: None,
            ces: None
        }
    );
    assert_eq!(speakers(en), [Speaker::Customer]);

    // An empty comment gives no text; a null related id and an absent
    // language stay absent.
    let silent = &valid[3];
    assert!(silent.turns.is_empty());
    assert_eq!(
        (silent.related_id.as_deref(), silent.language),
        (None, None)
    );
    assert_eq!(
        silent.scores,
        Scores {
            nps: Some(0),
            csat: Some(1),
            ces: Some(1)
        }
    );

    // A customer id sent as a number is kept as its text.
    assert_eq!(valid[4].customer_id.as_deref(), Some("10023"));
    assert_eq!(valid[4].channel, Channel::Social);

    assert_eq!(error.kind(), "out_of_range");
    assert_eq!(
        error.to_string(),
        r#"field "nps" ($.nps): 14 is outside the declared scale 0..10"#
    );
}

#[test]
fn reference_transcript_samples_decode() {
    let (valid, error) = split_samples("transcripts");
    assert_eq!(valid.len(), 5);

    let voice = &valid[0];
    assert_eq!(voice.id, "conv-88812");
    assert_eq!(voice.kind, InteractionKind::Transcript);
    assert_eq!(voice.channel, Channel::Voice);
    assert_eq!(voice.occurred_at, utc("2026-11-20T13:20:00Z"));
    assert_eq!(voice.ended_at, Some(utc("2026-11-20T13:41:30Z")));
    assert_eq!(voice.customer_id.as_deref(), Some("C-10023"));
    assert_eq!(
        voice.ops,
        Operational {
            queue: Some("billing".into()),
            team: None,
            agent: Some("ag-017".into()),
            product: None,
            wait_seconds: Some(1260),
            handle_seconds: Some(1290),
            transfers: Some(2),
            bot_involved: Some(false),
            escalated: Some(false),
            resolved: Some(false),
        }
    );
    assert!(voice.scores.is_empty());
    assert_eq!(
        voice.turns[1],
        turn(
            Speaker::Agent,
            "Lamento mucho la espera. Veo el cargo duplicado, pero tengo que pasarle con el área de facturación.",
            Some("2026-11-20T13:41:10Z")
        )
    );
    assert_eq!(
        speakers(voice),
        [Speaker::Customer, Speaker::Agent, Speaker::Customer]
    );

    // The system turn without text is skipped; order is kept.
    let chat = &valid[1];
    assert_eq!(
        speakers(chat),
        [
            Speaker::Bot,
            Speaker::Customer,
            Speaker::Agent,
            Speaker::Customer
        ]
    );
    assert_eq!(chat.turns[3].text, "Voltou! Que alívio, muito obrigada.");
    assert_eq!(chat.ops.team.as_deref(), Some("tech-n2"));
    assert_eq!(
        (chat.ops.bot_involved, chat.ops.escalated, chat.ops.resolved),
        (Some(true), Some(true), Some(true))
    );

    // Numbers and booleans written as strings.
    let lenient = &valid[2];
    assert_eq!(lenient.ops.wait_seconds, Some(300));
    assert_eq!(lenient.ops.transfers, Some(0));
    assert_eq!(
        (
            lenient.ops.bot_involved,
            lenient.ops.escalated,
            lenient.ops.resolved
        ),
        (Some(false), Some(false), Some(true))
    );

    // Turns without a time and a transcript without an end.
    let web = &valid[3];
    assert_eq!(web.ended_at, None);
    assert!(web.turns.iter().all(|t| t.at.is_none()));
    assert_eq!(web.ops.resolved, None);
    assert_eq!(web.channel, Channel::Web);

    assert_eq!(valid[4].ops.wait_seconds, Some(28800));

    assert_eq!(error.kind(), "no_turns");
    assert_eq!(
        error.to_string(),
        r#"field "turns" ($.turns): the transcript has no turn with text"#
    );
}

#[test]
fn survey_tool_samples_decode_with_filters_and_scale_mapping() {
    let (valid, error) = split_samples("surveytool");
    assert_eq!(valid.len(), 5);

    let first = &valid[0];
    assert_eq!(first.id, "R_8f3k2x");
    assert_eq!(
        first.occurred_at,
        Utc.with_ymd_and_hms(2026, 11, 20, 14, 3, 11).unwrap()
    );
    assert_eq!(first.channel, Channel::Chat);
    assert_eq!(first.language, Some(Language::Pt));
    assert_eq!(first.customer_id.as_deref(), Some("C-10023"));
    assert_eq!(first.related_id.as_deref(), Some("conv-88812"));
    assert_eq!(first.ops.queue.as_deref(), Some("billing"));
    assert_eq!(first.ops.agent.as_deref(), Some("ag-017"));
    assert_eq!(first.ops.product.as_deref(), Some("fiber-300"));
    // round(lo + (v - a) * (hi - lo) / (b - a)):
    // Q_SAT 8 on 1..10 -> CSAT round(1 + 7 * 4 / 9) = round(4.11) = 4;
    // Q_EFFORT 4 on 1..5 -> CES round(1 + 3 * 6 / 4) = round(5.5) = 6.
    assert_eq!(
        first.scores,
        Scores {
            nps: Some(9),
            csat: Some(4),
            ces: Some(6)
        }
    );
    assert_eq!(
        first.turns,
        [turn(
            Speaker::Customer,
            "Atendimento ótimo, a atendente já sabia do meu caso e não precisei repetir nada.",
            None
        )]
    );

    // phone -> voice; Q_SAT 3 -> round(1 + 2 * 4 / 9) = round(1.89) = 2;
    // Q_EFFORT 1 -> 1 (the bottom of one scale is the bottom of the other).
    let phone = &valid[1];
    assert_eq!(
        (phone.channel, phone.language),
        (Channel::Voice, Some(Language::Es))
    );
    assert_eq!(
        phone.scores,
        Scores {
            nps: Some(2),
            csat: Some(2),
            ces: Some(1)
        }
    );

    // instagram -> social; Q_SAT 10 -> 5; missing answers stay absent.
    let social = &valid[2];
    assert_eq!(
        (social.channel, social.language),
        (Channel::Social, Some(Language::En))
    );
    assert_eq!(
        social.scores,
        Scores {
            nps: Some(8),
            csat: Some(5),
            ces: None
        }
    );
    assert!(social.turns.is_empty());
    assert_eq!(social.related_id, None);

    // ivr -> voice; an NPS answer written as a string; no agent.
    let ivr = &valid[3];
    assert_eq!(ivr.channel, Channel::Voice);
    assert_eq!(
        ivr.scores,
        Scores {
            nps: Some(6),
            csat: None,
            ces: None
        }
    );
    assert_eq!(ivr.ops.agent, None);
    assert_eq!(speakers(ivr), [Speaker::Customer]);

    // An unknown touchpoint falls back to the default channel; Q_SAT 1 -> 1,
    // Q_EFFORT 5 (very easy) -> 7; an empty comment gives no text.
    let kiosk = &valid[4];
    assert_eq!(kiosk.channel, Channel::Other);
    assert_eq!(
        kiosk.scores,
        Scores {
            nps: None,
            csat: Some(1),
            ces: Some(7)
        }
    );
    assert!(kiosk.turns.is_empty());
    assert_eq!(kiosk.language, Some(Language::Pt));

    assert_eq!(error.kind(), "missing_field");
    assert_eq!(error.field(), Some("id"));
    assert_eq!(
        error.to_string(),
        r#"field "id" ($.responseId): required but missing"#
    );
}

#[test]
fn messaging_samples_decode_with_roles_and_epoch_times() {
    let (valid, error) = split_samples("messaging");
    assert_eq!(valid.len(), 5);

    let first = &valid[0];
    assert_eq!(first.id, "TK-77812");
    assert_eq!(first.kind, InteractionKind::Transcript);
    assert_eq!(first.channel, Channel::Whatsapp);
    assert_eq!(first.occurred_at, utc("2026-11-20T12:00:00Z"));
    assert_eq!(first.ended_at, Some(utc("2026-11-20T12:30:00Z")));
    assert_eq!(first.customer_id.as_deref(), Some("C-10023"));
    assert_eq!(first.language, Some(Language::Es));
    assert_eq!(
        first.ops,
        Operational {
            queue: Some("support-mx".into()),
            team: None,
            agent: Some("ag-042".into()),
            product: Some("credit-card".into()),
            wait_seconds: Some(340),
            handle_seconds: Some(1800),
            transfers: Some(1),
            bot_involved: Some(true),
            escalated: Some(true),
            resolved: Some(false),
        }
    );
    assert_eq!(
        speakers(first),
        [Speaker::Customer, Speaker::Bot, Speaker::Agent]
    );
    assert_eq!(
        first.turns[0],
        turn(
            Speaker::Customer,
            "Me cobraron dos veces la anualidad de la tarjeta y el bot no me deja hablar con nadie.",
            Some("2026-11-20T12:00:12Z")
        )
    );

    let instagram = &valid[1];
    assert_eq!(
        (instagram.channel, instagram.language),
        (Channel::Social, Some(Language::Pt))
    );
    assert_eq!(
        speakers(instagram),
        [Speaker::Customer, Speaker::Agent, Speaker::Customer]
    );

    // The empty system message is skipped.
    let email = &valid[2];
    assert_eq!(
        (email.channel, email.language),
        (Channel::Email, Some(Language::En))
    );
    assert_eq!(speakers(email), [Speaker::Customer, Speaker::Agent]);

    // sms -> other; epoch seconds, counts and booleans written as strings.
    let sms = &valid[3];
    assert_eq!(sms.channel, Channel::Other);
    assert_eq!(sms.occurred_at, utc("2026-11-22T18:40:00Z"));
    assert_eq!(sms.ended_at, None);
    assert_eq!(sms.ops.wait_seconds, Some(5));
    assert_eq!(
        (sms.ops.bot_involved, sms.ops.escalated, sms.ops.resolved),
        (Some(true), Some(false), Some(true))
    );
    assert_eq!(sms.ops.agent, None);

    let facebook = &valid[4];
    assert_eq!(facebook.channel, Channel::Social);
    assert_eq!(facebook.ops.transfers, Some(2));

    assert_eq!(error.kind(), "invalid_value");
    assert_eq!(error.field(), Some("channel"));
    let message = error.to_string();
    assert!(
        message.starts_with(r#"field "channel" ($.ticket.source): unknown channel "telegram""#),
        "{message}"
    );
    assert!(!message.contains("siguen"), "{message}");
}

#[test]
fn the_readme_example_is_a_valid_pipeline() {
    let readme = std::fs::read_to_string(pipelines_dir().join("README.md")).unwrap();
    let section = readme
        .split("## A complete example")
        .nth(1)
        .expect("README has a complete example");
    let example = section
        .split("```toml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("the example is a toml block");
    let pipeline = escucha_pipeline::load_str(Path::new("README.md"), example)
        .unwrap_or_else(|errors| panic!("{errors:#?}"));
    let i = pipeline
        .decode(
            br#"{"response_id":"r-1","submitted_at":"2026-11-20T14:03:11Z","channel":"phone",
                "answers":[{"questionId":"Q_SAT","value":8}],"comment":"Todo bien"}"#,
        )
        .unwrap();
    assert_eq!((i.channel, i.scores.csat), (Channel::Voice, Some(4)));
    assert_eq!(speakers(&i), [Speaker::Customer]);
}
