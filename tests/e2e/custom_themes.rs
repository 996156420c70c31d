//! A product team drops a custom theme file while escucha runs: it is
//! listed, matched, stored and filterable without a restart.

use crate::harness::*;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs Kafka and ClickHouse: run scripts/test.sh"]
async fn a_dropped_custom_theme_file_is_used_without_a_restart() {
    let world = World::new("themes", 3);
    let surveys = world.topic("surveys");
    create_topics(&[surveys.clone(), world.topic("transcripts")], 3).await;
    let themes_dir = world.dir.path().join("themes");
    std::fs::create_dir_all(&themes_dir).unwrap();
    let ingester = world.spawn("ingester", free_port());
    let url = ingester.url("/api/v1/themes");
    wait_for("the API", Duration::from_secs(60), &ingester, || async {
        let (status, body) = get(&url, Some("viewer-token")).await;
        (status == 200).then_some(body)
    })
    .await;
    assert_eq!(
        get(&url, Some("viewer-token")).await.1["custom_themes"],
        serde_json::json!([])
    );
    // An unknown theme is a bad filter …
    assert_eq!(
        get(
            &ingester.url("/api/v1/summary?theme=delivery_delay"),
            Some("viewer-token")
        )
        .await
        .0,
        400
    );

    std::fs::write(
        themes_dir.join("delivery.toml"),
        r#"
id = "delivery_delay"
[name]
es = "Retraso en la entrega"
en = "Delivery delay"
[cues]
es = ["no llegó el pedido", "pedido atrasado"]
en = ["order never arrived"]
"#,
    )
    .unwrap();
    // … until the file is picked up (checked every 10 s).
    wait_for(
        "the custom theme listed",
        Duration::from_secs(60),
        &ingester,
        || async {
            let (_, body) = get(&url, Some("viewer-token")).await;
            (body["custom_themes"][0]["id"] == "delivery_delay").then_some(())
        },
    )
    .await;
    let (_, body) = get(&url, Some("viewer-token")).await;
    assert_eq!(
        body["custom_themes"][0]["name"]["es"],
        "Retraso en la entrega"
    );

    let producer = producer();
    produce(
        &producer,
        &surveys,
        "C-1",
        &survey(
            "s-1",
            "C-1",
            Some(2),
            "Pasaron diez días y no llegó el pedido",
            3,
        ),
    )
    .await;
    produce(
        &producer,
        &surveys,
        "C-2",
        &survey("s-2", "C-2", Some(9), "Todo perfecto, gracias", 3),
    )
    .await;
    flush(&producer);
    let n = wait_for(
        "the custom theme stored",
        Duration::from_secs(60),
        &ingester,
        || async {
            served_interactions(&ingester, "?theme=delivery_delay")
                .await
                .filter(|n| *n > 0)
        },
    )
    .await;
    assert_eq!(n, 1);
    let (_, summary) = get(&ingester.url("/api/v1/summary"), Some("viewer-token")).await;
    let themes = summary["summary"]["themes"].as_array().unwrap();
    assert!(
        themes
            .iter()
            .any(|t| t["label"] == "delivery_delay" && t["count"] == 1),
        "{themes:?}"
    );
    world.cleanup().await;
}
