"""Held-out figures of a model: per modality, per pattern, per category, emergent recall."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from service.evaluation.labelled_data import LabelledItem
from service.evaluation.metrics import grade_codes, macro_f1
from service.policy.rules import GradeThresholds
from service.taxonomy import CATEGORIES, GRADES, VALID_PATTERNS


def _recall(gold: np.ndarray, pred: np.ndarray, c: int) -> float:
    mask = gold == c
    return float(np.mean(pred[mask] == c)) if mask.any() else float("nan")


def evaluate(
    samples: Sequence[LabelledItem], scores: dict[str, np.ndarray], thresholds: dict[str, Any]
) -> dict[str, Any]:
    """Compute the model card's figures from per-item scores and the default thresholds."""
    G = {g: i for i, g in enumerate(GRADES)}
    joint_gold = np.array([G[s.joint_grade] for s in samples])
    grade = {m: grade_codes(scores[m], GradeThresholds(**thresholds[m])) for m in ("image", "text", "joint")}
    has_image = np.array([s.image is not None and s.image_grade is not None for s in samples])
    has_text = np.array([s.text is not None and s.text_grade is not None for s in samples])
    image_gold = np.array([G[s.image_grade] if s.image_grade else -1 for s in samples])
    text_gold = np.array([G[s.text_grade] if s.text_grade else -1 for s in samples])
    # any unimodal unsafe forces joint unsafe (design §2), as the service's policy does
    image_in = np.array([s.image is not None for s in samples])
    text_in = np.array([s.text is not None for s in samples])
    joint_pred = grade["joint"].copy()
    joint_pred[(image_in & (grade["image"] == 2)) | (text_in & (grade["text"] == 2))] = 2

    emergent = np.array([s.emergent for s in samples])
    unsafe = joint_gold == 2
    result: dict[str, Any] = {
        "n": len(samples),
        "joint_macro_f1": macro_f1(joint_gold, joint_pred),
        "joint_accuracy": float(np.mean(joint_gold == joint_pred)),
        "joint_unsafe_recall": _recall(joint_gold, joint_pred, 2),
        "emergent_unsafe_recall": float(np.mean(joint_pred[unsafe & emergent] == 2))
        if (unsafe & emergent).any()
        else None,
        "image_accuracy": _masked_accuracy(image_gold, grade["image"], has_image),
        "text_accuracy": _masked_accuracy(text_gold, grade["text"], has_text),
        "image_only_joint_accuracy": _masked_accuracy(joint_gold, joint_pred, image_in & ~text_in),
        "text_only_joint_accuracy": _masked_accuracy(joint_gold, joint_pred, text_in & ~image_in),
        "over_block_rate": float(np.mean(joint_pred[joint_gold == 1] == 2))
        if (joint_gold == 1).any()
        else None,
        "under_block_rate": float(np.mean(joint_pred[unsafe] != 2)) if unsafe.any() else None,
    }
    patterns: dict[str, dict[str, float | int]] = {}
    both = has_image & has_text
    for name in VALID_PATTERNS:
        mask = both & np.array([s.pattern == name for s in samples])
        patterns[name] = {
            "n": int(mask.sum()),
            "joint_accuracy": float(np.mean(joint_gold[mask] == joint_pred[mask])) if mask.any() else None,  # type: ignore[dict-item]
        }
    result["patterns"] = patterns
    flagged = scores["categories"] >= thresholds["category"]
    target = np.array([[c in s.categories for c in CATEGORIES] for s in samples])
    result["categories"] = {
        c: {
            "n": int(target[:, i].sum()),
            "recall": float(flagged[target[:, i], i].mean()) if target[:, i].any() else None,
            "precision": float(target[flagged[:, i], i].mean()) if flagged[:, i].any() else None,
        }
        for i, c in enumerate(CATEGORIES)
    }
    return result


def _masked_accuracy(gold: np.ndarray, pred: np.ndarray, mask: np.ndarray) -> float | None:
    return float(np.mean(gold[mask] == pred[mask])) if mask.any() else None


def choose_thresholds(
    samples: Sequence[LabelledItem], scores: dict[str, np.ndarray], min_unsafe_recall: float
) -> dict[str, Any]:
    """Pick default thresholds on validation data: best joint macro-F1 at the unsafe-recall floor.

    When no setting reaches the floor, the floor drops to one point below the best reachable recall.
    """
    G = {g: i for i, g in enumerate(GRADES)}
    gold = np.array([G[s.joint_grade] for s in samples])
    grid = np.round(np.arange(0.0125, 0.96, 0.0125), 4)  # fine at the low end, where unsafe recall is won
    table = []
    for tu in grid:
        for tb in grid:
            pred = grade_codes(scores["joint"], GradeThresholds(borderline=tb, unsafe=tu))
            table.append((macro_f1(gold, pred), _recall(gold, pred, 2), float(tb), float(tu)))
    if np.isnan(table[0][1]):  # no joint-unsafe item in the data: no recall to reach or rank by
        table = [(f1, 0.0, b, u) for f1, _, b, u in table]
    else:
        floor = min(min_unsafe_recall, max(r for _, r, _, _ in table) - 0.01)
        table = [row for row in table if row[1] >= floor]
    _, _, tb, tu = max(table)  # best F1, then recall, then the thresholds
    return {
        "image": {"borderline": 0.5, "unsafe": 0.5},
        "text": {"borderline": 0.5, "unsafe": 0.5},
        "joint": {"borderline": tb, "unsafe": tu},
        "category": 0.5,
    }


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def handwritten_samples(path: Path) -> list[LabelledItem]:
    """Read hand-written image+text pairs ({"glyphs", "text", "joint_grade", ...} per line)."""
    from model.corpus.pairs import read_pairs
    from model.corpus.scenes import Scene

    return [
        LabelledItem(
            id=f"handwritten-{n}",
            split=f"handwritten-{row.get('set', 1)}",  # the set it was written in
            image=Scene(tuple(row["glyphs"]), seed=1000 + n),
            text=row["text"],
            image_grade=None,
            text_grade=None,
            joint_grade=row["joint_grade"],
            categories=tuple(row.get("categories", ())),
        )
        for n, row in enumerate(read_pairs(path))
    ]


def identity_samples(path: Path) -> list[LabelledItem]:
    """Read identity probes: harmless texts naming a group of people ({"text", "group_in_corpus"}).

    Each is a text-only `safe` item; a model that grades one borderline or unsafe has learnt the
    group's name as a harm signal. `group_in_corpus` says whether the corpus's hate templates name it.
    """
    return [
        LabelledItem(
            id=f"identity-{n}",
            split="identity-named" if row["group_in_corpus"] else "identity-unnamed",
            image=None,
            text=row["text"],
            image_grade=None,
            text_grade="safe",
            joint_grade="safe",
            categories=(),
        )
        for n, row in enumerate(_jsonl(path))
    ]


def accuracy_by_set(
    samples: Sequence[LabelledItem], scores: dict[str, np.ndarray], thresholds: dict[str, Any]
) -> dict[str, Any]:
    """Joint accuracy in all and per set; a set is what follows the `<fixture>-` prefix of the split."""
    by_set: dict[str, dict[str, float | int]] = {}
    for split in dict.fromkeys(s.split for s in samples):  # in the order the fixture lists them
        rows = [i for i, s in enumerate(samples) if s.split == split]
        subset = {k: v[rows] for k, v in scores.items()}
        by_set[split.partition("-")[2]] = {
            "n": len(rows),
            "joint_accuracy": joint_accuracy([samples[i] for i in rows], subset, thresholds),
        }
    overall = joint_accuracy(samples, scores, thresholds)
    return {"n": len(samples), "joint_accuracy": overall, "by_set": by_set}


def handwritten_figures(
    pairs: Sequence[LabelledItem],
    scores: dict[str, np.ndarray],
    thresholds: dict[str, Any],
    trained_texts: set[str],
) -> dict[str, Any]:
    """Joint accuracy on the hand-written pairs the model did not train on; per set, on all of them.

    A pair whose text is among the training texts (`train --add` of `corpus pairs`) is trained on:
    the headline `n` / `joint_accuracy` count only the others, and each set says how many it had.
    """
    seen = np.array([p.text in trained_texts for p in pairs], dtype=bool)

    def part(mask: np.ndarray) -> dict[str, Any]:
        rows = np.flatnonzero(mask)
        return accuracy_by_set(
            [pairs[int(i)] for i in rows], {k: v[rows] for k, v in scores.items()}, thresholds
        )

    every = accuracy_by_set(pairs, scores, thresholds)
    trained_per_set = Counter(p.split.partition("-")[2] for p, s in zip(pairs, seen, strict=True) if s)
    by_set = {k: v | {"trained_on": trained_per_set[k]} for k, v in every["by_set"].items()}
    held_out = part(~seen) if not seen.all() else {"n": 0, "joint_accuracy": None}
    figures = {"n": held_out["n"], "joint_accuracy": held_out["joint_accuracy"]}
    if seen.any():
        trained = part(seen)
        figures["trained_on"] = {"n": trained["n"], "joint_accuracy": trained["joint_accuracy"]}
    return figures | {"by_set": by_set}


def identity_figures(
    probes: Sequence[LabelledItem], scores: dict[str, np.ndarray], thresholds: dict[str, Any]
) -> dict[str, Any]:
    """How many harmless texts naming a group are flagged (graded borderline or unsafe), per set."""
    figures = accuracy_by_set(probes, scores, thresholds)

    def flagged(part: dict[str, Any]) -> dict[str, int]:
        return {"n": part["n"], "flagged": round(part["n"] * (1 - part["joint_accuracy"]))}

    return flagged(figures) | {"by_set": {k: flagged(v) for k, v in figures["by_set"].items()}}


def joint_accuracy(
    samples: Sequence[LabelledItem], scores: dict[str, np.ndarray], thresholds: dict[str, Any]
) -> float:
    """Share of samples whose joint grade (with unimodal-unsafe forcing) matches the label."""
    return evaluate(samples, scores, thresholds)["joint_accuracy"]
