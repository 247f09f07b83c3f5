"""Model configuration: one dataclass, every knob with its default and why."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class ModelConfig:
    # image tower
    # "cnn" (compact, trained from scratch), "clip" (local checkpoint folder) or "nsfwjs" (the converted,
    # frozen MobileNetV2-1.4 of model/nsfwjs.py: image_size 224)
    image_tower: str = "cnn"
    clip_path: str | None = None  # folder with a CLIP/SigLIP vision checkpoint (config.json + weights)
    image_size: int = 64  # square input side; the service resizes to this
    image_mean: tuple[float, float, float] = (0.5, 0.5, 0.5)
    image_std: tuple[float, float, float] = (0.25, 0.25, 0.25)
    cnn_channels: tuple[int, ...] = (32, 64, 128, 192)  # one stride-2 stage each: 64 -> 4x4 tokens
    # text tower
    text_path: str | None = None  # sentence-encoder folder; None = the all-MiniLM-L6-v2 PyPI package
    max_tokens: int = 256  # the window: the service reads a longer text in overlapping windows
    freeze_text: bool = True  # the encoder is frozen while the fusion trains (states cached per text)
    # top encoder layers fine-tuned in a text-only stage first (model/text_stage.py); the checkpoint
    # holds their weights, the rest come from the encoder's package
    tuned_text_layers: int = 0
    # fusion
    d_model: int = 256  # width of the fusion blocks
    n_heads: int = 4
    n_fusion_layers: int = 2  # cross-attention blocks (image <-> text)
    dropout: float = 0.1
    n_grades: int = 3
    n_categories: int = 15
    n_glyphs: int = 76  # training-only auxiliary head: which corpus glyphs a scene shows (0 = off)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        """Build from `to_dict()` output (tuples come back from JSON as lists)."""
        data = dict(data)
        for key in ("image_mean", "image_std", "cnn_channels"):
            if key in data:
                data[key] = tuple(data[key])
        return cls(**data)
