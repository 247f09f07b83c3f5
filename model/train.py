"""Train the fused classifier: `python -m model train`.

The text tower is frozen, so its token states are computed once per distinct text; each epoch
then runs the image tower, the fusion and the heads. The best epoch on validation joint macro-F1
is kept, and the default thresholds are chosen on validation data.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import random
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from model.config import ModelConfig
from model.data import (
    IGNORE,
    DataError,
    EncodedSet,
    corpus_samples,
    encode_samples,
    file_samples,
    load_tokenizer,
)
from model.evaluate import choose_thresholds, evaluate
from model.image_tower import NsfwjsImageTower
from model.network import SafetyModel, probabilities
from model.text_stage import TextLabel, TextStageConfig, tune_text_tower
from model.text_tower import default_text_path
from service.evaluation.labelled_data import LabelledItem
from service.taxonomy import CATEGORIES, GRADES

ARGMAX = {m: {"borderline": 0.5, "unsafe": 0.5} for m in ("image", "text", "joint")} | {"category": 0.5}


@dataclass
class TrainConfig:
    out: str = "runs/default"  # checkpoints, metrics and logs go here
    data: str | None = None  # a VLSU-layout CSV or JSONL of labelled items; None = the default corpus
    add: str | None = None  # labelled items (same formats) added to the training split only
    corpus_size: int = 24000  # examples in the default corpus (all splits)
    # a folder of the registered public datasets (model/datasets); None = corpus (and `add`) only.
    # With it, training also reads the hand-written look-alikes, long texts and control pictures,
    # and the `report` split (never tuned on) holds the held-out sources and the sealed contrast sets
    datasets: str | None = None
    long_texts: int = 1500  # long texts made from training texts (model/public.py), with `datasets`
    text_stage_epochs: int = 2  # epochs of the text-only stage (ModelConfig.tuned_text_layers > 0)
    # share of the corpus's (or data's) training split kept, a seeded draw; validation, test and the
    # items of `add` stay whole, so less of the corpus lets the added items weigh more
    train_share: float = 1.0
    seed: int = 0
    epochs: int = 18
    batch_size: int = 128
    lr: float = 1e-3
    # on the joint grade; 0 gave a higher validation F1 but no threshold reached 97% unsafe recall
    label_smoothing: float = 0.05
    weight_decay: float = 0.05
    warmup_steps: int = 100
    min_unsafe_recall: float = 0.97  # the joint unsafe threshold is chosen to reach this on validation
    # validation, checkpoints and export use an exponential moving average of the weights (horizon
    # ~1/(1-decay) steps, ~4 epochs); 0 = the raw weights
    ema_decay: float = 0.998
    threads: int = 2


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _figure(value: float | None) -> str:
    """Format a figure that labelled data may not have (no image grades, no unsafe item): n/a."""
    return "n/a" if value is None or math.isnan(value) else f"{value:.3f}"


def load_samples(cfg: TrainConfig) -> dict[str, list[LabelledItem]]:
    """Return the samples of each split."""
    if cfg.data is None:
        samples = corpus_samples(cfg.seed, cfg.corpus_size)
    else:
        samples, skipped = file_samples(Path(cfg.data), cfg.seed)
        if skipped:
            print(f"skipped {skipped} rows: an image file missing or undecodable, or labels unreadable")
    if cfg.datasets is not None:
        samples = samples + real_text(cfg)
    splits: dict[str, list[LabelledItem]] = {"train": [], "val": [], "test": [], "report": []}
    for s in samples:
        splits[s.split].append(s)
    if cfg.train_share < 1:
        kept = sorted(
            random.Random(cfg.seed).sample(
                range(len(splits["train"])), round(cfg.train_share * len(splits["train"]))
            )
        )
        splits["train"] = [splits["train"][i] for i in kept]
    empty = [name for name, items in splits.items() if not items and name != "report"]
    if empty:
        raise DataError(
            f"{cfg.data or 'the corpus'}: no items in the {' and '.join(empty)} split ({len(samples)} usable "
            "items, split 80/10/10 by a hash of their id): training needs more labelled items"
        )
    return splits


def real_text(cfg: TrainConfig) -> list[LabelledItem]:
    """Public datasets, hand-written look-alikes, requests and contrast sets, long texts, control pictures."""
    from model.public import contrast_items, long_texts, lookalike_items, public_items, with_controls
    from model.requests import request_items

    assert cfg.datasets is not None
    items = public_items(Path(cfg.datasets)) + lookalike_items() + contrast_items() + request_items(cfg.seed)
    train = [i for i in items if i.split == "train"]
    made = long_texts(train, cfg.seed, cfg.long_texts)
    return items + made + with_controls(items + made, cfg.seed)


def text_labels(items: Sequence[LabelledItem]) -> list[TextLabel]:
    """One label per distinct text: its most severe text-alone grade and the categories it carries."""
    grades: dict[str, str] = {}
    categories: dict[str, set[str]] = {}
    for item in items:
        if item.text is None or item.text_grade is None:
            continue
        known = grades.get(item.text, "safe")
        grades[item.text] = max(known, item.text_grade, key=GRADES.index)
        if item.text_grade == item.joint_grade:  # the text carries the item's categories
            categories.setdefault(item.text, set()).update(item.categories)
    return [
        TextLabel(
            text,
            grade,
            tuple(c for c in CATEGORIES if c in categories.get(text, ())) if grade != "safe" else (),
        )
        for text, grade in grades.items()
    ]


def added_samples(cfg: TrainConfig) -> list[LabelledItem]:
    """Return the labelled items `add` puts in the training split, all of them (none without it).

    Validation, test and the thresholds stay those of the corpus (or `data`), so figures compare
    with and without them; the checkpoint keeps their texts, which export then reports apart.
    """
    if cfg.add is None:
        return []
    added, skipped = file_samples(Path(cfg.add), cfg.seed)
    if not added:  # better said now than after half an hour of training on the corpus alone
        raise DataError(f"{cfg.add}: no usable labelled item ({skipped} rows skipped)")
    print(f"adding {len(added)} labelled items to the training split ({skipped} rows skipped)")
    return [replace(s, split="train") for s in added]


def length_batches(lengths: torch.Tensor, batch_size: int, generator: torch.Generator) -> list[torch.Tensor]:
    """Return one epoch of shuffled batches whose texts have similar lengths.

    Batches pad to their longest text, and the fusion blocks' cost grows with it: sorting within
    chunks of 32 batches cut the padding (and the epoch time) without ordering the epoch by length.
    """
    order = torch.randperm(len(lengths), generator=generator)
    batches: list[torch.Tensor] = []
    chunk = batch_size * 32
    for start in range(0, len(order), chunk):
        part = order[start : start + chunk]
        part = part[torch.argsort(lengths[part], stable=True)]
        batches.extend(part.split(batch_size))
    shuffle = torch.randperm(len(batches), generator=generator).tolist()
    return [batches[i] for i in shuffle]


def loss_fn(
    out: dict[str, torch.Tensor], batch: dict[str, torch.Tensor], label_smoothing: float
) -> torch.Tensor:
    """Joint grade first; the single-modality grades and categories help it learn."""
    joint = F.cross_entropy(out["joint"], batch["joint_label"], label_smoothing=label_smoothing)
    image = F.cross_entropy(out["image"], batch["image_label"], ignore_index=IGNORE)
    text = F.cross_entropy(out["text"], batch["text_label"], ignore_index=IGNORE)
    cats = F.binary_cross_entropy_with_logits(out["categories"], batch["category_target"])
    loss = joint + 0.5 * torch.nan_to_num(image) + 0.5 * torch.nan_to_num(text) + 2.0 * cats
    if out["glyphs"].shape[1] and batch["glyph_known"].any():
        per_item = F.binary_cross_entropy_with_logits(
            out["glyphs"], batch["glyph_target"], reduction="none"
        ).sum(1)  # (B,)
        known = batch["glyph_known"]
        loss = loss + 0.2 * (per_item * known).sum() / known.sum()
    return loss


@torch.no_grad()
def predict(model: SafetyModel, data: EncodedSet, batch_size: int = 256) -> dict[str, np.ndarray]:
    """Return probabilities per head for every item of an encoded set."""
    model.eval()
    parts: dict[str, list[np.ndarray]] = {"image": [], "text": [], "joint": [], "categories": []}
    for start in range(0, len(data.samples), batch_size):
        b = data.batch(torch.arange(start, min(start + batch_size, len(data.samples))))
        out = probabilities(model.fuse(b["images"], b["text_states"], b["attention_mask"], b["present"]))
        for k in parts:
            parts[k].append(out[k].numpy())
    return {k: np.concatenate(v) for k, v in parts.items()}


class WeightAverage:
    """An exponential moving average of a model's trained weights and BatchNorm statistics.

    The raw weights' validation F1 at the 97%-recall threshold can jump between epochs (0.82 to
    0.40 in one run), which makes the kept epoch luck; the average's climbs steadily.
    """

    def __init__(self, model: SafetyModel, decay: float) -> None:
        self.decay = decay
        self.model = copy.deepcopy(model).eval() if decay > 0 else model
        pairs = zip(self.model.state_dict().items(), model.state_dict().values(), strict=True)
        self.pairs = [(avg, live) for (name, avg), live in pairs if not name.startswith("text_encoder.")]

    @torch.no_grad()
    def update(self, step: int) -> None:
        """Blend the live weights in; early steps weigh more, so the start is not stuck at init."""
        if self.decay <= 0:
            return
        decay = min(self.decay, (1 + step) / (10 + step))
        for avg, live in self.pairs:
            if avg.is_floating_point():
                avg.lerp_(live, 1 - decay)
            else:  # BatchNorm's step counter
                avg.copy_(live)


def train(model_cfg: ModelConfig, cfg: TrainConfig) -> Path:
    """Train, keep the best epoch, choose thresholds; return the checkpoint path."""
    set_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.time()

    model = SafetyModel(model_cfg)
    text_folder = Path(model_cfg.text_path) if model_cfg.text_path else default_text_path()
    tokenizer = load_tokenizer(text_folder / "tokenizer.json", model_cfg.max_tokens)
    splits = load_samples(cfg)
    added = added_samples(cfg)
    splits["train"] += added
    added_texts = sorted({s.text for s in added if s.text})
    print("samples:", {k: len(v) for k, v in splits.items()})
    if model_cfg.tuned_text_layers:
        stage = TextStageConfig(
            layers=model_cfg.tuned_text_layers, epochs=cfg.text_stage_epochs, seed=cfg.seed
        )
        print(
            "text stage:", tune_text_tower(model.text_encoder, text_labels(splits["train"]), tokenizer, stage)
        )
    encode = model.text_encoder.eval()
    tower = frozen_image_tower(model, out)
    data = {
        k: encode_samples(v, model_cfg.image_size, tokenizer, encode, tower) for k, v in splits.items() if v
    }
    train_set = data["train"]

    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=cfg.lr,
    )
    lengths = train_set.text_lengths()
    steps_per_epoch = math.ceil(len(lengths) / cfg.batch_size)  # length_batches' chunks hold whole batches
    total = steps_per_epoch * cfg.epochs

    def lr_at(step: int) -> float:  # linear warm-up, then cosine to 5%
        if step < cfg.warmup_steps:
            return cfg.lr * (step + 1) / cfg.warmup_steps
        progress = (step - cfg.warmup_steps) / max(1, total - cfg.warmup_steps)
        return cfg.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress)))

    ema = WeightAverage(model, cfg.ema_decay)
    best_f1, step, history = -1.0, 0, []
    generator = torch.Generator().manual_seed(cfg.seed)
    for epoch in range(cfg.epochs):
        model.train()
        model.text_encoder.eval()
        bar = tqdm(length_batches(lengths, cfg.batch_size, generator), desc=f"epoch {epoch + 1}/{cfg.epochs}")
        for idx in bar:
            batch = train_set.batch(idx)
            if tower is None:  # pixels: mirror scenes (glyphs keep their meaning); cached tokens stay
                flip = torch.rand(len(batch["images"]), generator=generator) < 0.5
                batch["images"][flip] = batch["images"][flip].flip(2)
            for group in optimizer.param_groups:
                group["lr"] = lr_at(step)
            output = model.fuse(
                batch["images"], batch["text_states"], batch["attention_mask"], batch["present"]
            )
            loss = loss_fn(output, batch, cfg.label_smoothing)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            ema.update(step)
            step += 1
            bar.set_postfix(loss=f"{loss.item():.3f}")
        val_scores = predict(ema.model, data["val"])
        thresholds = choose_thresholds(data["val"].samples, val_scores, cfg.min_unsafe_recall)
        val = evaluate(data["val"].samples, val_scores, thresholds)
        val_argmax = evaluate(data["val"].samples, val_scores, ARGMAX)["joint_macro_f1"]
        history.append({"epoch": epoch + 1, **{k: v for k, v in val.items() if isinstance(v, float)}})
        print(
            f"epoch {epoch + 1}: val joint F1 {val['joint_macro_f1']:.3f} unsafe recall "
            f"{_figure(val['joint_unsafe_recall'])} image acc {_figure(val['image_accuracy'])} "
            f"text acc {_figure(val['text_accuracy'])} argmax joint F1 {val_argmax:.3f} "
            f"({(time.time() - started) / 60:.1f} min)"
        )
        if val["joint_macro_f1"] > best_f1:
            best_f1 = val["joint_macro_f1"]
            save_checkpoint(out / "best.pt", ema.model, model_cfg, cfg, thresholds, val, added_texts)
        save_checkpoint(out / "last.pt", ema.model, model_cfg, cfg, thresholds, val, added_texts)

    # final figures: the best epoch on the held-out test split
    model, ckpt = load_checkpoint(out / "best.pt")
    test = evaluate(data["test"].samples, predict(model, data["test"]), ckpt["thresholds"])
    ckpt["metrics"] = {"val": ckpt["metrics"]["val"], "test": test}
    torch.save(ckpt, out / "best.pt")
    (out / "history.json").write_text(json.dumps(history, indent=2))
    (out / "metrics.json").write_text(json.dumps(ckpt["metrics"], indent=2))
    print(f"done in {(time.time() - started) / 60:.1f} min; test joint F1 {test['joint_macro_f1']:.3f}")
    return out / "best.pt"


def frozen_image_tower(model: SafetyModel, folder: Path) -> Callable[[torch.Tensor], torch.Tensor] | None:
    """What reads the pictures once when the image tower is frozen (training then caches its tokens): the
    tower under ONNX Runtime, its graph written to `folder`; None for a tower that trains."""
    tower = model.image_tower
    if not isinstance(tower, NsfwjsImageTower):
        return None
    return tower.onnx_reader(folder)


def text_sha256(text: str) -> str:
    """Return the hex sha256 of a text's UTF-8 bytes: how a checkpoint names the texts it trained on."""
    return hashlib.sha256(text.encode()).hexdigest()


def save_checkpoint(
    path: Path,
    model: SafetyModel,
    model_cfg: ModelConfig,
    cfg: TrainConfig,
    thresholds: dict[str, Any],
    val: dict[str, Any],
    added_texts: Sequence[str] = (),
) -> None:
    """Save weights (the frozen text tower is reloaded from its folder), configs, figures, added texts."""
    tuned = range(
        len(model.text_encoder.layers) - model_cfg.tuned_text_layers, len(model.text_encoder.layers)
    )
    kept = ("text_encoder.", *(f"text_encoder.layers.{i}." for i in tuned))  # the tuned layers stay
    trainable = {
        k: v for k, v in model.state_dict().items() if not k.startswith(kept[0]) or k.startswith(kept[1:])
    }
    torch.save(
        {
            "model_config": model_cfg.to_dict(),
            "train_config": asdict(cfg),
            "state_dict": trainable if model_cfg.freeze_text else model.state_dict(),
            "thresholds": thresholds,
            "metrics": {"val": val},
            # what `add` trained on, as sha256 of each text (never the text: it may be a dataset's):
            # export reports those pairs apart
            "added_text_sha256": sorted(text_sha256(t) for t in added_texts),
        },
        path,
    )


def load_checkpoint(path: Path) -> tuple[SafetyModel, dict[str, Any]]:
    """Rebuild the model from a checkpoint (in eval mode)."""
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    model_cfg = ModelConfig.from_dict(ckpt["model_config"])
    model = SafetyModel(model_cfg)
    missing, unexpected = model.load_state_dict(ckpt["state_dict"], strict=False)
    # the frozen encoder layers come from the encoder's own package; only they may be missing
    assert not unexpected and all(k.startswith("text_encoder.") for k in missing), (missing, unexpected)
    return model.eval(), ckpt


def rechoose_thresholds(checkpoint: Path, min_unsafe_recall: float) -> dict[str, Any]:
    """Choose the default thresholds of a trained checkpoint again on its validation split."""
    model, ckpt = load_checkpoint(checkpoint)
    cfg = TrainConfig(**ckpt["train_config"])
    text_folder = Path(model.config.text_path) if model.config.text_path else default_text_path()
    tokenizer = load_tokenizer(text_folder / "tokenizer.json", model.config.max_tokens)
    with tempfile.TemporaryDirectory() as folder:
        val = encode_samples(
            load_samples(cfg)["val"],
            model.config.image_size,
            tokenizer,
            model.text_encoder,
            frozen_image_tower(model, Path(folder)),
        )
    scores = predict(model, val)
    ckpt["thresholds"] = choose_thresholds(val.samples, scores, min_unsafe_recall)
    ckpt["train_config"]["min_unsafe_recall"] = min_unsafe_recall
    ckpt["metrics"] = {"val": evaluate(val.samples, scores, ckpt["thresholds"])}  # test figures: re-export
    torch.save(ckpt, checkpoint)
    return dict(ckpt["thresholds"])
