"""Command line for the corpus: `render` draws one scene, `stats` summarises, `export` writes a split,
`pairs` writes hand-written pairs as training data, `coverage` measures how close given texts come to
the training texts."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path
from typing import Any

from model.corpus.build import SPLITS, build_corpus, corpus_stats
from model.corpus.glyphs import glyph_names
from model.corpus.pairs import PairsError, read_pairs
from model.corpus.scenes import Scene, image_grade, render_scene
from service.taxonomy import CATEGORIES, VALID_PATTERNS


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the `corpus` command (render, stats, export, coverage) to an argparse subparsers object."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "corpus", help="render scenes, summarise the corpus"
    )
    _add_commands(parser)
    return parser


def _add_commands(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(dest="corpus_command", required=True)
    render = commands.add_parser("render", help="render one scene to a PNG and print its image grade")
    render.add_argument("--glyphs", required=True, help="comma-separated glyph names, e.g. child,dog")
    render.add_argument("--out", required=True, type=Path, help="PNG file to write")
    render.add_argument("--seed", type=int, default=0)
    render.add_argument("--size", type=int, default=96)
    render.set_defaults(handler=run_render)
    stats = commands.add_parser("stats", help="build the corpus and print its statistics")
    stats.add_argument("--seed", type=int, default=0)
    stats.add_argument("--size", type=int, default=24000)
    stats.set_defaults(handler=run_stats)
    export = commands.add_parser("export", help="write a split as labelled JSONL + PNGs")
    export.add_argument("--split", choices=SPLITS, default="test")
    export.add_argument("--out", required=True, type=Path, help="folder for labelled.jsonl and images/")
    export.add_argument("--limit", type=int, default=None, help="keep every k-th example to about this many")
    export.add_argument("--seed", type=int, default=0)
    export.add_argument("--size", type=int, default=24000)
    export.add_argument("--image-size", type=int, default=128)
    export.set_defaults(handler=run_export)
    pairs = commands.add_parser(
        "pairs", help="write hand-written pairs (glyph scenes) as labelled JSONL + PNGs, for `train --add`"
    )
    pairs.add_argument("fixture", type=Path, help="JSONL of {glyphs, text, joint_grade, categories, set}")
    pairs.add_argument("--sets", required=True, type=_sets, help="the sets to write: 1-6, or 1,3,5")
    pairs.add_argument("--out", required=True, type=Path, help="folder for labelled.jsonl and images/")
    pairs.add_argument(
        "--renders",
        type=int,
        choices=range(1, MAX_RENDERS + 1),
        default=4,
        metavar="1-10",
        help="scenes drawn per pair (layout, background, scale: as the corpus varies them)",
    )
    pairs.add_argument("--image-size", type=int, default=64)
    pairs.set_defaults(handler=run_pairs)
    cover = commands.add_parser(
        "coverage", help="how close texts come to the training texts, beside the held-out test split"
    )
    cover.add_argument("texts", type=Path, help="JSONL (`text`), VLSU CSV (`prompt`) or one text per line")
    cover.add_argument("--seed", type=int, default=0)
    cover.add_argument("--size", type=int, default=24000)
    cover.add_argument("--json", type=Path, default=None, help="also write the figures and similarities here")
    cover.set_defaults(handler=run_coverage)


def run_render(args: argparse.Namespace) -> int:
    """Render the requested scene and print its image-alone grade and categories."""
    glyphs = tuple(g.strip() for g in args.glyphs.split(",") if g.strip())
    unknown = [g for g in glyphs if g not in glyph_names()]
    if not glyphs or unknown or len(glyphs) > 3:
        print(f"error: give 1-3 known glyphs; unknown: {', '.join(unknown) or '-'}", file=sys.stderr)
        return 2
    scene = Scene(glyphs, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    render_scene(scene, args.size).save(args.out)
    grade, categories = image_grade(glyphs)
    print(f"wrote {args.out} ({args.size}x{args.size}) glyphs={','.join(glyphs)} seed={args.seed}")
    print(f"image grade: {grade}  categories: {', '.join(categories) or '-'}")
    return 0


def _table(title: str, rows: dict[str, dict[str, Any]], columns: tuple[str, ...]) -> str:
    keys = list(rows)
    width = max([len(title), *(len(k) for k in keys)])
    lines = [f"{title:<{width}}  " + "  ".join(f"{c:>7}" for c in columns)]
    lines += [f"{k:<{width}}  " + "  ".join(f"{rows[k].get(c, 0):>7}" for c in columns) for k in keys]
    return "\n".join(lines)


def run_stats(args: argparse.Namespace) -> int:
    """Build the corpus and print its statistics as tables."""
    stats = corpus_stats(build_corpus(seed=args.seed, size=args.size))
    print(f"examples: {stats['total']}  intents: {stats['intents']}  families per split: {stats['families']}")
    print(f"kinds: {stats['kinds']}\n")
    print(_table("split", {"examples": stats["splits"]}, SPLITS) + "\n")
    by_pattern = {p: {s: stats["patterns"][s].get(p, 0) for s in SPLITS} for p in VALID_PATTERNS}
    print(_table("pattern", by_pattern, SPLITS) + "\n")
    by_category = {c: {s: stats["categories"][s].get(c, 0) for s in SPLITS} for c in CATEGORIES}
    print(_table("category", by_category, SPLITS) + "\n")
    print(_table("grade", stats["grades"], ("safe", "borderline", "unsafe")) + "\n")
    print(f"emergent share of pairs: {stats['emergent_share']:.3f}")
    print(f"emergent share of joint-unsafe pairs: {stats['emergent_share_of_unsafe']:.3f}")
    return 0


def run_export(args: argparse.Namespace) -> int:
    """Write a split in the labelled JSONL layout that `python -m service eval` and `tune` read."""
    examples = [e for e in build_corpus(seed=args.seed, size=args.size) if e.split == args.split]
    if args.limit:
        examples = examples[:: max(1, len(examples) // args.limit)][: args.limit]
    (args.out / "images").mkdir(parents=True, exist_ok=True)
    with (args.out / "labelled.jsonl").open("w", encoding="utf-8") as f:
        for e in examples:
            image = None
            if isinstance(e.image, Scene):
                image = f"images/{e.id}.png"
                render_scene(e.image, args.image_size).save(args.out / image)
            row = {
                "id": e.id,
                "image": image,
                "text": e.text,
                "image_grade": e.image_grade,
                "text_grade": e.text_grade,
                "joint_grade": e.joint_grade,
                "categories": list(e.categories),
            }
            f.write(json.dumps(row) + "\n")
    print(f"wrote {len(examples)} {args.split} examples to {args.out / 'labelled.jsonl'}")
    return 0


MAX_RENDERS = 10  # scene seeds are 50_000 + 10 * row + render: each render of each row its own


def _sets(text: str) -> frozenset[int]:
    """Read `1-6` or `1,3,5` (or both: `1-3,5`) as a set of set numbers."""
    chosen: set[int] = set()
    try:
        for part in text.split(","):
            first, dash, last = part.partition("-")
            chosen.update(range(int(first), int(last if dash else first) + 1))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give sets as 1-6 or 1,3,5") from None
    if not chosen:
        raise argparse.ArgumentTypeError(f"{text!r}: no set in it")
    return frozenset(chosen)


def run_pairs(args: argparse.Namespace) -> int:
    """Write the chosen sets of a hand-written fixture as labelled JSONL, each pair drawn `--renders` times.

    The rows are read as `python -m model train --add` and `python -m service eval` read labelled
    data; a model trained on them is scored on the other sets only (`manifest.json`, `handwritten`).
    """
    if not args.fixture.is_file():
        print(f"error: no such file {args.fixture}", file=sys.stderr)
        return 2
    try:
        rows = read_pairs(args.fixture)
    except PairsError as e:
        print(f"error: {args.fixture}: {e}; nothing written", file=sys.stderr)
        return 2
    chosen = [(n, row) for n, row in enumerate(rows) if row.get("set", 1) in args.sets]
    if not chosen:
        print(f"error: no pair of {args.fixture} is in sets {sorted(args.sets)}", file=sys.stderr)
        return 2
    (args.out / "images").mkdir(parents=True, exist_ok=True)
    with (args.out / "labelled.jsonl").open("w", encoding="utf-8") as f:
        for n, row in chosen:
            for k in range(args.renders):
                image = f"images/hw{n:03d}_{k}.png"
                scene = Scene(tuple(row["glyphs"]), seed=50_000 + MAX_RENDERS * n + k)
                render_scene(scene, args.image_size).convert("RGB").save(args.out / image)
                item = {"id": f"hw-{n}-{k}", "image": image, "text": row["text"]}
                labels = {"joint_grade": row["joint_grade"], "categories": row.get("categories", [])}
                f.write(json.dumps(item | labels) + "\n")
    print(f"wrote {len(chosen)} pairs x {args.renders} scenes to {args.out / 'labelled.jsonl'}")
    return 0


def run_coverage(args: argparse.Namespace) -> int:
    """Print nearest-training-text similarity percentiles of the given texts and of the test split."""
    from model.corpus.coverage import PERCENTILES, coverage, read_texts  # torch: only for this command

    if not args.texts.is_file():
        print(f"error: no such file {args.texts}", file=sys.stderr)
        return 2
    try:
        texts = read_texts(args.texts)
    except (ValueError, csv.Error) as e:  # not JSON, not UTF-8, not CSV
        print(f"error: {args.texts}: cannot read texts ({e})", file=sys.stderr)
        return 2
    if not texts:
        print(f"error: no texts in {args.texts}", file=sys.stderr)
        return 2
    figures = coverage(texts, seed=args.seed, size=args.size)
    rows = {
        f"{args.texts.name} ({figures['n']})": figures["texts"],
        "held-out test split": figures["test_split"],
    }
    columns = tuple(f"p{p}" for p in PERCENTILES)
    table = {name: {f"p{p}": f"{v:.2f}" for p, v in row.items()} for name, row in rows.items()}
    print(f"cosine similarity to the nearest of {figures['train_texts']} training texts")
    print(_table("texts", table, columns))
    print(f"below the test split's 10th percentile: {figures['share_below_test_p10']:.0%} of the texts")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run a corpus command from the given arguments (the words after `corpus`)."""
    parser = argparse.ArgumentParser(prog="python -m model.corpus.cli", description=__doc__)
    _add_commands(parser)
    args = parser.parse_args(argv)
    code: int = args.handler(args)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
