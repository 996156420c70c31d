//! Exact counts, dead letters, redaction and crash recovery.

use crate::harness::*;
use std::time::Duration;

/// PII strings sprinkled into the texts; none may reach ClickHouse or the API.
const PII: &[&str] = &[
    "maria.lopez@example.com",
    "+34 612 345 678",
    "4111 1111 1111 1111",
    "123.456.789-09",
    "12345678Z",
    "HEGG560427MVZRRL04",
    "20-12345678-6",
];

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs Kafka and ClickHouse: run scripts/test.sh"]
async fn produced_messages_are_served_exactly_pii_is_redacted_and_malformed_ones_are_dead_lettered()
{
    let world = World::new("delivery", 3);
    let surveys = world.topic("surveys");
    let transcripts = world.topic("transcripts");
    create_topics(&[surveys.clone(), transcripts.clone()], 3).await;
    let ingester = world.spawn("ingester", free_port());
    let producer = producer();

    // 120 surveys: NPS 10 for i % 4 == 0, 8 for i % 4 == 1, 3 for i % 4 == 2, none for i % 4 == 3
    // → 30 promoters, 30 passives, 30 detractors out of 90 answers.
    let comments = [
        "Esperé más de una hora en espera y nadie me resolvió nada",
        "Muito obrigado, a atendente foi super atenciosa e resolveu tudo!",
        "I was transferred three times and had to repeat my account number every time",
        "Todo bien, gracias",
    ];
    for i in 0..120u32 {
        let nps = match i % 4 {
            0 => Some(10),
            1 => Some(8),
            2 => Some(3),
            _ => None,
        };
        let pii = PII[i as usize % PII.len()];
        let comment = format!(
            "{} — mis datos: {pii}",
            comments[i as usize % comments.len()]
        );
        produce(
            &producer,
            &surveys,
            &format!("C-{}", i % 17),
            &survey(
                &format!("s-{i}"),
                &format!("C-{}", i % 17),
                nps,
                &comment,
                1 + i % 28,
            ),
        )
        .await;
    }
    for i in 0..30u32 {
        let t = transcript(
            &format!("t-{i}"),
            &format!("C-{}", i % 17),
            &[
                ("customer", "Llevo tres días sin internet y ya llamé dos veces, escríbanme a maria.lopez@example.com"),
                ("agent", "Lamento mucho la situación, lo reviso ahora mismo"),
                ("customer", "Gracias, por fin alguien me ayuda"),
            ],
        );
        produce(&producer, &transcripts, &format!("C-{i}"), &t).await;
    }
    // Malformed: not JSON, NPS out of range, missing id, transcript without turns.
    produce(&producer, &surveys, "bad", "{this is not json").await;
    produce(
        &producer,
        &surveys,
        "bad",
        &survey("s-bad-1", "C-1", Some(14), "ok", 3),
    )
    .await;
    produce(
        &producer,
        &surveys,
        "bad",
        r#"{"submitted_at":"2026-10-01T10:00:00Z","channel":"chat","nps":5}"#,
    )
    .await;
    produce(
        &producer,
        &transcripts,
        "bad",
        &transcript("t-bad", "C-1", &[]),
    )
    .await;
    flush(&producer);

    let served = wait_for(
        "150 interactions served",
        Duration::from_secs(120),
        &ingester,
        || async {
            served_interactions(&ingester, "")
                .await
                .filter(|n| *n >= 150)
        },
    )
    .await;
    assert_eq!(served, 150);

    let (status, body) = get(&ingester.url("/api/v1/summary"), Some("viewer-token")).await;
    assert_eq!(status, 200);
    let s = &body["summary"];
    assert_eq!(s["surveys"], 120);
    assert_eq!(s["transcripts"], 30);
    assert_eq!(s["nps"]["n"], 90);
    assert_eq!(s["nps"]["promoters"], 30);
    assert_eq!(s["nps"]["detractors"], 30);
    assert_eq!(s["nps"]["score"], 0.0);
    let themes: Vec<&str> = s["themes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["label"].as_str().unwrap())
        .collect();
    assert!(themes.contains(&"long_wait"), "{themes:?}");

    // Filters narrow the numbers exactly.
    assert_eq!(
        served_interactions(&ingester, "?kind=transcript").await,
        Some(30)
    );
    assert_eq!(
        served_interactions(&ingester, "?from=2026-10-01&to=2026-10-02").await,
        Some(120 / 28 + 1)
    );

    // Dead letters: the four malformed messages with reason and position.
    let dlq = read_topic(&world.topic("surveys.dlq"), 3, Duration::from_secs(30));
    assert_eq!(dlq.len(), 3, "survey dead letters");
    let kinds: Vec<String> = dlq
        .iter()
        .map(|m| {
            m.headers
                .iter()
                .find(|(k, _)| k == "escucha.error.kind")
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        })
        .collect();
    assert!(kinds.contains(&"invalid_json".to_string()), "{kinds:?}");
    assert!(kinds.contains(&"out_of_range".to_string()), "{kinds:?}");
    assert!(kinds.contains(&"missing_field".to_string()), "{kinds:?}");
    for m in &dlq {
        for header in [
            "escucha.error",
            "escucha.source.topic",
            "escucha.source.partition",
            "escucha.source.offset",
        ] {
            assert!(
                m.headers.iter().any(|(k, v)| k == header && !v.is_empty()),
                "missing {header}"
            );
        }
    }
    assert!(
        dlq.iter().any(|m| m.payload == "{this is not json"),
        "payload kept unchanged"
    );
    assert_eq!(
        read_topic(&world.topic("transcripts.dlq"), 1, Duration::from_secs(30)).len(),
        1
    );

    // No PII in any stored column, nor in the drill-down.
    let interactions = clickhouse_query(&format!(
        "SELECT * FROM {}.interactions FORMAT TSV",
        world.database
    ))
    .await
    .unwrap();
    let turns = clickhouse_query(&format!(
        "SELECT * FROM {}.turns FORMAT TSV",
        world.database
    ))
    .await
    .unwrap();
    assert!(
        turns.contains("[EMAIL]") || turns.contains("EMAIL"),
        "placeholders present"
    );
    for pii in PII {
        assert!(!interactions.contains(pii), "{pii} stored in interactions");
        assert!(!turns.contains(pii), "{pii} stored in turns");
    }
    assert!(!interactions.contains("\tC-1\t"), "raw customer id stored");

    let (status, page) = get(
        &ingester.url("/api/v1/interactions?limit=200"),
        Some("analyst-token"),
    )
    .await;
    assert_eq!(status, 200);
    let text = page.to_string();
    assert_eq!(page["items"].as_array().unwrap().len(), 150);
    for pii in PII {
        assert!(!text.contains(pii), "{pii} served by the drill-down");
    }
    // Contact KPIs: the 30 transcripts each waited 1,500 s, were handled in 600 s,
    // transferred twice and left unresolved.
    let (status, kpis) = get(&ingester.url("/api/v1/kpis"), Some("viewer-token")).await;
    assert_eq!(status, 200);
    let k = &kpis["kpis"];
    assert_eq!(k["contacts"], 30);
    assert_eq!(
        (k["asa_seconds"].as_f64(), k["aht_seconds"].as_f64()),
        (Some(1500.0), Some(600.0))
    );
    assert_eq!(
        (k["transfer_rate"].as_f64(), k["resolution_rate"].as_f64()),
        (Some(100.0), Some(0.0))
    );
    assert_eq!(
        get(
            &ingester.url("/api/v1/kpis?repeat_window_days=0"),
            Some("viewer-token")
        )
        .await
        .0,
        400
    );

    // Roles: viewers see aggregates, not verbatims; no token, no access.
    assert_eq!(
        get(&ingester.url("/api/v1/interactions"), Some("viewer-token"))
            .await
            .0,
        403
    );
    assert_eq!(get(&ingester.url("/api/v1/summary"), None).await.0, 401);
    assert_eq!(
        get(&ingester.url("/api/v1/summary"), Some("wrong")).await.0,
        401
    );
    // Bad filters: 400 naming every problem.
    let (status, err) = get(
        &ingester.url("/api/v1/summary?channel=fax&emotion=joy&from=ayer"),
        Some("viewer-token"),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(err["details"].as_array().unwrap().len(), 3, "{err}");

    world.cleanup().await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs Kafka and ClickHouse: run scripts/test.sh"]
async fn killed_ingester_loses_nothing_and_counts_nothing_twice() {
    const TOTAL: u32 = 3000;
    let world = World::new("crash", 3);
    let surveys = world.topic("surveys");
    create_topics(&[surveys.clone(), world.topic("transcripts")], 3).await;
    let mut ingester = world.spawn("ingester", free_port());
    let producer = producer();
    for i in 0..TOTAL {
        let nps = Some((i % 11) as u8);
        let body = survey(
            &format!("s-{i}"),
            &format!("C-{}", i % 101),
            nps,
            "Tardaron mucho en atenderme pero al final lo resolvieron",
            1 + i % 28,
        );
        produce(&producer, &surveys, &format!("C-{}", i % 101), &body).await;
    }
    flush(&producer);

    // Kill it hard once part of the stream is stored.
    let partial = wait_for(
        "some interactions stored",
        Duration::from_secs(120),
        &ingester,
        || async { served_interactions(&ingester, "").await.filter(|n| *n > 0) },
    )
    .await;
    ingester.kill();
    eprintln!("killed the ingester with {partial} of {TOTAL} served");

    let port = free_port();
    // The same instance comes back.
    let restarted = world.spawn("ingester", port);
    let served = wait_for(
        "all interactions served",
        Duration::from_secs(180),
        &restarted,
        || async {
            served_interactions(&restarted, "")
                .await
                .filter(|n| *n >= TOTAL as u64)
        },
    )
    .await;
    // Wait for in-flight batches to settle, then check again: never more than TOTAL.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(served, TOTAL as u64);
    assert_eq!(
        served_interactions(&restarted, "").await,
        Some(TOTAL as u64)
    );
    let (_, body) = get(&restarted.url("/api/v1/summary"), Some("viewer-token")).await;
    // NPS answers 0..=10 evenly: 3000 answers, each value 272 or 273 times.
    assert_eq!(body["summary"]["nps"]["n"], TOTAL);
    let distinct = clickhouse_query(&format!(
        "SELECT uniqExact(interaction_id) FROM {}.interactions",
        world.database
    ))
    .await
    .unwrap();
    assert_eq!(distinct.trim(), TOTAL.to_string());
    let raw = clickhouse_query(&format!(
        "SELECT count() FROM {}.interactions",
        world.database
    ))
    .await
    .unwrap();
    eprintln!(
        "rows before merge: {} (replays absorbed by FINAL)",
        raw.trim()
    );
    world.cleanup().await;
}
