-- Interactions, turns and labels.
--
-- Placeholders rendered by escucha (see schema.rs):
--   {table:NAME}       the table, qualified with the database (NAME_local in cluster mode)
--   {on_cluster}       empty, or ON CLUSTER <name> in cluster mode
--   {engine:E(args)}   E(args), or ReplicatedE(<zk path>, <replica>, args) in cluster mode
--
-- Every table is a ReplacingMergeTree keyed so that a replayed Kafka message
-- produces a row with the same key: queries read with FINAL, so a crash and
-- replay never counts anything twice. SQL must run on ClickHouse 18.16 and on
-- current releases.
--
-- Granules of 1024 rows (ClickHouse's default is 8192): the drill-down looks
-- interactions, turns and labels up by day and id, and reads whole granules
-- for each id in each part; at 10 M interactions that is the difference
-- between reading a few thousand rows and a month's. Databases created with
-- 8192-row granules answer the same, with slower lookups; to rebuild a table
-- T while nothing writes: CREATE TABLE T_new AS T with the SETTINGS below
-- (ClickHouse 18.16: repeat the ENGINE, PARTITION BY and ORDER BY clauses),
-- INSERT INTO T_new SELECT * FROM T, RENAME TABLE T TO T_old, T_new TO T,
-- DROP TABLE T_old.

CREATE TABLE IF NOT EXISTS {table:interactions} {on_cluster} (
    interaction_id String,
    pipeline String,
    kind String,
    channel String,
    occurred_at DateTime,
    ended_at Nullable(DateTime),
    customer_key String,
    related_id String,
    language String,
    queue String,
    team String,
    agent String,
    product String,
    nps Nullable(UInt8),
    csat Nullable(UInt8),
    ces Nullable(UInt8),
    wait_seconds Nullable(UInt32),
    handle_seconds Nullable(UInt32),
    transfers Nullable(UInt32),
    bot_involved Nullable(UInt8),
    escalated Nullable(UInt8),
    resolved Nullable(UInt8),
    has_text UInt8,
    text String,
    emotions Array(String),
    themes Array(String),
    first_emotions Array(String),
    last_emotions Array(String),
    engine String,
    source_topic String,
    source_partition Int32,
    source_offset Int64,
    ingested_at DateTime,
    version UInt64
) ENGINE = {engine:ReplacingMergeTree(version)}
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (toDate(occurred_at), pipeline, interaction_id)
SETTINGS index_granularity = 1024;

CREATE TABLE IF NOT EXISTS {table:turns} {on_cluster} (
    interaction_id String,
    pipeline String,
    occurred_at DateTime,
    turn_index UInt32,
    speaker String,
    at Nullable(DateTime),
    language String,
    text String,
    emotions Array(String),
    themes Array(String),
    version UInt64
) ENGINE = {engine:ReplacingMergeTree(version)}
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (pipeline, interaction_id, turn_index)
SETTINGS index_granularity = 1024;

CREATE TABLE IF NOT EXISTS {table:labels} {on_cluster} (
    interaction_id String,
    pipeline String,
    occurred_at DateTime,
    turn_index UInt32,
    label_kind String,
    label String,
    confidence Float32,
    evidence_start Array(UInt32),
    evidence_end Array(UInt32),
    engine String,
    channel String,
    queue String,
    team String,
    agent String,
    product String,
    language String,
    version UInt64
) ENGINE = {engine:ReplacingMergeTree(version)}
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (label_kind, label, toDate(occurred_at), pipeline, interaction_id, turn_index)
SETTINGS index_granularity = 1024;
