"""Command line: `python -m service serve ...` (other subcommands plug into COMMANDS)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

Run = Callable[[argparse.Namespace], int]
Register = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]


def register_serve(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `serve`: run the HTTP service (every option also reads SAFETY_* env vars)."""
    p = commands.add_parser("serve", help="run the HTTP service")
    p.add_argument("--host", help="bind address (SAFETY_HOST, default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (SAFETY_PORT, default 8000)")
    p.add_argument("--model", type=Path, dest="model_dir", help="model bundle folder (SAFETY_MODEL_DIR)")
    p.add_argument("--policies", type=Path, dest="policies_dir", help="policy folder (SAFETY_POLICIES_DIR)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], help="SAFETY_DEVICE, default auto")
    p.set_defaults(run=serve)


def serve(args: argparse.Namespace) -> int:
    """Build the settings once, then run uvicorn on the app."""
    import uvicorn

    from service.app import create_app
    from service.errors import ModelBundleError
    from service.logs import configure_logging
    from service.manifest import Bundle
    from service.settings import Settings

    overrides: dict[str, Any] = {
        key: value
        for key in ("host", "port", "model_dir", "policies_dir", "device")
        if (value := getattr(args, key)) is not None
    }
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        print(f"invalid settings:\n{exc}", file=sys.stderr)
        return 2
    try:
        Bundle.load(settings.model_dir)  # fail before uvicorn starts, with one clear line
    except ModelBundleError as exc:
        print(f"cannot serve: {exc.message}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=int(settings.shutdown_grace_s) or None,
    )
    return 0


# To add a subcommand: write `register_<name>(commands)` that adds a parser with `set_defaults(run=...)`,
# and list it here.
COMMANDS: list[Register] = [register_serve]


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
