#!/usr/bin/env bash
# Local Kafka-compatible broker (tansu) and ClickHouse for development, tests
# and CI, run as plain background processes without Docker.
#
# Usage: scripts/services.sh COMMAND [SERVICE...]
#
# Commands:
#   install   install what is missing (ClickHouse from Debian, tansu with cargo)
#   start     start the services that are not running and wait until healthy
#   stop      stop the services (TERM, then KILL after a timeout)
#   status    print each service's state; exits non-zero if any is down
#   env       print `export` lines for the pipeline's connection settings,
#             for use as: eval "$(scripts/services.sh env)"
#
# SERVICE is `clickhouse` or `kafka`; without one, a command acts on both.
#
# All state lives under ${ESCUCHA_HOME:-<repo root>/.escucha}:
#   clickhouse/   generated config.xml and users.xml, data/, tmp/, user_files/
#   tansu/        the broker's sqlite database (durable across restarts)
#   run/          pid files
#   logs/         server logs
#
# Settings (environment):
#   ESCUCHA_CLICKHOUSE_HTTP_PORT   ClickHouse HTTP port        (8123)
#   ESCUCHA_CLICKHOUSE_TCP_PORT    ClickHouse native TCP port  (9000)
#   ESCUCHA_KAFKA_PORT             broker port                 (9092)
#   ESCUCHA_SERVICES_START_TIMEOUT seconds to wait for health  (60)
#   ESCUCHA_SERVICES_STOP_TIMEOUT  seconds before KILL on stop (30)
# Every server listens on 127.0.0.1 only.

set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

readonly HOST=127.0.0.1
readonly CH_HTTP_PORT="${ESCUCHA_CLICKHOUSE_HTTP_PORT:-8123}"
readonly CH_TCP_PORT="${ESCUCHA_CLICKHOUSE_TCP_PORT:-9000}"
readonly KAFKA_PORT="${ESCUCHA_KAFKA_PORT:-9092}"
readonly START_TIMEOUT="${ESCUCHA_SERVICES_START_TIMEOUT:-60}"
readonly STOP_TIMEOUT="${ESCUCHA_SERVICES_STOP_TIMEOUT:-30}"

readonly TANSU_VERSION=0.6.0
readonly TANSU_FEATURES=dynostore,libsql

readonly CH_DIR="${ESCUCHA_HOME}/clickhouse"
readonly TANSU_DIR="${ESCUCHA_HOME}/tansu"
readonly RUN_DIR="${ESCUCHA_HOME}/run"
readonly LOG_DIR="${ESCUCHA_HOME}/logs"

readonly CH_CONFIG="${CH_DIR}/config.xml"
readonly CH_USERS="${CH_DIR}/users.xml"
readonly TANSU_DB_NAME=tansu.db

readonly ALL_SERVICES=(clickhouse kafka)

usage() {
    cat >&2 <<'EOF'
usage: scripts/services.sh install|start|stop|status|env [clickhouse|kafka]...
EOF
}

for setting in ESCUCHA_CLICKHOUSE_HTTP_PORT ESCUCHA_CLICKHOUSE_TCP_PORT ESCUCHA_KAFKA_PORT \
    ESCUCHA_SERVICES_START_TIMEOUT ESCUCHA_SERVICES_STOP_TIMEOUT; do
    value="${!setting:-}"
    [[ -z "${value}" || "${value}" =~ ^[0-9]+$ ]] || die "${setting} must be a number, got '${value}'"
done
unset setting value
[[ "${CH_HTTP_PORT}" != "${CH_TCP_PORT}" ]] ||
    die "ClickHouse HTTP and TCP ports must differ (both ${CH_HTTP_PORT})"

# ---------------------------------------------------------------------------
# Process bookkeeping
# ---------------------------------------------------------------------------

pid_file() {
    printf '%s/%s.pid\n' "${RUN_DIR}" "$1"
}

# Whether PID is this project's process for SERVICE, as opposed to an
# unrelated process that reused the pid of a server that is gone.
is_service_process() {
    local service="$1" pid="$2" cmdline
    cmdline="$(tr '\0' ' ' <"/proc/${pid}/cmdline" 2>/dev/null)" || return 1
    case "${service}" in
    clickhouse) [[ "${cmdline}" == *"--config-file=${CH_CONFIG}"* ]] ;;
    kafka)
        [[ "${cmdline}" == *" broker "*"sqlite://${TANSU_DB_NAME}"* &&
            "$(readlink "/proc/${pid}/cwd" 2>/dev/null)" == "${TANSU_DIR}" ]]
        ;;
    *) return 1 ;;
    esac
}

# Print the pid of this project's running SERVICE, or fail if it is not
# running. A pid file left behind by a dead process is removed.
running_pid() {
    local service="$1" file pid
    file="$(pid_file "${service}")"
    [[ -s "${file}" ]] || return 1
    pid="$(<"${file}")"
    if [[ "${pid}" =~ ^[0-9]+$ ]] && kill -0 "${pid}" 2>/dev/null &&
        is_service_process "${service}" "${pid}"; then
        printf '%s\n' "${pid}"
        return 0
    fi
    rm -f "${file}"
    return 1
}

# Start a command in directory DIR, detached from this shell (own session,
# no terminal, output appended to LOG). The started process writes its own
# pid to PIDFILE before it execs the server, so the pid file always names the
# server itself.
spawn() {
    local pidfile="$1" dir="$2" log="$3"
    shift 3
    rm -f "${pidfile}"
    # shellcheck disable=SC2016 # expanded by the inner shell
    (cd "${dir}" && exec setsid -f bash -c 'echo "$$" >"$0"; exec "$@"' "${pidfile}" "$@" \
        </dev/null >>"${log}" 2>&1)
}

# Print the last lines of each given log file that exists.
show_logs() {
    local log
    for log in "$@"; do
        if [[ -s "${log}" ]]; then
            printf -- '--- last lines of %s ---\n' "${log}" >&2
            tail -n 30 "${log}" >&2
        fi
    done
}

# ---------------------------------------------------------------------------
# Health
# ---------------------------------------------------------------------------

clickhouse_url() {
    printf 'http://%s:%s\n' "${HOST}" "${CH_HTTP_PORT}"
}

clickhouse_healthy() {
    local reply
    reply="$(curl -fsS --max-time 2 "$(clickhouse_url)/ping" 2>/dev/null)" || return 1
    [[ "${reply}" == "Ok." ]]
}

kafka_healthy() {
    port_open "${HOST}" "${KAFKA_PORT}"
}

healthy() {
    case "$1" in
    clickhouse) clickhouse_healthy ;;
    kafka) kafka_healthy ;;
    esac
}

service_ports() {
    case "$1" in
    clickhouse) printf '%s\n' "${CH_HTTP_PORT}" "${CH_TCP_PORT}" ;;
    kafka) printf '%s\n' "${KAFKA_PORT}" ;;
    esac
}

service_logs() {
    case "$1" in
    clickhouse)
        printf '%s\n' "${LOG_DIR}/clickhouse-server.err.log" "${LOG_DIR}/clickhouse-server.stdout.log"
        ;;
    kafka) printf '%s\n' "${LOG_DIR}/tansu.log" ;;
    esac
}

# Fail when another process already listens on one of SERVICE's ports: the
# new server could not bind, and clients would silently talk to the other one.
check_ports_free() {
    local service="$1" port
    while read -r port; do
        if port_open "${HOST}" "${port}"; then
            die "${service}: port ${port} on ${HOST} is already in use by a process this script did not start; stop it or choose other ports (see the settings at the top of scripts/services.sh)"
        fi
    done < <(service_ports "${service}")
}

# Wait until SERVICE answers its health check. On timeout, or when the
# process exits early, print its log tail and fail.
wait_healthy() {
    local service="$1" started="${SECONDS}" logs=()
    mapfile -t logs < <(service_logs "${service}")
    while ((SECONDS - started < START_TIMEOUT)); do
        if running_pid "${service}" >/dev/null; then
            if healthy "${service}"; then
                return 0
            fi
        elif ((SECONDS - started >= 3)); then
            # The process has had ample time to write its pid file, and
            # either never did or is gone: it exited during start-up.
            show_logs "${logs[@]}"
            die "${service} exited during start-up"
        fi
        sleep 0.5
    done
    show_logs "${logs[@]}"
    die "${service} did not become healthy within ${START_TIMEOUT}s; it is left running (run 'start' again to keep waiting, or 'stop ${service}')"
}

# ---------------------------------------------------------------------------
# ClickHouse
# ---------------------------------------------------------------------------

# Write config.xml and users.xml for a server that keeps everything under
# CH_DIR and LOG_DIR. The XML root is <yandex>, which both Debian's 18.16
# and current releases accept.
write_clickhouse_config() {
    mkdir -p "${CH_DIR}/data" "${CH_DIR}/tmp" "${CH_DIR}/user_files" \
        "${CH_DIR}/format_schemas" "${LOG_DIR}"
    cat >"${CH_CONFIG}" <<EOF
<?xml version="1.0"?>
<!-- Generated by scripts/services.sh on every start; edits are overwritten. -->
<yandex>
    <logger>
        <level>information</level>
        <log>${LOG_DIR}/clickhouse-server.log</log>
        <errorlog>${LOG_DIR}/clickhouse-server.err.log</errorlog>
        <size>100M</size>
        <count>3</count>
    </logger>

    <listen_host>${HOST}</listen_host>
    <http_port>${CH_HTTP_PORT}</http_port>
    <tcp_port>${CH_TCP_PORT}</tcp_port>
    <!-- No interserver_http_port: a single local server needs no replication port. -->

    <path>${CH_DIR}/data/</path>
    <tmp_path>${CH_DIR}/tmp/</tmp_path>
    <user_files_path>${CH_DIR}/user_files/</user_files_path>
    <format_schema_path>${CH_DIR}/format_schemas/</format_schema_path>
    <users_config>${CH_USERS}</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>

    <max_connections>1024</max_connections>
    <keep_alive_timeout>3</keep_alive_timeout>
    <max_concurrent_queries>100</max_concurrent_queries>
    <uncompressed_cache_size>268435456</uncompressed_cache_size>
    <mark_cache_size>268435456</mark_cache_size>
    <mlock_executable>false</mlock_executable>

    <!-- Tests create and drop their own databases: no size guard on DROP. -->
    <max_table_size_to_drop>0</max_table_size_to_drop>
    <max_partition_size_to_drop>0</max_partition_size_to_drop>
</yandex>
EOF
    cat >"${CH_USERS}" <<'EOF'
<?xml version="1.0"?>
<!-- Generated by scripts/services.sh on every start; edits are overwritten. -->
<yandex>
    <profiles>
        <default>
            <load_balancing>random</load_balancing>
        </default>
    </profiles>

    <users>
        <!-- Passwordless, and so reachable from the loopback interface only. -->
        <default>
            <password></password>
            <networks>
                <ip>127.0.0.1</ip>
                <ip>::1</ip>
            </networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>

    <quotas>
        <default>
            <interval>
                <duration>3600</duration>
                <queries>0</queries>
                <errors>0</errors>
                <result_rows>0</result_rows>
                <read_rows>0</read_rows>
                <execution_time>0</execution_time>
            </interval>
        </default>
    </quotas>
</yandex>
EOF
}

clickhouse_binary() {
    command -v clickhouse-server 2>/dev/null ||
        die "clickhouse-server is not installed; run: scripts/services.sh install clickhouse"
}

start_clickhouse() {
    local bin
    bin="$(clickhouse_binary)"
    command -v curl >/dev/null 2>&1 || die "curl is not installed; run: scripts/services.sh install"
    write_clickhouse_config
    spawn "$(pid_file clickhouse)" "${CH_DIR}" "${LOG_DIR}/clickhouse-server.stdout.log" \
        "${bin}" --config-file="${CH_CONFIG}"
}

install_clickhouse() {
    local was_installed=1
    command -v clickhouse-server >/dev/null 2>&1 || was_installed=0
    ensure_apt_packages clickhouse-server curl
    if ((was_installed)); then
        info "clickhouse-server is already installed ($(command -v clickhouse-server))"
        return 0
    fi
    # On machines that run systemd, the package starts a system-wide server
    # on the same default ports. This project runs its own instance instead.
    if command -v systemctl >/dev/null 2>&1 &&
        systemctl is-active --quiet clickhouse-server 2>/dev/null; then
        info "disabling the system-wide clickhouse-server service started by the package"
        as_root systemctl disable --now clickhouse-server
    fi
    info "installed clickhouse-server"
}

# ---------------------------------------------------------------------------
# Kafka-compatible broker (tansu)
# ---------------------------------------------------------------------------

cargo_bin_dir() {
    printf '%s/bin\n' "${CARGO_HOME:-${HOME}/.cargo}"
}

# Print the path of the tansu binary, or fail if it is not installed.
tansu_binary() {
    if command -v tansu 2>/dev/null; then
        return 0
    fi
    local candidate
    candidate="$(cargo_bin_dir)/tansu"
    if [[ -x "${candidate}" ]]; then
        printf '%s\n' "${candidate}"
        return 0
    fi
    return 1
}

start_kafka() {
    local bin listener
    bin="$(tansu_binary)" ||
        die "tansu is not installed; run: scripts/services.sh install kafka"
    mkdir -p "${TANSU_DIR}" "${LOG_DIR}"
    listener="tcp://${HOST}:${KAFKA_PORT}"
    # tansu resolves a sqlite URL against its working directory, so it runs
    # in TANSU_DIR with a relative URL; that works for any ESCUCHA_HOME path.
    spawn "$(pid_file kafka)" "${TANSU_DIR}" "${LOG_DIR}/tansu.log" \
        "${bin}" broker \
        --cluster-id escucha \
        --listener-url "${listener}" \
        --advertised-listener-url "${listener}" \
        --storage-engine "sqlite://${TANSU_DB_NAME}"
}

install_kafka() {
    local bin cargo
    if bin="$(tansu_binary)"; then
        info "tansu is already installed (${bin})"
        return 0
    fi
    cargo="$(command -v cargo 2>/dev/null || true)"
    if [[ -z "${cargo}" && -x "$(cargo_bin_dir)/cargo" ]]; then
        cargo="$(cargo_bin_dir)/cargo"
    fi
    [[ -n "${cargo}" ]] || die "cargo is needed to install tansu; install a Rust toolchain first"
    ensure_apt_packages build-essential pkg-config
    info "installing tansu ${TANSU_VERSION} with cargo (about 15 minutes on 2 cores)"
    nice "${cargo}" install tansu --version "${TANSU_VERSION}" --locked --features "${TANSU_FEATURES}"
    bin="$(tansu_binary)" || die "cargo install finished but no tansu binary was found in $(cargo_bin_dir)"
    info "installed ${bin}"
}

# ---------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------

cmd_install() {
    local service
    for service in "$@"; do
        "install_${service}"
    done
}

cmd_start() {
    local service pid started=()
    mkdir -p "${RUN_DIR}" "${LOG_DIR}"
    for service in "$@"; do
        if pid="$(running_pid "${service}")"; then
            if healthy "${service}"; then
                info "${service} is already running (pid ${pid})"
                continue
            fi
            # Started earlier and still coming up (or stuck): wait below.
            started+=("${service}")
            continue
        fi
        check_ports_free "${service}"
        info "starting ${service}"
        "start_${service}"
        started+=("${service}")
    done
    for service in "${started[@]}"; do
        wait_healthy "${service}"
        info "${service} is up (pid $(running_pid "${service}"))"
    done
}

stop_service() {
    local service="$1" pid deadline
    if ! pid="$(running_pid "${service}")"; then
        info "${service} is not running"
        return 0
    fi
    info "stopping ${service} (pid ${pid})"
    kill -TERM "${pid}" 2>/dev/null || true
    deadline=$((SECONDS + STOP_TIMEOUT))
    while kill -0 "${pid}" 2>/dev/null && ((SECONDS < deadline)); do
        sleep 0.5
    done
    if kill -0 "${pid}" 2>/dev/null; then
        warn "${service} did not exit within ${STOP_TIMEOUT}s; killing it"
        kill -KILL "${pid}" 2>/dev/null || true
        while kill -0 "${pid}" 2>/dev/null; do
            sleep 0.2
        done
    fi
    rm -f "$(pid_file "${service}")"
    info "${service} stopped"
}

cmd_stop() {
    local service
    for service in "$@"; do
        stop_service "${service}"
    done
}

service_address() {
    case "$1" in
    clickhouse) clickhouse_url ;;
    kafka) printf '%s:%s\n' "${HOST}" "${KAFKA_PORT}" ;;
    esac
}

cmd_status() {
    local service pid down=0 state detail port
    for service in "$@"; do
        if pid="$(running_pid "${service}")"; then
            if healthy "${service}"; then
                state=healthy
                detail="pid ${pid}, $(service_address "${service}")"
            else
                state=unhealthy
                detail="pid ${pid} does not answer on $(service_address "${service}"); logs in ${LOG_DIR}"
                down=1
            fi
        else
            state=down
            detail="not running"
            while read -r port; do
                if port_open "${HOST}" "${port}"; then
                    detail="not running; port ${port} is used by a process this script did not start"
                fi
            done < <(service_ports "${service}")
            down=1
        fi
        printf '%-11s %-10s %s\n' "${service}" "${state}" "${detail}"
    done
    return "${down}"
}

cmd_env() {
    printf 'export ESCUCHA_KAFKA_BROKERS=%s:%s\n' "${HOST}" "${KAFKA_PORT}"
    printf 'export ESCUCHA_CLICKHOUSE_URL=%s\n' "$(clickhouse_url)"
}

main() {
    if [[ $# -lt 1 ]]; then
        usage
        exit 2
    fi
    local command="$1" services=() service
    shift
    for service in "$@"; do
        case "${service}" in
        clickhouse | kafka) services+=("${service}") ;;
        *)
            usage
            die "unknown service '${service}' (expected clickhouse or kafka)"
            ;;
        esac
    done
    if [[ ${#services[@]} -eq 0 ]]; then
        services=("${ALL_SERVICES[@]}")
    fi
    case "${command}" in
    install) cmd_install "${services[@]}" ;;
    start) cmd_start "${services[@]}" ;;
    stop) cmd_stop "${services[@]}" ;;
    status) cmd_status "${services[@]}" ;;
    env) cmd_env ;;
    -h | --help | help) usage ;;
    *)
        usage
        die "unknown command '${command}'"
        ;;
    esac
}

main "$@"
