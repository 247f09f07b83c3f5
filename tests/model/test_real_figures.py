"""The shipped model on real text: the manifest's per-source figures, and a fresh scoring of them.

The public datasets are not in the repository: with `DATASETS=DIR` (the registered files, see
`python -m model datasets check DIR`) the figures are scored afresh from the shipped int8 file and
must equal the manifest's; without it that test skips and the bars are read from the manifest.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACT = REPO / "model" / "artifacts" / "glyph-minilm"
MANIFEST = json.loads((ARTIFACT / "manifest.json").read_text())
REAL = MANIFEST["metrics"].get("real")
pytestmark = pytest.mark.skipif(REAL is None, reason="the shipped model was not trained with --datasets")


@pytest.mark.slow
@pytest.mark.skipif(
    not os.environ.get("DATASETS"), reason="DATASETS is not set: the datasets are not in the repo"
)
def test_the_manifests_real_figures_are_a_fresh_scoring_of_the_shipped_file() -> None:
    from model.export import real_metrics, session
    from model.train import TrainConfig, load_checkpoint, load_samples
    from service.serving.inputs import TextTokenizer

    _, ckpt = load_checkpoint(ARTIFACT / "checkpoint.pt")
    train_cfg = TrainConfig(**ckpt["train_config"])
    train_cfg.datasets = os.environ["DATASETS"]
    splits = load_samples(train_cfg)
    tokenizer = TextTokenizer(ARTIFACT / "tokenizer.json", MANIFEST["text"]["max_tokens"])
    graph = session(ARTIFACT / MANIFEST["variants"]["int8"]["file"])
    fresh = real_metrics(graph, splits, MANIFEST["image"]["size"], tokenizer, MANIFEST["thresholds"])
    assert json.loads(json.dumps(fresh)) == {k: v for k, v in REAL.items() if k != "variant"}


def test_the_checkpoint_names_its_added_texts_by_hash_only() -> None:
    import torch

    ckpt = torch.load(ARTIFACT / "checkpoint.pt", map_location="cpu", weights_only=True)
    assert "added_texts" not in ckpt  # no text of any dataset travels with the bundle
    assert all(len(h) == 64 for h in ckpt.get("added_text_sha256", []))
