"""Tune a policy's joint thresholds to meet an under-blocking target with the least over-blocking.

Under-blocking is `unsafe_not_blocked` (gold-unsafe items not blocked); over-blocking is
`harmless_blocked` (gold-safe items blocked), with `borderline_blocked` as the tie-break.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from service.evaluation.labelled_data import LabelledItem
from service.evaluation.metrics import (
    DEFAULT_BORDERLINE_GRID,
    DEFAULT_UNSAFE_GRID,
    GoldArrays,
    SweepPoint,
    sweep,
)
from service.policy.rules import GradeThresholds, ModelScores, Policy
from service.policy.store import parse_policy, read_yaml
from service.policy.vectorised import ScoreArrays


@dataclass(frozen=True)
class TuneResult:
    """The tuned policy (None when the target cannot be met) and the figures behind the choice."""

    target_unsafe_not_blocked: float
    met: bool
    policy: Policy | None
    chosen: SweepPoint | None  # the point of `policy`
    best_reachable: SweepPoint  # the least under-blocking point (what to aim for when not met)
    points: list[SweepPoint]

    def message(self) -> str:
        """Say what was achieved, or clearly that the target cannot be met and what is reachable."""
        best = self.best_reachable
        if self.met and self.chosen is not None:
            c = self.chosen
            return (
                f"target met: unsafe not blocked {_pct(c.unsafe_not_blocked)} <= "
                f"{_pct(self.target_unsafe_not_blocked)} with harmless blocked {_pct(c.harmless_blocked)} "
                f"(borderline blocked {_pct(c.borderline_blocked)}) at joint.unsafe={c.joint_unsafe:g}, "
                f"joint.borderline={c.joint_borderline:g}, categories.default={c.category:g}"
            )
        return (
            f"target cannot be met: unsafe not blocked <= {_pct(self.target_unsafe_not_blocked)} is not "
            "reachable on this data with this policy's other settings. Best reachable: unsafe not "
            f"blocked {_pct(best.unsafe_not_blocked)} (harmless blocked {_pct(best.harmless_blocked)}, "
            f"borderline blocked {_pct(best.borderline_blocked)}) at joint.unsafe={best.joint_unsafe:g}, "
            f"joint.borderline={best.joint_borderline:g}, categories.default={best.category:g}"
        )


def _pct(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.2%}"


def _zero_if_nan(value: float) -> float:
    return 0.0 if math.isnan(value) else value


def choose(
    points: Sequence[SweepPoint], max_unsafe_not_blocked: float, base: Policy
) -> tuple[SweepPoint | None, SweepPoint]:
    """Pick the feasible point with the least over-blocking; return it (or None) and the best reachable.

    Over-blocking is `harmless_blocked`; ties go to the least `borderline_blocked`, then to the
    higher joint macro F1, then to the point nearest the base policy. A rate without items of its
    grade counts as 0; with no gold-unsafe items every point meets the target (`tune` on the
    command line refuses such data).
    """

    def distance(p: SweepPoint) -> float:
        return (
            abs(p.joint_unsafe - base.joint.unsafe)
            + abs(p.joint_borderline - base.joint.borderline)
            + abs(p.category - base.category_threshold)
        )

    def over_blocking(p: SweepPoint) -> tuple[float, float]:
        return _zero_if_nan(p.harmless_blocked), _zero_if_nan(p.borderline_blocked)

    feasible = [
        p
        for p in points
        if math.isnan(p.unsafe_not_blocked) or p.unsafe_not_blocked <= max_unsafe_not_blocked + 1e-12
    ]
    chosen = min(feasible, key=lambda p: (*over_blocking(p), -p.joint_macro_f1, distance(p)), default=None)
    best = min(points, key=lambda p: (_zero_if_nan(p.unsafe_not_blocked), *over_blocking(p), distance(p)))
    return chosen, best


def tune(
    items: Sequence[LabelledItem],
    scores: Sequence[ModelScores],
    base: Policy,
    max_unsafe_not_blocked: float,
    *,
    name: str | None = None,
    unsafe_grid: Sequence[float] = DEFAULT_UNSAFE_GRID,
    borderline_grid: Sequence[float] = DEFAULT_BORDERLINE_GRID,
    category_grid: Sequence[float] | None = None,
) -> TuneResult:
    """Sweep the joint thresholds (and optionally `categories.default`) of `base`; keep every other knob.

    The target: at most `max_unsafe_not_blocked` of the gold-unsafe items not blocked.
    """
    if not 0.0 <= max_unsafe_not_blocked <= 1.0:
        raise ValueError(f"max_unsafe_not_blocked must be between 0 and 1, got {max_unsafe_not_blocked}")
    points = sweep(
        GoldArrays.from_items(items),
        ScoreArrays.from_scores(scores),
        base,
        unsafe_grid=unsafe_grid,
        borderline_grid=borderline_grid,
        category_grid=category_grid,
    )
    chosen, best = choose(points, max_unsafe_not_blocked, base)
    policy = None
    if chosen is not None:
        categories = {**base.categories, "default": chosen.category}
        policy = base.model_copy(
            update={
                "name": name or base.name,
                "description": f"Tuned from {base.name!r} for unsafe not blocked <= "
                f"{max_unsafe_not_blocked:.1%}.",
                "joint": GradeThresholds(unsafe=chosen.joint_unsafe, borderline=chosen.joint_borderline),
                "categories": categories,
            }
        )
        policy = Policy.model_validate(policy.model_dump())  # re-validate the copy
    return TuneResult(max_unsafe_not_blocked, chosen is not None, policy, chosen, best, points)


def policy_yaml(policy: Policy, header: Sequence[str] = ()) -> str:
    """Render `policy` as a policy file, with `header` lines as a leading comment block."""
    comment = "".join(f"# {line}".rstrip() + "\n" for line in header)
    body = yaml.safe_dump(policy.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
    return comment + body


def tuned_policy_header(result: TuneResult, data_source: str, items: int, base: Policy) -> list[str]:
    """Return the comment block that records how a tuned policy was made."""
    chosen = result.chosen
    chosen_name = result.policy.name if result.policy else ""
    lines = [
        f"Tuned by `python -m service tune` on {datetime.now(UTC).isoformat(timespec='seconds')}.",
        f"Data: {data_source} ({items} items scored).",
        f"Base policy: {base.name} (version {base.version}); only joint thresholds"
        + (" and categories.default" if len({p.category for p in result.points}) > 1 else "")
        + " were tuned.",
        "Target: unsafe not blocked (gold-unsafe items not blocked) <= "
        f"{_pct(result.target_unsafe_not_blocked)}.",
    ]
    if chosen is not None:
        lines += [
            f"Achieved on that data: unsafe not blocked {_pct(chosen.unsafe_not_blocked)}, "
            f"harmless blocked {_pct(chosen.harmless_blocked)} (gold-safe items blocked), "
            f"borderline blocked {_pct(chosen.borderline_blocked)}, "
            f"joint macro F1 {chosen.joint_macro_f1:.3f}.",
            "Re-measure on held-out data before shipping: "
            f"`python -m service eval --data HELD_OUT --policy {chosen_name} --out runs/eval-{chosen_name}`.",
        ]
    return lines


def write_tuned_policy(result: TuneResult, path: Path, data_source: str, items: int, base: Policy) -> Path:
    """Write the tuned policy file (named after `path`'s stem); check that it loads back."""
    if result.policy is None:
        raise ValueError("the target was not met: there is no policy to write")
    text = policy_yaml(result.policy, tuned_policy_header(result, data_source, items, base))
    parse_policy(read_yaml(text), str(path), expected_name=path.stem)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def tune_summary(result: TuneResult) -> dict[str, Any]:
    """Return the tuning outcome as JSON-ready data for the report."""
    return {
        "target_unsafe_not_blocked": result.target_unsafe_not_blocked,
        "met": result.met,
        "message": result.message(),
        "chosen": result.chosen.as_dict() if result.chosen else None,
        "best_reachable": result.best_reachable.as_dict(),
    }
