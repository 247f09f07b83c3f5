"""The synthetic corpus: coverage, splits, validity, rendering, CLI and the handwritten evaluation pairs."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from model.corpus.build import SPLITS, build_corpus, check_example, corpus_intent, corpus_stats
from model.corpus.cli import main as corpus_cli
from model.corpus.glyphs import GLYPH_DIR, glyph_names, load_glyph
from model.corpus.scenes import Scene, image_grade, render_scene
from model.corpus.texts import INTENT_DIR, INTENTS, IntentFileError, load_intent_file, load_intents
from service.evaluation.labelled_data import LabelledItem
from service.taxonomy import CATEGORIES, GRADES, VALID_PATTERNS, is_valid_pattern

FIXTURE = Path(__file__).parents[2] / "model" / "data" / "handwritten_pairs.jsonl"


@cache
def corpus() -> tuple[LabelledItem, ...]:
    """Build the default corpus once for the whole module."""
    return tuple(build_corpus(seed=0, size=24000))


def test_corpus_has_requested_size_and_split_shares() -> None:
    examples = corpus()
    counts = Counter(e.split for e in examples)
    assert len(examples) == 24000
    assert counts["train"] == pytest.approx(0.70 * 24000, rel=0.02)
    assert counts["val"] == pytest.approx(0.15 * 24000, rel=0.05)
    assert counts["test"] == pytest.approx(0.15 * 24000, rel=0.05)
    assert len({e.id for e in examples}) == len(examples)


@pytest.mark.parametrize("split", SPLITS)
def test_every_valid_pattern_in_every_split(split: str) -> None:
    patterns = Counter(e.pattern for e in corpus() if e.split == split and e.pattern)
    assert set(patterns) == set(VALID_PATTERNS)
    assert min(patterns.values()) >= 15, patterns


@pytest.mark.parametrize("split", SPLITS)
def test_every_category_in_every_split(split: str) -> None:
    categories = Counter(c for e in corpus() if e.split == split for c in e.categories)
    assert set(categories) == set(CATEGORIES)


@pytest.mark.parametrize("split", SPLITS)
def test_every_intent_in_every_split(split: str) -> None:
    assert {corpus_intent(e) for e in corpus() if e.split == split and e.text} == {i.name for i in INTENTS}


def test_emergent_share_of_unsafe_pairs() -> None:
    stats = corpus_stats(list(corpus()))
    assert stats["emergent_share_of_unsafe"] >= 0.30


def test_joint_classes_are_balanced() -> None:
    joint: Counter[str] = Counter(e.joint_grade for e in corpus())
    for grade in GRADES:
        assert joint[grade] / len(corpus()) >= 0.20, joint


def test_image_only_and_text_only_examples_are_included() -> None:
    kinds = corpus_stats(list(corpus()))["kinds"]
    assert 0.05 <= kinds["image_only"] / 24000 <= 0.11
    assert 0.05 <= kinds["text_only"] / 24000 <= 0.11


def test_no_family_in_two_splits() -> None:
    splits_of: dict[str, set[str]] = {}
    for example in corpus():
        if example.group:
            splits_of.setdefault(example.group, set()).add(example.split)
    assert all(len(s) == 1 for s in splits_of.values())


def test_no_scene_seed_in_two_splits() -> None:
    splits_of: dict[int, set[str]] = {}
    for example in corpus():
        if isinstance(example.image, Scene):
            splits_of.setdefault(example.image.seed, set()).add(example.split)
    assert all(len(s) == 1 for s in splits_of.values())


def corpus_digest(examples: tuple[LabelledItem, ...]) -> str:
    """Return the sha256 of every field of every example, in order (one JSON line per example)."""
    digest = hashlib.sha256()
    for e in examples:
        scene = [list(e.image.glyphs), e.image.seed] if isinstance(e.image, Scene) else None
        fields: list[object] = [e.id, e.split, e.group, corpus_intent(e), e.text, e.image_grade, e.text_grade]
        fields += [e.joint_grade, list(e.categories), scene]
        digest.update(json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode() + b"\n")
    return digest.hexdigest()


def test_intent_files_reproduce_the_corpus_of_the_python_templates() -> None:
    # Computed from the Python-literal templates (texts.py + phrasings.py) before they moved to
    # model/corpus/intents/*.yaml: the same corpus, so the shipped model need not change.
    assert corpus_digest(corpus()) == "959152e616ca4399e3797ed4a864c24fc192ddd70da3b129ddfe5c5a4ebebe2c"


def test_every_intent_file_loads_and_the_files_hold_every_intent() -> None:
    loaded = [intent for path in sorted(INTENT_DIR.glob("*.yaml")) for intent in load_intent_file(path)]
    assert tuple(loaded) == INTENTS == load_intents()


GOOD_INTENT = """\
- name: good_one
  grade: safe
  clauses:
    - when: [PETS | horse, WEAPONS - water_pistol]
      grade: unsafe
      categories: [animal_violence]
  families:
    ask:
      - where can I buy {this}?
"""
ONE_FAMILY = "  families:\n    ask:\n      - hello {this}\n"


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("  grade: risky\n", "'bad_one': text-alone reading: unknown grade 'risky'"),
        ("  grade: borderline\n", "'bad_one': text-alone reading: borderline reading with"),
        ("  grade: safe\n  colour: red\n", "'bad_one': an intent: unknown field 'colour'"),
        (
            "  grade: safe\n  clauses: [{when: [PETS | unicorn], grade: unsafe, categories: [fraud]}]\n",
            "'bad_one': clause 1: when: 'PETS | unicorn': 'unicorn' is neither a role",
        ),
        (
            "  grade: safe\n  clauses: [{when: [PETS], grade: unsafe, categories: [rudeness]}]\n",
            "'bad_one': clause 1: unknown categories ['rudeness']",
        ),
        ("  grade: safe\n  decoys: [dog]\n", "'bad_one': decoys: a glyph group is a string"),
        ("  grade: safe\n  weight: -1\n", "'bad_one': weight must be a positive number"),
        ("  grade: safe\n  families: {shout: ['hey {this}']}\n", "'bad_one': family 'shout': the style"),
        ("  grade: safe\n  families: {ask: ['where is {thing}']}\n", "unknown slot {thing}"),
        ("  grade: safe\n  families: {ask: []}\n", "'bad_one': family 'ask' is empty"),
        (
            "  grade: safe\n" + ONE_FAMILY + "    ask:\n      - bye {this}\n",
            "line 15: not valid YAML: key 'ask'",
        ),
        ("  grade: safe\n  decoys: PETS -\n", "'bad_one': decoys: 'PETS -': a name is missing"),
    ],
)
def test_a_bad_intent_file_is_one_error_naming_the_file_and_the_intent(
    bad: str, message: str, tmp_path: Path
) -> None:
    path = tmp_path / "2_bad.yaml"
    families = "" if "families" in bad else ONE_FAMILY
    path.write_text(GOOD_INTENT + "- name: bad_one\n" + bad + families, encoding="utf-8")
    with pytest.raises(IntentFileError) as error:
        load_intents(tmp_path)
    assert str(error.value).startswith(f"{path}: ") and message in str(error.value)


def test_intent_files_refuse_a_name_twice_and_what_is_not_a_list(tmp_path: Path) -> None:
    (tmp_path / "1_a.yaml").write_text(GOOD_INTENT, encoding="utf-8")
    assert [i.name for i in load_intents(tmp_path)] == ["good_one"]
    (clause,) = load_intents(tmp_path)[0].clauses
    assert clause.name == "cat+axe" and "water_pistol" not in clause.needs[1]
    (tmp_path / "2_b.yaml").write_text(GOOD_INTENT, encoding="utf-8")
    with pytest.raises(IntentFileError, match="2_b.yaml: intent 'good_one': the name is taken in 1_a"):
        load_intents(tmp_path)
    (tmp_path / "2_b.yaml").write_text("name: good_one\n", encoding="utf-8")
    with pytest.raises(IntentFileError, match="2_b.yaml: expected a list of intents"):
        load_intents(tmp_path)
    with pytest.raises(IntentFileError, match="no intent files"):
        load_intents(tmp_path / "empty")


def test_intents_and_families_counts() -> None:
    assert len(INTENTS) >= 20
    assert sum(len(i.families) for i in INTENTS) >= 64
    assert all(len(i.families) >= 3 for i in INTENTS)


def test_build_is_deterministic() -> None:
    assert build_corpus(seed=7, size=3000) == build_corpus(seed=7, size=3000)
    assert build_corpus(seed=7, size=3000) != build_corpus(seed=8, size=3000)


def test_every_example_is_valid() -> None:
    for example in corpus():
        check_example(example)
        if example.image_grade is not None and example.text_grade is not None:
            assert is_valid_pattern(example.image_grade, example.text_grade, example.joint_grade)
            assert example.pattern in VALID_PATTERNS
        else:
            assert example.pattern is None and not example.emergent
        assert (example.joint_grade != "safe") == bool(example.categories)


def test_the_picture_decides_the_same_text() -> None:
    # The same harmless sentence is safe next to a dog and unsafe next to a child.
    texts_by_grade: dict[str, dict[str, set[str]]] = {}
    for e in corpus():
        if e.pattern and corpus_intent(e) == "sell_this_one" and e.text:
            texts_by_grade.setdefault(e.text, {}).setdefault(e.joint_grade, set())
    assert any({"safe", "unsafe"} <= set(grades) for grades in texts_by_grade.values())


def test_image_grade_scene_rules() -> None:
    assert image_grade(("dog",)) == ("safe", ())
    assert image_grade(("dagger",)) == ("borderline", ("weapons",))
    assert image_grade(("kitchen_knife", "drop_of_blood"))[0] == "unsafe"
    assert image_grade(("bomb", "school")) == ("unsafe", ("weapons", "terrorism"))
    assert image_grade(("rope_knot", "bridge")) == ("borderline", ("self_harm",))


def test_render_scene_is_deterministic_rgb_of_requested_size() -> None:
    scene = Scene(("child", "dog"), seed=42)
    first, second = render_scene(scene), render_scene(scene)
    assert first.mode == "RGB" and first.size == (96, 96)
    assert np.array_equal(np.asarray(first), np.asarray(second))
    assert render_scene(scene, size=160).size == (160, 160)
    assert not np.array_equal(np.asarray(first), np.asarray(render_scene(Scene(("child", "dog"), seed=43))))


def test_every_glyph_png_loads_as_rgba_and_is_not_empty() -> None:
    assert (GLYPH_DIR / "LICENSE").is_file()
    assert len(glyph_names()) == 76
    for name in glyph_names():
        glyph = load_glyph(name)
        assert glyph.mode == "RGBA" and max(glyph.size) <= 64
        alpha = np.asarray(glyph)[..., 3]
        assert (alpha > 128).mean() > 0.15, name


def test_cli_render_writes_png(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "scene.png"
    assert corpus_cli(["render", "--glyphs", "child,dog", "--out", str(out), "--seed", "3"]) == 0
    with Image.open(out) as image:
        assert image.size == (96, 96)
    assert "image grade: safe" in capsys.readouterr().out


def test_cli_render_rejects_unknown_glyph(tmp_path: Path) -> None:
    assert corpus_cli(["render", "--glyphs", "unicorn", "--out", str(tmp_path / "x.png")]) == 2


def test_cli_stats_prints_tables(capsys: pytest.CaptureFixture[str]) -> None:
    assert corpus_cli(["stats", "--size", "2000"]) == 0
    out = capsys.readouterr().out
    assert "S-S-U" in out and "emergent share" in out


def test_handwritten_fixture_is_valid() -> None:
    rows = [json.loads(line) for line in FIXTURE.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(rows) >= 40
    corpus_texts = {e.text for e in corpus() if e.text}
    for row in rows:
        assert row["glyphs"] and set(row["glyphs"]) <= set(glyph_names()), row
        assert row["joint_grade"] in GRADES
        assert set(row["categories"]) <= set(CATEGORIES)
        assert (row["joint_grade"] != "safe") == bool(row["categories"]), row
        if image_grade(tuple(row["glyphs"]))[0] == "unsafe":
            assert row["joint_grade"] == "unsafe", row
        assert row["text"] not in corpus_texts, row
        assert row["note"]
    grades = Counter(row["joint_grade"] for row in rows)
    assert grades["unsafe"] / len(rows) >= 0.30
    assert grades["borderline"] and grades["safe"]


def test_vocabulary_categories_match_the_taxonomy() -> None:
    from model.corpus.glyphs import vocabulary
    from service.taxonomy import CATEGORY_TABLE

    shipped = tuple((c["slug"], c["code"], c["vlsu_name"]) for c in vocabulary()["categories"])
    assert shipped == CATEGORY_TABLE


@pytest.mark.slow
def test_cli_coverage_sets_texts_beside_the_test_split(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    size = 1500
    train_text = next(e.text for e in build_corpus(seed=0, size=size) if e.split == "train" and e.text)
    far = "the quarterly VAT return for a partnership is due one month and seven days after the period ends"
    texts = tmp_path / "traffic.jsonl"
    rows = [{"text": train_text}, {"text": far}, {"image": "only.png"}]
    texts.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "coverage.json"

    assert corpus_cli(["coverage", str(texts), "--size", str(size), "--json", str(out)]) == 0

    assert "held-out test split" in capsys.readouterr().out
    figures = json.loads(out.read_text())
    assert figures["n"] == 2  # the row without a text is skipped
    seen, unseen = figures["similarities"]
    assert seen == pytest.approx(1.0, abs=1e-3)  # a training text is its own nearest neighbour
    assert unseen < figures["test_split"]["10"]
    assert corpus_cli(["coverage", str(tmp_path / "missing.jsonl")]) == 2


def test_coverage_reads_texts_from_jsonl_vlsu_csv_and_plain_files(tmp_path: Path) -> None:
    from model.corpus.coverage import read_texts

    (tmp_path / "a.jsonl").write_text('{"text": "one"}\n{"image": "x.png"}\n\n{"text": " "}\n')
    (tmp_path / "b.csv").write_text('uuid,web_path,prompt\n1,a.png,"two, with a comma"\n2,b.png,\n')
    (tmp_path / "c.txt").write_text("three\n\nfour\n")
    assert read_texts(tmp_path / "a.jsonl") == ["one"]
    assert read_texts(tmp_path / "b.csv") == ["two, with a comma"]
    assert read_texts(tmp_path / "c.txt") == ["three", "four"]
    (tmp_path / "D.CSV").write_text("uuid,prompt\n1,five\n")  # a CSV by any case of its suffix
    (tmp_path / "e.jsonl").write_text('["a list, not an item"]\n{"text": "six"}\n')
    assert read_texts(tmp_path / "D.CSV") == ["five"]
    assert read_texts(tmp_path / "e.jsonl") == ["six"]


def test_cli_coverage_of_a_file_it_cannot_read_is_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "bad.jsonl").write_text('{"text": "fine"}\nnot json\n')
    (tmp_path / "latin.txt").write_bytes(b"caf\xe9\n")
    for name in ("bad.jsonl", "latin.txt"):
        assert corpus_cli(["coverage", str(tmp_path / name)]) == 2  # a traceback before
        assert f"{name}: cannot read texts" in capsys.readouterr().err


def test_cli_pairs_writes_chosen_sets_as_labelled_data_drawn_several_ways(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from service.evaluation.labelled_data import read_jsonl

    out = tmp_path / "pairs"
    assert corpus_cli(["pairs", str(FIXTURE), "--sets", "1-2,3", "--renders", "2", "--out", str(out)]) == 0
    rows = [json.loads(line) for line in FIXTURE.read_text(encoding="utf-8").splitlines() if line.strip()]
    chosen = [row for row in rows if row["set"] in (1, 2, 3)]
    data = read_jsonl(out / "labelled.jsonl")  # read as `train --add` and `service eval` read it
    assert len(data.items) == 2 * len(chosen) and not data.missing_images and not data.invalid_rows
    assert [item.text for item in data.items[::2]] == [row["text"] for row in chosen]
    assert [item.joint_grade for item in data.items[1::2]] == [row["joint_grade"] for row in chosen]
    first, second = (np.asarray(Image.open(str(item.image))) for item in data.items[:2])
    assert first.shape == (64, 64, 3) and not np.array_equal(first, second)  # two scenes of one pair
    assert "pairs x 2 scenes" in capsys.readouterr().out


@pytest.mark.parametrize("sets", ["x", "2-", ""])
def test_cli_pairs_refuses_sets_it_cannot_read(
    sets: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        corpus_cli(["pairs", str(FIXTURE), "--sets", sets, "--out", str(tmp_path / "o")])
    assert "give sets as 1-6 or 1,3,5" in capsys.readouterr().err


def test_cli_pairs_with_no_pair_in_the_sets_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert corpus_cli(["pairs", str(FIXTURE), "--sets", "99", "--out", str(tmp_path / "o")]) == 2
    assert "no pair" in capsys.readouterr().err and not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "line 2 is not JSON"),
        ('{"glyphs": ["unicorn"], "text": "x", "joint_grade": "safe"}', "line 2: `glyphs` must list 1-3"),
        ('{"text": "x", "joint_grade": "safe"}', "line 2: `glyphs` must list 1-3"),
        ('{"glyphs": ["dog"], "text": " ", "joint_grade": "safe"}', "line 2: `text` must be"),
        ('{"glyphs": ["dog"], "text": "x", "joint_grade": "ok"}', "line 2: `joint_grade` must be"),
        ('{"glyphs": ["dog"], "text": "x", "joint_grade": "unsafe", "categories": ["bad"]}', "`categories`"),
    ],
)
def test_cli_pairs_names_the_first_line_that_is_not_a_pair(
    line: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fixture = tmp_path / "pairs.jsonl"
    fixture.write_text('{"glyphs": ["dog"], "text": "good boy", "joint_grade": "safe"}\n' + line + "\n")
    assert corpus_cli(["pairs", str(fixture), "--sets", "1", "--out", str(tmp_path / "o")]) == 2
    assert message in capsys.readouterr().err and not (tmp_path / "o").exists()
