"""The evaluation report counts decisions per reason code, split by the gold joint grade."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from service.evaluation.labelled_data import LabelledItem
from service.evaluation.metrics import compute_metrics
from service.evaluation.reasons import reason_counts
from service.evaluation.report import write_report
from service.policy.reasons import REASON_CODES
from service.policy.rules import GradeThresholds, ModelScores, Policy
from service.serving.batching import combine_windows

S = (0.9, 0.05, 0.05)
B = (0.3, 0.6, 0.1)
U = (0.1, 0.2, 0.7)
POLICY = Policy(
    name="e", joint=GradeThresholds(borderline=0.5, unsafe=0.5), category_actions={"weapons": "review"}
)


def item(i: int, joint: str) -> LabelledItem:
    return LabelledItem(f"item-{i}", None, "t", "safe", "safe", joint, ())  # type: ignore[arg-type]


CASE: list[tuple[LabelledItem, ModelScores]] = [
    (item(1, "safe"), ModelScores(S, S, S, {})),  # below_thresholds
    (item(2, "safe"), ModelScores(S, S, U, {})),  # joint_unsafe: a harmless item blocked
    (item(3, "unsafe"), ModelScores(S, U, U, {})),  # joint_unsafe, text_unsafe_forces_joint
    (item(4, "borderline"), ModelScores(S, S, B, {"weapons": 0.7})),  # joint_borderline, category_flagged
    (item(5, "borderline"), ModelScores(S, S, S, {"weapons": 0.9})),  # below_thresholds, category_escalates
    (item(6, "safe"), ModelScores(B, S, S, {})),  # below_thresholds, image_borderline
    # a long text: joint_unsafe and text_unsafe_forces_joint, each from a window (two text_window reasons)
    (item(7, "unsafe"), combine_windows([ModelScores(S, S, S, {}), ModelScores(S, U, U, {})])),
]
EXPECTED = {  # code: (decisions, harmless, borderline, unsafe)
    "joint_unsafe": (3, 1, 0, 2),
    "joint_borderline": (1, 0, 1, 0),
    "text_unsafe_forces_joint": (2, 0, 0, 2),
    "category_escalates": (1, 0, 1, 0),
    "below_thresholds": (3, 2, 1, 0),
    "text_window": (1, 0, 0, 1),  # once per decision, however many reasons of the code it has
    "image_borderline": (1, 1, 0, 0),
    "category_flagged": (1, 0, 1, 0),
}


def gold_codes(joints: list[int]) -> np.ndarray:
    return np.array(joints, dtype=np.int64)


def test_decisions_are_counted_per_code_and_gold_grade() -> None:
    rows = reason_counts(gold_codes([0, 0, 2, 1, 1, 0, 2]), [s for _, s in CASE], POLICY)
    assert [r["code"] for r in rows] == list(REASON_CODES)  # every code, zero counts too
    got = {r["code"]: (r["decisions"], r["harmless"], r["borderline"], r["unsafe"]) for r in rows}
    assert got == {code: EXPECTED.get(code, (0, 0, 0, 0)) for code in REASON_CODES}


def test_an_item_without_a_gold_joint_grade_counts_in_decisions_only() -> None:
    (row,) = [r for r in reason_counts(gold_codes([-1]), [CASE[1][1]], POLICY) if r["decisions"]]
    assert (row["code"], row["decisions"], row["harmless"], row["borderline"], row["unsafe"]) == (
        "joint_unsafe",
        1,
        0,
        0,
        0,
    )


def test_the_report_has_the_table_in_json_and_html(tmp_path: Path) -> None:
    metrics = compute_metrics([i for i, _ in CASE], [s for _, s in CASE], POLICY, with_sweep=False)
    assert metrics["reasons"] == reason_counts(
        gold_codes([0, 0, 2, 1, 1, 0, 2]), [s for _, s in CASE], POLICY
    )
    write_report(metrics, tmp_path)
    assert json.loads((tmp_path / "report.json").read_text())["reasons"] == metrics["reasons"]
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert '<section id="reasons"><h2>Decisions per reason</h2>' in html
    assert "<tr><td>joint_unsafe</td><td>3</td><td>1</td><td>0</td><td>2</td></tr>" in html
