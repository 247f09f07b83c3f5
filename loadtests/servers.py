"""The servers the bench measures, each in its own process: `python -m loadtests.servers KIND --port P`.

- `service`: the real app (`service.api.app.create_app`), settings from SAFETY_* env vars plus `--model`;
- `naive`: the same model behind a plain FastAPI endpoint that prepares and runs one request per call
  (a sync route in FastAPI's thread pool: no queue, no batching) - the baseline batching must beat;
- `trivial`: a bare ASGI app answering a fixed body, to show how fast the load generator can go.
"""

from __future__ import annotations

import argparse
import base64
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
KINDS = ("service", "naive", "trivial")


def naive_app(model_dir: Path) -> Any:
    """Return a FastAPI app with one sync `/v1/classify` route: decode, tokenize, run a batch of one."""
    from fastapi import FastAPI

    from service.serving.batching import collate
    from service.serving.bundle import Bundle
    from service.serving.engine import OnnxEngine
    from service.serving.inputs import Preprocessor, configure_pillow
    from service.settings import Settings

    settings = Settings(model_dir=model_dir)
    configure_pillow(settings.max_image_pixels)
    bundle = Bundle.load(model_dir)
    engine = OnnxEngine.load(bundle, settings)
    engine.warmup([1])
    preprocessor = Preprocessor(bundle, settings)
    absent_ids = preprocessor.text.absent_ids()
    app = FastAPI()

    @app.get("/readyz")
    def readyz() -> dict[str, str]:
        return {"status": "ready"}

    @app.post("/v1/classify")
    def classify(body: dict[str, str]) -> dict[str, list[float]]:
        image = base64.b64decode(body["image"]) if body.get("image") else None
        item = preprocessor.prepare(image, body.get("text"))
        scores = engine.run(collate([item], bundle.manifest.image.size, absent_ids))
        return {
            "image": scores.image[0].tolist(),
            "text": scores.text[0].tolist(),
            "joint": scores.joint[0].tolist(),
            "categories": scores.categories[0].tolist(),
        }

    return app


async def trivial_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answer every HTTP request with a small fixed JSON body (the body is read and dropped)."""
    if scope["type"] != "http":
        return
    more = True
    while more:
        more = (await receive()).get("more_body", False)
    body = b'{"status":"ok"}'
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def main(argv: Sequence[str] | None = None) -> int:
    import uvicorn

    parser = argparse.ArgumentParser(prog="python -m loadtests.servers")
    parser.add_argument("kind", choices=KINDS)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--model", type=Path, help="model bundle (service, naive)")
    args = parser.parse_args(argv)
    app: Any
    if args.kind == "service":  # the service's own server: its connection limits, admission and drain
        from service.api.app import create_app
        from service.api.server import run_server
        from service.settings import Settings

        settings = Settings(model_dir=args.model, host="127.0.0.1", port=args.port)
        run_server(create_app(settings), settings)
        return 0
    if args.kind == "naive":
        app = naive_app(args.model)
    else:
        app = trivial_app
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_config=None, access_log=False)
    return 0


@dataclass(frozen=True)
class Server:
    """A server process the bench started."""

    kind: str
    pid: int
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextmanager
def running(
    kind: str, model_dir: Path | None = None, timeout_s: float = 180.0, env: Mapping[str, str] | None = None
) -> Iterator[Server]:
    """Start `python -m loadtests.servers KIND` on a free port, wait for /readyz, stop it afterwards;
    `env`: more environment variables for it (the service's SAFETY_* settings)."""
    port = free_port()
    command = [sys.executable, "-m", "loadtests.servers", kind, "--port", str(port)]
    if model_dir is not None:
        command += ["--model", str(model_dir)]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        **(env or {}),
    }
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL)
    server = Server(kind, process.pid, port)
    try:
        _wait_ready(server, process, timeout_s)
        yield server
    finally:
        stop_process(process)


def stop_process(process: subprocess.Popen[Any], timeout_s: float = 15.0) -> None:
    """Stop a server process: SIGTERM (it drains), then SIGKILL if it is still there after timeout_s."""
    process.terminate()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def peak_rss_bytes(pid: int) -> int:
    """Return the process's peak resident set size (Linux VmHWM; current RSS elsewhere)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    import psutil

    return int(psutil.Process(pid).memory_info().rss)


def gpu_memory_mb(pid: int) -> float | None:
    """Return the GPU memory the process holds (MiB, from nvidia-smi), or None without nvidia-smi."""
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-compute-apps=pid,used_memory", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return process_gpu_memory(out, pid)


def process_gpu_memory(nvidia_smi_csv: str, pid: int) -> float:
    """Sum the `pid, used_memory` rows of nvidia-smi's compute-apps CSV that belong to `pid` (MiB)."""
    total = 0.0
    for line in nvidia_smi_csv.splitlines():
        fields = [f.strip() for f in line.split(",")]
        if len(fields) == 2 and fields[0] == str(pid) and fields[1].replace(".", "", 1).isdigit():
            total += float(fields[1])
    return total


def free_port() -> int:
    """Return a TCP port that is free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(server: Server, process: subprocess.Popen[bytes], timeout_s: float) -> None:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if process.poll() is not None:
            raise RuntimeError(
                f"the {server.kind} server exited with {process.returncode} before it was ready"
            )
        try:
            if httpx.get(f"{server.url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"the {server.kind} server was not ready after {timeout_s:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
