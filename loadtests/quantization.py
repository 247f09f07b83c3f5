"""The int8 schemes side by side: speed by batch size, agreement with fp32, and batch-invariance.

    python loadtests/quantization.py [--model DIR] [--seconds 3] [--every 4]

From the bundle's checkpoint: fp32 (exported again), int8 with one activation scale per tensor (ONNX
Runtime's dynamic quantisation, the graph before issue 22) and the bundle's own int8 (one scale per
row). Each runs in-process on one thread over every `--every`-th test item, fed as the service feeds
it: items/s at batch 1, 8 and 32 (in the same run, so the ratios hold on a noisy machine), joint-grade
and argmax agreement with fp32 at the bundle's thresholds, and the largest move of any output between
an item scored alone and inside batches of 64 (padded to their longest text).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

if __package__ in (None, ""):  # run as `python loadtests/quantization.py`: make the repo importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from model.data import render_images  # noqa: E402
from model.export import batched_feeds, calibration_feeds, export_fp32, onnx_predict  # noqa: E402
from model.quantize import quantize_int8  # noqa: E402
from model.train import TrainConfig, load_checkpoint, load_samples  # noqa: E402
from service.policy.rules import GradeThresholds  # noqa: E402
from service.policy.vectorised import grade_codes  # noqa: E402
from service.serving.inputs import TextTokenizer  # noqa: E402
from service.settings import SHIPPED_MODEL_DIR  # noqa: E402

BATCH_SIZES = (1, 8, 32)


def one_thread(path: Path) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def items_per_s(
    session: ort.InferenceSession, feeds: Sequence[dict[str, np.ndarray]], seconds: float
) -> float:
    session.run(None, feeds[0])  # warm
    started, items = time.perf_counter(), 0
    while time.perf_counter() - started < seconds:
        for f in feeds:
            session.run(None, f)
            items += len(f["pixels"])
    return items / (time.perf_counter() - started)


def run(model_dir: Path, seconds: float, every: int) -> dict[str, Any]:
    manifest = json.loads((model_dir / "manifest.json").read_text())
    model, ckpt = load_checkpoint(model_dir / "checkpoint.pt")
    cfg = TrainConfig(**ckpt["train_config"])
    splits = load_samples(cfg)
    samples = splits["test"][::every]
    pixels = render_images(samples, model.config.image_size, workers=1).numpy()
    tokenizer = TextTokenizer(model_dir / "tokenizer.json", manifest["text"]["max_tokens"])
    joint = GradeThresholds(**manifest["thresholds"]["joint"])
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "fp32.onnx"
        export_fp32(model, fp32)
        per_tensor = Path(tmp) / "per_tensor.onnx"
        calibration = calibration_feeds(splits["train"], model.config.image_size, tokenizer)
        alpha = manifest["variants"]["int8"].get("smooth_alpha", 0.0)
        quantize_int8(fp32, per_tensor, calibration, alpha, per_row=False)
        candidates = {
            "fp32": fp32,
            "int8 per tensor": per_tensor,
            "int8 per row (shipped)": model_dir / manifest["variants"]["int8"]["file"],
        }
        reference = onnx_predict(one_thread(fp32), samples, pixels, tokenizer)
        for name, path in candidates.items():
            session = one_thread(path)
            scores = onnx_predict(session, samples, pixels, tokenizer)
            alone = onnx_predict(session, samples[:64], pixels[:64], tokenizer, batch=1)
            together = onnx_predict(session, samples[:64], pixels[:64], tokenizer, batch=64)
            results[name] = {
                "items_per_s": {
                    b: round(
                        items_per_s(
                            session, list(batched_feeds(samples[: b * 4], pixels, tokenizer, b)), seconds
                        ),
                        1,
                    )
                    for b in BATCH_SIZES
                },
                "grade_agreement": float(
                    np.mean(grade_codes(reference["joint"], joint) == grade_codes(scores["joint"], joint))
                ),
                "argmax_agreement": float(np.mean(reference["joint"].argmax(1) == scores["joint"].argmax(1))),
                "max_move_alone_vs_batch": max(float(np.abs(alone[k] - together[k]).max()) for k in alone),
            }
    base = results["int8 per tensor"]["items_per_s"]
    for figures in results.values():
        figures["speed_vs_per_tensor"] = {
            b: round(figures["items_per_s"][b] / base[b], 2) for b in BATCH_SIZES
        }
    return {"items": len(samples), "candidates": results}


def table(figures: dict[str, Any]) -> str:
    lines = [
        f"{figures['items']} test items; one thread; items/s at batch {' / '.join(map(str, BATCH_SIZES))}",
        f"{'candidate':24s} {'items/s':>22s} {'vs per tensor':>18s} {'grades':>7s} {'argmax':>7s} "
        f"{'max move':>9s}",
    ]
    for name, f in figures["candidates"].items():
        speed = " / ".join(f"{f['items_per_s'][b]:.0f}" for b in BATCH_SIZES)
        ratio = " / ".join(f"{f['speed_vs_per_tensor'][b]:.2f}" for b in BATCH_SIZES)
        lines.append(
            f"{name:24s} {speed:>22s} {ratio:>18s} {f['grade_agreement']:7.2%} {f['argmax_agreement']:7.2%} "
            f"{f['max_move_alone_vs_batch']:9.1e}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python loadtests/quantization.py", description=__doc__)
    parser.add_argument("--model", type=Path, default=SHIPPED_MODEL_DIR)
    parser.add_argument("--seconds", type=float, default=3.0, help="per candidate and batch size")
    parser.add_argument("--every", type=int, default=4, help="score every N-th test item")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    figures = run(args.model, args.seconds, args.every)
    print(table(figures))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
