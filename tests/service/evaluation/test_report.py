"""The HTML report: its sections, and images that point at PNGs that exist."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import numpy as np

from service.evaluation.labelled_data import LabelledItem
from service.evaluation.metrics import compute_metrics
from service.evaluation.report import HTML_SECTIONS, pareto_frontier, write_report
from service.policy.rules import ModelScores, Policy
from service.taxonomy import GRADES, VALID_PATTERNS


class Structure(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.sections: list[str] = []
        self.images: list[str] = []
        self.cells: list[str] = []
        self._in_cell = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "section":
            self.sections.append(values["id"] or "")
        if tag == "img":
            self.images.append(values["src"] or "")
        self._in_cell = tag == "td"

    def handle_data(self, data: str) -> None:
        if self._in_cell:
            self.cells.append(data)


def sample_report() -> dict[str, object]:
    rng = np.random.default_rng(0)
    items, scores = [], []
    for k in range(300):
        image, text = rng.integers(0, 3, size=2)
        joint = max(image, text, rng.integers(0, 3))
        items.append(LabelledItem(f"i{k}", None, "t", GRADES[image], GRADES[text], GRADES[joint], ("gore",)))
        triples = [
            tuple(float(x) for x in rng.dirichlet([1, 1, 1]) * 0.5 + np.eye(3)[g] * 0.5)
            for g in (image, text, joint)
        ]
        scores.append(ModelScores(triples[0], triples[1], triples[2], {"gore": float(rng.random())}))  # type: ignore[arg-type]
    return compute_metrics(items, scores, Policy(name="default"))


def test_html_report_structure(tmp_path: Path) -> None:
    report = sample_report()
    written = write_report(report, tmp_path)
    assert {p.name for p in written} == {
        "report.json",
        "report.html",
        "reliability.png",
        "sweep.png",
        "patterns.png",
        "actions.png",
    }
    parsed = Structure()
    parsed.feed((tmp_path / "report.html").read_text(encoding="utf-8"))
    assert parsed.sections == list(HTML_SECTIONS)
    assert sorted(parsed.images) == ["actions.png", "patterns.png", "reliability.png", "sweep.png"]
    for src in parsed.images:
        assert (tmp_path / src).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert all(p in parsed.cells for p in VALID_PATTERNS)  # all 17 patterns are in the table


def test_report_json_has_no_nan(tmp_path: Path) -> None:
    report = sample_report()
    report["extra"] = float("nan")
    write_report(report, tmp_path)
    text = (tmp_path / "report.json").read_text()
    assert "NaN" not in text
    assert json.loads(text)["extra"] is None


def test_pareto_frontier() -> None:
    under = [0.0, 0.1, 0.1, 0.2, 0.3]
    over = [0.9, 0.5, 0.6, 0.5, 0.1]
    assert pareto_frontier(under, over) == [(0.0, 0.9), (0.1, 0.5), (0.3, 0.1)]
