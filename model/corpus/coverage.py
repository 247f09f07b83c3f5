"""How close texts come to the corpus's training texts: how far the held-out figures can be trusted.

The held-out test split holds phrasings never seen in training, but of the same intents, so its texts
sit close to training texts. Texts from real traffic may not. For each text this measures the cosine
similarity of its sentence embedding (the frozen text tower, mean-pooled) to the nearest training
text, and sets the distribution beside the test split's: texts far below it are where the model's
template figures say little.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from model.corpus.build import build_corpus
from model.data import encode_texts, load_tokenizer
from model.text_tower import TextEncoder, default_text_path

PERCENTILES: tuple[int, ...] = (10, 25, 50, 75, 90)


def read_texts(path: Path) -> list[str]:
    """Return the texts of a file: JSONL (`text`), VLSU-layout CSV (`prompt`), else one per line.

    Rows without a text (image-only items) are skipped.
    """
    texts: list[Any]
    if path.suffix.lower() == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as f:
            texts = [row.get("prompt") or row.get("text") for row in csv.DictReader(f)]
    elif path.suffix.lower() == ".jsonl":
        lines = path.read_text(encoding="utf-8-sig").splitlines()
        rows = [json.loads(line) for line in lines if line.strip()]
        texts = [row.get("text") if isinstance(row, dict) else None for row in rows]
    else:
        texts = path.read_text(encoding="utf-8-sig").splitlines()
    return [t for t in texts if isinstance(t, str) and t.strip()]


class Embedder:
    """Sentence embeddings from the frozen text tower: token states mean-pooled, unit length."""

    def __init__(self, folder: Path | None = None, max_tokens: int = 128) -> None:
        folder = folder or default_text_path()
        self.encoder = TextEncoder.from_folder(folder).eval()
        self.tokenizer = load_tokenizer(folder / "tokenizer.json", max_tokens)

    def __call__(self, texts: Sequence[str]) -> torch.Tensor:
        states, _ = encode_texts(texts, self.tokenizer, self.encoder)
        pooled = torch.stack([s.float().mean(0) for s in states])  # (N, hidden)
        return torch.nn.functional.normalize(pooled, dim=1)


def nearest_similarity(queries: torch.Tensor, reference: torch.Tensor) -> np.ndarray:
    """Return, for each query embedding, its cosine similarity to the nearest reference embedding."""
    best = [(chunk @ reference.T).max(dim=1).values for chunk in queries.split(1024)]
    return torch.cat(best).numpy()


def coverage(
    texts: Sequence[str], seed: int = 0, size: int = 24000, text_path: Path | None = None
) -> dict[str, Any]:
    """Return nearest-training-text similarities of the texts, beside the held-out test split's."""
    if not texts:
        raise ValueError("no texts to measure")
    corpus = build_corpus(seed=seed, size=size)
    train = sorted({e.text for e in corpus if e.split == "train" and e.text})
    test = sorted({e.text for e in corpus if e.split == "test" and e.text})
    embed = Embedder(text_path)
    reference = embed(train)
    given = nearest_similarity(embed(texts), reference)
    held_out = nearest_similarity(embed(test), reference)
    floor = float(np.percentile(held_out, 10))
    return {
        "n": len(texts),
        "train_texts": len(train),
        "texts": {p: float(v) for p, v in zip(PERCENTILES, np.percentile(given, PERCENTILES), strict=True)},
        "test_split": {
            p: float(v) for p, v in zip(PERCENTILES, np.percentile(held_out, PERCENTILES), strict=True)
        },
        "share_below_test_p10": float((given < floor).mean()),
        "similarities": given.tolist(),
    }
