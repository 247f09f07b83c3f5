"""Command line: `python -m service serve|eval|tune ...` (subcommands plug into COMMANDS)."""

from __future__ import annotations

import argparse
import importlib.util
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

if TYPE_CHECKING:
    from service.settings import Settings

Run = Callable[[argparse.Namespace], int]
Register = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]


def register_serve(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `serve`: run the HTTP service (every option also reads SAFETY_* env vars)."""
    p = commands.add_parser("serve", help="run the HTTP service")
    p.add_argument("--host", help="bind address (SAFETY_HOST, default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (SAFETY_PORT, default 8000)")
    p.add_argument(
        "--model",
        type=Path,
        dest="model_dir",
        help="model bundle folder (SAFETY_MODEL_DIR; default: the repo's model/artifacts/glyph-minilm, "
        "found next to the source or in the current directory)",
    )
    p.add_argument(
        "--policies",
        type=Path,
        dest="policies_dir",
        help="policy folder (SAFETY_POLICIES_DIR; default: the repo's policies/, next to the source or in "
        "the current directory, else the model's built-in default); reload it with SIGHUP or "
        "POST /admin/policies/reload",
    )
    p.add_argument(
        "--shadow",
        dest="shadow_policy",
        metavar="NAME",
        help="shadow policy: runs beside the live one, disagreements counted (SAFETY_SHADOW_POLICY)",
    )
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], help="SAFETY_DEVICE, default auto")
    add_setting_flags(p, exclude=SERVE_FLAGS)
    p.set_defaults(run=serve)


# the settings with a flag of their own above; every other setting gets `--<name>` from add_setting_flags
SERVE_FLAGS = ("host", "port", "model_dir", "policies_dir", "shadow_policy", "device")


def add_setting_flags(p: argparse.ArgumentParser, exclude: Sequence[str]) -> None:
    """Add `--<setting-name>` for every setting not in `exclude`, secrets left out (a flag shows in `ps`:
    set them through the environment). Values are parsed and checked by the settings themselves."""
    from typing import get_args

    from pydantic import SecretStr

    from service.settings import Settings

    for name, field in Settings.model_fields.items():
        if name in exclude or SecretStr in (field.annotation, *get_args(field.annotation)):
            continue
        choices = [a for a in get_args(field.annotation) if isinstance(a, str)] or None
        default = field.get_default(call_default_factory=False)
        said = f"{field.description.split('. ')[0]}; " if field.description else ""
        p.add_argument(
            f"--{name.replace('_', '-')}",
            dest=name,
            choices=choices,
            metavar=None if choices else name.upper(),
            help=f"{said}SAFETY_{name.upper()}" + ("" if default is None else f", default {default}"),
        )


def _settings(args: argparse.Namespace, keys: Sequence[str]) -> Settings | None:
    """Build the settings from env vars and the given options; print the problem and return None if bad."""
    from service.settings import Settings

    overrides: dict[str, Any] = {
        key: value for key in keys if (value := getattr(args, key, None)) is not None
    }
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        print(f"invalid settings:\n{exc}", file=sys.stderr)
        return None


def _no_bundle(model_dir: Path) -> str | None:
    """Return one line saying how to name a bundle when `model_dir` holds none (None when it does)."""
    from service.settings import SHIPPED_BUNDLE

    if (model_dir / "manifest.json").is_file():
        return None
    return (
        f"no model bundle at {model_dir}: pass --model DIR or set SAFETY_MODEL_DIR (the shipped one is "
        f"{SHIPPED_BUNDLE} in the repo: start from the checkout's root)"
    )


def serve(args: argparse.Namespace) -> int:
    """Build the settings once, check the bundle and policies, then run uvicorn on the app."""
    from service.api.app import create_app
    from service.api.audit import check_audit_log
    from service.api.feedback import check_feedback_dir
    from service.api.server import run_server
    from service.errors import ModelBundleError, OcrUnavailable, StorageError
    from service.logs import configure_logging
    from service.policy.store import PolicyLoadError, default_policies_dir, load_policies
    from service.serving.bundle import Bundle
    from service.serving.engine import OnnxEngine
    from service.serving.inputs import TextTokenizer
    from service.serving.ocr import check_ocr
    from service.settings import Settings

    settings = _settings(args, list(Settings.model_fields))
    if settings is None:
        return 2
    if (problem := _no_bundle(settings.model_dir)) is not None:
        print(f"cannot serve: {problem}", file=sys.stderr)
        return 2
    if settings.policies_dir is None:
        if (repo_policies := default_policies_dir()) is not None:
            settings = settings.model_copy(update={"policies_dir": repo_policies})
        else:
            print(
                "no policies/ folder here: serving the model's built-in default policy only "
                "(pass --policies DIR or set SAFETY_POLICIES_DIR)",
                file=sys.stderr,
            )
    configure_logging(settings.log_level)
    try:
        # fail before uvicorn starts, with one clear line: the bundle, its tokenizer, the policies, and
        # the file that will run (its sha256) opened by ONNX Runtime on the device that will run it; first
        # that SAFETY_AUDIT_LOG and SAFETY_FEEDBACK_DIR can be written and that SAFETY_OCR=on can be met
        # (before minutes of model loading)
        check_audit_log(settings.audit_log)
        check_feedback_dir(settings)
        check_ocr(settings.ocr)
        bundle = Bundle.load(settings.model_dir)
        TextTokenizer(bundle.tokenizer_path, bundle.manifest.text.max_tokens)
        load_policies(bundle.manifest.thresholds, settings.policies_dir, settings.shadow_policy)
        engine = OnnxEngine.load(bundle, settings)
    except (ModelBundleError, PolicyLoadError, StorageError, OcrUnavailable) as exc:
        print(f"cannot serve: {' '.join(exc.message.split())}", file=sys.stderr)
        return 2
    # the app serves the engine opened here (its lifespan re-reads the same bundle)
    run_server(create_app(settings, lambda _bundle, _settings: engine, reload_on_sighup=True), settings)
    return 0


def register_eval(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `eval` and `tune`: score labelled data in-process (the serving engine) or with `--url`."""
    from service.evaluation.cli import add_eval_parsers

    for parser in add_eval_parsers(commands):
        parser.add_argument(
            "--model", type=Path, dest="model_dir", help="bundle for in-process scoring (SAFETY_MODEL_DIR)"
        )
        parser.add_argument("--device", choices=["auto", "cpu", "cuda"], help="SAFETY_DEVICE, default auto")
        parser.set_defaults(run=evaluate)


# What `eval` and `tune` need beyond the serving install: the `eval` extra (plots, progress bar, --url).
EVAL_EXTRA_MODULES = ("matplotlib", "tqdm", "httpx")


def _eval_extra_hint(command: str, missing: Sequence[str]) -> str:
    return (
        f"`python -m service {command}` needs the eval extra ({', '.join(missing)} not installed): "
        "pip install '.[eval]' (from the repo's root)"
    )


def evaluate(args: argparse.Namespace) -> int:
    """Run `eval` or `tune` (one line and exit 2 without the `eval` extra), on the in-process engine
    unless `--url` names a running server."""
    needed = [name for name in EVAL_EXTRA_MODULES if name != "httpx" or args.url]  # httpx: for --url
    missing = [name for name in needed if importlib.util.find_spec(name) is None]
    if missing:
        print(_eval_extra_hint(args.command, missing), file=sys.stderr)
        return 2
    try:
        return _evaluate(args)
    except ModuleNotFoundError as exc:  # a part of the extra that the check above cannot see
        if exc.name is None or exc.name.partition(".")[0] not in EVAL_EXTRA_MODULES:
            raise
        print(_eval_extra_hint(args.command, [exc.name]), file=sys.stderr)
        return 2


def _evaluate(args: argparse.Namespace) -> int:
    from service.errors import ModelBundleError
    from service.evaluation.scorers import EngineScorer
    from service.policy.rules import builtin_policy
    from service.serving.bundle import Bundle

    handler: Callable[..., int] = args.handler
    if args.url:
        return handler(args)
    settings = _settings(args, ("model_dir", "device"))
    if settings is None:
        return 2
    if (problem := _no_bundle(settings.model_dir)) is not None:
        print(f"cannot score in-process: {problem}; or pass --url of a running server", file=sys.stderr)
        return 2
    try:
        bundle = Bundle.load(settings.model_dir)
    except ModelBundleError as exc:
        print(f"cannot score in-process: {exc.message} (or pass --url of a running server)", file=sys.stderr)
        return 2
    builtin = builtin_policy(bundle.manifest.thresholds)
    return handler(args, lambda _: EngineScorer(bundle, settings), builtin)


# To add a subcommand: write `register_<name>(commands)` that adds a parser with `set_defaults(run=...)`,
# and list it here.
COMMANDS: list[Register] = [register_serve, register_eval]


def build_parser() -> argparse.ArgumentParser:
    """Return the parser with every registered subcommand."""
    parser = argparse.ArgumentParser(prog="safety-service", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in COMMANDS:
        register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `python -m service` and the `safety-service` script."""
    args = build_parser().parse_args(argv)
    run: Run = args.run
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
