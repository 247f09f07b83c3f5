"""Tower and head shapes, absent modalities, and the CLIP tower from a tiny local checkpoint."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch

from model.config import ModelConfig
from model.image_tower import CNNTower
from model.network import SEXUAL_EXPLICIT, SEXUAL_RACY, SafetyModel, ScoringModel, probabilities
from model.text_tower import TextEncoder, default_text_path
from model.train import WeightAverage


@pytest.fixture(scope="module")
def text_encoder() -> TextEncoder:
    return TextEncoder.from_folder(default_text_path()).eval()


def _inputs(B: int, size: int, T: int = 9) -> tuple[torch.Tensor, ...]:
    pixels = torch.randint(0, 256, (B, size, size, 3), dtype=torch.uint8)
    ids = torch.randint(1000, 5000, (B, T))
    mask = torch.ones(B, T, dtype=torch.long)
    mask[0, 4:] = 0
    present = torch.ones(B, 2)
    present[B - 1, 0] = 0.0 if B > 1 else 1.0
    return pixels, ids, mask, present


def test_cnn_tower_tokens() -> None:
    cfg = ModelConfig()
    tower = CNNTower(cfg)
    tokens = tower(torch.zeros(3, cfg.image_size, cfg.image_size, 3, dtype=torch.uint8))
    side = cfg.image_size // 2 ** len(cfg.cnn_channels)
    assert tokens.shape == (3, side * side, cfg.cnn_channels[-1])


@pytest.mark.slow
def test_text_tower_matches_minilm_reference(text_encoder: TextEncoder) -> None:
    transformers = pytest.importorskip("transformers")
    ref = transformers.AutoModel.from_pretrained(default_text_path(), attn_implementation="eager").eval()
    _, ids, mask, _ = _inputs(2, 8)
    with torch.no_grad():
        ours = text_encoder(ids, mask)
        theirs = ref(input_ids=ids, attention_mask=mask).last_hidden_state
    assert ours.shape == (2, 9, 384)
    assert torch.allclose(ours[mask.bool()], theirs[mask.bool()], atol=1e-4)


def test_heads_shapes_and_probabilities(text_encoder: TextEncoder) -> None:
    cfg = ModelConfig(d_model=64, n_fusion_layers=1)
    model = ScoringModel(SafetyModel(cfg, text_encoder)).eval()
    with torch.no_grad():
        image, text, joint, cats = model(*_inputs(4, cfg.image_size))
    assert image.shape == text.shape == joint.shape == (4, 3)
    assert cats.shape == (4, 15)
    assert torch.allclose(joint.sum(-1), torch.ones(4), atol=1e-5)
    assert ((cats >= 0) & (cats <= 1)).all()


def test_absent_image_ignores_pixels(text_encoder: TextEncoder) -> None:
    cfg = ModelConfig(d_model=64, n_fusion_layers=1)
    model = SafetyModel(cfg, text_encoder).eval()
    pixels, ids, mask, present = _inputs(2, cfg.image_size)
    present[:, 0] = 0.0
    with torch.no_grad():
        a = model(pixels, ids, mask, present)["joint"]
        b = model(torch.zeros_like(pixels), ids, mask, present)["joint"]
    assert torch.allclose(a, b, atol=1e-5)


def test_padding_does_not_change_text_scores(text_encoder: TextEncoder) -> None:
    cfg = ModelConfig(d_model=64, n_fusion_layers=1)
    model = SafetyModel(cfg, text_encoder).eval()
    pixels, ids, mask, present = _inputs(1, cfg.image_size, T=5)
    mask[:] = 1
    padded_ids = torch.cat([ids, torch.zeros(1, 4, dtype=torch.long)], 1)
    padded_mask = torch.cat([mask, torch.zeros(1, 4, dtype=torch.long)], 1)
    with torch.no_grad():
        a = model(pixels, ids, mask, present)
        b = model(pixels, padded_ids, padded_mask, present)
    for key in ("text", "joint"):
        assert torch.allclose(a[key], b[key], atol=1e-4)


def test_clip_tower_from_tiny_local_checkpoint(tmp_path: Path, text_encoder: TextEncoder) -> None:
    transformers = pytest.importorskip("transformers")
    vision_cfg = transformers.CLIPVisionConfig(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        image_size=32,
        patch_size=8,
    )
    transformers.CLIPVisionModel(vision_cfg).save_pretrained(tmp_path / "clip")
    cfg = ModelConfig(image_tower="clip", clip_path=str(tmp_path / "clip"), image_size=32, d_model=64)
    model = ScoringModel(SafetyModel(cfg, text_encoder)).eval()
    with torch.no_grad():
        image, _, joint, cats = model(*_inputs(2, 32))
    assert image.shape == joint.shape == (2, 3) and cats.shape == (2, 15)
    tokens = model.model.image_tower(torch.zeros(2, 32, 32, 3, dtype=torch.uint8))
    assert tokens.shape == (2, 1 + (32 // 8) ** 2, 32)  # class token + patches


def test_weight_average_follows_the_trained_weights_not_the_frozen_tower(text_encoder: TextEncoder) -> None:
    tower = copy.deepcopy(text_encoder)  # changed below; the module's fixture stays as it was
    model = SafetyModel(ModelConfig(d_model=32, n_heads=2, n_fusion_layers=1), tower)
    average = WeightAverage(model, decay=0.9)
    start = {k: v.clone() for k, v in average.model.state_dict().items()}
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)  # the frozen tower's too: the average must not follow it
    average.update(step=1000)  # past the warm-up: the configured decay applies
    after = average.model.state_dict()
    name = next(k for k, p in model.named_parameters() if p.requires_grad)
    assert torch.allclose(after[name], start[name] + 0.1, atol=1e-6)  # a tenth of the way to the live weights
    assert all(torch.equal(after[k], start[k]) for k in start if k.startswith("text_encoder."))
    assert WeightAverage(model, decay=0.0).model is model  # 0 = train and save the raw weights


def _logits(batch: int) -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    heads = {"image": 3, "text": 3, "joint": 3, "categories": 15}
    return {name: torch.randn(batch, width) for name, width in heads.items()}


def test_probabilities_without_a_nudity_reading_are_the_heads_softmax_and_sigmoid() -> None:
    logits = _logits(4)
    scores = probabilities(logits)
    torch.testing.assert_close(scores["image"], logits["image"].softmax(-1))
    torch.testing.assert_close(scores["categories"], logits["categories"].sigmoid())
    assert "nudity" not in scores


def test_nsfwjs_reading_lifts_the_image_and_the_sexual_categories_only_past_its_floor() -> None:
    logits = _logits(4)
    #                drawing hentai neutral porn  sexy
    nudity = torch.tensor(
        [
            [0.02, 0.01, 0.95, 0.01, 0.01],  # an ordinary photo: nothing changes
            [0.00, 0.00, 0.03, 0.97, 0.00],  # explicit: image unsafe, sexual_explicit
            [0.00, 0.00, 0.10, 0.00, 0.90],  # racy: borderline at least, sexual_racy
            [0.00, 0.00, 0.30, 0.00, 0.70],  # half-way between the floor and full
        ]
    )
    plain = probabilities(logits)
    scores = probabilities(logits | {"nudity": nudity})
    torch.testing.assert_close(scores["image"][0], plain["image"][0])
    torch.testing.assert_close(scores["categories"][0], plain["categories"][0])
    torch.testing.assert_close(scores["image"].sum(-1), torch.ones(4))
    assert scores["image"][1, 2] == 1.0 and scores["categories"][1, SEXUAL_EXPLICIT] == 1.0
    assert scores["image"][2, 1] >= 1.0 - plain["image"][2, 2] - 1e-6
    assert float(scores["categories"][2, SEXUAL_RACY]) == pytest.approx(1.0)
    assert scores["categories"][3, SEXUAL_RACY] == pytest.approx(max(0.5, float(plain["categories"][3, 6])))
    others = [i for i in range(15) if i not in (SEXUAL_EXPLICIT, SEXUAL_RACY)]
    torch.testing.assert_close(scores["categories"][:, others], plain["categories"][:, others])
    torch.testing.assert_close(scores["joint"], plain["joint"])  # the policy grades the joint as the image
