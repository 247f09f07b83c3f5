"""Hand-written figures: pairs the model trained on (`train --add`) are counted apart from the others."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from model.evaluate import handwritten_figures
from service.evaluation.labelled_data import LabelledItem

ARTIFACT = Path(__file__).parents[2] / "model" / "artifacts" / "glyph-minilm"
GRADE = {"safe": 0, "borderline": 1, "unsafe": 2}
THRESHOLDS = {
    "image": {"borderline": 0.5, "unsafe": 0.5},
    "text": {"borderline": 0.5, "unsafe": 0.5},
    "joint": {"borderline": 0.5, "unsafe": 0.5},
    "category": 0.5,
}


def _pairs(rows: list[tuple[str, str, str, str]]) -> tuple[list[LabelledItem], dict[str, np.ndarray]]:
    """(set, text, gold, predicted) rows as hand-written samples and one-hot joint scores."""
    samples = [
        LabelledItem(f"h{n}", None, text, None, None, gold, (), split=f"handwritten-{s}")  # type: ignore[arg-type]
        for n, (s, text, gold, _) in enumerate(rows)
    ]
    joint = np.eye(3, dtype=np.float32)[[GRADE[p] for *_, p in rows]]
    flat = np.full((len(rows), 3), 1 / 3, dtype=np.float32)
    categories = np.zeros((len(rows), 15), np.float32)
    return samples, {"image": flat, "text": flat, "joint": joint, "categories": categories}


def test_pairs_trained_on_are_counted_apart_from_the_held_out_figure() -> None:
    rows = [
        ("1", "a", "unsafe", "unsafe"),
        ("1", "b", "safe", "safe"),
        ("2", "c", "safe", "unsafe"),  # wrong, held out
        ("2", "d", "unsafe", "unsafe"),
        ("2", "a", "safe", "safe"),  # same text as a trained pair: not held out
        ("3", "e", "borderline", "borderline"),
    ]
    samples, scores = _pairs(rows)
    figures = handwritten_figures(samples, scores, THRESHOLDS, trained_texts={"a", "b"})
    assert (figures["n"], figures["joint_accuracy"]) == (3, 2 / 3)  # c, d, e
    assert figures["trained_on"] == {"n": 3, "joint_accuracy": 1.0}
    assert figures["by_set"] == {
        "1": {"n": 2, "joint_accuracy": 1.0, "trained_on": 2},
        "2": {"n": 3, "joint_accuracy": 2 / 3, "trained_on": 1},
        "3": {"n": 1, "joint_accuracy": 1.0, "trained_on": 0},
    }
    plain = handwritten_figures(samples, scores, THRESHOLDS, trained_texts=set())
    assert (plain["n"], plain["joint_accuracy"]) == (6, 5 / 6) and "trained_on" not in plain


def test_a_line_that_is_not_a_pair_stops_the_reader_at_that_line(tmp_path: Path) -> None:
    from model.corpus.pairs import PairsError
    from model.evaluate import handwritten_samples

    good = {"glyphs": ["dog"], "text": "is he a good boy?", "joint_grade": "safe", "categories": []}
    fixture = tmp_path / "pairs.jsonl"
    fixture.write_text(json.dumps(good) + "\n\n" + json.dumps(good | {"glyphs": ["unicorn"]}) + "\n")
    with pytest.raises(PairsError, match="line 3: `glyphs` must list 1-3 glyphs of the vocabulary"):
        handwritten_samples(fixture)
    fixture.write_text(json.dumps(good) + "\n")
    assert [s.text for s in handwritten_samples(fixture)] == ["is he a good boy?"]


@pytest.mark.skipif(not (ARTIFACT / "model.int8.onnx").exists(), reason="no shipped model")
def test_a_sets_scores_do_not_move_when_another_set_is_added() -> None:
    """Each set is scored in batches of its own, so adding a set leaves the others' scores alone."""
    from model.evaluate import handwritten_samples
    from model.export import HANDWRITTEN, fixture_scores, session
    from service.serving.inputs import TextTokenizer

    graph = session(ARTIFACT / "model.int8.onnx")
    manifest = json.loads((ARTIFACT / "manifest.json").read_text())
    side, window = manifest["image"]["size"], manifest["text"]["max_tokens"]
    text_encoder = TextTokenizer(ARTIFACT / "tokenizer.json", window)
    pairs = handwritten_samples(HANDWRITTEN)[:120]  # set 1 (50 pairs), then sets 2 and 3
    alone = fixture_scores(graph, [p for p in pairs if p.split == "handwritten-1"], side, text_encoder)
    together = fixture_scores(graph, pairs, side, text_encoder)
    rows = [i for i, p in enumerate(pairs) if p.split == "handwritten-1"]
    assert len(rows) == 50 and all(p.split != "handwritten-1" for p in pairs[50:])
    for key, value in alone.items():
        np.testing.assert_array_equal(together[key][rows], value)
