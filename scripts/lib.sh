# shellcheck shell=bash
# Shared helpers for the project's shell scripts. Source it; do not run it.
#
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#
# Provides:
#   ESCUCHA_REPO_ROOT   absolute path of the repository root
#   ESCUCHA_HOME        absolute path of the project-owned state directory
#                       (${ESCUCHA_HOME:-<repo root>/.escucha})
#   info, warn, die     messages on stderr, prefixed with the script name
#   ensure_apt_packages install Debian packages that are missing
#   port_open           whether something accepts TCP connections on a port
#   ensure_python_venv  a virtual environment with a pinned requirements file

if [[ -n "${ESCUCHA_LIB_SOURCED:-}" ]]; then
    return 0
fi
ESCUCHA_LIB_SOURCED=1

ESCUCHA_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
export ESCUCHA_REPO_ROOT

# The state directory must be absolute: generated configuration files embed it.
ESCUCHA_HOME="${ESCUCHA_HOME:-${ESCUCHA_REPO_ROOT}/.escucha}"
mkdir -p "${ESCUCHA_HOME}"
ESCUCHA_HOME="$(cd "${ESCUCHA_HOME}" && pwd -P)"
export ESCUCHA_HOME

ESCUCHA_SCRIPT_NAME="$(basename "$0" .sh)"

# Print an informational message on stderr.
info() {
    printf '%s: %s\n' "${ESCUCHA_SCRIPT_NAME}" "$*" >&2
}

# Print a warning on stderr.
warn() {
    printf '%s: warning: %s\n' "${ESCUCHA_SCRIPT_NAME}" "$*" >&2
}

# Print an error on stderr and exit with status 1.
die() {
    printf '%s: error: %s\n' "${ESCUCHA_SCRIPT_NAME}" "$*" >&2
    exit 1
}

# Run a command as root: directly when already root, through sudo otherwise.
as_root() {
    if [[ "$(id -u)" -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "'$*' needs root privileges and sudo is not available"
    fi
}

# Whether the Debian package NAME is installed.
apt_package_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'
}

# Whether apt knows an installable candidate for package NAME.
apt_has_candidate() {
    local candidate
    candidate="$(apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ { print $2 }')"
    [[ -n "${candidate}" && "${candidate}" != "(none)" ]]
}

# Install the Debian packages given as arguments that are not installed yet.
# Runs `apt-get update` first only when one of them has no install candidate
# (for example on a fresh machine whose package lists were never fetched).
ensure_apt_packages() {
    local missing=() pkg
    for pkg in "$@"; do
        apt_package_installed "${pkg}" || missing+=("${pkg}")
    done
    if [[ ${#missing[@]} -eq 0 ]]; then
        return 0
    fi
    command -v apt-get >/dev/null 2>&1 ||
        die "missing packages (${missing[*]}) and apt-get is not available; install them by hand"
    for pkg in "${missing[@]}"; do
        if ! apt_has_candidate "${pkg}"; then
            info "refreshing the package lists (apt-get update)"
            as_root apt-get update -q
            break
        fi
    done
    info "installing ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# Whether a TCP connection to HOST:PORT succeeds within one second.
port_open() {
    local host="$1" port="$2"
    # shellcheck disable=SC2016 # expanded by the inner shell
    timeout 1 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "${host}" "${port}" 2>/dev/null
}

# Create the Python virtual environment DIR when missing (with
# ${ESCUCHA_PYTHON:-python3}; Debian's python3-venv installed when needed)
# and install the pinned packages of REQUIREMENTS (--no-deps, so the file
# must pin every package) unless that exact file was installed before.
ensure_python_venv() {
    local venv="$1" requirements="$2" python="${ESCUCHA_PYTHON:-python3}"
    if [[ ! -x "${venv}/bin/python" ]]; then
        if ! command -v "${python}" >/dev/null 2>&1 || ! "${python}" -c 'import ensurepip, venv' >/dev/null 2>&1; then
            ensure_apt_packages python3 python3-venv
        fi
        command -v "${python}" >/dev/null 2>&1 || die "${python} not found; install Python 3.10+ or set ESCUCHA_PYTHON"
        info "creating virtual environment ${venv}"
        mkdir -p "$(dirname "${venv}")"
        "${python}" -m venv "${venv}" ||
            die "could not create ${venv}; on Debian/Ubuntu install python3-venv"
    fi
    local stamp="${venv}/.escucha-requirements.sha256" wanted
    wanted="$(sha256sum "${requirements}" | cut -d' ' -f1)"
    if [[ -f "${stamp}" && "$(<"${stamp}")" == "${wanted}" ]]; then
        return 0
    fi
    info "installing the pinned packages of ${requirements}"
    "${venv}/bin/python" -m pip install --quiet --disable-pip-version-check \
        --no-deps --requirement "${requirements}" >&2
    printf '%s\n' "${wanted}" >"${stamp}"
}

# Python interpreter for pip downloads and stdlib-only helpers: the
# virtual environment DIR's when present, else ${ESCUCHA_PYTHON:-python3}.
helper_python() {
    local venv="$1" python="${ESCUCHA_PYTHON:-python3}"
    if [[ -x "${venv}/bin/python" ]]; then
        printf '%s\n' "${venv}/bin/python"
    else
        command -v "${python}" >/dev/null 2>&1 || die "${python} not found"
        printf '%s\n' "${python}"
    fi
}
