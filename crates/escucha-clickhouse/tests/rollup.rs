//! The daily rollup gives the same answers as the tables it summarises:
//! every aggregate is computed twice on a real ClickHouse — by a store that
//! reads `interactions FINAL` (its rollup state unknown) and by one that has
//! rebuilt the rollup — for many filters, and must match exactly; then a
//! write lands, and the rolled-up store answers it at once (from the table
//! for that day) and again after the day is rewritten, and after another
//! process rewrites a day it has not seen written.

use chrono::{DateTime, Duration, Utc};
use escucha_clickhouse::query::{
    AnomalySettings, Dimension, Filters, GroupDimension, GroupMetric, GroupQuery, ImpactMetric,
    Interval, LabelKind,
};
use escucha_clickhouse::rows::Rows;
use escucha_clickhouse::{ClickHouseConfig, Store};
use escucha_core::{
    Channel, Classification, Interaction, InteractionKind, Label, Language, Operational, Record,
    Scores, SourcePosition, Span, Speaker, Turn, TurnLabels,
};
use serde_json::{json, Value};

fn url() -> String {
    std::env::var("ESCUCHA_TEST_CLICKHOUSE").unwrap_or_else(|_| "http://127.0.0.1:8123".into())
}

fn config(database: &str) -> ClickHouseConfig {
    ClickHouseConfig {
        url: url(),
        database: database.into(),
        ..Default::default()
    }
}

async fn fresh_store(database: &str) -> Store {
    let store = Store::connect(config(database))
        .await
        .expect("ClickHouse reachable");
    store
        .client()
        .clone()
        .with_database("default")
        .query(&format!("DROP DATABASE IF EXISTS {database}"))
        .execute()
        .await
        .unwrap();
    store.migrate().await.unwrap();
    store
}

/// A small deterministic generator (64-bit LCG), so the data is varied but
/// the same on every run.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }

    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.next(xs.len() as u64) as usize]
    }
}

fn label(id: &str) -> Label {
    Label {
        label: id.into(),
        confidence: 0.8,
        evidence: vec![Span::new(0, 4)],
    }
}

const EMOTIONS: [&str; 6] = [
    "frustration",
    "gratitude",
    "relief",
    "anger",
    "surprise",
    "confusion",
];
const THEMES: [&str; 5] = [
    "long_wait",
    "transfer",
    "unresolved",
    "repeat_contact",
    "billing_error",
];

/// An interaction `start + minutes` with varied dimensions, scores, labels
/// and operational fields; customers repeat so repeat contacts occur.
fn record(g: &mut Lcg, i: usize, at: DateTime<Utc>) -> Record {
    let transcript = g.next(3) > 0;
    let channels = [
        Channel::Voice,
        Channel::Chat,
        Channel::Email,
        Channel::Whatsapp,
    ];
    let channel = channels[g.next(4) as usize];
    let language = [Language::Es, Language::Pt, Language::En][g.next(3) as usize];
    let labels_for = |g: &mut Lcg, xs: &[&str]| -> Vec<Label> {
        (0..g.next(3))
            .map(|_| label(g.pick(xs)))
            .collect::<Vec<_>>()
    };
    let mut turns = Vec::new();
    let mut turn_labels = Vec::new();
    for t in 0..if transcript { 2 } else { 1 } {
        turns.push(Turn {
            speaker: Speaker::Customer,
            text: "algo pasó aquí".into(),
            at: None,
        });
        let mut emotions = labels_for(g, &EMOTIONS);
        emotions.dedup_by(|a, b| a.label == b.label);
        let mut themes = labels_for(g, &THEMES);
        themes.dedup_by(|a, b| a.label == b.label);
        turn_labels.push(TurnLabels {
            turn: t,
            classification: Classification {
                language,
                emotions,
                themes,
                engine: "test".into(),
            },
            empathy: vec![],
        });
    }
    let opt = |g: &mut Lcg, base: u32, spread: u64| {
        let v = base + g.next(spread) as u32;
        (g.next(4) > 0).then_some(v)
    };
    let flag = |g: &mut Lcg| match g.next(3) {
        0 => None,
        1 => Some(false),
        _ => Some(true),
    };
    let nps = (g.next(3) > 0).then(|| g.next(11) as u8);
    Record {
        pipeline: if transcript { "transcripts" } else { "surveys" }.into(),
        interaction: Interaction {
            id: format!("i{i}"),
            kind: if transcript {
                InteractionKind::Transcript
            } else {
                InteractionKind::Survey
            },
            channel,
            occurred_at: at,
            ended_at: None,
            customer_id: (g.next(5) > 0).then(|| format!("cust{}", g.next(40))),
            related_id: None,
            language: Some(language),
            scores: Scores {
                nps,
                csat: (g.next(2) == 0).then(|| 1 + g.next(5) as u8),
                ces: (g.next(3) == 0).then(|| 1 + g.next(7) as u8),
            },
            ops: Operational {
                queue: Some(g.pick(&["billing", "tech", "sales"]).into()),
                team: Some(g.pick(&["north", "south"]).into()),
                agent: Some(g.pick(&["ana", "bruno", "carla", "diego"]).into()),
                product: Some(g.pick(&["mobile", "fiber", "tv"]).into()),
                wait_seconds: opt(g, 0, 600),
                handle_seconds: opt(g, 60, 900),
                transfers: opt(g, 0, 3),
                bot_involved: flag(g),
                escalated: flag(g),
                resolved: flag(g),
            },
            turns,
        },
        language,
        turn_labels,
        engine: "test".into(),
        source: SourcePosition::default(),
        agent_empathy: (transcript && g.next(2) == 0).then(|| g.next(100) as f32 / 100.0),
    }
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// Every aggregate the API serves, for one filter, as JSON.
async fn answers(store: &Store, f: &Filters) -> Value {
    let from = f.from.unwrap_or(at("2026-09-01T00:00:00Z"));
    let to = f.to.unwrap_or(at("2026-11-01T00:00:00Z"));
    let mut out = serde_json::Map::new();
    out.insert("summary".into(), json!(store.summary(f, 5).await.unwrap()));
    for interval in [Interval::Day, Interval::Week, Interval::Month] {
        for kind in [LabelKind::Emotion, LabelKind::Theme] {
            out.insert(
                format!("series {interval:?} {kind:?}"),
                json!(store.series(f, kind, interval, 3).await.unwrap()),
            );
        }
    }
    out.insert(
        "gaps".into(),
        json!(store.gaps(f, from, to, 3).await.unwrap()),
    );
    for (metric, by) in [
        (ImpactMetric::Nps, LabelKind::Theme),
        (ImpactMetric::Csat, LabelKind::Emotion),
    ] {
        out.insert(
            format!("impact {metric:?} {by:?}"),
            json!(store.impact(f, metric, by, 3).await.unwrap()),
        );
    }
    for window in [1, 7, 30] {
        out.insert(
            format!("kpis {window}"),
            json!(store.kpis(f, window, 3).await.unwrap()),
        );
    }
    let groupings: [&[GroupDimension]; 8] = [
        &[GroupDimension::Channel],
        &[GroupDimension::Queue],
        &[GroupDimension::Agent, GroupDimension::Week],
        &[GroupDimension::Theme, GroupDimension::Product],
        &[GroupDimension::Theme, GroupDimension::Emotion],
        &[GroupDimension::Emotion, GroupDimension::Language],
        &[GroupDimension::Day],
        &[GroupDimension::FirstEmotion],
    ];
    for dims in groupings {
        let q = GroupQuery {
            dimensions: dims.to_vec(),
            metrics: GroupMetric::ALL.to_vec(),
            limit: 1000,
            repeat_window_days: 7,
        };
        let g = store.grouped(f, &q, 3).await.unwrap();
        out.insert(
            format!("grouped {dims:?}"),
            json!({"rows": g.json_rows(dims), "total": g.total, "truncated": g.truncated}),
        );
    }
    let last = (to - Duration::seconds(1)).date_naive();
    let settings = AnomalySettings {
        min_baseline_days: 5,
        min_volume: 1,
        ..Default::default()
    };
    out.insert(
        "anomalies".into(),
        json!(store
            .anomalies(f, last - Duration::days(10), last, &settings)
            .await
            .unwrap()),
    );
    Value::Object(out)
}

/// Differences between two JSON values, as paths (empty when equal).
fn diff(a: &Value, b: &Value, path: &str, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for k in x.keys().chain(y.keys().filter(|k| !x.contains_key(*k))) {
                diff(
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                    &format!("{path}.{k}"),
                    out,
                );
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                diff(p, q, &format!("{path}[{i}]"), out);
            }
        }
        (Value::Number(x), Value::Number(y)) => {
            let (p, q) = (x.as_f64().unwrap_or(0.0), y.as_f64().unwrap_or(0.0));
            // Means of float sums may differ in the last bits only.
            if (p - q).abs() > 1e-9 * p.abs().max(1.0) {
                out.push(format!("{path}: {x} vs {y}"));
            }
        }
        _ if a == b => {}
        _ => out.push(format!("{path}: {a} vs {b}")),
    }
}

fn filters() -> Vec<(&'static str, Filters)> {
    let whole = Filters {
        from: Some(at("2026-09-10T00:00:00Z")),
        to: Some(at("2026-10-20T00:00:00Z")),
        ..Default::default()
    };
    vec![
        ("everything", Filters::default()),
        ("whole days", whole.clone()),
        (
            "partial first and last days",
            Filters {
                from: Some(at("2026-09-10T07:30:00Z")),
                to: Some(at("2026-10-20T15:00:00Z")),
                ..Default::default()
            },
        ),
        (
            "channel",
            Filters {
                channel: vec!["voice".into(), "chat".into()],
                ..whole.clone()
            },
        ),
        (
            "channel and queue",
            Filters {
                channel: vec!["voice".into()],
                queue: vec!["tech".into()],
                ..whole.clone()
            },
        ),
        (
            "queue",
            Filters {
                queue: vec!["billing".into()],
                ..whole.clone()
            },
        ),
        (
            "product and kind",
            Filters {
                product: vec!["fiber".into()],
                kind: vec!["transcript".into()],
                ..whole.clone()
            },
        ),
        (
            "agent",
            Filters {
                agent: vec!["ana".into()],
                ..whole.clone()
            },
        ),
        (
            "language and pipeline",
            Filters {
                language: vec!["pt".into()],
                pipeline: vec!["transcripts".into()],
                ..whole.clone()
            },
        ),
        (
            "queue and product (no grain)",
            Filters {
                queue: vec!["tech".into()],
                product: vec!["tv".into()],
                ..whole.clone()
            },
        ),
        (
            "theme (reads the table)",
            Filters {
                theme: vec!["long_wait".into()],
                ..whole
            },
        ),
    ]
}

async fn assert_same(raw: &Store, rolled: &Store, when: &str) {
    for (name, f) in filters() {
        let (a, b) = (answers(raw, &f).await, answers(rolled, &f).await);
        if name == "whole days" {
            // The comparison covers some anomalies, in segments too.
            let found = a["anomalies"].as_array().map(Vec::len).unwrap_or(0);
            let segmented = a["anomalies"]
                .as_array()
                .is_some_and(|v| v.iter().any(|x| !x["segment"].is_null()));
            assert!(found > 0 && segmented, "{when}: no anomalies to compare");
        }
        let mut out = Vec::new();
        diff(&a, &b, "", &mut out);
        assert!(
            out.is_empty(),
            "{when}, filter '{name}': rollup and table differ:\n{}",
            out.iter().take(20).cloned().collect::<Vec<_>>().join("\n")
        );
    }
    for d in [
        Dimension::Channel,
        Dimension::Queue,
        Dimension::Agent,
        Dimension::Pipeline,
    ] {
        assert_eq!(
            raw.dimension_values(d, 50).await.unwrap(),
            rolled.dimension_values(d, 50).await.unwrap(),
            "{when}: values of {d:?}"
        );
    }
    let counts = |s: &Store| {
        let s = s.clone();
        async move {
            let mut v = s.pipeline_counts().await.unwrap();
            v.sort_by(|a, b| a.pipeline.cmp(&b.pipeline));
            json!(v)
        }
    };
    assert_eq!(
        counts(raw).await,
        counts(rolled).await,
        "{when}: pipeline counts"
    );
}

/// The drill-down's pages (read without FINAL, each row checked to be its
/// interaction's newest version) are the pages a FINAL read gives, for
/// filters that some replayed interactions matched only before their replay.
async fn drill_down_matches_final(store: &Store) {
    #[derive(clickhouse::Row, serde::Deserialize)]
    struct Id {
        interaction_id: String,
    }
    let cases = [
        (
            "theme=long_wait",
            "hasAny(themes, ['long_wait'])",
            Filters {
                theme: vec!["long_wait".into()],
                ..Default::default()
            },
        ),
        (
            "emotion=anger",
            "hasAny(emotions, ['anger'])",
            Filters {
                emotion: vec!["anger".into()],
                ..Default::default()
            },
        ),
        ("everything", "1", Filters::default()),
    ];
    for (name, condition, f) in cases {
        let expected: Vec<String> = store
            .client()
            .query(&format!(
                "SELECT interaction_id FROM interactions FINAL WHERE {condition} \
                 ORDER BY occurred_at DESC, pipeline DESC, interaction_id DESC LIMIT 40"
            ))
            .fetch_all::<Id>()
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.interaction_id)
            .collect();
        let mut got = Vec::new();
        let mut cursor = None;
        while got.len() < expected.len() {
            let page = store.interactions(&f, cursor.as_ref(), 8).await.unwrap();
            assert!(!page.items.is_empty(), "{name}: a page ended early");
            got.extend(page.items.iter().map(|i| i.id.clone()));
            cursor = page.next;
        }
        got.truncate(expected.len());
        assert_eq!(got, expected, "{name}: drill-down pages differ from FINAL");
    }
}

#[tokio::test]
#[ignore = "needs ClickHouse: run scripts/test.sh"]
async fn the_rollup_answers_exactly_like_the_tables() {
    let db = "escucha_test_rollup";
    let rolled = fresh_store(db).await;
    let mut g = Lcg(7);
    let start = at("2026-09-01T00:00:00Z");
    let mut rows = Rows::default();
    for i in 0..900 {
        let at = start + Duration::minutes(g.next(60 * 24 * 60) as i64);
        rows.push(&record(&mut g, i, at), Utc::now(), 1);
    }
    rolled.write(&rows).await.unwrap();
    // A replay of part of it with a newer version: stored once. So are
    // replays of some of the newest interactions that move their time
    // earlier within the day, so that their older version sorts first in
    // the drill-down.
    let mut newest: Vec<(usize, DateTime<Utc>)> = rows
        .interactions
        .iter()
        .enumerate()
        .skip(50)
        .map(|(i, r)| (i, r.occurred_at))
        .collect();
    newest.sort_by_key(|r| std::cmp::Reverse(r.1));
    let moved: Vec<usize> = newest.iter().take(12).step_by(3).map(|(i, _)| *i).collect();
    let mut replay = Rows::default();
    for (i, r) in rows.interactions.iter().enumerate() {
        if i >= 50 && !moved.contains(&i) {
            continue;
        }
        let mut g2 = Lcg(1000 + i as u64);
        let midnight = r
            .occurred_at
            .date_naive()
            .and_time(Default::default())
            .and_utc();
        let when = match moved.contains(&i) {
            true => (r.occurred_at - Duration::minutes(30)).max(midnight),
            false => r.occurred_at,
        };
        let mut again = record(&mut g2, i, when);
        again.interaction.id = r.interaction_id.clone();
        again.pipeline = r.pipeline.clone();
        replay.push(&again, Utc::now(), 2);
    }
    rolled.write(&replay).await.unwrap();

    let report = rolled.refresh_rollup().await.unwrap();
    assert!(
        report.days >= 55,
        "every day with data rewritten: {report:?}"
    );
    assert_eq!(
        rolled.rollup().stale_days(),
        Some(Default::default()),
        "nothing left behind"
    );
    assert!(rolled.rollup_lagging_days().await.unwrap().is_empty());
    // A second store on the same database has never checked the rollup: it
    // reads the tables.
    let raw = Store::connect(config(db)).await.unwrap();
    assert_eq!(raw.rollup().stale_days(), None);
    assert_same(&raw, &rolled, "after the rebuild").await;
    drill_down_matches_final(&rolled).await;

    // New interactions on an old day and on a new day: served at once (the
    // marked days from the table), then from the rewritten rollup.
    let mut more = Rows::default();
    for i in 0..40 {
        let at = at("2026-10-05T10:00:00Z") + Duration::minutes(i * 7);
        more.push(&record(&mut g, 10_000 + i as usize, at), Utc::now(), 3);
    }
    more.push(
        &record(&mut g, 20_000, at("2026-10-30T23:59:59Z")),
        Utc::now(),
        3,
    );
    rolled.write(&more).await.unwrap();
    let stale = rolled.rollup().stale_days().unwrap();
    assert!(stale.contains(&at("2026-10-05T00:00:00Z").date_naive()));
    assert_same(&raw, &rolled, "right after a write").await;
    let report = rolled.refresh_rollup().await.unwrap();
    // The written days and the later days whose repeat contacts may change.
    assert!(report.days >= 2, "{report:?}");
    assert_eq!(rolled.rollup().stale_days(), Some(Default::default()));
    assert_same(&raw, &rolled, "after the rewrite").await;

    // Another process writes to an old day and rewrites its rollup: this
    // store, which has not seen the write, reads that day's new rollup
    // (anomalies keep the counts of settled days between calls; the day's
    // new rewrite version makes them read again).
    let whole = &filters()[1].1;
    let before = answers(&rolled, whole).await["anomalies"].clone();
    let other = Store::connect(config(db)).await.unwrap();
    let mut late = Rows::default();
    for i in 0..80 {
        let at = at("2026-10-15T08:00:00Z") + Duration::minutes(i * 5);
        late.push(&record(&mut g, 30_000 + i as usize, at), Utc::now(), 4);
    }
    other.write(&late).await.unwrap();
    other.refresh_rollup().await.unwrap();
    assert_eq!(rolled.rollup().stale_days(), Some(Default::default()));
    assert_ne!(
        answers(&raw, whole).await["anomalies"],
        before,
        "the late interactions change the anomalies"
    );
    assert_same(&raw, &rolled, "after another process's rewrite").await;
}
