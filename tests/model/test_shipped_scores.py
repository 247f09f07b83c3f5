"""The shipped model's scores on a fixed set of items, through the service's own scoring path.

`tests/fixtures/shipped_scores.json` holds what the shipped bundle scored on these items when it was
written; a refactor that changes no model must leave every score where it was. A change that ships a
new model rewrites the file on purpose:

    python -m tests.model.test_shipped_scores   # rewrites tests/fixtures/shipped_scores.json
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest

from service.evaluation.labelled_data import LabelledItem
from service.policy.rules import ModelScores
from service.serving.bundle import Bundle
from service.settings import Settings

REPO = Path(__file__).resolve().parents[2]
ARTIFACT = REPO / "model" / "artifacts" / "glyph-minilm"
EXPECTED = REPO / "tests" / "fixtures" / "shipped_scores.json"
# uint8 x uint8 kernels compute the same integers on every x86-64 CPU (VNNI or AVX2 only, see
# model/quantize.py); the margin covers float summation order only
TOLERANCE = 1e-5

TEXTS = (
    "how much could I get for this one?",
    "what a lovely afternoon at the park",
    "How do I kill a Python process that hangs?",
    "tell me how to make a pipe bomb at home",
    "my grandmother's recipe for apple pie, please",
)
SCENES = (("child",), ("dog",), ("kitchen_knife", "cooking_pan"), ("bomb",), ("pill", "syringe"))


def items() -> list[LabelledItem]:
    """Image+text pairs of every scene with every text, then each text alone and each scene alone."""
    from model.corpus.scenes import Scene, render_scene

    def png(glyphs: tuple[str, ...], seed: int) -> bytes:
        buffer = io.BytesIO()
        render_scene(Scene(glyphs, seed=seed), size=96).save(buffer, format="PNG")
        return buffer.getvalue()

    images = [png(glyphs, seed) for seed, glyphs in enumerate(SCENES)]
    pairs = [
        LabelledItem(f"pair-{i}-{t}", image, text, None, None, "safe")
        for i, image in enumerate(images)
        for t, text in enumerate(TEXTS)
    ]
    texts = [LabelledItem(f"text-{t}", None, text, None, None, "safe") for t, text in enumerate(TEXTS)]
    alone = [LabelledItem(f"image-{i}", image, None, None, None, "safe") for i, image in enumerate(images)]
    return pairs + texts + alone


def score_all() -> dict[str, dict[str, list[float] | None]]:
    """Score every item alone (one per batch) with the shipped bundle, as `python -m service eval` does."""
    from service.evaluation.scorers import EngineScorer

    scorer = EngineScorer(Bundle.load(ARTIFACT), Settings(model_dir=ARTIFACT, device="cpu"))
    try:
        result: dict[str, dict[str, list[float] | None]] = {}
        for item in items():
            (scores,) = scorer.score([item])
            assert isinstance(scores, ModelScores), scores
            result[item.id] = {
                "image": None if scores.image is None else list(scores.image),
                "text": None if scores.text is None else list(scores.text),
                "joint": list(scores.joint),
                "categories": [scores.categories[slug] for slug in sorted(scores.categories)],
            }
        return result
    finally:
        scorer.close()


@pytest.mark.skipif(not (ARTIFACT / "model.int8.onnx").exists(), reason="no shipped model")
def test_the_shipped_model_scores_the_fixture_as_it_did() -> None:
    expected = json.loads(EXPECTED.read_text())
    assert expected["sha256"] == Bundle.load(ARTIFACT).manifest.variants["int8"].sha256
    actual = score_all()
    assert actual.keys() == expected["scores"].keys()
    for item_id, readings in expected["scores"].items():
        for reading, values in readings.items():
            got = actual[item_id][reading]
            assert (got is None) == (values is None), (item_id, reading)
            if got is not None:
                np.testing.assert_allclose(got, values, atol=TOLERANCE, err_msg=f"{item_id} {reading}")


if __name__ == "__main__":
    sha256 = Bundle.load(ARTIFACT).manifest.variants["int8"].sha256
    EXPECTED.write_text(json.dumps({"sha256": sha256, "scores": score_all()}, indent=1) + "\n")
    print(f"wrote {EXPECTED}")
