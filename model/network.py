"""The fused image+text safety classifier.

    pixels ──► image tower ──► image tokens ─┐                     ┌─► image head (3)
                                              ├─ unimodal blocks ──┤
    tokens ──► text tower  ──► text tokens  ─┘         │           └─► text head (3)
                                                 cross-attention (image <-> text)
                                                       │
                                   pooled interaction features ──► joint head (3), categories (15)

A missing modality is replaced by a learned "absent" embedding, selected by the `present` input.
The image and text heads read only their own modality, so their grades are truly "alone".
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from model.config import ModelConfig
from model.image_tower import NsfwjsImageTower, build_image_tower
from model.nsfwjs import NUDITY_CLASSES
from model.text_tower import TextEncoder, default_text_path
from service.taxonomy import CATEGORIES


class Attention(nn.Module):
    """Multi-head attention from queries `x` to keys/values `context`."""

    def __init__(self, d: int, n_heads: int, dropout: float) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.head_dim = d // n_heads
        self.scale = 1.0 / math.sqrt(self.head_dim)
        self.q = nn.Linear(d, d)
        self.kv = nn.Linear(d, 2 * d)
        self.out = nn.Linear(d, d)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, context: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        B, T, C = x.shape
        S = context.shape[1]
        h, c = self.n_heads, self.head_dim
        q = self.q(x).view(B, T, h, c).transpose(1, 2)  # (B, h, T, c)
        k, v = self.kv(context).chunk(2, dim=2)
        k = k.reshape(B, S, h, c).transpose(1, 2)  # (B, h, S, c)
        v = v.reshape(B, S, h, c).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * self.scale  # (B, h, T, S)
        if bias is not None:
            att = att + bias
        y = self.drop(att.softmax(dim=-1)) @ v  # (B, h, T, c)
        return self.out(y.transpose(1, 2).reshape(B, T, C))


class MLP(nn.Module):
    def __init__(self, d: int, dropout: float) -> None:
        super().__init__()
        self.fc = nn.Linear(d, 4 * d)
        self.proj = nn.Linear(4 * d, d)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.proj(F.gelu(self.fc(x))))


class SelfBlock(nn.Module):
    """Pre-LN transformer block within one modality."""

    def __init__(self, d: int, n_heads: int, dropout: float) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(d)
        self.attn = Attention(d, n_heads, dropout)
        self.ln2 = nn.LayerNorm(d)
        self.mlp = MLP(d, dropout)

    def forward(self, x: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        h = self.ln1(x)
        x = x + self.attn(h, h, bias)
        return x + self.mlp(self.ln2(x))


class CrossBlock(nn.Module):
    """Image tokens attend to text tokens and text tokens attend to image tokens."""

    def __init__(self, d: int, n_heads: int, dropout: float) -> None:
        super().__init__()
        self.ln_img = nn.LayerNorm(d)
        self.ln_txt = nn.LayerNorm(d)
        self.img_from_txt = Attention(d, n_heads, dropout)
        self.txt_from_img = Attention(d, n_heads, dropout)
        self.ln_img2 = nn.LayerNorm(d)
        self.ln_txt2 = nn.LayerNorm(d)
        self.mlp_img = MLP(d, dropout)
        self.mlp_txt = MLP(d, dropout)

    def forward(
        self, img: torch.Tensor, txt: torch.Tensor, txt_bias: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        i, t = self.ln_img(img), self.ln_txt(txt)
        img = img + self.img_from_txt(i, t, txt_bias)  # (B, N, d)
        txt = txt + self.txt_from_img(t, i, None)  # (B, T, d)
        img = img + self.mlp_img(self.ln_img2(img))
        txt = txt + self.mlp_txt(self.ln_txt2(txt))
        return img, txt


class Head(nn.Module):
    def __init__(self, d_in: int, d: int, n_out: int, dropout: float) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.LayerNorm(d_in), nn.Linear(d_in, d), nn.GELU(), nn.Dropout(dropout), nn.Linear(d, n_out)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over tokens where mask is 1: (B, T, C), (B, T) -> (B, C)."""
    m = mask.unsqueeze(-1).to(x.dtype)  # (B, T, 1)
    return (x * m).sum(1) / m.sum(1).clamp(min=1.0)


class SafetyModel(nn.Module):
    """Image tower + text tower + fusion + heads. Outputs logits."""

    def __init__(self, config: ModelConfig, text_encoder: TextEncoder | None = None) -> None:
        super().__init__()
        self.config = config
        d, h, p = config.d_model, config.n_heads, config.dropout
        self.image_tower = build_image_tower(config)
        if text_encoder is None:
            folder = default_text_path() if config.text_path is None else Path(config.text_path)
            text_encoder = TextEncoder.from_folder(folder)
        self.text_encoder = text_encoder
        if config.freeze_text:
            self.text_encoder.requires_grad_(False)
        self.image_proj = nn.Linear(self.image_tower.width, d)
        self.text_proj = nn.Linear(self.text_encoder.hidden, d)
        # the encoder's own sentence embedding (mean-pooled, normalised: what all-MiniLM-L6-v2 was
        # trained to produce) carries intent across paraphrases better than trained token features
        self.sentence_proj = nn.Linear(self.text_encoder.hidden, d)
        self.absent_image = nn.Parameter(torch.randn(1, 1, d) * 0.02)
        self.absent_text = nn.Parameter(torch.randn(1, 1, d) * 0.02)
        self.image_block = SelfBlock(d, h, p)
        self.text_block = SelfBlock(d, h, p)
        self.fusion = nn.ModuleList(CrossBlock(d, h, p) for _ in range(config.n_fusion_layers))
        self.image_head = Head(d, d, config.n_grades, p)
        self.text_head = Head(d, d, config.n_grades, p)
        self.joint_trunk = Head(6 * d, d, d, p)
        self.joint_head = nn.Linear(d, config.n_grades)
        self.category_head = nn.Linear(d, config.n_categories)
        # training-only: naming the glyphs in a scene teaches the from-scratch image tower to see
        # them far sooner than the grade labels alone; not part of the exported graph
        self.glyph_head = nn.Linear(d, config.n_glyphs) if config.n_glyphs else None

    def encode_text(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Return the text tower's token states (B, T, hidden)."""
        if self.config.freeze_text:
            with torch.no_grad():
                return self.text_encoder(input_ids, attention_mask)
        return self.text_encoder(input_ids, attention_mask)

    def forward(
        self,
        pixels: torch.Tensor,  # (B, H, W, 3) uint8
        input_ids: torch.Tensor,  # (B, T) int64
        attention_mask: torch.Tensor,  # (B, T) int64
        present: torch.Tensor,  # (B, 2) float: image present, text present
    ) -> dict[str, torch.Tensor]:
        return self.fuse(pixels, self.encode_text(input_ids, attention_mask), attention_mask, present)

    def pictured_tokens(self, pixels: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
        """The frozen tower's tokens of the rows that have a picture, zeros elsewhere (the absent embedding
        replaces them): a text-only row then costs no backbone pass, in any batch (NonZero, Gather,
        ScatterND in the graph). One black picture more is always read and dropped: ONNX Runtime's
        convolutions fail on an empty batch (a batch of texts only)."""
        rows = present[:, 0].nonzero().flatten()
        spare = torch.zeros_like(pixels[:1])
        read = self.image_tower(torch.cat([pixels.index_select(0, rows), spare]))[:-1]  # (n, N, C)
        tokens = torch.zeros(pixels.shape[0], read.shape[1], read.shape[2], dtype=read.dtype)
        return tokens.index_put((rows,), read)

    def fuse(
        self,
        images: torch.Tensor,
        text_states: torch.Tensor,
        attention_mask: torch.Tensor,
        present: torch.Tensor,
    ) -> dict[str, torch.Tensor]:
        """Everything after the text tower (training caches the frozen tower's states).

        `images`: pixels (B, H, W, 3) uint8, or, for a frozen image tower, its tokens (B, N, C) in floating
        point (training caches them too: model/data.py).
        """
        p_img = present[:, 0].view(-1, 1, 1)  # (B, 1, 1)
        p_txt = present[:, 1].view(-1, 1, 1)
        if images.is_floating_point():
            tokens = images.float()
        elif isinstance(self.image_tower, NsfwjsImageTower):
            tokens = self.pictured_tokens(images, present)
        else:
            tokens = self.image_tower(images)
        img = self.image_proj(tokens)  # (B, N, d)
        txt = self.text_proj(text_states)  # (B, T, d)
        img = p_img * img + (1.0 - p_img) * self.absent_image
        txt = p_txt * txt + (1.0 - p_txt) * self.absent_text
        txt_bias = (1.0 - attention_mask[:, None, None, :].to(txt.dtype)) * -1e4  # (B, 1, 1, T)

        img = self.image_block(img, None)
        txt = self.text_block(txt, txt_bias)
        sentence = F.normalize(masked_mean(text_states, attention_mask), dim=-1)  # (B, hidden)
        img_alone = img.mean(1)  # (B, d)
        txt_alone = masked_mean(txt, attention_mask) + p_txt[:, 0] * self.sentence_proj(sentence)  # (B, d)

        for block in self.fusion:
            img, txt = block(img, txt, txt_bias)
        img_joint = img.mean(1)
        txt_joint = masked_mean(txt, attention_mask)
        features = torch.cat(
            [
                img_joint,
                txt_joint,
                img_joint * txt_joint,
                (img_joint - txt_joint).abs(),
                img_alone,
                txt_alone,
            ],
            dim=-1,
        )  # (B, 6d)
        trunk = F.gelu(self.joint_trunk(features))  # (B, d)
        out = {
            "image": self.image_head(img_alone),
            "text": self.text_head(txt_alone),
            "joint": self.joint_head(trunk),
            "categories": self.category_head(trunk),
            "glyphs": self.glyph_head(img_alone) if self.glyph_head is not None else img_alone[:, :0],
        }
        if isinstance(self.image_tower, NsfwjsImageTower):  # its own reading of the picture, untrained here
            out["nudity"] = self.image_tower.nudity(tokens) * p_img[:, 0]
        return out


# nsfwjs's five classes as evidence for the image reading and the two sexual categories. No labelled
# explicit photographs exist here to fit this on, so it is a fixed rule: a class's probability counts from
# NUDITY_FLOOR (its argmax-like region) and in full from NUDITY_FULL; ordinary photos score under 0.05.
NUDITY_FLOOR, NUDITY_FULL = 0.5, 0.9
SCORE_NAMES = ("image", "text", "joint", "categories", "nudity")  # the graph's outputs, in order
EXPLICIT = (NUDITY_CLASSES.index("porn"), NUDITY_CLASSES.index("hentai"))
RACY = NUDITY_CLASSES.index("sexy")
SEXUAL_EXPLICIT, SEXUAL_RACY = CATEGORIES.index("sexual_explicit"), CATEGORIES.index("sexual_racy")


def probabilities(out: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Logits to the exported graph's probabilities; with nsfwjs's reading (`nudity`), explicit evidence
    lifts the image's unsafe score and `sexual_explicit`, racy evidence its borderline score and
    `sexual_racy` (the policy then grades the joint as the image: design §2)."""
    image = out["image"].softmax(-1)
    scores = {
        "image": image,
        "text": out["text"].softmax(-1),
        "joint": out["joint"].softmax(-1),
        "categories": out["categories"].sigmoid(),
    }
    nudity = out.get("nudity")
    if nudity is None:
        return scores
    evidence = ((nudity - NUDITY_FLOOR) / (NUDITY_FULL - NUDITY_FLOOR)).clamp(0.0, 1.0)  # (B, 5)
    explicit = evidence[:, EXPLICIT[0]] + evidence[:, EXPLICIT[1]]
    racy = evidence[:, RACY]
    explicit = explicit.clamp(max=1.0)
    unsafe = torch.maximum(image[:, 2], explicit)
    borderline = torch.minimum(torch.maximum(image[:, 1], racy), 1.0 - unsafe)
    safe = (1.0 - unsafe - borderline).clamp(min=0.0)  # the softmax's own without evidence
    scores["image"] = torch.stack([safe, borderline, unsafe], dim=-1)
    categories = scores["categories"].clone()
    categories[:, SEXUAL_EXPLICIT] = torch.maximum(categories[:, SEXUAL_EXPLICIT], explicit)
    categories[:, SEXUAL_RACY] = torch.maximum(categories[:, SEXUAL_RACY], racy)
    scores["categories"] = categories
    scores["nudity"] = nudity
    return scores


class ScoringModel(nn.Module):
    """The exported graph: logits -> probabilities, in the manifest's output order."""

    def __init__(self, model: SafetyModel) -> None:
        super().__init__()
        self.model = model

    def forward(
        self,
        pixels: torch.Tensor,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        present: torch.Tensor,
    ) -> tuple[torch.Tensor, ...]:
        scores = probabilities(self.model(pixels, input_ids, attention_mask, present))
        return tuple(scores[name] for name in SCORE_NAMES if name in scores)
