"""The hand-written requests: shared frames, both grades, nothing of the sealed sets."""

from __future__ import annotations

from collections import defaultdict

from model.public import contrast_items
from model.requests import _read, request_items
from service.taxonomy import CATEGORIES


def test_requests_hold_both_grades_with_known_categories_and_unique_ids() -> None:
    items = request_items(seed=0)
    assert len({i.id for i in items}) == len(items)
    by_grade = defaultdict(list)
    for item in items:
        by_grade[item.joint_grade].append(item)
        assert item.text and item.split == "train" and item.source == "requests"
        assert item.text_grade == item.joint_grade and item.image is None
        assert (item.joint_grade == "safe") == (not item.categories)
        assert set(item.categories) <= set(CATEGORIES)
    assert set(by_grade) == {"safe", "unsafe"}
    assert len(by_grade["safe"]) >= 1000 and len(by_grade["unsafe"]) >= 500
    # every category is asked for, so no harm is only ever seen in the public sources
    assert {c for i in by_grade["unsafe"] for c in i.categories} == set(CATEGORIES)


def test_a_frame_carries_harmless_and_harmful_tasks_alike() -> None:
    frames = [f.split("{task}") for f in _read("frames.yaml")["frames"]]
    grades_of_frame = defaultdict(set)
    for item in request_items(seed=0):
        text = item.text or ""
        for n, (head, tail) in enumerate(frames):
            if not item.group.startswith(("harmless:", "harmful:")) or item.group.endswith("instruction"):
                break
            if text.startswith(head) and text.endswith(tail):
                grades_of_frame[n].add(item.joint_grade)
    # a frame's words say nothing: all but a few frames (a seeded draw) carry both grades
    assert sum(g == {"safe", "unsafe"} for g in grades_of_frame.values()) >= len(frames) - 2


def test_the_draw_is_seeded() -> None:
    assert [i.text for i in request_items(seed=3)] == [i.text for i in request_items(seed=3)]
    assert [i.text for i in request_items(seed=3)] != [i.text for i in request_items(seed=4)]


def test_no_request_is_a_sealed_contrast_text() -> None:
    sealed = {i.text.casefold() for i in contrast_items() if i.text}
    assert not [i.text for i in request_items(seed=0) if i.text and i.text.casefold() in sealed]
