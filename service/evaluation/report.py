"""Write an evaluation report: report.json, report.html and the PNG plots it shows."""

from __future__ import annotations

import html
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from service.taxonomy import GRADES

RELIABILITY_PNG = "reliability.png"
SWEEP_PNG = "sweep.png"
PATTERNS_PNG = "patterns.png"
HTML_SECTIONS = (
    "summary",
    "modalities",
    "patterns",
    "categories",
    "blocking",
    "emergent",
    "calibration",
    "sweep",
)


def json_safe(value: Any) -> Any:
    """Return `value` with NaN and infinities as None (strict JSON has no NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def write_report(report: dict[str, Any], out_dir: Path) -> list[Path]:
    """Write report.json, the plots and report.html into `out_dir`; return the files written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / "report.json"
    json_path.write_text(json.dumps(json_safe(report), indent=2) + "\n", encoding="utf-8")
    plots = write_plots(report, out_dir)
    html_path = out_dir / "report.html"
    html_path.write_text(render_html(report, [p.name for p in plots]), encoding="utf-8")
    return [json_path, *plots, html_path]


# --- plots ---------------------------------------------------------------------------------------


def write_plots(report: dict[str, Any], out_dir: Path) -> list[Path]:
    """Draw the reliability diagram, the blocking sweep and per-pattern accuracy as PNGs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []

    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect calibration")
    for modality, block in report.get("calibration", {}).items():
        bins = [b for b in block["bins"] if b["count"]]
        ece = block.get("ece")
        label = f"{modality} (ECE {ece:.3f})" if ece is not None else modality
        ax.plot([b["confidence"] for b in bins], [b["accuracy"] for b in bins], marker="o", label=label)
    ax.set(xlabel="confidence (top score)", ylabel="accuracy", title="Reliability", xlim=(0, 1), ylim=(0, 1))
    ax.legend(loc="upper left")
    written.append(_save(fig, out_dir / RELIABILITY_PNG))

    sweep = report.get("sweep")
    if sweep is not None:
        fig, ax = plt.subplots(figsize=(6, 5))
        points = sweep["points"]
        pairs = [
            (u, h)
            for u, h in zip(points["unsafe_not_blocked"], points["harmless_blocked"], strict=True)
            if u is not None
        ]
        missed = [u for u, _ in pairs]
        harmless = [h if h is not None else 0.0 for _, h in pairs]
        ax.scatter(missed, harmless, s=6, color="lightgrey", label="grid points")
        frontier = pareto_frontier(missed, harmless)
        if frontier:
            ax.plot(*zip(*frontier, strict=True), color="tab:blue", label="best trade-off")
        for key, style, name in (("current", "r*", "current policy"), ("tuned", "g^", "tuned policy")):
            point = sweep.get(key)
            if point and point.get("unsafe_not_blocked") is not None:
                harmless_blocked = point["harmless_blocked"] or 0.0
                ax.plot(point["unsafe_not_blocked"], harmless_blocked, style, markersize=14, label=name)
        target = sweep.get("target_unsafe_not_blocked")
        if target is not None:
            label = f"target unsafe not blocked {target:.1%}"
            ax.axvline(target, color="tab:green", linestyle=":", label=label)
        ax.set(
            xlabel="unsafe not blocked (share of gold-unsafe items)",
            ylabel="harmless blocked (share of gold-safe items)",
            title="Threshold sweep: harmless blocked vs unsafe not blocked",
            xlim=(-0.02, 1.02),
            ylim=(-0.02, 1.02),
        )
        ax.legend(loc="upper right")
        written.append(_save(fig, out_dir / SWEEP_PNG))

    rows = report.get("patterns", [])
    if rows:
        fig, ax = plt.subplots(figsize=(10, 4))
        names = [r["pattern"] for r in rows]
        accuracy = [r["joint_accuracy"] if r["joint_accuracy"] is not None else 0.0 for r in rows]
        colours = ["tab:orange" if r["emergent"] else "tab:blue" for r in rows]
        ax.bar(names, accuracy, color=colours)
        for i, r in enumerate(rows):
            ax.text(i, accuracy[i] + 0.01, str(r["count"]), ha="center", fontsize=7)
        ax.set(
            ylabel="joint accuracy",
            ylim=(0, 1.1),
            title="Joint accuracy per pattern (orange: emergent; n on top)",
        )
        ax.tick_params(axis="x", rotation=60)
        written.append(_save(fig, out_dir / PATTERNS_PNG))
    return written


def _save(fig: Any, path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def pareto_frontier(missed: Sequence[float], blocked: Sequence[float]) -> list[tuple[float, float]]:
    """Return the (missed, blocked) points no other point beats on both, sorted by the first.

    `missed` is unsafe-not-blocked, `blocked` harmless-blocked: lower is better for both.
    """
    frontier: list[tuple[float, float]] = []
    best_blocked = math.inf
    for m, b in sorted(zip(missed, blocked, strict=True)):
        if b < best_blocked:
            frontier.append((m, b))
            best_blocked = b
    return frontier


# --- HTML ----------------------------------------------------------------------------------------


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}"
    return html.escape(str(value))


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_fmt(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _img(name: str, plots: Sequence[str], alt: str) -> str:
    return f'<img src="{html.escape(name)}" alt="{html.escape(alt)}">' if name in plots else ""


def render_html(report: dict[str, Any], plots: Sequence[str]) -> str:
    """Render the report as one self-contained HTML page that shows the PNGs beside it."""
    policy = report.get("policy", {})
    data = report.get("data", {})
    blocking = report.get("blocking", {})
    sections = []

    summary_rows = [
        ("policy", f"{policy.get('name')} ({policy.get('version')})"),
        ("data", data.get("source")),
        ("items evaluated", report.get("items")),
        ("skipped: image missing", data.get("skipped_missing_image")),
        ("skipped: invalid row", data.get("skipped_invalid")),
        ("skipped: scoring error", data.get("scoring_errors")),
        ("joint macro F1", report.get("modalities", {}).get("joint", {}).get("macro_f1")),
        ("harmless blocked (gold-safe items blocked)", blocking.get("harmless_blocked")),
        ("borderline blocked (gold-borderline items blocked)", blocking.get("borderline_blocked")),
        ("unsafe not blocked (gold-unsafe items not blocked)", blocking.get("unsafe_not_blocked")),
        ("emergent recall", report.get("emergent", {}).get("recall")),
        ("generated", report.get("generated")),
    ]
    sections.append(("summary", "Summary", _table(["", ""], summary_rows)))

    modality_rows = []
    for name, m in report.get("modalities", {}).items():
        f1 = [m["per_class"][g]["f1"] for g in GRADES]
        modality_rows.append([name, m["n"], m["accuracy"], m["macro_f1"], *f1])
    sections.append(
        (
            "modalities",
            "Per modality (3-class)",
            _table(["modality", "n", "accuracy", "macro F1", *(f"F1 {g}" for g in GRADES)], modality_rows),
        )
    )

    pattern_rows = [
        [r["pattern"], "yes" if r["emergent"] else "", "" if r["valid"] else "invalid", r["count"],
         r["joint_accuracy"], r["pattern_accuracy"]]
        for r in report.get("patterns", [])
    ]  # fmt: skip
    sections.append(
        (
            "patterns",
            "Per pattern (image-text-joint)",
            _table(
                ["pattern", "emergent", "note", "count", "joint accuracy", "all three right"], pattern_rows
            )
            + f"<p>Items without a pattern (one modality): {_fmt(report.get('items_without_pattern'))}</p>"
            + _img(PATTERNS_PNG, plots, "joint accuracy per pattern"),
        )
    )

    category_rows = [
        [f"{r['code']} {r['category']}", r["support"], r["flagged"], r["recall"], r["precision"]]
        for r in report.get("categories", [])
    ]
    sections.append(
        (
            "categories",
            "Per category (gold positives: borderline or unsafe items with that category)",
            _table(["category", "support", "flagged", "recall", "precision"], category_rows),
        )
    )

    by_gold = blocking.get("actions_by_gold_joint_grade", {})
    action_rows = [[grade, *counts.values()] for grade, counts in by_gold.items()]
    sections.append(
        (
            "blocking",
            "Blocking",
            f"<p>Harmless blocked: {_fmt(blocking.get('harmless_blocked'))} of "
            f"{_fmt(blocking.get('safe_items'))} gold-safe items blocked. "
            f"Borderline blocked: {_fmt(blocking.get('borderline_blocked'))} of "
            f"{_fmt(blocking.get('borderline_items'))} gold-borderline items blocked. "
            f"Unsafe not blocked: {_fmt(blocking.get('unsafe_not_blocked'))} of "
            f"{_fmt(blocking.get('unsafe_items'))} gold-unsafe items not blocked.</p>"
            + _table(["gold joint grade", "allow", "review", "block"], action_rows),
        )
    )

    emergent = report.get("emergent", {})
    joint_errors = report.get("joint_errors", {})
    sections.append(
        (
            "emergent",
            "Emergent (cross-modal) cases",
            _table(
                ["", ""],
                [
                    ("emergent items", emergent.get("items")),
                    ("recall (joint grade at least as severe as gold)", emergent.get("recall")),
                    ("exact joint accuracy", emergent.get("exact_accuracy")),
                    ("joint errors", joint_errors.get("count")),
                    ("… with both unimodal grades right", joint_errors.get("share_with_both_unimodal_right")),
                ],
            ),
        )
    )

    calibration_rows = [[m, c["n"], c["ece"]] for m, c in report.get("calibration", {}).items()]
    sections.append(
        (
            "calibration",
            "Calibration",
            _table(["modality", "n", "ECE"], calibration_rows)
            + _img(RELIABILITY_PNG, plots, "reliability diagram"),
        )
    )

    sweep = report.get("sweep") or {}
    current = sweep.get("current") or {}
    sections.append(
        (
            "sweep",
            "Threshold sweep",
            f"<p>Joint thresholds swept on a grid; the current policy (joint.unsafe "
            f"{_fmt(current.get('joint_unsafe'))}, joint.borderline {_fmt(current.get('joint_borderline'))}) "
            f"is marked.</p>" + _img(SWEEP_PNG, plots, "harmless blocked vs unsafe not blocked curve"),
        )
    )

    body = "\n".join(
        f'<section id="{sid}"><h2>{html.escape(title)}</h2>{content}</section>'
        for sid, title, content in sections
    )
    title = f"Safety policy report: {html.escape(str(policy.get('name', '')))}"
    style = (
        "body{font-family:sans-serif;margin:2em;max-width:70em}table{border-collapse:collapse;margin:.5em 0}"
        "td,th{border:1px solid #ccc;padding:.2em .6em;text-align:right}img{max-width:100%;display:block}"
    )
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>{style}</style></head><body><h1>{title}</h1>\n{body}\n</body></html>\n"
    )
