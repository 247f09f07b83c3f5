"""The HTTP scorer: the batch request it sends and the response shapes it reads."""

from __future__ import annotations

import base64
import json

import httpx
import pytest

from service.evaluation.labelled_data import LabelledItem
from service.evaluation.scorers import HttpScorer, ItemError, ScoringError, parse_classify_result
from service.policy.rules import ModelScores

GRADES3 = {"safe": 0.7, "borderline": 0.2, "unsafe": 0.1}


def test_http_scorer_posts_batches_and_reads_results() -> None:
    seen: list[dict[str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v1/classify/batch"
        body = json.loads(request.content)
        seen.append(body)
        results: list[dict[str, object]] = []
        for entry in body["items"]:
            if entry["id"] == "bad":
                results.append(
                    {"id": "bad", "status": 415, "error": {"code": "x", "message": "not an image"}}
                )
                continue
            results.append(
                {
                    "id": entry["id"],
                    "modalities": {
                        "image": {"grade": "safe", "scores": GRADES3} if entry["image"] else None,
                        "text": {"grade": "safe", "scores": GRADES3},
                        "joint": {"grade": "safe", "scores": GRADES3},
                    },
                    "categories": {"gore": {"score": 0.25, "flagged": False}},
                }
            )
        return httpx.Response(200, json={"results": results})

    client = httpx.Client(transport=httpx.MockTransport(handler))
    scorer = HttpScorer("http://svc/", batch_size=2, client=client)
    items = [
        LabelledItem("a", b"img", "hi", "safe", "safe", "safe"),
        LabelledItem("b", None, "hi", None, "safe", "safe"),
        LabelledItem("bad", b"zzz", None, "safe", None, "safe"),
    ]
    results = scorer.score(items)
    assert len(seen) == 2
    assert seen[0]["items"][0] == {"id": "a", "text": "hi", "image": base64.b64encode(b"img").decode()}  # type: ignore[index]
    assert results[0] == ModelScores((0.7, 0.2, 0.1), (0.7, 0.2, 0.1), (0.7, 0.2, 0.1), {"gore": 0.25})
    assert isinstance(results[1], ModelScores) and results[1].image is None
    assert results[2] == ItemError("not an image")


def test_a_result_without_joint_scores_is_an_item_error() -> None:
    assert isinstance(parse_classify_result({"modalities": {}}), ItemError)


def test_http_errors_fail_the_batch() -> None:
    client = httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(400, json={"error": {}})))
    with pytest.raises(ScoringError, match="400"):
        HttpScorer("http://svc", client=client).score([LabelledItem("a", None, "x", None, "safe", "safe")])


def test_a_busy_server_is_asked_again_after_its_retry_after() -> None:
    replies = [httpx.Response(429, headers={"Retry-After": "3"}), httpx.Response(503)]
    replies.append(httpx.Response(200, json={"results": [{"modalities": {"joint": {"scores": GRADES3}}}]}))
    client = httpx.Client(transport=httpx.MockTransport(lambda r: replies.pop(0)))
    waits: list[float] = []
    scorer = HttpScorer("http://svc", client=client, sleep=waits.append)
    item = LabelledItem("a", None, "x", None, "safe", "safe")
    assert scorer.score([item]) == [ModelScores(None, None, (0.7, 0.2, 0.1), {})]
    assert waits == [3.0, 1.0]  # its Retry-After, else a second

    always_busy = httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(429)))
    waits.clear()
    with pytest.raises(ScoringError, match="429"):
        HttpScorer("http://svc", client=always_busy, attempts=3, sleep=waits.append).score([item])
    assert len(waits) == 2  # three attempts, then it gives up


def test_a_batch_over_the_servers_body_limit_is_split_and_an_item_too_big_alone_fails_alone() -> None:
    sizes: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        items = json.loads(request.content)["items"]
        sizes.append(len(items))
        if len(request.content) > 3_000:  # the server's limit, as SAFETY_MAX_BODY_BYTES sets it
            return httpx.Response(413, json={"error": {"code": "body_too_large"}})
        return httpx.Response(
            200, json={"results": [{"modalities": {"joint": {"scores": GRADES3}}}] * len(items)}
        )

    scorer = HttpScorer(
        "http://svc", batch_size=4, client=httpx.Client(transport=httpx.MockTransport(handler))
    )
    items = [LabelledItem(str(i), b"x" * 900, "hi", "safe", "safe", "safe") for i in range(3)]
    items.append(LabelledItem("huge", b"x" * 5_000, "hi", "safe", "safe", "safe"))
    results = scorer.score(items)  # one 413 ended the whole evaluation
    assert [isinstance(r, ModelScores) for r in results] == [True, True, True, False]
    assert isinstance(results[3], ItemError) and "413" in results[3].message
    assert sizes == [4, 2, 2, 1, 1]
