"""The report's headline figures, and `eval` with several policies side by side on one scoring."""

from __future__ import annotations

import argparse
import json
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from service.__main__ import main
from service.evaluation.cli import add_eval_parsers, cli_eval, cli_tune, run_eval
from service.evaluation.labelled_data import LabelledData
from service.evaluation.metrics import (
    SHARED_KEYS,
    compute_metrics,
    compute_report,
    headline_figures,
    policy_results,
)
from service.evaluation.report import HTML_SECTIONS, format_figure, policy_labels, write_report
from service.policy.rules import GradeThresholds, Policy
from tests.service.evaluation.test_metrics import CASE, POLICY, FakeScorer
from tests.service.labelled import write_labelled_jsonl

# Blocks everything: its joint thresholds are 0, so every item is graded unsafe.
BLOCK_ALL = Policy(name="block-all", joint=GradeThresholds(borderline=0.0, unsafe=0.0))
ITEMS, SCORES = [i for i, _ in CASE], [s for _, s in CASE]


def test_headline_figures_by_hand() -> None:
    # gold: 4 harmless, 3 borderline, 2 unsafe; actions 0 allow, 1 review, 2 block
    gold = np.array([0, 0, 0, 0, 1, 1, 1, 2, 2])
    action = np.array([2, 0, 1, 0, 1, 1, 2, 1, 2])
    assert headline_figures(gold, action) == {
        "harmless_blocked": {"count": 1, "out_of": 4, "rate": 0.25},
        "unsafe_not_blocked": {"count": 1, "out_of": 2, "rate": 0.5},  # the one sent to review
        "borderline_to_review": {"count": 2, "out_of": 3, "rate": pytest.approx(2 / 3)},
    }
    no_unsafe = headline_figures(np.array([0, 1]), np.array([0, 0]))
    assert no_unsafe["unsafe_not_blocked"] == {"count": 0, "out_of": 0, "rate": None}
    assert no_unsafe["borderline_to_review"] == {"count": 0, "out_of": 1, "rate": 0.0}


def test_headline_in_the_report_matches_the_blocking_table() -> None:
    metrics = compute_metrics(ITEMS, SCORES, POLICY, with_sweep=False)
    headline = metrics["headline"]
    # CASE under POLICY: item 1 (safe) reviewed; items 4, 5 (borderline) reviewed, blocked; item 3 let through
    assert headline == {
        "harmless_blocked": {"count": 0, "out_of": 1, "rate": 0.0},
        "unsafe_not_blocked": {"count": 1, "out_of": 3, "rate": pytest.approx(1 / 3)},
        "borderline_to_review": {"count": 1, "out_of": 2, "rate": 0.5},
    }
    blocking = metrics["blocking"]
    assert headline["harmless_blocked"]["rate"] == blocking["harmless_blocked"]
    assert headline["unsafe_not_blocked"]["rate"] == blocking["unsafe_not_blocked"]
    by_gold = blocking["actions_by_gold_joint_grade"]
    assert headline["borderline_to_review"]["count"] == by_gold["borderline"]["review"]
    assert format_figure(headline["unsafe_not_blocked"]) == "1 of 3 (33.3%)"
    assert format_figure({"count": 0, "out_of": 0, "rate": None}) == "0 of 0 (n/a)"


def test_one_policy_keeps_the_single_policy_layout() -> None:
    report = compute_report(ITEMS, SCORES, [POLICY])
    assert "policies" not in report
    assert report == compute_metrics(ITEMS, SCORES, POLICY)
    assert policy_results(report) == [report]


def test_two_policies_side_by_side() -> None:
    report = compute_report(ITEMS, SCORES, [POLICY, BLOCK_ALL])
    first, second = report["policies"]
    assert [first["policy"]["name"], second["policy"]["name"]] == ["hand", "block-all"]
    # the top level is the first policy's report, as with one policy
    assert {k: v for k, v in report.items() if k != "policies"} == compute_metrics(ITEMS, SCORES, POLICY)
    assert all(key not in entry for entry in (first, second) for key in SHARED_KEYS)
    assert first == {k: v for k, v in report.items() if k not in (*SHARED_KEYS, "policies")}
    assert second["headline"] == {
        "harmless_blocked": {"count": 1, "out_of": 1, "rate": 1.0},
        "unsafe_not_blocked": {"count": 0, "out_of": 3, "rate": 0.0},
        "borderline_to_review": {"count": 0, "out_of": 2, "rate": 0.0},
    }
    assert second["sweep"]["current"]["joint_unsafe"] == 0.0
    assert policy_results(report) == [first, second]
    with pytest.raises(ValueError, match="no policy"):
        compute_report(ITEMS, SCORES, [])


def test_policies_sharing_a_name_are_told_apart_by_version() -> None:
    other_hand = BLOCK_ALL.model_copy(update={"name": "hand"})
    results = policy_results(compute_report(ITEMS, SCORES, [POLICY, other_hand, BLOCK_ALL]))
    assert policy_labels(results) == [f"hand ({POLICY.version})", f"hand ({other_hand.version})", "block-all"]


class Page(HTMLParser):
    """The section ids, image sources, and the text of each table cell of a report page."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: list[str] = []
        self.images: list[str] = []
        self.cells: list[str] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "section":
            self.sections.append(values["id"] or "")
        elif tag == "img":
            self.images.append(values["src"] or "")
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.cells.append(" ".join(" ".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def read_page(folder: Path) -> Page:
    page = Page()
    page.feed((folder / "report.html").read_text(encoding="utf-8"))
    return page


def test_run_eval_scores_once_and_reports_both_policies(tmp_path: Path) -> None:
    data = LabelledData("hand.jsonl", list(ITEMS))
    scorer = FakeScorer({i.id: s for i, s in CASE})
    run_eval(data, scorer, [POLICY, BLOCK_ALL], tmp_path, batch_size=100, progress=False)
    assert scorer.calls == 1  # one scoring, both policies decide on it

    on_disk: dict[str, Any] = json.loads((tmp_path / "report.json").read_text())
    assert [p["policy"]["name"] for p in on_disk["policies"]] == ["hand", "block-all"]
    assert on_disk["policy"]["name"] == "hand" and on_disk["items"] == len(CASE)
    assert on_disk["policies"][1]["headline"]["harmless_blocked"] == {"count": 1, "out_of": 1, "rate": 1.0}

    page = read_page(tmp_path)
    assert page.sections == list(HTML_SECTIONS)
    assert sorted(page.images) == ["actions.png", "patterns.png", "reliability.png", "sweep.png"]
    assert all((tmp_path / src).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for src in page.images)
    # the headline table: one column per policy, each figure a rate and its count
    assert page.cells[:3] == ["", "hand", "block-all"]
    harmless = page.cells.index("Harmless items blocked gold joint grade safe, action block (over-blocking)")
    assert page.cells[harmless + 1 : harmless + 3] == ["0.0% 0 of 1 items", "100.0% 1 of 1 items"]
    unsafe = page.cells.index(
        "Unsafe items not blocked gold joint grade unsafe, action allow or review (under-blocking)"
    )
    assert page.cells[unsafe + 1 : unsafe + 3] == ["33.3% 1 of 3 items", "0.0% 0 of 3 items"]
    review = page.cells.index("Borderline items sent to review gold joint grade borderline, action review")
    assert page.cells[review + 1 : review + 3] == ["50.0% 1 of 2 items", "0.0% 0 of 2 items"]
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "<title>Safety policy report: hand vs block-all</title>" in html
    assert '<th colspan="2" class="group">block-all</th>' in html  # per-pattern columns grouped by policy


def test_single_policy_page_has_the_headline_first(tmp_path: Path) -> None:
    write_report(compute_report(ITEMS, SCORES, [POLICY]), tmp_path)
    page = read_page(tmp_path)
    assert page.sections == list(HTML_SECTIONS) and page.sections[0] == "headline"
    assert page.cells[:2] == ["", "hand"]
    assert "50.0% 1 of 2 items" in page.cells
    assert "hand vs" not in (tmp_path / "report.html").read_text(encoding="utf-8")


def eval_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_eval_parsers(parser.add_subparsers(dest="command"))
    return parser.parse_args(list(argv))


def test_cli_eval_with_two_policies(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data.jsonl"
    data.write_text(
        "".join(
            json.dumps({"id": i.id, "text": "t", "text_grade": i.text_grade, "joint_grade": i.joint_grade})
            + "\n"
            for i in ITEMS
        )
    )
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "hand.yaml").write_text(json.dumps(POLICY.model_dump(mode="json")))
    block_all = tmp_path / "elsewhere" / "block-all.yaml"  # a .yaml path beside a name in --policies
    block_all.parent.mkdir()
    block_all.write_text("joint: {borderline: 0.0, unsafe: 0.0}\n")
    scorer = FakeScorer({i.id: s for i, s in CASE})
    common = ["--data", str(data), "--policies", str(tmp_path / "policies"), "--no-progress"]

    args = eval_args(
        "eval", *common, "--policy", "hand", "--policy", str(block_all), "--out", str(tmp_path / "out")
    )
    assert cli_eval(args, local_scorer=lambda _: scorer) == 0
    assert scorer.calls == 1
    captured = capsys.readouterr()
    assert "Policies hand (" in captured.err
    lines = captured.out.splitlines()
    assert lines[1].startswith("hand: harmless blocked 0 of 1 (0.0%)  unsafe not blocked 1 of 3 (33.3%)")
    assert lines[2].startswith(
        "block-all: harmless blocked 1 of 1 (100.0%)  unsafe not blocked 0 of 3 (0.0%)"
    )
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert [p["policy"]["name"] for p in report["policies"]] == ["hand", "block-all"]

    twice = eval_args("eval", *common, "--policy", "hand", "--policy", "hand", "--out", str(tmp_path / "x"))
    assert cli_eval(twice, local_scorer=lambda _: scorer) == 1
    assert "given twice" in capsys.readouterr().err

    two = ["--policy", "hand", "--policy", "default"]
    tune = eval_args("tune", *common, *two, "--max-under-block", "5%", "--out", str(tmp_path / "t.yaml"))
    assert cli_tune(tune, local_scorer=lambda _: scorer) == 1
    assert capsys.readouterr().err.strip().startswith("error: tune starts from one --policy")


def test_eval_compares_a_builtin_and_a_yaml_policy_on_the_test_bundle(
    test_bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    labelled = write_labelled_jsonl(tmp_path / "labelled")
    strict = tmp_path / "strict.yaml"
    strict.write_text("joint: {borderline: 0.3, unsafe: 0.2}\n")
    out = tmp_path / "report"
    args = ["eval", "--data", str(labelled), "--model", str(test_bundle), "--device", "cpu", "--no-progress"]
    assert main([*args, "--policy", "default", "--policy", str(strict), "--out", str(out)]) == 0
    assert "report.html" in capsys.readouterr().out
    report = json.loads((out / "report.json").read_text())
    assert [p["policy"]["name"] for p in report["policies"]] == ["default", "strict"]
    assert report["policies"][1]["policy"]["joint"] == {"borderline": 0.3, "unsafe": 0.2}
    for entry in report["policies"]:
        assert set(entry["headline"]) == {"harmless_blocked", "unsafe_not_blocked", "borderline_to_review"}
        assert sum(f["out_of"] for f in entry["headline"].values()) == report["items"]  # every item graded
    page = read_page(out)
    assert page.sections == list(HTML_SECTIONS)
    assert page.cells[:3] == ["", "default", "strict"]
