"""Evaluation metrics on a tiny case computed by hand."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from service.evaluation.cli import add_eval_parsers, cli_eval, run_eval
from service.evaluation.labelled_data import DryRunRequest, LabelledData, LabelledItem, records_to_items
from service.evaluation.metrics import compute_metrics, dry_run_metrics
from service.evaluation.scorers import ItemError
from service.policy.rules import GradeThresholds, ModelScores, Policy
from service.taxonomy import CATEGORIES, VALID_PATTERNS

S = (0.9, 0.05, 0.05)
B = (0.3, 0.6, 0.1)
U = (0.1, 0.2, 0.7)

POLICY = Policy(
    name="hand",
    joint=GradeThresholds(borderline=0.5, unsafe=0.5),
    categories={"default": 0.5, "drug_abuse": 0.3},
    category_actions={"weapons": "review"},
)


def item(i: int, image: str, text: str, joint: str, *categories: str) -> LabelledItem:
    return LabelledItem(f"item-{i}", None, "t", image, text, joint, categories)  # type: ignore[arg-type]


# (gold item, model scores); the predicted grades under POLICY are in the comments.
CASE: list[tuple[LabelledItem, ModelScores]] = [
    # image predicted B (wrong), joint S (right); weapons flagged on a safe item: a false positive.
    (
        item(1, "safe", "safe", "safe", "weapons"),
        ModelScores((0.4, 0.5, 0.1), S, (0.85, 0.1, 0.05), {"weapons": 0.6}),
    ),
    # emergent S-S-U caught.
    (
        item(2, "safe", "safe", "unsafe", "human_exploitation"),
        ModelScores(S, S, (0.15, 0.2, 0.65), {"human_exploitation": 0.8}),
    ),
    # emergent S-S-U missed although both unimodal readings are right.
    (
        item(3, "safe", "safe", "unsafe", "human_exploitation"),
        ModelScores(S, S, (0.75, 0.15, 0.1), {"human_exploitation": 0.2}),
    ),
    # B-S-B right; drug_abuse 0.4 flagged by the 0.3 override.
    (
        item(4, "borderline", "safe", "borderline", "drug_abuse"),
        ModelScores(B, S, (0.3, 0.25, 0.45), {"drug_abuse": 0.4}),
    ),
    # B-B-B predicted unsafe: blocked.
    (item(5, "borderline", "borderline", "borderline"), ModelScores(B, B, (0.05, 0.3, 0.65), {})),
    # U-S-U: the joint head says safe, the unimodal unsafe forces unsafe.
    (item(6, "unsafe", "safe", "unsafe", "weapons"), ModelScores(U, S, (0.65, 0.25, 0.1), {"weapons": 0.9})),
]


@pytest.fixture(scope="module")
def metrics() -> dict[str, Any]:
    return compute_metrics([i for i, _ in CASE], [s for _, s in CASE], POLICY)


def test_joint_metrics_by_hand(metrics: dict[str, Any]) -> None:
    joint = metrics["modalities"]["joint"]
    # gold S U U B B U, predicted S U S B U U
    assert joint["confusion"] == [[1, 0, 0], [0, 1, 1], [1, 0, 2]]
    assert joint["accuracy"] == pytest.approx(4 / 6)
    assert joint["per_class"]["safe"] == {
        "precision": 0.5,
        "recall": 1.0,
        "f1": pytest.approx(2 / 3),
        "support": 1,
    }
    assert joint["per_class"]["borderline"]["precision"] == 1.0
    assert joint["per_class"]["borderline"]["recall"] == 0.5
    assert joint["per_class"]["unsafe"]["f1"] == pytest.approx(2 / 3)
    assert joint["macro_f1"] == pytest.approx(2 / 3)


def test_image_and_text_metrics_by_hand(metrics: dict[str, Any]) -> None:
    image = metrics["modalities"]["image"]
    assert image["confusion"] == [[2, 1, 0], [0, 2, 0], [0, 0, 1]]
    assert image["accuracy"] == pytest.approx(5 / 6)
    assert image["macro_f1"] == pytest.approx((0.8 + 0.8 + 1.0) / 3)
    text = metrics["modalities"]["text"]
    assert text["accuracy"] == 1.0
    assert text["macro_f1"] == 1.0  # safe and borderline occur; unsafe does not and is not averaged


def test_pattern_table_by_hand(metrics: dict[str, Any]) -> None:
    rows = {r["pattern"]: r for r in metrics["patterns"]}
    assert list(rows) == list(VALID_PATTERNS)
    assert len(rows) == 17
    assert (rows["S-S-S"]["count"], rows["S-S-S"]["joint_accuracy"], rows["S-S-S"]["pattern_accuracy"]) == (
        1,
        1.0,
        0.0,
    )
    assert (rows["S-S-U"]["count"], rows["S-S-U"]["joint_accuracy"]) == (2, 0.5)
    assert rows["S-S-U"]["emergent"] is True
    assert rows["B-B-B"]["joint_accuracy"] == 0.0
    assert rows["U-S-U"]["pattern_accuracy"] == 1.0
    assert rows["U-U-U"] == {
        "pattern": "U-U-U",
        "valid": True,
        "emergent": False,
        "count": 0,
        "joint_accuracy": None,
        "pattern_accuracy": None,
    }


def test_blocking_and_actions_by_hand(metrics: dict[str, Any]) -> None:
    blocking = metrics["blocking"]
    assert blocking["harmless_blocked"] == 0.0  # item 1 (escalated to review, not blocked)
    assert blocking["borderline_blocked"] == 0.5  # item 5 of items 4 and 5
    assert blocking["unsafe_not_blocked"] == pytest.approx(1 / 3)  # item 3 of items 2, 3 and 6
    assert (blocking["safe_items"], blocking["borderline_items"], blocking["unsafe_items"]) == (1, 2, 3)
    assert blocking["actions_by_gold_joint_grade"] == {
        "safe": {"allow": 0, "review": 1, "block": 0},  # weapons escalates item 1 to review
        "borderline": {"allow": 0, "review": 1, "block": 1},
        "unsafe": {"allow": 1, "review": 0, "block": 2},
    }


def test_emergent_and_joint_errors_by_hand(metrics: dict[str, Any]) -> None:
    assert metrics["emergent"] == {"items": 2, "recall": 0.5, "exact_accuracy": 0.5}
    assert metrics["joint_errors"] == {
        "count": 2,
        "with_both_unimodal_right": 2,
        "share_with_both_unimodal_right": 1.0,
    }


def test_categories_by_hand(metrics: dict[str, Any]) -> None:
    rows = {r["category"]: r for r in metrics["categories"]}
    assert [r["category"] for r in metrics["categories"]] == list(CATEGORIES)
    weapons = rows["weapons"]
    assert (weapons["support"], weapons["flagged"], weapons["recall"], weapons["precision"]) == (
        1,
        2,
        1.0,
        0.5,
    )
    exploitation = rows["human_exploitation"]
    assert (exploitation["support"], exploitation["recall"], exploitation["precision"]) == (2, 0.5, 1.0)
    assert (rows["drug_abuse"]["recall"], rows["drug_abuse"]["precision"]) == (1.0, 1.0)
    assert (rows["gore"]["support"], rows["gore"]["recall"], rows["gore"]["precision"]) == (0, None, None)


def test_joint_calibration_by_hand(metrics: dict[str, Any]) -> None:
    joint = metrics["calibration"]["joint"]
    # confidences .85 (right) .65 (right) .75 (wrong) .45 (wrong) .65 (wrong) .65 (wrong)
    expected = (abs(0 - 0.45) * 1 + abs(1 / 3 - 0.65) * 3 + abs(0 - 0.75) * 1 + abs(1 - 0.85) * 1) / 6
    assert joint["ece"] == pytest.approx(expected)
    counts = [b["count"] for b in joint["bins"]]
    assert counts == [0, 0, 0, 0, 1, 0, 3, 1, 1, 0]


def test_sweep_marks_the_current_policy(metrics: dict[str, Any]) -> None:
    sweep = metrics["sweep"]
    current = sweep["current"]
    assert (current["joint_unsafe"], current["joint_borderline"]) == (0.5, 0.5)
    assert (current["borderline_blocked"], current["unsafe_not_blocked"]) == (0.5, pytest.approx(1 / 3))
    assert current["harmless_blocked"] == 0.0
    points = sweep["points"]
    at_zero = points["joint_unsafe"].index(0.0)
    assert (points["borderline_blocked"][at_zero], points["unsafe_not_blocked"][at_zero]) == (1.0, 0.0)
    assert points["harmless_blocked"][at_zero] == 1.0  # block everything


class FakeScorer:
    """Scores from a table by item id; ids not in the table fail."""

    def __init__(self, table: dict[str, ModelScores]) -> None:
        self.table = table
        self.calls = 0

    def score(self, items: Sequence[LabelledItem]) -> list[ModelScores | ItemError]:
        self.calls += 1
        return [self.table.get(i.id) or ItemError("no scores") for i in items]


def test_run_eval_skips_failed_items_and_writes_files(tmp_path: Path) -> None:
    table = {i.id: s for i, s in CASE}
    extra = item(7, "safe", "safe", "safe")
    data = LabelledData("hand.jsonl", [i for i, _ in CASE] + [extra], missing_images=["gone"])
    scorer = FakeScorer(table)
    report = run_eval(data, scorer, [POLICY], tmp_path, batch_size=4, progress=False)
    assert scorer.calls == 2
    assert report["items"] == 6
    assert report["data"]["scoring_errors"] == 1
    assert report["data"]["skipped_missing_image"] == 1
    on_disk = json.loads((tmp_path / "report.json").read_text())
    assert on_disk["blocking"]["borderline_blocked"] == 0.5
    assert {"report.html", "sweep.png", "reliability.png", "patterns.png"} <= {
        p.name for p in tmp_path.iterdir()
    }


def test_cli_eval_with_a_local_scorer(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = [
        json.dumps(
            {"id": i.id, "image": None, "text": "t", "text_grade": i.text_grade, "joint_grade": i.joint_grade}
        )
        for i, _ in CASE
    ]
    data = tmp_path / "data.jsonl"
    data.write_text("\n".join(lines) + "\n")
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "hand.yaml").write_text(json.dumps(POLICY.model_dump(mode="json")))
    parser = argparse.ArgumentParser()
    add_eval_parsers(parser.add_subparsers(dest="command"))
    args = parser.parse_args(
        ["eval", "--data", str(data), "--policies", str(tmp_path / "policies"), "--policy", "hand"]
        + ["--out", str(tmp_path / "out"), "--no-progress"]
    )
    table = {i.id: s for i, s in CASE}
    assert cli_eval(args, local_scorer=lambda _: FakeScorer(table)) == 0
    out = capsys.readouterr().out
    assert "borderline blocked 0.500" in out
    assert "harmless blocked 0 of 1 (0.0%)" in out and "unsafe not blocked 1 of 3 (33.3%)" in out
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["policy"]["name"] == "hand"
    assert report["modalities"]["image"]["n"] == 0  # no images in this data

    args = parser.parse_args(["eval", "--data", str(data), "--policy", "nope", "--out", str(tmp_path / "x")])
    assert cli_eval(args, local_scorer=lambda _: FakeScorer(table)) == 1
    assert "unknown policy 'nope'" in capsys.readouterr().err


def test_dry_run_from_request_records() -> None:
    body = {
        "items": [
            {"id": i.id, "text": "t", "image_grade": i.image_grade, "text_grade": i.text_grade,
             "joint_grade": i.joint_grade, "categories": list(i.categories)}
            for i, _ in CASE
        ]
    }  # fmt: skip
    items = records_to_items(DryRunRequest.model_validate(body).items)
    result = dry_run_metrics(items, [s for _, s in CASE], POLICY)
    assert result["blocking"]["borderline_blocked"] == 0.5
    assert result["modalities"]["joint"]["confusion"] == [[1, 0, 0], [0, 1, 1], [1, 0, 2]]
    assert len(result["sweep"]["points"]["joint_unsafe"]) == 41 * 11
    json.dumps(result)  # JSON-ready
    with pytest.raises(ValueError, match="at most 1000"):
        DryRunRequest.model_validate({"items": [{"joint_grade": "safe", "text": "x"}] * 1001})
