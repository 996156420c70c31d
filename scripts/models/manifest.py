"""Write and verify the manifest.json of a converted sentence-encoder directory.

Uses the Python standard library only, so that ``check`` also works without
the project's virtual environment.

Usage:
  python manifest.py write DIR --summary SUMMARY.json --source-package NAME==VERSION
                           --source-file PATH --ort-version VERSION --ort-library PATH
                           --requirements-sha256 HEX
  python manifest.py check DIR [--requirements-sha256 HEX]

``write`` hashes the files of DIR (model.onnx, spm.model, reference.json) and
writes DIR/manifest.json. ``check`` exits 0 when the manifest exists, every
file it lists has the recorded SHA-256, the ONNX Runtime library it names
exists, and (when given) the requirements hash matches; it prints what is
wrong on stderr and exits 1 otherwise.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

FORMAT = 1
NAME = "use-m-v3-int8"
MANIFEST = "manifest.json"
FILES = {"model": "model.onnx", "tokenizer": "spm.model", "reference": "reference.json"}


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write(args: argparse.Namespace) -> int:
    directory = Path(args.dir)
    summary = json.loads(Path(args.summary).read_text(encoding="utf-8"))
    package, _, version = args.source_package.partition("==")
    source = Path(args.source_file)
    manifest = {
        "format": FORMAT,
        "name": NAME,
        "description": "Universal Sentence Encoder multilingual v3, int8 ONNX, tokenizer op removed "
        "(inputs are SentencePiece ids with BOS/EOS and per-text row splits).",
        "source": {
            "package": package,
            "version": version,
            "file": source.name,
            "sha256": sha256(source),
        },
        "files": {key: {"path": name, "sha256": sha256(directory / name)} for key, name in FILES.items()},
        "inputs": summary["inputs"],
        "output": summary["output"],
        "dimension": summary["dimension"],
        "tokenizer": summary["tokenizer"],
        "onnxruntime": {
            "package": "onnxruntime",
            "version": args.ort_version,
            "library": str(Path(args.ort_library).resolve()),
        },
        "requirements_sha256": args.requirements_sha256,
    }
    tmp = directory / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    tmp.replace(directory / MANIFEST)
    return 0


def problems(directory: Path, requirements_sha256: str | None) -> list[str]:
    path = directory / MANIFEST
    if not path.is_file():
        return [f"{path} does not exist"]
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        return [f"{path} is unreadable: {e}"]
    found = []
    if manifest.get("format") != FORMAT:
        found.append(f"manifest format {manifest.get('format')!r}, expected {FORMAT}")
    if requirements_sha256 and manifest.get("requirements_sha256") != requirements_sha256:
        found.append("made with other pinned package versions")
    for key in FILES:
        entry = manifest.get("files", {}).get(key)
        if not entry:
            found.append(f"manifest lists no {key} file")
            continue
        file = directory / entry["path"]
        if not file.is_file():
            found.append(f"{file} is missing")
        elif sha256(file) != entry["sha256"]:
            found.append(f"{file} does not match its recorded SHA-256")
    library = manifest.get("onnxruntime", {}).get("library")
    if not library or not Path(library).is_file():
        found.append(f"ONNX Runtime library {library!r} is missing")
    return found


def check(args: argparse.Namespace) -> int:
    found = problems(Path(args.dir), args.requirements_sha256)
    for problem in found:
        print(f"manifest: {problem}", file=sys.stderr)
    return 1 if found else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    w = commands.add_parser("write")
    w.add_argument("dir")
    w.add_argument("--summary", required=True)
    w.add_argument("--source-package", required=True)
    w.add_argument("--source-file", required=True)
    w.add_argument("--ort-version", required=True)
    w.add_argument("--ort-library", required=True)
    w.add_argument("--requirements-sha256", required=True)
    c = commands.add_parser("check")
    c.add_argument("dir")
    c.add_argument("--requirements-sha256")
    args = parser.parse_args()
    return write(args) if args.command == "write" else check(args)


if __name__ == "__main__":
    sys.exit(main())
