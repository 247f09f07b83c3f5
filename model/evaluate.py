"""Held-out figures of a model: per modality, per pattern, per category, emergent recall."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from service.evaluation.labelled_data import LabelledItem
from service.evaluation.metrics import BLOCK, blocking_rates, macro_f1
from service.policy.rules import builtin_policy
from service.policy.vectorised import DecisionArrays, ScoreArrays, decide_all
from service.taxonomy import CATEGORIES, GRADES, VALID_PATTERNS


def _recall(gold: np.ndarray, pred: np.ndarray, c: int) -> float:
    mask = gold == c
    return float(np.mean(pred[mask] == c)) if mask.any() else float("nan")


def evaluate(
    samples: Sequence[LabelledItem], scores: dict[str, np.ndarray], thresholds: dict[str, Any]
) -> dict[str, Any]:
    """Compute the model card's figures from per-item scores and the default thresholds.

    The decisions are the service's: its `default` policy of these thresholds (`decide_all`), so
    the grades, the forcing and the blocking rates mean what they mean in `python -m service eval`.
    """
    G = {g: i for i, g in enumerate(GRADES)}
    joint_gold = np.array([G[s.joint_grade] for s in samples])
    decisions = default_decisions(samples, scores, thresholds)
    grade = {"image": decisions.image, "text": decisions.text}
    joint_pred = decisions.joint
    has_image = np.array([s.image is not None and s.image_grade is not None for s in samples])
    has_text = np.array([s.text is not None and s.text_grade is not None for s in samples])
    image_gold = np.array([G[s.image_grade] if s.image_grade else -1 for s in samples])
    text_gold = np.array([G[s.text_grade] if s.text_grade else -1 for s in samples])
    image_in = np.array([s.image is not None for s in samples], dtype=bool)
    text_in = np.array([s.text is not None for s in samples], dtype=bool)
    blocking = blocking_rates(joint_gold, decisions.action)

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
        # action == block under that policy: gold-safe items blocked (the headline), gold-borderline
        # items blocked, gold-unsafe items not blocked
        **{name: None if np.isnan(rate) else rate for name, rate in blocking.__dict__.items()},
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
    flagged = decisions.flagged
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


def default_decisions(
    samples: Sequence[LabelledItem], scores: dict[str, np.ndarray], thresholds: dict[str, Any]
) -> DecisionArrays:
    """Apply the service's `default` policy of these thresholds to the samples' scores.

    The graph scores every head of every item; the service reads no image (text) head of an item
    without an image (text): those rows are NaN here, as in the service's score arrays.
    """
    image_in = np.array([s.image is not None for s in samples], dtype=bool)
    text_in = np.array([s.text is not None for s in samples], dtype=bool)
    arrays = ScoreArrays(
        image=np.where(image_in[:, None], scores["image"], np.nan),  # keeps the graph's float32
        text=np.where(text_in[:, None], scores["text"], np.nan),
        joint=scores["joint"],
        categories=scores["categories"],
    )
    return decide_all(builtin_policy(thresholds), arrays)


def _masked_accuracy(gold: np.ndarray, pred: np.ndarray, mask: np.ndarray) -> float | None:
    return float(np.mean(gold[mask] == pred[mask])) if mask.any() else None


REAL_UNSAFE_RECALL = 0.90  # on validation's real (non-corpus) items, when it has them
# With real items: the corpus's joint macro-F1 on validation must stay at least this (the model before real
# text scored 0.70 on the test families), so that reaching the real recall does not cost the joint reading:
# a joint threshold of 0.04 reached it on real items and blocked half the corpus's harmless pairs.
CORPUS_F1_FLOOR = 0.70


def _thresholds(borderline: float, unsafe: float) -> dict[str, Any]:
    """A manifest's thresholds block: the joint pair chosen, the unimodal and category defaults."""
    return {
        "image": {"borderline": 0.5, "unsafe": 0.5},
        "text": {"borderline": 0.5, "unsafe": 0.5},
        "joint": {"borderline": borderline, "unsafe": unsafe},
        "category": 0.5,
    }


def choose_thresholds(
    samples: Sequence[LabelledItem], scores: dict[str, np.ndarray], min_unsafe_recall: float
) -> dict[str, Any]:
    """Pick default thresholds on validation data.

    Corpus only: the best joint macro-F1 at the unsafe-recall floor. With real (non-corpus) items
    beside the corpus's (`train --datasets`): among settings that keep the corpus's recall floor and its
    macro-F1 at CORPUS_F1_FLOOR, and block REAL_UNSAFE_RECALL of the real unsafe items, the one that
    blocks the fewest harmless real items (then the best F1). Each setting is judged by the service's own
    decisions (`default_decisions`: unimodal readings force the joint grade, flagged categories block),
    as the figures are. Floors apply in that order; when no setting left reaches one, it drops to one
    point below the best reachable.
    """
    G = {g: i for i, g in enumerate(GRADES)}
    gold = np.array([G[s.joint_grade] for s in samples])
    real = np.array([not s.source.startswith("corpus") for s in samples])
    grid = np.round(np.arange(0.0125, 0.96, 0.0125), 4)  # fine at the low end, where unsafe recall is won
    table = []
    for tu in grid:
        for tb in grid:
            # the service's decision at this point: unimodal readings force the joint, blocks follow it
            decided = default_decisions(samples, scores, _thresholds(float(tb), float(tu)))
            pred, block = decided.joint, decided.action == BLOCK
            harmless = real & (gold == 0)
            harmless_blocked = float(np.mean(block[harmless])) if harmless.any() else 0.0
            table.append(
                (
                    macro_f1(gold[~real], pred[~real]) if (~real).any() else macro_f1(gold, pred),
                    _recall(gold[~real], pred[~real], 2) if (~real).any() else float("nan"),
                    float(np.mean(block[real & (gold == 2)])) if (real & (gold == 2)).any() else float("nan"),
                    -harmless_blocked,
                    float(tb),
                    float(tu),
                )
            )
    floors = [(1, min_unsafe_recall), (2, REAL_UNSAFE_RECALL)]
    if real.any() and (~real).any():
        floors.insert(1, (0, CORPUS_F1_FLOOR))
    for column, wanted in floors:
        if not np.isnan(table[0][column]):  # no joint-unsafe item there: no recall to reach
            floor = min(wanted, max(row[column] for row in table) - 0.01)
            table = [row for row in table if row[column] >= floor]
    if real.any() and (~real).any():
        _, _, _, _, tb, tu = max(table, key=lambda row: (row[3], row[0], row[4], row[5]))
    else:
        _, _, _, _, tb, tu = max(table, key=lambda row: (row[0], np.nan_to_num(row[1]), row[4], row[5]))
    return _thresholds(tb, tu)


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


def blocked(
    samples: Sequence[LabelledItem], scores: dict[str, np.ndarray], thresholds: dict[str, Any]
) -> np.ndarray:
    """Return which items the default policy of these thresholds blocks."""
    blocks: np.ndarray = default_decisions(samples, scores, thresholds).action == BLOCK
    return blocks


def real_figures(
    samples: Sequence[LabelledItem], scores: dict[str, np.ndarray], thresholds: dict[str, Any]
) -> dict[str, Any]:
    """Per source (and per kind of a hand-written set): items, unsafe ones blocked, harmless ones blocked.

    Text-only items and the same texts beside a control picture are counted apart: `control_effect`
    is how much a picture that carries nothing adds to the block rate of harmless texts.
    """
    block = blocked(samples, scores, thresholds)
    controlled = np.array([s.image is not None for s in samples], dtype=bool)

    def rates(rows: np.ndarray) -> dict[str, Any]:
        gold = np.array([samples[int(i)].joint_grade for i in rows])
        part = block[rows]
        out: dict[str, Any] = {"n": int(len(rows))}
        for grade, name in (
            ("unsafe", "unsafe_blocked"),
            ("borderline", "borderline_blocked"),
            ("safe", "harmless_blocked"),
        ):
            mask = gold == grade
            out[name] = float(part[mask].mean()) if mask.any() else None
            out[f"n_{grade}"] = int(mask.sum())
        return out

    keys = [s.source if not s.source.startswith("contrast/") else f"{s.source}:{s.group}" for s in samples]
    figures: dict[str, Any] = {}
    for key in sorted(set(keys)):
        rows = np.array([i for i, k in enumerate(keys) if k == key and not controlled[i]], dtype=int)
        if len(rows):
            figures[key] = rates(rows)
    for key in sorted({k.partition(":")[0] for k in keys if ":" in k}):  # a whole contrast set
        rows = np.array(
            [i for i, k in enumerate(keys) if k.startswith(f"{key}:") and not controlled[i]], dtype=int
        )
        figures[key] = rates(rows)
    # each harmless text beside a control picture, against the same text alone (ids `<text's id>+<kind>`)
    index = {s.id: i for i, s in enumerate(samples)}
    pairs = [
        (index[s.id.rpartition("+")[0]], i)
        for i, s in enumerate(samples)
        if controlled[i] and s.joint_grade == "safe" and s.id.rpartition("+")[0] in index
    ]
    effect = None
    if pairs:
        alone, beside = (np.array(side) for side in zip(*pairs, strict=True))
        effect = {
            "n": len(pairs),
            "harmless_alone_blocked": float(block[alone].mean()),
            "harmless_beside_control_blocked": float(block[beside].mean()),
        }
    return {"by_source": figures, "control_effect": effect}
