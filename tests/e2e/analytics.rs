//! The analytics endpoints the dashboard uses, anomaly alerts delivered to a
//! webhook once, and `escucha demo` into a test's own topics.

use crate::harness::*;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const GRATEFUL: &str = "Muito obrigado, a atendente foi super atenciosa e resolveu tudo!";
const WAITED: &str = "Esperé más de una hora en espera y nadie me resolvió nada";

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs Kafka and ClickHouse: run scripts/test.sh"]
async fn analytics_endpoints_serve_hand_computed_figures_with_roles_and_csv() {
    let world = World::new("analytics", 1);
    let surveys = world.topic("surveys");
    let transcripts = world.topic("transcripts");
    create_topics(&[surveys.clone(), transcripts.clone()], 1).await;
    let ingester = world.spawn("ingester", free_port());
    let producer = producer();
    // 40 surveys: NPS 10 and 8 with a grateful comment, 3 and 0 after a long wait.
    for i in 0..40u32 {
        let (nps, comment) = match i % 4 {
            0 => (10, GRATEFUL),
            1 => (8, GRATEFUL),
            2 => (3, WAITED),
            _ => (0, WAITED),
        };
        let body = survey(&format!("s-{i}"), "C-1", Some(nps), comment, 1 + i % 28);
        produce(&producer, &surveys, "C-1", &body).await;
    }
    let t = transcript(
        "t-1",
        "C-2",
        &[
            (
                "customer",
                "Llevo tres días sin internet y ya llamé dos veces",
            ),
            ("agent", "Lamento mucho la situación, lo reviso ahora mismo"),
            ("customer", "Gracias, por fin alguien me ayuda"),
        ],
    );
    produce(&producer, &transcripts, "C-2", &t).await;
    produce(&producer, &surveys, "bad", "{not json at all").await;
    flush(&producer);
    wait_for(
        "41 interactions",
        Duration::from_secs(120),
        &ingester,
        || async {
            served_interactions(&ingester, "")
                .await
                .filter(|n| *n >= 41)
        },
    )
    .await;
    let url = |p: &str| ingester.url(p);

    // whoami: each role; 401 without a token.
    for role in ["viewer", "analyst", "admin"] {
        let (status, body) = get(&url("/api/v1/whoami"), Some(&format!("{role}-token"))).await;
        assert_eq!(status, 200);
        assert_eq!(
            (body["role"].as_str(), body["open"].as_bool()),
            (Some(role), Some(false))
        );
    }
    assert_eq!(get(&url("/api/v1/whoami"), None).await.0, 401);

    // Impact of long_wait on NPS: with it 20 answers, all detractors (−100, var 0);
    // without it 20 answers, 10 promoters and 10 passives (50, var (0.5 − 0.25) / 20);
    // all 40 → −25. Impact = all − without = −75 (= 1/2 × −150),
    // CI −75 ± 1/2 × 1.96 × √0.0125 × 100 = [−86.0, −64.0].
    let (status, imp) = get(
        &url("/api/v1/impact?metric=nps&by=theme&kind=survey"),
        Some("viewer-token"),
    )
    .await;
    assert_eq!(status, 200, "{imp}");
    assert_eq!(imp["overall"], json!({"score": -25.0, "n": 40}));
    let lw = imp["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["label"] == "long_wait")
        .unwrap_or_else(|| panic!("no long_wait in {imp}"));
    assert_eq!(lw["with"], json!({"score": -100.0, "n": 20}), "{imp}");
    assert_eq!(lw["without"], json!({"score": 50.0, "n": 20}));
    assert_eq!(lw["impact"], -75.0);
    assert_eq!(lw["ci95"], json!([-86.0, -64.0]));
    assert_eq!(imp["min_n"], 5);

    // Grouped query, JSON and CSV.
    let (status, q) = get(
        &url("/api/v1/query?dimensions=theme,channel&metrics=interactions,nps&kind=survey"),
        Some("viewer-token"),
    )
    .await;
    assert_eq!(status, 200, "{q}");
    let row = q["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["theme"] == "long_wait")
        .unwrap();
    assert_eq!(
        row,
        &json!({"theme": "long_wait", "channel": "chat", "interactions": 20, "nps": -100.0, "nps_n": 20})
    );
    let (status, ct, csv) = get_text(
        &url("/api/v1/query?dimensions=theme,channel&metrics=interactions,nps&kind=survey&format=csv"),
        Some("viewer-token"),
    )
    .await;
    assert_eq!(status, 200);
    assert!(ct.starts_with("text/csv"), "{ct}");
    assert!(
        csv.starts_with("theme,channel,interactions,nps,nps_n\r\n"),
        "{csv}"
    );
    assert!(csv.contains("long_wait,chat,20,-100.0,20\r\n"), "{csv}");
    let (status, err) = get(
        &url("/api/v1/query?dimensions=theme,fax&metrics=nps,joy&limit=0&bogus=1"),
        Some("viewer-token"),
    )
    .await;
    assert_eq!(status, 400);
    let params: Vec<&str> = err["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["param"].as_str().unwrap())
        .collect();
    assert_eq!(
        params,
        vec!["bogus", "dimensions", "metrics", "limit"],
        "{err}"
    );

    // Drill-down as CSV: analysts only.
    let (status, ct, csv) = get_text(
        &url("/api/v1/interactions?format=csv&kind=survey"),
        Some("analyst-token"),
    )
    .await;
    assert_eq!(status, 200);
    assert!(ct.starts_with("text/csv"));
    assert_eq!(csv.lines().count(), 41, "header and 40 surveys");
    assert!(csv.starts_with("occurred_at,pipeline,interaction_id,"));
    assert_eq!(
        get_text(
            &url("/api/v1/interactions?format=csv"),
            Some("viewer-token")
        )
        .await
        .0,
        403
    );

    // One conversation: per-turn labels with evidence, empathy, recovery.
    let (status, conv) = get(
        &url("/api/v1/interactions/transcripts/t-1"),
        Some("analyst-token"),
    )
    .await;
    assert_eq!(status, 200, "{conv}");
    assert_eq!(conv["interaction_id"], "t-1");
    assert_eq!(conv["turns"].as_array().unwrap().len(), 3);
    assert_eq!(conv["turns"][1]["speaker"], "agent");
    let agent_kinds: Vec<&str> = conv["turns"][1]["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["kind"].as_str().unwrap())
        .collect();
    assert!(agent_kinds.contains(&"empathy"), "{conv}");
    assert!(
        conv["turns"][2]["labels"][0]["evidence"][0].is_array(),
        "{conv}"
    );
    assert!(conv["agent_empathy"].is_number());
    assert!(conv["recovered"].is_boolean() || conv["recovered"].is_null());
    assert_eq!(
        get(
            &url("/api/v1/interactions/transcripts/nope"),
            Some("analyst-token")
        )
        .await
        .0,
        404
    );
    assert_eq!(
        get(
            &url("/api/v1/interactions/transcripts/t-1"),
            Some("viewer-token")
        )
        .await
        .0,
        403
    );

    // Time series per month: volume and scores with n.
    let (status, ts) = get(
        &url("/api/v1/timeseries?interval=month&from=2026-10-01&to=2026-11-01"),
        Some("viewer-token"),
    )
    .await;
    assert_eq!(status, 200, "{ts}");
    let p = &ts["points"][0];
    assert_eq!(
        (p["volume"].as_u64(), p["nps"]["n"].as_u64()),
        (Some(41), Some(40))
    );
    assert_eq!(p["nps"]["score"], -25.0);
    assert!(p["csat"]["percent"].is_null(), "no CSAT answers: withheld");

    // Net emotion (KPIS.md) in the summary.
    let (_, s) = get(&url("/api/v1/summary"), Some("viewer-token")).await;
    assert!(s["summary"]["net_emotion"]["score"].is_number(), "{s}");

    // Pipelines: the dead letter with its reason and position, throughput.
    let (_, pipes) = get(&url("/api/v1/pipelines"), Some("viewer-token")).await;
    let sp = pipes["pipelines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "surveys")
        .unwrap();
    let dl = &sp["recent_dead_letters"][0];
    assert_eq!(dl["kind"], "invalid_json", "{sp}");
    assert_eq!(dl["topic"], surveys);
    assert!(dl["offset"].is_number() && dl["at"].is_string());
    assert!(!dl["reason"].as_str().unwrap().contains("not json at all"));
    assert!(sp["throughput_per_s"].is_number());

    // Anomalies answer (no history here: none) and every new route is documented.
    let (status, a) = get(&url("/api/v1/anomalies?days=7"), Some("viewer-token")).await;
    assert_eq!(status, 200, "{a}");
    assert!(a["anomalies"].is_array());
    // `limit` keeps the strongest; `total` counts them all.
    let all = a["anomalies"].as_array().unwrap().len() as u64;
    assert_eq!(a["total"].as_u64(), Some(all));
    let (status, one) = get(
        &url("/api/v1/anomalies?days=7&limit=1"),
        Some("viewer-token"),
    )
    .await;
    assert_eq!(status, 200, "{one}");
    assert_eq!(one["total"].as_u64(), Some(all));
    assert_eq!(
        one["anomalies"].as_array().unwrap().first(),
        a["anomalies"].as_array().unwrap().first()
    );
    assert!(one["anomalies"].as_array().unwrap().len() <= 1);
    assert_eq!(
        get(&url("/api/v1/anomalies?days=0"), Some("viewer-token"))
            .await
            .0,
        400
    );
    // A year (the dashboard's overview range) is not refused: its last 92 days are checked.
    let (status, a) = get(
        &url("/api/v1/anomalies?from=2025-01-01&to=2026-01-01"),
        Some("viewer-token"),
    )
    .await;
    assert_eq!(status, 200, "{a}");
    assert_eq!(
        (&a["from"], &a["checked_from"], &a["to"]),
        (
            &json!("2025-01-01"),
            &json!("2025-10-01"),
            &json!("2025-12-31")
        ),
        "{a}"
    );
    let (_, doc) = get(&url("/openapi.json"), None).await;
    for path in [
        "/api/v1/whoami",
        "/api/v1/impact",
        "/api/v1/query",
        "/api/v1/anomalies",
        "/api/v1/interactions/{pipeline}/{id}",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} not documented");
    }
    world.cleanup().await;
}

/// A webhook receiver: records every POST body and the status it answered;
/// answers 500 to the first request, 200 to the others.
struct Receiver {
    url: String,
    posts: Arc<Mutex<Vec<(u16, Value)>>>,
}

impl Receiver {
    fn start() -> Receiver {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!(
            "http://{}/hooks/T000/SECRET",
            listener.local_addr().unwrap()
        );
        let posts: Arc<Mutex<Vec<(u16, Value)>>> = Arc::default();
        let seen = posts.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut length = 0usize;
                let mut line = String::new();
                loop {
                    line.clear();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        break;
                    }
                    let l = line.trim_end();
                    if l.is_empty() {
                        break;
                    }
                    if let Some((k, v)) = l.split_once(':') {
                        if k.eq_ignore_ascii_case("content-length") {
                            length = v.trim().parse().unwrap_or(0);
                        }
                    }
                }
                let mut body = vec![0u8; length];
                let _ = reader.read_exact(&mut body);
                let mut posts = seen.lock().unwrap();
                let status = if posts.is_empty() { 500 } else { 200 };
                posts.push((status, serde_json::from_slice(&body).unwrap_or(Value::Null)));
                drop(posts);
                let reason = if status == 200 {
                    "OK"
                } else {
                    "Internal Server Error"
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} {reason}\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"
                );
            }
        });
        Receiver { url, posts }
    }

    /// The anomaly id of each delivered (200) post.
    fn delivered(&self) -> Vec<String> {
        self.posts
            .lock()
            .unwrap()
            .iter()
            .filter(|(s, _)| *s == 200)
            .map(|(_, b)| anomaly_id(b))
            .collect()
    }

    fn all(&self) -> Vec<(u16, Value)> {
        self.posts.lock().unwrap().clone()
    }
}

/// The id in the message's context block.
fn anomaly_id(body: &Value) -> String {
    let ctx = body["blocks"][1]["elements"][0]["text"]
        .as_str()
        .unwrap_or_default();
    ctx.split('`').nth(1).unwrap_or_default().to_string()
}

fn dated_survey(id: &str, days_ago: i64, comment: &str) -> String {
    let at = (chrono::Utc::now() - chrono::Duration::days(days_ago))
        .date_naive()
        .and_hms_opt(10, 0, 0)
        .unwrap()
        .and_utc();
    json!({
        "response_id": id,
        "submitted_at": at.to_rfc3339(),
        "channel": "chat",
        "customer_id": "C-9",
        "queue": "billing",
        "agent_id": "ag-001",
        "product": "fiber-300",
        "nps": 5,
        "comment": comment,
    })
    .to_string()
}

fn log_count(ingester: &Ingester, needle: &str) -> usize {
    std::fs::read_to_string(&ingester.log)
        .unwrap_or_default()
        .matches(needle)
        .count()
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs Kafka and ClickHouse: run scripts/test.sh"]
async fn anomalies_are_listed_and_posted_to_the_webhook_once() {
    let world = World::new("alerts", 1);
    let surveys = world.topic("surveys");
    create_topics(&[surveys.clone(), world.topic("transcripts")], 1).await;
    let producer = producer();
    // 21 baseline days (22 to 2 days ago): one long wait and four thanks a day.
    // Yesterday: twelve long waits and four thanks.
    let mut n = 0;
    for days_ago in 1..=22i64 {
        let waits = if days_ago == 1 { 12 } else { 1 };
        for i in 0..(waits + 4) {
            let comment = if i < waits {
                WAITED
            } else {
                "Todo bien, gracias"
            };
            n += 1;
            let body = dated_survey(&format!("a-{days_ago}-{i}"), days_ago, comment);
            produce(&producer, &surveys, "C-9", &body).await;
        }
    }
    flush(&producer);
    // Store everything first, so the alerting run sees whole days.
    {
        let ingester = world.spawn("ingest", free_port());
        wait_for(
            "all served",
            Duration::from_secs(120),
            &ingester,
            || async { served_interactions(&ingester, "").await.filter(|s| *s >= n) },
        )
        .await;
    }

    let receiver = Receiver::start();
    let alerts = format!(
        "[alerts]\nwebhooks = [\"{}\"]\ninterval_seconds = 1\nlookback_days = 3\ndashboard_url = \"http://dash.example\"\n",
        receiver.url
    );
    let mut first = world.spawn_with_config("alerts-a", free_port(), &alerts);
    let (status, listed) = get(&first.url("/api/v1/anomalies?days=3"), Some("viewer-token")).await;
    let listed = if status == 200 {
        listed
    } else {
        wait_for(
            "anomalies listed",
            Duration::from_secs(60),
            &first,
            || async {
                let (s, b) =
                    get(&first.url("/api/v1/anomalies?days=3"), Some("viewer-token")).await;
                (s == 200).then_some(b)
            },
        )
        .await
    };
    let mut ids: Vec<String> = listed["anomalies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_string())
        .collect();
    let yesterday = (chrono::Utc::now() - chrono::Duration::days(1))
        .date_naive()
        .to_string();
    let lw = format!("{yesterday}/theme/long_wait/all/volume");
    assert!(ids.contains(&lw), "{lw} not in {ids:?}");
    let top = &listed["anomalies"].as_array().unwrap()[0];
    assert!(top["z"].as_f64().unwrap().abs() > 2.0);
    // Theme and segment filters narrow the list.
    let (_, narrowed) = get(
        &first.url("/api/v1/anomalies?days=3&theme=long_wait&measure=volume"),
        Some("viewer-token"),
    )
    .await;
    assert!(narrowed["anomalies"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["label"] == "long_wait" && a["measure"] == "volume"));
    assert_eq!(
        narrowed["anomalies"].as_array().unwrap().len(),
        4,
        "all, channel, queue, product"
    );

    // Every anomaly delivered; the first post failed (500) and was retried.
    wait_for(
        "every anomaly delivered",
        Duration::from_secs(60),
        &first,
        || async { (receiver.delivered().len() >= ids.len()).then_some(()) },
    )
    .await;
    // Several more detection runs: nothing is sent again.
    let runs = log_count(&first, "anomaly check done");
    wait_for("two more runs", Duration::from_secs(30), &first, || async {
        (log_count(&first, "anomaly check done") >= runs + 2).then_some(())
    })
    .await;
    let mut delivered = receiver.delivered();
    delivered.sort();
    ids.sort();
    assert_eq!(delivered, ids, "each anomaly delivered exactly once");
    let all = receiver.all();
    assert_eq!(all[0].0, 500);
    assert_eq!(all.len(), ids.len() + 1, "one retry, nothing else");
    let text = all
        .iter()
        .find(|(_, b)| anomaly_id(b) == lw)
        .map(|(_, b)| b["text"].as_str().unwrap().to_string())
        .unwrap();
    assert!(
        text.contains("long_wait") && text.contains(&yesterday),
        "{text}"
    );
    assert!(text.contains("vs baseline 1 ± 1"), "{text}");
    assert!(
        text.contains("http://dash.example/#/overview?from="),
        "{text}"
    );
    let log = std::fs::read_to_string(&first.log).unwrap();
    assert!(!log.contains("SECRET"), "webhook secret logged");
    first.kill();

    // A restart remembers what was sent.
    let second = world.spawn_with_config("alerts-b", free_port(), &alerts);
    wait_for(
        "two runs after the restart",
        Duration::from_secs(60),
        &second,
        || async { (log_count(&second, "anomaly check done") >= 2).then_some(()) },
    )
    .await;
    assert_eq!(
        receiver.all().len(),
        ids.len() + 1,
        "nothing resent after a restart"
    );
    world.cleanup().await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs Kafka and ClickHouse: run scripts/test.sh"]
async fn demo_produces_to_the_topics_of_the_pipelines_given() {
    let world = World::new("demo", 1);
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_escucha"))
        .args([
            "demo",
            "--pipelines",
            world.pipelines().to_str().unwrap(),
            "--interactions",
            "120",
            "--days",
            "10",
            "--malformed",
            "2",
        ])
        .env("ESCUCHA_KAFKA_BROKERS", kafka())
        .env("ESCUCHA_CONFIG", world.write_config(""))
        .output()
        .expect("running escucha demo");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("skipping"),
        "formats without a pipeline are skipped: {stderr}"
    );
    let ingester = world.spawn("ingester", free_port());
    for kind in ["survey", "transcript"] {
        wait_for(kind, Duration::from_secs(120), &ingester, || async {
            served_interactions(&ingester, &format!("?kind={kind}"))
                .await
                .filter(|n| *n > 0)
        })
        .await;
    }
    world.cleanup().await;
}
