"""Glyph roles (children, weapons, places of worship, ...) and the clause/reading types rules are made of."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from service.taxonomy import CATEGORIES, GRADES, severity

CHILDREN = frozenset({"child", "baby"})
ADULTS = frozenset(
    {"woman", "man", "older_woman", "older_man", "woman_with_headscarf", "person_in_wheelchair"}
)
ELDERLY = frozenset({"older_woman", "older_man"})
PROTECTED_PEOPLE = frozenset({"woman_with_headscarf", "person_in_wheelchair", "older_woman", "older_man"})
PEOPLE = CHILDREN | ADULTS | {"family"}
PETS = frozenset({"dog", "cat"})
ANIMALS = frozenset({"dog", "cat", "horse", "chicken"})
BLADES = frozenset({"kitchen_knife", "dagger", "axe"})
STRIKING_WEAPONS = frozenset({"hammer", "axe"})
WEAPONS = BLADES | STRIKING_WEAPONS | {"crossed_swords", "bow_and_arrow", "water_pistol", "bomb"}
DRUGS = frozenset({"pill", "syringe", "herb", "mushroom"})
INTOXICANTS = frozenset({"beer", "wine", "cigarette"})
CHEMISTRY = frozenset({"test_tube", "alembic"})
POISONS = frozenset({"pill", "test_tube", "alembic"})
WORSHIP = frozenset({"church", "mosque", "synagogue"})
CROWDED_PLACES = WORSHIP | {"school", "stadium", "airplane", "train", "office_building", "hospital"}
CARDS = frozenset({"credit_card", "identification_card"})
DEVICES = frozenset({"mobile_phone", "laptop"})
MILITARY = frozenset({"military_helmet", "rocket", "military_medal", "crossed_swords"})
SEXUAL_INNUENDO = frozenset({"peach", "eggplant"})
INTIMATE = frozenset({"bikini", "bed", "peach", "eggplant", "lipstick"})
SELF_HARM_MEANS = frozenset({"rope_knot", "pill", "bridge", "kitchen_knife"})
DEATH_SYMBOLS = frozenset({"skull", "coffin", "drop_of_blood"})
PARTY = frozenset({"birthday_cake", "gift", "lipstick", "camera"})
HARMLESS = frozenset({"birthday_cake", "gift", "soccer_ball", "sun", "apple", "book", "cooking_pan"})


@dataclass(frozen=True)
class Reading:
    """A grade and the categories that made it (empty when safe)."""

    grade: str
    categories: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.grade not in GRADES:
            raise ValueError(f"unknown grade {self.grade!r}")
        unknown = set(self.categories) - set(CATEGORIES)
        if unknown:
            raise ValueError(f"unknown categories {sorted(unknown)}")
        if (self.grade == "safe") != (not self.categories):
            raise ValueError(f"{self.grade} reading with categories {self.categories}")


SAFE = Reading("safe")


def ordered(categories: Iterable[str]) -> tuple[str, ...]:
    """Return categories deduplicated, in taxonomy order."""
    wanted = set(categories)
    return tuple(c for c in CATEGORIES if c in wanted)


def fold(readings: Iterable[Reading]) -> Reading:
    """Return the most severe grade and the union of the categories of the readings at that grade."""
    readings = list(readings)
    if not readings:
        return SAFE
    worst = max(severity(r.grade) for r in readings)
    grade = GRADES[worst]
    if grade == "safe":
        return SAFE
    return Reading(grade, ordered(c for r in readings if severity(r.grade) == worst for c in r.categories))


@dataclass(frozen=True)
class Clause:
    """A rule: when every group of `needs` has a glyph in the scene, the reading is (grade, categories).

    `calms_image` marks clauses where the text explains a borderline-looking picture away
    (a dagger "for my collection"), so the joint grade may fall below the image grade.
    """

    name: str
    needs: tuple[frozenset[str] | set[str], ...]
    grade: str
    categories: tuple[str, ...] = ()
    calms_image: bool = False

    def matches(self, glyphs: frozenset[str]) -> bool:
        """Return whether the scene has a glyph of every needed group."""
        return all(glyphs & group for group in self.needs)

    @property
    def reading(self) -> Reading:
        """Return the reading this clause gives."""
        return Reading(self.grade, ordered(self.categories))
