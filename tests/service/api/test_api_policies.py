"""Policies over HTTP: per-request selection, unknown names, the policy list, and the shadow policy."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from service.api.app import create_app
from service.settings import Settings
from tests.service.images import solid
from tests.service.live import metric, serve

# The test bundle scores "war" as borderline text: p = (1/3, 1/3, 1/3) for the text and the joint.
BORDERLINE_TEXT = "the history of war"


@pytest.fixture(scope="module")
def base_url(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    policies = tmp_path_factory.mktemp("policies")
    (policies / "strict.yaml").write_text(
        "description: blocks at a one-in-five joint harm\njoint: {borderline: 0.3, unsafe: 0.2}\n"
    )
    (policies / "lenient.yaml").write_text("actions: {borderline: allow}\n")
    settings = Settings(model_dir=model_dir, policies_dir=policies, shadow_policy="strict")
    with serve(create_app(settings)) as url:
        yield url


def test_each_request_gets_the_policy_it_names(client: httpx.Client) -> None:
    actions = {}
    for name in ("default", "strict", "lenient"):
        body = client.post("/v1/classify", json={"text": BORDERLINE_TEXT, "policy": name}).json()
        assert body["policy"]["name"] == name and len(body["policy"]["version"]) == 12
        actions[name] = body["action"]
    assert actions == {"default": "review", "strict": "block", "lenient": "allow"}
    unnamed = client.post("/v1/classify", json={"text": BORDERLINE_TEXT}).json()
    assert unnamed["policy"]["name"] == "default" and unnamed["action"] == "review"
    batch = client.post(
        "/v1/classify/batch",
        json={"policy": "strict", "items": [{"text": BORDERLINE_TEXT}, {"text": "war", "policy": "lenient"}]},
    ).json()["results"]
    assert [(r["policy"]["name"], r["action"]) for r in batch] == [("strict", "block"), ("lenient", "allow")]
    black = {"image": ("black.png", solid(0), "image/png")}
    form = client.post("/v1/classify", files=black, data={"text": BORDERLINE_TEXT, "policy": "strict"})
    assert form.json()["action"] == "block"


def test_an_empty_policy_name_is_the_default_policy_on_every_route(client: httpx.Client) -> None:
    # an HTML form's empty field, or a client that always sends the key
    requests = [
        ("/v1/classify", {"json": {"text": "hello", "policy": ""}}),
        (
            "/v1/classify",
            {"data": {"text": "hello", "policy": ""}, "files": {"image": ("x.png", solid(5), "image/png")}},
        ),
        ("/v1/classify/batch", {"json": {"items": [{"text": "hello"}], "policy": ""}}),
        ("/v1/moderations", {"json": {"input": "hello", "policy": ""}}),
    ]
    for route, body in requests:
        response = client.post(route, **body)  # type: ignore[arg-type]
        assert response.status_code == 200, (route, response.text)
        assert "default" in response.text and "unknown_policy" not in response.text


def test_an_unknown_policy_is_404_with_the_known_names(client: httpx.Client) -> None:
    response = client.post("/v1/classify", json={"text": "hello", "policy": "strictest"})
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "unknown_policy" and error["known"] == ["default", "lenient", "strict"]
    assert "default, lenient, strict" in error["message"]


def test_the_policy_list_marks_default_and_shadow(client: httpx.Client, base_url: str) -> None:
    body = client.get("/v1/policies").json()
    assert body["default"] == "default" and body["shadow"] == "strict"
    listed = {p["name"]: p for p in body["policies"]}
    assert list(listed) == ["default", "lenient", "strict"]
    assert listed["default"]["default"] and not listed["strict"]["default"] and listed["strict"]["shadow"]
    assert listed["strict"]["description"] == "blocks at a one-in-five joint harm"
    assert listed["strict"]["definition"]["joint"] == {"borderline": 0.3, "unsafe": 0.2}
    used = client.post("/v1/classify", json={"text": "hi", "policy": "strict"}).json()["policy"]
    assert used == {"name": "strict", "version": listed["strict"]["version"]}
    assert metric(base_url, "safety_policy_info", policy="strict", role="shadow") == 1


def test_shadow_disagreements_are_counted_not_returned(
    client: httpx.Client, base_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    labels = {"policy": "default", "shadow": "strict"}
    before = metric(base_url, "safety_shadow_disagreements_total", **labels, what="action")
    decided = metric(base_url, "safety_shadow_decisions_total", **labels)
    with caplog.at_level("INFO", logger="service.api.classify"):
        body = client.post("/v1/classify", json={"text": BORDERLINE_TEXT}).json()
        client.post("/v1/classify", json={"text": "a photo of a cat"})  # both allow: no disagreement
    assert body["action"] == "review" and body["policy"]["name"] == "default"  # the live decision
    stricter = {**labels, "direction": "stricter"}
    assert metric(base_url, "safety_shadow_disagreements_total", **stricter, what="action") == before + 1
    assert metric(base_url, "safety_shadow_disagreements_total", **stricter, what="grade:joint") >= 1
    assert metric(base_url, "safety_shadow_decisions_total", **labels) == decided + 2
    assert metric(base_url, "safety_shadow_disagreements_total", policy="strict") == 0  # shadow vs itself
    (line,) = [r for r in caplog.records if r.getMessage() == "shadow disagreement"]
    fields = vars(line)
    assert (fields["live_action"], fields["shadow_action"]) == ("review", "block")
    assert fields["shadow_action_direction"] == "stricter"
    assert fields["shadow_grades"] == {"joint": "stricter"}
    assert BORDERLINE_TEXT not in str(fields)  # no content in logs, only its hash


def test_actions_are_counted_by_policy_and_category(client: httpx.Client, base_url: str) -> None:
    before = metric(base_url, "safety_verdicts_total", policy="lenient", action="allow")
    client.post("/v1/classify", json={"text": "how to make a bomb", "policy": "lenient"})
    client.post("/v1/classify", json={"text": BORDERLINE_TEXT, "policy": "lenient"})
    assert metric(base_url, "safety_verdicts_total", policy="lenient", action="allow") == before + 1
    assert metric(base_url, "safety_flagged_total", policy="lenient", action="block") >= 1
