"""Real text in training: splits by source, hand-written texts, long texts, controls, the text stage."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from model.public import (
    CONTROL_KINDS,
    PHOTOS,
    ControlImage,
    long_texts,
    read_texts,
    split_of,
    with_controls,
)
from model.train import text_labels
from service.evaluation.labelled_data import LabelledItem
from service.policy.rules import Grade


def text_item(text: str, grade: Grade, source: str = "x", group: str = "") -> LabelledItem:
    return LabelledItem(f"{source}-{text}", None, text, None, grade, grade, (), source=source, group=group)


def test_sources_and_groups_land_in_their_split() -> None:
    assert split_of(text_item("a", "unsafe", "harmbench")) == "val"
    assert split_of(text_item("a", "unsafe", "strongreject")) == "report"
    assert split_of(text_item("a", "unsafe", "advbench")) == "train"
    assert split_of(text_item("a", "safe", "self_instruct_seed")) == "report"
    assert split_of(text_item("a", "unsafe", "toxigen", "jewish")) == "val"
    assert split_of(text_item("a", "unsafe", "toxigen", "muslim")) == "report"
    assert split_of(text_item("a", "unsafe", "toxigen", "lgbtq")) == "train"
    assert split_of(text_item("a", "unsafe", "unknown-source")) is None
    kept = [split_of(text_item(f"question {n}", "safe", "gsm8k")) for n in range(7473)]
    assert set(kept) == {"train", None} and 900 <= kept.count("train") <= 1100  # capped near 1,000


def test_hand_written_texts_are_read_and_checked(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    rows = [
        {
            "text": "kill the stuck process",
            "grade": "safe",
            "categories": ["interpersonal_violence"],
            "kind": "k",
        },
        {"text": "how do I hurt him", "grade": "unsafe", "categories": ["interpersonal_violence"]},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    items = read_texts(path, "lookalikes")
    assert [(i.text, i.joint_grade, i.categories, i.group) for i in items] == [
        ("kill the stuck process", "safe", (), "k"),  # a harmless text carries no category
        ("how do I hurt him", "unsafe", ("interpersonal_violence",), ""),
    ]
    assert all(i.image is None and i.text_grade == i.joint_grade for i in items)
    path.write_text(json.dumps({"text": "x", "grade": "awful"}) + "\n")
    with pytest.raises(ValueError, match="line 1"):
        read_texts(path, "lookalikes")


def test_control_pictures_carry_nothing_and_keep_the_texts_grade() -> None:
    for kind in CONTROL_KINDS:
        pixels = ControlImage(kind, 7).pixels(32)
        assert pixels.shape == (32, 32, 3) and pixels.dtype == np.uint8
        np.testing.assert_array_equal(pixels, ControlImage(kind, 7).pixels(32))  # seeded
    assert (ControlImage("white", 1).pixels(8) == 255).all()
    items = [text_item(f"t{n}", "unsafe" if n % 2 else "safe") for n in range(200)]
    paired = with_controls(items, seed=0)
    assert 60 < len(paired) < 140
    for item in paired:
        assert isinstance(item.image, ControlImage) and item.image_grade == "safe"
        assert item.joint_grade == item.text_grade


def test_photo_controls_are_crops_of_the_training_photos_and_held_out_ones_beside_held_out_texts() -> None:
    assert not set(PHOTOS["train"]) & set(PHOTOS["held-out"])
    crops = [ControlImage("photo", seed).pixels(64) for seed in range(6)]
    assert all(c.shape == (64, 64, 3) and c.std() > 5 for c in crops)  # photographs, not flat colour
    assert len({c.tobytes() for c in crops}) == 6  # each seed its own crop
    held_out = ControlImage("photo", 3, "held-out").pixels(64)
    assert not any(np.array_equal(held_out, c) for c in crops)
    items = [replace(text_item(f"t{n}", "safe"), split="train" if n % 2 else "report") for n in range(400)]
    photos = [
        (i.split, i.image.photos)
        for i in with_controls(items, seed=1)
        if isinstance(i.image, ControlImage) and i.image.kind == "photo"
    ]
    assert photos and all((photos_of == "train") == (split == "train") for split, photos_of in photos)


def test_long_texts_put_a_harm_after_harmless_context() -> None:
    items = [text_item(f"harmless sentence {n}.", "safe") for n in range(20)]
    items.append(text_item("tell me how to poison my neighbour", "unsafe"))
    made = long_texts(items, seed=0, count=10)
    assert len(made) == 10
    unsafe = [i for i in made if i.joint_grade == "unsafe"]
    assert len(unsafe) == 5 and all(i.text and i.text.endswith("poison my neighbour") for i in unsafe)
    assert all(i.text and len(i.text) > 50 for i in made)


def test_text_labels_take_the_most_severe_grade_and_the_texts_own_categories() -> None:
    harmless_text = LabelledItem("a", object(), "hi", "unsafe", "safe", "unsafe", ("gore",))
    same_text_alone = LabelledItem("b", None, "hi", None, "safe", "safe")
    harmful = LabelledItem("c", None, "hurt", None, "unsafe", "unsafe", ("interpersonal_violence",))
    labels = {label.text: label for label in text_labels([harmless_text, same_text_alone, harmful])}
    assert (labels["hi"].grade, labels["hi"].categories) == ("safe", ())  # the picture made it unsafe
    assert (labels["hurt"].grade, labels["hurt"].categories) == ("unsafe", ("interpersonal_violence",))


@pytest.mark.slow
def test_the_text_stage_tunes_only_the_top_layers() -> None:
    from model.data import load_tokenizer
    from model.text_stage import TextLabel, TextStageConfig, tune_text_tower
    from model.text_tower import TextEncoder, default_text_path

    encoder = TextEncoder.from_folder(default_text_path()).eval()
    tokenizer = load_tokenizer(default_text_path() / "tokenizer.json", 64)
    labels = [TextLabel("kill the process", "safe", ()), TextLabel("kill him", "unsafe", ("gore",))] * 16
    before = {k: v.clone() for k, v in encoder.state_dict().items()}
    stats = tune_text_tower(encoder, labels, tokenizer, TextStageConfig(layers=2, epochs=1))
    changed = {k.split(".")[1] for k, v in encoder.state_dict().items() if not torch.equal(before[k], v)}
    assert changed == {"4", "5"} and stats["texts"] == 32
    assert not any(p.requires_grad for p in encoder.parameters())  # frozen again for the fusion
