#!/usr/bin/env bash
# The web dashboard's front end (dashboards/web): an npm project bundled by
# esbuild into dashboards/web/dist/, which `escucha run --dashboard
# dashboards/web/dist` serves. Everything it loads comes from there: no CDN.
#
# Usage: scripts/web.sh build     install the npm packages when needed, then bundle
#        scripts/web.sh clean     remove dist/ and node_modules/
#
# `build` runs `npm ci` only when node_modules is missing or package-lock.json
# changed since the last install, and bundles only when a source file is newer
# than the bundle, so a second run takes well under a second. Node.js and npm
# come from Debian (`apt-get install nodejs npm`), installed when missing.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

readonly WEB_DIR="${ESCUCHA_REPO_ROOT}/dashboards/web"
readonly DIST="${WEB_DIR}/dist"

usage() {
    echo "usage: scripts/web.sh build|clean" >&2
}

# Make sure node (18 or later) and npm are there: Debian's packages when root
# (or sudo) can install them, otherwise a clear error.
ensure_node() {
    if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
        if command -v apt-get >/dev/null 2>&1 && { [[ "$(id -u)" -eq 0 ]] || command -v sudo >/dev/null 2>&1; }; then
            info "Node.js and npm are missing; installing Debian's nodejs and npm"
            ensure_apt_packages nodejs npm
        else
            die "Node.js and npm are needed to build the dashboard; install them (Debian/Ubuntu: sudo apt-get install -y nodejs npm)"
        fi
    fi
    local major
    major="$(node -p 'process.versions.node.split(".")[0]')"
    [[ "${major}" -ge 18 ]] || die "Node.js 18 or later is needed to build the dashboard (found $(node --version))"
}

# npm ci into DIR when its node_modules is missing or its lockfile changed.
# The lockfile's hash is recorded in node_modules/.escucha-lock.sha256.
npm_ci_if_needed() {
    local dir="$1" stamp want
    stamp="${dir}/node_modules/.escucha-lock.sha256"
    want="$(sha256sum "${dir}/package-lock.json" | cut -d' ' -f1)"
    if [[ -d "${dir}/node_modules" && -f "${stamp}" && "$(<"${stamp}")" == "${want}" ]]; then
        return 0
    fi
    info "installing npm packages in ${dir#"${ESCUCHA_REPO_ROOT}"/} (npm ci)"
    (cd "${dir}" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 nice npm ci --no-audit --no-fund --loglevel=error)
    printf '%s\n' "${want}" >"${stamp}"
}

# Whether the bundle is older than any source, the build script or the lockfile.
stale() {
    [[ -f "${DIST}/app.js" && -f "${DIST}/index.html" && -f "${DIST}/style.css" ]] || return 0
    [[ -n "$(find "${WEB_DIR}/src" "${WEB_DIR}/build.mjs" "${WEB_DIR}/package-lock.json" \
        -newer "${DIST}/app.js" -print -quit)" ]]
}

build() {
    ensure_node
    npm_ci_if_needed "${WEB_DIR}"
    if stale; then
        info "bundling the dashboard into dashboards/web/dist"
        (cd "${WEB_DIR}" && nice node build.mjs >/dev/null)
        touch "${DIST}/app.js"
    else
        info "dashboard is up to date (dashboards/web/dist)"
    fi
}

case "${1:-}" in
build) build ;;
clean) rm -rf "${DIST}" "${WEB_DIR}/node_modules" ;;
*)
    usage
    exit 2
    ;;
esac
