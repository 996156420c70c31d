//! The SQL against a real ClickHouse (Debian's 18.16 here, current releases
//! in docker-compose): migrations, idempotent writes, every query with
//! numbers computed by hand.

use chrono::{DateTime, TimeZone, Utc};
use escucha_clickhouse::query::{
    AnomalySettings, Filters, GroupDimension, GroupMetric, GroupQuery, ImpactMetric, Interval,
    LabelKind,
};
use escucha_clickhouse::rows::Rows;
use escucha_clickhouse::{ClickHouseConfig, Store};
use escucha_core::{
    Channel, Classification, Interaction, InteractionKind, Label, Language, Operational, Record,
    Scores, SourcePosition, Span, Speaker, Turn, TurnLabels,
};

fn url() -> String {
    std::env::var("ESCUCHA_TEST_CLICKHOUSE").unwrap_or_else(|_| "http://127.0.0.1:8123".into())
}

async fn fresh_store(name: &str) -> Store {
    let database = format!("escucha_store_{name}_{}", std::process::id());
    let config = ClickHouseConfig {
        url: url(),
        database,
        ..Default::default()
    };
    let store = Store::connect(config).await.expect("ClickHouse reachable");
    store
        .client()
        .clone()
        .with_database("default")
        .query(&format!(
            "DROP DATABASE IF EXISTS {}",
            store.config().database
        ))
        .execute()
        .await
        .unwrap();
    assert_eq!(store.migrate().await.unwrap(), vec![1, 2, 3, 4, 5]);
    assert!(
        store.migrate().await.unwrap().is_empty(),
        "migrations apply once"
    );
    store
}

async fn drop_database(store: &Store) {
    store
        .client()
        .clone()
        .with_database("default")
        .query(&format!("DROP DATABASE {}", store.config().database))
        .execute()
        .await
        .unwrap();
}

fn label(id: &str, start: usize, end: usize) -> Label {
    Label {
        label: id.into(),
        confidence: 0.8,
        evidence: vec![Span::new(start, end)],
    }
}

fn record(
    id: &str,
    at: DateTime<Utc>,
    nps: Option<u8>,
    emotions: &[&str],
    themes: &[&str],
) -> Record {
    let text = "Esperé una hora y nadie me ayudó";
    Record {
        pipeline: "surveys".into(),
        interaction: Interaction {
            id: id.into(),
            kind: InteractionKind::Survey,
            channel: Channel::Chat,
            occurred_at: at,
            ended_at: None,
            customer_id: Some("k".into()),
            related_id: None,
            language: Some(Language::Es),
            scores: Scores {
                nps,
                csat: nps.map(|n| (n / 2).clamp(1, 5)),
                ces: None,
            },
            ops: Operational {
                queue: Some("billing".into()),
                ..Default::default()
            },
            turns: vec![Turn {
                speaker: Speaker::Customer,
                text: text.into(),
                at: None,
            }],
        },
        language: Language::Es,
        turn_labels: vec![TurnLabels {
            turn: 0,
            classification: Classification {
                language: Language::Es,
                emotions: emotions.iter().map(|e| label(e, 0, 6)).collect(),
                themes: themes.iter().map(|t| label(t, 7, 15)).collect(),
                engine: "test".into(),
            },
            empathy: vec![],
        }],
        engine: "test".into(),
        source: SourcePosition::default(),
        agent_empathy: None,
    }
}

fn day(d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 10, d, 12, 0, 0).unwrap()
}

#[tokio::test]
#[ignore = "needs ClickHouse: run scripts/test.sh"]
async fn replayed_batches_are_never_counted_twice_and_queries_match_hand_counts() {
    let store = fresh_store("queries").await;
    // Period under test: Oct 11–20. Previous period: Oct 1–10.
    let records = vec![
        record("a", day(12), Some(10), &["gratitude"], &[]),
        record("b", day(13), Some(2), &["frustration"], &["long_wait"]),
        record(
            "c",
            day(14),
            Some(0),
            &["frustration", "anger"],
            &["long_wait", "transfer"],
        ),
        record("d", day(15), Some(9), &["relief"], &[]),
        record("e", day(16), Some(7), &[], &["long_wait"]),
        record("f", day(17), None, &["confusion"], &[]),
        record("p1", day(3), Some(5), &["frustration"], &["long_wait"]),
        record("p2", day(4), Some(9), &[], &["transfer"]),
    ];
    let mut rows = Rows::default();
    for r in &records {
        rows.push(r, Utc::now(), 1);
    }
    store.write(&rows).await.unwrap();
    // A crash after the write and before the offset commit replays the batch.
    let mut replay = Rows::default();
    for r in &records {
        replay.push(r, Utc::now(), 2);
    }
    store.write(&replay).await.unwrap();

    let period = Filters {
        from: Some(day(11)),
        to: Some(day(21)),
        ..Default::default()
    };
    let s = store.summary(&period, 1).await.unwrap();
    assert_eq!(s.interactions, 6);
    assert_eq!(s.with_text, 6);
    // NPS answers 10, 2, 0, 9, 7 → 2 promoters, 2 detractors → 0.
    assert_eq!(
        (s.nps.n, s.nps.promoters, s.nps.detractors, s.nps.score),
        (5, 2, 2, Some(0.0))
    );
    let frustration = s
        .emotions
        .iter()
        .find(|e| e.label == "frustration")
        .unwrap();
    assert_eq!((frustration.count, frustration.share), (2, 33.3));
    let long_wait = s.themes.iter().find(|t| t.label == "long_wait").unwrap();
    assert_eq!(long_wait.count, 3);
    // The minimum sample withholds small groups.
    assert_eq!(store.summary(&period, 6).await.unwrap().nps.score, None);

    // Filters.
    let f = Filters {
        theme: vec!["transfer".into()],
        ..Default::default()
    };
    assert_eq!(store.summary(&f, 1).await.unwrap().interactions, 2);
    let f = Filters {
        queue: vec!["billing".into()],
        emotion: vec!["anger".into(), "relief".into()],
        ..Default::default()
    };
    assert_eq!(store.summary(&f, 1).await.unwrap().interactions, 2);
    let f = Filters {
        channel: vec!["voice".into()],
        ..Default::default()
    };
    assert_eq!(store.summary(&f, 1).await.unwrap().interactions, 0);
    let f = Filters {
        queue: vec!["billing' OR '1'='1".into()],
        ..Default::default()
    };
    assert_eq!(
        store.summary(&f, 1).await.unwrap().interactions,
        0,
        "values are escaped"
    );

    // Gaps: long_wait 3 now vs 1 before (+200 %); NPS with long_wait: 2, 0, 7 → 0 promoters,
    // 2 detractors → −66.7; without: 10, 9 → +100.
    let g = store
        .gaps(&Filters::default(), day(11), day(21), 1)
        .await
        .unwrap();
    let lw = g.gaps.iter().find(|x| x.theme == "long_wait").unwrap();
    assert_eq!(
        (lw.count, lw.previous_count, lw.change),
        (3, 1, Some(200.0))
    );
    assert_eq!(lw.nps_with.score, Some(-66.7));
    assert_eq!(lw.nps_without.score, Some(100.0));
    assert_eq!(g.gaps[0].theme, "long_wait", "ranked by volume");
    let tr = g.gaps.iter().find(|x| x.theme == "transfer").unwrap();
    assert_eq!((tr.count, tr.previous_count, tr.change), (1, 1, Some(0.0)));
    // From midnight both periods are read at once, split by day: the same gaps.
    let midnight = |d: u32| Utc.with_ymd_and_hms(2026, 10, d, 0, 0, 0).unwrap();
    let m = store
        .gaps(&Filters::default(), midnight(11), midnight(21), 1)
        .await
        .unwrap();
    assert_eq!(m.previous_from, midnight(1));
    assert_eq!(
        (m.with_text, m.previous_with_text),
        (g.with_text, g.previous_with_text)
    );
    assert_eq!((m.with_text, m.previous_with_text), (6, 2));
    assert_eq!(
        serde_json::to_value(&m.gaps).unwrap(),
        serde_json::to_value(&g.gaps).unwrap()
    );

    // Series: one point per day with data; counts per label.
    let points = store
        .series(&Filters::default(), LabelKind::Emotion, Interval::Day, 1)
        .await
        .unwrap();
    assert_eq!(points.len(), 8);
    assert_eq!(
        points[0].start,
        Utc.with_ymd_and_hms(2026, 10, 3, 0, 0, 0).unwrap()
    );
    assert_eq!(
        points
            .iter()
            .map(|p| p.counts.get("frustration").copied().unwrap_or(0))
            .sum::<u64>(),
        3
    );
    let weeks = store
        .series(&Filters::default(), LabelKind::Theme, Interval::Week, 1)
        .await
        .unwrap();
    assert_eq!(weeks.iter().map(|p| p.with_text).sum::<u64>(), 8);
    // Day 12 holds one answer, NPS 10: a promoter → 100 with n 1; withheld at min_n 2.
    let d12 = points
        .iter()
        .find(|p| p.start == Utc.with_ymd_and_hms(2026, 10, 12, 0, 0, 0).unwrap())
        .unwrap();
    assert_eq!((d12.volume, d12.nps.n, d12.nps.score), (1, 1, Some(100.0)));
    // One month: all 8. NPS 10, 2, 0, 9, 7, 5, 9 → 3 promoters, 3 detractors of 7 → 0;
    // CSAT 5, 1, 1, 4, 3, 2, 4 → 3 of 7 satisfied = 42.9 %, mean 20 / 7 = 2.86.
    let months = store
        .series(&Filters::default(), LabelKind::Theme, Interval::Month, 5)
        .await
        .unwrap();
    assert_eq!(months.len(), 1);
    let m = &months[0];
    assert_eq!(m.start, Utc.with_ymd_and_hms(2026, 10, 1, 0, 0, 0).unwrap());
    assert_eq!((m.volume, m.nps.n, m.nps.score), (8, 7, Some(0.0)));
    assert_eq!((m.csat.percent, m.csat.mean), (Some(42.9), Some(2.86)));
    assert_eq!(m.ces.n, 0);
    assert_eq!(m.ces.mean, None);

    // Net emotion over all 8: loyalty (gratitude, relief) in a and d, detracting
    // (frustration, anger) in b, c and p1 → (2 − 3) / 8 = −12.5.
    let all = store.summary(&Filters::default(), 1).await.unwrap();
    assert_eq!(
        (
            all.net_emotion.loyalty,
            all.net_emotion.detracting,
            all.net_emotion.score
        ),
        (2, 3, Some(-12.5))
    );
    assert_eq!(
        store
            .summary(&Filters::default(), 9)
            .await
            .unwrap()
            .net_emotion
            .score,
        None
    );

    // Impact on NPS in the period (answers 10, 2, 0, 9, 7).
    // Impact = all − without = share with × (with − without).
    // long_wait: with 2, 0, 7 → −66.7 (var (2/3 − 4/9) / 3); without 10, 9 → 100 (var 0)
    //   → 0 − 100 = −100 (3/5 × −166.7), CI −100 ± 3/5 × 1.96 × √0.0741 × 100 = [−132.0, −68.0].
    // transfer: with 0 → −100 (var 0); without 10, 2, 9, 7 → 25 (var (0.75 − 0.0625) / 4)
    //   → 0 − 25 = −25 (1/5 × −125), CI −25 ± 1/5 × 1.96 × √0.1719 × 100 = [−41.3, −8.7].
    let imp = store
        .impact(&period, ImpactMetric::Nps, LabelKind::Theme, 1)
        .await
        .unwrap();
    assert_eq!((imp.overall.score, imp.overall.n), (Some(0.0), 5));
    let labels: Vec<&str> = imp.items.iter().map(|i| i.label.as_str()).collect();
    assert_eq!(labels, vec!["long_wait", "transfer"], "most damaging first");
    assert_eq!(imp.items[0].with.score, Some(-66.7));
    assert_eq!(imp.items[0].without.score, Some(100.0));
    assert_eq!(imp.items[0].impact, Some(-100.0));
    assert_eq!(imp.items[0].ci95, Some([-132.0, -68.0]));
    assert_eq!(imp.items[1].impact, Some(-25.0));
    assert_eq!(imp.items[1].ci95, Some([-41.3, -8.7]));
    let withheld = store
        .impact(&period, ImpactMetric::Nps, LabelKind::Theme, 5)
        .await
        .unwrap();
    assert!(withheld
        .items
        .iter()
        .all(|i| i.impact.is_none() && i.ci95.is_none()));
    // CSAT by emotion: frustration in b (1) and c (1) → 0 %; without: 5, 4, 3 → 66.7 %;
    // all 2 of 5 = 40 % → impact 40 − 66.7 = −26.7.
    let csat = store
        .impact(&period, ImpactMetric::Csat, LabelKind::Emotion, 1)
        .await
        .unwrap();
    let fr = csat
        .items
        .iter()
        .find(|i| i.label == "frustration")
        .unwrap();
    assert_eq!(
        (fr.with.score, fr.without.score, fr.impact),
        (Some(0.0), Some(66.7), Some(-26.7))
    );

    // Grouped query over all 8: by theme, long_wait in b, c, e, p1 (NPS 2, 0, 7, 5 →
    // 3 detractors and a passive of 4: −75, share 4 / 8 = 50 %); transfer in c, p2 (NPS 0, 9 → 0).
    let q = GroupQuery {
        dimensions: vec![GroupDimension::Theme],
        metrics: vec![
            GroupMetric::Interactions,
            GroupMetric::Share,
            GroupMetric::Nps,
        ],
        limit: 100,
        repeat_window_days: 7,
    };
    let g = store.grouped(&Filters::default(), &q, 1).await.unwrap();
    let rows = g.json_rows(&q.dimensions);
    assert_eq!(g.total, 8);
    assert_eq!(
        rows[0],
        serde_json::json!({"theme": "long_wait", "interactions": 4, "share": 50.0, "nps": -75.0, "nps_n": 4})
    );
    assert_eq!(
        rows[1],
        serde_json::json!({"theme": "transfer", "interactions": 2, "share": 25.0, "nps": 0.0, "nps_n": 2})
    );
    // Two array dimensions: every (theme, emotion) pair an interaction carries.
    let q = GroupQuery {
        dimensions: vec![GroupDimension::Theme, GroupDimension::Emotion],
        metrics: vec![GroupMetric::Interactions],
        limit: 100,
        repeat_window_days: 7,
    };
    let g = store.grouped(&Filters::default(), &q, 1).await.unwrap();
    let pairs: Vec<(String, String, u64)> = g
        .json_rows(&q.dimensions)
        .iter()
        .map(|r| {
            (
                r["theme"].as_str().unwrap().to_string(),
                r["emotion"].as_str().unwrap().to_string(),
                r["interactions"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        pairs,
        vec![
            ("long_wait".into(), "frustration".into(), 3),
            ("long_wait".into(), "anger".into(), 1),
            ("transfer".into(), "anger".into(), 1),
            ("transfer".into(), "frustration".into(), 1),
        ]
    );
    // By day, chronological, CSAT withheld below min_n; the limit truncates.
    let q = GroupQuery {
        dimensions: vec![GroupDimension::Day, GroupDimension::Channel],
        metrics: vec![GroupMetric::Csat],
        limit: 3,
        repeat_window_days: 7,
    };
    let g = store.grouped(&period, &q, 2).await.unwrap();
    assert!(g.truncated);
    assert_eq!(
        g.json_rows(&q.dimensions)[0],
        serde_json::json!({"day": "2026-10-12", "channel": "chat", "csat": null, "csat_n": 1})
    );

    // One interaction in full; unknown ones are None.
    let c = store.interaction("surveys", "c").await.unwrap().unwrap();
    assert_eq!(c.turns.len(), 1);
    assert_eq!(c.turns[0].emotions, vec!["anger", "frustration"]);
    assert_eq!(c.turns[0].themes, vec!["long_wait", "transfer"]);
    assert_eq!(c.turns[0].labels.len(), 4);
    assert_eq!(c.turns[0].labels[0].evidence, vec![[0, 6]]);
    assert_eq!(c.recovered, None, "a survey does not recover");
    assert_eq!(c.labels.len(), 4);
    assert!(store
        .interaction("surveys", "nope")
        .await
        .unwrap()
        .is_none());
    assert!(store.interaction("other", "c").await.unwrap().is_none());

    // Drill-down pages through everything once, newest first, with evidence.
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = store
            .interactions(&Filters::default(), cursor.as_ref(), 3)
            .await
            .unwrap();
        seen.extend(page.items.iter().map(|i| i.id.clone()));
        if let Some(first) = page.items.first() {
            let turn = &first.turns[0];
            assert_eq!(turn.text, "Esperé una hora y nadie me ayudó");
        }
        match page.next {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen, vec!["f", "e", "d", "c", "b", "a", "p2", "p1"]);
    let page = store
        .interactions(
            &Filters {
                theme: vec!["transfer".into()],
                ..Default::default()
            },
            None,
            10,
        )
        .await
        .unwrap();
    let c = page.items.iter().find(|i| i.id == "c").unwrap();
    assert_eq!(
        c.turns[0]
            .themes
            .iter()
            .map(|l| l.label.as_str())
            .collect::<Vec<_>>()
            .len(),
        2
    );
    assert_eq!(c.turns[0].emotions[0].evidence, vec![[0, 6]]);

    let counts = store.pipeline_counts().await.unwrap();
    assert_eq!(counts.len(), 1);
    assert_eq!(counts[0].interactions, 8);

    // Transcripts: two start negative, one of them ends in relief → recovery 50 %;
    // empathy 0.8 and 0.4 → mean 0.6; an empathy signal is served on the agent turn.
    let mut rows = Rows::default();
    for (id, last, empathy) in [("t1", "relief", 0.8), ("t2", "anger", 0.4)] {
        let mut r = record(id, day(18), None, &["frustration"], &[]);
        r.interaction.kind = InteractionKind::Transcript;
        r.interaction.turns.push(Turn {
            speaker: Speaker::Agent,
            text: "Lo siento mucho".into(),
            at: None,
        });
        r.interaction.turns.push(Turn {
            speaker: Speaker::Customer,
            text: "Vale".into(),
            at: None,
        });
        r.turn_labels.push(TurnLabels {
            turn: 1,
            classification: Classification {
                language: Language::Es,
                emotions: vec![],
                themes: vec![],
                engine: "test".into(),
            },
            empathy: vec![label("apology", 0, 9)],
        });
        r.turn_labels.push(TurnLabels {
            turn: 2,
            classification: Classification {
                language: Language::Es,
                emotions: vec![label(last, 0, 4)],
                themes: vec![],
                engine: "test".into(),
            },
            empathy: vec![],
        });
        r.agent_empathy = Some(empathy);
        rows.push(&r, Utc::now(), 1);
    }
    store.write(&rows).await.unwrap();
    let t = store
        .summary(
            &Filters {
                kind: vec!["transcript".into()],
                ..Default::default()
            },
            1,
        )
        .await
        .unwrap();
    assert_eq!(
        (
            t.recovery.started_negative,
            t.recovery.recovered,
            t.recovery.rate
        ),
        (2, 1, Some(50.0))
    );
    assert_eq!((t.agent_empathy.n, t.agent_empathy.mean), (2, Some(0.6)));
    let page = store
        .interactions(
            &Filters {
                kind: vec!["transcript".into()],
                ..Default::default()
            },
            None,
            10,
        )
        .await
        .unwrap();
    let t1 = page.items.iter().find(|i| i.id == "t1").unwrap();
    assert_eq!(t1.turns[1].empathy[0].label, "apology");
    assert_eq!(t1.agent_empathy, Some(0.8));
    let t1 = store.interaction("surveys", "t1").await.unwrap().unwrap();
    assert_eq!(t1.recovered, Some(true));
    assert_eq!(t1.first_emotions, vec!["frustration"]);
    assert_eq!(t1.last_emotions, vec!["relief"]);
    assert_eq!(t1.turns[1].labels[0].kind, "empathy");
    assert_eq!(t1.turns[1].labels[0].label, "apology");
    assert_eq!(t1.turns[2].emotions, vec!["relief"]);
    let t2 = store.interaction("surveys", "t2").await.unwrap().unwrap();
    assert_eq!(t2.recovered, Some(false));
    // Recovery per group: of the two transcripts starting negative one recovered.
    let q = GroupQuery {
        dimensions: vec![GroupDimension::FirstEmotion],
        metrics: vec![GroupMetric::RecoveryRate, GroupMetric::AgentEmpathy],
        limit: 10,
        repeat_window_days: 7,
    };
    let g = store
        .grouped(
            &Filters {
                kind: vec!["transcript".into()],
                ..Default::default()
            },
            &q,
            1,
        )
        .await
        .unwrap();
    assert_eq!(
        g.json_rows(&q.dimensions),
        vec![
            serde_json::json!({"first_emotion": "frustration", "recovery_rate": 50.0, "recovery_rate_n": 2, "agent_empathy": 0.6, "agent_empathy_n": 2})
        ]
    );
    drop_database(&store).await;
}

/// The first turn's text and emotions of interaction `x` in the drill-down.
async fn first_turn(store: &Store) -> (String, Vec<String>) {
    let page = store
        .interactions(&Filters::default(), None, 10)
        .await
        .unwrap();
    let x = page.items.iter().find(|i| i.id == "x").unwrap();
    let t = &x.turns[0];
    (
        t.text.clone(),
        t.emotions.iter().map(|l| l.label.clone()).collect(),
    )
}

#[tokio::test]
#[ignore = "needs ClickHouse: run scripts/test.sh"]
async fn drill_down_turns_follow_every_new_version() {
    let store = fresh_store("kept_turns").await;
    // The same database read without kept turns: every answer must match.
    let uncached = Store::connect(ClickHouseConfig {
        turns_cache_mb: 0,
        ..store.config().clone()
    })
    .await
    .unwrap();
    let version_of = |text: &str, emotion: &str| {
        let mut r = record("x", day(12), Some(3), &[emotion], &[]);
        r.interaction.turns[0].text = text.into();
        r
    };
    let write = |text: &str, emotion: &str, version: u64| {
        let mut rows = Rows::default();
        rows.push(&version_of(text, emotion), Utc::now(), version);
        rows
    };
    let both = |store: &Store, uncached: &Store| {
        let (a, b) = (store.clone(), uncached.clone());
        async move {
            let kept = first_turn(&a).await;
            assert_eq!(
                kept,
                first_turn(&b).await,
                "kept turns answer as the tables"
            );
            kept
        }
    };
    let mut others = Rows::default();
    for id in ["y", "z"] {
        others.push(&record(id, day(11), None, &["relief"], &[]), Utc::now(), 1);
    }
    store.write(&others).await.unwrap();

    store
        .write(&write("Primera", "frustration", 1))
        .await
        .unwrap();
    let first = both(&store, &uncached).await;
    assert_eq!(first, ("Primera".into(), vec!["frustration".into()]));
    // Read again (kept now), then a replay with another text: a new version.
    // (A replay's labels replace those with the same key; one the replay
    // lacks stays, as in any read of the tables.)
    assert_eq!(both(&store, &uncached).await, first);
    store
        .write(&write("Segunda", "frustration", 2))
        .await
        .unwrap();
    assert_eq!(
        both(&store, &uncached).await,
        ("Segunda".into(), vec!["frustration".into()])
    );

    // A write in progress: the turns and labels of version 3 are stored,
    // its interaction row not yet. The tables read afresh serve them with
    // version 2's row (as FINAL would); what was kept for version 2 is
    // version 2's own. Turns read while newer ones are stored are not kept:
    // a store that had not kept version 2 serves version 4's turns once they
    // land, not version 3's.
    let fresh = Store::connect(store.config().clone()).await.unwrap();
    let children = |rows: Rows| {
        let client = store.client().clone();
        async move {
            let mut insert = client
                .insert::<escucha_clickhouse::rows::TurnRow>("turns")
                .await
                .unwrap();
            for t in &rows.turns {
                insert.write(t).await.unwrap();
            }
            insert.end().await.unwrap();
            let mut insert = client
                .insert::<escucha_clickhouse::rows::LabelRow>("labels")
                .await
                .unwrap();
            for l in &rows.labels {
                insert.write(l).await.unwrap();
            }
            insert.end().await.unwrap();
        }
    };
    children(write("Tercera", "frustration", 3)).await;
    let tercera = ("Tercera".to_string(), vec!["frustration".to_string()]);
    assert_eq!(first_turn(&uncached).await, tercera);
    assert_eq!(first_turn(&fresh).await, tercera);
    assert_eq!(first_turn(&store).await.0, "Segunda");
    children(write("Cuarta", "frustration", 4)).await;
    assert_eq!(both(&fresh, &uncached).await.0, "Cuarta");
    assert_eq!(first_turn(&store).await.0, "Segunda");
    store
        .write(&write("Cuarta", "frustration", 4))
        .await
        .unwrap();
    assert_eq!(
        both(&store, &uncached).await,
        ("Cuarta".into(), vec!["frustration".into()])
    );

    // Kept turns are what is served: a version's turns are never stored
    // again with other content, but if they were, the kept ones would show.
    let changed = write("Quinta", "frustration", 4);
    children(changed).await;
    // (Merged, so that the tables hold only the last row written.)
    store
        .client()
        .query("OPTIMIZE TABLE turns FINAL")
        .execute()
        .await
        .unwrap();
    assert_eq!(
        first_turn(&store).await,
        ("Cuarta".into(), vec!["frustration".into()])
    );
    assert_eq!(
        first_turn(&uncached).await,
        ("Quinta".into(), vec!["frustration".into()])
    );
    // The other interactions of the page came through unchanged.
    let page = store
        .interactions(&Filters::default(), None, 10)
        .await
        .unwrap();
    let ids: Vec<&str> = page.items.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, vec!["x", "z", "y"]);
    assert!(page.items[1..]
        .iter()
        .all(|i| i.turns[0].emotions[0].label == "relief"));

    drop_database(&store).await;
}

#[tokio::test]
#[ignore = "needs ClickHouse: run scripts/test.sh"]
async fn turns_stored_without_their_labels_take_them_from_labels() {
    let store = fresh_store("turn_labels").await;
    let mut rows = Rows::default();
    rows.push(
        &record("new", day(12), Some(9), &["gratitude"], &[]),
        Utc::now(),
        1,
    );
    store.write(&rows).await.unwrap();
    assert_eq!(rows.turns[0].labelled, 1);
    assert_eq!(rows.turns[0].label_names, vec!["gratitude"]);
    // An interaction stored before turns carried their labels.
    let mut old = Rows::default();
    old.push(
        &record("old", day(11), Some(2), &["frustration"], &["long_wait"]),
        Utc::now(),
        1,
    );
    for t in &mut old.turns {
        t.labelled = 0;
        t.label_kinds.clear();
        t.label_names.clear();
        t.label_confidences.clear();
        t.label_evidence_starts.clear();
        t.label_evidence_ends.clear();
        t.label_engines.clear();
    }
    store.write(&old).await.unwrap();

    let labels = |i: &escucha_clickhouse::query::ServedInteraction| {
        let t = &i.turns[0];
        (
            t.emotions
                .iter()
                .map(|l| (l.label.clone(), l.evidence.clone(), l.engine.clone()))
                .collect::<Vec<_>>(),
            t.themes.iter().map(|l| l.label.clone()).collect::<Vec<_>>(),
        )
    };
    // First a page of labelled turns only (`labels` is then no longer read
    // alongside), then one that needs `labels`.
    let page = store
        .interactions(&Filters::default(), None, 1)
        .await
        .unwrap();
    assert_eq!(page.items[0].id, "new");
    assert_eq!(
        labels(&page.items[0]),
        (
            vec![("gratitude".to_string(), vec![[0, 6]], "test".to_string())],
            vec![]
        )
    );
    let page = store
        .interactions(&Filters::default(), page.next.as_ref(), 1)
        .await
        .unwrap();
    assert_eq!(page.items[0].id, "old");
    assert_eq!(
        labels(&page.items[0]),
        (
            vec![("frustration".to_string(), vec![[0, 6]], "test".to_string())],
            vec!["long_wait".to_string()]
        )
    );
    // Both at once, from a store that reads `labels` alongside and from one
    // that keeps nothing: the same pages.
    let all = store
        .interactions(&Filters::default(), None, 10)
        .await
        .unwrap();
    let other = Store::connect(ClickHouseConfig {
        turns_cache_mb: 0,
        ..store.config().clone()
    })
    .await
    .unwrap();
    for _ in 0..2 {
        let again = other
            .interactions(&Filters::default(), None, 10)
            .await
            .unwrap();
        assert_eq!(
            serde_json::to_value(&again.items).unwrap(),
            serde_json::to_value(&all.items).unwrap()
        );
    }
    assert_eq!(labels(&all.items[1]).1, vec!["long_wait"]);
    // The conversation view takes them from the same places.
    for (id, emotions, themes) in [
        ("new", vec!["gratitude"], vec![]),
        ("old", vec!["frustration"], vec!["long_wait"]),
    ] {
        let detail = store.interaction("surveys", id).await.unwrap().unwrap();
        assert_eq!(detail.turns[0].emotions, emotions, "{id}");
        assert_eq!(detail.turns[0].themes, themes, "{id}");
        assert_eq!(detail.turns[0].labels[0].evidence, vec![[0, 6]], "{id}");
    }

    drop_database(&store).await;
}

#[tokio::test]
#[ignore = "needs ClickHouse: run scripts/test.sh"]
async fn instances_starting_together_both_migrate() {
    let database = format!("escucha_store_race_{}", std::process::id());
    let config = ClickHouseConfig {
        url: url(),
        database,
        ..Default::default()
    };
    let a = Store::connect(config.clone()).await.unwrap();
    let b = Store::connect(config).await.unwrap();
    let bare = a.client().clone().with_database("default");
    bare.query(&format!("DROP DATABASE IF EXISTS {}", a.config().database))
        .execute()
        .await
        .unwrap();
    let (ra, rb) = tokio::join!(a.migrate(), b.migrate());
    ra.expect("first instance migrates");
    rb.expect("second instance migrates");
    assert!(a.migrate().await.unwrap().is_empty());
    bare.query(&format!("DROP DATABASE {}", a.config().database))
        .execute()
        .await
        .unwrap();
}

#[tokio::test]
#[ignore = "needs ClickHouse: run scripts/test.sh"]
async fn kpis_match_hand_counts() {
    let store = fresh_store("kpis").await;
    // (id, customer, day, handle, wait, transfers, bot, escalated, resolved)
    type Ops = (
        &'static str,
        &'static str,
        u32,
        Option<u32>,
        Option<u32>,
        Option<u32>,
        Option<bool>,
        Option<bool>,
        Option<bool>,
    );
    let contacts: [Ops; 4] = [
        (
            "c1",
            "A",
            1,
            Some(100),
            Some(10),
            Some(0),
            Some(true),
            Some(false),
            Some(true),
        ),
        (
            "c2",
            "A",
            3,
            Some(200),
            Some(20),
            Some(1),
            Some(true),
            Some(true),
            Some(false),
        ),
        (
            "c3",
            "A",
            20,
            Some(300),
            None,
            Some(2),
            Some(false),
            Some(false),
            Some(true),
        ),
        ("c4", "B", 5, None, Some(30), None, None, None, None),
    ];
    // Themes, related id and channel of each contact, for the repeat-contact
    // rate (same customer, same issue, any channel, within the window).
    type Issue = (
        &'static str,
        &'static [&'static str],
        Option<&'static str>,
        Channel,
    );
    let issues: [Issue; 4] = [
        ("c1", &["long_wait"], None, Channel::Chat),
        ("c2", &["long_wait", "transfer"], None, Channel::Voice),
        ("c3", &["long_wait"], None, Channel::Email),
        ("c4", &["no_callback"], None, Channel::Chat),
    ];
    let mut rows = Rows::default();
    for ((id, customer, d, handle, wait, transfers, bot, escalated, resolved), issue) in
        contacts.into_iter().zip(issues)
    {
        assert_eq!(id, issue.0);
        let mut r = record(id, day(d), None, &[], issue.1);
        r.interaction.kind = InteractionKind::Transcript;
        r.interaction.channel = issue.3;
        r.interaction.customer_id = Some(customer.into());
        r.interaction.related_id = issue.2.map(Into::into);
        r.interaction.ops = Operational {
            handle_seconds: handle,
            wait_seconds: wait,
            transfers,
            bot_involved: bot,
            escalated,
            resolved,
            ..Default::default()
        };
        rows.push(&r, Utc::now(), 1);
    }
    // More contacts without operational figures, for the repeat-contact rate:
    // (id, customer, day, themes, related id), all at noon.
    type More = (
        &'static str,
        &'static str,
        u32,
        &'static [&'static str],
        Option<&'static str>,
    );
    let more: [More; 6] = [
        ("c5", "B", 6, &["transfer"], None),
        ("c6", "B", 8, &[], Some("c4")),
        ("c7", "C", 10, &[], None),
        ("c8", "C", 11, &[], None),
        ("d1", "D", 12, &["long_wait"], None),
        ("d2", "D", 12, &["long_wait"], None),
    ];
    for (id, customer, d, themes, related) in more {
        let mut r = record(id, day(d), None, &[], themes);
        r.interaction.kind = InteractionKind::Transcript;
        r.interaction.channel = Channel::Whatsapp;
        r.interaction.customer_id = Some(customer.into());
        r.interaction.related_id = related.map(Into::into);
        r.interaction.ops = Operational::default();
        rows.push(&r, Utc::now(), 1);
    }
    // A survey response is not a contact.
    rows.push(&record("s1", day(2), Some(9), &[], &[]), Utc::now(), 1);
    store.write(&rows).await.unwrap();

    let k = store.kpis(&Filters::default(), 7, 1).await.unwrap();
    assert_eq!(k.contacts, 10);
    // AHT (100 + 200 + 300) / 3; ASA (10 + 20 + 30) / 3.
    assert_eq!((k.aht_seconds, k.asa_seconds), (Some(200.0), Some(20.0)));
    // Transferred 2 of 3 with a count; bot: 1 of 2 sessions contained.
    assert_eq!(
        (k.transfer_rate, k.bot_containment),
        (Some(66.7), Some(50.0))
    );
    // Escalated 1 of 3 flagged; resolved 2 of 3 flagged.
    assert_eq!(
        (k.escalation_rate, k.resolution_rate),
        (Some(33.3), Some(66.7))
    );
    // Repeat contacts, 7-day window (same customer, same issue, any channel):
    //   c1 A day 1 long_wait: nothing earlier → no.
    //   c2 A day 3 long_wait+transfer: c1 two days earlier shares long_wait → REPEAT.
    //   c3 A day 20 long_wait: same theme as c1/c2 but 17 and 19 days later → no.
    //   c4 B day 5 no_callback: nothing earlier → no.
    //   c5 B day 6 transfer: c4 a day earlier, same customer but another issue
    //      (A's transfer on day 3 is another customer) → no.
    //   c6 B day 8, no theme, related_id c4 (three days earlier) → REPEAT.
    //   c7 C day 10, c8 C day 11: no themes, no related id → never repeats.
    //   d1, d2 D day 12 at the same second, both long_wait: the tie goes to the
    //      smaller id, so d1 is earlier than d2 → d2 REPEAT, d1 no.
    // 3 repeats of 10 keyed contacts (the survey s1 is not a contact).
    assert_eq!(k.repeat_contact_rate, Some(30.0));
    // A 30-day window makes c3 (day 20) a repeat of c2 (day 3) too → 4 of 10;
    // c5 still shares no issue with c4.
    assert_eq!(
        store
            .kpis(&Filters::default(), 30, 1)
            .await
            .unwrap()
            .repeat_contact_rate,
        Some(40.0)
    );
    // Filters choose the contacts counted, not the earlier ones: on WhatsApp
    // (c5–c8, d1, d2), c6 still repeats its chat contact c4 (cross-channel),
    // and d2 repeats d1 → 2 of 6.
    let whatsapp = Filters {
        channel: vec!["whatsapp".into()],
        ..Default::default()
    };
    assert_eq!(
        store
            .kpis(&whatsapp, 7, 1)
            .await
            .unwrap()
            .repeat_contact_rate,
        Some(33.3)
    );
    // Small samples are withheld.
    assert_eq!(
        store
            .kpis(&Filters::default(), 7, 5)
            .await
            .unwrap()
            .aht_seconds,
        None
    );
    // The grouped query computes the same KPIs per group.
    let q = GroupQuery {
        dimensions: vec![],
        metrics: vec![
            GroupMetric::AhtSeconds,
            GroupMetric::AsaSeconds,
            GroupMetric::TransferRate,
            GroupMetric::RepeatContactRate,
        ],
        limit: 10,
        repeat_window_days: 7,
    };
    let g = store.grouped(&Filters::default(), &q, 1).await.unwrap();
    assert_eq!(
        g.json_rows(&q.dimensions),
        vec![serde_json::json!({
            "aht_seconds": 200.0, "aht_seconds_n": 3, "asa_seconds": 20.0, "asa_seconds_n": 3,
            "transfer_rate": 66.7, "transfer_rate_n": 3, "repeat_contact_rate": 30.0, "repeat_contact_rate_n": 10,
        })]
    );
    // Per day, from the cases above: c2 (day 3), c6 (day 8) and d2 (day 12,
    // one of two) repeat; day 2 has only the survey, so no keyed contact.
    let q = GroupQuery {
        dimensions: vec![GroupDimension::Day],
        metrics: vec![GroupMetric::Interactions, GroupMetric::RepeatContactRate],
        limit: 10,
        repeat_window_days: 7,
    };
    let rows = store
        .grouped(&Filters::default(), &q, 1)
        .await
        .unwrap()
        .json_rows(&q.dimensions);
    let repeat: Vec<(&str, Option<f64>)> = rows
        .iter()
        .map(|r| {
            (
                r["day"].as_str().unwrap(),
                r["repeat_contact_rate"].as_f64(),
            )
        })
        .collect();
    assert_eq!(
        repeat,
        vec![
            ("2026-10-01", Some(0.0)),
            ("2026-10-02", None),
            ("2026-10-03", Some(100.0)),
            ("2026-10-05", Some(0.0)),
            ("2026-10-06", Some(0.0)),
            ("2026-10-08", Some(100.0)),
            ("2026-10-10", Some(0.0)),
            ("2026-10-11", Some(0.0)),
            ("2026-10-12", Some(50.0)),
            ("2026-10-20", Some(0.0)),
        ]
    );
    // Per theme (a contact counts under each of its themes): long_wait c1, c2,
    // c3, d1, d2 with c2 and d2 repeats → 40.0; transfer c2 (repeat), c5 →
    // 50.0; no_callback c4 → 0.0. Contacts without themes fall out.
    let q = GroupQuery {
        dimensions: vec![GroupDimension::Theme],
        metrics: vec![GroupMetric::RepeatContactRate],
        limit: 10,
        repeat_window_days: 7,
    };
    let rows = store
        .grouped(&Filters::default(), &q, 1)
        .await
        .unwrap()
        .json_rows(&q.dimensions);
    assert_eq!(
        rows,
        vec![
            serde_json::json!({"theme": "long_wait", "repeat_contact_rate": 40.0, "repeat_contact_rate_n": 5}),
            serde_json::json!({"theme": "transfer", "repeat_contact_rate": 50.0, "repeat_contact_rate_n": 2}),
            serde_json::json!({"theme": "no_callback", "repeat_contact_rate": 0.0, "repeat_contact_rate_n": 1}),
        ]
    );
    drop_database(&store).await;
}

#[tokio::test]
#[ignore = "needs ClickHouse: run scripts/test.sh"]
async fn anomalies_and_sent_alerts() {
    let store = fresh_store("anomalies").await;
    // 20 days (Oct 1–20) with 10 answers a day, long_wait on 2 or 4 of them
    // alternately; Oct 21: 20 answers, 12 with long_wait.
    let mut rows = Rows::default();
    let at = |d: u32| {
        Utc.with_ymd_and_hms(2026, 10, 1, 9, 0, 0).unwrap() + chrono::Duration::days(i64::from(d))
    };
    for d in 0..21u32 {
        let (total, with) = match d {
            20 => (20, 12),
            _ if d % 2 == 0 => (10, 2),
            _ => (10, 4),
        };
        for i in 0..total {
            let themes: &[&str] = if i < with { &["long_wait"] } else { &[] };
            rows.push(
                &record(&format!("x{d}-{i}"), at(d), Some(8), &[], themes),
                Utc::now(),
                1,
            );
        }
    }
    store.write(&rows).await.unwrap();
    let day21 = chrono::NaiveDate::from_ymd_opt(2026, 10, 21).unwrap();
    let found = store
        .anomalies(
            &Filters::default(),
            day21,
            day21,
            &AnomalySettings::default(),
        )
        .await
        .unwrap();
    // Volume 12 vs mean 3 (sd 1.03): z 8.77, overall and in channel chat and queue
    // billing (the product is empty: no segment). Share 60 % vs 30 % (sd 10.26): z 2.92.
    let ids: Vec<&str> = found.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(
        ids,
        vec![
            "2026-10-21/theme/long_wait/all/volume",
            "2026-10-21/theme/long_wait/channel=chat/volume",
            "2026-10-21/theme/long_wait/queue=billing/volume",
            "2026-10-21/theme/long_wait/all/share",
            "2026-10-21/theme/long_wait/channel=chat/share",
            "2026-10-21/theme/long_wait/queue=billing/share",
        ]
    );
    assert_eq!(
        (found[0].z, found[0].baseline_mean, found[0].value),
        (8.77, 3.0, 12.0)
    );
    assert_eq!(found[3].z, 2.92);
    // Filters narrow the data: no voice interactions, no anomalies.
    let voice = Filters {
        channel: vec!["voice".into()],
        ..Default::default()
    };
    assert!(store
        .anomalies(&voice, day21, day21, &AnomalySettings::default())
        .await
        .unwrap()
        .is_empty());
    // Sent alerts are remembered per webhook.
    assert!(store.alerts_sent("http://hook").await.unwrap().is_empty());
    store
        .record_alert_sent(ids[0], "http://hook")
        .await
        .unwrap();
    store
        .record_alert_sent(ids[0], "http://hook")
        .await
        .unwrap();
    let sent = store.alerts_sent("http://hook").await.unwrap();
    assert_eq!(
        sent.into_iter().collect::<Vec<_>>(),
        vec![ids[0].to_string()]
    );
    assert!(store.alerts_sent("http://other").await.unwrap().is_empty());
    drop_database(&store).await;
}
