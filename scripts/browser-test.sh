#!/usr/bin/env bash
# Browser tests of the web dashboard: headless Debian chromium driven by
# Playwright (playwright-core from npm, tests/browser/), against demo data
# ingested through Kafka into ClickHouse by the real escucha binary.
#
# Usage: scripts/browser-test.sh
#
# Isolation: its own ClickHouse database (dropped at the end), its own API
# port, its own consumer groups, and its own Kafka topics: pipeline files are
# copied to a temporary directory with topics and groups renamed. When the
# escucha binary cannot produce its demo sample to renamed topics, the test
# starts a private broker (tansu, on a free port, state in the temporary
# directory) and uses the shipped topic names there instead; the shared
# broker is never written to in that case.
#
# Settings (environment):
#   ESCUCHA_BIN                  escucha binary                     (escucha)
#   ESCUCHA_ARTIFACTS            screenshots and logs               (target/browser-artifacts)
#   ESCUCHA_BROWSER_BIND         API address of the tested escucha  (127.0.0.1:18089)
#   ESCUCHA_BROWSER_DATABASE     ClickHouse database                (escucha_browser)
#   ESCUCHA_BROWSER_KAFKA        auto | shared | private             (auto)
#   ESCUCHA_BROWSER_TIMEOUT      seconds to wait for the data        (300)
#   ESCUCHA_ENGINE               classification engine              (cues: fast and deterministic)
#   CHROMIUM                     browser executable                 (/usr/bin/chromium)
# Services (ClickHouse, broker) must be running or startable with
# scripts/services.sh start (idempotent); they are started when down.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "${ESCUCHA_REPO_ROOT}"

bin="${ESCUCHA_BIN:-escucha}"
artifacts="${ESCUCHA_ARTIFACTS:-target/browser-artifacts}"
bind="${ESCUCHA_BROWSER_BIND:-127.0.0.1:18089}"
database="${ESCUCHA_BROWSER_DATABASE:-escucha_browser}"
kafka_mode="${ESCUCHA_BROWSER_KAFKA:-auto}"
timeout_s="${ESCUCHA_BROWSER_TIMEOUT:-300}"
chromium="${CHROMIUM:-/usr/bin/chromium}"
interactions=1500
days=60

[[ "${database}" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || die "ESCUCHA_BROWSER_DATABASE must be an identifier, got '${database}'"
[[ "${kafka_mode}" =~ ^(auto|shared|private)$ ]] || die "ESCUCHA_BROWSER_KAFKA must be auto, shared or private"
command -v "${bin}" >/dev/null 2>&1 || die "escucha binary '${bin}' not found (set ESCUCHA_BIN or install it: scripts/demo.sh)"
bin="$(command -v "${bin}")"
mkdir -p "${artifacts}"
artifacts="$(cd "${artifacts}" && pwd -P)"
rm -f "${artifacts}"/*.png "${artifacts}"/*.csv

# --- what the test needs: chromium, node, the dashboard bundle, the test packages ---
if [[ ! -x "${chromium}" ]]; then
    [[ "${chromium}" == /usr/bin/chromium ]] || die "CHROMIUM=${chromium} is not executable"
    info "installing Debian's chromium"
    ensure_apt_packages chromium
fi
scripts/web.sh build
stamp="tests/browser/node_modules/.escucha-lock.sha256"
want="$(sha256sum tests/browser/package-lock.json | cut -d' ' -f1)"
if [[ ! -f "${stamp}" || "$(<"${stamp}")" != "${want}" ]]; then
    info "installing the browser-test packages (npm ci; no browser download)"
    (cd tests/browser && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 nice npm ci --no-audit --no-fund --loglevel=error)
    printf '%s\n' "${want}" >"${stamp}"
fi

# --- services ---
scripts/services.sh start
eval "$(scripts/services.sh env)"
ch_url="${ESCUCHA_CLICKHOUSE_URL}"
host="${bind%:*}"
port="${bind##*:}"
! port_open "${host}" "${port}" || die "${bind} is already in use; set ESCUCHA_BROWSER_BIND to a free address"

work="$(mktemp -d "${TMPDIR:-/tmp}/escucha-browser.XXXXXX")"
escucha_pid=""
private_home=""
cleanup() {
    local rc=$?
    if [[ -n "${escucha_pid}" ]] && kill -0 "${escucha_pid}" 2>/dev/null; then
        kill "${escucha_pid}" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "${escucha_pid}" 2>/dev/null || break; sleep 0.2; done
        kill -9 "${escucha_pid}" 2>/dev/null || true
    fi
    if [[ -n "${private_home}" ]]; then
        ESCUCHA_HOME="${private_home}" scripts/services.sh stop kafka >/dev/null 2>&1 || true
    fi
    curl -fsS "${ch_url}/" --data-binary "DROP DATABASE IF EXISTS ${database}" >/dev/null 2>&1 ||
        warn "could not drop the ClickHouse database ${database}"
    [[ -f "${work}/escucha.log" ]] && cp "${work}/escucha.log" "${artifacts}/escucha.log"
    rm -rf "${work}"
    exit "${rc}"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

curl -fsS "${ch_url}/" --data-binary "DROP DATABASE IF EXISTS ${database}" >/dev/null ||
    die "ClickHouse at ${ch_url} does not answer"

# --- the test's own escucha environment ---
export ESCUCHA_HOME="${work}/home"
mkdir -p "${ESCUCHA_HOME}"
export ESCUCHA_CLICKHOUSE_DATABASE="${database}"
export ESCUCHA_API_BIND="${bind}"
export ESCUCHA_ENGINE="${ESCUCHA_ENGINE:-cues}"
export ESCUCHA_INSTANCE_ID="escucha-browser-test-$$"
export ESCUCHA_CUSTOMER_KEY_SECRET="browser-test-secret"
unset ESCUCHA_CONFIG
prefix="browser$(date +%s)$$"

# Pipeline files with topics and groups renamed to PREFIX, into DIR.
renamed_pipelines() {
    local dir="$1" name="$2" f
    mkdir -p "${dir}"
    for f in pipelines/*.toml; do
        sed -e "s/\"escucha\\./\"${name}./g" -e "s/\"escucha-/\"${name}-/g" "${f}" >"${dir}/$(basename "${f}")"
    done
}

demo() {
    "${bin}" demo --pipelines "$1" --interactions "${interactions}" --days "${days}" --again
}

pipelines_dir=""
if [[ "${kafka_mode}" != private ]]; then
    renamed_pipelines "${work}/pipelines" "${prefix}"
    info "producing ${interactions} demo interactions over ${days} days to topics ${prefix}.*"
    if demo "${work}/pipelines" >"${work}/demo.log" 2>&1; then
        pipelines_dir="${work}/pipelines"
    elif [[ "${kafka_mode}" == auto ]] && grep -q "no pipeline in" "${work}/demo.log"; then
        info "this escucha demo produces only to the shipped topic names: using a private broker instead"
    else
        cat "${work}/demo.log" >&2
        die "escucha demo failed"
    fi
fi
if [[ -z "${pipelines_dir}" ]]; then
    kafka_port=19192
    while port_open 127.0.0.1 "${kafka_port}"; do kafka_port=$((kafka_port + 1)); done
    private_home="${work}/broker"
    mkdir -p "${private_home}"
    ESCUCHA_HOME="${private_home}" ESCUCHA_KAFKA_PORT="${kafka_port}" scripts/services.sh start kafka
    export ESCUCHA_KAFKA_BROKERS="127.0.0.1:${kafka_port}"
    renamed_pipelines "${work}/pipelines" escucha
    # Own consumer groups all the same.
    sed -i -e "s/^group = \"escucha-/group = \"${prefix}-/" "${work}"/pipelines/*.toml
    pipelines_dir="${work}/pipelines"
    info "producing ${interactions} demo interactions over ${days} days to the private broker 127.0.0.1:${kafka_port}"
    demo "${pipelines_dir}" >"${work}/demo.log" 2>&1 || { cat "${work}/demo.log" >&2; die "escucha demo failed"; }
fi
expected="$("${bin}" demo --count-only --interactions "${interactions}" --days "${days}")"

# --- tokens: admin from the environment, a viewer and an analyst in a config file ---
rand_token() { od -An -N24 -tx1 /dev/urandom | tr -d ' \n'; }
admin_token="$(rand_token)"
config="${work}/escucha.toml"
: >"${config}"
new_token() {
    local role="$1" out tok
    out="$("${bin}" token new --name "browser-${role}" --role "${role}")"
    tok="$(sed -n 's/^token (shown once; give it to the user): *//p' <<<"${out}")"
    [[ -n "${tok}" ]] || die "could not read the token printed by 'escucha token new'"
    sed -n '/^\[\[api.tokens\]\]/,$p' <<<"${out}" >>"${config}"
    printf '%s\n' "${tok}"
}
viewer_token="$(new_token viewer)"
analyst_token="$(new_token analyst)"

info "starting escucha on ${bind} (database ${database}, engine ${ESCUCHA_ENGINE}; log: ${artifacts}/escucha.log)"
ESCUCHA_ADMIN_TOKEN="${admin_token}" "${bin}" --config "${config}" run \
    --pipelines "${pipelines_dir}" --bind "${bind}" --dashboard dashboards/web/dist >"${work}/escucha.log" 2>&1 &
escucha_pid=$!

info "waiting until the ${expected} demo interactions are stored (up to ${timeout_s} s)"
deadline=$((SECONDS + timeout_s))
stored=0
while :; do
    kill -0 "${escucha_pid}" 2>/dev/null || { tail -n 30 "${work}/escucha.log" >&2; die "escucha exited early"; }
    stored="$(curl -fsS -H "Authorization: Bearer ${admin_token}" "http://${bind}/api/v1/summary" 2>/dev/null |
        sed -n 's/.*"interactions":\([0-9]*\).*/\1/p' | head -n 1)" || stored=0
    [[ "${stored:-0}" -ge "${expected}" ]] && break
    ((SECONDS < deadline)) || { tail -n 30 "${work}/escucha.log" >&2; die "only ${stored:-0} of ${expected} interactions stored after ${timeout_s} s"; }
    sleep 1
done
info "${stored} interactions stored; running the browser tests (screenshots: ${artifacts})"

set +e
(
    cd tests/browser &&
        ESCUCHA_URL="http://${bind}" ESCUCHA_TEST_ADMIN_TOKEN="${admin_token}" \
            ESCUCHA_TEST_ANALYST_TOKEN="${analyst_token}" ESCUCHA_TEST_VIEWER_TOKEN="${viewer_token}" \
            ESCUCHA_ARTIFACTS="${artifacts}" CHROMIUM="${chromium}" \
            node --test --test-concurrency=1 --test-reporter=spec dashboard.test.mjs
)
rc=$?
set -e
if [[ "${rc}" -ne 0 ]]; then
    die "browser tests failed (exit ${rc}); screenshots and the escucha log are in ${artifacts}"
fi
info "browser tests passed; screenshots in ${artifacts}"
