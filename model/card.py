"""Write the results section of the model card (model/README.md) from a bundle's manifest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def _trained(part: dict[str, Any]) -> str:
    """Say how much of a hand-written set the model trained on."""
    seen = part.get("trained_on", 0)
    return "" if not seen else ", trained on" if seen == part["n"] else f", {seen} trained on"


def results_markdown(manifest: dict[str, Any]) -> str:
    """Render the held-out figures of the manifest's CPU variant as markdown tables."""
    variant = manifest["default_variant"]["cpu"]
    m = manifest["metrics"][variant]
    hand = manifest["metrics"].get("handwritten")
    identity = manifest["metrics"].get("identity_probes")
    lines = [
        f"Model `{manifest['name']}` {manifest['version']}, variant `{variant}`, on the held-out "
        f"`{manifest['metrics']['split']}` split ({m['n']} items, template families never seen in training), "
        f"at the manifest's default thresholds `{json.dumps(manifest['thresholds']['joint'])}`.",
        "",
        "| figure | value | bar |",
        "|---|---|---|",
        f"| joint 3-class macro-F1 | {m['joint_macro_f1']:.3f} | ≥ 0.85 |",
        f"| joint-unsafe recall | {_pct(m['joint_unsafe_recall'])} | ≥ 95% |",
        f"| emergent (cross-modal) unsafe recall | {_pct(m['emergent_unsafe_recall'])} | ≥ 90% |",
        f"| image-alone grade accuracy | {_pct(m['image_accuracy'])} | ≥ 95% |",
        f"| text-alone grade accuracy | {_pct(m['text_accuracy'])} | ≥ 95% |",
        f"| joint accuracy, image-only inputs | {_pct(m['image_only_joint_accuracy'])} | |",
        f"| joint accuracy, text-only inputs | {_pct(m['text_only_joint_accuracy'])} | |",
        f"| harmless blocked (safe items blocked: over-blocking) | {_pct(m['harmless_blocked'])} | |",
        f"| borderline blocked | {_pct(m['borderline_blocked'])} | |",
        f"| unsafe not blocked (under-blocking) | {_pct(m['unsafe_not_blocked'])} | |",
        f"| int8 vs fp32 joint-grade agreement (argmax) | {_pct(m.get('joint_grade_agreement_with_fp32'))} "
        "| ≥ 99% |",
    ]
    if hand:
        held_out = f"hand-written pairs not trained on ({hand['n']}, no templates)"
        lines.append(f"| {held_out} | {_pct(hand['joint_accuracy'])} | ≥ 85% |")
        if "trained_on" in hand:
            seen = hand["trained_on"]
            trained = f"hand-written pairs trained on ({seen['n']})"
            lines.append(f"| {trained} | {_pct(seen['joint_accuracy'])} | |")
        lines += [
            f"| hand-written set {k} ({v['n']} pairs{_trained(v)}) | {_pct(v['joint_accuracy'])} | |"
            for k, v in hand.get("by_set", {}).items()
        ]
    if identity:
        named, unnamed = identity["by_set"]["named"], identity["by_set"]["unnamed"]
        lines.append(
            f"| harmless texts naming a group, flagged ({identity['n']} identity probes) | "
            f"{identity['flagged']} ({named['flagged']} of {named['n']} groups the corpus names, "
            f"{unnamed['flagged']} of {unnamed['n']} it never names) | |"
        )
    lines += [
        "",
        "Per pattern (image-text-joint, gold labels):",
        "",
        "| pattern | n | joint accuracy |",
        "|---|---|---|",
    ]
    lines += [f"| `{p}` | {v['n']} | {_pct(v['joint_accuracy'])} |" for p, v in m["patterns"].items()]
    lines += [
        "",
        "Per category (flagged at the category threshold):",
        "",
        "| category | n | recall | precision |",
    ]
    lines += ["|---|---|---|---|"]
    lines += [
        f"| {c} | {v['n']} | {_pct(v['recall'])} | {_pct(v['precision'])} |"
        for c, v in m["categories"].items()
    ]
    return "\n".join(lines)


def update_card(card: Path, manifest_path: Path) -> None:
    """Replace the text between the results markers of the card."""
    text = card.read_text(encoding="utf-8")
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    body = results_markdown(json.loads(manifest_path.read_text()))
    card.write_text(text[:start] + "\n" + body + "\n" + text[end:], encoding="utf-8")
