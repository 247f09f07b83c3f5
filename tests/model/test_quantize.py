"""The int8 text tower that training mixes in, and how a batch picks its states."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from model.data import Sample, encode_samples, load_tokenizer
from model.quantize import int8_text_tower
from model.text_tower import TextEncoder, default_text_path

TEXTS = ["how much could I get for this one?", "a photo of a cat", "make sure this never wakes up again"]


@pytest.fixture(scope="module")
def text_encoder() -> TextEncoder:
    return TextEncoder.from_folder(default_text_path()).eval()


def _tokens(texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    tokenizer = load_tokenizer(default_text_path() / "tokenizer.json", 128)
    tokenizer.enable_padding()
    encodings = tokenizer.encode_batch(texts)
    ids = torch.tensor([e.ids for e in encodings])
    return ids, torch.tensor([e.attention_mask for e in encodings])


def test_int8_text_tower_stays_close_to_fp32_but_is_quantised(
    text_encoder: TextEncoder, tmp_path: Path
) -> None:
    encode_int8 = int8_text_tower(text_encoder, tmp_path)
    ids, mask = _tokens(TEXTS)
    with torch.no_grad():
        fp32 = text_encoder(ids, mask)
    int8 = encode_int8(ids, mask)
    assert int8.shape == fp32.shape
    real = mask.bool()
    error = ((int8 - fp32)[real].norm() / fp32[real].norm()).item()
    assert 1e-4 < error < 0.2  # really int8 (not the fp32 graph), and still the same encoder
    cosine = torch.cosine_similarity(int8[real], fp32[real], dim=-1)
    assert cosine.min().item() > 0.9


def _sample(n: int, text: str) -> Sample:
    return Sample(f"t{n}", "train", None, text, None, "safe", "safe", ())


def test_batch_takes_int8_states_only_for_the_chosen_rows() -> None:
    tokenizer = load_tokenizer(default_text_path() / "tokenizer.json", 128)

    def zeros(ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return torch.zeros(*ids.shape, 4)

    def ones(ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return torch.ones(*ids.shape, 4)

    samples = [_sample(n, t) for n, t in enumerate(TEXTS)]
    data = encode_samples(samples, 8, tokenizer, zeros, ones)
    idx = torch.arange(3)
    chosen = data.batch(idx, torch.tensor([True, False, True]))
    real = chosen["attention_mask"].bool()
    assert chosen["text_states"][0][real[0]].eq(1).all()
    assert chosen["text_states"][1][real[1]].eq(0).all()
    assert chosen["text_states"][2][real[2]].eq(1).all()
    assert data.batch(idx)["text_states"].eq(0).all()  # no choice: the fp32 states

    fp32_only = encode_samples(samples, 8, tokenizer, zeros)
    assert fp32_only.batch(idx, torch.tensor([True, True, True]))["text_states"].eq(0).all()
