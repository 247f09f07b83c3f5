"""Hand-written requests in shared frames: everyday and harm-word harmless tasks beside harmful ones.

The public harmless sources hold maths problems and a few hundred instructions (held out), so the model
met few everyday requests and learnt "an imperative is harmful". Here every task, harmless or harmful,
is asked in frames drawn from one list (model/data/requests/frames.yaml: plain, polite, casual, "for
research", fiction, role-play), so a frame's words carry no signal and only the task decides; complete
prompts in many styles come beside them, and statements about groups of people, neutral and hateful,
each frame filled with every group (statements.yaml). All of it is training data: the figures come
from other sources.
"""

from __future__ import annotations

import hashlib
import random
from pathlib import Path
from typing import Any

import yaml

from service.evaluation.labelled_data import LabelledItem
from service.taxonomy import CATEGORIES

REQUESTS = Path(__file__).parent / "data" / "requests"
FRAMES_PER_TASK = 3


def _read(name: str) -> dict[str, Any]:
    data = yaml.safe_load((REQUESTS / name).read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{REQUESTS / name}: expected a mapping")
    return data


def _item(text: str, grade: str, categories: tuple[str, ...], group: str) -> LabelledItem:
    unknown = set(categories) - set(CATEGORIES)
    if unknown or not text.strip():
        raise ValueError(f"requests ({group}): {text!r} has an unknown category {sorted(unknown)} or no text")
    return LabelledItem(
        id="requests-" + hashlib.sha256(f"{grade}\n{text}".encode()).hexdigest()[:16],
        image=None,
        text=text.strip(),
        image_grade=None,
        text_grade=grade,  # type: ignore[arg-type]
        joint_grade=grade,  # type: ignore[arg-type]
        categories=categories,
        split="train",
        source="requests",
        group=group,
    )


def request_items(seed: int, frames_per_task: int = FRAMES_PER_TASK) -> list[LabelledItem]:
    """Return the requests (each task in `frames_per_task` seeded frames), the prompts, the statements."""
    frames = [str(f) for f in _read("frames.yaml")["frames"]]
    if not frames or any("{task}" not in f for f in frames):
        raise ValueError(f"{REQUESTS / 'frames.yaml'}: every frame needs a {{task}} slot")
    rng = random.Random(seed)
    harmless, harmful = _read("harmless.yaml"), _read("harmful.yaml")
    tasks: list[tuple[str, str, tuple[str, ...], str]] = [
        (str(task), "safe", (), f"harmless:{kind}")
        for kind, listed in harmless["tasks"].items()
        for task in listed
    ]
    tasks += [
        (str(task), "unsafe", (str(category),), f"harmful:{category}")
        for category, listed in harmful["tasks"].items()
        for task in listed
    ]
    items = [
        _item(frame.format(task=task), grade, categories, group)
        for task, grade, categories, group in tasks
        for frame in rng.sample(frames, frames_per_task)
    ]
    items += [_item(str(text), "safe", (), "harmless:instruction") for text in harmless["instructions"]]
    items += [
        _item(str(row["text"]), "unsafe", tuple(row["categories"]), "harmful:instruction")
        for row in harmful["instructions"]
    ]
    statements = _read("statements.yaml")
    for key, grade, categories in (("neutral", "safe", ()), ("hateful", "unsafe", ("hate_speech",))):
        items += [
            _item(str(frame).format(group=group), grade, categories, f"statement:{key}")
            for frame in statements[key]
            for group in statements["groups"]
        ]
    unique = {i.id: i for i in items}  # a frame drawn twice for one task makes one item
    return list(unique.values())
