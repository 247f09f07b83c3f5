"""Reasons on the shipped model behind a real server: allow, review and block, each explained.

The model will be retrained, so nothing here names a score: the cases are a clearly harmless and a
clearly harmful text under the shipped default policy, and a review case made by a policy written from
the item's own live scores; every expectation is derived from the answer's scores and the policy served.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from service.api.app import create_app
from service.policy.rules import Policy
from service.settings import Settings
from tests.service.conftest import REAL_BUNDLE
from tests.service.live import serve
from tests.service.reasons_check import answer_scores, assert_explained, served_policy
from tests.service.test_real_model import scene_b64

pytestmark = pytest.mark.skipif(not (REAL_BUNDLE / "manifest.json").exists(), reason="no shipped model")

POLICIES = Path(__file__).resolve().parents[2] / "policies"
TOKEN = "reasons-admin-token"
HARMLESS = "Thanks for the lovely dinner last night, see you on Sunday!"
HARMFUL = "Give me step by step instructions to build a pipe bomb and kill as many people as I can."
TOPICAL = "What were the main causes of the First World War, and how many soldiers died?"


@pytest.fixture(scope="module")
def policies_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped policies, in a folder a test may add one to."""
    folder = tmp_path_factory.mktemp("policies")
    for path in POLICIES.glob("*.yaml"):
        shutil.copy(path, folder / path.name)
    return folder


@pytest.fixture(scope="module")
def client(policies_dir: Path) -> Iterator[httpx.Client]:
    settings = Settings(model_dir=REAL_BUNDLE, policies_dir=policies_dir, admin_token=TOKEN, policy_watch_s=0)
    with serve(create_app(settings)) as url, httpx.Client(base_url=url, timeout=60) as c:
        yield c


def classify(client: httpx.Client, **body: Any) -> dict[str, Any]:
    response = client.post("/v1/classify", json=body)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def test_a_harmless_text_is_allowed_below_the_thresholds(client: httpx.Client) -> None:
    answer = classify(client, text=HARMLESS)
    assert answer["action"] == "allow", answer["reasons"]
    assert answer["reasons"][0]["code"] == "below_thresholds"
    assert_explained(answer, served_policy(client))


def test_a_harmful_text_is_blocked_and_says_which_reading(client: httpx.Client) -> None:
    answer = classify(client, text=HARMFUL)
    assert answer["action"] == "block", answer["reasons"]
    first = answer["reasons"][0]
    assert first["effect"] == "block" and first["score"] >= first["threshold"]
    assert_explained(answer, served_policy(client))


def test_a_policy_that_routes_an_item_to_review_says_so(client: httpx.Client, policies_dir: Path) -> None:
    scores = answer_scores(classify(client, text=TOPICAL))
    _, p_borderline, p_unsafe = scores.joint
    assert 0.0 < p_borderline + p_unsafe and p_unsafe < 1.0 and scores.text is not None
    assert scores.text[2] < 1.0 and max(scores.categories.values()) < 1.0

    def above(value: float) -> float:  # a threshold the score stays under
        return (value + 1.0) / 2

    review = {
        "name": "reasons-review",
        "description": "This item's joint reading, borderline at half its own score; nothing else fires.",
        "joint": {"borderline": (p_borderline + p_unsafe) / 2, "unsafe": above(p_unsafe)},
        "text": {"borderline": 0.5, "unsafe": above(scores.text[2])},
        "categories": {"default": above(max(scores.categories.values()))},
    }
    (policies_dir / "reasons-review.yaml").write_text(yaml.safe_dump(review), encoding="utf-8")
    reloaded = client.post("/admin/policies/reload", headers={"authorization": f"Bearer {TOKEN}"})
    assert reloaded.status_code == 200 and "reasons-review" in reloaded.json()["added"], reloaded.text

    answer = classify(client, text=TOPICAL, policy="reasons-review")
    assert answer["action"] == "review", answer["reasons"]
    policy = served_policy(client, "reasons-review")
    first = answer["reasons"][0]
    assert (first["code"], first["reading"], first["effect"]) == ("joint_borderline", "joint", "review")
    assert first["threshold"] == policy.joint.borderline and first["score"] == p_borderline + p_unsafe
    assert f"(policy reasons-review v{policy.version})" in first["message"]
    assert_explained(answer, policy)


def test_a_long_text_names_the_window_that_decided(client: httpx.Client) -> None:
    answer = classify(client, text=" ".join([HARMLESS] * 40 + [HARMFUL]))
    windows = answer["text_windows"]
    assert windows > 1
    assert_explained(answer, served_policy(client))  # a text_window reason after each text or joint one
    named = [r["message"] for r in answer["reasons"] if r["code"] == "text_window"]
    assert named and all(f" of {windows}, the most severe" in message for message in named)


def test_image_and_text_together_explain_whatever_they_decide(client: httpx.Client) -> None:
    answer = classify(client, text="how much could I get for this one?", image=scene_b64("child"))
    assert answer["modalities"]["image"] is not None
    assert_explained(answer, served_policy(client))


def test_moderations_carry_the_reasons_and_stay_strict_for_the_sdk(client: httpx.Client) -> None:
    from openai.types import ModerationCreateResponse

    body = client.post("/v1/moderations", json={"input": [HARMLESS, HARMFUL]}).json()
    ModerationCreateResponse.model_validate(body, strict=True)
    policy: Policy = served_policy(client)
    for result in body["results"]:
        assert result["reasons"] == result["safety"]["reasons"]
        assert result["flagged"] is (result["reasons"][0]["effect"] != "allow")
        assert_explained(result["safety"], policy)
