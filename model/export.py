"""Export a checkpoint to one ONNX graph per variant plus `manifest.json`: `python -m model export`.

Variants: fp32 (reference), int8 (dynamic quantisation, the CPU default) and fp16 (GPU).
The manifest carries everything the service needs (see docs/manifest.md) and the figures of the
int8 model on the held-out test split, measured with ONNX Runtime on the exported file itself.
"""

from __future__ import annotations

import json
import shutil
import time
import warnings
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import torch

from model.config import ModelConfig
from model.data import render_images
from model.evaluate import (
    evaluate,
    handwritten_figures,
    handwritten_samples,
    identity_figures,
    identity_samples,
    real_figures,
)
from model.network import SafetyModel, ScoringModel
from model.nsfwjs import TOWER_DIR, compact_tower_weights
from model.quantize import QUANTIZATION, SMOOTH_ALPHA, quantize_int8
from model.text_tower import default_text_path
from model.train import TrainConfig, load_checkpoint, load_samples, text_sha256
from service.evaluation.labelled_data import LabelledItem
from service.serving.batching import collate
from service.serving.bundle import INPUT_NAMES, OUTPUT_NAMES, Manifest, file_sha256  # the service's own
from service.serving.engine import Batch
from service.serving.inputs import PreparedItem, TextTokenizer
from service.taxonomy import CATEGORIES, GRADES

OPSET = 17


def export_fp32(model: SafetyModel, path: Path) -> None:
    """Trace the scoring graph with dynamic batch and sequence axes."""
    size = model.config.image_size
    pixels = torch.randint(0, 256, (2, size, size, 3), dtype=torch.uint8)
    input_ids = torch.tensor([[101, 2129, 2172, 102, 0], [101, 7592, 2088, 2003, 102]])
    attention_mask = (input_ids != 0).long()  # a padded row, so the mask is traced as data
    present = torch.tensor([[1.0, 1.0], [0.0, 1.0]])
    dynamic = {
        "pixels": {0: "batch"},
        "input_ids": {0: "batch", 1: "seq"},
        "attention_mask": {0: "batch", 1: "seq"},
    }
    outputs = graph_outputs(model.config)
    dynamic |= {"present": {0: "batch"}} | {name: {0: "batch"} for name in outputs}
    with warnings.catch_warnings():
        # the tracer warns about Python-side shape arithmetic it folds; the parity tests are the check
        warnings.simplefilter("ignore")
        _trace(model, (pixels, input_ids, attention_mask, present), path, dynamic, outputs)


NSFWJS_NOTICE = "LICENSE.nsfwjs"  # the bundle's copy of model/towers/nsfwjs-mid/LICENSE
NSFWJS_SOURCE = "nsfwjs@4.4.0 MobileNetV2-1.4 (mobilenet_v2_mid), frozen"
NUDITY_OUTPUT = "nudity_scores"  # nsfwjs's five classes (model/nsfwjs.py), already folded into the scores


def graph_outputs(config: ModelConfig) -> list[str]:
    """The graph's outputs: the service's four, and nsfwjs's own reading where the image tower is nsfwjs
    (an optional output: the service reads it through the image and sexual scores it is folded into)."""
    return [*OUTPUT_NAMES, *([NUDITY_OUTPUT] if config.image_tower == "nsfwjs" else [])]


def _trace(
    model: SafetyModel,
    args: tuple[torch.Tensor, ...],
    path: Path,
    dynamic: dict[str, Any],
    outputs: list[str],
) -> None:
    torch.onnx.export(
        ScoringModel(model).eval(),
        args,
        str(path),
        input_names=list(INPUT_NAMES),
        output_names=outputs,
        dynamic_axes=dynamic,
        opset_version=OPSET,
        dynamo=False,
    )


def convert_fp16(fp32: Path, path: Path) -> None:
    """Half-precision weights and activations for the GPU; inputs and outputs keep their types."""
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    model = onnx.load(str(fp32))
    onnx.save(convert_float_to_float16(model, keep_io_types=True), str(path))


CALIBRATION_ITEMS = 512


def calibration_feeds(
    train: Sequence[LabelledItem], image_size: int, text_encoder: TextTokenizer
) -> list[dict[str, np.ndarray]]:
    """Input feeds of the first training items, in batches: what int8 smoothing measures activations on."""
    items = list(train[:CALIBRATION_ITEMS])
    pixels = render_images(items, image_size, workers=1).numpy()
    return list(batched_feeds(items, pixels, text_encoder))


def batched_feeds(
    samples: Sequence[LabelledItem], pixels: np.ndarray, text_encoder: TextTokenizer, batch: int = 64
) -> Iterator[dict[str, np.ndarray]]:
    """Yield the exported graph's input feeds for samples, `batch` at a time, collated as the service does."""
    for start in range(0, len(samples), batch):
        b = collate_samples(samples[start : start + batch], pixels[start : start + batch], text_encoder)
        yield {
            "pixels": b.pixels,
            "input_ids": b.input_ids,
            "attention_mask": b.attention_mask,
            "present": b.present,
        }


def collate_samples(
    samples: Sequence[LabelledItem], pixels: np.ndarray, text_encoder: TextTokenizer
) -> Batch:
    """Batch samples (pixels pre-rendered) with the service's own tokenizer and collation."""
    items = [
        PreparedItem(
            pixels=pixels[row] if s.image is not None else None,
            input_ids=text_encoder.encode(s.text)[0] if s.text is not None else None,
            text_truncated=False,
            content_sha256="",
        )
        for row, s in enumerate(samples)
    ]
    return collate(items, pixels.shape[1], text_encoder.absent_ids())


def onnx_predict(
    session: ort.InferenceSession,
    samples: Sequence[LabelledItem],
    pixels: np.ndarray,
    text_encoder: TextTokenizer,
    batch: int = 64,
) -> dict[str, np.ndarray]:
    """Run an exported graph over samples, fed exactly as the service feeds it; return per-head scores."""
    parts: list[list[np.ndarray]] = [[], [], [], []]
    for feeds in batched_feeds(samples, pixels, text_encoder, batch):
        for part, out in zip(parts, session.run(list(OUTPUT_NAMES), feeds), strict=True):
            part.append(out.astype(np.float32))
    keys = ("image", "text", "joint", "categories")
    return {k: np.concatenate(p) for k, p in zip(keys, parts, strict=True)}


def session(path: Path) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def fixture_scores(
    graph: ort.InferenceSession, fixture: Sequence[LabelledItem], image_size: int, text_encoder: TextTokenizer
) -> dict[str, np.ndarray]:
    """Score a hand-written fixture, each set (split) in batches of its own; absent images render black.

    Scored apart, a set's figure does not change when another set is added to the fixture (int8
    scales are per row now, so batchmates no longer move scores; the sets stay apart all the same).
    """
    pixels = render_images(fixture, image_size, workers=1).numpy()
    scores: dict[str, np.ndarray] = {}
    for split in dict.fromkeys(s.split for s in fixture):  # in order of first appearance
        rows = np.array([i for i, s in enumerate(fixture) if s.split == split])
        part = onnx_predict(graph, [fixture[i] for i in rows], pixels[rows], text_encoder)
        for key, value in part.items():
            scores.setdefault(key, np.zeros((len(fixture), *value.shape[1:]), np.float32))[rows] = value
    return scores


DATA = Path(__file__).parent / "data"  # hand-written pairs and probes: sealed sets, not code
HANDWRITTEN = DATA / "handwritten_pairs.jsonl"
IDENTITY_PROBES = DATA / "identity_probes.jsonl"


def store_half(checkpoint: Path, path: Path) -> None:
    """Write a copy of a checkpoint whose floating-point weights are float16 (loading casts them back)."""
    ckpt = torch.load(checkpoint, map_location="cpu", weights_only=True)
    ckpt["state_dict"] = {k: v.half() if v.is_floating_point() else v for k, v in ckpt["state_dict"].items()}
    torch.save(ckpt, path)


def real_metrics(
    graph: ort.InferenceSession,
    splits: dict[str, list[LabelledItem]],
    image_size: int,
    text_encoder: TextTokenizer,
    thresholds: dict[str, Any],
) -> dict[str, Any]:
    """Figures per real source (public datasets, hand-written texts) on `report` (never tuned on), `val`."""
    real = [
        s for name in ("val", "report") for s in splits.get(name, []) if not s.source.startswith("corpus")
    ]
    if not real:
        return {}
    scores = onnx_predict(graph, real, render_images(real, image_size).numpy(), text_encoder)
    figures = {}
    for name in ("report", "val"):
        rows = np.array([i for i, s in enumerate(real) if s.split == name], dtype=int)
        if len(rows):
            part = {k: v[rows] for k, v in scores.items()}
            figures[name] = real_figures([real[int(i)] for i in rows], part, thresholds)
    return figures


def _shown(path: str) -> str:
    """Name a training file as the manifest shows it: relative to where the export runs, when under it."""
    return str(Path(path).relative_to(Path.cwd())) if Path(path).is_relative_to(Path.cwd()) else path


def export(
    checkpoint: Path,
    out: Path,
    name: str,
    variants: Sequence[str],
    evaluate_split: str = "test",
    handwritten: Path | None = HANDWRITTEN,
    identity_probes: Path | None = IDENTITY_PROBES,
    smooth_alpha: float = SMOOTH_ALPHA,
) -> Path:
    """Write the ONNX variants, the tokenizer and manifest.json into `out`; return the manifest path."""
    started = time.time()
    out.mkdir(parents=True, exist_ok=True)
    # the trained weights travel with the bundle (the frozen text layers come from their package), in
    # float16 to keep the bundle small; every variant is exported from those stored weights, so
    # `python -m model export --checkpoint <bundle>/checkpoint.pt` makes the same files again
    stored = out / "checkpoint.pt"
    if checkpoint.resolve() != stored.resolve():
        store_half(checkpoint, stored)
    model, ckpt = load_checkpoint(stored)
    cfg = model.config
    build = out / "build"
    build.mkdir(exist_ok=True)
    text_folder = Path(cfg.text_path) if cfg.text_path else default_text_path()
    shutil.copyfile(text_folder / "tokenizer.json", out / "tokenizer.json")
    if cfg.image_tower == "nsfwjs":  # its weights are in the graphs: its MIT notice travels with them
        shutil.copyfile(TOWER_DIR / "LICENSE", out / NSFWJS_NOTICE)
    tokenizer = TextTokenizer(out / "tokenizer.json", cfg.max_tokens)
    train_cfg = TrainConfig(**ckpt["train_config"])
    splits = load_samples(train_cfg)

    fp32 = (out if "fp32" in variants else build) / "model.fp32.onnx"
    export_fp32(model, fp32)
    files = {"fp32": fp32}
    calibration: list[dict[str, np.ndarray]] = []
    if "int8" in variants:
        files["int8"] = out / "model.int8.onnx"
        if smooth_alpha > 0:  # alpha 0 quantises without smoothing: nothing to measure
            calibration = calibration_feeds(splits["train"], cfg.image_size, tokenizer)
        quantize_int8(fp32, files["int8"], calibration, smooth_alpha)
    if "fp16" in variants:
        files["fp16"] = out / "model.fp16.onnx"
        convert_fp16(fp32, files["fp16"])
    if cfg.image_tower == "nsfwjs":  # its weights as nsfwjs ships them: uint8 codes, a quarter of the bytes
        for variant in ("fp32", "int8"):
            if variant in variants:
                saved = compact_tower_weights(files[variant])
                print(f"{variant}: the nsfwjs weights as uint8 codes, {saved / 2**20:.1f} MiB less")

    cpu_variant = "int8" if "int8" in variants else "fp32"

    # figures of the shipped files themselves, on the held-out split; each graph is loaded once
    # (fp16 is measured on the GPU: CPU kernels for fp16 are slow and not what ships)
    graphs = {v: session(path) for v, path in files.items() if v != "fp16"}
    samples = splits[evaluate_split]
    pixels = render_images(samples, cfg.image_size).numpy()
    reference = onnx_predict(graphs["fp32"], samples, pixels, tokenizer)
    metrics: dict[str, Any] = {"split": evaluate_split}
    for variant in variants:
        if variant == "fp16":
            continue
        scores = reference if variant == "fp32" else onnx_predict(graphs[variant], samples, pixels, tokenizer)
        metrics[variant] = evaluate(samples, scores, ckpt["thresholds"])
        metrics[variant]["joint_grade_agreement_with_fp32"] = float(
            np.mean(scores["joint"].argmax(1) == reference["joint"].argmax(1))
        )

    graph = graphs[cpu_variant]
    real = real_metrics(graph, splits, cfg.image_size, tokenizer, ckpt["thresholds"])
    if real:
        metrics["real"] = {"variant": cpu_variant} | real
    if handwritten is not None and handwritten.exists():
        # pairs written by hand outside the templates: the closest thing here to unseen real data
        # (a pair the model trained on, through `train --add`, is reported apart from the rest)
        pairs = handwritten_samples(handwritten)
        added = set(ckpt.get("added_text_sha256", ())) | {text_sha256(t) for t in ckpt.get("added_texts", ())}
        trained_texts = {s.text for s in splits["train"] if s.text}
        trained_texts |= {p.text for p in pairs if p.text and text_sha256(p.text) in added}
        metrics["handwritten"] = {"variant": cpu_variant} | handwritten_figures(
            pairs, fixture_scores(graph, pairs, cfg.image_size, tokenizer), ckpt["thresholds"], trained_texts
        )
    if identity_probes is not None and identity_probes.exists():
        # harmless texts (text-only) that name a group of people: how often the name alone is flagged
        probes = identity_samples(identity_probes)
        metrics["identity_probes"] = {"variant": cpu_variant} | identity_figures(
            probes, fixture_scores(graph, probes, cfg.image_size, tokenizer), ckpt["thresholds"]
        )

    manifest = {
        "name": name,
        "version": datetime.now(UTC).strftime("%Y.%m.%d"),
        "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "variants": {
            v: {
                "file": files[v].name,
                "sha256": file_sha256(files[v]),
                "bytes": files[v].stat().st_size,
                "device": "cuda" if v == "fp16" else "cpu",
            }
            | (
                {
                    "quantization": QUANTIZATION,
                    "smooth_alpha": smooth_alpha,
                    "calibration_items": sum(len(f["input_ids"]) for f in calibration),
                }
                if v == "int8"
                else {}
            )
            for v in variants
        },
        "checkpoint": {"file": "checkpoint.pt", "sha256": file_sha256(out / "checkpoint.pt")},
        "default_variant": {"cpu": cpu_variant, "cuda": "fp16" if "fp16" in variants else cpu_variant},
        "inputs": {
            "pixels": {"dtype": "uint8", "shape": ["batch", cfg.image_size, cfg.image_size, 3]},
            "input_ids": {"dtype": "int64", "shape": ["batch", "seq"]},
            "attention_mask": {"dtype": "int64", "shape": ["batch", "seq"]},
            "present": {"dtype": "float32", "shape": ["batch", 2]},
        },
        "outputs": graph_outputs(cfg),
        "image": {
            "size": cfg.image_size,
            "mean": list(cfg.image_mean),
            "std": list(cfg.image_std),
            "layout": "NHWC",
            "dtype": "uint8",
        },
        "text": {"tokenizer_file": "tokenizer.json", "max_tokens": cfg.max_tokens},
        "grades": list(GRADES),
        "categories": list(CATEGORIES),
        "thresholds": ckpt["thresholds"],
        "architecture": {
            "image_tower": cfg.image_tower,
            **(
                {"image_tower_source": f"{NSFWJS_SOURCE} (MIT, Infinite Red; {NSFWJS_NOTICE})"}
                if cfg.image_tower == "nsfwjs"
                else {}
            ),
            "text_tower": "all-MiniLM-L6-v2" if cfg.text_path is None else Path(cfg.text_path).name,
            "d_model": cfg.d_model,
            "fusion_layers": cfg.n_fusion_layers,
        },
        "training": {
            "data": _shown(train_cfg.data)
            if train_cfg.data
            else f"default corpus (seed {train_cfg.seed}, {train_cfg.corpus_size} examples)",
            "epochs": train_cfg.epochs,
        }
        | ({"added_to_train": _shown(train_cfg.add)} if train_cfg.add else {}),
        "metrics": metrics,
    }
    Manifest.model_validate(manifest)  # what the service will read back; a bad manifest is never written
    path = out / "manifest.json"
    path.write_text(json.dumps(manifest, indent=2) + "\n")
    shutil.rmtree(build, ignore_errors=True)
    print(f"exported {', '.join(variants)} to {out} in {time.time() - started:.0f} s")
    return path
