"""Image towers: uint8 NHWC pixels in, a set of image tokens (B, N, C) out.

Both towers normalise inside the graph, so the service only resizes and feeds bytes.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from model.config import ModelConfig


class Normalize(nn.Module):
    """uint8 (B, H, W, 3) -> normalised float (B, 3, H, W)."""

    def __init__(self, mean: tuple[float, ...], std: tuple[float, ...]) -> None:
        super().__init__()
        self.mean: torch.Tensor
        self.std: torch.Tensor
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1) * 255.0)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1) * 255.0)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        x = pixels.permute(0, 3, 1, 2).float()  # (B, 3, H, W)
        return (x - self.mean) / self.std


class ConvStage(nn.Module):
    """Stride-2 conv + a residual 3x3 conv: halves the resolution."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.down = nn.Sequential(
            nn.Conv2d(c_in, c_out, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.GELU()
        )
        self.body = nn.Sequential(nn.Conv2d(c_out, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out))
        self.act = nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.down(x)
        return self.act(x + self.body(x))


class CNNTower(nn.Module):
    """A compact CNN trained from scratch; its last feature map becomes the image tokens."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.normalize = Normalize(config.image_mean, config.image_std)
        channels = (3, *config.cnn_channels)
        self.stages = nn.Sequential(*(ConvStage(a, b) for a, b in zip(channels, channels[1:], strict=False)))
        side = config.image_size // 2 ** len(config.cnn_channels)
        self.n_tokens = side * side
        self.width = channels[-1]
        self.position = nn.Parameter(torch.zeros(1, self.n_tokens, self.width))

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        x = self.stages(self.normalize(pixels))  # (B, C, h, w)
        return x.flatten(2).transpose(1, 2) + self.position  # (B, h*w, C)


class CLIPTower(nn.Module):
    """A CLIP (or SigLIP) vision tower loaded from a local checkpoint folder via transformers."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        from transformers import AutoConfig, CLIPVisionModel, SiglipVisionModel

        assert config.clip_path, "the clip image tower needs clip_path (a local folder)"
        folder = Path(config.clip_path)
        kind = AutoConfig.from_pretrained(folder).model_type
        loader = SiglipVisionModel if kind.startswith("siglip") else CLIPVisionModel
        self.vision = loader.from_pretrained(folder, attn_implementation="eager")
        self.normalize = Normalize(config.image_mean, config.image_std)
        self.width = int(self.vision.config.hidden_size)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        out = self.vision(pixel_values=self.normalize(pixels))
        return out.last_hidden_state  # (B, N, C)


class NsfwjsImageTower(nn.Module):
    """nsfwjs's MobileNetV2-1.4 (model/nsfwjs.py), frozen: its 7x7 feature map as 17 image tokens.

    Pre-processing (divide by 255) is the converted graph's own, so `image_mean`/`image_std` are unused;
    the input side is fixed at 224. The weights are non-persistent buffers: checkpoints leave them out.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        from model.nsfwjs import INPUT_SIZE, NsfwjsTower

        if config.image_size != INPUT_SIZE:
            side = config.image_size
            raise ValueError(f"the nsfwjs image tower takes {INPUT_SIZE}x{INPUT_SIZE} pictures, not {side}")
        self.backbone = NsfwjsTower().eval()
        self.width = self.backbone.width

    def train(self, mode: bool = True) -> NsfwjsImageTower:
        super().train(mode)
        self.backbone.eval()  # frozen: always inference mode
        return self

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            out = self.backbone(pixels)
        # 2x2 means of the 7x7 map (the last row and column alone): 16 tokens, as the CNN tower's 4x4, cut
        # the fusion's cost by a third against all 49; then the whole map's mean, nsfwjs's pooled features
        grid = F.avg_pool2d(out["features"], 2, 2, ceil_mode=True).flatten(2).transpose(1, 2)  # (B, 16, C)
        return torch.cat([grid, out["pooled"].unsqueeze(1)], dim=1)  # (B, 17, 1792)

    def nudity(self, tokens: torch.Tensor) -> torch.Tensor:
        """nsfwjs's own five-class probabilities (B, 5) from the tokens (the last is its pooled input)."""
        return self.backbone.nudity_of(tokens[:, -1])

    def onnx_reader(self, folder: Path, threads: int = 2) -> Callable[[torch.Tensor], torch.Tensor]:
        """The tower exported to ONNX (in `folder`) and run by ONNX Runtime: the tokens as `forward` gives
        them (within 1e-4), several times faster on CPU, for training's cache (model/data.py)."""
        import onnxruntime as ort

        from model.nsfwjs import INPUT_SIZE

        path = folder / "nsfwjs-tokens.onnx"
        with warnings.catch_warnings():  # the tracer warns of the shapes it folds, as in model/export.py
            warnings.simplefilter("ignore")
            torch.onnx.export(
                self.eval(),
                (torch.zeros(1, INPUT_SIZE, INPUT_SIZE, 3, dtype=torch.uint8),),
                str(path),
                input_names=["pixels"],
                output_names=["tokens"],
                dynamic_axes={"pixels": {0: "batch"}, "tokens": {0: "batch"}},
                opset_version=17,
                dynamo=False,
            )
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

        def read(pixels: torch.Tensor) -> torch.Tensor:
            (tokens,) = session.run(["tokens"], {"pixels": pixels.numpy()})
            return torch.from_numpy(tokens)

        return read


CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def build_image_tower(config: ModelConfig) -> CNNTower | CLIPTower | NsfwjsImageTower:
    """Return the image tower the config names."""
    if config.image_tower == "cnn":
        return CNNTower(config)
    if config.image_tower == "clip":
        return CLIPTower(config)
    if config.image_tower == "nsfwjs":
        return NsfwjsImageTower(config)
    raise ValueError(f"unknown image tower {config.image_tower!r} (expected 'cnn', 'clip' or 'nsfwjs')")
