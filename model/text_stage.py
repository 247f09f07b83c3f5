"""Fine-tune the text tower's top layers on labelled texts, before the fused model trains.

The fused training caches the text tower's token states once per text, which needs the tower frozen
there: back-propagating through two MiniLM layers inside that loop costs about 0.2 s per batch of 32 on
two cores, several times the rest of a step. So a short text-only stage comes first: the states after
the lower layers are computed once, the top `layers` (and a small grade + category head, thrown away
after) train on every distinct labelled text, and the tuned tower is then frozen and cached as before.
Frozen sentence embeddings encode a text's topic; the tuned layers learn its intent.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F
from tokenizers import Tokenizer
from tqdm import tqdm

from model.network import masked_mean
from model.text_tower import TextEncoder
from service.taxonomy import CATEGORIES, GRADES


@dataclass(frozen=True)
class TextLabel:
    """One distinct text with its text-alone grade and the categories it carries."""

    text: str
    grade: str
    categories: tuple[str, ...]


@dataclass
class TextStageConfig:
    layers: int = 2  # top MiniLM layers tuned (of 6); 0 skips the stage
    epochs: int = 2
    batch_size: int = 32
    lr: float = 5e-5  # the tuned layers: BERT fine-tuning's usual range
    head_lr: float = 1e-3
    seed: int = 0


class _Head(nn.Module):
    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.grade = nn.Linear(hidden, len(GRADES))
        self.categories = nn.Linear(hidden, len(CATEGORIES))

    def forward(self, states: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pooled = masked_mean(states, mask)  # (B, hidden)
        return self.grade(pooled), self.categories(pooled)


def _lower_states(
    encoder: TextEncoder, ids: list[list[int]], n_lower: int, chunk: int = 256
) -> list[torch.Tensor]:
    """Run the frozen lower layers once per text (length-sorted chunks); return each text's states."""
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    states: list[torch.Tensor] = [torch.empty(0)] * len(ids)
    with torch.no_grad():
        for start in tqdm(range(0, len(order), chunk), desc="text tower (lower layers)"):
            rows = order[start : start + chunk]
            batch, mask = _pad([ids[i] for i in rows])
            out = encoder.lower(batch, mask, n_lower)  # (b, T, hidden)
            for row, i in enumerate(rows):
                states[i] = out[row, : len(ids[i])].clone()
    return states


def _pad(ids: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    T = max(len(x) for x in ids)
    batch = torch.zeros(len(ids), T, dtype=torch.long)
    mask = torch.zeros(len(ids), T, dtype=torch.long)
    for row, x in enumerate(ids):
        batch[row, : len(x)] = torch.tensor(x)
        mask[row, : len(x)] = 1
    return batch, mask


def tune_text_tower(
    encoder: TextEncoder, labels: Sequence[TextLabel], tokenizer: Tokenizer, cfg: TextStageConfig
) -> dict[str, float]:
    """Tune the encoder's top `cfg.layers` layers in place; return what the stage measured."""
    if cfg.layers <= 0 or not labels:
        return {}
    started = time.time()
    generator = torch.Generator().manual_seed(cfg.seed)
    n_lower = len(encoder.layers) - cfg.layers
    ids = [enc.ids for enc in tokenizer.encode_batch([label.text for label in labels])]
    lower = _lower_states(encoder, ids, n_lower)
    grade = torch.tensor([GRADES.index(label.grade) for label in labels])
    cats = torch.zeros(len(labels), len(CATEGORIES))
    for row, label in enumerate(labels):
        for slug in label.categories:
            cats[row, CATEGORIES.index(slug)] = 1.0
    # balance the grades: harmless texts outnumber the rest, and a missed harm costs more
    counts = torch.bincount(grade, minlength=len(GRADES)).clamp(min=1).float()
    weight = (counts.sum() / counts) / (counts.sum() / counts).mean()

    head = _Head(encoder.hidden)
    top = encoder.layers[n_lower:]
    encoder.requires_grad_(False)
    top.requires_grad_(True)
    optimizer = torch.optim.AdamW(
        [{"params": top.parameters(), "lr": cfg.lr}, {"params": head.parameters(), "lr": cfg.head_lr}],
        weight_decay=0.01,
    )
    steps = cfg.epochs * math.ceil(len(labels) / cfg.batch_size)
    base = [group["lr"] for group in optimizer.param_groups]
    step, losses = 0, []
    encoder.train()
    for epoch in range(cfg.epochs):
        order = torch.randperm(len(labels), generator=generator)
        # batches of similar lengths (little padding), in shuffled order
        chunks = [order[i : i + cfg.batch_size * 16] for i in range(0, len(order), cfg.batch_size * 16)]
        batches = [
            b
            for c in chunks
            for b in c[torch.argsort(torch.tensor([len(ids[i]) for i in c]))].split(cfg.batch_size)
        ]
        shuffled = torch.randperm(len(batches), generator=generator).tolist()
        for index in tqdm(shuffled, desc=f"text stage {epoch + 1}/{cfg.epochs}"):
            rows = batches[index].tolist()
            T = max(len(ids[i]) for i in rows)
            states = torch.zeros(len(rows), T, encoder.hidden)  # (B, T, hidden)
            mask = torch.zeros(len(rows), T, dtype=torch.long)
            for r, i in enumerate(rows):
                states[r, : len(ids[i])] = lower[i]
                mask[r, : len(ids[i])] = 1
            warm = min(1.0, (step + 1) / 50) * 0.5 * (1 + math.cos(math.pi * step / steps))
            for group, lr in zip(optimizer.param_groups, base, strict=True):
                group["lr"] = lr * warm
            grade_logits, cat_logits = head(encoder.upper(states, mask, n_lower), mask)
            loss = F.cross_entropy(
                grade_logits, grade[rows], weight=weight
            ) + F.binary_cross_entropy_with_logits(cat_logits, cats[rows])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(top.parameters(), 1.0)
            optimizer.step()
            losses.append(loss.item())
            step += 1
    encoder.eval()
    encoder.requires_grad_(False)
    tail = losses[-max(1, len(losses) // 10) :]
    return {
        "texts": float(len(labels)),
        "layers": float(cfg.layers),
        "epochs": float(cfg.epochs),
        "final_loss": sum(tail) / len(tail),
        "minutes": (time.time() - started) / 60,
    }
