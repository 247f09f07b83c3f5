"""The OpenAPI document states what the API refuses, from the running server's own settings."""

from __future__ import annotations

from pathlib import Path

import httpx

from service.api.app import create_app
from service.settings import Settings
from tests.service.live import serve


def test_the_schema_says_what_the_server_refuses(test_bundle: Path) -> None:
    settings = Settings(model_dir=test_bundle, max_batch_items=8, max_text_chars=100, max_in_flight=70)
    with serve(create_app(settings)) as url:
        document = httpx.get(f"{url}/openapi.json").json()
        refused = httpx.post(f"{url}/v1/classify/batch", json={"items": [{"text": "a"}] * 9})
        too_long = httpx.post(f"{url}/v1/classify", json={"text": "a" * 101})
        neither = httpx.post(f"{url}/v1/classify", json={"id": "x"})
    assert document["info"]["x-limits"]["max_batch_items"] == 8
    assert document["info"]["x-limits"]["max_in_flight"] == 70
    paths = document["paths"]
    item = paths["/v1/classify"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert item["anyOf"] == [{"required": ["image"]}, {"required": ["text"]}]
    assert {"type": "string", "maxLength": 100} in item["properties"]["text"]["anyOf"]
    batch = paths["/v1/classify/batch"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert (batch["properties"]["items"]["minItems"], batch["properties"]["items"]["maxItems"]) == (1, 8)
    for route in ("/v1/classify", "/v1/classify/batch", "/v1/moderations"):
        assert {"408", "413", "429"} <= set(paths[route]["post"]["responses"])
    # and the server refuses what the schema says it does
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "too_many_items"
    assert too_long.status_code == 422 and neither.status_code == 422


def test_two_apps_keep_their_own_limits(test_bundle: Path) -> None:
    small = create_app(Settings(model_dir=test_bundle, max_batch_items=4)).openapi()
    large = create_app(Settings(model_dir=test_bundle, max_batch_items=32)).openapi()
    assert (small["info"]["x-limits"]["max_batch_items"], large["info"]["x-limits"]["max_batch_items"]) == (
        4,
        32,
    )
    batch = [
        document["paths"]["/v1/classify/batch"]["post"]["requestBody"]["content"]["application/json"]
        for document in (small, large)
    ]
    assert [b["schema"]["properties"]["items"]["maxItems"] for b in batch] == [4, 32]
