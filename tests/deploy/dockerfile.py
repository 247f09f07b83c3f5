"""Read the repo's Dockerfile and .dockerignore the way the Docker builder does (the parts tests need)."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"


@dataclass(frozen=True)
class Instruction:
    """One Dockerfile instruction, continuation lines joined; `stage` is the index of its FROM."""

    keyword: str
    arguments: str
    stage: int

    def exec_form(self) -> list[str]:
        """Return the JSON (exec) form's argument list; fail on the shell form."""
        value = json.loads(self.arguments)
        assert isinstance(value, list) and all(isinstance(v, str) for v in value), self.arguments
        return value


def instructions(text: str | None = None) -> list[Instruction]:
    """Parse the Dockerfile into instructions (comments and blank lines dropped)."""
    text = DOCKERFILE.read_text() if text is None else text
    logical: list[str] = []
    pending = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        logical.append(pending + stripped)
        pending = ""
    stage = -1
    parsed = []
    for line in logical:
        keyword, _, arguments = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            stage += 1
        parsed.append(Instruction(keyword, arguments.strip(), stage))
    return parsed


def build_args() -> dict[str, str]:
    """Return every ARG's default value (global and per stage; names are unique in our Dockerfile)."""
    args = {}
    for instruction in instructions():
        if instruction.keyword == "ARG" and "=" in instruction.arguments:
            name, _, value = instruction.arguments.partition("=")
            args[name] = value
    return args


def substitute(value: str, variables: dict[str, str]) -> str:
    """Expand `$NAME` and `${NAME}` from `variables`, leaving unknown names as they are."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        return variables.get(name, match.group(0))

    return re.sub(r"\$\{(\w+)\}|\$(\w+)", replace, value)


def env(stage: int) -> dict[str, str]:
    """Return the ENV values set in `stage` (`KEY=value` pairs, shell-quoted values unquoted)."""
    values: dict[str, str] = {}
    variables = build_args()
    for instruction in instructions():
        if instruction.keyword == "ENV" and instruction.stage == stage:
            for pair in shlex.split(instruction.arguments):
                name, _, value = pair.partition("=")
                values[name] = substitute(value, variables | values)
    return values


def last_stage() -> int:
    """Return the index of the final (runtime) stage."""
    return max(i.stage for i in instructions())


def stage_names() -> dict[str, int]:
    """Return each named stage's index (`FROM image AS name`)."""
    names = {}
    for instruction in instructions():
        if instruction.keyword == "FROM":
            words = instruction.arguments.split()
            if len(words) >= 3 and words[-2].upper() == "AS":
                names[words[-1]] = instruction.stage
    return names


def stage(name: str) -> int:
    """Return the index of the stage called `name`; fail when there is none."""
    names = stage_names()
    assert name in names, f"no stage named {name!r} (stages: {sorted(names)})"
    return names[name]


def stage_instructions(index: int, keyword: str | None = None) -> list[Instruction]:
    """Return the instructions of stage `index` (its FROM included), optionally only one keyword."""
    return [
        i for i in instructions() if i.stage == index and (keyword is None or i.keyword == keyword.upper())
    ]


def base(index: int) -> str:
    """Return the image (or stage name) that stage `index` starts FROM, build args substituted."""
    (first,) = stage_instructions(index, "FROM")
    words = [w for w in first.arguments.split() if not w.startswith("--")]
    return substitute(words[0], build_args())


def workdir(index: int) -> str:
    """Return the working folder at the end of stage `index`, following FROM <stage> to its parents."""
    own = stage_instructions(index, "WORKDIR")
    if own:
        return own[-1].arguments
    parent = stage_names().get(base(index))
    return "/" if parent is None else workdir(parent)


def copy_parts(instruction: Instruction) -> tuple[dict[str, str], list[str], str]:
    """Split a COPY/ADD into (flags, sources, destination); JSON and shell forms."""
    words = instruction.arguments.split()
    flags: dict[str, str] = {}
    while words and words[0].startswith("--"):
        name, _, value = words.pop(0)[2:].partition("=")
        flags[name] = value
    rest = " ".join(words)
    parts = json.loads(rest) if rest.startswith("[") else rest.split()
    return flags, parts[:-1], parts[-1]


def ignore_patterns() -> list[tuple[bool, re.Pattern[str]]]:
    """Return .dockerignore rules in order as (is_exception, compiled pattern)."""
    rules = []
    for line in DOCKERIGNORE.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        exception = line.startswith("!")
        pattern = line[1:] if exception else line
        rules.append((exception, _compile(pattern.strip("/"))))
    return rules


def _compile(pattern: str) -> re.Pattern[str]:
    # Docker's matcher: filepath.Match syntax plus `**` for any number of path segments.
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
        elif pattern.startswith("**", i):
            out += ".*"
            i += 2
        elif pattern[i] == "*":
            out += "[^/]*"
            i += 1
        elif pattern[i] == "?":
            out += "[^/]"
            i += 1
        else:
            out += re.escape(pattern[i])
            i += 1
    return re.compile(out + r"\Z")


def is_ignored(relative_path: str) -> bool:
    """Return True when .dockerignore keeps `relative_path` out of the build context.

    As Docker does: a rule matches a path or any of its parent folders, and the last matching rule wins.
    """
    parts = relative_path.strip("/").split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for exception, pattern in ignore_patterns():
        if any(pattern.match(candidate) for candidate in candidates):
            ignored = not exception
    return ignored
