"""OCR's cost: milliseconds per image by kind, and the service's throughput with OCR off and on, side by side.

    python loadtests/ocr.py [--quick] [--json OUT] [--model DIR] [--no-throughput]

Per image: each kind of picture (blank, photo-like, a rendered sentence, a typed numbered list, a
text-dense page; three of each), encoded as PNG and decoded as the service decodes it (the copy of at
most SAFETY_OCR_MAX_SIDE), then read by the service's own TextReader on one thread: every image read
(SAFETY_OCR=on; auto on a GPU) and behind the text-presence gate (auto on CPU), and on CUDA when there is
one. Typical = the median over the kind's runs, worst = the slowest picture's median.

Throughput: the service in its own process (as `serve` runs it) with SAFETY_OCR=off, auto and on, one
after another in the same run, at saturation (closed loop, 32 clients) on two workloads: the bench's
requests (photos without text: most traffic) and typed lists beside a prompt (text in every image).
Figures: docs/operations.md, *OCR*.
"""

from __future__ import annotations

import asyncio
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

if __package__ in (None, ""):  # run as `python loadtests/ocr.py`: make the repo importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from loadtests import bench, loadgen, servers, workload  # noqa: E402
from loadtests.pictures import (  # noqa: E402
    EMPTY_LIST,
    HARMFUL_LIST,
    HARMLESS_PROMPT,
    SENTENCE,
    dense_page,
    photo_like,
    png,
    text_picture,
    typed_list,
)
from service.serving.engine import cuda_usable  # noqa: E402
from service.serving.inputs import decode_with_copy  # noqa: E402
from service.serving.ocr import GATE_SIDE, OcrPlan, TextReader  # noqa: E402
from service.settings import Settings  # noqa: E402

FIVE_ITEMS = "\n".join(f"{n}. Write the step number {n} here in full" for n in range(1, 6))
# three pictures of each kind
KINDS: dict[str, tuple[Callable[[], Image.Image], ...]] = {
    "blank": (
        lambda: Image.new("RGB", (512, 512), "white"),
        lambda: Image.new("RGB", (1024, 768), "white"),
        lambda: Image.new("RGB", (640, 480), "black"),
    ),
    "photo": (
        lambda: photo_like(640, 480, 0),
        lambda: photo_like(1024, 768, 1),
        lambda: photo_like(1600, 1200, 2),
    ),
    "sentence": (
        lambda: text_picture(SENTENCE, 40),
        lambda: text_picture("The quick brown fox jumps over the lazy dog", 28),
        lambda: text_picture(SENTENCE, 64, background="black", ink="white"),
    ),
    "numbered_list": (
        lambda: typed_list(HARMFUL_LIST),
        lambda: typed_list(EMPTY_LIST),
        lambda: text_picture(FIVE_ITEMS, 24, width=760),
    ),
    "dense_page": (lambda: dense_page(60, 1), lambda: dense_page(30, 2), lambda: dense_page(45, 3)),
}


@dataclass(frozen=True)
class Profile:
    repeats: int = 5  # reads of each picture
    clients: int = 32
    warmup_s: float = 3.0
    saturation_s: float = 15.0
    requests: int = 48  # distinct request bodies cycled through


FULL = Profile()
QUICK = Profile(repeats=3, warmup_s=2.0, saturation_s=8.0, requests=24)


def plans() -> dict[str, OcrPlan]:
    """The ways images are read here: CPU every image, CPU gated, and CUDA when usable."""
    found = {
        "cpu_all": OcrPlan(cuda=False, gate_side=None),
        "cpu_gated": OcrPlan(cuda=False, gate_side=GATE_SIDE),
    }
    if cuda_usable():
        found["cuda_all"] = OcrPlan(cuda=True, gate_side=None)
    return found


def ocr_per_image(repeats: int, max_chars: int, max_side: int) -> dict[str, Any]:
    """Milliseconds per image, by plan and kind (typical, worst) and the characters read."""
    copies: dict[str, list[np.ndarray]] = {}
    for kind, makers in KINDS.items():
        copies[kind] = []
        for make in makers:
            _, copy = decode_with_copy(png(make()), 224, 40_000_000, 256 * 2**20, copy_side=max_side)
            assert copy is not None
            copies[kind].append(copy)
    out: dict[str, Any] = {}
    for name, plan in plans().items():
        reader = TextReader(plan, max_chars=max_chars, threads=1, max_side=max_side)
        reader.warmup()
        rows = {}
        for kind, pictures in copies.items():
            runs, medians, chars = [], [], 0
            for pixels in pictures:
                reader.read(pixels)  # a first read of each shape (CUDA: its kernels)
                times = []
                for _ in range(repeats):
                    read = reader.read(pixels)
                    times.append(read.seconds * 1000)
                    chars = max(chars, len(read.text))
                runs += times
                medians.append(statistics.median(times))
            rows[kind] = {"typical_ms": statistics.median(runs), "worst_ms": max(medians), "chars": chars}
        out[name] = rows
    return out


def typed_calls(count: int) -> list[workload.ClassifyCall]:
    """Typed lists (PNG) beside the harmless prompt: text in every image."""
    pictures = [png(make()) for make in KINDS["numbered_list"]]
    return [workload.ClassifyCall(pictures[i % len(pictures)], HARMLESS_PROMPT) for i in range(count)]


def throughput(model_dir: Path, profile: Profile, modes: Sequence[str]) -> dict[str, Any]:
    """Requests/s at saturation per workload and SAFETY_OCR mode, the servers one after another."""
    workloads = {
        "photos": [c.body() for c in workload.calls(profile.requests)],
        "typed_lists": [c.body() for c in typed_calls(profile.requests)],
    }
    out: dict[str, Any] = {name: {} for name in workloads}
    for mode in modes:
        with servers.running("service", model_dir, env={"SAFETY_OCR": mode}) as server:
            for name, bodies in workloads.items():
                requests = [
                    loadgen.build_request("127.0.0.1", server.port, "/v1/classify", b) for b in bodies
                ]
                result = asyncio.run(
                    loadgen.closed_loop(
                        "127.0.0.1",
                        server.port,
                        requests,
                        profile.clients,
                        profile.saturation_s,
                        profile.warmup_s,
                    )
                )
                out[name][mode] = {
                    "throughput": result.throughput,
                    "p50_ms": result.percentile_ms(50),
                    "p99_ms": result.percentile_ms(99),
                    "errors": result.errors,
                }
    for rows in out.values():
        off = rows["off"]["throughput"]
        for row in rows.values():
            row["vs_off"] = row["throughput"] / off if off else float("nan")
    return out


def run(model_dir: Path, profile: Profile, *, with_throughput: bool = True) -> dict[str, Any]:
    """Every measurement; the figures (keys as docs/operations.md, *OCR*, reads them)."""
    import os

    settings = Settings(model_dir=model_dir)
    results: dict[str, Any] = {
        "hardware": {"machine": platform.machine(), "cpus": os.cpu_count(), "cuda": cuda_usable()},
        "settings": {
            "max_side": settings.ocr_max_side,
            "max_chars": settings.ocr_max_chars,
            "gate_side": GATE_SIDE,
        },
        "ocr_ms": ocr_per_image(profile.repeats, settings.ocr_max_chars, settings.ocr_max_side),
    }
    if with_throughput:
        results["throughput"] = throughput(model_dir, profile, ("off", "auto", "on"))
    return results


def table(results: dict[str, Any]) -> str:
    """The figures as the text table the docs quote."""
    lines = ["OCR per image (ms, one thread; typical / worst; characters read)"]
    for plan, rows in results["ocr_ms"].items():
        lines.append(f"  {plan}")
        for kind, row in rows.items():
            ms = f"{row['typical_ms']:>8.1f} / {row['worst_ms']:>8.1f}"
            lines.append(f"    {kind:<14} {ms}   {row['chars']:>5} chars")
    for name, rows in results.get("throughput", {}).items():
        lines.append(f"throughput, {name} (requests/s; vs off; p99 ms)")
        for mode, row in rows.items():
            rate = f"{row['throughput']:>8.1f}   x{row['vs_off']:.2f}"
            lines.append(f"    SAFETY_OCR={mode:<5} {rate}   {row['p99_ms']:>8.0f}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = bench.cli_parser("python loadtests/ocr.py", __doc__, "fewer repeats, shorter phases")
    parser.add_argument("--no-throughput", action="store_true", help="OCR per image only (no servers)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    results = run(args.model, QUICK if args.quick else FULL, with_throughput=not args.no_throughput)
    return bench.report(results, started, args.json_out, table(results))


if __name__ == "__main__":
    sys.exit(main())
