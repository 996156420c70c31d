"""Reference embeddings from the ORIGINAL Universal Sentence Encoder graph.

Runs the unmodified graph (with its SentencepieceTokenizer op, through the
onnxruntime-extensions custom-op library) on a fixed set of Spanish,
Portuguese and English texts, and checks that the converted graph written by
use_convert.py gives bit-identical embeddings when fed the token ids that the
original op produces. The references let the Rust encoder prove that its own
tokenization and inference match the original model.

Usage: python use_reference.py ORIGINAL.onnx CONVERTED.onnx OUT.json

OUT.json holds, for every text, the token ids of the original op and the
embedding of the text encoded on its own, plus the embeddings of all texts
encoded together as one batch (the int8 graph quantizes activations per
batch, so a text's embedding depends slightly on its batch-mates), and the
token ids of the original op for tokenizer edge cases.
Exits non-zero when the converted graph differs from the original.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnxruntime_extensions import get_library_path

TEXTS = [
    ("es", "Hola, ¿cómo estás?"),
    ("es", "¡Qué mal servicio! Esperé más de una hora 😡"),
    (
        "es",
        "Llamé tres veces por el mismo cobro duplicado en mi factura y cada agente me dio una "
        "respuesta distinta; al final nadie lo resolvió y tuve que pedir la baja del servicio.",
    ),
    ("pt", "Obrigado pela ajuda, resolveram tudo rapidinho."),
    ("pt", "Não consigo acessar minha conta, ação urgente!"),
    (
        "pt",
        "A atendente foi muito atenciosa, explicou cada passo da portabilidade e ainda me ligou "
        "no dia seguinte para confirmar que a linha já estava funcionando sem nenhum problema.",
    ),
    ("en", "Thanks!"),
    ("en", "The agent was rude 🙄 and hung up on me."),
    (
        "en",
        "I waited forty minutes on hold, got transferred twice, and the second agent finally "
        "refunded the duplicate charge, but nobody told me why it happened in the first place.",
    ),
    ("es", "  Espacios   de más\tentre\npalabras  "),
    ("pt", "ÀÉÎÕÜ ñ ç ß — “aspas” … Ação! Coração ❤️ 👍🏽"),
    ("es", "Pedido #98765: €100,00 / R$ 50 — ref. ABC-123 (urgente)"),
    ("en", "ok"),
]

# Edge cases for the tokenizer alone: empty and blank texts, Unicode spaces,
# zero-width and control characters, compatibility forms, combining marks,
# runs of characters outside the vocabulary.
TOKEN_CASES = [
    "",
    "   ",
    "\t\n",
    "a\u00a0b",
    "a\u3000b",
    "x\u200bz",
    "\ufb01 \u2460",
    "\U0001f44d\U0001f3fd\U0001f44d\U0001f3fd",
    "e\u0007f",
    "a\u0301 e\u0301 n\u0303 c\u0327",
    "\uff21\uff22\uff23 \uff11\uff12",
    "  leading and trailing  ",
    "ÁRBOL árbol Árbol ÇÃO ção",
    "¿¡Qué!? ¡¿Cómo?!",
    "don't won't l'été d'água",
    "https://example.com/pedido?id=42&lang=pt-BR",
    "😡😡😡 horrible 😡",
    "日本語のテキスト",
]


def fail(message: str) -> None:
    print(f"use_reference: error: {message}", file=sys.stderr)
    raise SystemExit(1)


def extension_options() -> ort.SessionOptions:
    options = ort.SessionOptions()
    options.register_custom_ops_library(get_library_path())
    options.intra_op_num_threads = 1
    return options


def tokenizer_only(original: onnx.ModelProto) -> onnx.ModelProto:
    """A graph made of the original tokenizer node alone, exposing its two outputs."""
    graph = original.graph
    node = next(n for n in graph.node if n.op_type == "SentencepieceTokenizer")
    constants = [i for i in graph.initializer if i.name in set(node.input[1:])]
    ids, splits = node.output
    small = onnx.helper.make_graph(
        [node],
        "sentencepiece_tokenizer",
        list(graph.input),
        [
            onnx.helper.make_tensor_value_info(ids, onnx.TensorProto.INT32, ["total_tokens"]),
            onnx.helper.make_tensor_value_info(splits, onnx.TensorProto.INT64, ["batch_plus_one"]),
        ],
        initializer=constants,
    )
    return onnx.helper.make_model(small, opset_imports=list(original.opset_import), ir_version=original.ir_version)


def main(argv: list[str]) -> None:
    if len(argv) != 4:
        fail("usage: use_reference.py ORIGINAL.onnx CONVERTED.onnx OUT.json")
    original_path, converted_path, out_path = Path(argv[1]), Path(argv[2]), Path(argv[3])

    original_model = onnx.load(str(original_path))
    original = ort.InferenceSession(str(original_path), extension_options(), providers=["CPUExecutionProvider"])
    tokenizer = ort.InferenceSession(
        tokenizer_only(original_model).SerializeToString(),
        extension_options(),
        providers=["CPUExecutionProvider"],
    )
    converted_options = ort.SessionOptions()
    converted_options.intra_op_num_threads = 1
    converted = ort.InferenceSession(str(converted_path), converted_options, providers=["CPUExecutionProvider"])
    text_input = original.get_inputs()[0].name

    def original_embed(texts: list[str]) -> np.ndarray:
        return original.run(None, {text_input: np.array(texts, dtype=object)})[0]

    def original_tokens(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        ids, splits = tokenizer.run(None, {text_input: np.array(texts, dtype=object)})
        return ids, splits

    def converted_embed(ids: np.ndarray, splits: np.ndarray) -> np.ndarray:
        return converted.run(None, {"token_ids": ids, "row_splits": splits})[0]

    texts = [text for _, text in TEXTS]
    records = []
    for language, text in TEXTS:
        ids, splits = original_tokens([text])
        expected = original_embed([text])
        actual = converted_embed(ids, splits)
        if not np.array_equal(expected, actual):
            fail(f"converted graph differs from the original on {text!r}: max |diff| {np.abs(expected - actual).max()}")
        if ids[0] != 1 or ids[-1] != 2:
            fail(f"the original tokenizer did not wrap {text!r} in BOS=1 / EOS=2: {ids.tolist()}")
        records.append(
            {
                "language": language,
                "text": text,
                "token_ids": ids.tolist(),
                "embedding": [float(x) for x in expected[0]],
            }
        )

    ids, splits = original_tokens(texts)
    batch_expected = original_embed(texts)
    batch_actual = converted_embed(ids, splits)
    if not np.array_equal(batch_expected, batch_actual):
        fail("converted graph differs from the original on the whole batch")

    token_cases = []
    for text in TOKEN_CASES:
        ids, _ = original_tokens([text])
        token_cases.append({"text": text, "token_ids": ids.tolist()})

    reference = {
        "description": "Embeddings of the original USE-multilingual v3 int8 graph (SentencepieceTokenizer op included).",
        "dimension": int(batch_expected.shape[1]),
        "texts": records,
        "batch_embeddings": [[float(x) for x in row] for row in batch_expected],
        "token_cases": token_cases,
    }
    tmp = out_path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(reference, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    tmp.replace(out_path)
    print(f"use_reference: {len(records)} texts, converted graph bit-identical to the original", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv)
