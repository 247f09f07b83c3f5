"""Admin: the bearer token; policy reloads by endpoint, SIGHUP and file change (bad files never win)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from loadtests.servers import free_port, stop_process
from service.api.app import create_app
from service.settings import Settings
from tests.service.live import metric, serve

REPO = Path(__file__).resolve().parents[3]
TOKEN = "s3cret-admin-token"
BORDERLINE_TEXT = "the history of war"  # joint p_unsafe = 1/3 with the test bundle
STRICT = "joint: {borderline: 0.3, unsafe: 0.2}\n"  # blocks BORDERLINE_TEXT
LOOSER = "joint: {borderline: 0.3, unsafe: 0.5}\n"  # reviews it
BAD = "joint: {borderline: 0.3, unsafe: 2}\n"  # joint.unsafe out of range


def classify(base_url: str, policy: str) -> dict[str, str]:
    body = httpx.post(f"{base_url}/v1/classify", json={"text": BORDERLINE_TEXT, "policy": policy}).json()
    return {"version": body["policy"]["version"], "action": body["action"]}


@pytest.fixture
def policies(tmp_path: Path) -> Path:
    folder = tmp_path / "policies"
    folder.mkdir()
    (folder / "strict.yaml").write_text(STRICT)
    return folder


def test_admin_is_disabled_without_a_token(model_dir: Path) -> None:
    with serve(create_app(Settings(model_dir=model_dir))) as url:
        response = httpx.post(f"{url}/admin/policies/reload", headers={"Authorization": "Bearer x"})
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "admin_disabled" and "SAFETY_ADMIN_TOKEN" in error["message"]


def test_reload_by_endpoint(model_dir: Path, policies: Path) -> None:
    settings = Settings(model_dir=model_dir, policies_dir=policies, admin_token=TOKEN, policy_watch_s=0)
    with serve(create_app(settings)) as url, httpx.Client(base_url=url) as client:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}):
            refused = client.post("/admin/policies/reload", headers=headers)
            assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
            assert refused.json()["error"]["code"] == "unauthorized"
        auth = {"Authorization": f"Bearer {TOKEN}"}
        old = classify(url, "strict")
        # The reload alert takes `increase()` of the error series: it must exist at 0 before the
        # first rejected reload, or that first rejection is invisible to it.
        exposed = httpx.get(f"{url}/metrics").text
        for trigger in ("endpoint", "sighup", "file"):
            assert f'safety_policy_reloads_total{{result="error",trigger="{trigger}"}} 0.0' in exposed
        assert old["action"] == "block"

        (policies / "strict.yaml").write_text(BAD)
        rejected = client.post("/admin/policies/reload", headers=auth)
        assert rejected.status_code == 422
        error = rejected.json()["error"]
        assert error["code"] == "invalid_policy"
        assert [(Path(e["file"]).name, e["field"]) for e in error["errors"]] == [
            ("strict.yaml", "joint.unsafe")
        ]
        assert classify(url, "strict") == old  # the good policy keeps serving

        (policies / "strict.yaml").write_text(LOOSER)
        (policies / "extra.yaml").write_text("description: new\n")
        reloaded = client.post("/admin/policies/reload", headers=auth)
        assert reloaded.status_code == 200, reloaded.text
        body = reloaded.json()
        assert body["names"] == ["default", "extra", "strict"]
        assert (body["added"], body["removed"], body["changed"]) == (["extra"], [], ["strict"])
        new = classify(url, "strict")
        assert new == {"version": body["versions"]["strict"], "action": "review"} and new != old
        assert metric(url, "safety_policy_reloads_total", trigger="endpoint", result="error") == 1
        assert metric(url, "safety_policy_reloads_total", trigger="endpoint", result="ok") == 1


def test_a_reload_of_an_emptied_policy_folder_is_refused_and_the_policies_stay(
    model_dir: Path, policies: Path
) -> None:
    settings = Settings(model_dir=model_dir, policies_dir=policies, admin_token=TOKEN, policy_watch_s=0)
    with serve(create_app(settings)) as url:
        old = classify(url, "strict")
        (policies / "strict.yaml").unlink()  # a ConfigMap mounted wrong: the folder is there, empty
        rejected = httpx.post(f"{url}/admin/policies/reload", headers={"Authorization": f"Bearer {TOKEN}"})
        assert rejected.status_code == 422 and rejected.json()["error"]["code"] == "invalid_policy"
        assert "no policy file" in rejected.json()["error"]["message"]
        assert classify(url, "strict") == old
        assert metric(url, "safety_policy_reloads_total", trigger="endpoint", result="error") == 1


def _wait(check: Callable[[], bool], what: str, timeout_s: float = 60.0) -> None:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        try:
            if check():
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"timed out waiting for {what}")


@pytest.fixture
def served(
    test_bundle: Path, policies: Path, tmp_path: Path
) -> Iterator[tuple[str, subprocess.Popen[bytes], Path]]:
    """`python -m service serve` as a subprocess; yields its URL, the process and its log file."""
    port = free_port()
    log_path = tmp_path / "serve.log"
    command = [sys.executable, "-m", "service", "serve", "--model", str(test_bundle)]
    command += ["--policies", str(policies), "--port", str(port), "--device", "cpu"]
    env = {**os.environ, "SAFETY_MAX_BATCH_SIZE": "4", "SAFETY_INTRA_OP_THREADS": "1"}
    env["SAFETY_POLICY_WATCH_S"] = "0"  # only the SIGHUP under test reloads
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(lambda: process.poll() is None and httpx.get(f"{url}/readyz").status_code == 200, "readiness")
        yield url, process, log_path
    finally:
        stop_process(process)


@pytest.mark.slow
def test_reload_on_sighup(served: tuple[str, subprocess.Popen[bytes], Path], policies: Path) -> None:
    url, process, log_path = served
    old = classify(url, "strict")
    assert old["action"] == "block"

    def reloads(result: str) -> float:
        return metric(url, "safety_policy_reloads_total", trigger="sighup", result=result)

    (policies / "strict.yaml").write_text(BAD)
    process.send_signal(signal.SIGHUP)
    _wait(lambda: reloads("error") == 1, "the rejected reload")
    assert classify(url, "strict") == old  # the good policy keeps serving
    log = log_path.read_text()
    assert "policy reload rejected" in log and "strict.yaml" in log and "joint.unsafe" in log

    (policies / "strict.yaml").write_text(LOOSER)
    process.send_signal(signal.SIGHUP)
    _wait(lambda: reloads("ok") == 1, "the reload")
    new = classify(url, "strict")
    assert new["action"] == "review" and new["version"] != old["version"]
    assert process.poll() is None  # SIGHUP reloads; it does not stop the server


def test_reload_on_file_change(model_dir: Path, tmp_path: Path) -> None:
    # laid out like a mounted Kubernetes ConfigMap: each file is a link through `..data`, and an
    # update swaps `..data` to a new folder in one rename
    folder = tmp_path / "policies"
    folder.mkdir()

    def publish(version: str, text: str) -> None:
        target = tmp_path / version
        target.mkdir()
        (target / "strict.yaml").write_text(text)
        (folder / "..data_tmp").symlink_to(target)
        os.replace(folder / "..data_tmp", folder / "..data")

    publish("v1", STRICT)
    (folder / "strict.yaml").symlink_to("..data/strict.yaml")
    settings = Settings(model_dir=model_dir, policies_dir=folder, policy_watch_s=0.05)
    with serve(create_app(settings)) as url:

        def reloads(result: str) -> float:
            return metric(url, "safety_policy_reloads_total", trigger="file", result=result)

        old = classify(url, "strict")
        assert old["action"] == "block"
        publish("v2", BAD)
        _wait(lambda: reloads("error") == 1, "the rejected reload")
        assert classify(url, "strict") == old  # the good policy keeps serving
        publish("v3", LOOSER)
        _wait(lambda: reloads("ok") == 1, "the reload")
        new = classify(url, "strict")
        assert new["action"] == "review" and new["version"] != old["version"]
        assert reloads("error") == 1  # an unchanged directory is not reloaded again
