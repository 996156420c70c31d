-- Anomaly alerts delivered to webhooks: one row per (webhook, anomaly), so
-- an anomaly is sent once per webhook even across restarts, and a failed
-- delivery (no row) is retried on the next check.
CREATE TABLE IF NOT EXISTS {table:alerts_sent} {on_cluster} (
    anomaly_id String,
    webhook String,
    sent_at DateTime
) ENGINE = {engine:ReplacingMergeTree(sent_at)}
ORDER BY (webhook, anomaly_id);
