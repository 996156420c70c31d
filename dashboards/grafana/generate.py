#!/usr/bin/env python3
"""Writes escucha's Grafana dashboards (the *.json files beside this script).

    python3 dashboards/grafana/generate.py      # then: scripts/check-grafana.py --with-demo-data --require-data

The SQL of every panel is built here from one set of definitions (filters,
buckets, NPS/CSAT/CES, net emotion, recovery, contact KPIs) that mirror
crates/escucha-clickhouse/src/query.rs, so that the panels show the API's
figures; scripts/check-grafana.py runs every panel on ClickHouse and, with
--with-demo-data, compares the figures with the API's. Editing the JSON by
hand works too, but the next run of this script overwrites it.

SQL rules: it must run on ClickHouse 18.16 and current releases (no window
functions, no DateTime64, no Map, no toStartOfInterval, hence no
$__timeInterval; an alias never repeats a column name; joined subqueries have
an alias); every read of interactions uses FINAL.
"""
import json
import os
import sys

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
DS = {"type": "grafana-clickhouse-datasource", "uid": "escucha-clickhouse"}
MIN_N = 5

LOYALTY = ["surprise", "familiarity", "relief", "gratitude", "belonging"]
NET_NEGATIVE = ["frustration", "anger", "disappointment"]
NEGATIVE = ["frustration", "anger", "anxiety", "confusion", "disappointment"]
EMOTIONS = LOYALTY + NEGATIVE


def arr(xs):
    return "[" + ", ".join(f"'{x}'" for x in xs) + "]"


FILTERS = """$__timeFilter(occurred_at)
  AND $__conditionalAll(channel IN (${channel:singlequote}), $channel)
  AND $__conditionalAll(queue IN (${queue:singlequote}), $queue)
  AND $__conditionalAll(product IN (${product:singlequote}), $product)
  AND $__conditionalAll(language IN (${language:singlequote}), $language)"""

# Same buckets as the API's `interval` (hour | day | week, UTC).
BUCKET = ("multiIf(${interval:singlequote} = 'week', toDateTime(toMonday(occurred_at)),\n"
          "        ${interval:singlequote} = 'hour', toStartOfHour(occurred_at),\n"
          "        toStartOfDay(occurred_at))")


def r1(e, signed=False):
    """Rounds to 1 decimal, halves away from zero (as the API does)."""
    if signed:
        return f"floor(abs({e}) * 10 + 0.5) / 10 * if({e} < 0, -1, 1)"
    return f"floor({e} * 10 + 0.5) / 10"


def r2(e):
    return f"floor({e} * 100 + 0.5) / 100"


# The repeat-contact window of the operations board: the API's default, 7 days.
REPEAT_WINDOW = 7 * 86400


def withheld(n, e):
    return f"if({n} >= {MIN_N}, {e}, NULL)"


def pct(part, whole):
    return withheld(whole, r1(f"{part} * 100 / {whole}"))


def mean1(total, n):
    return withheld(n, r1(f"{total} / {n}"))


NPS = withheld("nps_n", r1("(promoters - detractors) * 100 / nps_n", signed=True))
CSAT_PCT = pct("csat_top2", "csat_n")
CSAT_MEAN = withheld("csat_n", r2("csat_sum / csat_n"))
CES_MEAN = withheld("ces_n", r2("ces_sum / ces_n"))
CES_EASY = pct("ces_top", "ces_n")

SCORE_COUNTS = """countIf(isNotNull(nps)) AS nps_n,
        countIf(ifNull(nps >= 9, 0)) AS promoters,
        countIf(ifNull(nps <= 6, 0)) AS detractors,
        countIf(isNotNull(csat)) AS csat_n,
        countIf(ifNull(csat >= 4, 0)) AS csat_top2,
        sum(ifNull(csat, 0)) AS csat_sum,
        countIf(isNotNull(ces)) AS ces_n,
        countIf(ifNull(ces >= 5, 0)) AS ces_top,
        sum(ifNull(ces, 0)) AS ces_sum"""

EMOTION_COUNTS = f"""countIf(has_text = 1) AS with_text,
        countIf(hasAny(emotions, {arr(LOYALTY)})) AS loyal,
        countIf(hasAny(emotions, {arr(NET_NEGATIVE)})) AS negative"""

NET = withheld("with_text", r1("(loyal - negative) * 100 / with_text", signed=True))

RECOVERY_COUNTS = f"""countIf(kind = 'transcript' AND hasAny(first_emotions, {arr(NEGATIVE)})) AS started_negative,
        countIf(kind = 'transcript' AND hasAny(first_emotions, {arr(NEGATIVE)})
                AND hasAny(last_emotions, ['relief', 'gratitude'])) AS recovered"""

KPI_COUNTS = """count() AS contacts,
        countIf(isNotNull(handle_seconds)) AS handle_n,
        toFloat64(sum(ifNull(handle_seconds, 0))) AS handle_sum,
        countIf(isNotNull(wait_seconds)) AS wait_n,
        toFloat64(sum(ifNull(wait_seconds, 0))) AS wait_sum,
        countIf(isNotNull(transfers)) AS transfers_n,
        countIf(ifNull(transfers, 0) > 0) AS transferred,
        countIf(ifNull(bot_involved, 0) = 1) AS bot_sessions,
        countIf(ifNull(bot_involved, 0) = 1 AND ifNull(escalated, 0) = 0) AS bot_contained,
        countIf(isNotNull(escalated)) AS escalation_n,
        countIf(ifNull(escalated, 0) = 1) AS escalated_count,
        countIf(isNotNull(resolved)) AS resolution_n,
        countIf(ifNull(resolved, 0) = 1) AS resolved_count,
        countIf(isNotNull(agent_empathy)) AS empathy_n,
        toFloat64(sum(ifNull(agent_empathy, 0))) AS empathy_sum"""

KPI_FIGURES = [
    ("AHT (s)", mean1("handle_sum", "handle_n")),
    ("ASA (s)", mean1("wait_sum", "wait_n")),
    ("Transfer %", pct("transferred", "transfers_n")),
    ("Bot containment %", pct("bot_contained", "bot_sessions")),
    ("Escalation %", pct("escalated_count", "escalation_n")),
    ("Resolution %", pct("resolved_count", "resolution_n")),
    ("Recovery %", pct("recovered", "started_negative")),
    ("Started negative", "started_negative"),
    ("Agent empathy", withheld("empathy_n", r2("empathy_sum / empathy_n"))),
]


def q(name):
    return f"`{name}`"


# --------------------------------------------------------------------------
# Panels


class Board:
    def __init__(self, uid, title, description):
        self.uid, self.title, self.description = uid, title, description
        self.panels = []
        self.next_id = 1
        self.y = 0
        self.x = 0
        self.row_h = 0

    def place(self, w, h):
        if self.x + w > 24:
            self.x = 0
            self.y += self.row_h
            self.row_h = 0
        pos = {"h": h, "w": w, "x": self.x, "y": self.y}
        self.x += w
        self.row_h = max(self.row_h, h)
        return pos

    def newline(self):
        if self.x:
            self.x = 0
            self.y += self.row_h
            self.row_h = 0

    def add(self, kind, title, description, sql, w, h, *, timeseries=False,
            field_defaults=None, overrides=None, options=None, transformations=None):
        p = {
            "id": self.next_id,
            "type": kind,
            "title": title,
            "description": description,
            "datasource": DS,
            "gridPos": self.place(w, h),
            "targets": [{
                "refId": "A",
                "datasource": DS,
                "editorType": "sql",
                "format": 0 if timeseries else 1,
                "queryType": "timeSeries" if timeseries else "table",
                "rawSql": sql.strip(),
            }],
            "fieldConfig": {"defaults": field_defaults or {}, "overrides": overrides or []},
            "options": options or {},
        }
        if transformations:
            p["transformations"] = transformations
        self.next_id += 1
        self.panels.append(p)
        return p

    def json(self):
        return {
            "uid": self.uid,
            "title": self.title,
            "description": self.description,
            "tags": ["escucha", "voice-of-customer"],
            "timezone": "utc",
            "editable": False,
            "graphTooltip": 1,
            "refresh": "5m",
            "time": {"from": "now-30d", "to": "now"},
            "timepicker": {},
            "fiscalYearStartMonth": 0,
            "liveNow": False,
            "weekStart": "monday",
            "templating": {"list": variables()},
            "annotations": {"list": []},
            "links": [{
                "title": "escucha",
                "type": "dashboards",
                "tags": ["escucha"],
                "asDropdown": True,
                "includeVars": True,
                "keepTime": True,
                "icon": "external link",
                "targetBlank": False,
                "tooltip": "",
                "url": "",
            }],
            "schemaVersion": 39,
            "version": 1,
            "panels": self.panels,
        }


def variables():
    out = []
    for name, label in [("channel", "Channel"), ("queue", "Queue"),
                        ("product", "Product"), ("language", "Language")]:
        sql = (f"SELECT DISTINCT {name} FROM interactions FINAL\n"
               f"WHERE $__timeFilter(occurred_at) AND {name} != ''\nORDER BY {name}")
        out.append({
            "name": name,
            "label": label,
            "type": "query",
            "datasource": DS,
            "definition": sql,
            "query": sql,
            "refresh": 2,
            "multi": True,
            "includeAll": True,
            "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
            "options": [],
            "sort": 1,
            "hide": 0,
            "skipUrlSync": False,
            "description": f"Interactions whose {name} is one of these; All also keeps "
                           f"interactions without a {name}.",
        })
    out.append({
        "name": "interval",
        "label": "Bucket",
        "type": "custom",
        "query": "hour,day,week",
        "multi": False,
        "includeAll": False,
        "current": {"selected": True, "text": "day", "value": "day"},
        "options": [
            {"selected": v == "day", "text": v, "value": v} for v in ("hour", "day", "week")
        ],
        "hide": 0,
        "skipUrlSync": False,
        "description": "Width of the time buckets of the trend panels (UTC hours, days, "
                       "or weeks starting on Monday), as the API's interval.",
    })
    return out


def stat_opts(fields=None, graph="none", text="value_and_name"):
    return {
        "reduceOptions": {"calcs": ["lastNotNull"], "fields": fields or "", "values": False},
        "colorMode": "value",
        "graphMode": graph,
        "justifyMode": "auto",
        "orientation": "auto",
        "textMode": text,
        "wideLayout": True,
        "showPercentChange": False,
    }


def stat_defaults(unit="none", decimals=None, steps=None, mn=None, mx=None):
    d = {
        "unit": unit,
        "noValue": "—",
        "color": {"mode": "thresholds"},
        "thresholds": {"mode": "absolute", "steps": steps or [{"color": "blue", "value": None}]},
    }
    if decimals is not None:
        d["decimals"] = decimals
    if mn is not None:
        d["min"] = mn
    if mx is not None:
        d["max"] = mx
    return d


def n_override(pattern, unit="none"):
    """Sample sizes: plain blue, no decimals."""
    return {
        "matcher": {"id": "byRegexp", "options": pattern},
        "properties": [
            {"id": "decimals", "value": 0},
            {"id": "unit", "value": unit},
            {"id": "color", "value": {"mode": "fixed", "fixedColor": "text"}},
        ],
    }


def ts_defaults(unit="none", stacking="none", draw="line", fill=10, mn=None, mx=None,
                decimals=None):
    d = {
        "unit": unit,
        "custom": {
            "drawStyle": draw,
            "lineWidth": 2,
            "fillOpacity": fill,
            "pointSize": 4,
            "showPoints": "auto",
            "spanNulls": False,
            "lineInterval": False,
            "stacking": {"mode": stacking, "group": "A"},
            "axisPlacement": "auto",
            "insertNulls": False,
        },
        "color": {"mode": "palette-classic"},
    }
    if mn is not None:
        d["min"] = mn
    if mx is not None:
        d["max"] = mx
    if decimals is not None:
        d["decimals"] = decimals
    return d


def ts_opts():
    return {
        "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
        "tooltip": {"mode": "multi", "sort": "none"},
    }


def n_bars_override(pattern):
    """Draws the n of a score as faint bars on a right axis."""
    return {
        "matcher": {"id": "byRegexp", "options": pattern},
        "properties": [
            {"id": "custom.drawStyle", "value": "bars"},
            {"id": "custom.fillOpacity", "value": 25},
            {"id": "custom.axisPlacement", "value": "right"},
            {"id": "custom.axisLabel", "value": "answers (n)"},
            {"id": "unit", "value": "none"},
            {"id": "decimals", "value": 0},
            {"id": "min", "value": 0},
            {"id": "max"},
            {"id": "color", "value": {"mode": "fixed", "fixedColor": "#8a8a8a55"}},
        ],
    }


def color_override(name, color):
    return {"matcher": {"id": "byName", "options": name},
            "properties": [{"id": "color", "value": {"mode": "fixed", "fixedColor": color}}]}


def table_opts(sort=None):
    o = {"showHeader": True, "cellHeight": "sm",
         "footer": {"show": False, "reducer": ["sum"], "countRows": False, "fields": ""}}
    if sort:
        o["sortBy"] = [{"displayName": sort, "desc": True}]
    return o


def table_defaults():
    return {"custom": {"align": "auto", "cellOptions": {"type": "auto"}, "inspect": False},
            "noValue": "—", "color": {"mode": "thresholds"},
            "thresholds": {"mode": "absolute", "steps": [{"color": "text", "value": None}]}}


def heat_defaults(unit="percent", scheme="continuous-YlRd"):
    return {
        "unit": unit, "decimals": 1, "noValue": "—",
        "custom": {"align": "center", "cellOptions": {"type": "color-background", "mode": "gradient"},
                   "inspect": False},
        "color": {"mode": scheme},
        "min": 0,
    }


def first_col_plain(name):
    return {"matcher": {"id": "byName", "options": name},
            "properties": [{"id": "custom.cellOptions", "value": {"type": "auto"}},
                           {"id": "custom.align", "value": "left"},
                           {"id": "color", "value": {"mode": "thresholds"}}]}


NPS_STEPS = [{"color": "red", "value": None}, {"color": "orange", "value": 0},
             {"color": "green", "value": 30}]
PCT_STEPS = [{"color": "red", "value": None}, {"color": "orange", "value": 60},
             {"color": "green", "value": 80}]

SCALES = {
    "nps": "NPS on 0-10 answers: % promoters (9-10) - % detractors (0-6), from -100 to 100.",
    "csat": "CSAT on 1-5 answers: % of answers of 4 or 5 (top-2-box), and the mean.",
    "ces": "CES 2.0 on 1-7 answers (7 = very easy): the mean, and the % of answers of 5-7.",
    "withheld": f"Withheld (shown as —) when fewer than {MIN_N} answers, as the API does.",
    "net": ("Net emotion: % of interactions with classified text carrying a loyalty emotion "
            "(surprise, familiarity, relief, gratitude, belonging) minus % carrying frustration, "
            "anger or disappointment."),
    "share": "Share: interactions carrying the label ÷ interactions with classified text × 100.",
    "recovery": ("Recovery rate: transcripts whose first emotional customer turns carry a negative "
                 "emotion (frustration, anger, anxiety, confusion, disappointment) and whose last "
                 "ones carry relief or gratitude ÷ transcripts that start negative."),
    "filters": "Filtered by the dashboard's time range on occurred_at, channel, queue, product and language.",
}


def overview():
    b = Board("escucha-overview", "escucha overview",
              "Volume, NPS/CSAT/CES with their n, emotions and the top process gaps from "
              "escucha's ClickHouse database. Figures are computed as the escucha API computes them.")
    # --- headline numbers
    b.add("stat", "Interactions",
          "Interactions in the selected range: survey responses and conversations (transcripts, "
          "messages), and those with classified text. " + SCALES["filters"],
          f"""
SELECT
    count() AS interactions,
    countIf(kind = 'survey') AS surveys,
    countIf(kind = 'transcript') AS transcripts,
    countIf(has_text = 1) AS with_text
FROM interactions FINAL
WHERE {FILTERS}""", 6, 5, field_defaults=stat_defaults(decimals=0), options=stat_opts())
    b.add("stat", "NPS (0-10)", SCALES["nps"] + " " + SCALES["withheld"], f"""
SELECT
    {NPS} AS NPS,
    nps_n AS n
FROM (
    SELECT {SCORE_COUNTS}
    FROM interactions FINAL
    WHERE {FILTERS}
)""", 4, 5, field_defaults=stat_defaults(decimals=1, steps=NPS_STEPS),
          overrides=[n_override("^n$")], options=stat_opts())
    b.add("stat", "CSAT (1-5)", SCALES["csat"] + " " + SCALES["withheld"], f"""
SELECT
    {CSAT_PCT} AS {q("CSAT %")},
    {CSAT_MEAN} AS {q("CSAT mean")},
    csat_n AS n
FROM (
    SELECT {SCORE_COUNTS}
    FROM interactions FINAL
    WHERE {FILTERS}
)""", 5, 5, field_defaults=stat_defaults(decimals=1, steps=PCT_STEPS),
          overrides=[n_override("^n$"),
                     {"matcher": {"id": "byName", "options": "CSAT mean"},
                      "properties": [{"id": "decimals", "value": 2},
                                     {"id": "color", "value": {"mode": "fixed", "fixedColor": "text"}}]}],
          options=stat_opts())
    b.add("stat", "CES (1-7)", SCALES["ces"] + " " + SCALES["withheld"], f"""
SELECT
    {CES_MEAN} AS {q("CES mean")},
    {CES_EASY} AS {q("% easy (5-7)")},
    ces_n AS n
FROM (
    SELECT {SCORE_COUNTS}
    FROM interactions FINAL
    WHERE {FILTERS}
)""", 5, 5, field_defaults=stat_defaults(decimals=2, steps=[{"color": "red", "value": None},
                                                              {"color": "orange", "value": 4},
                                                              {"color": "green", "value": 5.5}]),
          overrides=[n_override("^n$"),
                     {"matcher": {"id": "byName", "options": "% easy (5-7)"},
                      "properties": [{"id": "decimals", "value": 1},
                                     {"id": "thresholds", "value": {"mode": "absolute", "steps": PCT_STEPS}}]}],
          options=stat_opts())
    b.add("stat", "Net emotion", SCALES["net"] + f" Withheld below {MIN_N} interactions with text.", f"""
SELECT
    {NET} AS {q("net emotion")},
    with_text AS n
FROM (
    SELECT {EMOTION_COUNTS}
    FROM interactions FINAL
    WHERE {FILTERS}
)""", 4, 5, field_defaults=stat_defaults(decimals=1, steps=[{"color": "red", "value": None},
                                                              {"color": "orange", "value": -10},
                                                              {"color": "green", "value": 10}]),
          overrides=[n_override("^n$")], options=stat_opts())

    # --- volume and trends
    b.add("timeseries", "Interactions per ${interval}",
          "Interactions per UTC bucket, by kind (survey, transcript). " + SCALES["filters"], f"""
SELECT
    {BUCKET} AS time,
    kind,
    count() AS interactions
FROM interactions FINAL
WHERE {FILTERS}
GROUP BY time, kind
ORDER BY time, kind""", 12, 8, timeseries=True,
          field_defaults=ts_defaults(stacking="normal", draw="bars", fill=70, decimals=0),
          options=ts_opts())
    b.add("timeseries", "NPS per ${interval}",
          SCALES["nps"] + " Grey bars: answers (n) on the right axis. " + SCALES["withheld"], f"""
SELECT
    time,
    {NPS} AS NPS,
    nps_n AS answers
FROM (
    SELECT
        {BUCKET} AS time,
        {SCORE_COUNTS}
    FROM interactions FINAL
    WHERE {FILTERS}
    GROUP BY time
)
ORDER BY time""", 12, 8, timeseries=True,
          field_defaults=ts_defaults(mn=-100, mx=100, decimals=1),
          overrides=[n_bars_override("^answers$"), color_override("NPS", "blue")], options=ts_opts())
    b.add("timeseries", "CSAT per ${interval}",
          SCALES["csat"] + " Grey bars: answers (n). " + SCALES["withheld"], f"""
SELECT
    time,
    {CSAT_PCT} AS {q("CSAT %")},
    csat_n AS answers
FROM (
    SELECT
        {BUCKET} AS time,
        {SCORE_COUNTS}
    FROM interactions FINAL
    WHERE {FILTERS}
    GROUP BY time
)
ORDER BY time""", 12, 8, timeseries=True,
          field_defaults=ts_defaults(unit="percent", mn=0, mx=100, decimals=1),
          overrides=[n_bars_override("^answers$"), color_override("CSAT %", "green")], options=ts_opts())
    b.add("timeseries", "CES per ${interval}",
          SCALES["ces"] + " Grey bars: answers (n). " + SCALES["withheld"], f"""
SELECT
    time,
    {CES_MEAN} AS {q("CES mean")},
    ces_n AS answers
FROM (
    SELECT
        {BUCKET} AS time,
        {SCORE_COUNTS}
    FROM interactions FINAL
    WHERE {FILTERS}
    GROUP BY time
)
ORDER BY time""", 12, 8, timeseries=True,
          field_defaults=ts_defaults(mn=1, mx=7, decimals=2),
          overrides=[n_bars_override("^answers$"), color_override("CES mean", "purple")], options=ts_opts())

    # --- emotions
    b.add("timeseries", "Net emotion per ${interval}",
          SCALES["net"] + f" Withheld below {MIN_N} interactions with text in a bucket.", f"""
SELECT
    time,
    {pct('loyal', 'with_text')} AS {q("loyalty %")},
    {pct('negative', 'with_text')} AS {q("frustration/anger/disappointment %")},
    {NET} AS {q("net emotion")}
FROM (
    SELECT
        {BUCKET} AS time,
        {EMOTION_COUNTS}
    FROM interactions FINAL
    WHERE {FILTERS}
    GROUP BY time
)
ORDER BY time""", 12, 8, timeseries=True, field_defaults=ts_defaults(unit="percent", decimals=1),
          overrides=[color_override("loyalty %", "green"),
                     color_override("frustration/anger/disappointment %", "red"),
                     color_override("net emotion", "blue")], options=ts_opts())
    emo_cols = ",\n    ".join(
        f"{pct(f'countIf(has(emotions, {chr(39)}{e}{chr(39)}))', 'countIf(has_text = 1)')} AS {e}"
        for e in EMOTIONS)
    b.add("timeseries", "Emotion mix per ${interval}",
          SCALES["share"] + " An interaction can carry several emotions. " + SCALES["filters"], f"""
SELECT
    {BUCKET} AS time,
    {emo_cols}
FROM interactions FINAL
WHERE {FILTERS}
GROUP BY time
ORDER BY time""", 12, 8, timeseries=True, field_defaults=ts_defaults(unit="percent", decimals=1, fill=0),
          options=ts_opts())

    # --- gaps
    b.add("table", "Top process gaps",
          "The ten process gaps (themes) carried by most interactions in the range, their share of "
          "interactions with classified text, and the NPS of the answers with the gap and without it "
          "(all answers minus those with the gap). " + SCALES["nps"] + " " + SCALES["withheld"],
          gaps_ranked_sql(limit=10, previous=False), 24, 9,
          field_defaults=table_defaults(), options=table_opts(),
          overrides=[{"matcher": {"id": "byRegexp", "options": "^NPS"},
                      "properties": [{"id": "decimals", "value": 1},
                                     {"id": "custom.cellOptions", "value": {"type": "color-text"}},
                                     {"id": "thresholds", "value": {"mode": "absolute", "steps": NPS_STEPS}}]},
                     {"matcher": {"id": "byName", "options": "share %"},
                      "properties": [{"id": "unit", "value": "percent"}, {"id": "decimals", "value": 1},
                                     {"id": "custom.cellOptions", "value": {"type": "gauge", "mode": "basic"}},
                                     {"id": "min", "value": 0}, {"id": "max", "value": 100}]}])
    return b


def gaps_ranked_sql(limit=None, previous=True):
    """Themes ranked by volume in the range, as /api/v1/gaps: with the previous
    period of the same length, and NPS/CSAT with and without each theme."""
    prev_cols = ""
    if previous:
        prev_cols = f""",
    previous_count AS {q("previous period")},
    if(previous_count > 0, {r1("(interactions - previous_count) * 100 / previous_count", signed=True)}, NULL) AS {q("change %")}"""
    extra_cols = ""
    if previous:
        extra_cols = f""",
    {r1f_nps_impact()} AS {q("NPS impact")},
    {pct('csat_top2', 'csat_n')} AS {q("CSAT % with")},
    {pct('(all_csat_top2 - csat_top2)', '(all_csat_n - csat_n)')} AS {q("CSAT % without")}"""
    lim = f"\nLIMIT {limit}" if limit else ""
    keep = "interactions > 0 OR previous_count > 0" if previous else "interactions > 0"
    time_from = "toDateTime(toUInt32($__fromTime) * 2 - toUInt32($__toTime))"
    base_filters = FILTERS.replace("$__timeFilter(occurred_at)",
                                   f"occurred_at >= {time_from} AND occurred_at <= $__toTime")
    return f"""
SELECT
    gap,
    interactions,
    {r1('interactions * 100 / all_with_text')} AS {q("share %")}{prev_cols},
    {withheld('nps_n', r1('(promoters - detractors) * 100 / nps_n', signed=True))} AS {q("NPS with")},
    {withheld('(all_nps_n - nps_n)', r1('((all_promoters - promoters) - (all_detractors - detractors)) * 100 / (all_nps_n - nps_n)', signed=True))} AS {q("NPS without")},
    nps_n AS {q("NPS n with")}{extra_cols}
FROM (
    SELECT
        label AS gap,
        countIf(cur) AS interactions,
        countIf(NOT cur) AS previous_count,
        countIf(cur AND isNotNull(nps)) AS nps_n,
        countIf(cur AND ifNull(nps >= 9, 0)) AS promoters,
        countIf(cur AND ifNull(nps <= 6, 0)) AS detractors,
        countIf(cur AND isNotNull(csat)) AS csat_n,
        countIf(cur AND ifNull(csat >= 4, 0)) AS csat_top2
    FROM (
        SELECT themes, nps, csat, occurred_at >= $__fromTime AS cur
        FROM interactions FINAL
        WHERE {base_filters}
    )
    ARRAY JOIN themes AS label
    GROUP BY label
) AS per_label
CROSS JOIN (
    SELECT
        countIf(has_text = 1) AS all_with_text,
        countIf(isNotNull(nps)) AS all_nps_n,
        countIf(ifNull(nps >= 9, 0)) AS all_promoters,
        countIf(ifNull(nps <= 6, 0)) AS all_detractors,
        countIf(isNotNull(csat)) AS all_csat_n,
        countIf(ifNull(csat >= 4, 0)) AS all_csat_top2
    FROM interactions FINAL
    WHERE {FILTERS}
) AS totals
WHERE {keep}
ORDER BY interactions DESC, gap{lim}"""


def r1f_nps_impact():
    """NPS of all answers minus NPS without the theme (KPIS.md: theme impact)."""
    all_nps = "(all_promoters - all_detractors) * 100 / all_nps_n"
    without = ("((all_promoters - promoters) - (all_detractors - detractors)) * 100 "
               "/ (all_nps_n - nps_n)")
    return (f"if(all_nps_n >= {MIN_N} AND (all_nps_n - nps_n) >= {MIN_N}, "
            f"{r1(f'({all_nps}) - ({without})', signed=True)}, NULL)")


def breakdown_sql(dim):
    shown = f"if({dim} = '', '(none)', {dim})"
    return f"""
SELECT
    label AS gap,
    {shown} AS {dim}_name,
    {r1('interactions * 100 / texts')} AS share
FROM (
    SELECT label, {dim}, count() AS interactions
    FROM (
        SELECT themes, {dim}
        FROM interactions FINAL
        WHERE {FILTERS}
    )
    ARRAY JOIN themes AS label
    GROUP BY label, {dim}
) AS per_label
ANY LEFT JOIN (
    SELECT {dim}, countIf(has_text = 1) AS texts
    FROM interactions FINAL
    WHERE {FILTERS}
    GROUP BY {dim}
) AS totals USING {dim}
WHERE texts > 0
ORDER BY gap, {dim}_name"""


def gaps():
    b = Board("escucha-gaps", "escucha process gaps",
              "Process gaps (themes) ranked by volume with their trend, where they happen (channel, "
              "queue, product) and what they cost in NPS and CSAT.")
    neg_nps = [{"matcher": {"id": "byRegexp", "options": "^NPS (with|without)$"},
                "properties": [{"id": "decimals", "value": 1},
                               {"id": "custom.cellOptions", "value": {"type": "color-text"}},
                               {"id": "thresholds", "value": {"mode": "absolute", "steps": NPS_STEPS}}]},
               {"matcher": {"id": "byName", "options": "NPS impact"},
                "properties": [{"id": "decimals", "value": 1},
                               {"id": "custom.cellOptions", "value": {"type": "color-background", "mode": "basic"}},
                               {"id": "thresholds", "value": {"mode": "absolute", "steps": [
                                   {"color": "transparent", "value": None},
                                   {"color": "#f2495c55", "value": -1000},
                                   {"color": "transparent", "value": 0}]}}]},
               {"matcher": {"id": "byName", "options": "change %"},
                "properties": [{"id": "decimals", "value": 1}, {"id": "unit", "value": "percent"},
                               {"id": "custom.cellOptions", "value": {"type": "color-text"}},
                               {"id": "thresholds", "value": {"mode": "absolute", "steps": [
                                   {"color": "green", "value": None}, {"color": "text", "value": 0},
                                   {"color": "red", "value": 10}]}}]},
               {"matcher": {"id": "byName", "options": "share %"},
                "properties": [{"id": "unit", "value": "percent"}, {"id": "decimals", "value": 1},
                               {"id": "custom.cellOptions", "value": {"type": "gauge", "mode": "basic"}},
                               {"id": "min", "value": 0}, {"id": "max", "value": 100}]},
               {"matcher": {"id": "byRegexp", "options": "^CSAT"},
                "properties": [{"id": "unit", "value": "percent"}, {"id": "decimals", "value": 1}]}]
    b.add("table", "Process gaps ranked",
          "Every process gap (theme) carried by interactions in the range, by volume, as /api/v1/gaps: "
          "share of interactions with classified text; the previous period of the same length just "
          "before the range and the change against it; NPS of the answers with the gap, without it "
          "(all answers minus those with it) and the impact (NPS of all answers - NPS without the gap: "
          "negative means the gap costs NPS); CSAT % (top-2-box) with and without. "
          + SCALES["withheld"] + " " + SCALES["filters"],
          gaps_ranked_sql(), 24, 11, field_defaults=table_defaults(), options=table_opts(),
          overrides=neg_nps)
    b.add("timeseries", "Gap share per ${interval}",
          "Interactions carrying each gap ÷ interactions with classified text in the bucket × 100. "
          + SCALES["filters"], f"""
SELECT
    time,
    label AS gap,
    {r1('interactions * 100 / texts')} AS share
FROM (
    SELECT time, label, count() AS interactions
    FROM (
        SELECT {BUCKET} AS time, themes
        FROM interactions FINAL
        WHERE {FILTERS}
    )
    ARRAY JOIN themes AS label
    GROUP BY time, label
) AS per_label
ANY LEFT JOIN (
    SELECT {BUCKET} AS time, countIf(has_text = 1) AS texts
    FROM interactions FINAL
    WHERE {FILTERS}
    GROUP BY time
) AS totals USING time
WHERE texts > 0
ORDER BY time, gap""", 14, 10, timeseries=True,
          field_defaults=ts_defaults(unit="percent", decimals=1, fill=0), options=ts_opts())
    b.add("barchart", "NPS with and without each gap",
          "NPS of the answers carrying the gap against NPS of all other answers in the range. "
          + SCALES["nps"] + " " + SCALES["withheld"], f"""
SELECT gap, {q("NPS with")}, {q("NPS without")}
FROM ({gaps_ranked_sql(previous=False).strip()})""", 10, 10,
          field_defaults={"unit": "none", "decimals": 1, "min": -100, "max": 100,
                          "color": {"mode": "palette-classic"},
                          "custom": {"fillOpacity": 80, "lineWidth": 1, "gradientMode": "none",
                                     "axisPlacement": "auto", "axisCenteredZero": True}},
          overrides=[color_override("NPS with", "red"), color_override("NPS without", "green")],
          options={"orientation": "horizontal", "xField": "gap", "barWidth": 0.8, "groupWidth": 0.7,
                   "showValue": "auto", "stacking": "none", "xTickLabelRotation": 0,
                   "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
                   "tooltip": {"mode": "multi", "sort": "none"}})
    for dim, title, w in [("channel", "Gaps by channel", 24), ("queue", "Gaps by queue", 12),
                          ("product", "Gaps by product", 12)]:
        b.add("table", title,
              f"Interactions carrying each gap ÷ interactions with classified text in that {dim} × 100 "
              f"(rows: gaps, columns: {dim}s; (none): interactions without a {dim}). " + SCALES["filters"],
              breakdown_sql(dim), w, 10, field_defaults=heat_defaults(),
              overrides=[first_col_plain(f"gap\\{dim}_name")], options=table_opts(),
              transformations=[{"id": "groupingToMatrix",
                                "options": {"columnField": f"{dim}_name", "rowField": "gap",
                                            "valueField": "share", "emptyValue": "null"}}])
    return b


def emotions():
    b = Board("escucha-emotions", "escucha emotions",
              "Loyalty emotions against frustration, anger and disappointment over time, and where "
              "each emotion happens.")
    stat_cols = f"""
SELECT
    {pct('loyal', 'with_text')} AS {q("loyalty %")},
    {pct('negative', 'with_text')} AS {q("frustration/anger/disappointment %")},
    {NET} AS {q("net emotion")},
    with_text AS n
FROM (
    SELECT {EMOTION_COUNTS}
    FROM interactions FINAL
    WHERE {FILTERS}
)"""
    b.add("stat", "Net emotion", SCALES["net"] + f" n: interactions with classified text; withheld "
          f"below {MIN_N}. " + SCALES["filters"], stat_cols, 24, 5,
          field_defaults=stat_defaults(unit="percent", decimals=1),
          overrides=[n_override("^n$"), color_override("loyalty %", "green"),
                     color_override("frustration/anger/disappointment %", "red"),
                     color_override("net emotion", "blue")],
          options=stat_opts())
    b.add("timeseries", "Loyalty vs frustration, anger, disappointment per ${interval}",
          SCALES["net"] + f" Withheld below {MIN_N} interactions with text in a bucket.", f"""
SELECT
    time,
    {pct('loyal', 'with_text')} AS {q("loyalty %")},
    {pct('negative', 'with_text')} AS {q("frustration/anger/disappointment %")},
    {NET} AS {q("net emotion")}
FROM (
    SELECT
        {BUCKET} AS time,
        {EMOTION_COUNTS}
    FROM interactions FINAL
    WHERE {FILTERS}
    GROUP BY time
)
ORDER BY time""", 24, 9, timeseries=True, field_defaults=ts_defaults(unit="percent", decimals=1),
          overrides=[color_override("loyalty %", "green"),
                     color_override("frustration/anger/disappointment %", "red"),
                     color_override("net emotion", "blue")], options=ts_opts())
    named = LOYALTY + NET_NEGATIVE
    cols = ",\n    ".join(
        f"{pct(f'countIf(has(emotions, {chr(39)}{e}{chr(39)}))', 'countIf(has_text = 1)')} AS {e}"
        for e in named)
    colors = {"surprise": "#73BF69", "familiarity": "#56A64B", "relief": "#96D98D",
              "gratitude": "#37872D", "belonging": "#C8F2C2", "frustration": "#F2495C",
              "anger": "#C4162A", "disappointment": "#FF9830"}
    b.add("timeseries", "Each emotion per ${interval}",
          "Share of interactions with classified text carrying each loyalty emotion (greens) and "
          "frustration, anger, disappointment (reds). " + SCALES["share"] +
          f" Withheld below {MIN_N} interactions with text in a bucket.", f"""
SELECT
    {BUCKET} AS time,
    {cols}
FROM interactions FINAL
WHERE {FILTERS}
GROUP BY time
ORDER BY time""", 24, 9, timeseries=True, field_defaults=ts_defaults(unit="percent", decimals=1, fill=0),
          overrides=[color_override(e, c) for e, c in colors.items()], options=ts_opts())
    b.add("table", "Emotion × channel",
          "Interactions carrying each emotion ÷ interactions with classified text in that channel × 100. "
          + SCALES["filters"], f"""
SELECT
    label AS emotion,
    channel_name,
    {r1('interactions * 100 / texts')} AS share
FROM (
    SELECT label, channel AS channel_name, count() AS interactions
    FROM (
        SELECT emotions, channel
        FROM interactions FINAL
        WHERE {FILTERS}
    )
    ARRAY JOIN emotions AS label
    GROUP BY label, channel_name
) AS per_label
ANY LEFT JOIN (
    SELECT channel AS channel_name, countIf(has_text = 1) AS texts
    FROM interactions FINAL
    WHERE {FILTERS}
    GROUP BY channel_name
) AS totals USING channel_name
WHERE texts > 0
ORDER BY emotion, channel_name""", 14, 10, field_defaults=heat_defaults(scheme="continuous-BlPu"),
          overrides=[first_col_plain("emotion\\channel_name")], options=table_opts(),
          transformations=[{"id": "groupingToMatrix",
                            "options": {"columnField": "channel_name", "rowField": "emotion",
                                        "valueField": "share", "emptyValue": "null"}}])
    b.add("table", "Emotions: volume, share and NPS",
          "Per emotion: interactions carrying it, their share of interactions with classified text, "
          "and the NPS of the answers that carry it. " + SCALES["nps"] + " " + SCALES["withheld"], f"""
SELECT
    emotion,
    interactions,
    {r1('interactions * 100 / all_with_text')} AS {q("share %")},
    {NPS} AS NPS,
    nps_n AS {q("NPS n")}
FROM (
    SELECT
        label AS emotion,
        count() AS interactions,
        {SCORE_COUNTS}
    FROM (
        SELECT emotions, nps, csat, ces
        FROM interactions FINAL
        WHERE {FILTERS}
    )
    ARRAY JOIN emotions AS label
    GROUP BY label
) AS per_label
CROSS JOIN (
    SELECT countIf(has_text = 1) AS all_with_text
    FROM interactions FINAL
    WHERE {FILTERS}
) AS totals
ORDER BY interactions DESC, emotion""", 10, 10, field_defaults=table_defaults(), options=table_opts(),
          overrides=[{"matcher": {"id": "byName", "options": "NPS"},
                      "properties": [{"id": "decimals", "value": 1},
                                     {"id": "custom.cellOptions", "value": {"type": "color-text"}},
                                     {"id": "thresholds", "value": {"mode": "absolute", "steps": NPS_STEPS}}]},
                     {"matcher": {"id": "byName", "options": "share %"},
                      "properties": [{"id": "unit", "value": "percent"}, {"id": "decimals", "value": 1}]}])
    return b


def operations():
    b = Board("escucha-operations", "escucha operations",
              "Contact KPIs as /api/v1/kpis computes them (contacts are transcripts and messages; "
              "survey responses are not contacts), and the recovery rate, per queue and per agent.")
    figures = ",\n    ".join(f"{e} AS {q(n)}" for n, e in KPI_FIGURES)
    kpi_desc = ("AHT: mean handle seconds over contacts with a handle time. ASA: mean queue wait "
                "seconds over contacts with a wait. Transfer %: contacts transferred at least once ÷ "
                "contacts with a transfer count. Bot containment %: bot sessions ended without "
                "escalation ÷ bot sessions. Escalation %: escalated ÷ contacts with an escalation flag. "
                "Resolution %: resolved ÷ contacts with a resolution flag. " + SCALES["recovery"] +
                " Agent empathy: mean conversation empathy in [0, 1]. Each figure is withheld below "
                f"{MIN_N} contacts in its denominator. " + SCALES["filters"])
    b.add("stat", "Contact KPIs", kpi_desc, f"""
SELECT
    contacts AS {q("Contacts")},
    {figures}
FROM (
    SELECT
        {KPI_COUNTS},
        {RECOVERY_COUNTS}
    FROM interactions FINAL
    WHERE kind != 'survey'
      AND {FILTERS}
)""", 19, 6, field_defaults=stat_defaults(decimals=1),
          overrides=[n_override("^(Contacts|Started negative)$"),
                     {"matcher": {"id": "byRegexp", "options": "^A[HS]T"},
                      "properties": [{"id": "unit", "value": "s"}]},
                     {"matcher": {"id": "byName", "options": "Agent empathy"},
                      "properties": [{"id": "decimals", "value": 2}]},
                     {"matcher": {"id": "byRegexp", "options": "%$"},
                      "properties": [{"id": "unit", "value": "percent"}]}],
          options=stat_opts())
    b.add("stat", "Repeat contacts (7 days)",
          "Contacts by a (keyed) customer who had another contact about the same issue at most 7 "
          "days before (same issue: a shared theme, or the earlier contact named as the related id; "
          "a contact with neither is never a repeat) ÷ contacts with a customer key, as "
          "/api/v1/kpis with its default window. The filters choose the contacts counted; the "
          "earlier contact may be on any channel, queue or product, and before the time range. "
          f"Withheld below {MIN_N} contacts. " + SCALES["filters"], f"""
SELECT
    {pct('repeats', 'keyed')} AS {q("Repeat contact %")},
    keyed AS n
FROM (
    SELECT
        sum(arraySum(cnt)) AS keyed,
        sum(arraySum(arrayMap((tj, idj, thj, rj, cj) -> cj * arrayExists((ti, idi, thi) ->
                (ti < tj OR (ti = tj AND idi < idj)) AND tj - ti <= {REPEAT_WINDOW}
                AND (hasAny(thi, thj) OR (rj != '' AND rj = idi)), ts, ids, ths),
            ts, ids, ths, rels, cnt))) AS repeats
    FROM (
        SELECT groupArray(toInt64(toUInt32(occurred_at))) AS ts, groupArray(interaction_id) AS ids,
               groupArray(themes) AS ths, groupArray(related_id) AS rels,
               groupArray(toUInt8({FILTERS})) AS cnt
        FROM interactions FINAL
        WHERE kind != 'survey' AND customer_key != ''
          AND occurred_at >= $__fromTime - {REPEAT_WINDOW} AND occurred_at <= $__toTime
        GROUP BY customer_key
    )
)""", 5, 6, field_defaults=stat_defaults(unit="percent", decimals=1),
          overrides=[n_override("^n$")], options=stat_opts())

    def per(dim, title):
        return f"""
SELECT
    if({dim} = '', '(none)', {dim}) AS {q(title)},
    contacts AS {q("Contacts")},
    {figures}
FROM (
    SELECT
        {dim},
        {KPI_COUNTS},
        {RECOVERY_COUNTS}
    FROM interactions FINAL
    WHERE kind != 'survey'
      AND {FILTERS}
    GROUP BY {dim}
)
ORDER BY contacts DESC, {dim}
LIMIT 500"""

    table_over = [
        {"matcher": {"id": "byRegexp", "options": "^A[HS]T"},
         "properties": [{"id": "unit", "value": "s"}, {"id": "decimals", "value": 1}]},
        {"matcher": {"id": "byRegexp", "options": "%$"},
         "properties": [{"id": "unit", "value": "percent"}, {"id": "decimals", "value": 1}]},
        {"matcher": {"id": "byName", "options": "Recovery %"},
         "properties": [{"id": "custom.cellOptions", "value": {"type": "color-text"}},
                        {"id": "thresholds", "value": {"mode": "absolute", "steps": [
                            {"color": "red", "value": None}, {"color": "orange", "value": 30},
                            {"color": "green", "value": 50}]}}]},
        {"matcher": {"id": "byName", "options": "Agent empathy"},
         "properties": [{"id": "decimals", "value": 2}]},
    ]
    b.add("table", "Per queue", kpi_desc, per("queue", "Queue"), 24, 9,
          field_defaults=table_defaults(), overrides=table_over, options=table_opts())
    b.add("table", "Per agent", kpi_desc, per("agent", "Agent"), 24, 11,
          field_defaults=table_defaults(), overrides=table_over, options=table_opts())
    b.add("timeseries", "AHT and ASA per ${interval}",
          "AHT: mean handle seconds; ASA: mean queue wait seconds, over the contacts of each bucket "
          f"that have one. Withheld below {MIN_N} contacts. " + SCALES["filters"], f"""
SELECT
    time,
    {mean1('handle_sum', 'handle_n')} AS AHT,
    {mean1('wait_sum', 'wait_n')} AS ASA
FROM (
    SELECT
        {BUCKET} AS time,
        {KPI_COUNTS}
    FROM interactions FINAL
    WHERE kind != 'survey'
      AND {FILTERS}
    GROUP BY time
)
ORDER BY time""", 12, 9, timeseries=True, field_defaults=ts_defaults(unit="s", decimals=1),
          options=ts_opts())
    b.add("timeseries", "Contact rates per ${interval}",
          "Transfer, bot containment, escalation, resolution and recovery rates per bucket, "
          f"defined as in the tiles above. Withheld below {MIN_N} contacts in the denominator.", f"""
SELECT
    time,
    {pct('transferred', 'transfers_n')} AS {q("Transfer %")},
    {pct('bot_contained', 'bot_sessions')} AS {q("Bot containment %")},
    {pct('escalated_count', 'escalation_n')} AS {q("Escalation %")},
    {pct('resolved_count', 'resolution_n')} AS {q("Resolution %")},
    {pct('recovered', 'started_negative')} AS {q("Recovery %")}
FROM (
    SELECT
        {BUCKET} AS time,
        {KPI_COUNTS},
        {RECOVERY_COUNTS}
    FROM interactions FINAL
    WHERE kind != 'survey'
      AND {FILTERS}
    GROUP BY time
)
ORDER BY time""", 12, 9, timeseries=True,
          field_defaults=ts_defaults(unit="percent", decimals=1, mn=0, mx=100, fill=0), options=ts_opts())
    return b


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, board in [("escucha-overview.json", overview()), ("escucha-gaps.json", gaps()),
                        ("escucha-emotions.json", emotions()),
                        ("escucha-operations.json", operations())]:
        with open(os.path.join(OUT, name), "w", encoding="utf-8") as f:
            json.dump(board.json(), f, indent=2, ensure_ascii=False)
            f.write("\n")
        print("wrote", name, len(board.panels), "panels")


if __name__ == "__main__":
    main()
