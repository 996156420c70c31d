//! Two instances in one consumer group share the partitions.

use crate::harness::*;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs Kafka and ClickHouse: run scripts/test.sh"]
async fn two_instances_in_one_group_share_the_partitions() {
    const TOTAL: u32 = 1200;
    let world = World::new("scale", 4);
    let surveys = world.topic("surveys");
    create_topics(&[surveys.clone(), world.topic("transcripts")], 4).await;
    let a = world.spawn("a", free_port());
    let b = world.spawn("b", free_port());
    assert_ne!(a.instance_id, b.instance_id);

    // Both must hold partitions before producing.
    let assigned = |i: &Ingester| {
        let url = i.url("/api/v1/pipelines");
        async move {
            let (status, body) = get(&url, Some("viewer-token")).await;
            if status != 200 {
                return 0;
            }
            body["pipelines"]
                .as_array()
                .and_then(|p| p.iter().find(|p| p["name"] == "surveys"))
                .and_then(|p| p["lag"].as_object().map(|l| l.len()))
                .unwrap_or(0)
        }
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    loop {
        let (na, nb) = (assigned(&a).await, assigned(&b).await);
        if na > 0 && nb > 0 && na + nb == 4 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "partitions not shared (a holds {na}, b holds {nb});\n--- a:\n{}\n--- b:\n{}",
            a.log_tail(),
            b.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    let producer = producer();
    for i in 0..TOTAL {
        let key = format!("C-{i}");
        produce(
            &producer,
            &surveys,
            &key,
            &survey(
                &format!("s-{i}"),
                &key,
                Some(9),
                "Excelente atención, gracias",
                5,
            ),
        )
        .await;
    }
    flush(&producer);
    let served = wait_for("all stored", Duration::from_secs(120), &a, || async {
        served_interactions(&a, "")
            .await
            .filter(|n| *n >= TOTAL as u64)
    })
    .await;
    assert_eq!(served, TOTAL as u64);

    let stored = |i: &Ingester| {
        let url = i.url("/api/v1/pipelines");
        async move {
            let (_, body) = get(&url, Some("viewer-token")).await;
            body["pipelines"]
                .as_array()
                .and_then(|p| p.iter().find(|p| p["name"] == "surveys"))
                .and_then(|p| p["stored"].as_u64())
                .unwrap_or(0)
        }
    };
    let (sa, sb) = (stored(&a).await, stored(&b).await);
    eprintln!("instance a stored {sa}, instance b stored {sb}");
    assert!(sa > 0 && sb > 0, "both instances consumed: a={sa} b={sb}");
    // A rebalance during the run may replay a batch on the other instance.
    assert!(sa + sb >= TOTAL as u64);
    world.cleanup().await;
}
