"""The OCR bench on small pictures and the test bundle, a few seconds: the JSON has its keys (not values)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from loadtests import ocr as bench
from loadtests.pictures import dense_page
from tests.service.text_images import needs_font, needs_rapidocr

pytestmark = [needs_rapidocr, needs_font, pytest.mark.slow]

TINY = bench.Profile(repeats=1, clients=2, warmup_s=0.5, saturation_s=3.0, requests=4)


@pytest.fixture
def small_kinds(monkeypatch: pytest.MonkeyPatch) -> None:
    """One picture of each kind, the page a few lines long."""
    kinds = {kind: makers[:1] for kind, makers in bench.KINDS.items()}
    kinds["dense_page"] = (lambda: dense_page(4).crop((0, 0, 1240, 200)),)
    kinds["blank"] = (lambda: Image.new("RGB", (64, 64), "white"),)
    monkeypatch.setattr(bench, "KINDS", kinds)
    monkeypatch.setattr(bench, "QUICK", TINY)


@pytest.mark.usefixtures("small_kinds")
def test_ocr_bench_writes_every_key(test_bundle: Path, tmp_path: Path) -> None:
    out = tmp_path / "ocr.json"
    assert bench.main(["--quick", "--model", str(test_bundle), "--json", str(out)]) == 0
    results = json.loads(out.read_text())
    assert {"hardware", "settings", "ocr_ms", "throughput", "bench_seconds"} <= results.keys()
    assert {"cpu_all", "cpu_gated"} <= results["ocr_ms"].keys()
    for rows in results["ocr_ms"].values():
        assert rows.keys() == bench.KINDS.keys()
        assert all({"typical_ms", "worst_ms", "chars"} == row.keys() for row in rows.values())
    for rows in results["throughput"].values():
        assert rows.keys() == {"off", "auto", "on"} and rows["off"]["vs_off"] == 1.0
        assert all(row["errors"] == 0 and row["throughput"] > 0 for row in rows.values())
