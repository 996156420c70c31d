# shellcheck shell=bash
# SQL that fills an escucha database with generated interactions directly in
# ClickHouse, for scripts/api-bench.sh. Source it; do not run it.
#
#   interactions_sql DB START COUNT NOW   INSERT of interactions START .. START+COUNT-1
#   labels_sql DB                          INSERT of one `labels` row per emotion/theme
#   turns_sql DB                           INSERT of one customer turn per interaction with text
#
# Runs on ClickHouse 18.16 and current releases: no window functions, every
# random draw is cityHash64(n, k) of the interaction number n (reproducible,
# independent per k).
#
# Distributions (close to the demo generator's, see the README of the report):
#   365 days ending NOW, uniform; 55 % surveys (pipelines surveys 73 % /
#   surveytool 27 %), 45 % transcripts (transcripts 67 % / messaging 33 %);
#   channels voice 30 %, whatsapp 27 %, chat 19 %, email 11 %, social 10 %,
#   web 3 % (messaging: no voice or web); languages es 42 %, pt 36 %, en 20 %,
#   other 2 %; 20 queues (skewed), 200 agents in 5 teams, 12 products (+12 %
#   none); 2 million keyed customers (repeat contacts); a per-interaction mood
#   (35 % negative, 20 % neutral, 45 % positive) drives the emotions, the
#   themes (0.6 per interaction on average), NPS/CSAT/CES, transfers,
#   resolution and wait times, so the impact figures are not all zero.

# u K: a uniform draw in [0, 1) for interaction n, independent per K.
u() { printf '(cityHash64(n, %d) %% 1000000 / 1000000.)' "$1"; }
# h K: a raw 64-bit draw.
h() { printf 'cityHash64(n, %d)' "$1"; }

interactions_sql() {
    local db="$1" start="$2" count="$3" now="$4"
    local queues="['tech-support','billing','claims','onboarding','cancellations','sales','retention','collections','fraud','porting','installations','appointments','complaints','vip','business-support','payments','loans','cards','roaming','general']"
    local products="['fiber-300','mobile-postpaid','mobile-prepaid','credit-card','tv-plus','savings-account','home-insurance','travel-insurance','fiber-1000','personal-loan','debit-card','car-insurance']"
    local teams="['mexico-city','sao-paulo','madrid','buenos-aires','bogota']"
    local negs="['frustration','anger','anxiety','confusion','disappointment']"
    local texts="['Esperé 40 minutos y nadie me resolvió nada','Muy amable la atención, gracias','Me pasaron con tres áreas distintas','Fiquei uma hora esperando e ninguém resolveu','Atendimento excelente, obrigado','I had to explain my problem three times','Great service, thank you so much','The app kept failing so I had to call']"
    # Theme: name, probability when the mood is negative (else 12 % of it).
    local themes="" t p k=50
    for t in long_wait:0.25 unresolved:0.30 broken_self_service:0.16 repeat_contact:0.15 transfer:0.14 \
        no_callback:0.12 knowledge_gap:0.11 repeat_information:0.10 bot_dead_end:0.08 lack_of_empathy:0.07 \
        channel_mismatch:0.035; do
        p="${t#*:}"
        t="${t%%:*}"
        themes+="${themes:+, }if($(u "${k}") < if(neg, ${p}, ${p} * 0.12), '${t}', '')"
        k=$((k + 1))
    done
    cat <<SQL
INSERT INTO ${db}.interactions (interaction_id, pipeline, kind, channel, occurred_at, ended_at, customer_key,
    related_id, language, queue, team, agent, product, nps, csat, ces, wait_seconds, handle_seconds, transfers,
    bot_involved, escalated, resolved, agent_empathy, has_text, text, emotions, themes, first_emotions,
    last_emotions, engine, source_topic, source_partition, source_offset, ingested_at, version)
SELECT
    concat(if(survey, 'SV-', 'TR-'), toString(n)) AS interaction_id,
    pipeline, kind, channel, occurred_at,
    if(survey, NULL, toDateTime(toUInt32(occurred_at) + ifNull(wait_seconds, 0) + ifNull(handle_seconds, 0))) AS ended_at,
    concat(lower(hex(cityHash64(customer))), lower(hex(cityHash64(customer, 1)))) AS customer_key,
    '' AS related_id, language, queue, team, agent, product,
    if(survey AND $(u 26) < 0.93, toUInt8(multiIf(neg AND $(u 27) < 0.8, $(h 28) % 7, pos AND $(u 27) < 0.8, 9 + $(h 28) % 2, $(h 28) % 11)), NULL) AS nps,
    if(survey AND $(u 29) < 0.86, toUInt8(multiIf(neg, 1 + $(h 30) % 3, pos, 4 + $(h 30) % 2, 3 + $(h 30) % 2)), NULL) AS csat,
    if(survey AND $(u 31) < 0.70, toUInt8(multiIf(neg, 4 + $(h 32) % 4, pos, 1 + $(h 32) % 3, 2 + $(h 32) % 4)), NULL) AS ces,
    wait_seconds, handle_seconds,
    if(survey, NULL, toUInt32(multiIf($(u 33) < if(neg, 0.55, 0.85), 0, $(u 33) < 0.95, 1, 2))) AS transfers,
    if(survey, NULL, toUInt8(has(['chat', 'whatsapp', 'web'], channel) AND $(u 34) < 0.5)) AS bot_involved,
    if(survey, NULL, toUInt8(bot_involved = 1 AND $(u 35) < 0.4)) AS escalated,
    if(survey, NULL, toUInt8($(u 36) < if(neg, 0.5, 0.9))) AS resolved,
    if(survey OR agent = '', NULL, toFloat32(floor(if(neg, 0.3, 0.5) * 100 + $(u 37) * 50) / 100)) AS agent_empathy,
    toUInt8(ht) AS has_text,
    if(ht, arrayElement(${texts}, 1 + $(h 38) % 8), '') AS text,
    if(ht, arrayFilter(x -> x != '', [
        if(neg AND $(u 14) < 0.75, 'frustration', ''),
        if(neg AND $(u 15) < 0.30, 'anger', ''),
        if(neg AND $(u 16) < 0.25, 'disappointment', ''),
        if($(u 17) < if(neg, 0.20, 0.05), 'anxiety', ''),
        if($(u 18) < 0.07, 'confusion', ''),
        if($(u 19) < if(pos, 0.80, 0.10), 'gratitude', ''),
        if(pos AND $(u 20) < 0.35, 'relief', ''),
        if(pos AND $(u 21) < 0.10, 'surprise', ''),
        if(pos AND $(u 22) < 0.03, 'familiarity', ''),
        if(pos AND $(u 23) < 0.04, 'belonging', '')]), emptyArrayString()) AS emotions,
    if(ht, arrayFilter(x -> x != '', [${themes}]), emptyArrayString()) AS themes,
    if(survey OR NOT (neg OR $(u 24) < 0.25), emptyArrayString(), [arrayElement(${negs}, 1 + $(h 25) % 5)]) AS first_emotions,
    if(survey, emptyArrayString(),
        if(length(first_emotions) > 0,
            if($(u 39) < 0.45, [if($(u 41) < 0.5, 'relief', 'gratitude')], first_emotions),
            if(pos, ['gratitude'], emptyArrayString()))) AS last_emotions,
    'cues-1' AS engine, concat('escucha.', pipeline) AS source_topic,
    toInt32(n % 3) AS source_partition, toInt64(n) AS source_offset,
    toDateTime(toUInt32(occurred_at) + 60) AS ingested_at, toUInt64(1) AS version
FROM (
    SELECT n, survey, pipeline, kind, channel, occurred_at, mood < 0.35 AS neg, mood >= 0.55 AS pos, mood,
        ht, language, queue, team, agent, product, customer,
        if(survey, NULL, toUInt32(if(channel = 'email', 14400, if(mood < 0.35, 300, 90)) * -log($(u 42) + 0.000001))) AS wait_seconds,
        if(survey, NULL, toUInt32(120 + 500 * -log($(u 43) + 0.000001))) AS handle_seconds
    FROM (
        SELECT n,
            $(u 1) < 0.55 AS survey,
            if(survey, 'survey', 'transcript') AS kind,
            if(survey, if($(u 2) < 0.73, 'surveys', 'surveytool'), if($(u 2) < 0.67, 'transcripts', 'messaging')) AS pipeline,
            if(pipeline = 'messaging',
                multiIf($(u 3) < 0.40, 'whatsapp', $(u 3) < 0.70, 'chat', $(u 3) < 0.85, 'email', 'social'),
                multiIf($(u 3) < 0.30, 'voice', $(u 3) < 0.57, 'whatsapp', $(u 3) < 0.76, 'chat', $(u 3) < 0.87, 'email', $(u 3) < 0.97, 'social', 'web')) AS channel,
            toDateTime(${now} - $(h 4) % (365 * 86400)) AS occurred_at,
            $(u 5) AS mood,
            if(survey, $(u 6) < 0.9, 1) AS ht,
            multiIf($(u 7) < 0.42, 'es', $(u 7) < 0.78, 'pt', $(u 7) < 0.98, 'en', 'other') AS language,
            arrayElement(${queues}, 1 + toUInt32(floor(20 * $(u 8) * $(u 8)))) AS queue,
            $(h 11) % 200 AS agent_index,
            if($(u 12) < 0.08, '', concat('ag-', substring(toString(1000 + agent_index), 2))) AS agent,
            if(survey OR agent = '', '', arrayElement(${teams}, 1 + agent_index % 5)) AS team,
            if($(u 9) < 0.12, '', arrayElement(${products}, 1 + toUInt32(floor(12 * pow($(u 10), 1.5))))) AS product,
            $(h 13) % 2000000 AS customer
        FROM (SELECT number + ${start} AS n FROM numbers(${count}))
    )
)
SQL
}

# One labels row per emotion and theme of each interaction (turn 0), as the
# ingester writes them for surveys; evidence is a made-up span.
labels_sql() {
    local db="$1" kind col
    for kind in emotion theme; do
        col="${kind}s"
        cat <<SQL
INSERT INTO ${db}.labels (interaction_id, pipeline, occurred_at, turn_index, label_kind, label, confidence,
    evidence_start, evidence_end, engine, channel, queue, team, agent, product, language, version)
SELECT interaction_id, pipeline, occurred_at, toUInt32(0), '${kind}', label,
    toFloat32(0.5 + (cityHash64(interaction_id, label) % 50) / 100), [toUInt32(0)], [toUInt32(12)],
    engine, channel, queue, team, agent, product, language, version
FROM ${db}.interactions ARRAY JOIN ${col} AS label;
SQL
    done
}

# One customer turn per interaction with text, carrying the labels that
# labels_sql writes for it.
turns_sql() {
    local db="$1"
    cat <<SQL
INSERT INTO ${db}.turns (interaction_id, pipeline, occurred_at, turn_index, speaker, at, language, text,
    emotions, themes, version, labelled, label_kinds, label_names, label_confidences,
    label_evidence_starts, label_evidence_ends, label_engines)
SELECT interaction_id, pipeline, occurred_at, toUInt32(0), 'customer', NULL, language, text, emotions, themes,
    version, toUInt8(1), arrayConcat(arrayMap(l -> 'emotion', emotions), arrayMap(l -> 'theme', themes)),
    arrayConcat(emotions, themes) AS names,
    arrayMap(l -> toFloat32(0.5 + (cityHash64(interaction_id, l) % 50) / 100), names),
    arrayMap(l -> [toUInt32(0)], names), arrayMap(l -> [toUInt32(12)], names), arrayMap(l -> engine, names)
FROM ${db}.interactions WHERE has_text = 1;
SQL
}
