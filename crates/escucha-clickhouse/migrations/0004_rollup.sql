-- Daily rollups of `interactions`, so dashboards over months of data read
-- thousands of rows instead of millions. escucha rewrites a day's rows
-- whenever the day's interactions change (see rollup.rs): it builds the
-- day's month in a staging table and swaps the whole partition in with
-- REPLACE PARTITION, so readers always see each month complete and once.
--
-- grain: which columns a row is grouped by (the others are ''):
--   0  pipeline, kind, channel, language          (totals)
--   1  kind, queue                                (totals)
--   2  kind, product                              (totals)
--   3  kind                                       (totals)
--   4  kind, team, agent                          (totals)
--   5  kind, channel                              (totals)
--   6  kind, channel, queue                       (totals)
--   7  kind, channel, product                     (totals)
--   10 label_kind, label + the columns of grain 0 (one row per label)
--   11 label_kind, label + the columns of grain 1
--   12 label_kind, label + the columns of grain 2
--   13 label_kind, label + the columns of grain 3
--   15 label_kind, label + the columns of grain 5
--   16 label_kind, label + the columns of grain 6
--   17 label_kind, label + the columns of grain 7
--   20 label (a theme), label2 (an emotion), kind (theme × emotion pairs)
--   21 the columns of grain 20 and channel
-- counts, mood, scores and ops hold the additive measures of each group of
-- `raw_measures()` in query/engine.rs, in order (few columns keep reads
-- cheap, and a query reads only the groups it needs); `repeat_days` is the
-- repeat-contact histogram (totals grains only).
-- label_kind '#day' marks a rewritten day: `label` is the measures' layout
-- (a day built with another layout is rebuilt), source_version the day's
-- newest interaction version, `version` the rewrite's time.
CREATE TABLE IF NOT EXISTS {table:rollup} {on_cluster} (
    grain UInt8,
    label_kind String,
    day Date,
    label String,
    label2 String,
    pipeline String,
    kind String,
    channel String,
    language String,
    queue String,
    product String,
    team String,
    agent String,
    counts Array(Float64),
    mood Array(Float64),
    scores Array(Float64),
    ops Array(Float64),
    repeat_days Array(UInt64),
    source_version UInt64,
    version UInt64
) ENGINE = {engine:MergeTree()}
PARTITION BY toYYYYMM(day)
ORDER BY (grain, label_kind, day, label, label2, pipeline, kind, channel, language, queue, product, team, agent)
-- Small granules: a query reads one grain's few rows, not 8192-row blocks
-- of every grain's measure arrays.
SETTINGS index_granularity = 256;
