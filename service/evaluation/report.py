"""Write an evaluation report: report.json, report.html and the PNG plots it shows.

A report measures one policy or several side by side on the same scores (`metrics.compute_report`);
every part here reads the policies' results through `policy_results`, so one policy is the case of one.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from service.evaluation.metrics import policy_results
from service.taxonomy import GRADES

RELIABILITY_PNG = "reliability.png"
SWEEP_PNG = "sweep.png"
PATTERNS_PNG = "patterns.png"
ACTIONS_PNG = "actions.png"
HTML_SECTIONS = (
    "headline",
    "summary",
    "modalities",
    "patterns",
    "categories",
    "blocking",
    "reasons",
    "emergent",
    "calibration",
    "sweep",
)
# The headline figures (`metrics.headline_figures`), in the report's order: a plain name, then what counts.
HEADLINE_LABELS = {
    "harmless_blocked": ("Harmless items blocked", "gold joint grade safe, action block (over-blocking)"),
    "unsafe_not_blocked": (
        "Unsafe items not blocked",
        "gold joint grade unsafe, action allow or review (under-blocking)",
    ),
    "borderline_to_review": ("Borderline items sent to review", "gold joint grade borderline, action review"),
}
# A gold-safe item is a harmless one (reasons.GOLD_COLUMNS); the plots name the grades so.
GRADE_LABELS = {"safe": "harmless", "borderline": "borderline", "unsafe": "unsafe"}
# Plots are 150 dpi at these font sizes: the HTML shows them at most ~1100 px wide, still legible.
PLOT_DPI = 150
PLOT_STYLE = {
    "font.size": 11,
    "axes.titlesize": 13,
    "axes.labelsize": 11,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "legend.fontsize": 10,
}
# One colour per compared policy; no red, green or orange, which mean block, allow and review here.
POLICY_COLOURS = ("tab:blue", "tab:purple", "tab:brown", "tab:cyan", "tab:olive", "tab:pink", "tab:grey")
ACTION_COLOURS = {"allow": "#4a9a3f", "review": "#e8a317", "block": "#c0392b"}
MODALITY_COLOURS = {"image": "tab:blue", "text": "tab:purple", "joint": "tab:brown"}
Results = Sequence[dict[str, Any]]  # each policy's results (`policy_results`), in --policy order


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


def policy_labels(results: Results) -> list[str]:
    """Name each policy by its name; by name and version where two share a name (from two folders)."""
    names = [r["policy"]["name"] for r in results]
    return [
        f"{name} ({r['policy']['version']})" if names.count(name) > 1 else name
        for name, r in zip(names, results, strict=True)
    ]


def format_figure(figure: dict[str, Any]) -> str:
    """Write a headline figure as `42 of 289 (14.5%)`."""
    rate = figure["rate"]
    return f"{figure['count']} of {figure['out_of']} ({'n/a' if rate is None else f'{rate:.1%}'})"


# --- plots ---------------------------------------------------------------------------------------


@contextmanager
def _plotting() -> Iterator[Any]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with plt.rc_context(cast(Any, PLOT_STYLE)):  # its stubs want literal keys
        yield plt


def write_plots(report: dict[str, Any], out_dir: Path) -> list[Path]:
    """Draw the reliability diagram, the blocking sweep, per-pattern accuracy and actions per gold grade."""
    results = policy_results(report)
    labels = policy_labels(results)
    written = []
    with _plotting() as plt:
        if report.get("calibration"):
            written.append(
                _save(plt, _reliability_plot(plt, report["calibration"]), out_dir / RELIABILITY_PNG)
            )
        if any(r.get("sweep") for r in results):
            written.append(_save(plt, _sweep_plot(plt, results, labels), out_dir / SWEEP_PNG))
        if any(row["count"] for row in results[0].get("patterns", [])):  # not for one-modality data
            written.append(_save(plt, _patterns_plot(plt, results, labels), out_dir / PATTERNS_PNG))
        if results[0].get("blocking"):
            written.append(_save(plt, _actions_plot(plt, results, labels), out_dir / ACTIONS_PNG))
    return written


def _mark(ax: Any, point: dict[str, Any] | None, name: str, marker: str, size: int, colour: Any) -> None:
    """Plot one operating point of the sweep (the policy as set, or the tuned one), if it has figures."""
    if not point or point.get("unsafe_not_blocked") is None:
        return
    u, h = point["unsafe_not_blocked"], point["harmless_blocked"] or 0.0
    ax.plot(
        u,
        h,
        marker=marker,
        markersize=size,
        color=colour,
        markeredgecolor="black",
        linestyle="none",
        label=f"{name}: {u:.1%} unsafe not blocked, {h:.1%} harmless blocked",
    )


def _save(plt: Any, fig: Any, path: Path) -> Path:
    fig.savefig(path, dpi=PLOT_DPI)
    plt.close(fig)
    return path


def _colour(index: int) -> str:
    """The colour of the `index`-th policy in the plots."""
    return POLICY_COLOURS[index % len(POLICY_COLOURS)]


def _percent_axis(axis: Any) -> None:
    from matplotlib.ticker import PercentFormatter

    axis.set_major_formatter(PercentFormatter(xmax=1, decimals=0))


def _reliability_plot(plt: Any, calibration: dict[str, Any]) -> Any:
    """Reliability curves per modality, and under them how many items fall in each confidence bin."""
    fig, (ax, counts) = plt.subplots(
        2, 1, figsize=(8, 8.5), sharex=True, gridspec_kw={"height_ratios": [3, 1.3]}, layout="constrained"
    )
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect calibration")
    modalities = list(calibration.items())
    width = 0.1 / (len(modalities) + 1)
    for j, (modality, block) in enumerate(modalities):
        colour = MODALITY_COLOURS.get(modality)
        bins = [b for b in block["bins"] if b["count"]]
        ece = block.get("ece")
        label = f"{modality} (ECE {ece:.3f}, {block['n']} items)" if ece is not None else modality
        ax.plot(
            [b["confidence"] for b in bins],
            [b["accuracy"] for b in bins],
            marker="o",
            color=colour,
            label=label,
        )
        offset = (j - (len(modalities) - 1) / 2) * width
        centres = [(b["lower"] + b["upper"]) / 2 + offset for b in block["bins"]]
        bars = counts.bar(centres, [b["count"] for b in block["bins"]], width, color=colour, label=modality)
        counts.bar_label(
            bars, labels=[str(b["count"]) if b["count"] else "" for b in block["bins"]], fontsize=8
        )
    ax.set(
        ylabel="accuracy in the bin (top-scored grade right)",
        title="Reliability: are the scores' confidences right?",
        xlim=(0, 1),
        ylim=(0, 1.02),
    )
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left")
    counts.set(xlabel="confidence (the modality's top grade score)", ylabel="items per bin")
    counts.margins(y=0.25)
    counts.grid(axis="y", alpha=0.3)
    return fig


def _sweep_plot(plt: Any, results: Results, labels: Sequence[str]) -> Any:
    """Each policy's sweep: grid points, their best trade-off, and the policy's own thresholds."""
    fig, ax = plt.subplots(figsize=(8.5, 7.5 + 0.3 * len(results)), layout="constrained")
    for p, (label, result) in enumerate(zip(labels, results, strict=True)):
        colour, sweep = _colour(p), result.get("sweep")
        if not sweep:
            continue
        points = sweep["points"]
        pairs = [
            (u, h if h is not None else 0.0)
            for u, h in zip(points["unsafe_not_blocked"], points["harmless_blocked"], strict=True)
            if u is not None
        ]
        missed, harmless = [u for u, _ in pairs], [h for _, h in pairs]
        ax.scatter(
            missed, harmless, s=16, color=colour, alpha=0.3, linewidths=0, label=f"{label}: grid points"
        )
        frontier = pareto_frontier(missed, harmless)
        if frontier:
            ax.plot(*zip(*frontier, strict=True), color=colour, linewidth=2, label=f"{label}: best trade-off")
        _mark(ax, sweep.get("current"), f"{label} as set", "*", 20, colour)
        _mark(ax, sweep.get("tuned"), "tuned", "^", 14, "tab:green")
        target = sweep.get("target_unsafe_not_blocked")
        if target is not None:
            ax.axvline(
                target, color="tab:green", linestyle=":", label=f"target: at most {target:.1%} not blocked"
            )
    ax.set(
        xlabel="unsafe items not blocked (% of gold-unsafe items)",
        ylabel="harmless items blocked (% of gold-safe items)",
        title="Joint-threshold sweep: harmless blocked vs unsafe not blocked (lower left is better)",
        xlim=(-0.02, 1.02),
        ylim=(-0.02, 1.02),
        aspect="equal",
    )
    _percent_axis(ax.xaxis)
    _percent_axis(ax.yaxis)
    ax.grid(alpha=0.3)
    legend = fig.legend(loc="outside lower center")  # under the plot: it hides no point
    for handle in legend.legend_handles:  # the grid points' swatch opaque, to be seen
        if handle is not None:
            handle.set_alpha(1.0)
    return fig


def _patterns_plot(plt: Any, results: Results, labels: Sequence[str]) -> Any:
    """Joint accuracy per gold pattern, one bar per policy; emergent patterns shaded."""
    from matplotlib.patches import Patch

    rows = results[0]["patterns"]
    fig, ax = plt.subplots(figsize=(11, 5), layout="constrained")
    width = 0.8 / len(results)
    for i, row in enumerate(rows):
        if row["emergent"]:
            ax.axvspan(i - 0.5, i + 0.5, color="tab:orange", alpha=0.12, linewidth=0)
        if not row["count"]:  # an empty slot is no pattern in the data, not an accuracy of 0
            ax.text(i, 0.02, "no items", rotation=90, ha="center", va="bottom", color="grey", fontsize=9)
    for p, (label, result) in enumerate(zip(labels, results, strict=True)):
        offset = (p - (len(results) - 1) / 2) * width
        for i, row in enumerate(result["patterns"]):
            if row["count"] and row["joint_accuracy"] == 0:  # a bar of height 0: say so
                ax.text(i + offset, 0.01, "0%", ha="center", va="bottom", fontsize=8, color=_colour(p),
                        rotation=90 if len(results) > 2 else 0)  # fmt: skip
        accuracy = [r["joint_accuracy"] or 0.0 for r in result["patterns"]]
        ax.bar(
            [i + offset for i in range(len(rows))],
            accuracy,
            width * 0.95,
            color=_colour(p),
            label=label if len(results) > 1 else "joint accuracy",
        )
    ax.set_xticks(range(len(rows)), [f"{r['pattern']}\nn={r['count']}" for r in rows])
    ax.set(
        xlim=(-0.5, len(rows) - 0.5),
        ylim=(0, 1.05),
        xlabel="gold pattern (image-text-joint grade) and its item count",
        ylabel="joint accuracy (% of the pattern's items)",
        title="Joint accuracy per pattern",
    )
    _percent_axis(ax.yaxis)
    ax.grid(axis="y", alpha=0.3)
    handles, names = ax.get_legend_handles_labels()
    shade = Patch(color="tab:orange", alpha=0.12)
    ax.legend([*handles, shade], [*names, "emergent pattern"], loc="upper left", bbox_to_anchor=(1, 1))
    return fig


def _actions_plot(plt: Any, results: Results, labels: Sequence[str]) -> Any:
    """What each policy did with each gold joint grade: bars stacked allow, review, block; counts inside.

    Several policies: one bar each per grade, the policy named under its bar, the grade under those.
    """
    many = len(results) > 1
    fig, ax = plt.subplots(figsize=(max(9.0, 3.5 + 2.2 * len(results)), 6), layout="constrained")
    width = 0.8 / len(results)
    bar_x: list[float] = []
    totals: dict[str, int] = {}
    for g, grade in enumerate(GRADES):
        for p, result in enumerate(results):
            counts: dict[str, int] = result["blocking"]["actions_by_gold_joint_grade"][grade]
            total = totals[grade] = sum(counts.values())
            x = g + (p - (len(results) - 1) / 2) * width
            bar_x.append(x)
            bottom = 0.0
            for action, count in counts.items():
                share = count / total if total else 0.0
                first = p == 0 and g == 0
                ax.bar(x, share, width * 0.92, bottom=bottom, color=ACTION_COLOURS[action], edgecolor="white",
                       label=action if first else None)  # fmt: skip
                if count and share >= 0.05:
                    ax.text(x, bottom + share / 2, str(count), ha="center", va="center", color="white",
                            fontweight="bold")  # fmt: skip
                bottom += share
    grade_labels = [f"{GRADE_LABELS[g]}\n(gold {g}, {totals.get(g, 0)} items)" for g in GRADES]
    if many:  # each policy under its bar, each grade over its group of bars
        slanted = len(results) * max(len(label) for label in labels) > 24  # names that would touch
        ax.set_xticks(
            bar_x,
            list(labels) * len(GRADES),
            rotation=30 if slanted else 0,
            ha="right" if slanted else "center",
        )
        for g, label in enumerate(grade_labels):
            ax.text(g, 1.015, label, ha="center", va="bottom")
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    else:
        ax.set_xticks(range(len(GRADES)), grade_labels)
    ax.set(
        ylim=(0, 1.14 if many else 1.0),
        yticks=[0, 0.2, 0.4, 0.6, 0.8, 1.0],
        ylabel="share of the grade's items (numbers: items)",
        title="Actions per gold joint grade",
    )
    _percent_axis(ax.yaxis)
    ax.legend(title="action", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig


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


class Html(str):
    """Markup that a table cell shows as it is (every other value is escaped)."""


def _fmt(value: Any) -> str:
    if isinstance(value, Html):
        return str(value)
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}"
    return html.escape(str(value))


def _row(cells: Sequence[Any], tag: str = "td") -> str:
    return "<tr>" + "".join(f"<{tag}>{_fmt(v)}</{tag}>" for v in cells) + "</tr>"


def _table(
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    per_policy: Sequence[str] = (),
    groups: Sequence[str] = (),
    css_class: str = "",
) -> str:
    """An HTML table: `headers`, then the `per_policy` columns once per policy label in `groups`.

    With more than one group, a header row above names each group over its columns.
    """
    if len(groups) > 1 and per_policy:
        head = (
            "<tr>"
            + "".join(f'<th rowspan="2">{html.escape(h)}</th>' for h in headers)
            + "".join(f'<th colspan="{len(per_policy)}" class="group">{html.escape(g)}</th>' for g in groups)
            + "</tr><tr>"
            + "".join(f"<th>{html.escape(h)}</th>" for _ in groups for h in per_policy)
            + "</tr>"
        )
    elif any([*headers, *per_policy]):
        head = "<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in [*headers, *per_policy]) + "</tr>"
    else:  # a table of (name, value) rows needs no header
        head = ""
    body = "".join(_row(row) for row in rows)
    attribute = f' class="{css_class}"' if css_class else ""
    thead = f"<thead>{head}</thead>" if head else ""
    return f"<table{attribute}>{thead}<tbody>{body}</tbody></table>"


def _img(name: str, plots: Sequence[str], alt: str) -> str:
    return f'<img src="{html.escape(name)}" alt="{html.escape(alt)}">' if name in plots else ""


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


Section = tuple[str, str, str]  # id (HTML_SECTIONS), title, HTML content


def _figure_rows(results: Results, figures: Sequence[tuple[str, Callable[[Any], Any]]]) -> list[list[Any]]:
    """One row per (label, getter): the label, then the getter's value for each policy."""
    return [[label, *(get(r) for r in results)] for label, get in figures]


def _side_by_side(
    results: Results,
    table: Callable[[dict[str, Any]], Sequence[Any]],
    shared: Callable[[Any], Sequence[Any]],
    per_policy: Callable[[Any], Sequence[Any]],
) -> list[list[Any]]:
    """Join the policies' copies of one table row by row: `shared` cells of the first policy's row,
    then `per_policy` cells of each policy's row."""
    return [
        [*shared(rows[0]), *(cell for row in rows for cell in per_policy(row))]
        for rows in zip(*(table(r) for r in results), strict=True)
    ]


def _headline_section(results: Results, labels: Sequence[str]) -> Section:
    def cell(figure: dict[str, Any]) -> Html:
        return Html(
            f'<span class="rate">{_pct(figure["rate"])}</span>'
            f'<span class="count">{figure["count"]} of {figure["out_of"]} items</span>'
        )

    rows = [
        [
            Html(f"<strong>{html.escape(name)}</strong><br><small>{html.escape(meaning)}</small>"),
            *(cell(r["headline"][key]) for r in results),
        ]
        for key, (name, meaning) in HEADLINE_LABELS.items()
    ]
    title = "Headline: the policies side by side" if len(results) > 1 else "Headline"
    note = "<p>Harmless: gold joint grade safe. Each rate is of the items of that gold grade.</p>"
    return "headline", title, _table(["", *labels], rows, css_class="headline") + note


def _summary_section(report: dict[str, Any], results: Results, labels: Sequence[str]) -> Section:
    data = report.get("data", {})
    data_rows = [
        ("data", data.get("source")),
        ("items evaluated", report.get("items")),
        ("skipped: image missing", data.get("skipped_missing_image")),
        ("skipped: invalid row", data.get("skipped_invalid")),
        ("skipped: scoring error", data.get("scoring_errors")),
        ("generated", report.get("generated")),
    ]
    policy_rows = _figure_rows(
        results,
        [
            ("policy version", lambda r: r["policy"].get("version")),
            ("joint macro F1", lambda r: r["modalities"]["joint"]["macro_f1"]),
            ("harmless blocked (share of gold-safe items)", lambda r: r["blocking"]["harmless_blocked"]),
            (
                "borderline blocked (share of gold-borderline items)",
                lambda r: r["blocking"]["borderline_blocked"],
            ),
            (
                "unsafe not blocked (share of gold-unsafe items)",
                lambda r: r["blocking"]["unsafe_not_blocked"],
            ),
            ("emergent recall", lambda r: r["emergent"]["recall"]),
        ],
    )
    return "summary", "Summary", _table(["", ""], data_rows) + _table(["policy", *labels], policy_rows)


def _modalities_section(results: Results, labels: Sequence[str]) -> Section:
    rows = _side_by_side(
        results,
        lambda r: list(r["modalities"].items()),
        lambda entry: [entry[0]],
        lambda entry: [
            entry[1]["n"],
            entry[1]["accuracy"],
            entry[1]["macro_f1"],
            *(entry[1]["per_class"][g]["f1"] for g in GRADES),
        ],
    )
    per_policy = ["n", "accuracy", "macro F1", *(f"F1 {g}" for g in GRADES)]
    return (
        "modalities",
        "Per modality (3-class)",
        _table(["modality"], rows, per_policy=per_policy, groups=labels),
    )


def _patterns_section(
    report: dict[str, Any], results: Results, labels: Sequence[str], plots: Sequence[str]
) -> Section:
    rows = _side_by_side(
        results,
        lambda r: r["patterns"],
        lambda row: [
            row["pattern"],
            "yes" if row["emergent"] else "",
            "" if row["valid"] else "invalid",
            row["count"],
        ],
        lambda row: [row["joint_accuracy"], row["pattern_accuracy"]],
    )
    table = _table(
        ["pattern", "emergent", "note", "count"],
        rows,
        per_policy=["joint accuracy", "all three right"],
        groups=labels,
    )
    without = f"<p>Items without a pattern (one modality): {_fmt(report.get('items_without_pattern'))}</p>"
    return (
        "patterns",
        "Per pattern (image-text-joint)",
        table + without + _img(PATTERNS_PNG, plots, "joint accuracy per pattern"),
    )


def _categories_section(results: Results, labels: Sequence[str]) -> Section:
    rows = _side_by_side(
        results,
        lambda r: r["categories"],
        lambda row: [f"{row['code']} {row['category']}", row["support"]],
        lambda row: [row["flagged"], row["recall"], row["precision"]],
    )
    table = _table(
        ["category", "support"], rows, per_policy=["flagged", "recall", "precision"], groups=labels
    )
    return "categories", "Per category (gold positives: borderline or unsafe items with that category)", table


def _blocking_section(results: Results, labels: Sequence[str], plots: Sequence[str]) -> Section:
    def share(rate: str, grade: str, actions: Sequence[str]) -> Callable[[dict[str, Any]], Html]:
        def cell(r: dict[str, Any]) -> Html:
            counts = r["blocking"]["actions_by_gold_joint_grade"][grade]
            hit = sum(counts[a] for a in actions)
            return Html(f"{_pct(r['blocking'][rate])} ({hit} of {sum(counts.values())})")

        return cell

    rate_rows = _figure_rows(
        results,
        [
            ("harmless blocked (gold safe, action block)", share("harmless_blocked", "safe", ["block"])),
            (
                "borderline blocked (gold borderline, action block)",
                share("borderline_blocked", "borderline", ["block"]),
            ),
            (
                "unsafe not blocked (gold unsafe, action allow or review)",
                share("unsafe_not_blocked", "unsafe", ["allow", "review"]),
            ),
        ],
    )
    action_rows = _side_by_side(
        results,
        lambda r: list(r["blocking"]["actions_by_gold_joint_grade"].items()),
        lambda entry: [f"{entry[0]} ({GRADE_LABELS[entry[0]]})" if entry[0] == "safe" else entry[0]],
        lambda entry: list(entry[1].values()),
    )
    actions = list(results[0]["blocking"]["actions_by_gold_joint_grade"]["safe"])
    return (
        "blocking",
        "Blocking",
        _table(["figure", *labels], rate_rows)
        + "<h3>Actions per gold joint grade (items)</h3>"
        + _table(["gold joint grade"], action_rows, per_policy=actions, groups=labels)
        + _img(ACTIONS_PNG, plots, "actions per gold joint grade"),
    )


def _reasons_section(results: Results, labels: Sequence[str]) -> Section:
    columns = ["decisions", "harmless", "borderline", "unsafe"]
    rows = _side_by_side(
        results, lambda r: r["reasons"], lambda row: [row["code"]], lambda row: [row[c] for c in columns]
    )
    return (
        "reasons",
        "Decisions per reason",
        "<p>How many decisions carry each reason code (docs/reasons.md), and how many of those were on "
        "gold harmless, borderline and unsafe items; a decision has one or more codes.</p>"
        + _table(["reason code"], rows, per_policy=columns, groups=labels),
    )


def _emergent_section(results: Results, labels: Sequence[str]) -> Section:
    rows = _figure_rows(
        results,
        [
            ("emergent items", lambda r: r["emergent"]["items"]),
            ("recall (joint grade at least as severe as gold)", lambda r: r["emergent"]["recall"]),
            ("exact joint accuracy", lambda r: r["emergent"]["exact_accuracy"]),
            ("joint errors", lambda r: r["joint_errors"]["count"]),
            (
                "… with both unimodal grades right",
                lambda r: r["joint_errors"]["share_with_both_unimodal_right"],
            ),
        ],
    )
    return "emergent", "Emergent (cross-modal) cases", _table(["", *labels], rows)


def _calibration_section(report: dict[str, Any], plots: Sequence[str]) -> Section:
    rows = [[m, c["n"], c["ece"]] for m, c in report.get("calibration", {}).items()]
    return (
        "calibration",
        "Calibration (of the model's scores, which no policy changes)",
        _table(["modality", "n", "ECE"], rows)
        + _img(RELIABILITY_PNG, plots, "reliability diagram, items per bin"),
    )


def _sweep_section(results: Results, labels: Sequence[str], plots: Sequence[str]) -> Section:
    def current(key: str) -> Callable[[dict[str, Any]], Any]:
        return lambda r: ((r.get("sweep") or {}).get("current") or {}).get(key)

    rows = _figure_rows(
        results,
        [("joint.unsafe", current("joint_unsafe")), ("joint.borderline", current("joint_borderline"))],
    )
    return (
        "sweep",
        "Threshold sweep",
        "<p>Each policy's joint thresholds swept on a grid, its other knobs kept; the star on its curve "
        "is the policy as set (thresholds below).</p>"
        + _table(["policy as set", *labels], rows)
        + _img(SWEEP_PNG, plots, "harmless blocked vs unsafe not blocked curve"),
    )


STYLE = (
    "body{font-family:system-ui,sans-serif;font-size:16px;line-height:1.4;margin:2em auto;max-width:72em;"
    "padding:0 1em;color:#222}"
    "h2{margin-top:1.6em;border-bottom:1px solid #ddd}"
    "table{border-collapse:collapse;margin:.6em 0}"
    "td,th{border:1px solid #ccc;padding:.25em .7em;text-align:right}"
    "td:first-child,th:first-child{text-align:left}th{background:#f3f3f3}th.group{text-align:center}"
    "table.headline td{padding:.5em 1em;vertical-align:top}"
    "table.headline .rate{display:block;font-size:1.8em;font-weight:bold}"
    "table.headline .count{display:block;color:#555}"
    "img{max-width:100%;display:block;margin:1em 0}"
)


def render_html(report: dict[str, Any], plots: Sequence[str]) -> str:
    """Render the report as one self-contained HTML page that shows the PNGs beside it."""
    results = policy_results(report)
    labels = policy_labels(results)
    sections = [
        _headline_section(results, labels),
        _summary_section(report, results, labels),
        _modalities_section(results, labels),
        _patterns_section(report, results, labels, plots),
        _categories_section(results, labels),
        _blocking_section(results, labels, plots),
        _reasons_section(results, labels),
        _emergent_section(results, labels),
        _calibration_section(report, plots),
        _sweep_section(results, labels, plots),
    ]
    body = "\n".join(
        f'<section id="{sid}"><h2>{html.escape(title)}</h2>{content}</section>'
        for sid, title, content in sections
    )
    title = "Safety policy report: " + html.escape(" vs ".join(labels))
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>{STYLE}</style></head><body><h1>{title}</h1>\n{body}\n</body></html>\n"
    )
