"""`POST /v1/policies/{name}/evaluate`: the evaluation metrics of a loaded policy over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from service.api.app import create_app
from service.settings import Settings
from service.taxonomy import VALID_PATTERNS
from tests.service.labelled import base64_records
from tests.service.live import metric, serve


@pytest.fixture(scope="module")
def base_url(model_dir: Path) -> Iterator[str]:
    # A queue smaller than the dry run: its items must go in chunks, never all at once.
    settings = Settings(model_dir=model_dir, max_batch_size=4, queue_size=8, max_batch_items=8)
    with serve(create_app(settings)) as url:
        yield url


def test_dry_run_returns_the_report_metrics(base_url: str) -> None:
    records = base64_records() * 2
    records.append({"id": "bad", "image": "%%% not base64", "joint_grade": "safe"})
    records.append({"id": "empty", "joint_grade": "safe"})
    verdicts_before = metric(base_url, "safety_verdicts_total")
    response = httpx.post(f"{base_url}/v1/policies/default/evaluate", json={"items": records}, timeout=60)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["policy"]["name"] == "default" and body["items"] == 2 * len(VALID_PATTERNS)
    assert body["data"]["received"] == len(records) and body["data"]["scoring_errors"] == 2
    assert [row["pattern"] for row in body["patterns"]] == list(VALID_PATTERNS)
    assert all(row["count"] == 2 for row in body["patterns"])
    assert set(body["modalities"]) == {"image", "text", "joint"}
    assert {"harmless_blocked", "borderline_blocked", "unsafe_not_blocked"} <= set(body["blocking"])
    assert "recall" in body["emergent"] and body["sweep"]["points"]["joint_unsafe"]
    assert metric(base_url, "safety_verdicts_total") == verdicts_before  # a dry run is not traffic


def test_dry_run_limits_and_errors(base_url: str) -> None:
    url = f"{base_url}/v1/policies/default/evaluate"
    too_many = httpx.post(url, json={"items": [{"text": "hi", "joint_grade": "safe"}] * 1001})
    assert too_many.status_code == 422 and too_many.json()["error"]["code"] == "too_many_items"
    assert "1000" in too_many.json()["error"]["message"]
    unknown = httpx.post(f"{base_url}/v1/policies/nope/evaluate", json={"items": base64_records()[:1]})
    assert unknown.status_code == 404 and unknown.json()["error"]["known"] == ["default"]
    empty = httpx.post(url, json={"items": []})
    assert empty.status_code == 422
    unlabelled = httpx.post(url, json={"items": [{"text": "hi"}]})
    assert unlabelled.status_code == 422 and "joint_grade" in unlabelled.json()["error"]["message"]
