"""Benchmark: the service against raw ONNX Runtime and a naive endpoint, on the same model and machine.

    python loadtests/bench.py [--quick] [--json OUT] [--model DIR]

One run measures, in order: raw in-process throughput per batch size (ready-made inputs: the ceiling),
the load generator against a trivial endpoint (its headroom), the unloaded single-request overhead,
the service at saturation (closed loop, 32 clients, realistic JSON requests), open-loop latency at 50%
and 80% of that rate, the naive one-request-per-call endpoint at the same concurrency, and a sweep of
how cost grows with text length and image size (batch size: the raw table). Servers run in their
own processes; this process is the load generator (asyncio, raw HTTP/1.1 keep-alive). Method and
figures: docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

if __package__ in (None, ""):  # run as `python loadtests/bench.py`: make the repo importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from loadtests import loadgen, servers, workload  # noqa: E402
from loadtests.loadgen import LoadResult  # noqa: E402
from service.serving.engine import CUDA_PROVIDER  # noqa: E402
from service.settings import SHIPPED_MODEL_DIR  # noqa: E402

CLASSIFY = "/v1/classify"
T = TypeVar("T")


@dataclass(frozen=True)
class Profile:
    """How long each phase runs (seconds unless named otherwise)."""

    raw_s: float = 3.0  # per batch size
    batch_sizes: tuple[int, ...] = (1, 4, 8, 16, 32, 64)
    clients: int = 32  # closed-loop concurrency for saturation (service and naive)
    warmup_s: float = 3.0  # closed-loop warm-up, not counted
    saturation_s: float = 20.0
    open_loop_s: float = 20.0  # per load level
    trivial_s: float = 5.0
    single_s: float = 5.0  # unloaded requests one after another
    sweep_s: float = 1.5  # per sweep point
    requests: int = 96  # distinct request bodies cycled through


FULL = Profile()
QUICK = Profile(
    raw_s=1.5,
    batch_sizes=(1, 8, 32),
    warmup_s=2.0,
    saturation_s=10.0,
    open_loop_s=10.0,
    trivial_s=3.0,
    single_s=3.0,
    sweep_s=0.8,
    requests=48,
)


def timed(fn: Callable[[T], object], inputs: Sequence[T], seconds: float, min_calls: int = 3) -> float:
    """Call fn on inputs in turn for about `seconds` (at least min_calls times); return the median seconds."""
    times: list[float] = []
    end = time.perf_counter() + seconds
    while len(times) < min_calls or time.perf_counter() < end:
        value = inputs[len(times) % len(inputs)]
        start = time.perf_counter()
        fn(value)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


class InProcess:
    """The service's own engine and preprocessor, loaded in this process (same settings, same file)."""

    def __init__(self, model_dir: Path) -> None:
        from service.serving.bundle import Bundle
        from service.serving.engine import OnnxEngine
        from service.serving.inputs import Preprocessor, configure_pillow
        from service.settings import Settings

        settings = Settings(model_dir=model_dir)
        configure_pillow(settings.max_image_pixels)
        self.bundle = Bundle.load(model_dir)
        self.engine = OnnxEngine.load(self.bundle, settings)
        self.preprocessor = Preprocessor(self.bundle, settings)
        self.absent_ids = self.preprocessor.text.absent_ids()
        self.image_size = self.bundle.manifest.image.size
        self.workers = max(settings.inference_workers, self.engine.info.sessions)

    def batch(self, items: Sequence[Any]) -> Any:
        from service.serving.batching import collate

        return collate(items, self.image_size, self.absent_ids)


def measure_raw(model: InProcess, calls: Sequence[workload.ClassifyCall], profile: Profile) -> dict[str, Any]:
    """Items/s of engine.run per batch size on the workload's own prepared items (padding as served),
    from as many threads as the service runs batches at once (SAFETY_INFERENCE_WORKERS)."""
    items = [model.preprocessor.prepare(c.image, c.text) for c in calls]
    by_size: dict[str, dict[str, float]] = {}
    for size in profile.batch_sizes:
        batches = [
            model.batch([items[(i + j) % len(items)] for j in range(size)])
            for i in range(0, len(items), size)
        ]
        model.engine.warmup([size])
        cpu_s, wall_s = time.process_time(), time.perf_counter()
        batches_per_s = _throughput(model.engine.run, batches, profile.raw_s, model.workers)
        cores = (time.process_time() - cpu_s) / (time.perf_counter() - wall_s)  # every thread of this process
        by_size[str(size)] = {
            "ms_per_batch": model.workers / batches_per_s * 1000,  # wall time of one batch
            "items_per_s": size * batches_per_s,
            "cpu_ms_per_item": cores / (size * batches_per_s) * 1000,
        }
    best = max(by_size, key=lambda s: by_size[s]["items_per_s"])
    return {
        "raw_throughput": by_size[best]["items_per_s"],
        "raw_best_batch_size": int(best),
        "raw_workers": model.workers,
        "raw_by_batch_size": by_size,
    }


def _throughput(fn: Callable[[T], object], inputs: Sequence[T], seconds: float, workers: int) -> float:
    """Calls per second of fn on inputs in turn, from `workers` threads at once for about `seconds`."""
    if workers == 1:
        return 1 / timed(fn, inputs, seconds)
    end = time.perf_counter() + seconds

    def loop(offset: int) -> int:
        calls = 0
        while time.perf_counter() < end:
            fn(inputs[(offset + calls) % len(inputs)])
            calls += 1
        return calls

    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        calls = sum(pool.map(loop, range(workers)))
    return calls / (time.perf_counter() - start)


def measure_sweep(model: InProcess, profile: Profile) -> dict[str, Any]:
    """How cost grows with batch size (engine), text length (tokenize + engine) and image size (decode)."""
    import random

    from service.serving.engine import dummy_batch

    rng = random.Random(1)
    size = max(profile.batch_sizes)
    max_tokens = model.bundle.manifest.text.max_tokens
    by_tokens = {}
    for words in workload.TEXT_WORDS:
        text = workload.text(rng, words)
        ids, _ = model.preprocessor.text.encode(text)
        batch = dummy_batch(size, model.image_size, len(ids))
        run = timed(model.engine.run, [batch], profile.sweep_s)
        tokenize = timed(model.preprocessor.text.encode, [text], profile.sweep_s / 4)
        by_tokens[str(len(ids))] = {
            "words": words,
            "tokenize_ms": tokenize * 1000,
            f"engine_ms_per_item_at_batch_{size}": run / size * 1000,
        }
    by_image = {}
    for width, height in (*workload.IMAGE_SIZES, (4000, 3000)):
        data = workload.jpeg(rng, width, height)
        decode = timed(lambda d: model.preprocessor.prepare(d, None), [data], profile.sweep_s / 2)
        by_image[f"{width}x{height}"] = {"jpeg_kb": len(data) / 1024, "decode_resize_ms": decode * 1000}
    return {"max_tokens": max_tokens, "by_text_tokens": by_tokens, "by_image_size": by_image}


def measure_single(model: InProcess, server: servers.Server, profile: Profile) -> dict[str, float]:
    """Unloaded latency of one 640x480 JPEG + 15-word request over HTTP vs the same work in-process."""
    import random

    rng = random.Random(2)
    call = workload.ClassifyCall(workload.jpeg(rng, 640, 480), workload.text(rng, 15))
    request = loadgen.build_request("127.0.0.1", server.port, CLASSIFY, call.body())
    http = asyncio.run(loadgen.closed_loop("127.0.0.1", server.port, [request], 1, profile.single_s, 0.3))
    prepare = timed(lambda c: model.preprocessor.prepare(c.image, c.text), [call], profile.single_s / 4)
    batch = model.batch([model.preprocessor.prepare(call.image, call.text)])
    infer = timed(model.engine.run, [batch], profile.single_s / 4)
    in_process_ms = (prepare + infer) * 1000
    return {
        "single_request_p50_ms": http.percentile_ms(50),
        "single_request_in_process_ms": in_process_ms,
        "single_request_overhead_ms": http.percentile_ms(50) - in_process_ms,
    }


def saturate(server: servers.Server, requests: Sequence[bytes], profile: Profile) -> LoadResult:
    """Closed loop at `profile.clients` connections: the server's rate at saturation."""
    return asyncio.run(
        loadgen.closed_loop(
            "127.0.0.1", server.port, requests, profile.clients, profile.saturation_s, profile.warmup_s
        )
    )


def saturate_with_cpu(
    server: servers.Server, requests: Sequence[bytes], profile: Profile
) -> tuple[LoadResult, float]:
    """`saturate`, and the cores the server's process used meanwhile (warm-up included)."""
    import psutil

    process = psutil.Process(server.pid)
    before = sum(process.cpu_times()[:2])
    result = saturate(server, requests, profile)
    return result, (sum(process.cpu_times()[:2]) - before) / (result.elapsed_s + profile.warmup_s)


def _load_figures(result: LoadResult) -> dict[str, Any]:
    return {
        "throughput": result.throughput,
        "p50_ms": result.percentile_ms(50),
        "p99_ms": result.percentile_ms(99),
        "ok": result.ok,
        "errors": result.errors,
        "statuses": {str(k): v for k, v in sorted(result.statuses.items())},
        "loadgen_cpu_share": result.loadgen_cpu_share,
    }


def run(model_dir: Path, profile: Profile, *, sweep: bool = True) -> dict[str, Any]:
    """Run every phase; return the figures (the keys docs/performance.md describes)."""

    calls = workload.calls(profile.requests)
    model = InProcess(model_dir)
    info = model.engine.info
    results: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "hardware": _hardware(),
        "model": {
            "dir": str(model_dir),
            "name": model.bundle.manifest.name,
            "version": model.bundle.manifest.version,
            "variant": info.variant,
            "provider": info.provider,
            "image_size": model.image_size,
            "max_tokens": model.bundle.manifest.text.max_tokens,
        },
        "profile": profile.__dict__ | {"batch_sizes": list(profile.batch_sizes)},
        "workload": {
            "requests": len(calls),
            "with_image": sum(c.image is not None for c in calls),
            "with_text": sum(c.text is not None for c in calls),
            "mean_body_kb": statistics.mean(len(c.body()) for c in calls) / 1024,
        },
    }
    results |= measure_raw(model, calls, profile)

    with servers.running("trivial") as trivial:
        bodies = [loadgen.build_request("127.0.0.1", trivial.port, CLASSIFY, c.body()) for c in calls]
        quick = replace(profile, saturation_s=profile.trivial_s, warmup_s=0.5)
        trivial_load = saturate(trivial, bodies, quick)

    with servers.running("service", model_dir) as service:
        bodies = [loadgen.build_request("127.0.0.1", service.port, CLASSIFY, c.body()) for c in calls]
        results |= measure_single(model, service, profile)
        saturated, server_cpu_share = saturate_with_cpu(service, bodies, profile)
        rate = saturated.throughput
        levels = {}
        for share in (50, 80):
            levels[share] = asyncio.run(
                loadgen.open_loop("127.0.0.1", service.port, bodies, rate * share / 100, profile.open_loop_s)
            )
        results["peak_rss_mb"] = servers.peak_rss_bytes(service.pid) / 2**20
        if info.provider == CUDA_PROVIDER:  # what the service holds on the GPU after the load
            results["gpu_memory_mb"] = servers.gpu_memory_mb(service.pid)

    with servers.running("naive", model_dir) as naive:
        bodies = [loadgen.build_request("127.0.0.1", naive.port, CLASSIFY, c.body()) for c in calls]
        naive_load, naive_cpu_share = saturate_with_cpu(naive, bodies, profile)
        results["naive_peak_rss_mb"] = servers.peak_rss_bytes(naive.pid) / 2**20

    results |= {
        "service_throughput": rate,
        "efficiency": rate / results["raw_throughput"],
        "naive_throughput": naive_load.throughput,
        "batching_gain": rate / naive_load.throughput if naive_load.throughput else float("nan"),
        "p50_ms_at_saturation": saturated.percentile_ms(50),
        "p99_ms_at_saturation": saturated.percentile_ms(99),
        "p50_ms_at_50pct": levels[50].percentile_ms(50),
        "p99_ms_at_50pct": levels[50].percentile_ms(99),
        "p50_ms_at_80pct": levels[80].percentile_ms(50),
        "p99_ms_at_80pct": levels[80].percentile_ms(99),
        "service_cpu_share": server_cpu_share,
        "naive_cpu_share": naive_cpu_share,
        "loadgen": {
            "trivial_throughput": trivial_load.throughput,
            "headroom": trivial_load.throughput / rate if rate else float("nan"),
            "cpu_share_at_saturation": saturated.loadgen_cpu_share,
            "open_loop_lagging_starts": {str(k): v.lagging for k, v in levels.items()},
        },
        "phases": {
            "trivial": _load_figures(trivial_load),
            "service_saturation": _load_figures(saturated),
            "service_open_50pct": _load_figures(levels[50]),
            "service_open_80pct": _load_figures(levels[80]),
            "naive_saturation": _load_figures(naive_load),
        },
    }
    if info.provider != CUDA_PROVIDER:  # on a GPU the model's cost is not CPU time
        results |= ceilings(naive_cpu_share / naive_load.throughput * 1000, results["raw_by_batch_size"])
    if sweep:
        results["sweep"] = measure_sweep(model, profile)
    return results


def ceilings(naive_cpu_ms: float, raw_by_batch_size: dict[str, dict[str, float]]) -> dict[str, float]:
    """The most batching can give on a CPU that the service and the naive endpoint both saturate.

    A naive request costs the model's run at batch 1 plus the rest (HTTP, JSON, decoding, tokenizing).
    Batching can only make the model's part cheaper, at best its cost per item at its best batch size,
    and the rest stays. So the batching gain is at most (rest + batch-1 cost) / (rest + best cost), and
    the efficiency (against raw, which has no rest) at most best cost / (rest + best cost), in CPU time.
    """
    per_item = {int(size): row["cpu_ms_per_item"] for size, row in raw_by_batch_size.items()}
    single, best = per_item[min(per_item)], min(per_item.values())
    rest = max(naive_cpu_ms - single, 0.0)
    return {
        "batching_gain_ceiling": (rest + single) / (rest + best),
        "efficiency_ceiling": best / (rest + best),
    }


def _hardware() -> dict[str, Any]:
    import onnxruntime
    import psutil

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "logical_cpus": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "memory_gb": psutil.virtual_memory().total / 2**30,
        "onnxruntime": onnxruntime.__version__,
        "python": platform.python_version(),
    }


def table(results: dict[str, Any]) -> str:
    """Return the headline figures and the sweep as plain-text tables."""
    gen = results["loadgen"]
    rows = [
        (f"raw_throughput (items/s, batch {results['raw_best_batch_size']})", results["raw_throughput"]),
        (
            f"service_throughput (req/s, {results['profile']['clients']} clients)",
            results["service_throughput"],
        ),
        ("efficiency (service / raw)", results["efficiency"]),
        ("efficiency_ceiling (CPU: perfect batches)", results.get("efficiency_ceiling", float("nan"))),
        ("naive_throughput (req/s)", results["naive_throughput"]),
        ("batching_gain (service / naive)", results["batching_gain"]),
        ("batching_gain_ceiling (CPU: perfect batches)", results.get("batching_gain_ceiling", float("nan"))),
        ("p50_ms_at_50pct", results["p50_ms_at_50pct"]),
        ("p99_ms_at_50pct", results["p99_ms_at_50pct"]),
        ("p50_ms_at_80pct", results["p50_ms_at_80pct"]),
        ("p99_ms_at_80pct", results["p99_ms_at_80pct"]),
        ("single_request_overhead_ms", results["single_request_overhead_ms"]),
        ("peak_rss_mb (service)", results["peak_rss_mb"]),
        ("loadgen: trivial endpoint (req/s)", gen["trivial_throughput"]),
        ("loadgen: headroom (trivial / service)", gen["headroom"]),
        ("loadgen: CPU share at saturation (cores)", gen["cpu_share_at_saturation"]),
    ]
    if results.get("gpu_memory_mb") is not None:
        rows.append(("gpu_memory_mb (service)", results["gpu_memory_mb"]))
    lines = [f"{name:<44} {value:>10.2f}" for name, value in rows]
    lines += ["", f"{'batch':>6} {'ms/batch':>10} {'items/s':>10} {'CPU ms/item':>12}"]
    lines += [
        f"{size:>6} {row['ms_per_batch']:>10.2f} {row['items_per_s']:>10.1f} {row['cpu_ms_per_item']:>12.2f}"
        for size, row in results["raw_by_batch_size"].items()
    ]
    if sweep := results.get("sweep"):
        lines += ["", f"{'tokens':>6} {'words':>6} {'tokenize ms':>12} {'engine ms/item':>15}"]
        for tokens, row in sweep["by_text_tokens"].items():
            engine_ms = next(v for k, v in row.items() if k.startswith("engine_ms"))
            lines.append(f"{tokens:>6} {row['words']:>6} {row['tokenize_ms']:>12.3f} {engine_ms:>15.3f}")
        lines += ["", f"{'image':>10} {'JPEG KB':>8} {'decode+resize ms':>17}"]
        for size, row in sweep["by_image_size"].items():
            lines.append(f"{size:>10} {row['jpeg_kb']:>8.0f} {row['decode_resize_ms']:>17.2f}")
    return "\n".join(lines)


def cli_parser(prog: str, doc: str, quick: str) -> argparse.ArgumentParser:
    """The options every bench script takes: --quick (`quick` says what it shortens), --json, --model."""
    parser = argparse.ArgumentParser(prog=prog, description=doc.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help=quick)
    parser.add_argument("--json", type=Path, dest="json_out", help="write the figures here")
    parser.add_argument(
        "--model", type=Path, default=SHIPPED_MODEL_DIR, help="model bundle (default: the shipped one)"
    )
    return parser


def report(results: dict[str, Any], started: float, json_out: Path | None, text: str) -> int:
    """Add the run's seconds (since `started`), write the figures to `json_out` if given, print `text`."""
    results["bench_seconds"] = time.perf_counter() - started
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(results, indent=2) + "\n")
    print(text)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = cli_parser("python loadtests/bench.py", __doc__, "short phases (under 3 minutes on 2 cores)")
    parser.add_argument("--no-sweep", action="store_true", help="skip the batch/text/image cost sweep")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    results = run(args.model, QUICK if args.quick else FULL, sweep=not args.no_sweep)
    return report(results, started, args.json_out, table(results))


if __name__ == "__main__":
    sys.exit(main())
