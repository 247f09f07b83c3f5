"""Assemble the corpus: examples of image+text, image-only and text-only, split by template family."""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from model.corpus.glyphs import vocabulary
from model.corpus.roles import HARMLESS, Clause, Reading
from model.corpus.scenes import BORDERLINE_GLYPHS, SCENE_RULES, Scene, image_grade
from model.corpus.texts import INTENTS, Family, Intent
from service.evaluation.labelled_data import LabelledItem
from service.taxonomy import (
    CATEGORIES,
    GRADES,
    VALID_PATTERNS,
    is_valid_pattern,
)

CORPUS = "corpus"  # the `source` of corpus items
SPLITS: tuple[str, ...] = ("train", "val", "test")
SPLIT_SHARE: dict[str, float] = {"train": 0.70, "val": 0.15, "test": 0.15}
IMAGE_ONLY_SHARE = 0.08
TEXT_ONLY_SHARE = 0.08
# A scene seed's residue mod 20 names its split, so no rendered image appears in two splits.
SEED_RESIDUES: dict[str, tuple[int, ...]] = {
    "train": tuple(range(14)),
    "val": (14, 15, 16),
    "test": (17, 18, 19),
}
# Least examples of each pattern and each category per split, per 1000 examples of that split.
MIN_PATTERN_PER_1000 = 6
MIN_CATEGORY_PER_1000 = 4
# Of the risky half of the pairs, the share showing the intent's deciding glyph; the rest show a
# picture that is borderline or unsafe alone (more of these lowers the emergent share of unsafe).
RISKY_IS_TRIGGER = 0.6
ALL_GLYPHS: tuple[str, ...] = tuple(g["name"] for g in vocabulary()["glyphs"])


def labelled(
    split: str,
    intent: str,
    family: str,
    scene: Scene | None,
    text: str | None,
    image: str | None,
    text_grade: str | None,
    joint: str,
    categories: tuple[str, ...],
) -> LabelledItem:
    """Return one corpus item; `source` names its intent (`corpus/<intent>`), `group` its family."""
    return LabelledItem(
        id="",
        image=scene,
        text=text,
        image_grade=image,  # type: ignore[arg-type]  # the corpus's grades are the taxonomy's
        text_grade=text_grade,  # type: ignore[arg-type]
        joint_grade=joint,  # type: ignore[arg-type]
        categories=categories,
        split=split,
        source=f"{CORPUS}/{intent}" if intent else CORPUS,
        group=family,
    )


def corpus_intent(item: LabelledItem) -> str:
    """Return the intent a corpus item's text comes from ("" for an image-only item)."""
    return item.source.removeprefix(CORPUS).removeprefix("/")


def family_split(family: Family, intent: Intent) -> str:
    """Return the split of a family: per intent one family each for test and val, the rest train.

    The order within an intent comes from a hash of the family name, so it does not depend on the
    corpus seed: every seed tests on the same held-out phrasings.
    """
    ranked = sorted(intent.families, key=lambda f: hashlib.sha256(f.name.encode()).hexdigest())
    position = ranked.index(family)
    return "test" if position == 0 else "val" if position == 1 else "train"


def families_by_split() -> dict[str, dict[str, list[Family]]]:
    """Return, per split, each intent's families in that split."""
    table: dict[str, dict[str, list[Family]]] = {s: {} for s in SPLITS}
    for intent in INTENTS:
        for family in intent.families:
            table[family_split(family, intent)].setdefault(intent.name, []).append(family)
    return table


class _Sampler:
    """Draw examples of one split from one random stream."""

    def __init__(self, rng: random.Random, split: str) -> None:
        self.rng = rng
        self.split = split
        self.families = families_by_split()[split]
        self.intents = [i for i in INTENTS if i.name in self.families]
        self.weights = [i.weight for i in self.intents]

    # ------------------------------------------------------------- scenes

    def scene(self, glyphs: list[str]) -> Scene:
        """Return a scene of these glyphs (shuffled) with a seed that belongs to this split."""
        unique = list(dict.fromkeys(glyphs))[:3]
        self.rng.shuffle(unique)
        seed = self.rng.randrange(2**26) * 20 + self.rng.choice(SEED_RESIDUES[self.split])
        return Scene(tuple(unique), seed)

    def clause_glyphs(self, clause: Clause) -> list[str]:
        """Return one glyph of every group the clause needs."""
        return [self.rng.choice(sorted(group)) for group in clause.needs]

    def trigger_glyphs(self, intent: Intent) -> list[str]:
        """Return glyphs that satisfy one of the intent's clauses (the glyph that decides the pairing)."""
        if not intent.clauses:
            return self.image_rule_glyphs()
        glyphs = self.clause_glyphs(self.rng.choice(intent.clauses))
        if len(glyphs) < 3 and self.rng.random() < 0.25:
            glyphs.append(self.rng.choice(sorted(HARMLESS)))
        return glyphs

    def decoy_glyphs(self, intent: Intent) -> list[str]:
        """Return harmless glyphs that stand where the deciding glyph would be."""
        glyphs = [self.rng.choice(sorted(intent.decoys))]
        if self.rng.random() < 0.35:
            glyphs.append(self.rng.choice(sorted(intent.decoys | HARMLESS)))
        return glyphs

    def image_rule_glyphs(self) -> list[str]:
        """Return glyphs of a picture that is borderline or unsafe on its own."""
        if self.rng.random() < 0.4:
            glyphs = [self.rng.choice(sorted(BORDERLINE_GLYPHS))]
            if self.rng.random() < 0.5:
                glyphs.append(self.rng.choice(ALL_GLYPHS))
            return glyphs
        return self.clause_glyphs(self.rng.choice(SCENE_RULES))

    def random_glyphs(self) -> list[str]:
        """Return 1-3 glyphs drawn from the whole vocabulary."""
        return [self.rng.choice(ALL_GLYPHS) for _ in range(self.rng.choice((1, 1, 2, 2, 3)))]

    # ------------------------------------------------------------ examples

    def text(self, intent: Intent) -> tuple[Family, str]:
        """Return a family of this split and a text drawn from it."""
        family = self.rng.choice(self.families[intent.name])
        return family, family.sample(self.rng)

    def intent(self, text_grade: str | None = None) -> Intent:
        """Return an intent drawn by weight, optionally only among those with this text grade."""
        if text_grade is None:
            return self.rng.choices(self.intents, self.weights)[0]
        pool = [i for i in self.intents if i.text.grade == text_grade]
        return self.rng.choices(pool, [i.weight for i in pool])[0]

    def pair(self, intent: Intent, glyphs: list[str], family: Family, text: str) -> LabelledItem:
        """Label an image+text example."""
        scene = self.scene(glyphs)
        image = Reading(*image_grade(scene.glyphs))
        joint = intent.joint(frozenset(scene.glyphs), image)
        return labelled(
            self.split,
            intent.name,
            family.name,
            scene,
            text,
            image.grade,
            intent.text.grade,
            joint.grade,
            joint.categories,
        )

    def image_only(self) -> LabelledItem:
        """Label an image-only example: the joint reading is the image reading."""
        roll = self.rng.random()
        glyphs = self.random_glyphs() if roll < 0.45 else self.image_rule_glyphs()
        scene = self.scene(glyphs)
        grade, categories = image_grade(scene.glyphs)
        return labelled(self.split, "", "", scene, None, grade, None, grade, categories)

    def text_only(self) -> LabelledItem:
        """Label a text-only example: the joint reading is the text reading."""
        intent = self.intent()
        family, text = self.text(intent)
        return labelled(
            self.split,
            intent.name,
            family.name,
            None,
            text,
            None,
            intent.text.grade,
            intent.text.grade,
            intent.text.categories,
        )

    def pairs(self) -> list[LabelledItem]:
        """Return one text twice: next to the deciding glyph (or a risky picture), and next to a decoy."""
        intent = self.intent()
        family, text = self.text(intent)
        roll = self.rng.random()
        risky = self.trigger_glyphs(intent) if roll < RISKY_IS_TRIGGER else self.image_rule_glyphs()
        return [
            self.pair(intent, risky, family, text),
            self.pair(intent, self.decoy_glyphs(intent), family, text),
        ]

    def regular(self) -> list[LabelledItem]:
        """Return the next one or two examples of the ordinary mix."""
        # A draw of pairs yields two examples, so single-modality draws need a higher probability.
        pair_draws = (1 - IMAGE_ONLY_SHARE - TEXT_ONLY_SHARE) / 2
        total = IMAGE_ONLY_SHARE + TEXT_ONLY_SHARE + pair_draws
        roll = self.rng.random() * total
        if roll < IMAGE_ONLY_SHARE:
            return [self.image_only()]
        if roll < IMAGE_ONLY_SHARE + TEXT_ONLY_SHARE:
            return [self.text_only()]
        return self.pairs()

    def with_pattern(self, wanted: str, attempts: int = 5000) -> LabelledItem | None:
        """Return a pair of the wanted I-T-J pattern, by drawing until one fits."""
        text_letter = wanted.split("-")[1]
        text_grade = next(g for g in GRADES if g[0].upper() == text_letter)
        makers: list[Callable[[Intent], list[str]]] = [
            self.trigger_glyphs,
            self.decoy_glyphs,
            lambda _: self.image_rule_glyphs(),
            lambda i: self.trigger_glyphs(i) + [self.rng.choice(sorted(BORDERLINE_GLYPHS))],
        ]
        for _ in range(attempts):
            intent = self.intent(text_grade)
            family, text = self.text(intent)
            example = self.pair(intent, self.rng.choice(makers)(intent), family, text)
            if example.pattern == wanted:
                return example
        return None

    def with_category(self, category: str, attempts: int = 5000) -> list[LabelledItem]:
        """Return ordinary examples, drawn until one carries the category."""
        for _ in range(attempts):
            examples = self.regular()
            if any(category in e.categories for e in examples):
                return examples
        return []


def _build_split(rng: random.Random, split: str, target: int) -> list[LabelledItem]:
    sampler = _Sampler(rng, split)
    min_pattern = max(2, round(MIN_PATTERN_PER_1000 * target / 1000))
    min_category = max(2, round(MIN_CATEGORY_PER_1000 * target / 1000))
    # Leave room for the top-ups that guarantee every pattern and category is in every split.
    reserve = len(VALID_PATTERNS) * min_pattern + len(CATEGORIES) * 2 * min_category
    examples: list[LabelledItem] = []
    while len(examples) < max(0, target - reserve):
        examples.extend(sampler.regular())

    patterns = Counter(e.pattern for e in examples)
    for wanted in VALID_PATTERNS:
        for _ in range(min_pattern - patterns[wanted]):
            example = sampler.with_pattern(wanted)
            if example is None:
                raise RuntimeError(f"no intent can make pattern {wanted} in split {split}")
            examples.append(example)

    categories = Counter(c for e in examples for c in e.categories)
    for category in CATEGORIES:
        while categories[category] < min_category:
            drawn = sampler.with_category(category)
            if not drawn:
                raise RuntimeError(f"no example of category {category} in split {split}")
            examples.extend(drawn)
            categories.update(c for e in drawn for c in e.categories)

    while len(examples) < target:
        examples.extend(sampler.regular())
    del examples[target:]
    sampler.rng.shuffle(examples)
    return examples


def build_corpus(seed: int = 0, size: int = 24000) -> list[LabelledItem]:
    """Build the corpus: `size` examples, ~70/15/15 train/val/test, the same list for the same seed."""
    rng = random.Random(seed)
    targets = {"val": round(size * SPLIT_SHARE["val"]), "test": round(size * SPLIT_SHARE["test"])}
    targets["train"] = size - targets["val"] - targets["test"]
    corpus: list[LabelledItem] = []
    for split in SPLITS:
        split_rng = random.Random(rng.randrange(2**63))
        corpus.extend(_build_split(split_rng, split, targets[split]))
    return [replace(e, id=f"s{seed}-{index:06d}") for index, e in enumerate(corpus)]


def check_example(example: LabelledItem) -> None:
    """Raise if an example breaks the taxonomy (invalid pattern, categories out of step with the grade)."""
    if example.image_grade is None and example.text_grade is None:
        raise ValueError(f"{example.id}: no modality")
    if (example.image is None) != (example.image_grade is None) or (example.text is None) != (
        example.text_grade is None
    ):
        raise ValueError(f"{example.id}: modality and grade out of step")
    if example.image_grade is not None and example.text_grade is not None:
        if not is_valid_pattern(example.image_grade, example.text_grade, example.joint_grade):
            raise ValueError(f"{example.id}: invalid pattern {example.pattern}")
    if (example.joint_grade == "safe") != (not example.categories):
        raise ValueError(f"{example.id}: {example.joint_grade} with categories {example.categories}")
    if set(example.categories) - set(CATEGORIES):
        raise ValueError(f"{example.id}: unknown categories {example.categories}")


def corpus_stats(examples: list[LabelledItem]) -> dict[str, Any]:
    """Return counts per split, kind, pattern, category and grade, and the emergent shares."""

    def kind(e: LabelledItem) -> str:
        return "pair" if e.pattern else "image_only" if e.text is None else "text_only"

    unsafe_pairs = [e for e in examples if e.pattern and e.joint_grade == "unsafe"]
    pairs = [e for e in examples if e.pattern]
    return {
        "total": len(examples),
        "splits": dict(Counter(e.split for e in examples)),
        "kinds": dict(Counter(kind(e) for e in examples)),
        "patterns": {
            s: dict(Counter(e.pattern for e in examples if e.split == s and e.pattern)) for s in SPLITS
        },
        "categories": {
            s: dict(Counter(c for e in examples if e.split == s for c in e.categories)) for s in SPLITS
        },
        "grades": {
            "image": dict(Counter(e.image_grade for e in examples if e.image_grade)),
            "text": dict(Counter(e.text_grade for e in examples if e.text_grade)),
            "joint": dict(Counter(e.joint_grade for e in examples)),
        },
        "emergent_share": sum(e.emergent for e in pairs) / max(1, len(pairs)),
        "emergent_share_of_unsafe": sum(e.emergent for e in unsafe_pairs) / max(1, len(unsafe_pairs)),
        "intents": len({corpus_intent(e) for e in examples if corpus_intent(e)}),
        "families": {s: len({e.group for e in examples if e.split == s and e.group}) for s in SPLITS},
    }
