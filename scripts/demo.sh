#!/usr/bin/env bash
# The escucha demo: installs and starts ClickHouse and a Kafka-compatible
# broker, builds escucha, produces a realistic generated sample of es/pt/en
# surveys and transcripts through Kafka, and serves the API and dashboard
# until Ctrl-C.
#
# Usage: scripts/demo.sh
#   ESCUCHA_DEMO_INTERACTIONS  interactions to generate (6000)
#   ESCUCHA_DEMO_DAYS          days of history ending now (90)
#   ESCUCHA_API_BIND           API address (127.0.0.1:8080)
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "${ESCUCHA_REPO_ROOT}"

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${HOME}/.cache/escucha/target}"
interactions="${ESCUCHA_DEMO_INTERACTIONS:-6000}"
days="${ESCUCHA_DEMO_DAYS:-90}"
bind="${ESCUCHA_API_BIND:-127.0.0.1:8080}"

info "step 1/5: installing what is missing (ClickHouse, the tansu broker — its first build takes ~15 min — and the sentence-encoder model)"
scripts/services.sh install
scripts/models.sh install

info "step 2/5: starting the services"
scripts/services.sh start
eval "$(scripts/services.sh env)"

info "step 3/5: building escucha (release) and the web dashboard"
scripts/web.sh build
nice cargo build --release --locked -p escucha
bin="${CARGO_TARGET_DIR}/release/escucha"
# Put the command on PATH (rustup puts ~/.cargo/bin there) for `escucha classify` & co.
install -D -m 755 "${bin}" "${CARGO_HOME:-${HOME}/.cargo}/bin/escucha"
info "installed escucha into ${CARGO_HOME:-${HOME}/.cargo}/bin"
"${bin}" pipelines validate pipelines
info "training the classifier heads unless they are up to date (about two minutes the first time)"
"${bin}" train --if-needed

log="${ESCUCHA_HOME}/logs/escucha-demo.log"
mkdir -p "$(dirname "${log}")"
info "step 4/5: starting escucha (log: ${log})"
ESCUCHA_API_BIND="${bind}" "${bin}" run --open --dashboard dashboards/web/dist >"${log}" 2>&1 &
escucha_pid=$!
stop_escucha() {
    if kill -0 "${escucha_pid}" 2>/dev/null; then
        kill -TERM "${escucha_pid}" 2>/dev/null || true
        wait "${escucha_pid}" 2>/dev/null || true
    fi
    info "escucha stopped; services keep running (scripts/services.sh stop)"
}
trap stop_escucha EXIT
trap 'exit 130' INT TERM

api="http://${bind}"
for _ in $(seq 1 60); do
    if curl -fsS "${api}/healthz" >/dev/null 2>&1; then
        break
    fi
    kill -0 "${escucha_pid}" 2>/dev/null || { tail -n 30 "${log}" >&2; die "escucha exited; see ${log}"; }
    sleep 1
done
curl -fsS "${api}/healthz" >/dev/null || die "the API did not come up; see ${log}"

info "step 5/5: producing ${interactions} generated interactions over ${days} days through Kafka"
"${bin}" demo --interactions "${interactions}" --days "${days}"

expected="$(
    "${bin}" demo --interactions "${interactions}" --days "${days}" --count-only 2>/dev/null
)"
info "waiting for escucha to classify and store them"
stored=0
for _ in $(seq 1 600); do
    stored="$(curl -fsS "${api}/api/v1/summary" 2>/dev/null | grep -o '"interactions":[0-9]*' | head -n 1 | cut -d: -f2 || true)"
    stored="${stored:-0}"
    printf '\r%s: stored %s/%s' "${ESCUCHA_SCRIPT_NAME}" "${stored}" "${expected}" >&2
    if [[ "${stored}" -ge "${expected}" ]]; then
        break
    fi
    sleep 1
done
printf '\n' >&2

cat >&2 <<MSG

  escucha is running with ${stored} interactions.

  Dashboard        ${api}/
  Summary          ${api}/api/v1/summary
  Process gaps     ${api}/api/v1/gaps?from=$(date -u -d "-${days} days" +%F)
  Emotion series   ${api}/api/v1/timeseries?labels=emotion&interval=week
  Verbatims        ${api}/api/v1/interactions?theme=long_wait&limit=5
  Pipelines        ${api}/api/v1/pipelines
  Metrics          ${api}/metrics
  OpenAPI          ${api}/openapi.json

  WARNING: open access — the API answers every request without a token.
  This is for a local demo on ${bind} only; configure [[api.tokens]] for real use.

  Press Ctrl-C to stop.
MSG
wait "${escucha_pid}"
