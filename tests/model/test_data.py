"""User labelled files for training: read as the service's eval reads them, images decoded as it does."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from model.data import file_samples, load_image
from service.serving.inputs import decode_image


def _png(path: Path, colour: tuple[int, int, int]) -> None:
    Image.new("RGB", (40, 30), colour).save(path)


def test_jsonl_samples_skip_missing_images_and_bad_rows(tmp_path: Path) -> None:
    _png(tmp_path / "a.png", (200, 0, 0))
    rows = [
        {
            "id": "a",
            "image": "a.png",
            "text": "how much for this one?",
            "image_grade": "Safe",
            "text_grade": "safe",
            "joint_grade": "Unsafe",
            "categories": ["C15: Human Exploitation"],
        },
        {"id": "b", "text": "hello", "text_grade": "safe", "joint_grade": "safe"},
        {"id": "c", "image": "missing.png", "joint_grade": "safe"},
        {"id": "d", "text": "x", "joint_grade": "sort of"},
        {"id": "e", "image": "broken.png", "joint_grade": "safe"},  # not an image: skipped, not fatal
    ]
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n but the rest is not")
    path = tmp_path / "labels.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    samples, skipped = file_samples(path)
    assert [s.id for s in samples] == ["a", "b"]
    assert skipped == 3
    first = samples[0]
    assert first.image == tmp_path / "a.png" and first.pattern == "S-S-U" and first.emergent
    assert first.categories == ("human_exploitation",)
    assert samples[1].image is None and samples[1].image_grade is None
    assert {s.split for s in samples} <= {"train", "val", "test"}
    assert file_samples(path)[0] == samples  # the split is stable


def test_training_decodes_images_like_the_service(tmp_path: Path) -> None:
    image = Image.fromarray(np.random.default_rng(0).integers(0, 255, (300, 400, 3), dtype=np.uint8))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=80)
    (tmp_path / "x.jpg").write_bytes(buffer.getvalue())
    served = decode_image(buffer.getvalue(), 64, 10_000_000)
    np.testing.assert_array_equal(load_image(tmp_path / "x.jpg", 64), served)


def test_length_batches_cover_every_sample_once_with_less_padding() -> None:
    import torch

    from model.train import length_batches

    lengths = torch.randint(2, 60, (1000,), generator=torch.Generator().manual_seed(0))
    batches = length_batches(lengths, 16, torch.Generator().manual_seed(1))
    assert sorted(torch.cat(batches).tolist()) == list(range(1000))  # an epoch sees each sample once
    assert all(len(b) <= 16 for b in batches)

    def padded_tokens(bs: list[torch.Tensor]) -> int:
        return sum(int(lengths[b].max()) * len(b) for b in bs)

    shuffled = list(torch.randperm(1000, generator=torch.Generator().manual_seed(2)).split(16))
    assert padded_tokens(batches) < 0.7 * padded_tokens(shuffled)
    again = length_batches(lengths, 16, torch.Generator().manual_seed(3))
    assert [b.tolist() for b in again] != [b.tolist() for b in batches]  # each epoch draws anew


def test_added_items_all_train_and_leave_the_corpus_splits_alone(tmp_path: Path) -> None:
    from model.train import TrainConfig, added_samples, load_samples

    _png(tmp_path / "a.png", (0, 120, 0))
    rows = [
        {"id": f"extra-{n}", "image": "a.png", "text": f"labelled text {n}", "joint_grade": "unsafe"}
        for n in range(12)
    ] + [{"id": "gone", "image": "missing.png", "joint_grade": "safe"}]
    path = tmp_path / "added.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    cfg = TrainConfig(corpus_size=600, add=str(path))
    added = added_samples(cfg)
    assert [s.id for s in added] == [f"extra-{n}" for n in range(12)]  # the row without its image is skipped
    assert {s.split for s in added} == {"train"}  # whatever their id hashes to
    assert load_samples(cfg) == load_samples(TrainConfig(corpus_size=600))
    assert added_samples(TrainConfig(corpus_size=600)) == []


def test_a_train_share_keeps_a_seeded_part_of_the_training_split_and_the_rest_whole() -> None:
    from model.train import TrainConfig, load_samples

    whole = load_samples(TrainConfig(corpus_size=600))
    part = load_samples(TrainConfig(corpus_size=600, train_share=0.75))
    assert len(part["train"]) == round(0.75 * len(whole["train"]))
    assert {s.id for s in part["train"]} < {s.id for s in whole["train"]}
    assert part["val"] == whole["val"] and part["test"] == whole["test"]  # figures stay comparable
    assert part == load_samples(TrainConfig(corpus_size=600, train_share=0.75))  # the same draw every time
    assert part["train"] != whole["train"][: len(part["train"])]  # a draw over the split, not its head


def test_image_rows_read_each_distinct_picture_once_and_keep_a_frozen_towers_tokens(tmp_path: Path) -> None:
    from model.data import image_rows
    from model.public import ControlImage
    from service.evaluation.labelled_data import LabelledItem

    _png(tmp_path / "a.png", (200, 10, 10))
    white = ControlImage("white", 1)
    pictures = [tmp_path / "a.png", white, None, tmp_path / "a.png", ControlImage("white", 1)]
    samples = [LabelledItem(f"i{n}", p, "t", None, "safe", "safe") for n, p in enumerate(pictures)]
    read: list[int] = []

    def tower(pixels: torch.Tensor) -> torch.Tensor:  # a stand-in: two "tokens", the mean colour and its max
        read.append(len(pixels))
        flat = pixels.float().flatten(1, 2)  # (B, H*W, 3)
        return torch.stack([flat.mean(1), flat.amax(1)], dim=1)  # (B, 2, 3)

    images, index = image_rows(samples, 16, tower)
    assert index.tolist() == [1, 2, 0, 1, 2]  # row 0: no picture
    assert images.dtype == torch.float16 and images.shape == (3, 2, 3)
    assert sum(read) == 1 + 2  # the blank once, then each distinct picture once
    torch.testing.assert_close(images[1, 0].float(), torch.tensor([200.0, 10.0, 10.0]), atol=1, rtol=0)
    torch.testing.assert_close(images[2, 1].float(), torch.full((3,), 255.0))
    pixels, same_index = image_rows(samples, 16)  # a tower that trains: pixels, row 0 black
    assert same_index.tolist() == index.tolist() and pixels.shape == (3, 16, 16, 3)
    assert pixels.dtype == torch.uint8 and not pixels[0].any()
