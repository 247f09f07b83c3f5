"""Settings from SAFETY_* env vars, and the command line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from service.__main__ import build_parser
from service.api.server import DrainingServer
from service.serving.engine import cuda_usable
from service.settings import Settings


def test_env_vars_override_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFETY_PORT", "9001")
    monkeypatch.setenv("SAFETY_MAX_BATCH_SIZE", "8")
    monkeypatch.setenv("SAFETY_DEVICE", "cpu")
    settings = Settings()
    assert (settings.port, settings.max_batch_size, settings.device) == (9001, 8, "cpu")
    assert Settings(port=1234).port == 1234  # explicit values (the CLI) win over env


def test_bad_values_fail_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFETY_DEVICE", "tpu")
    with pytest.raises(ValidationError):
        Settings()


def test_settings_that_cannot_work_together_fail_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValidationError, match="max_batch_items"):  # such a batch could never be queued
        Settings(queue_size=16, max_batch_items=64)
    monkeypatch.setenv("SAFETY_POLICIES_DIR", "")  # set but empty: no folder, not the working directory
    assert Settings().policies_dir is None


def test_serve_subcommand_parses() -> None:
    args = build_parser().parse_args(["serve", "--port", "8123", "--model", "m", "--policies", "p"])
    assert (args.port, args.model_dir, args.policies_dir, args.host) == (8123, Path("m"), Path("p"), None)
    assert callable(args.run)


@pytest.mark.parametrize(("grace", "timeout"), [("0", 0), ("2.5", 3), ("10", 10)])
def test_serve_passes_the_shutdown_grace_to_uvicorn(
    monkeypatch: pytest.MonkeyPatch, test_bundle: Path, grace: str, timeout: int
) -> None:
    import uvicorn

    from service.__main__ import main

    seen: list[uvicorn.Config] = []
    monkeypatch.setattr(DrainingServer, "run", lambda self, **kwargs: seen.append(self.config))
    monkeypatch.setenv("SAFETY_SHUTDOWN_GRACE_S", grace)
    assert main(["serve", "--model", str(test_bundle)]) == 0
    (config,) = seen
    assert config.timeout_graceful_shutdown == timeout  # 0 is "do not wait", never None ("forever")
    # uvicorn's own connection limit sits far above the app's JSON 429 bound, the backlog matches it
    assert (config.limit_concurrency, config.backlog) == (2048, 2048)


@pytest.fixture
def no_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """`serve` must refuse before uvicorn starts: starting it fails the test."""
    monkeypatch.setattr(DrainingServer, "run", lambda self, **kwargs: pytest.fail("uvicorn started"))


def _bundle_with_model(test_bundle: Path, folder: Path, content: bytes) -> tuple[Path, Path]:
    """Copy the test bundle into `folder` with its ONNX file's bytes replaced; return the bundle and file."""
    import shutil

    bundle = Path(shutil.copytree(test_bundle, folder))
    model = next(bundle.glob("*.onnx"))
    model.write_bytes(content)
    return bundle, model


@pytest.mark.usefixtures("no_server")
def test_serve_refuses_a_model_file_that_fails_its_checksum_before_uvicorn_starts(
    test_bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from service.__main__ import main

    original = next(test_bundle.glob("*.onnx")).read_bytes()
    # one byte more than the manifest's sha256 covers
    bundle, _ = _bundle_with_model(test_bundle, tmp_path / "bundle", original + b"\0")
    assert main(["serve", "--model", str(bundle)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("cannot serve: ") and "sha256" in err


@pytest.mark.usefixtures("no_server")
def test_serve_refuses_a_model_file_onnx_runtime_cannot_open_in_one_line(
    test_bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from service.__main__ import main
    from service.serving.bundle import file_sha256

    bundle, model = _bundle_with_model(test_bundle, tmp_path / "bundle", b"not an onnx graph" * 100)
    manifest = json.loads((bundle / "manifest.json").read_text())
    for spec in manifest["variants"].values():  # the checksum matches: only ONNX Runtime can tell
        if spec["file"] == model.name:
            spec["sha256"] = file_sha256(model)
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    assert main(["serve", "--model", str(bundle)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("cannot serve: ONNX Runtime cannot load ") and err.count("\n") == 1, err


def test_a_settings_error_never_prints_the_admin_token(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from service.__main__ import main

    monkeypatch.setenv("SAFETY_ADMIN_TOKEN", "s3cr3t-admin-token")
    # a model-level check fails: pydantic would print the whole input, the token with it
    monkeypatch.setenv("SAFETY_QUEUE_SIZE", "16")
    monkeypatch.setenv("SAFETY_MAX_BATCH_ITEMS", "64")
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert "max_batch_items" in err and "s3cr3t" not in err
    monkeypatch.setenv("SAFETY_QUEUE_SIZE", "not a number")  # a field-level error: the same
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert "queue_size" in err and "s3cr3t" not in err and "not a number" not in err


@pytest.mark.usefixtures("no_server")
def test_serve_refuses_a_tokenizer_that_does_not_parse_naming_its_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:

    from service.__main__ import main
    from tests.service.bundle import make_bundle

    bundle = make_bundle(tmp_path / "bundle")
    (bundle / "tokenizer.json").write_text("{}")  # it exists: only parsing it tells (a traceback at start-up)
    assert main(["serve", "--model", str(bundle)]) == 2
    err = capsys.readouterr().err
    assert re.match(r"cannot serve: cannot read the tokenizer .*tokenizer\.json", err), err


@pytest.mark.skipif(cuda_usable(), reason="a usable CUDA GPU is present")
@pytest.mark.usefixtures("no_server")
def test_serve_refuses_device_cuda_without_a_gpu_before_uvicorn_starts(
    test_bundle: Path, capsys: pytest.CaptureFixture[str]
) -> None:

    from service.__main__ import main

    assert main(["serve", "--model", str(test_bundle), "--device", "cuda"]) == 2
    assert capsys.readouterr().err.startswith("cannot serve: device=cuda was requested")


def test_the_shipped_bundle_is_found_from_any_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SAFETY_MODEL_DIR", raising=False)
    assert (Settings().model_dir / "manifest.json").is_file()


def test_serve_flags_set_the_overload_limits(monkeypatch: pytest.MonkeyPatch, test_bundle: Path) -> None:
    from service.__main__ import main

    seen: list[DrainingServer] = []
    monkeypatch.setattr(DrainingServer, "run", lambda self, **kwargs: seen.append(self))
    flags = ["--max-in-flight", "32", "--max-connections", "512", "--backlog", "256", "--body-timeout-s", "3"]
    assert main(["serve", "--model", str(test_bundle), *flags, "--shutdown-drain-s", "1.5"]) == 0
    (server,) = seen
    assert (server.config.limit_concurrency, server.config.backlog) == (512, 256)
    from fastapi import FastAPI

    from service.api.deps import app_admission

    assert isinstance(server.config.app, FastAPI) and app_admission(server.config.app).limit == 32
    # uvicorn's limit at or under the admission bound would answer its plain 503 first: refused
    tight = ["--max-in-flight", "64", "--max-connections", "64"]
    assert main(["serve", "--model", str(test_bundle), *tight]) == 2


def test_every_setting_but_the_secrets_is_a_serve_flag(
    monkeypatch: pytest.MonkeyPatch, test_bundle: Path
) -> None:
    from fastapi import FastAPI

    from service.__main__ import main
    from service.api.deps import app_admission

    flags = set(vars(build_parser().parse_args(["serve"])))
    # a flag would show a token in `ps`
    assert set(Settings.model_fields) - flags == {"admin_token", "feedback_token"}
    seen: list[DrainingServer] = []
    monkeypatch.setattr(DrainingServer, "run", lambda self, **kwargs: seen.append(self))
    given = ["--max-batch-size", "40", "--warmup", "false", "--log-level", "warning", "--policy-watch-s", "0"]
    assert main(["serve", "--model", str(test_bundle), *given]) == 0
    (server,) = seen
    # the admission bound follows the batch size given as a flag: 2 x 2 workers x 40
    assert isinstance(server.config.app, FastAPI) and app_admission(server.config.app).limit == 160
    assert (
        main(["serve", "--model", str(test_bundle), "--max-batch-size", "many"]) == 2
    )  # checked as settings
