"""The serving install (`pip install .`, no extras) in a fresh virtualenv: no torch, no plotting, and it
serves the shipped bundle from a checkout's root and says in one line what is missing elsewhere.

Slow (a venv and a real `pip install` from the package registry, which pip's cache speeds up).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from loadtests.servers import stop_process
from tests.deploy.conftest import REAL_BUNDLE, ROOT
from tests.deploy.helpers import free_port

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

# What serving must not carry: training (torch and its kin) and plotting. tqdm is no dependency of the
# project's serving install, but `tokenizers` brings it (through huggingface_hub), so it is not checked.
HEAVY = ("torch", "transformers", "onnx", "matplotlib")


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without the dev venv, the repo on the path or any SAFETY_* setting."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME") and not k.startswith("SAFETY_")
    }
    return {**env, **extra}


@pytest.fixture(scope="module")
def lean_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with `pip install <repo>`; returns its python.

    The sources are copied first: an in-tree build would leave build/ in the checkout, and a stale
    build/lib can put removed modules into the wheel.
    """
    root = tmp_path_factory.mktemp("install")
    src = root / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", "build")
    for package in ("service", "model"):
        shutil.copytree(ROOT / package, src / package, ignore=skip)
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    done = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(src)],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=480,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    return python


def run_in(python: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(python), *args], cwd=cwd, env=clean_env(), capture_output=True, text=True, timeout=120
    )


def test_the_serving_install_has_no_training_or_plotting_stack(lean_python: Path, tmp_path: Path) -> None:
    probe = (
        "import importlib.util, json, sys\n"
        "from importlib.metadata import distribution, requires\n"
        "import service, model\n"
        f"present = [m for m in {HEAVY!r} if importlib.util.find_spec(m) is not None]\n"
        "files = [str(f) for f in distribution('safety-classifier').files or []]\n"
        "plain = [r for r in requires('safety-classifier') or [] if 'extra ==' not in r]\n"
        "print(json.dumps({'present': present, 'files': files, 'requires': plain,\n"
        "    'service': service.__file__}))\n"
    )
    done = run_in(lean_python, tmp_path, "-c", probe)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found["present"] == [], f"the serving install carries {found['present']}"
    assert found["service"].startswith(str(lean_python.parents[1]))  # the installed package, not the repo
    names = {r.split(">")[0].split("=")[0].split("[")[0].strip().lower() for r in found["requires"]}
    assert not names & {"torch", "matplotlib", "tqdm", "httpx"}, names
    # the wheel stays small: no model bundle (nor its checkpoint) as package data
    assert not [f for f in found["files"] if f.endswith((".onnx", ".pt"))], found["files"]


def test_without_a_bundle_serve_says_in_one_line_how_to_name_one(lean_python: Path, tmp_path: Path) -> None:
    done = run_in(lean_python, tmp_path, "-m", "service", "serve")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert "no model bundle" in lines[0] and "--model" in lines[0] and "SAFETY_MODEL_DIR" in lines[0]


def test_eval_without_the_extra_says_what_to_install(lean_python: Path, tmp_path: Path) -> None:
    for command in (["eval", "--out", "report"], ["tune", "--max-under-block", "0.05", "--out", "t.yaml"]):
        done = run_in(lean_python, tmp_path, "-m", "service", *command, "--data", "labelled.jsonl")
        assert done.returncode == 2
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
        assert "eval extra" in lines[0] and "pip install '.[eval]'" in lines[0], lines[0]


@pytest.fixture
def checkout_root(tmp_path: Path, served_bundle: Path) -> Path:
    """A working directory laid out like the repo's root: the bundle and policies/ (no sources)."""
    bundle = tmp_path / "model" / "artifacts" / "glyph-minilm"
    bundle.parent.mkdir(parents=True)
    bundle.symlink_to(served_bundle, target_is_directory=True)
    (tmp_path / "policies").symlink_to(ROOT / "policies", target_is_directory=True)
    return tmp_path


@pytest.fixture
def lean_server(lean_python: Path, checkout_root: Path) -> Iterator[str]:
    """`python -m service serve` of the serving install, started at a checkout's root with no options."""
    port = free_port()
    env = clean_env(SAFETY_INTRA_OP_THREADS="1", SAFETY_MAX_BATCH_SIZE="4", SAFETY_POLICY_WATCH_S="0")
    log = checkout_root / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(lean_python), "-m", "service", "serve", "--port", str(port)],
            cwd=checkout_root,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert process.poll() is None, log.read_text()[-3000:]
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        else:
            pytest.fail(f"not ready after 60 s:\n{log.read_text()[-3000:]}")
        yield url
    finally:
        stop_process(process)
    assert "Traceback" not in log.read_text()


def test_the_serving_install_serves_from_a_checkouts_root(
    lean_python: Path, lean_server: str, checkout_root: Path
) -> None:
    # the README's picture: drawn with the serving install (the corpus renderer needs no torch)
    scene = checkout_root / "scene.png"
    drawn = run_in(
        lean_python, checkout_root, "-m", "model.corpus.cli", "render", "--glyphs", "child", "--seed", "3",
        "--out", str(scene),
    )  # fmt: skip
    assert drawn.returncode == 0, drawn.stderr
    image = base64.b64encode(scene.read_bytes()).decode()
    with httpx.Client(base_url=lean_server, timeout=30) as client:
        assert client.get("/readyz").status_code == 200
        question = "how much could I get for this one?"
        text = client.post("/v1/classify", json={"text": question})
        assert text.status_code == 200, text.text
        assert text.json()["modalities"]["text"]["grade"] in ("safe", "borderline", "unsafe")
        pair = client.post("/v1/classify", json={"text": question, "image": image})
        assert pair.status_code == 200, pair.text
        if (REAL_BUNDLE / "manifest.json").is_file():
            assert pair.json()["pattern"] == "S-S-U"  # the README's example
        # the repo's policies were found in the working directory
        listed = {p["name"] for p in client.get("/v1/policies").json()["policies"]}
        assert {p.stem for p in (ROOT / "policies").glob("*.yaml")} <= listed
