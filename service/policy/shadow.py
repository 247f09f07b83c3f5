"""Shadow policy: how a shadow policy's decision differs from the live one's."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from service.policy.rules import Action, Decision, Grade, action_severity
from service.taxonomy import GRADES

Direction = Literal["stricter", "looser"]

_GRADE_FIELDS = ("image", "text", "joint")


@dataclass(frozen=True)
class ShadowDisagreement:
    """How a shadow policy's decision differs from the live one (directions are the shadow's)."""

    action: Direction | None
    live_action: Action
    shadow_action: Action
    # Grade fields (`image`, `text`, `joint`) whose grade differs, with the shadow's direction.
    grades: dict[str, Direction] = field(default_factory=dict)
    stricter_categories: tuple[str, ...] = ()  # flagged by the shadow only
    looser_categories: tuple[str, ...] = ()  # flagged by the live policy only

    def counts(self) -> list[tuple[str, Direction]]:
        """Return one (what, direction) pair per difference, for a labelled counter.

        `what` is `action`, `grade:<image|text|joint>` or `category:<slug>`.
        """
        pairs: list[tuple[str, Direction]] = []
        if self.action is not None:
            pairs.append(("action", self.action))
        pairs.extend((f"grade:{name}", direction) for name, direction in self.grades.items())
        pairs.extend((f"category:{slug}", "stricter") for slug in self.stricter_categories)
        pairs.extend((f"category:{slug}", "looser") for slug in self.looser_categories)
        return pairs

    def log_fields(self) -> dict[str, Any]:
        """Return the disagreement as flat, content-free fields for a structured log line."""
        return {
            "shadow_action_direction": self.action,
            "live_action": self.live_action,
            "shadow_action": self.shadow_action,
            "shadow_grades": dict(self.grades),
            "shadow_stricter_categories": list(self.stricter_categories),
            "shadow_looser_categories": list(self.looser_categories),
        }


def _direction(live: int, shadow: int) -> Direction | None:
    if shadow == live:
        return None
    return "stricter" if shadow > live else "looser"


def shadow_disagreement(live: Decision, shadow: Decision) -> ShadowDisagreement | None:
    """Compare a shadow decision with the live one; None when they agree on everything."""
    grades: dict[str, Direction] = {}
    for name in _GRADE_FIELDS:
        live_grade: Grade | None = getattr(live, f"{name}_grade")
        shadow_grade: Grade | None = getattr(shadow, f"{name}_grade")
        if live_grade is None or shadow_grade is None:
            continue
        direction = _direction(GRADES.index(live_grade), GRADES.index(shadow_grade))
        if direction is not None:
            grades[name] = direction
    live_flags, shadow_flags = set(live.flagged_categories), set(shadow.flagged_categories)
    disagreement = ShadowDisagreement(
        action=_direction(action_severity(live.action), action_severity(shadow.action)),
        live_action=live.action,
        shadow_action=shadow.action,
        grades=grades,
        stricter_categories=tuple(sorted(shadow_flags - live_flags)),
        looser_categories=tuple(sorted(live_flags - shadow_flags)),
    )
    return disagreement if disagreement.counts() else None
