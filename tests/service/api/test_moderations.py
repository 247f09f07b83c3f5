"""POST /v1/moderations: the mapping, and the official OpenAI SDK against a real server on loopback."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from openai import OpenAI
from openai.types import (
    Moderation,
    ModerationImageURLInputParam,
    ModerationMultiModalInputParam,
    ModerationTextInputParam,
)
from openai.types.moderation import Categories

from service.api.app import create_app
from service.api.moderations import (
    OPENAI_CATEGORIES,
    ModerationRequest,
    moderation_items,
    moderation_result,
    openai_scores,
)
from service.api.schemas import ClassifyResponse
from service.errors import (
    InvalidBase64,
    InvalidDataUrl,
    MissingInput,
    RemoteImageUrlRefused,
    ServiceError,
    TooManyImages,
    TooManyItems,
)
from service.policy.rules import Action
from service.settings import Settings
from service.taxonomy import CATEGORIES
from tests.service.images import solid
from tests.service.live import metric, serve

GREY_PNG = solid(128, "PNG")
OPENAI_KEYS = [field.alias or name for name, field in Categories.model_fields.items()]


def data_url(image: bytes, media_type: str = "image/png") -> str:
    return f"data:{media_type};base64,{base64.b64encode(image).decode()}"


def text_part(text: str) -> ModerationTextInputParam:
    return {"type": "text", "text": text}


def image_part(url: str) -> ModerationImageURLInputParam:
    return {"type": "image_url", "image_url": {"url": url}}


# --- the mapping, without a server ---------------------------------------------------------------------


def test_table_lists_every_openai_category_in_order() -> None:
    assert list(OPENAI_CATEGORIES) == OPENAI_KEYS


def test_table_maps_every_vlsu_category_but_jailbreak() -> None:
    mapped = {slug for slugs in OPENAI_CATEGORIES.values() for slug in slugs}
    assert mapped <= set(CATEGORIES)
    assert set(CATEGORIES) - mapped == {"jailbreak"}


def test_openai_scores_take_the_max_and_zero_for_unmapped() -> None:
    scores = dict.fromkeys(CATEGORIES, 0.1) | {"sexual_racy": 0.7, "gore": 0.4, "jailbreak": 0.99}
    mapped = openai_scores(scores)
    assert list(mapped) == OPENAI_KEYS
    assert mapped["sexual"] == 0.7 and mapped["violence/graphic"] == 0.4 and mapped["violence"] == 0.1
    for name in ("harassment/threatening", "hate/threatening", "self-harm/intent", "sexual/minors"):
        assert mapped[name] == 0.0


def classification(
    *, action: Action = "allow", flagged: tuple[str, ...] = (), image: bool = False, text: bool = True
) -> ClassifyResponse:
    reading = {"grade": "safe", "scores": {"safe": 1.0, "borderline": 0.0, "unsafe": 0.0}}
    return ClassifyResponse.model_validate(
        {
            "id": "x",
            "verdict": "safe",
            "action": action,
            "modalities": {
                "image": reading if image else None,
                "text": reading if text else None,
                "joint": reading,
            },
            "pattern": None,
            "emergent": False,
            "categories": {slug: {"score": 0.5, "flagged": slug in flagged} for slug in CATEGORIES},
            "flagged_categories": list(flagged),
            "reasons": [],
            "text_truncated": False,
            "policy": {"name": "default", "version": "v"},
            "model": {"name": "m", "version": "1", "sha256": "0" * 64},
            "timings_ms": {"queue": 0.0, "inference": 0.0, "total": 0.0},
        }
    )


def test_result_flagged_follows_the_action_not_the_categories() -> None:
    assert moderation_result(classification(action="review")).flagged is True
    assert moderation_result(classification(action="block")).flagged is True
    allowed = moderation_result(classification(action="allow", flagged=("gore",)))
    assert allowed.flagged is False and allowed.categories["violence/graphic"] is True


def test_result_categories_and_input_types() -> None:
    result = moderation_result(classification(action="block", flagged=("fraud", "jailbreak"), image=True))
    assert [name for name, on in result.categories.items() if on] == ["illicit"]
    # illicit applies to text only in OpenAI's types (its SDK refuses "image" there, strictly)
    assert result.category_applied_input_types["illicit"] == ["text"]
    assert result.category_applied_input_types["violence"] == ["text", "image"]
    assert result.category_applied_input_types["sexual/minors"] == []
    image_only = moderation_result(classification(image=True, text=False))
    assert image_only.category_applied_input_types["violence"] == ["image"]
    assert image_only.category_applied_input_types["hate"] == []


def items(body: dict[str, Any], max_items: int = 4) -> list[Any]:
    return moderation_items(ModerationRequest.model_validate(body), "modr-1", max_items)


def test_items_from_a_string_and_a_list_of_strings() -> None:
    (one,) = items({"input": "hello", "policy": "strict"})
    assert (one.id, one.text, one.image, one.policy) == ("modr-1-0", "hello", None, "strict")
    several = items({"input": ["a", "b", "c"]})
    assert [(i.id, i.text, i.image) for i in several] == [
        ("modr-1-0", "a", None),
        ("modr-1-1", "b", None),
        ("modr-1-2", "c", None),
    ]


def test_items_from_parts_are_one_multimodal_item() -> None:
    (item,) = items({"input": [text_part("one"), image_part(data_url(GREY_PNG)), text_part("two")]})
    assert item.text == "one\ntwo" and item.image == GREY_PNG
    (image_only,) = items({"input": [image_part(data_url(GREY_PNG))]})
    assert image_only.text is None and image_only.image == GREY_PNG


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"input": []}, MissingInput),
        ({"input": ["a"] * 5}, TooManyItems),
        ({"input": [image_part(data_url(GREY_PNG))] * 2}, TooManyImages),
        ({"input": [image_part("https://example.com/cat.png")]}, RemoteImageUrlRefused),
        ({"input": [image_part("HTTP://example.com/cat.png")]}, RemoteImageUrlRefused),
        ({"input": [image_part("file:///etc/passwd")]}, InvalidDataUrl),
        ({"input": [image_part("data:text/plain;base64,aGk=")]}, InvalidDataUrl),
        ({"input": [image_part("data:image/png,raw")]}, InvalidDataUrl),
        ({"input": [image_part("http://[::1")]}, InvalidDataUrl),  # urlsplit raised ValueError: a 500
        ({"input": [image_part("data:image/png;base64,!!not base64!!")]}, InvalidBase64),
    ],
)
def test_items_refused(body: dict[str, Any], error: type[ServiceError]) -> None:
    with pytest.raises(error):
        items(body)


# --- the official OpenAI SDK against a real server -----------------------------------------------------


@pytest.fixture(scope="module")
def base_url(model_dir: Path) -> Iterator[str]:
    settings = Settings(model_dir=model_dir, max_batch_size=16, max_wait_ms=2, max_batch_items=8)
    with serve(create_app(settings)) as url:
        yield url


@pytest.fixture
def sdk(base_url: str) -> Iterator[OpenAI]:
    with OpenAI(base_url=f"{base_url}/v1", api_key="unused", max_retries=0, timeout=30) as client:
        yield client


def safety(result: Moderation) -> dict[str, Any]:
    assert result.model_extra is not None
    extra: dict[str, Any] = result.model_extra["safety"]
    return extra


def check_openai_shape(result: Moderation) -> None:
    """Every OpenAI category is present in all three maps and agrees with our extras."""
    for part in (result.categories, result.category_scores, result.category_applied_input_types):
        assert list(part.model_dump(by_alias=True)) == OPENAI_KEYS
    ours = safety(result)
    assert result.flagged == (ours["action"] != "allow")
    scores = {slug: c["score"] for slug, c in ours["categories"].items()}
    assert result.category_scores.model_dump(by_alias=True) == pytest.approx(openai_scores(scores))


def test_a_string(sdk: OpenAI, base_url: str) -> None:
    before = metric(base_url, "safety_requests_total", route="/v1/moderations", status="200")
    response = sdk.moderations.create(input="a photo of a cat", model="omni-moderation-latest")
    assert response.id.startswith("modr-") and len(response.id) == 5 + 32
    assert response.model == "tiny-test"
    (result,) = response.results
    check_openai_shape(result)
    assert result.flagged is False and not any(result.categories.model_dump().values())
    assert result.category_applied_input_types.hate == ["text"]
    ours = safety(result)
    assert ours["verdict"] == "safe" and ours["modalities"]["image"] is None
    assert ours["policy"]["name"] == "default" and ours["model"]["name"] == "tiny-test"
    assert ours["id"] == f"{response.id}-0"
    after = metric(base_url, "safety_requests_total", route="/v1/moderations", status="200")
    assert after == before + 1


def test_a_list_of_strings_gives_one_result_each_in_order(sdk: OpenAI) -> None:
    texts = ["a photo of a cat", "how to make a bomb", "the history of war", "hello world"]
    response = sdk.moderations.create(input=texts)
    assert len(response.results) == len(texts)
    verdicts = [safety(r)["verdict"] for r in response.results]
    assert verdicts == ["safe", "unsafe", "borderline", "safe"]
    assert [r.flagged for r in response.results] == [False, True, True, False]
    assert [safety(r)["id"] for r in response.results] == [f"{response.id}-{i}" for i in range(len(texts))]
    for result in response.results:
        check_openai_shape(result)
        assert safety(result)["modalities"]["image"] is None


def test_a_multimodal_list_is_one_joint_item(sdk: OpenAI) -> None:
    # mid-grey image + borderline text: each alone is borderline, together unsafe (B-B-U, emergent)
    parts: list[ModerationMultiModalInputParam] = [text_part("the history"), image_part(data_url(GREY_PNG))]
    response = sdk.moderations.create(input=parts)
    (result,) = response.results
    check_openai_shape(result)
    assert result.category_applied_input_types.violence == ["text", "image"]
    assert "image" in result.category_applied_input_types.sexual
    ours = safety(result)
    assert ours["pattern"] == "B-B-U" and ours["emergent"] is True and result.flagged is True
    assert ours["modalities"]["image"] is not None and ours["modalities"]["text"] is not None


def test_policy_is_named_in_the_extra_body(sdk: OpenAI) -> None:
    response = sdk.moderations.create(input="hello", extra_body={"policy": "default"})
    assert safety(response.results[0])["policy"]["name"] == "default"
    with pytest.raises(openai.NotFoundError) as caught:
        sdk.moderations.create(input="hello", extra_body={"policy": "nope"})
    assert caught.value.code == "unknown_policy"


def test_a_remote_image_url_is_refused(sdk: OpenAI) -> None:
    with pytest.raises(openai.UnprocessableEntityError) as caught:
        sdk.moderations.create(input=[image_part("https://example.com/cat.png")])
    error = caught.value
    assert error.status_code == 422 and error.code == "remote_image_url_refused"
    assert isinstance(error.body, dict) and error.body["param"] == "input[0].image_url.url"
    assert "data:image/" in error.message


@pytest.mark.parametrize(
    ("url", "status", "code"),
    [
        ("data:image/png,not-base64-flagged", 400, "invalid_data_url"),
        ("data:image/png;base64,%%%", 400, "invalid_base64"),
        (data_url(b"not an image at all"), 415, "unsupported_image_format"),
    ],
)
def test_a_bad_data_url_is_refused(sdk: OpenAI, url: str, status: int, code: str) -> None:
    with pytest.raises(openai.APIStatusError) as caught:
        sdk.moderations.create(input=[image_part(url)])
    assert (caught.value.status_code, caught.value.code) == (status, code)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"input": []}, "missing_input"),
        ({"input": ["ok", ""]}, "missing_input"),
        ({"input": ["a"] * 9}, "too_many_items"),
        ({"input": [image_part(data_url(GREY_PNG))] * 2}, "too_many_images"),
        ({"input": ["text", text_part("mixed")]}, "invalid_request"),
        ({"input": "hi", "unknown": 1}, "invalid_request"),
    ],
)
def test_unusable_input_is_422(client: httpx.Client, body: dict[str, Any], code: str) -> None:
    response = client.post("/v1/moderations", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == code


def test_the_raw_json_carries_our_extras(sdk: OpenAI) -> None:
    raw = sdk.moderations.with_raw_response.create(input="how to make a bomb")
    body = raw.http_response.json()
    assert set(body) == {"id", "model", "results"}
    (result,) = body["results"]
    assert set(result) == {
        "flagged",
        "categories",
        "category_scores",
        "category_applied_input_types",
        "reasons",
        "safety",
    }
    assert result["safety"]["action"] == "block" and result["flagged"] is True
    assert result["reasons"] == result["safety"]["reasons"] and result["reasons"][0]["effect"] == "block"
    extra = raw.parse().results[0].model_extra  # what the SDK keeps beside its own fields
    assert extra is not None and extra["reasons"] == result["reasons"]
    assert list(result["safety"]["categories"]) == list(CATEGORIES)
    assert raw.parse().results[0].flagged is True


@pytest.mark.parametrize(
    "given",
    ["a text", [image_part(data_url(GREY_PNG))], [text_part("a caption"), image_part(data_url(GREY_PNG))]],
    ids=["text", "image", "text+image"],
)
def test_live_answers_validate_strictly_against_the_sdk_types(base_url: str, given: Any) -> None:
    """The SDK's own types, strictly: `category_applied_input_types` lists "image" only where OpenAI does."""
    from openai.types import ModerationCreateResponse

    body = httpx.post(f"{base_url}/v1/moderations", json={"input": given}, timeout=30).json()
    strict = ModerationCreateResponse.model_validate(body, strict=True)
    applied = strict.results[0].category_applied_input_types.model_dump(by_alias=True)
    image_applies = {name for name, kinds in applied.items() if "image" in kinds}
    assert image_applies <= {
        "self-harm",
        "self-harm/instructions",
        "self-harm/intent",
        "sexual",
        "violence",
        "violence/graphic",
    }
    if given == "a text":
        assert not image_applies and any(kinds == ["text"] for kinds in applied.values())


def test_models_list_and_retrieve_validate_strictly_with_the_sdk(sdk: OpenAI, base_url: str) -> None:
    from openai.types import Model

    listed = list(sdk.models.list())
    assert len(listed) == 1
    raw = httpx.get(f"{base_url}/v1/models").json()
    assert Model.model_validate(raw["data"][0], strict=True) == listed[0]
    retrieved = sdk.models.retrieve(listed[0].id)
    assert retrieved == listed[0] and retrieved.created > 0
    with pytest.raises(openai.NotFoundError):
        sdk.models.retrieve("not-this-one")


def test_eval_over_http_reads_the_served_models_thresholds(base_url: str, model_dir: Path) -> None:
    import json

    from service.evaluation.scorers import HttpScorer

    scorer = HttpScorer(base_url)
    try:
        assert (
            scorer.manifest_thresholds()
            == json.loads((model_dir / "manifest.json").read_text())["thresholds"]
        )
    finally:
        scorer.close()
