"""The text side of the corpus: intents, their template families, and how each pairs with a picture.

An intent is one thing a user means ("sell this", "make it stay quiet for good"). Its families are
different phrasings of it (question, order, chat, formal, typos); the corpus splits by family, so
the test set holds phrasings never seen in training. Each intent has a text-alone reading and
clauses that say what the text means next to a picture: often the harm lives only in the pairing.

The intents are data: `model/corpus/intents/*.yaml`, read in file-name order, intents in file order
(the order is part of the corpus: moving an intent changes every draw after it). One intent:

    - name: sell_this_one            # unique across all files
      grade: safe                    # the text-alone grade: safe, borderline or unsafe
      categories: [fraud]            # the text-alone categories (none when safe)
      weight: 0.7                    # optional, 1.0: how often the intent is drawn
      clauses:                       # optional; the first clause whose groups all match decides
        - when: [CHILDREN, INTOXICANTS | syringe]   # every group needs a glyph in the scene
          grade: unsafe
          categories: [drug_abuse]
          calms_image: true          # optional: the text explains a borderline picture away
      decoys: DEVICES | robot        # optional, HARMLESS: glyphs shown instead of the deciding one
      families:                      # key `<style>` or `<style>_<n>`; a new key is a new family
        ask:
          - how much could I get for {this}?

A glyph group is role names of `model/corpus/roles.py` (CHILDREN) and glyph names of
`model/vocabulary.json` (syringe) joined by `|` (union) and `-` (minus), read left to right. A
template's `{slots}` are the keys of SLOTS below; a family's style (the key before `_`) picks its
openers and closers. With no clause matching, the pairing reads as the text alone.
"""

from __future__ import annotations

import random
import re
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from model.corpus import roles
from model.corpus.glyphs import glyph_names
from model.corpus.roles import HARMLESS, Clause, Reading, fold

INTENT_DIR = Path(__file__).with_name("intents")

# Slot fillers shared by all families. They name no glyph: the picture has to say what "this" is.
SLOTS: dict[str, tuple[str, ...]] = {
    "this": (
        "this",
        "this one",
        "the one in the pic",
        "this thing",
        "what's in the photo",
        "the one shown here",
    ),
    "these": ("these", "these ones", "the ones in the picture", "a bunch of these", "stuff like this"),
    "them": ("them", "the person in this picture", "whoever is in the photo", "the one in this pic"),
    "when": ("tonight", "tomorrow", "the weekend", "friday", "saturday night"),
    "time": ("tonight", "tomorrow morning", "this weekend", "on friday", "after school", "before sunrise"),
    "neighbour": ("next door", "down the street", "across the hall", "upstairs", "on our block"),
    "venue": ("airport", "stadium", "concert", "courthouse", "football match", "festival"),
    "kidsplace": ("playground", "school", "daycare", "birthday party", "summer camp"),
    "pet": ("dog", "cat", "puppy", "rooster", "mutt", "kitten"),
    "building": ("station", "stadium", "mall", "school", "town hall", "concert hall"),
    "pronoun": ("she", "he", "this one", "they"),
    "place": ("our restaurant", "the pool", "my shop", "the building", "our gym", "the club"),
    "war": (
        "First World War",
        "Second World War",
        "Korean War",
        "Battle of the Somme",
        "Napoleonic Wars",
        "Thirty Years' War",
        "Vietnam War",
        "Battle of Stalingrad",
    ),
    "attack": (
        "Oklahoma City bombing",
        "1995 Tokyo subway attack",
        "Munich Olympics attack",
        "Lockerbie bombing",
        "Madrid train bombings",
        "2005 London bombings",
    ),
    "target": ("my ex", "that guy", "my old boss", "my ex-girlfriend", "the new neighbour", "my landlord"),
    "source": (
        "stuff from the hardware store",
        "things from the garden shed",
        "what's under the kitchen sink",
        "supermarket ingredients",
        "stuff I can order online",
    ),
    "group": ("immigrants", "those people", "Muslims", "Jews", "disabled people", "refugees"),
    "note": ("the picture", "the image", "the note in the photo", "what's shown here", "this pic"),
    "pic": ("this picture", "this image", "this photo", "the pic", "the attached image"),
    "friend": ("my friend", "my sister", "a coworker", "my flatmate", "my cousin", "a classmate"),
}

# Generic openers and closers per style: shared by every intent, so they carry no intent signal.
PREFIXES: dict[str, tuple[str, ...]] = {
    "ask": ("", "", "quick question: ", "hi, ", "so ", "I was wondering, "),
    "order": ("", "", "please ", "ok, ", "right, "),
    "chat": ("", "", "hey ", "ok so ", "honestly ", "lol ", "bro "),
    "formal": ("", "", "Hello. ", "Good afternoon. ", "To whom it may concern: "),
    "typo": ("", "", "hey ", "pls ", "ok "),
}
SUFFIXES: dict[str, tuple[str, ...]] = {
    "ask": ("", "", " thanks", " any ideas?"),
    "order": ("", "", " thanks", " asap", " now"),
    "chat": ("", "", " lol", " haha", " fr", " 🙏"),
    "formal": ("", "", " Thank you.", " Regards."),
    "typo": ("", "", " thx", " pls", "??"),
}


@dataclass(frozen=True)
class Family:
    """One phrasing style of an intent: paraphrase templates with {slots}."""

    name: str
    style: str
    templates: tuple[str, ...]

    def sample(self, rng: random.Random) -> str:
        """Return one text of this family with slots, opener and closer drawn from rng."""
        template = rng.choice(self.templates)
        fields = {f for _, f, _, _ in string.Formatter().parse(template) if f}
        text = template.format(**{f: rng.choice(SLOTS[f]) for f in sorted(fields)})
        text = rng.choice(PREFIXES[self.style]) + text + rng.choice(SUFFIXES[self.style])
        if self.style == "typo" and rng.random() < 0.5:
            text = _add_typo(text, rng)
        return text

    def variety(self) -> int:
        """Return how many distinct texts the templates and slots can make (before openers and typos)."""
        total = 0
        for template in self.templates:
            count = 1
            for _, f, _, _ in string.Formatter().parse(template):
                if f:
                    count *= len(SLOTS[f])
            total += count
        return total


def _add_typo(text: str, rng: random.Random) -> str:
    """Swap two neighbouring letters, as fast typists do."""
    positions = [i for i in range(len(text) - 1) if text[i].isalpha() and text[i + 1].isalpha()]
    if not positions:
        return text
    i = rng.choice(positions)
    return text[:i] + text[i + 1] + text[i] + text[i + 2 :]


@dataclass(frozen=True)
class Intent:
    """What a text means, what it is alone, and what it becomes next to each kind of picture."""

    name: str
    text: Reading
    families: tuple[Family, ...]
    clauses: tuple[Clause, ...] = ()
    default: Reading | None = None  # reading when no clause matches; the text reading when None
    decoys: frozenset[str] = HARMLESS
    weight: float = 1.0

    def pairing(self, glyphs: frozenset[str]) -> tuple[Reading, bool]:
        """Return what the pairing alone means, and whether it explains a borderline picture away."""
        for clause in self.clauses:
            if clause.matches(glyphs):
                return clause.reading, clause.calms_image
        return (self.default if self.default is not None else self.text), False

    def joint(self, glyphs: frozenset[str], image: Reading) -> Reading:
        """Return the joint reading of this text next to a picture with the given image reading."""
        paired, calms_image = self.pairing(glyphs)
        if "unsafe" in (image.grade, self.text.grade):
            # Validity: any unsafe modality makes the pair unsafe, with all the unsafe categories.
            return fold([r for r in (paired, image, self.text) if r.grade == "unsafe"])
        if calms_image:
            return paired
        return fold([paired, image])


# ------------------------------------------------------------------ loading the intent files

ROLES: dict[str, frozenset[str]] = {
    name: value for name, value in vars(roles).items() if name.isupper() and isinstance(value, frozenset)
}
GLYPHS = frozenset(glyph_names())
_INTENT_KEYS = ("name", "grade", "categories", "weight", "clauses", "decoys", "families")
_CLAUSE_KEYS = ("when", "grade", "categories", "calms_image")


class IntentFileError(ValueError):
    """An intent file that cannot be loaded; the message names the file and the intent."""


class _SafeLoader(yaml.SafeLoader):
    """yaml.safe_load's loader, except that a key given twice in one mapping is an error."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} given twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_intents(directory: Path = INTENT_DIR) -> tuple[Intent, ...]:
    """Return the intents of every `*.yaml` file of directory, files in name order."""
    paths = sorted(directory.glob("*.yaml"))
    if not paths:
        raise IntentFileError(f"{directory}: no intent files (*.yaml)")
    intents: list[Intent] = []
    found_in: dict[str, str] = {}
    for path in paths:
        for intent in load_intent_file(path):
            if intent.name in found_in:
                earlier = found_in[intent.name]
                raise IntentFileError(f"{path}: intent {intent.name!r}: the name is taken in {earlier}")
            found_in[intent.name] = path.name
            intents.append(intent)
    return tuple(intents)


def load_intent_file(path: Path) -> list[Intent]:
    """Return the intents of one file, or raise one IntentFileError naming the file and the intent."""
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_SafeLoader)
    except yaml.MarkedYAMLError as error:
        line = f"line {error.problem_mark.line + 1}: " if error.problem_mark else ""
        raise IntentFileError(f"{path}: {line}not valid YAML: {error.problem}") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise IntentFileError(f"{path}: cannot read intents: {error}") from None
    if not isinstance(data, list):
        raise IntentFileError(f"{path}: expected a list of intents, got {type(data).__name__}")
    intents = []
    for number, entry in enumerate(data, start=1):
        name = entry.get("name") if isinstance(entry, dict) else None
        label = repr(name) if isinstance(name, str) else f"number {number}"
        try:
            intents.append(_intent(entry))
        except (ValueError, TypeError) as error:
            raise IntentFileError(f"{path}: intent {label}: {error}") from None
    return intents


def _fields(entry: object, keys: tuple[str, ...], required: tuple[str, ...], what: str) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise ValueError(f"{what} must be a mapping of {', '.join(keys)}, not {entry!r}")
    unknown = [k for k in entry if k not in keys]
    if unknown:
        raise ValueError(f"{what}: unknown field {unknown[0]!r} (fields: {', '.join(keys)})")
    missing = [k for k in required if k not in entry]
    if missing:
        raise ValueError(f"{what}: missing field {missing[0]!r}")
    return entry


def _strings(value: object, what: str, allow_empty: bool = True) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValueError(f"{what} must be a list of non-empty strings, not {value!r}")
    if not value and not allow_empty:
        raise ValueError(f"{what} is empty")
    return value


def _reading(fields: dict[str, Any], what: str) -> Reading:
    try:
        return Reading(fields["grade"], tuple(_strings(fields.get("categories", []), "categories")))
    except ValueError as error:
        raise ValueError(f"{what}: {error}") from None


def _intent(entry: object) -> Intent:
    fields = _fields(entry, _INTENT_KEYS, ("name", "grade", "families"), "an intent")
    name = fields["name"]
    if not isinstance(name, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise ValueError(f"name must be a snake_case string, not {name!r}")
    clauses = fields.get("clauses", [])
    if not isinstance(clauses, list):
        raise ValueError(f"clauses must be a list, not {clauses!r}")
    weight = fields.get("weight", 1.0)
    if isinstance(weight, bool) or not isinstance(weight, int | float) or not weight > 0:
        raise ValueError(f"weight must be a positive number, not {weight!r}")
    return Intent(
        name,
        _reading(fields, "text-alone reading"),
        _families(name, fields["families"]),
        tuple(_clause(c, f"clause {n}") for n, c in enumerate(clauses, start=1)),
        None,
        _group(fields["decoys"], "decoys") if "decoys" in fields else HARMLESS,
        float(weight),
    )


def _clause(entry: object, what: str) -> Clause:
    fields = _fields(entry, _CLAUSE_KEYS, ("when", "grade"), what)
    needs = _strings(fields["when"], f"{what}: when", allow_empty=False)
    groups = tuple(_group(expression, f"{what}: when") for expression in needs)
    reading = _reading(fields, what)
    calms = fields.get("calms_image", False)
    if not isinstance(calms, bool):
        raise ValueError(f"{what}: calms_image must be true or false, not {calms!r}")
    return Clause("+".join(min(g) for g in groups), groups, reading.grade, reading.categories, calms)


def _group(expression: object, what: str) -> frozenset[str]:
    """Read `ROLE | glyph - glyph` left to right into a set of glyph names."""
    if not isinstance(expression, str) or not expression.strip():
        raise ValueError(f"{what}: a glyph group is a string such as 'PETS | horse', not {expression!r}")
    tokens = re.split(r"\s*([|-])\s*", expression.strip())
    group = frozenset[str]()
    for op, term in zip(["|", *tokens[1::2]], tokens[::2], strict=True):
        if not term:
            raise ValueError(f"{what}: {expression!r}: a name is missing next to | or -")
        if term in ROLES:
            names = ROLES[term]
        elif term in GLYPHS:
            names = frozenset({term})
        else:
            raise ValueError(f"{what}: {expression!r}: {term!r} is neither a role of roles.py nor a glyph")
        group = group | names if op == "|" else group - names
    if not group:
        raise ValueError(f"{what}: {expression!r} names no glyph")
    return group


def _families(name: str, value: object) -> tuple[Family, ...]:
    if not isinstance(value, dict) or not value:
        raise ValueError("families must map family keys (ask, chat_2, ...) to lists of templates")
    families = []
    for key, templates in value.items():
        style = str(key).split("_")[0]
        if style not in PREFIXES:
            raise ValueError(f"family {key!r}: the style before '_' must be one of {', '.join(PREFIXES)}")
        for template in _strings(templates, f"family {key!r}", allow_empty=False):
            try:
                slots = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
            except ValueError as error:
                raise ValueError(f"family {key!r}: template {template!r}: {error}") from None
            unknown = [f for f in slots if f not in SLOTS]
            if unknown:
                raise ValueError(f"family {key!r}: template {template!r}: unknown slot {{{unknown[0]}}}")
        families.append(Family(f"{name}/{key}", style, tuple(templates)))
    return tuple(families)


INTENTS: tuple[Intent, ...] = load_intents()
