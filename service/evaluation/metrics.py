"""Measure a policy on labelled data: per-modality F1, per-pattern accuracy, blocking rates, calibration.

Everything here works from (gold labels, model scores, policy) alone, so it runs on scores from the
in-process engine, a running server, or numbers made up in a test. Decisions come from the policy's
own rule on arrays (`service.policy.vectorised`), so that a threshold sweep over thousands of grid
points stays fast.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from service.evaluation.labelled_data import LabelledItem
from service.evaluation.reasons import reason_counts
from service.policy.rules import (
    ABSENT,
    ACTIONS,
    BORDERLINE,
    SAFE,
    UNSAFE,
    GradeThresholds,
    ModelScores,
    Policy,
    force_joint,
)
from service.policy.vectorised import (
    DecisionArrays,
    ScoreArrays,
    decide_all,
    escalation_levels,
    flag_categories,
    grade_codes,
)
from service.taxonomy import CATEGORIES, CATEGORY_CODES, EMERGENT_PATTERNS, GRADES, VALID_PATTERNS

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

MODALITIES = ("image", "text", "joint")
REVIEW, BLOCK = ACTIONS.index("review"), ACTIONS.index("block")
CALIBRATION_BINS = 10
DEFAULT_UNSAFE_GRID: tuple[float, ...] = tuple(round(x, 3) for x in np.linspace(0.0, 1.0, 201))
DEFAULT_BORDERLINE_GRID: tuple[float, ...] = tuple(round(x, 3) for x in np.linspace(0.0, 1.0, 21))


# --- labels as arrays ---------------------------------------------------------------------------


@dataclass(frozen=True)
class GoldArrays:
    """Gold labels of N items as codes (0 safe, 1 borderline, 2 unsafe, ABSENT unlabelled)."""

    image: IntArray
    text: IntArray
    joint: IntArray
    categories: BoolArray  # (N, C)
    patterns: tuple[str | None, ...]

    @classmethod
    def from_items(cls, items: Sequence[LabelledItem]) -> GoldArrays:
        """Encode the items' labels."""

        def codes(grades: Iterable[str | None]) -> IntArray:
            return np.array([ABSENT if g is None else GRADES.index(g) for g in grades], dtype=np.int64)

        categories = np.zeros((len(items), len(CATEGORIES)), dtype=bool)
        for i, item in enumerate(items):
            for slug in item.categories:
                categories[i, CATEGORIES.index(slug)] = True
        return cls(
            image=codes(item.image_grade for item in items),
            text=codes(item.text_grade for item in items),
            joint=codes(item.joint_grade for item in items),
            categories=categories,
            patterns=tuple(item.pattern for item in items),
        )

    def modality(self, name: str) -> IntArray:
        """Return the gold codes of `image`, `text` or `joint`."""
        codes: IntArray = getattr(self, name)
        return codes


# --- metrics -------------------------------------------------------------------------------------


def _ratio(numerator: float, denominator: float) -> float | None:
    return None if denominator == 0 else float(numerator) / float(denominator)


def _nan_ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else math.nan


def _finite(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def confusion_matrix(gold: IntArray, predicted: IntArray) -> IntArray:
    """Count (gold, predicted) grade pairs, rows gold, columns predicted; an item lacking one is left out."""
    mask = (gold >= 0) & (predicted >= 0)
    confusion: IntArray = np.bincount(gold[mask] * 3 + predicted[mask], minlength=9).reshape(3, 3)
    return confusion


def classification_metrics(gold: IntArray, predicted: IntArray) -> dict[str, Any]:
    """3-class accuracy, per-class precision/recall/F1, macro F1 and the confusion matrix.

    Only items with both a gold and a predicted grade count. Macro F1 averages the classes that
    occur in the gold labels or the predictions (as scikit-learn does).
    """
    mask = (gold >= 0) & (predicted >= 0)
    confusion = confusion_matrix(gold, predicted)
    per_class: dict[str, dict[str, Any]] = {}
    f1s: list[float] = []
    for k, grade in enumerate(GRADES):
        tp = int(confusion[k, k])
        support, predicted_k = int(confusion[k].sum()), int(confusion[:, k].sum())
        precision, recall = _ratio(tp, predicted_k), _ratio(tp, support)
        f1 = 2 * tp / (support + predicted_k) if support + predicted_k else None
        per_class[grade] = {"precision": precision, "recall": recall, "f1": f1, "support": support}
        if f1 is not None:
            f1s.append(f1)
    return {
        "n": int(mask.sum()),
        "accuracy": _ratio(int(np.trace(confusion)), int(mask.sum())),
        "macro_f1": float(np.mean(f1s)) if f1s else None,
        "per_class": per_class,
        "confusion": confusion.tolist(),
    }


def macro_f1(gold: IntArray, predicted: IntArray) -> float:
    """Return the 3-class macro F1 (0.0 when there is nothing to score)."""
    value = classification_metrics(gold, predicted)["macro_f1"]
    return 0.0 if value is None else float(value)


def pattern_table(gold: GoldArrays, decisions: DecisionArrays) -> list[dict[str, Any]]:
    """Count and accuracy per gold pattern: all 17 valid ones (zero counts too), then any invalid ones.

    `joint_accuracy`: predicted joint grade = gold; `pattern_accuracy`: all three grades right.
    """
    labelled = np.array([p is not None for p in gold.patterns], dtype=bool)
    joint_right = decisions.joint == gold.joint
    all_right = joint_right & (decisions.image == gold.image) & (decisions.text == gold.text)
    names = np.array([p or "" for p in gold.patterns])
    seen = {p for p in gold.patterns if p is not None}
    rows = []
    for name in [*VALID_PATTERNS, *sorted(seen - set(VALID_PATTERNS))]:
        mask = labelled & (names == name)
        count = int(mask.sum())
        rows.append(
            {
                "pattern": name,
                "valid": name in VALID_PATTERNS,
                "emergent": name in EMERGENT_PATTERNS,
                "count": count,
                "joint_accuracy": _ratio(int(joint_right[mask].sum()), count),
                "pattern_accuracy": _ratio(int(all_right[mask].sum()), count),
            }
        )
    return rows


def category_table(gold: GoldArrays, decisions: DecisionArrays) -> list[dict[str, Any]]:
    """Recall and precision of category flags per category.

    A gold positive is an item labelled with the category whose gold joint grade is borderline or
    unsafe (a safe item's category is only its topic, not a harm to flag).
    """
    harmful = (gold.joint >= 1)[:, None]
    positives = gold.categories & harmful
    rows = []
    for c, slug in enumerate(CATEGORIES):
        tp = int((positives[:, c] & decisions.flagged[:, c]).sum())
        support, flagged = int(positives[:, c].sum()), int(decisions.flagged[:, c].sum())
        rows.append(
            {
                "category": slug,
                "code": CATEGORY_CODES[slug],
                "support": support,
                "flagged": flagged,
                "true_positives": tp,
                "recall": _ratio(tp, support),
                "precision": _ratio(tp, flagged),
            }
        )
    return rows


@dataclass(frozen=True)
class BlockingRates:
    """What blocking did to each gold joint grade; NaN where the data has no item of that grade.

    `harmless_blocked` is the headline over-blocking figure: gold-safe items blocked. It is what
    tuning minimises; `borderline_blocked` is the share of gold-borderline items blocked, and
    `unsafe_not_blocked` (under-blocking) the share of gold-unsafe items let through.
    """

    harmless_blocked: float
    borderline_blocked: float
    unsafe_not_blocked: float


def count_of_grade(gold_joint: IntArray, grade: int, hit: BoolArray) -> tuple[int, int]:
    """Return how many items of a gold joint grade are `hit`, and how many items have that grade."""
    of_grade = gold_joint == grade
    return int(np.count_nonzero(hit & of_grade)), int(np.count_nonzero(of_grade))


def blocking_rates(gold_joint: IntArray, action: IntArray) -> BlockingRates:
    """Return the blocking rates of actions (codes) against gold joint grades (codes)."""
    blocked = action == BLOCK
    return BlockingRates(
        harmless_blocked=_nan_ratio(*count_of_grade(gold_joint, SAFE, blocked)),
        borderline_blocked=_nan_ratio(*count_of_grade(gold_joint, BORDERLINE, blocked)),
        unsafe_not_blocked=_nan_ratio(*count_of_grade(gold_joint, UNSAFE, ~blocked)),
    )


def headline_figures(gold_joint: IntArray, action: IntArray) -> dict[str, dict[str, Any]]:
    """Return the figures ops read first, each `{count, out_of, rate}` (rate None when `out_of` is 0).

    `harmless_blocked`: gold-safe items blocked (over-blocking; the rate is `blocking_rates`' too);
    `unsafe_not_blocked`: gold-unsafe items allowed or sent to review (under-blocking);
    `borderline_to_review`: gold-borderline items sent to review (the load they put on reviewers).
    """

    def figure(grade: int, hit: BoolArray) -> dict[str, Any]:
        count, out_of = count_of_grade(gold_joint, grade, hit)
        return {"count": count, "out_of": out_of, "rate": _ratio(count, out_of)}

    blocked = action == BLOCK
    return {
        "harmless_blocked": figure(SAFE, blocked),
        "unsafe_not_blocked": figure(UNSAFE, ~blocked),
        "borderline_to_review": figure(BORDERLINE, action == REVIEW),
    }


def blocking_metrics(gold: GoldArrays, decisions: DecisionArrays) -> dict[str, Any]:
    """Blocking rates (harmless_blocked first: the headline), item counts, and actions per gold grade."""
    by_gold = {
        grade: {
            action: int(((gold.joint == k) & (decisions.action == a)).sum())
            for a, action in enumerate(ACTIONS)
        }
        for k, grade in enumerate(GRADES)
    }
    rates = blocking_rates(gold.joint, decisions.action)
    return {
        **{name: _finite(value) for name, value in rates.__dict__.items()},
        "safe_items": int((gold.joint == SAFE).sum()),
        "borderline_items": int((gold.joint == BORDERLINE).sum()),
        "unsafe_items": int((gold.joint == UNSAFE).sum()),
        "actions_by_gold_joint_grade": by_gold,
    }


def emergent_metrics(gold: GoldArrays, decisions: DecisionArrays) -> dict[str, Any]:
    """Recall on emergent (cross-modal) items, and how many joint errors had both unimodal grades right.

    Emergent recall: share of gold-emergent items whose predicted joint grade is at least as severe
    as the gold one (the harm that only the combination carries was caught).
    """
    emergent = np.array([p in EMERGENT_PATTERNS for p in gold.patterns], dtype=bool)
    caught = decisions.joint >= gold.joint
    exact = decisions.joint == gold.joint
    joint_wrong = (decisions.joint != gold.joint) & (gold.joint >= 0)
    unimodal_right = (
        (gold.image >= 0) & (gold.text >= 0) & (decisions.image == gold.image) & (decisions.text == gold.text)
    )
    n_wrong = int(joint_wrong.sum())
    return {
        "emergent": {
            "items": int(emergent.sum()),
            "recall": _ratio(int((caught & emergent).sum()), int(emergent.sum())),
            "exact_accuracy": _ratio(int((exact & emergent).sum()), int(emergent.sum())),
        },
        "joint_errors": {
            "count": n_wrong,
            "with_both_unimodal_right": int((joint_wrong & unimodal_right).sum()),
            "share_with_both_unimodal_right": _ratio(int((joint_wrong & unimodal_right).sum()), n_wrong),
        },
    }


def calibration(gold: IntArray, scores: FloatArray, bins: int = CALIBRATION_BINS) -> dict[str, Any]:
    """Top-label expected calibration error (equal-width bins) and the reliability-diagram bins.

    Uses the model's own argmax, not the policy: it measures the scores, which thresholds act on.
    """
    mask = (gold >= 0) & ~np.isnan(scores).any(axis=1)
    probs, labels = scores[mask], gold[mask]
    confidence = probs.max(axis=1) if len(probs) else np.zeros(0)
    correct = (probs.argmax(axis=1) == labels) if len(probs) else np.zeros(0, dtype=bool)
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    rows, ece = [], 0.0
    for b in range(bins):
        in_bin = index == b
        count = int(in_bin.sum())
        mean_confidence = float(confidence[in_bin].mean()) if count else None
        accuracy = float(correct[in_bin].mean()) if count else None
        if count and mean_confidence is not None and accuracy is not None:
            ece += count / len(confidence) * abs(accuracy - mean_confidence)
        rows.append(
            {
                "lower": float(edges[b]),
                "upper": float(edges[b + 1]),
                "count": count,
                "confidence": mean_confidence,
                "accuracy": accuracy,
            }
        )
    return {"n": int(mask.sum()), "ece": ece if len(confidence) else None, "bins": rows}


# --- threshold sweep -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SweepPoint:
    """One grid point: joint thresholds (and category threshold), and what they give on the data."""

    joint_unsafe: float
    joint_borderline: float
    category: float
    harmless_blocked: float  # NaN when there are no gold-safe items
    borderline_blocked: float  # NaN when there are no gold-borderline items
    unsafe_not_blocked: float  # NaN when there are no gold-unsafe items
    joint_macro_f1: float

    def as_dict(self) -> dict[str, float | None]:
        """Return the point as JSON-ready data (NaN → None)."""
        return {k: _finite(v) for k, v in self.__dict__.items()}


def sweep(
    gold: GoldArrays,
    scores: ScoreArrays,
    policy: Policy,
    unsafe_grid: Sequence[float] = DEFAULT_UNSAFE_GRID,
    borderline_grid: Sequence[float] = DEFAULT_BORDERLINE_GRID,
    category_grid: Sequence[float] | None = None,
) -> list[SweepPoint]:
    """Evaluate `policy` with its joint thresholds (and, if given, `categories.default`) on a grid.

    Every other knob of the policy stays as it is: unimodal thresholds, per-category overrides,
    actions and category actions. The policy's own values are always on the grid. Each point is
    the policy's rule (`decide_all`'s steps); what no swept threshold changes is computed once.
    """
    unsafe_values = sorted({*unsafe_grid, policy.joint.unsafe})
    borderline_values = sorted({*borderline_grid, policy.joint.borderline})
    category_values = (
        sorted({*category_grid, policy.category_threshold})
        if category_grid is not None
        else [policy.category_threshold]
    )
    image = grade_codes(scores.image, policy.image)
    text = grade_codes(scores.text, policy.text)
    points = []
    for category in category_values:
        escalation = escalation_levels(flag_categories(scores.categories, policy, category), policy)
        for borderline in borderline_values:
            for unsafe in unsafe_values:
                thresholds = GradeThresholds(borderline=borderline, unsafe=unsafe)
                joint = force_joint(grade_codes(scores.joint, thresholds), image, text)
                rates = blocking_rates(gold.joint, policy.action_code(joint, escalation))
                points.append(
                    SweepPoint(
                        float(unsafe),
                        float(borderline),
                        float(category),
                        harmless_blocked=rates.harmless_blocked,
                        borderline_blocked=rates.borderline_blocked,
                        unsafe_not_blocked=rates.unsafe_not_blocked,
                        joint_macro_f1=_confusion_macro_f1(confusion_matrix(gold.joint, joint)),
                    )
                )
    return points


def _confusion_macro_f1(confusion: IntArray) -> float:
    rows = confusion.tolist()  # plain ints: this runs once per grid point
    f1s = []
    for k in range(3):
        denominator = sum(rows[k]) + sum(row[k] for row in rows)
        if denominator:
            f1s.append(2 * rows[k][k] / denominator)
    return sum(f1s) / len(f1s) if f1s else 0.0


def sweep_json(points: Sequence[SweepPoint], policy: Policy) -> dict[str, Any]:
    """Return the sweep as columns plus the point of `policy` itself (the marked one on the curve)."""
    columns: dict[str, list[float | None]] = {name: [] for name in SweepPoint.__dataclass_fields__}
    for point in points:
        for name, value in point.as_dict().items():
            columns[name].append(value)
    current = next(
        (
            p
            for p in points
            if p.joint_unsafe == policy.joint.unsafe
            and p.joint_borderline == policy.joint.borderline
            and p.category == policy.category_threshold
        ),
        None,
    )
    return {"points": columns, "current": current.as_dict() if current else None}


# --- the whole report ----------------------------------------------------------------------------


def compute_metrics(
    items: Sequence[LabelledItem],
    scores: Sequence[ModelScores],
    policy: Policy,
    *,
    with_sweep: bool = True,
    unsafe_grid: Sequence[float] = DEFAULT_UNSAFE_GRID,
    borderline_grid: Sequence[float] = DEFAULT_BORDERLINE_GRID,
    category_grid: Sequence[float] | None = None,
) -> dict[str, Any]:
    """Compute every metric of the report (JSON-ready) from gold labels, model scores and a policy.

    This is also the body of the HTTP dry run (`POST /v1/policies/{name}/evaluate`).
    """
    if len(items) != len(scores):
        raise ValueError(f"{len(items)} items but {len(scores)} scores")
    gold = GoldArrays.from_items(items)
    arrays = ScoreArrays.from_scores(scores)
    decisions = decide_all(policy, arrays)
    metrics: dict[str, Any] = {
        "policy": {"name": policy.name, "version": policy.version, **policy.model_dump(mode="json")},
        "items": len(items),
        "headline": headline_figures(gold.joint, decisions.action),
        "modalities": {
            m: classification_metrics(gold.modality(m), decisions.modality(m)) for m in MODALITIES
        },
        "patterns": pattern_table(gold, decisions),
        "items_without_pattern": sum(p is None for p in gold.patterns),
        "categories": category_table(gold, decisions),
        "blocking": blocking_metrics(gold, decisions),
        "reasons": reason_counts(gold.joint, scores, policy),
        **emergent_metrics(gold, decisions),
        "calibration": {m: calibration(gold.modality(m), arrays.modality(m)) for m in MODALITIES},
    }
    if with_sweep:
        points = sweep(gold, arrays, policy, unsafe_grid, borderline_grid, category_grid)
        metrics["sweep"] = sweep_json(points, policy)
    return metrics


# What a report holds once, however many policies it compares: the item count, and the calibration
# of the model's scores (which no policy changes).
SHARED_KEYS = ("items", "calibration")


def compute_report(
    items: Sequence[LabelledItem],
    scores: Sequence[ModelScores],
    policies: Sequence[Policy],
    *,
    category_grid: Sequence[float] | None = None,
) -> dict[str, Any]:
    """Measure one or more policies on the same scored items.

    One policy: `compute_metrics`' layout. Several: that layout for the first policy (a reader of
    single-policy reports reads the first), plus `policies`, every policy's results in order
    (`compute_metrics` less SHARED_KEYS, which stay at the top); `policies[0]` repeats the top level.
    """
    if not policies:
        raise ValueError("no policy to measure")
    results = [compute_metrics(items, scores, p, category_grid=category_grid) for p in policies]
    if len(results) == 1:
        return results[0]
    per_policy = [{k: v for k, v in r.items() if k not in SHARED_KEYS} for r in results]
    return {**results[0], "policies": per_policy}


def policy_results(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Return each measured policy's results in order (a single-policy report is its own one)."""
    results: list[dict[str, Any]] = report.get("policies") or [report]
    return results


DRY_RUN_UNSAFE_GRID: tuple[float, ...] = tuple(round(x, 3) for x in np.linspace(0.0, 1.0, 41))
DRY_RUN_BORDERLINE_GRID: tuple[float, ...] = tuple(round(x, 3) for x in np.linspace(0.0, 1.0, 11))


def dry_run_metrics(
    items: Sequence[LabelledItem], scores: Sequence[ModelScores], policy: Policy
) -> dict[str, Any]:
    """Return the report's metrics for `POST /v1/policies/{name}/evaluate`, with a coarser sweep."""
    return compute_metrics(
        items, scores, policy, unsafe_grid=DRY_RUN_UNSAFE_GRID, borderline_grid=DRY_RUN_BORDERLINE_GRID
    )
