"""A small but real model bundle for service tests: a tiny ONNX graph, a WordPiece tokenizer, a manifest.

The graph follows docs/manifest.md exactly (names, dtypes, dynamic batch and seq axes) and its outputs
depend on the inputs in a way tests can steer:

- image: m = mean pixel / 255; black -> safe, mid-grey -> borderline, white -> unsafe;
- text: t = 1 if any token is an UNSAFE_WORDS word, 0.5 if any is a BORDERLINE_WORDS word, else 0;
- joint: j = min(m * image_present + t * text_present, 1): grey + borderline text -> unsafe (B-B-U, emergent);
- grades: softmax([4 - 8x, 0, 8x - 4]); categories: sigmoid(10 * j * a_k - 5) with a_k rising with k.

No torch: built with onnx.helper.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

from service.taxonomy import CATEGORIES

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
SAFE_WORDS = (
    "a the cat dog photo of hello world how much could i get for this one is what to make ? . ,".split()
)
BORDERLINE_WORDS = ["history", "medicine", "war", "drugs"]
UNSAFE_WORDS = ["bomb", "kill", "attack", "poison"]
VOCAB = SPECIAL + SAFE_WORDS + BORDERLINE_WORDS + UNSAFE_WORDS
BORDERLINE_IDS = (VOCAB.index(BORDERLINE_WORDS[0]), VOCAB.index(UNSAFE_WORDS[0]))
UNSAFE_IDS = (VOCAB.index(UNSAFE_WORDS[0]), len(VOCAB))

IMAGE_SIZE = 32
MAX_TOKENS = 16
THRESHOLDS = {
    "image": {"borderline": 0.5, "unsafe": 0.5},
    "text": {"borderline": 0.5, "unsafe": 0.5},
    "joint": {"borderline": 0.5, "unsafe": 0.35},
    "category": 0.5,
}


def make_tokenizer(path: Path) -> Path:
    """Write a tiny BERT-style WordPiece tokenizer: `[CLS] ... [SEP]`, lower-cased, [PAD] = 0."""
    tokenizer = Tokenizer(models.WordPiece({w: i for i, w in enumerate(VOCAB)}, unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        special_tokens=[("[CLS]", VOCAB.index("[CLS]")), ("[SEP]", VOCAB.index("[SEP]"))],
    )
    tokenizer.save(str(path))
    return path


def _const(name: str, value: np.ndarray) -> TensorProto:
    return numpy_helper.from_array(value, name)


def make_graph(image_size: int = IMAGE_SIZE, n_categories: int = len(CATEGORIES)) -> onnx.ModelProto:
    """Return the tiny graph described in the module docstring."""
    n = helper.make_node
    f32 = np.float32
    inits = [
        _const("c255", np.array(255.0, f32)),
        _const("half", np.array(0.5, f32)),
        _const("one", np.array(1.0, f32)),
        _const("b_lo", np.array(BORDERLINE_IDS[0], np.int64)),
        _const("b_hi", np.array(BORDERLINE_IDS[1], np.int64)),
        _const("u_lo", np.array(UNSAFE_IDS[0], np.int64)),
        _const("u_hi", np.array(UNSAFE_IDS[1], np.int64)),
        _const("idx0", np.array(0, np.int64)),
        _const("idx1", np.array(1, np.int64)),
        _const("axis1", np.array([1], np.int64)),
        _const("w", np.array([[-8.0, 0.0, 8.0]], f32)),  # (1, 3)
        _const("bias", np.array([[4.0, 0.0, -4.0]], f32)),  # (1, 3)
        _const("cat_a", (np.linspace(0.6, 1.6, n_categories, dtype=f32) * 10)[None, :]),  # (1, C)
        _const("five", np.array(5.0, f32)),
    ]
    nodes = [
        # image: m = mean(pixels) / 255  (B,)
        n("Cast", ["pixels"], ["pix_f"], to=TensorProto.FLOAT),
        n("ReduceMean", ["pix_f"], ["pix_mean"], axes=[1, 2, 3], keepdims=0),
        n("Div", ["pix_mean", "c255"], ["m"]),
        # text: t = max over real tokens of 1[unsafe id] or 0.5 * 1[borderline id]  (B,)
        n("Cast", ["attention_mask"], ["mask_f"], to=TensorProto.FLOAT),
        n("GreaterOrEqual", ["input_ids", "u_lo"], ["u_ge"]),
        n("Less", ["input_ids", "u_hi"], ["u_lt"]),
        n("And", ["u_ge", "u_lt"], ["u_in"]),
        n("Cast", ["u_in"], ["u_f"], to=TensorProto.FLOAT),
        n("Mul", ["u_f", "mask_f"], ["u_m"]),
        n("ReduceMax", ["u_m"], ["u"], axes=[1], keepdims=0),
        n("GreaterOrEqual", ["input_ids", "b_lo"], ["b_ge"]),
        n("Less", ["input_ids", "b_hi"], ["b_lt"]),
        n("And", ["b_ge", "b_lt"], ["b_in"]),
        n("Cast", ["b_in"], ["b_f"], to=TensorProto.FLOAT),
        n("Mul", ["b_f", "mask_f"], ["b_m"]),
        n("ReduceMax", ["b_m"], ["b_max"], axes=[1], keepdims=0),
        n("Mul", ["b_max", "half"], ["b"]),
        n("Max", ["u", "b"], ["t"]),
        # joint: j = min(m * present_image + t * present_text, 1)  (B,)
        n("Gather", ["present", "idx0"], ["p_img"], axis=1),
        n("Gather", ["present", "idx1"], ["p_txt"], axis=1),
        n("Mul", ["m", "p_img"], ["m_p"]),
        n("Mul", ["t", "p_txt"], ["t_p"]),
        n("Add", ["m_p", "t_p"], ["j_sum"]),
        n("Min", ["j_sum", "one"], ["j"]),
    ]
    for x, out in (("m", "image_scores"), ("t", "text_scores"), ("j", "joint_scores")):
        nodes += [
            n("Unsqueeze", [x, "axis1"], [f"{x}_col"]),  # (B, 1)
            n("Mul", [f"{x}_col", "w"], [f"{x}_w"]),  # (B, 3)
            n("Add", [f"{x}_w", "bias"], [f"{x}_logits"]),
            n("Softmax", [f"{x}_logits"], [out], axis=-1),
        ]
    nodes += [
        n("Unsqueeze", ["j", "axis1"], ["j_cat"]),  # (B, 1)
        n("Mul", ["j_cat", "cat_a"], ["cat_x"]),  # (B, C)
        n("Sub", ["cat_x", "five"], ["cat_logits"]),
        n("Sigmoid", ["cat_logits"], ["category_scores"]),
    ]
    inputs = [
        helper.make_tensor_value_info("pixels", TensorProto.UINT8, ["batch", image_size, image_size, 3]),
        helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
        helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "seq"]),
        helper.make_tensor_value_info("present", TensorProto.FLOAT, ["batch", 2]),
    ]
    outputs = [
        helper.make_tensor_value_info(name, TensorProto.FLOAT, ["batch", 3])
        for name in ("image_scores", "text_scores", "joint_scores")
    ] + [helper.make_tensor_value_info("category_scores", TensorProto.FLOAT, ["batch", n_categories])]
    graph = helper.make_graph(nodes, "tiny-safety", inputs, outputs, initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="tests")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def make_bundle(root: Path, *, name: str = "tiny-test", sha256: str | None = None) -> Path:
    """Write model.fp32.onnx, tokenizer.json and manifest.json into root; return root."""
    root.mkdir(parents=True, exist_ok=True)
    onnx_path = root / "model.fp32.onnx"
    onnx.save(make_graph(), str(onnx_path))
    make_tokenizer(root / "tokenizer.json")
    digest = hashlib.sha256(onnx_path.read_bytes()).hexdigest()
    manifest = {
        "name": name,
        "version": "0.0.1",
        "created": "2026-01-01T00:00:00Z",
        "variants": {
            "fp32": {
                "file": onnx_path.name,
                "sha256": sha256 or digest,
                "bytes": onnx_path.stat().st_size,
                "device": "cpu",
            }
        },
        "default_variant": {"cpu": "fp32", "cuda": "fp32"},
        "inputs": {
            "pixels": {"dtype": "uint8", "shape": ["batch", IMAGE_SIZE, IMAGE_SIZE, 3]},
            "input_ids": {"dtype": "int64", "shape": ["batch", "seq"]},
            "attention_mask": {"dtype": "int64", "shape": ["batch", "seq"]},
            "present": {"dtype": "float32", "shape": ["batch", 2]},
        },
        "outputs": ["image_scores", "text_scores", "joint_scores", "category_scores"],
        "image": {
            "size": IMAGE_SIZE,
            "mean": [0.5] * 3,
            "std": [0.25] * 3,
            "layout": "NHWC",
            "dtype": "uint8",
        },
        "text": {"tokenizer_file": "tokenizer.json", "max_tokens": MAX_TOKENS},
        "grades": ["safe", "borderline", "unsafe"],
        "categories": list(CATEGORIES),
        "thresholds": THRESHOLDS,
        "metrics": {},
    }
    (root / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return root
