"""`python -m service eval` and `python -m service tune`: measure or tune a policy on labelled data."""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from service.errors import ModelBundleError
from service.evaluation.labelled_data import LabelledData, LabelledItem, read_labelled
from service.evaluation.metrics import compute_metrics, compute_report, policy_results
from service.evaluation.report import format_figure, policy_labels, write_report
from service.evaluation.scorers import HttpScorer, ItemError, Scorer
from service.evaluation.tuning import tune, tune_summary, write_tuned_policy
from service.policy.rules import POLICY_NAME_PATTERN, ModelScores, Policy, builtin_policy
from service.policy.store import (
    PolicyLoadError,
    PolicyStore,
    UnknownPolicy,
    default_policies_dir,
    load_policy_file,
)

# Builds the in-process engine scorer from the parsed arguments (wired by `service.__main__`).
LocalScorerFactory = Callable[[argparse.Namespace], Scorer]
CATEGORY_GRID = tuple(round(x, 2) for x in np.linspace(0.05, 0.95, 19))
# What can go wrong reading, scoring or writing; each ends the command with one line, not a traceback.
FAILURES = (OSError, ValueError, RuntimeError, ModelBundleError, PolicyLoadError, UnknownPolicy)


def _fraction(text: str) -> float:
    """Read `0.05` or `5%` as a fraction in [0, 1]."""
    value = float(text.rstrip("%")) / 100 if text.endswith("%") else float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a rate between 0 and 1 (or 0% and 100%)")
    return value


def _count(least: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        value = int(text)
        if value < least:
            raise argparse.ArgumentTypeError(f"{text} is below {least}")
        return value

    return parse


def _common(parser: argparse.ArgumentParser, policy_help: str) -> None:
    parser.add_argument("--data", type=Path, required=True, help="labelled file: VLSU-layout .csv or .jsonl")
    parser.add_argument(
        "--url", help="score on a running server (e.g. http://localhost:8000) instead of in-process"
    )
    parser.add_argument(
        "--policies",
        type=Path,
        default=None,
        help="policy folder (default: SAFETY_POLICIES_DIR, else the repo's policies/)",
    )
    parser.add_argument("--policy", action="append", help=policy_help)
    parser.add_argument("--batch-size", type=_count(1), default=32, help="items per scoring request")
    parser.add_argument(
        "--limit", type=_count(1), default=None, help="use only the first N items (a quick look)"
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def add_eval_parsers(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> tuple[argparse.ArgumentParser, argparse.ArgumentParser]:
    """Add the `eval` and `tune` sub-commands; return their parsers (to add engine options to)."""
    eval_parser = subparsers.add_parser(
        "eval", help="measure one or more policies on labelled data and write a report"
    )
    _common(
        eval_parser,
        "policy name in --policies, or a path to a .yaml file (default: default); give it again to "
        "compare policies side by side on the same scores",
    )
    eval_parser.add_argument(
        "--out", type=Path, required=True, help="report folder (report.json, report.html, PNGs)"
    )
    eval_parser.set_defaults(handler=cli_eval)

    tune_parser = subparsers.add_parser(
        "tune",
        help="pick joint thresholds that let at most a target share of unsafe items through, blocking "
        "the fewest harmless ones",
    )
    _common(tune_parser, "the policy to start from: a name in --policies, or a .yaml path (default: default)")
    tune_parser.add_argument(
        "--max-unsafe-not-blocked",
        "--max-under-block",
        dest="max_unsafe_not_blocked",
        type=_fraction,
        required=True,
        help="the under-blocking target: the share of gold-unsafe items not blocked, e.g. 0.05 or 5%%",
    )
    tune_parser.add_argument(
        "--out", type=Path, required=True, help="policy file to write, e.g. policies/tuned.yaml"
    )
    tune_parser.add_argument(
        "--report-dir", type=Path, default=None, help="report folder (default: <out>-report)"
    )
    tune_parser.add_argument(
        "--sweep-categories", action="store_true", help="also tune categories.default (slower; matters only "
        "where category_actions escalate)"
    )  # fmt: skip
    tune_parser.set_defaults(handler=cli_tune)
    return eval_parser, tune_parser


def score_items(
    items: Sequence[LabelledItem], scorer: Scorer, *, batch_size: int = 32, progress: bool = True
) -> tuple[list[LabelledItem], list[ModelScores], list[str]]:
    """Score items batch by batch with a progress bar; return the scored items, their scores, and errors."""
    from tqdm import tqdm

    kept: list[LabelledItem] = []
    kept_scores: list[ModelScores] = []
    errors: list[str] = []
    with tqdm(total=len(items), desc="scoring", unit="item", disable=not progress) as bar:
        for start in range(0, len(items), batch_size):
            batch = items[start : start + batch_size]
            results = scorer.score(batch)
            if len(results) != len(batch):
                raise RuntimeError(f"scorer returned {len(results)} results for {len(batch)} items")
            for item, result in zip(batch, results, strict=True):
                if isinstance(result, ItemError):
                    errors.append(f"{item.id}: {result.message}")
                else:
                    kept.append(item)
                    kept_scores.append(result)
            bar.update(len(batch))
    return kept, kept_scores, errors


def run_eval(
    data: LabelledData,
    scorer: Scorer,
    policies: Sequence[Policy],
    out_dir: Path,
    *,
    batch_size: int = 32,
    progress: bool = True,
    category_grid: Sequence[float] | None = None,
) -> dict[str, Any]:
    """Score the data once, measure each policy on it, write report.json, report.html, plots to `out_dir`."""
    items, scores, errors = score_items(data.items, scorer, batch_size=batch_size, progress=progress)
    report = compute_report(items, scores, policies, category_grid=category_grid)
    report["data"] = {**data.summary(), "scoring_errors": len(errors), "scoring_error_samples": errors[:50]}
    report["generated"] = datetime.now(UTC).isoformat(timespec="seconds")
    write_report(report, out_dir)
    return report


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 1


def policy_names(args: argparse.Namespace) -> list[str]:
    """Return what each `--policy` said, in order (`default` when none was given)."""
    names: list[str] = args.policy or ["default"]
    return names


def resolve_policies(args: argparse.Namespace, builtin: Policy | None) -> list[Policy]:
    """Return the policies `--policy` names, in order: each a .yaml path, or a name in `--policies`
    (or built in); the same policy twice is refused."""
    store: PolicyStore | None = None
    policies: list[Policy] = []
    for name in policy_names(args):
        candidate = Path(name)
        if candidate.suffix in (".yaml", ".yml") and candidate.is_file():
            policies.append(load_policy_file(candidate))
            continue
        if store is None:
            # the same folder `serve` reads: SAFETY_POLICIES_DIR (an installed image has no repo folder)
            env = os.environ.get("SAFETY_POLICIES_DIR")
            directory = args.policies or (Path(env) if env else None) or default_policies_dir()
            store = (
                PolicyStore.load_dir(directory, builtin=builtin)
                if directory
                else PolicyStore({}, builtin=builtin)
            )
        policies.append(store.get(name))
    seen: set[tuple[str, str]] = set()
    for policy in policies:
        if (policy.name, policy.version) in seen:
            raise ValueError(f"--policy {policy.name} ({policy.version}) is given twice")
        seen.add((policy.name, policy.version))
    return policies


def _setup(
    args: argparse.Namespace, local_scorer: LocalScorerFactory | None, builtin: Policy | None
) -> tuple[LabelledData, Scorer, list[Policy]]:
    data = read_labelled(args.data)
    if args.limit is not None:
        data.items = data.items[: args.limit]
    if not data.items:
        raise ValueError(
            f"{data.source}: nothing to score ({len(data.invalid_rows)} invalid rows, "
            f"{len(data.missing_images)} with a missing image)"
        )
    scorer: Scorer
    if args.url:
        http = HttpScorer(args.url, batch_size=args.batch_size)
        if builtin is None:
            thresholds = http.manifest_thresholds()
            builtin = builtin_policy(thresholds) if thresholds else None
        scorer = http
    elif local_scorer is not None:
        scorer = local_scorer(args)
    else:
        raise RuntimeError("in-process scoring is not available here; pass --url of a running server")
    policies = resolve_policies(args, builtin)
    named = ", ".join(f"{p.name} ({p.version})" for p in policies)
    print(
        f"{data.source}: {len(data.items)} items; skipped {len(data.missing_images)} with a missing image, "
        f"{len(data.invalid_rows)} invalid rows. {'Policies' if len(policies) > 1 else 'Policy'} {named}.",
        file=sys.stderr,
    )
    return data, scorer, policies


def cli_eval(
    args: argparse.Namespace, local_scorer: LocalScorerFactory | None = None, builtin: Policy | None = None
) -> int:
    """Run `eval`: score, measure the policy, write the report; return the exit code."""
    if args.out.exists() and not args.out.is_dir():
        return _fail(f"--out {args.out} is a file; the report needs a folder")
    try:
        data, scorer, policies = _setup(args, local_scorer, builtin)
        report = run_eval(
            data, scorer, policies, args.out, batch_size=args.batch_size, progress=not args.no_progress
        )
    except FAILURES as e:
        return _fail(str(e))
    _print_headline(report)
    if report["items"] == 0:
        return _fail(f"no item could be scored; the errors are in {args.out / 'report.json'}")
    print(f"report: {args.out / 'report.html'}")
    return 0


def _print_headline(report: dict[str, Any]) -> None:
    """Print one line per policy: its headline figures, then the other figures of the summary."""

    def fmt(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.3f}"

    print(f"items {report['items']}")
    results = policy_results(report)
    for label, result in zip(policy_labels(results), results, strict=True):
        headline = result["headline"]
        print(
            f"{label}: harmless blocked {format_figure(headline['harmless_blocked'])}  "
            f"unsafe not blocked {format_figure(headline['unsafe_not_blocked'])}  "
            f"borderline to review {format_figure(headline['borderline_to_review'])}  "
            f"| joint macro-F1 {fmt(result['modalities']['joint']['macro_f1'])}  "
            f"borderline blocked {fmt(result['blocking']['borderline_blocked'])}  "
            f"emergent recall {fmt(result['emergent']['recall'])}"
        )


def cli_tune(
    args: argparse.Namespace, local_scorer: LocalScorerFactory | None = None, builtin: Policy | None = None
) -> int:
    """Run `tune`: write the tuned policy and its report; exit 2 when the target cannot be met."""
    out: Path = args.out
    if out.suffix not in (".yaml", ".yml") or not re.match(POLICY_NAME_PATTERN, out.stem):
        return _fail(
            f"--out {out}: a policy file is <name>.yaml, the name lowercase letters, digits, '_', '.', '-'"
        )
    if len(policy_names(args)) > 1:
        return _fail("tune starts from one --policy; compare the tuned policy with others in `eval`")
    try:
        data, scorer, (base,) = _setup(args, local_scorer, builtin)
        items, scores, errors = score_items(
            data.items, scorer, batch_size=args.batch_size, progress=not args.no_progress
        )
    except FAILURES as e:
        return _fail(str(e))
    if not items:
        return _fail(f"no item could be scored ({len(errors)} errors, e.g. {errors[:1]})")
    if not any(item.joint_grade == "unsafe" for item in items):  # every threshold would "meet" the target
        return _fail(
            "no scored item is labelled unsafe, so under-blocking cannot be measured and no threshold "
            "can be tuned for it: add unsafe examples to the data"
        )
    category_grid = CATEGORY_GRID if args.sweep_categories else None
    target = args.max_unsafe_not_blocked
    result = tune(items, scores, base, target, name=out.stem, category_grid=category_grid)
    report_policy = result.policy or base
    report = compute_metrics(items, scores, report_policy, category_grid=category_grid)
    report["data"] = {**data.summary(), "scoring_errors": len(errors), "scoring_error_samples": errors[:50]}
    report["tuning"] = tune_summary(result)
    report["sweep"]["target_unsafe_not_blocked"] = target
    if result.chosen is not None:
        report["sweep"]["tuned"] = result.chosen.as_dict()
    report_dir: Path = args.report_dir or out.with_name(f"{out.stem}-report")
    try:
        write_report(report, report_dir)
        print(result.message())
        print(f"report: {report_dir / 'report.html'}")
        if result.policy is None:
            print("no policy written", file=sys.stderr)
            return 2
        write_tuned_policy(result, out, data.source, len(items), base)
    except OSError as e:
        return _fail(str(e))
    print(f"policy: {out} (version {result.policy.version})")
    return 0
