"""The bench's building blocks on the test bundle, for a few seconds: the JSON has its keys (not values)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from loadtests import bench, loadgen, servers, workload

TINY = bench.Profile(
    raw_s=0.1,
    batch_sizes=(1, 4),
    clients=4,
    warmup_s=0.1,
    saturation_s=0.5,
    open_loop_s=0.5,
    trivial_s=0.3,
    single_s=0.3,
    sweep_s=0.05,
    requests=6,
)
KEYS = (
    "raw_throughput",
    "service_throughput",
    "efficiency",
    "naive_throughput",
    "batching_gain",
    "batching_gain_ceiling",
    "efficiency_ceiling",
    "p50_ms_at_50pct",
    "p99_ms_at_50pct",
    "p99_ms_at_80pct",
    "single_request_overhead_ms",
    "peak_rss_mb",
    "loadgen",
    "sweep",
    "date",
    "hardware",
)


def test_workload_mixes_images_and_texts_of_varied_sizes() -> None:
    calls = workload.calls(20)
    assert any(c.image and c.text for c in calls)
    assert any(c.image is None for c in calls) and any(c.text is None for c in calls)
    assert len({len(c.image) for c in calls if c.image}) > 3
    assert len({len(c.text.split()) for c in calls if c.text}) > 3
    assert calls == workload.calls(20)  # seeded


@pytest.mark.slow
def test_open_loop_counts_latency_from_the_schedule() -> None:
    with servers.running("trivial") as trivial:
        request = loadgen.build_request("127.0.0.1", trivial.port, "/", b"{}")
        result = asyncio.run(loadgen.open_loop("127.0.0.1", trivial.port, [request], 200, 0.5, 8))
    assert result.statuses[200] == result.ok == 100
    assert 0 < result.percentile_ms(50) <= result.percentile_ms(99)


@pytest.mark.slow
def test_bench_writes_every_key(test_bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bench, "QUICK", TINY)
    out = tmp_path / "bench.json"
    assert bench.main(["--quick", "--model", str(test_bundle), "--json", str(out)]) == 0
    results = json.loads(out.read_text())
    assert set(KEYS) <= results.keys()
    assert {"trivial_throughput", "headroom", "cpu_share_at_saturation"} <= results["loadgen"].keys()
    assert {"by_text_tokens", "by_image_size"} <= results["sweep"].keys()


def test_the_ceilings_swap_the_models_batch_1_cost_for_its_best() -> None:
    raw = {"1": {"cpu_ms_per_item": 6.0}, "8": {"cpu_ms_per_item": 4.0}, "32": {"cpu_ms_per_item": 3.0}}
    # a naive request: 2 ms of HTTP, JSON and decoding plus the model's 6 ms at batch 1
    assert bench.ceilings(8.0, raw) == pytest.approx(
        {"batching_gain_ceiling": 8 / 5, "efficiency_ceiling": 3 / 5}
    )
    assert bench.ceilings(5.0, raw) == pytest.approx(
        {"batching_gain_ceiling": 2.0, "efficiency_ceiling": 1.0}
    )


def test_gpu_memory_is_read_per_process_from_nvidia_smi() -> None:
    csv = "4242, 1530\n17, 80000\n4242, 12\n[N/A], [N/A]\n"
    assert servers.process_gpu_memory(csv, 4242) == 1542.0
    assert servers.process_gpu_memory(csv, 99) == 0.0
    assert servers.process_gpu_memory("", 4242) == 0.0
