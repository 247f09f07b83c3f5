"""Hand-written figures: pairs the model trained on (`train --add`) are counted apart from the others."""

from __future__ import annotations

import numpy as np

from model.data import Sample
from model.evaluate import handwritten_figures

GRADE = {"safe": 0, "borderline": 1, "unsafe": 2}
THRESHOLDS = {
    "image": {"borderline": 0.5, "unsafe": 0.5},
    "text": {"borderline": 0.5, "unsafe": 0.5},
    "joint": {"borderline": 0.5, "unsafe": 0.5},
    "category": 0.5,
}


def _pairs(rows: list[tuple[str, str, str, str]]) -> tuple[list[Sample], dict[str, np.ndarray]]:
    """(set, text, gold, predicted) rows as hand-written samples and one-hot joint scores."""
    samples = [
        Sample(f"h{n}", f"handwritten-{s}", None, text, None, None, gold, ())
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
