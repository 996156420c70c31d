#!/usr/bin/env bash
# Speed of the web dashboard's API calls under concurrent load, on the demo
# data and on a generated table of N interactions.
#
# Usage: scripts/api-bench.sh [--rows N] [--concurrency C] [--duration S]
#                             [--url URL] [--only REGEX] [--no-demo] [--keep] [--reuse]
#
#   --rows N         interactions of the generated dataset (default 10000000; 0 skips it)
#   --concurrency C  concurrent connections per endpoint (default 8)
#   --duration S     seconds of load per endpoint (default 10)
#   --url URL        an escucha already serving the demo data (token: ESCUCHA_TOKEN);
#                    without it the script ingests its own demo sample
#   --only REGEX     benchmark only the calls whose name matches (e.g. 'summary|gaps')
#   --no-demo        skip the demo dataset
#   --keep           keep both databases at the end
#   --reuse          reuse a kept database that already holds the expected
#                    number of interactions instead of filling it again
#
# What it does:
#   1. installs the load generator `oha` from crates.io (cargo install --locked)
#      when it is not on the PATH;
#   2. demo data: starts a private broker (tansu on a free port, state in a
#      temporary directory; the shared broker is never touched), an `escucha
#      run --open` with its own database (escucha_apibench_demo) and port,
#      produces `escucha demo --interactions 6000 --days 90` and waits until
#      it is stored;
#   3. N rows: creates escucha_apibench_10m with `escucha migrate`, fills
#      `interactions` in ClickHouse with INSERT … SELECT … FROM numbers() in
#      chunks of 1 M (scripts/api-bench/data.sh: 365 days, 6 channels, 20
#      queues, 200 agents, 12 products, es/pt/en, surveys with NPS/CSAT/CES,
#      emotions and themes with plausible frequencies, first/last emotions,
#      wait/handle times, transfers, bot, resolution), plus a `labels` row per
#      label and a customer turn per interaction with text (the drill-down
#      reads both), builds its daily rollup with `escucha rollup` (timed),
#      and serves it with `escucha run --open --no-ingest`;
#   4. waits until each escucha reports its daily rollup caught up; then,
#      for each API call a dashboard page issues (boot, overview, process
#      gaps, emotions, operations, pipelines) with a 30-day and a 365-day
#      range, and the overview's calls with a channel filter: one warm-up
#      request, then C connections for S seconds; prints endpoint, dataset,
#      requests/s, p50, p99 and errors (non-2xx answers and failed requests),
#      and the row counts of each dataset;
#   5. stops what it started and drops both databases unless --keep.
#
# Output: the table on stdout; raw oha JSON, the tables (text and markdown)
# and the escucha logs under ${ESCUCHA_APIBENCH_OUT:-target/api-bench}.
#
# Settings (environment): ESCUCHA_BIN (escucha), ESCUCHA_CLICKHOUSE_URL
# (http://127.0.0.1:8123), ESCUCHA_ENGINE for the demo ingest (cues),
# ESCUCHA_TOKEN (bearer token for --url), ESCUCHA_APIBENCH_OUT.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=scripts/api-bench/data.sh
source "$(dirname "${BASH_SOURCE[0]}")/api-bench/data.sh"
cd "${ESCUCHA_REPO_ROOT}"

rows=10000000
concurrency=8
duration=10
url=""
only=""
keep=0
reuse=0
demo_on=1
while [[ $# -gt 0 ]]; do
    case "$1" in
    --rows) rows="${2:?--rows needs a number}"; shift 2 ;;
    --concurrency) concurrency="${2:?--concurrency needs a number}"; shift 2 ;;
    --duration) duration="${2:?--duration needs seconds}"; shift 2 ;;
    --url) url="${2:?--url needs a URL}"; shift 2 ;;
    --only) only="${2:?--only needs a regular expression}"; shift 2 ;;
    --keep) keep=1; shift ;;
    --reuse) reuse=1; shift ;;
    --no-demo) demo_on=0; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
    esac
done
for v in rows concurrency duration; do
    [[ "${!v}" =~ ^[0-9]+$ ]] || die "--${v} must be a number, got '${!v}'"
done
((concurrency > 0 && duration > 0)) || die "--concurrency and --duration must be positive"

bin="${ESCUCHA_BIN:-escucha}"
command -v "${bin}" >/dev/null 2>&1 || die "escucha binary '${bin}' not found (set ESCUCHA_BIN or run scripts/demo.sh once)"
bin="$(command -v "${bin}")"
ch_url="${ESCUCHA_CLICKHOUSE_URL:-http://127.0.0.1:8123}"
demo_db=escucha_apibench_demo
big_db=escucha_apibench_10m
chunk=1000000
out="${ESCUCHA_APIBENCH_OUT:-target/api-bench}"
mkdir -p "${out}/raw"
out="$(cd "${out}" && pwd -P)"
rm -f "${out}"/raw/*.json

ch() { curl -fsS "${ch_url}/" --data-binary "$1"; }
ch_ok() { curl -sS "${ch_url}/" --data-binary "$1" 2>/dev/null; }

# --- 1. the load generator ---
export PATH="${HOME}/.cargo/bin:${PATH}"
if ! command -v oha >/dev/null 2>&1; then
    info "installing the load generator oha from crates.io (cargo install oha --locked; a few minutes on 2 cores)"
    nice -n 10 cargo install oha --locked >"${out}/oha-install.log" 2>&1 ||
        { tail -n 20 "${out}/oha-install.log" >&2; die "cargo install oha failed"; }
fi
command -v jq >/dev/null 2>&1 || ensure_apt_packages jq

ch "SELECT 1" >/dev/null 2>&1 || {
    info "ClickHouse at ${ch_url} does not answer: starting it (scripts/services.sh start clickhouse)"
    scripts/services.sh start clickhouse
}

# --- process bookkeeping and cleanup ---
work="$(mktemp -d "${TMPDIR:-/tmp}/escucha-apibench.XXXXXX")"
pids=()
private_home=""
cleanup() {
    local rc=$? pid
    for pid in "${pids[@]}"; do
        kill "${pid}" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        for _ in $(seq 1 50); do kill -0 "${pid}" 2>/dev/null || break; sleep 0.2; done
        kill -9 "${pid}" 2>/dev/null || true
    done
    if [[ -n "${private_home}" ]]; then
        ESCUCHA_HOME="${private_home}" scripts/services.sh stop kafka >/dev/null 2>&1 || true
    fi
    if [[ "${keep}" -eq 0 ]]; then
        ch_ok "DROP DATABASE IF EXISTS ${demo_db}" >/dev/null || warn "could not drop ${demo_db}"
        ch_ok "DROP DATABASE IF EXISTS ${big_db}" >/dev/null || warn "could not drop ${big_db}"
    else
        info "kept the databases ${demo_db} and ${big_db} (--keep)"
    fi
    cp "${work}"/*.log "${out}/" 2>/dev/null || true
    rm -rf "${work}"
    exit "${rc}"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    local p="$1"
    while port_open 127.0.0.1 "${p}"; do p=$((p + 1)); done
    printf '%s\n' "${p}"
}

export ESCUCHA_HOME="${work}/home"
mkdir -p "${ESCUCHA_HOME}"
export ESCUCHA_CLICKHOUSE_URL="${ch_url}"
export ESCUCHA_ENGINE="${ESCUCHA_ENGINE:-cues}"
export ESCUCHA_CUSTOMER_KEY_SECRET="api-bench-secret"
export ESCUCHA_LOG="${ESCUCHA_LOG:-warn}"
unset ESCUCHA_CONFIG ESCUCHA_ADMIN_TOKEN ESCUCHA_ALERT_WEBHOOKS

# A private broker, so nothing is read from or written to the shared one.
private_broker() {
    [[ -n "${private_home}" ]] && return 0
    local kafka_port
    kafka_port="$(free_port 19292)"
    private_home="${work}/broker"
    mkdir -p "${private_home}"
    info "starting a private broker on 127.0.0.1:${kafka_port}"
    ESCUCHA_HOME="${private_home}" ESCUCHA_KAFKA_PORT="${kafka_port}" scripts/services.sh start kafka >&2
    export ESCUCHA_KAFKA_BROKERS="127.0.0.1:${kafka_port}"
}

# start_escucha NAME DATABASE FIRST_PORT VAR [ARGS…]: starts `escucha run
# --open` for DATABASE on the first free port from FIRST_PORT, waits until it
# answers and sets VAR to its URL. ARGS go to `escucha run`.
start_escucha() {
    local name="$1" database="$2" port var="$4" log pid
    port="$(free_port "$3")"
    shift 4
    log="${work}/escucha-${name}.log"
    ESCUCHA_CLICKHOUSE_DATABASE="${database}" ESCUCHA_INSTANCE_ID="escucha-apibench-${name}-$$" \
        "${bin}" run --open --bind "127.0.0.1:${port}" "$@" >"${log}" 2>&1 &
    pid=$!
    pids+=("${pid}")
    for _ in $(seq 1 120); do
        kill -0 "${pid}" 2>/dev/null || { tail -n 30 "${log}" >&2; die "escucha (${name}) exited early"; }
        curl -fsS "http://127.0.0.1:${port}/healthz" >/dev/null 2>&1 && break
        sleep 0.5
    done
    curl -fsS "http://127.0.0.1:${port}/healthz" >/dev/null 2>&1 || die "escucha (${name}) does not answer on ${port}"
    printf -v "${var}" 'http://127.0.0.1:%s' "${port}"
}

count_rows() { ch_ok "SELECT count() FROM $1.$2" 2>/dev/null | grep -E '^[0-9]+$' || echo 0; }

# --- 2. the demo dataset ---
demo_url=""
demo_auth=()
if [[ "${demo_on}" -eq 1 ]]; then
    if [[ -n "${url}" ]]; then
        demo_url="${url%/}"
        [[ -n "${ESCUCHA_TOKEN:-}" ]] && demo_auth=(-H "Authorization: Bearer ${ESCUCHA_TOKEN}")
        info "demo dataset: the escucha at ${demo_url}"
    else
        interactions=6000
        days=90
        expected="$("${bin}" demo --count-only --interactions "${interactions}" --days "${days}")"
        private_broker
        # Shipped topic names on the private broker, own consumer groups.
        mkdir -p "${work}/pipelines"
        for f in pipelines/*.toml; do
            sed -e "s/^group = \"escucha-/group = \"apibench$$-/" "${f}" >"${work}/pipelines/$(basename "${f}")"
        done
        have="$(count_rows "${demo_db}" interactions)"
        if [[ "${reuse}" -eq 1 && "${have}" -ge "${expected}" ]]; then
            info "reusing ${demo_db} (${have} interactions)"
            start_escucha demo "${demo_db}" 18190 demo_url --pipelines "${work}/pipelines" --no-ingest
        else
            ch "DROP DATABASE IF EXISTS ${demo_db}"
            start_escucha demo "${demo_db}" 18190 demo_url --pipelines "${work}/pipelines"
            info "producing ${interactions} demo interactions over ${days} days to the private broker"
            "${bin}" demo --pipelines "${work}/pipelines" --interactions "${interactions}" --days "${days}" \
                >"${work}/demo.log" 2>&1 || { cat "${work}/demo.log" >&2; die "escucha demo failed"; }
            info "waiting until the ${expected} demo interactions are stored"
            deadline=$((SECONDS + 600))
            while :; do
                stored="$(count_rows "${demo_db}" interactions)"
                [[ "${stored}" -ge "${expected}" ]] && break
                ((SECONDS < deadline)) || die "only ${stored} of ${expected} interactions stored after 600 s"
                sleep 2
            done
            info "${stored} demo interactions stored"
        fi
    fi
fi

# --- 3. the generated dataset ---
big_url=""
if [[ "${rows}" -gt 0 ]]; then
    have="$(count_rows "${big_db}" interactions)"
    if [[ "${reuse}" -eq 1 && "${have}" -eq "${rows}" ]]; then
        info "reusing ${big_db} (${have} interactions)"
    else
        ch "DROP DATABASE IF EXISTS ${big_db}"
        ESCUCHA_CLICKHOUSE_DATABASE="${big_db}" "${bin}" migrate >"${work}/migrate.log" 2>&1 ||
            { cat "${work}/migrate.log" >&2; die "escucha migrate failed"; }
        now="$(date -u +%s)"
        info "generating ${rows} interactions in ${big_db} (chunks of ${chunk})"
        t0=$SECONDS
        for ((start = 0; start < rows; start += chunk)); do
            n=$((rows - start < chunk ? rows - start : chunk))
            ch "$(interactions_sql "${big_db}" "${start}" "${n}" "${now}")"
            printf '.' >&2
        done
        printf '\n' >&2
        t_interactions=$((SECONDS - t0))
        t1=$SECONDS
        labels_sql "${big_db}" | while IFS= read -r -d ';' stmt; do
            [[ -n "${stmt//[[:space:]]/}" ]] && ch "${stmt}"
        done
        t_labels=$((SECONDS - t1))
        t1=$SECONDS
        ch "$(turns_sql "${big_db}" | sed 's/;$//')"
        t_turns=$((SECONDS - t1))
        info "inserted in $((SECONDS - t0)) s: interactions ${t_interactions} s, labels ${t_labels} s, turns ${t_turns} s"
        printf 'interactions %s s, labels %s s, turns %s s, total %s s\n' "${t_interactions}" "${t_labels}" \
            "${t_turns}" "$((SECONDS - t0))" >"${out}/insert-times.txt"
    fi
    # The daily rollup of the generated rows (escucha run keeps it up to date
    # for what it ingests; these rows were inserted behind its back).
    ESCUCHA_CLICKHOUSE_DATABASE="${big_db}" "${bin}" rollup >"${work}/rollup.log" 2>&1 ||
        { cat "${work}/rollup.log" >&2; die "escucha rollup failed"; }
    info "$(tail -n 1 "${work}/rollup.log")"
    tail -n 1 "${work}/rollup.log" >"${out}/rollup-time.txt"
    private_broker
    start_escucha big "${big_db}" 18290 big_url --no-ingest
fi

# Waits until the escucha at URL has its daily rollup caught up.
wait_rollup() {
    local base="$1" behind=""
    for _ in $(seq 1 240); do
        behind="$(curl -fsS "${base}/api/v1/pipelines" 2>/dev/null | jq -r '.rollup.days_behind')"
        [[ "${behind}" == "0" ]] && return 0
        sleep 0.5
    done
    warn "the rollup at ${base} is still ${behind:-?} days behind; those days are read from the tables"
}
[[ -n "${demo_url}" && -z "${url}" ]] && wait_rollup "${demo_url}"
[[ -n "${big_url}" ]] && wait_rollup "${big_url}"

# --- 4. the calls ---
# The dashboard's filters: from = first day, to = the day after the last (UTC).
today="$(date -u +%F)"
to="$(date -u -d "${today} + 1 day" +%F)"
from30="$(date -u -d "${today} - 29 days" +%F)"
from365="$(date -u -d "${today} - 364 days" +%F)"

# name|path?query with {F} = the range filters and {I} = the series interval.
ranged_calls=(
    "overview summary|summary?{F}"
    "overview+emotions timeseries emotion|timeseries?{F}&interval={I}&labels=emotion"
    "overview+gaps gaps|gaps?{F}"
    "overview+gaps+ops impact nps×theme|impact?{F}&metric=nps&by=theme"
    "overview anomalies|anomalies?{F}&limit=20"
    "gaps timeseries theme|timeseries?{F}&interval={I}&labels=theme"
    "gaps query theme×product|query?{F}&dimensions=theme%2Cproduct&metrics=interactions%2Cnps&limit=1000"
    "gaps drill-down verbatims|interactions?{F}&theme=long_wait&limit=20"
    "emotions query emotion×channel|query?{F}&dimensions=emotion%2Cchannel&metrics=interactions&limit=1000"
    "emotions query channel|query?{F}&dimensions=channel&metrics=interactions&limit=1000"
    "ops kpis|kpis?{F}&repeat_window_days=7"
    "ops query theme×emotion|query?{F}&dimensions=theme%2Cemotion&metrics=interactions&limit=1000"
    "ops query queue|query?{F}&dimensions=queue&metrics=interactions%2Ctransfer_rate%2Crepeat_contact_rate%2Caht_seconds%2Casa_seconds&limit=1000"
)
channel_calls=(
    "overview summary|summary?{F}"
    "overview timeseries emotion|timeseries?{F}&interval={I}&labels=emotion"
    "overview gaps|gaps?{F}"
    "overview impact nps×theme|impact?{F}&metric=nps&by=theme"
    "overview anomalies|anomalies?{F}&limit=20"
)
fixed_calls=(
    "boot whoami|whoami"
    "boot themes|themes"
    "boot values agent|values/agent"
    "pipelines|pipelines"
)
calls=()
for c in "${fixed_calls[@]}"; do calls+=("${c%%|*}|all time|${c#*|}"); done
for c in "${ranged_calls[@]}"; do
    q="${c#*|}"
    calls+=("${c%%|*}|30 d|$(sed -e "s/{F}/from=${from30}\&to=${to}/" -e 's/{I}/day/' <<<"${q}")")
done
for c in "${ranged_calls[@]}"; do
    q="${c#*|}"
    calls+=("${c%%|*}|365 d|$(sed -e "s/{F}/from=${from365}\&to=${to}/" -e 's/{I}/week/' <<<"${q}")")
done
for c in "${channel_calls[@]}"; do
    q="${c#*|}"
    calls+=("${c%%|*}|30 d voice|$(sed -e "s/{F}/from=${from30}\&to=${to}\&channel=voice/" -e 's/{I}/day/' <<<"${q}")")
done

results="${out}/results.tsv"
printf 'endpoint\trange\tdataset\treq_s\tp50_ms\tp99_ms\terrors\trequests\tHTTP\twarmup_ms\twarmup_status\tpath\n' >"${results}"

bench() {
    local dataset="$1" base="$2" i=0 c name range path raw code t
    shift 2
    local auth=("$@")
    for c in "${calls[@]}"; do
        i=$((i + 1))
        name="${c%%|*}"
        c="${c#*|}"
        range="${c%%|*}"
        path="${c#*|}"
        [[ -z "${only}" ]] || grep -qE -- "${only}" <<<"${name} ${range}" || continue
        raw="${out}/raw/${dataset}-$(printf '%02d' "${i}").json"
        # Warm-up: one request, its status and time.
        read -r code t < <(curl -sS -o "${work}/warmup.body" -w '%{http_code} %{time_total}\n' \
            --max-time 300 "${auth[@]}" "${base}/api/v1/${path}" 2>/dev/null || echo "000 0")
        oha -z "${duration}s" -c "${concurrency}" -t 300s --no-tui --output-format json \
            --wait-ongoing-requests-after-deadline "${auth[@]}" "${base}/api/v1/${path}" >"${raw}" 2>"${work}/oha.err" ||
            { cat "${work}/oha.err" >&2; die "oha failed on ${path}"; }
        jq -r --arg name "${name}" --arg range "${range}" --arg ds "${dataset}" --arg path "${path}" \
            --arg code "${code}" --arg t "${t}" '
            ([.statusCodeDistribution // {} | to_entries[] | select((.key | tonumber) >= 400) | .value] | add // 0) as $bad
            | ([.errorDistribution // {} | to_entries[] | .value] | add // 0) as $failed
            | ([.statusCodeDistribution // {} | to_entries[] | .value] | add // 0) as $answered
            | ([.statusCodeDistribution // {} | keys[]] + (if $failed > 0 then ["failed"] else [] end) | join(",")) as $codes
            | [$name, $range, $ds,
               (.summary.requestsPerSec * 100 | round / 100),
               ((.latencyPercentiles.p50 // 0) * 10000 | round / 10),
               ((.latencyPercentiles.p99 // 0) * 10000 | round / 10),
               ($bad + $failed), ($answered + $failed),
               $codes, (($t | tonumber) * 10000 | round / 10), $code, $path] | @tsv' "${raw}" >>"${results}"
        tail -n 1 "${results}" | awk -F'\t' '{ printf "  %-34s %-11s %-5s %8s req/s  p50 %8s ms  p99 %8s ms  errors %s (HTTP %s; warm-up %s ms)\n", $1, $2, $3, $4, $5, $6, $7, $9, $10 }' >&2
    done
}

info "load: ${concurrency} connections × ${duration} s per call, after one warm-up request"
if [[ -n "${demo_url}" ]]; then
    info "benchmarking the demo dataset at ${demo_url}"
    bench demo "${demo_url}" "${demo_auth[@]}"
fi
if [[ -n "${big_url}" ]]; then
    info "benchmarking the ${rows}-interaction dataset at ${big_url}"
    if ((rows >= 1000000 && rows % 1000000 == 0)); then big_label="$((rows / 1000000))M"; else big_label="${rows}"; fi
    bench "${big_label}" "${big_url}"
fi

# --- the report ---
{
    printf '\nDatasets (rows):\n'
    for db in ${demo_url:+${demo_db}} ${big_url:+${big_db}}; do
        if [[ -n "${url}" && "${db}" == "${demo_db}" ]]; then
            printf '  demo: the escucha at %s\n' "${url}"
            continue
        fi
        printf '  %-24s interactions %s, labels %s, turns %s, parts of interactions %s\n' "${db}" \
            "$(count_rows "${db}" interactions)" "$(count_rows "${db}" labels)" "$(count_rows "${db}" turns)" \
            "$(ch_ok "SELECT count() FROM system.parts WHERE database = '${db}' AND table = 'interactions' AND active")"
    done
    [[ -f "${out}/insert-times.txt" && -n "${big_url}" ]] && printf '  insert of the generated dataset: %s\n' "$(<"${out}/insert-times.txt")"
    [[ -f "${out}/rollup-time.txt" && -n "${big_url}" ]] && printf '  %s\n' "$(<"${out}/rollup-time.txt")"
    printf '\nLoad: %s connections x %s s per call (oha), after one warm-up request; ClickHouse %s.\n\n' \
        "${concurrency}" "${duration}" "$(ch_ok 'SELECT version()')"
    column -t -s $'\t' < <(cut -f1-10 "${results}")
} | tee "${out}/results.txt"

# Markdown version of the table.
{
    printf '| endpoint | range | dataset | requests/s | p50 ms | p99 ms | errors | requests | HTTP | warm-up ms |\n|---|---|---|---:|---:|---:|---:|---:|---|---:|\n'
    tail -n +2 "${results}" | awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10 }'
} >"${out}/results.md"
info "results: ${out}/results.txt, ${out}/results.md, raw oha JSON in ${out}/raw"
