"""The audit log: one line per decision from a real server, hashes and versions but never content, reopened
when the file is moved, and never a request held up by the disk."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from loadtests.servers import free_port, stop_process
from service.__main__ import main
from service.api.app import create_app
from service.api.audit import SCHEMA, WITHHELD, AuditLog, decision_fields
from service.api.schemas import ClassifyResponse
from service.metrics import Metrics
from service.settings import Settings
from tests.service.images import solid
from tests.service.live import metric, serve, wait_for

REPO = Path(__file__).resolve().parents[3]
TEXT = "the history of war, a distinctive sentence"  # borderline with the test bundle
IMAGE = solid(128)  # mid-grey: borderline
FIELDS = {
    "schema",
    "time",
    "request_id",
    "item_id",
    "image_sha256",
    "text_sha256",
    "policy",
    "model",
    "verdict",
    "action",
    "pattern",
    "emergent",
    "flagged_categories",
    "reasons",
    "text_windows",
    "text_truncated",
    "timings_ms",
}


def sha256(data: bytes | str) -> str:
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_every_decision_gets_one_line_with_hashes_and_versions_and_no_content(
    model_dir: Path, tmp_path: Path
) -> None:
    audit = tmp_path / "audit.jsonl"
    image_b64 = base64.b64encode(IMAGE).decode()
    with (
        serve(create_app(Settings(model_dir=model_dir, audit_log=str(audit)))) as url,
        httpx.Client(base_url=url, timeout=30) as client,
    ):
        one = client.post(
            "/v1/classify",
            json={"text": TEXT, "image": image_b64, "id": "post-1"},
            headers={"x-request-id": "r-1"},
        )
        form = client.post("/v1/classify", files={"image": ("x.png", IMAGE)}, data={"text": TEXT})
        batch = client.post(
            "/v1/classify/batch", json={"items": [{"text": TEXT}, {"image": image_b64}, {"image": "%%%"}]}
        )
        moderation = client.post(
            "/v1/moderations",
            json={
                "input": [
                    {"type": "text", "text": TEXT},
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{image_b64}"}},
                ]
            },
        )
        texts = client.post("/v1/moderations", json={"input": [TEXT, "a photo of a cat"]})
        for response in (one, form, batch, moderation, texts):
            assert response.status_code == 200, response.text
        decisions = 1 + 1 + 2 + 1 + 2  # the batch's bad item is no decision
        wait_for(lambda: len(lines(audit)) == decisions, "the audit lines")
        assert metric(url, "safety_audit_lines_total", result="written") == decisions
        assert metric(url, "safety_audit_lines_total", result="dropped") == 0
        assert metric(url, "safety_audit_lines_total", result="failed") == 0

    written = audit.read_text()
    for content in (TEXT, image_b64, image_b64[:40], "a photo of a cat"):
        assert content not in written
    logged = lines(audit)
    for line in logged:
        assert FIELDS <= set(line), FIELDS - set(line)
        assert line["schema"] == SCHEMA and line["time"].endswith("Z")
        assert set(line["policy"]) == {"name", "version"} and set(line["model"]) == {
            "name",
            "version",
            "sha256",
        }
        assert set(line["timings_ms"]) == {"queue", "inference", "total"}
        assert "image_text" not in line and "text" not in line and "image" not in line

    first = logged[0]
    body = one.json()
    assert first["request_id"] == "r-1" == one.headers["x-request-id"]
    assert first["item_id"] == "post-1"
    assert (first["image_sha256"], first["text_sha256"]) == (sha256(IMAGE), sha256(TEXT))
    assert {k: first[k] for k in ("verdict", "action", "pattern", "policy", "model")} == {
        k: body[k] for k in ("verdict", "action", "pattern", "policy", "model")
    }
    assert first["reasons"] == body["reasons"] and first["reasons"]  # copied as the answer has them
    by_request: dict[str, list[dict[str, Any]]] = {}
    for line in logged:
        by_request.setdefault(line["request_id"], []).append(line)
    assert sorted(len(group) for group in by_request.values()) == [1, 1, 1, 2, 2]
    assert by_request[form.headers["x-request-id"]][0]["image_sha256"] == sha256(IMAGE)
    batch_lines = by_request[batch.headers["x-request-id"]]
    assert [(x["image_sha256"], x["text_sha256"]) for x in batch_lines] == [
        (None, sha256(TEXT)),
        (sha256(IMAGE), None),
    ]
    (multimodal,) = by_request[moderation.headers["x-request-id"]]
    assert (multimodal["image_sha256"], multimodal["text_sha256"]) == (sha256(IMAGE), sha256(TEXT))
    assert [x["text_sha256"] for x in by_request[texts.headers["x-request-id"]]] == [
        sha256(TEXT),
        sha256("a photo of a cat"),
    ]


def test_the_audit_log_is_reopened_when_it_is_moved(model_dir: Path, tmp_path: Path) -> None:
    audit = tmp_path / "audit.jsonl"
    with serve(create_app(Settings(model_dir=model_dir, audit_log=str(audit)))) as url:
        assert httpx.post(f"{url}/v1/classify", json={"text": TEXT}).status_code == 200
        wait_for(lambda: len(lines(audit)) == 1, "the first line")
        rotated = audit.rename(tmp_path / "audit.jsonl.1")  # as logrotate (without copytruncate) does
        response = httpx.post(f"{url}/v1/classify", json={"text": "a photo of a cat"})
        wait_for(lambda: len(lines(audit)) == 1, "a new file")
        assert metric(url, "safety_audit_lines_total", result="written") == 2
    assert [x["text_sha256"] for x in lines(rotated)] == [sha256(TEXT)]
    assert [x["request_id"] for x in lines(audit)] == [response.headers["x-request-id"]]


def test_failed_writes_are_counted_and_writing_resumes(tmp_path: Path) -> None:
    folder = tmp_path / "logs"
    folder.mkdir()
    metrics = Metrics()
    audit = AuditLog(str(folder / "audit.jsonl"), metrics, queue_size=10, max_pending_bytes=1 << 20)

    def count(result: str) -> float:
        value = metrics.registry.get_sample_value("safety_audit_lines_total", {"result": result})
        return value or 0.0

    try:
        audit.record({"verdict": "safe"}, None, "first")
        wait_for(lambda: count("written") == 1, "the first line")
        shutil.rmtree(folder)  # the volume went away: the file cannot be reopened
        audit.record({"verdict": "safe"}, None, "second")
        wait_for(lambda: count("failed") == 1, "the failed write")
        folder.mkdir()
        audit.record({"verdict": "safe"}, None, "third")
        wait_for(lambda: count("written") == 2, "writing again")
    finally:
        audit.close()
    assert [x["text_sha256"] for x in lines(folder / "audit.jsonl")] == [sha256("third")]


def test_a_full_queue_drops_lines_and_never_blocks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    metrics = Metrics()
    audit = AuditLog(str(tmp_path / "audit.jsonl"), metrics, queue_size=2, max_pending_bytes=1 << 20)
    disk = threading.Event()
    original = audit._write

    def stalled(line: str) -> None:  # a disk that does not answer (an NFS server gone away)
        disk.wait(10)
        original(line)

    monkeypatch.setattr(audit, "_write", stalled)
    try:
        started = time.perf_counter()
        for n in range(10):
            audit.record({"n": n}, b"image bytes", None)
        assert time.perf_counter() - started < 0.5  # no request waited for the disk
        dropped = metrics.registry.get_sample_value("safety_audit_lines_total", {"result": "dropped"})
        assert dropped is not None and 7 <= dropped <= 8  # one line at the writer, two queued
        # the bytes bound too: a line whose image would pin more memory than allowed is dropped
        audit._max_pending_bytes = 0
        audit.record({"n": 10}, b"image bytes", None)
        assert (
            metrics.registry.get_sample_value("safety_audit_lines_total", {"result": "dropped"})
            == dropped + 1
        )
    finally:
        disk.set()
        audit.close()
    assert len(lines(tmp_path / "audit.jsonl")) == 10 - dropped


class _Answer(ClassifyResponse):
    """An answer with what OCR read in the image (the OCR stage of issue 24 adds the field)."""

    image_text: str | None = None


def test_a_reason_that_would_quote_the_input_is_withheld() -> None:
    scores = dict.fromkeys(("safe", "borderline", "unsafe"), 0.3)
    policy = {"name": "default", "version": "v1"}

    def reason(code: str, message: str) -> dict[str, Any]:
        return {
            "code": code,
            "reading": "joint",
            "score": 0.97,
            "threshold": 0.4,
            "policy": policy,
            "effect": "block",
            "message": message,
        }

    reasons = [
        reason("joint_unsafe", "joint unsafe 0.97 >= 0.40 -> block (policy default v1)"),
        reason("image_text", "the image reads 'BUY PILLS NOW'"),
        reason("text_window", "window 2 of 'how to make a bomb at home' decided"),
    ]
    answer = _Answer.model_validate(
        {
            "id": "x",
            "verdict": "unsafe",
            "action": "block",
            "modalities": {"image": None, "text": None, "joint": {"grade": "unsafe", "scores": scores}},
            "pattern": None,
            "emergent": False,
            "categories": {},
            "flagged_categories": [],
            "reasons": reasons,
            "text_truncated": False,
            "policy": policy,
            "model": {"name": "m", "version": "1", "sha256": "0" * 64},
            "timings_ms": {"queue": 1.0, "inference": 2.0, "total": 3.0},
            "image_text": " BUY PILLS NOW ",
        }
    )
    fields = decision_fields(answer, "how to make a bomb at home")
    assert fields["reasons"] == [
        reasons[0],
        reasons[1] | {"message": WITHHELD},
        reasons[2] | {"message": WITHHELD},
    ]
    assert "BUY PILLS" not in json.dumps(fields) and "image_text" not in fields


def test_serve_refuses_an_audit_log_it_cannot_open(
    test_bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "no-such-folder" / "audit.jsonl"
    assert main(["serve", "--model", str(test_bundle), "--audit-log", str(target)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("cannot serve: cannot open the audit log") and "SAFETY_AUDIT_LOG" in err
    assert err.count("\n") == 1


@pytest.fixture
def served_to_stdout(test_bundle: Path, tmp_path: Path) -> Iterator[tuple[str, Path, Path]]:
    """`python -m service serve` with SAFETY_AUDIT_LOG=- ; yields its URL, its stdout and its stderr files."""
    port = free_port()
    out, err = tmp_path / "stdout", tmp_path / "stderr"
    command = [sys.executable, "-m", "service", "serve", "--model", str(test_bundle), "--port", str(port)]
    env = {**os.environ, "SAFETY_AUDIT_LOG": "-", "SAFETY_DEVICE": "cpu", "SAFETY_POLICY_WATCH_S": "0"}
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=stdout, stderr=stderr)
    url = f"http://127.0.0.1:{port}"
    try:

        def ready() -> bool:
            try:
                return process.poll() is None and httpx.get(f"{url}/readyz").status_code == 200
            except httpx.TransportError:
                return False

        wait_for(ready, "readiness", timeout_s=60)
        yield url, out, err
    finally:
        stop_process(process)


@pytest.mark.slow
def test_serve_writes_the_audit_log_to_stdout_and_its_logs_to_stderr(
    served_to_stdout: tuple[str, Path, Path],
) -> None:
    url, out, err = served_to_stdout
    response = httpx.post(
        f"{url}/v1/classify", json={"text": TEXT, "image": base64.b64encode(IMAGE).decode()}
    )
    assert response.status_code == 200
    wait_for(lambda: len(lines(out)) == 1, "the audit line on stdout")
    (line,) = lines(out)
    assert line["schema"] == SCHEMA and line["request_id"] == response.headers["x-request-id"]
    assert (line["image_sha256"], line["text_sha256"]) == (sha256(IMAGE), sha256(TEXT))
    assert all(json.loads(x)["logger"] for x in err.read_text().splitlines() if x.startswith("{"))
    assert TEXT not in out.read_text() + err.read_text()
