"""The quantisation bench runs and shows the shipped int8 graph batch-invariant beside the per-tensor one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loadtests import quantization
from service.settings import SHIPPED_MODEL_DIR

pytestmark = pytest.mark.slow  # exports fp32 and quantises it again (about a minute)


@pytest.mark.skipif(not (SHIPPED_MODEL_DIR / "checkpoint.pt").exists(), reason="no shipped bundle")
def test_the_bench_prints_every_candidate_side_by_side(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "quantization.json"
    assert quantization.main(["--seconds", "0.05", "--every", "40", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    figures = json.loads(out.read_text())["candidates"]
    assert set(figures) == {"fp32", "int8 per tensor", "int8 per row (shipped)"}
    assert all(name in printed for name in figures)
    for f in figures.values():
        assert set(f["items_per_s"]) == {"1", "8", "32"} and all(v > 0 for v in f["items_per_s"].values())
    assert figures["int8 per row (shipped)"]["max_move_alone_vs_batch"] <= 1e-5
    assert figures["int8 per tensor"]["max_move_alone_vs_batch"] > 1e-3  # what issue 22 removed
