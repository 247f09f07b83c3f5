"""Tuning: meet an unsafe-not-blocked target blocking the fewest harmless items; hold on unseen data; say when
it can't."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
import yaml

from service.evaluation.cli import add_eval_parsers, cli_tune
from service.evaluation.labelled_data import LabelledItem
from service.evaluation.metrics import BlockingRates, GoldArrays, blocking_rates
from service.evaluation.scorers import ItemError
from service.evaluation.tuning import tune, write_tuned_policy
from service.policy.rules import GradeThresholds, ModelScores, Policy
from service.policy.store import load_policy_file
from service.policy.vectorised import ScoreArrays, decide_all
from service.taxonomy import GRADES

BASE = Policy(name="default", joint=GradeThresholds(borderline=0.5, unsafe=0.5))


def synthetic(n: int, seed: int) -> tuple[list[LabelledItem], list[ModelScores]]:
    """Noisy joint scores that lean towards the gold grade (joint-only items)."""
    rng = np.random.default_rng(seed)
    gold = rng.choice(3, size=n, p=[0.4, 0.3, 0.3])
    logits = rng.normal(0.0, 1.0, size=(n, 3))
    logits[np.arange(n), gold] += 1.5
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    items = [LabelledItem(f"i{k}", None, "t", None, None, GRADES[g]) for k, g in enumerate(gold)]
    scores = [ModelScores(None, None, (float(p[0]), float(p[1]), float(p[2])), {}) for p in probs]
    return items, scores


def rates(policy: Policy, items: list[LabelledItem], scores: list[ModelScores]) -> BlockingRates:
    decisions = decide_all(policy, ScoreArrays.from_scores(scores))
    return blocking_rates(GoldArrays.from_items(items).joint, decisions.action)


def test_tuned_thresholds_hold_on_held_out_data() -> None:
    items, scores = synthetic(6000, seed=1)
    half = len(items) // 2
    result = tune(items[:half], scores[:half], BASE, max_unsafe_not_blocked=0.05, name="tuned")
    assert result.met and result.policy is not None and result.chosen is not None
    assert result.chosen.unsafe_not_blocked <= 0.05
    # It is the least over-blocking point that meets the target: one grid step looser misses it.
    looser = result.policy.model_copy(
        update={"joint": GradeThresholds(unsafe=result.chosen.joint_unsafe + 0.005, borderline=0.5)}
    )
    assert rates(looser, items[:half], scores[:half]).unsafe_not_blocked > 0.05
    # On the other half, under-blocking stays near the target.
    held_out = rates(result.policy, items[half:], scores[half:])
    assert held_out.unsafe_not_blocked == pytest.approx(0.05, abs=0.025)
    assert held_out.borderline_blocked == pytest.approx(result.chosen.borderline_blocked, abs=0.05)
    assert held_out.harmless_blocked == pytest.approx(result.chosen.harmless_blocked, abs=0.05)
    assert result.policy.name == "tuned"
    assert "target met" in result.message()


def test_base_policy_knobs_survive_tuning() -> None:
    items, scores = synthetic(500, seed=2)
    base = BASE.model_copy(
        update={"categories": {"default": 0.5, "gore": 0.2}, "category_actions": {"gore": "block"}}
    )
    result = tune(items, scores, base, max_unsafe_not_blocked=0.1)
    assert result.policy is not None
    assert result.policy.categories == {"default": 0.5, "gore": 0.2}
    assert result.policy.category_actions == {"gore": "block"}


def test_unreachable_target_says_so_and_gives_best_reachable() -> None:
    items, scores = synthetic(1000, seed=3)
    result = tune(
        items, scores, BASE, max_unsafe_not_blocked=0.01, unsafe_grid=[0.6, 0.8], borderline_grid=[0.5]
    )
    assert not result.met and result.policy is None
    assert result.best_reachable.joint_unsafe == 0.5  # the base's own value is always on the grid
    message = result.message()
    assert "cannot be met" in message
    assert f"{result.best_reachable.unsafe_not_blocked:.2%}" in message


def test_written_policy_records_data_target_and_figures(tmp_path: Path) -> None:
    items, scores = synthetic(1000, seed=4)
    result = tune(items, scores, BASE, max_unsafe_not_blocked=0.08, name="forum-tuned")
    path = write_tuned_policy(result, tmp_path / "forum-tuned.yaml", "data/labelled.csv", len(items), BASE)
    text = path.read_text()
    header = [line for line in text.splitlines() if line.startswith("#")]
    assert any("data/labelled.csv (1000 items" in line for line in header)
    assert any("<= 8.00%" in line for line in header)
    assert any("Achieved on that data: unsafe not blocked" in line for line in header)
    loaded = load_policy_file(path)
    assert loaded == result.policy
    assert yaml.safe_load(text)["joint"]["unsafe"] == result.chosen.joint_unsafe  # type: ignore[union-attr]


class TableScorer:
    def __init__(self, table: dict[str, ModelScores]) -> None:
        self.table = table

    def score(self, items: Sequence[LabelledItem]) -> list[ModelScores | ItemError]:
        return [self.table[i.id] for i in items]


def test_cli_tune(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    items, scores = synthetic(400, seed=5)
    data = tmp_path / "data.jsonl"
    data.write_text(
        "".join(f'{{"id": "{i.id}", "text": "t", "joint_grade": "{i.joint_grade}"}}\n' for i in items)
    )
    parser = argparse.ArgumentParser()
    add_eval_parsers(parser.add_subparsers(dest="command"))
    table = dict(zip((i.id for i in items), scores, strict=True))
    out = tmp_path / "policies" / "tuned.yaml"
    argv = ["tune", "--data", str(data), "--max-under-block", "10%", "--out", str(out), "--no-progress"]
    assert cli_tune(parser.parse_args(argv), local_scorer=lambda _: TableScorer(table)) == 0
    assert "target met" in capsys.readouterr().out
    assert load_policy_file(out).name == "tuned"
    assert (tmp_path / "policies" / "tuned-report" / "report.html").exists()

    base = tmp_path / "never-blocks.yaml"
    base.write_text("actions: {unsafe: review}\n")
    never = tmp_path / "policies" / "never.yaml"
    argv = [
        "tune",
        "--data",
        str(data),
        "--max-unsafe-not-blocked",  # the flag's new name; --max-under-block (above) still works
        "0.05",
        "--out",
        str(never),
        "--policy",
        str(base),
    ]
    assert (
        cli_tune(parser.parse_args([*argv, "--no-progress"]), local_scorer=lambda _: TableScorer(table)) == 2
    )
    captured = capsys.readouterr()
    assert "target cannot be met" in captured.out
    assert "Best reachable: unsafe not blocked 100.00%" in captured.out
    assert "no policy written" in captured.err
    assert not never.exists()


def test_cli_tune_refuses_data_without_an_unsafe_item(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # every threshold "met" an unsafe-not-blocked target it could not measure, and the loosest was written
    items, scores = synthetic(400, seed=5)
    kept = [(i, s) for i, s in zip(items, scores, strict=True) if i.joint_grade != "unsafe"]
    data = tmp_path / "data.jsonl"
    data.write_text(
        "".join(f'{{"id": "{i.id}", "text": "t", "joint_grade": "{i.joint_grade}"}}\n' for i, _ in kept)
    )
    parser = argparse.ArgumentParser()
    add_eval_parsers(parser.add_subparsers(dest="command"))
    table = {i.id: s for i, s in kept}
    out = tmp_path / "tuned.yaml"
    argv = ["tune", "--data", str(data), "--max-under-block", "5%", "--out", str(out), "--no-progress"]
    assert cli_tune(parser.parse_args(argv), local_scorer=lambda _: TableScorer(table)) == 1
    assert "no scored item is labelled unsafe" in capsys.readouterr().err
    assert not out.exists()
