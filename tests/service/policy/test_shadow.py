"""Shadow disagreements: how a shadow policy's decision differs from the live one's."""

from __future__ import annotations

from pathlib import Path

from service.policy.rules import Decision, ModelScores
from service.policy.shadow import shadow_disagreement
from service.policy.store import PolicyStore

POLICIES_DIR = Path(__file__).resolve().parents[3] / "policies"
SAFE = (0.9, 0.05, 0.05)


def scores(joint: tuple[float, float, float] = SAFE, **categories: float) -> ModelScores:
    return ModelScores(image=SAFE, text=SAFE, joint=joint, categories=categories)


def decision(joint: str = "safe", action: str = "allow", flagged: tuple[str, ...] = ()) -> Decision:
    return Decision("safe", "safe", joint, flagged, action)  # type: ignore[arg-type]


def test_shadow_agreement_is_none() -> None:
    assert shadow_disagreement(decision(), decision()) is None


def test_shadow_stricter_and_looser() -> None:
    stricter = shadow_disagreement(decision(), decision("unsafe", "block", ("self_harm",)))
    assert stricter is not None
    assert stricter.action == "stricter"
    assert stricter.grades == {"joint": "stricter"}
    assert stricter.counts() == [
        ("action", "stricter"),
        ("grade:joint", "stricter"),
        ("category:self_harm", "stricter"),
    ]
    looser = shadow_disagreement(
        decision("borderline", "review", ("gore", "weapons")), decision(flagged=("gore",))
    )
    assert looser is not None
    assert (looser.action, looser.grades, looser.looser_categories) == (
        "looser",
        {"joint": "looser"},
        ("weapons",),
    )
    assert looser.log_fields()["shadow_looser_categories"] == ["weapons"]


def test_shadow_category_only_disagreement() -> None:
    only_flags = shadow_disagreement(decision(flagged=("gore",)), decision(flagged=("weapons",)))
    assert only_flags is not None
    assert only_flags.action is None
    assert only_flags.counts() == [("category:weapons", "stricter"), ("category:gore", "looser")]


def test_shadow_from_real_policies() -> None:
    store = PolicyStore.load_dir(POLICIES_DIR)
    item = scores(joint=(0.6, 0.38, 0.02), sexual_racy=0.2)
    result = shadow_disagreement(store.get("default").decide(item), store.get("kids-platform").decide(item))
    assert result is not None
    assert result.action == "stricter"
    assert result.stricter_categories == ("sexual_racy",)
