#!/usr/bin/env bash
# Runs every test of the project: formatting, lints, unit tests of every
# crate, end-to-end tests through a real Kafka-compatible broker and a real
# ClickHouse, the docker-compose.yml and Grafana checks, and the web
# dashboard in headless Chromium. Installs what is missing,
# starts the services it needs and stops the ones it started.
#
# Usage: scripts/test.sh            (from anywhere; CI runs it through .ci/run)
#
# Build output goes to ${CARGO_TARGET_DIR:-~/.cache/escucha/target}, outside
# the clone, so repeated runs do not rebuild from zero.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "${ESCUCHA_REPO_ROOT}"

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${HOME}/.cache/escucha/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

started=()
cleanup() {
    if ((${#started[@]})); then
        info "stopping services this run started: ${started[*]}"
        scripts/services.sh stop "${started[@]}" || true
    fi
}
trap cleanup EXIT

info "installing what is missing (ClickHouse, the tansu broker, the sentence-encoder model, CPU libtorch and MiniLM for the rust-bert engine)"
scripts/services.sh install
scripts/models.sh install
scripts/libtorch.sh install
eval "$(scripts/libtorch.sh env)"

for service in clickhouse kafka; do
    if ! scripts/services.sh status "${service}" >/dev/null 2>&1; then
        started+=("${service}")
    fi
done
scripts/services.sh start
eval "$(scripts/services.sh env)"
export ESCUCHA_TEST_KAFKA="${ESCUCHA_KAFKA_BROKERS}"
export ESCUCHA_TEST_CLICKHOUSE="${ESCUCHA_CLICKHOUSE_URL}"

info "checking formatting and lints"
cargo fmt --all -- --check
nice cargo clippy --workspace --all-targets --all-features --locked -- -D warnings

info "running unit and end-to-end tests"
nice cargo test --workspace --all-features --locked -- --include-ignored

# Leave the command on PATH for `escucha classify` & co. unless one is there
# already (the demo installs an optimised build).
installed="${CARGO_HOME:-${HOME}/.cargo}/bin/escucha"
if [[ ! -x "${installed}" ]]; then
    install -D -m 755 "${CARGO_TARGET_DIR}/debug/escucha" "${installed}"
    info "installed escucha into $(dirname "${installed}")"
fi

info "checking docker-compose.yml"
scripts/check-compose.sh --self-test

info "checking the Grafana dashboards' queries against ClickHouse with demo data"
python3 scripts/check-grafana.py --self-test
ESCUCHA_BIN="${CARGO_TARGET_DIR}/debug/escucha" python3 scripts/check-grafana.py --with-demo-data --require-data

info "testing the web dashboard in headless Chromium (screenshots in target/browser-artifacts)"
ESCUCHA_BIN="${CARGO_TARGET_DIR}/debug/escucha" scripts/browser-test.sh

info "all tests passed"
