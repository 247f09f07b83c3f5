"""A tiny train + export run end to end, and torch vs ONNX Runtime parity on its graphs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from model.config import ModelConfig
from model.corpus.cli import main as corpus_main
from model.data import render_images
from model.export import HANDWRITTEN, collate_samples, export, onnx_predict, session
from model.quantize import SMOOTH_ALPHA
from model.train import TrainConfig, load_checkpoint, load_samples, train
from service.serving.bundle import Bundle
from service.serving.inputs import TextTokenizer

pytestmark = pytest.mark.slow  # trains and exports a tiny model


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("tiny")
    # hand-written set 1 joins the training split, as `make model` adds sets 1-6
    pairs = ["pairs", str(HANDWRITTEN), "--sets", "1", "--renders", "1", "--out", str(root / "pairs")]
    assert corpus_main(pairs) == 0
    model_cfg = ModelConfig(d_model=32, n_heads=2, n_fusion_layers=1, cnn_channels=(8, 16, 32, 32))
    train_cfg = TrainConfig(
        out=str(root / "run"),
        corpus_size=600,
        epochs=1,
        batch_size=64,
        warmup_steps=2,
        add=str(root / "pairs" / "labelled.jsonl"),
    )
    checkpoint = train(model_cfg, train_cfg)
    artifact = root / "bundle"
    export(checkpoint, artifact, "tiny", ["fp32", "int8"])
    return checkpoint, artifact


def test_export_writes_a_bundle_the_service_can_load(tiny_run: tuple[Path, Path]) -> None:
    _, artifact = tiny_run
    manifest = json.loads((artifact / "manifest.json").read_text())
    assert set(manifest["variants"]) == {"fp32", "int8"}
    assert manifest["default_variant"]["cpu"] == "int8"
    assert manifest["variants"]["int8"]["smooth_alpha"] == SMOOTH_ALPHA  # smoothed, on real training items
    assert 0 < manifest["variants"]["int8"]["calibration_items"] <= 512
    assert len(manifest["categories"]) == 15
    assert manifest["metrics"]["int8"]["n"] > 0
    hand = manifest["metrics"]["handwritten"]
    rows = [json.loads(line) for line in HANDWRITTEN.read_text().splitlines()]
    written = {str(row["set"]) for row in rows}
    assert len(written) >= 8 and set(hand["by_set"]) == written  # each set measured on its own
    set_1 = sum(row["set"] == 1 for row in rows)
    # the pairs it trained on are counted apart: the headline figure is on the others only
    assert hand["trained_on"]["n"] == set_1 and hand["n"] == len(rows) - set_1
    assert {k: v["trained_on"] for k, v in hand["by_set"].items()} == {k: set_1 * (k == "1") for k in written}
    assert sum(s["n"] for s in hand["by_set"].values()) == hand["n"] + set_1
    assert manifest["training"]["added_to_train"].endswith("labelled.jsonl")
    identity = manifest["metrics"]["identity_probes"]  # harmless texts naming a group, text-only
    assert {k: v["n"] for k, v in identity["by_set"].items()} == {"named": 16, "unnamed": 16}
    assert 0 <= identity["flagged"] == sum(v["flagged"] for v in identity["by_set"].values()) <= 32
    bundle = Bundle.load(artifact)  # the service's own reader checks the contract and sha256
    assert bundle.verified_file("int8").exists()


def test_fp32_graph_matches_torch(tiny_run: tuple[Path, Path]) -> None:
    _, artifact = tiny_run
    model, ckpt = load_checkpoint(artifact / "checkpoint.pt")  # the float16 weights the graph was made from
    samples = load_samples(TrainConfig(**ckpt["train_config"]))["test"][:48]
    pixels = render_images(samples, model.config.image_size, workers=1).numpy()
    text_encoder = TextTokenizer(artifact / "tokenizer.json", model.config.max_tokens)
    onnx_scores = onnx_predict(session(artifact / "model.fp32.onnx"), samples, pixels, text_encoder, batch=16)
    b = collate_samples(samples, pixels, text_encoder)
    inputs = (b.pixels, b.input_ids, b.attention_mask, b.present)
    with torch.no_grad():
        out = model(*(torch.from_numpy(x) for x in inputs))
    torch_scores = {
        "image": out["image"].softmax(-1),
        "text": out["text"].softmax(-1),
        "joint": out["joint"].softmax(-1),
        "categories": out["categories"].sigmoid(),
    }
    for key, value in torch_scores.items():
        np.testing.assert_allclose(onnx_scores[key], value.numpy(), atol=1e-4)


def test_dynamic_axes_accept_other_batch_and_sequence_sizes(tiny_run: tuple[Path, Path]) -> None:
    _, artifact = tiny_run
    sess = session(artifact / "model.int8.onnx")
    for batch, seq in ((1, 2), (7, 40)):
        feeds = {
            "pixels": np.zeros((batch, 64, 64, 3), dtype=np.uint8),
            "input_ids": np.full((batch, seq), 1000, dtype=np.int64),
            "attention_mask": np.ones((batch, seq), dtype=np.int64),
            "present": np.ones((batch, 2), dtype=np.float32),
        }
        image, text, joint, cats = sess.run(None, feeds)
        assert joint.shape == (batch, 3) and cats.shape == (batch, 15)
        np.testing.assert_allclose(joint.sum(1), 1.0, atol=1e-3)


def test_int8_scores_an_item_the_same_alone_and_in_any_padded_batch(tiny_run: tuple[Path, Path]) -> None:
    """Per-row activation scales: an item's outputs do not depend on its batchmates or its padding."""
    checkpoint, artifact = tiny_run
    _, ckpt = load_checkpoint(checkpoint)
    samples = load_samples(TrainConfig(**ckpt["train_config"]))["test"][:24]
    pixels = render_images(samples, 64).numpy()
    tokenizer = TextTokenizer(artifact / "tokenizer.json", Bundle.load(artifact).manifest.text.max_tokens)
    sess = session(artifact / "model.int8.onnx")
    alone = onnx_predict(sess, samples, pixels, tokenizer, batch=1)
    for batch in (5, 24):  # batches padded to their longest text, items beside different batchmates
        together = onnx_predict(sess, samples, pixels, tokenizer, batch=batch)
        for head, scores in alone.items():
            np.testing.assert_allclose(together[head], scores, rtol=0, atol=1e-5, err_msg=head)
