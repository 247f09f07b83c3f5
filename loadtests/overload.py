"""Reliability under overload: capacity, twice that load, hostile inputs, SIGTERM under load.

    python loadtests/overload.py --model DIR [--quick] [--json OUT]

Every phase runs the real service in its own process (loadtests/servers.py); this process is the load
generator (asyncio, raw HTTP/1.1, loadtests/loadgen.py) and sends the bench's workload (workload.py).

1. capacity: the closed-loop rate at saturation of `POST /v1/classify` (bench.saturate, 32 clients);
2. overload: an open loop at twice that rate, each request on a new connection so that refusals and
   resets reach the client: answers by status, requests with no answer at all (connection refused,
   reset or closed before the answer, or nothing within `answer_timeout_s`), latency per status counted
   from the request's slot in the schedule, goodput (200s that arrived during the phase, per second) as a
   share of capacity, and the server's peak RSS;
3. hostile inputs, each on a fresh server: a 1 x 39,000,000 PNG (~74 KB compressed) to /v1/classify and
   a ~16 MB batch of one-letter items to /v1/classify/batch: the status each got and how far the
   server's peak RSS (VmHWM) rose above its RSS before;
4. SIGTERM under load: a fresh server, the same open loop, SIGTERM after a few seconds: the requests
   started before the signal that got no answer at all, their answers by status, and how long the
   process took to exit.

Targets are printed beside the figures; missing one never fails the run (exit code 0 once it ran).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import errno
import io
import itertools
import json
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from PIL import Image

if __package__ in (None, ""):  # run as `python loadtests/overload.py`: make the repo importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from loadtests import bench, loadgen, servers, workload  # noqa: E402
from service.settings import SHIPPED_MODEL_DIR  # noqa: E402

HOST = "127.0.0.1"
BATCH = "/v1/classify/batch"
MB = 2**20


@dataclass(frozen=True)
class Profile:
    """How long each phase runs (seconds) and how large the hostile inputs are."""

    capacity_s: float = 10.0
    warmup_s: float = 2.0  # closed-loop warm-up before the capacity phase, not counted
    clients: int = 32  # closed-loop connections for capacity (the bench's saturation)
    overload_s: float = 30.0
    overload_factor: float = 2.0  # the open loop's rate, in multiples of capacity
    sigterm_after_s: float = 3.0  # load before the SIGTERM
    after_sigterm_s: float = 1.0  # the open loop keeps starting requests this long after it
    exit_wait_s: float = 30.0  # how long to wait for the process to exit after SIGTERM
    # above the service's request_timeout_ms (10 s, then 504): a request without an answer by now has none
    answer_timeout_s: float = 15.0
    requests: int = 48  # distinct request bodies cycled through
    png_height: int = 39_000_000  # the hostile PNG is 1 pixel wide, under max_image_pixels (40 M)
    # just under max_body_bytes (16 MiB): the body is read and parsed, not refused at the door
    batch_body_bytes: int = 16_000_000


FULL = Profile()
QUICK = Profile(capacity_s=3.0, overload_s=5.0, sigterm_after_s=2.0)

# (phase, figure) -> (the target as printed, whether a value meets it); informational only
TARGETS: dict[tuple[str, str], tuple[str, Callable[[float], bool]]] = {
    ("overload", "unanswered"): ("0", lambda v: v == 0),
    ("overload", "p99_ms_429"): ("<= 250", lambda v: v <= 250),
    ("overload", "p99_ms_200"): ("<= 1000", lambda v: v <= 1000),
    ("overload", "goodput_share"): (">= 0.90", lambda v: v >= 0.90),
    ("hostile_png", "rss_increase_mb"): ("<= 300", lambda v: v <= 300),
    ("sigterm", "unanswered_before"): ("0", lambda v: v == 0),
}


@dataclass(frozen=True)
class Attempt:
    """One request on its own connection: when it started and what came back."""

    slot_s: float  # event-loop time it was due (open loop: its slot in the schedule)
    started_s: float  # event-loop time the connection was opened
    done_s: float  # event-loop time the answer (or the failure) came
    status: int | None  # None: no answer at all
    failure: str | None = None  # why not: refused, reset, closed, timeout, or the OS error's name

    @property
    def latency_s(self) -> float:
        """From the slot to the answer: a slow generator or a full backlog cannot hide the wait."""
        return self.done_s - self.slot_s


async def attempt(request: bytes, port: int, timeout_s: float, slot: float | None = None) -> Attempt:
    """Open a connection, send `request`, read the answer, close; a failure is recorded, not raised."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    status: int | None = None
    failure: str | None = None
    conn: loadgen.Connection | None = None
    try:
        async with asyncio.timeout(timeout_s):
            conn = await loadgen.Connection.open(HOST, port)
            status = await conn.send(request)
    except TimeoutError:
        failure = "timeout"
    except ConnectionRefusedError:
        failure = "refused"
    except (ConnectionResetError, BrokenPipeError):
        failure = "reset"
    except asyncio.IncompleteReadError:  # the server closed the connection before a whole answer
        failure = "closed"
    except OSError as exc:  # e.g. EMFILE or EADDRNOTAVAIL: the generator ran out of sockets
        failure = errno.errorcode.get(exc.errno or 0, type(exc).__name__)
    finally:
        if conn is not None:
            conn.close()
    return Attempt(started if slot is None else slot, started, loop.time(), status, failure)


@dataclass(frozen=True)
class OpenLoopRun:
    """What an open loop got: one Attempt per scheduled request."""

    attempts: list[Attempt]
    first_slot_s: float
    seconds: float  # the schedule's length
    loadgen_cpu_s: float

    def goodput(self) -> float:
        """200 answers that arrived within the schedule, per second."""
        end = self.first_slot_s + self.seconds
        return sum(a.status == 200 and a.done_s <= end for a in self.attempts) / self.seconds

    def lagging(self) -> int:
        """Requests that started over 10 ms after their slot (the generator was too slow)."""
        return sum(a.started_s - a.slot_s > 0.01 for a in self.attempts)


async def open_loop(
    requests: Sequence[bytes], port: int, rate: float, seconds: float, timeout_s: float
) -> OpenLoopRun:
    """Start `rate` requests per second for `seconds`, each on a new connection, whatever the server does."""
    loop = asyncio.get_running_loop()
    first = loop.time() + 0.05
    cpu = time.process_time()

    async def at(slot: float, request: bytes) -> Attempt:
        await asyncio.sleep(slot - loop.time())
        return await attempt(request, port, timeout_s, slot)

    count = max(1, int(rate * seconds))
    slots = (first + i / rate for i in range(count))
    attempts = await asyncio.gather(*map(at, slots, itertools.cycle(requests)))
    return OpenLoopRun(list(attempts), first, seconds, time.process_time() - cpu)


def statuses(attempts: Iterable[Attempt]) -> dict[str, int]:
    """Answers by status, in status order."""
    counts = Counter(a.status for a in attempts if a.status is not None)
    return {str(status): n for status, n in sorted(counts.items())}


def failures(attempts: Iterable[Attempt]) -> dict[str, int]:
    """Requests with no answer, by why."""
    return dict(Counter(a.failure for a in attempts if a.failure is not None).most_common())


def percentile_ms(attempts: Iterable[Attempt], status: int, q: float) -> float | None:
    """Latency percentile (0-100, nearest rank) of the answers with `status`; None without any."""
    latencies = [a.latency_s for a in attempts if a.status == status]
    return loadgen.LoadResult(0.0, latencies).percentile_ms(q) if latencies else None


def classify_requests(port: int, bodies: Sequence[bytes]) -> list[bytes]:
    """Return each body as a ready-made `POST /v1/classify` to the server on `port`."""
    return [loadgen.build_request(HOST, port, bench.CLASSIFY, body) for body in bodies]


def measure_capacity(server: servers.Server, bodies: Sequence[bytes], profile: Profile) -> dict[str, Any]:
    """Closed-loop saturation: the rate the overload phase doubles."""
    saturation = bench.Profile(
        clients=profile.clients, saturation_s=profile.capacity_s, warmup_s=profile.warmup_s
    )
    result = bench.saturate(server, classify_requests(server.port, bodies), saturation)
    return {
        "requests_per_s": result.throughput,
        "p99_ms": result.percentile_ms(99) if result.ok else None,
        "statuses": {str(k): v for k, v in sorted(result.statuses.items())},
        "clients": profile.clients,
        "seconds": result.elapsed_s,
    }


def measure_overload(
    server: servers.Server, bodies: Sequence[bytes], capacity: float, profile: Profile
) -> dict[str, Any]:
    """The open loop at overload_factor x capacity: what was refused, how fast, and what got through."""
    rate = profile.overload_factor * capacity
    run = asyncio.run(
        open_loop(
            classify_requests(server.port, bodies),
            server.port,
            rate,
            profile.overload_s,
            profile.answer_timeout_s,
        )
    )
    answered = statuses(run.attempts)
    return {
        "offered_per_s": rate,
        "sent": len(run.attempts),
        "statuses": answered,
        "unanswered": sum(a.status is None for a in run.attempts),
        "unanswered_by_reason": failures(run.attempts),
        "p50_ms_429": percentile_ms(run.attempts, 429, 50),
        "p99_ms_429": percentile_ms(run.attempts, 429, 99),
        "p99_ms_200": percentile_ms(run.attempts, 200, 99),
        "p99_ms_by_status": {s: percentile_ms(run.attempts, int(s), 99) for s in answered},
        "goodput_per_s": run.goodput(),
        "goodput_share": run.goodput() / capacity,
        "peak_rss_mb": servers.peak_rss_bytes(server.pid) / MB,
        "lagging_starts": run.lagging(),
        "loadgen_cpu_share": run.loadgen_cpu_s / run.seconds,
    }


def tall_png(height: int) -> bytes:
    """Return a black PNG 1 pixel wide and `height` tall: ~2 KB per million rows compressed."""
    out = io.BytesIO()
    Image.new("L", (1, height)).save(out, "PNG", compress_level=9)
    return out.getvalue()


def tiny_items_batch(body_bytes: int) -> tuple[bytes, int]:
    """Return a batch body of about `body_bytes` of `{"text":"a"}` items, and how many items it holds."""
    item = b'{"text":"a"}'
    count = max(1, (body_bytes - len(b'{"items":[]}')) // (len(item) + 1))
    return b'{"items":[' + b",".join(itertools.repeat(item, count)) + b"]}", count


def measure_hostile(model_dir: Path, path: str, body: bytes, profile: Profile) -> dict[str, Any]:
    """Send one hostile body to a fresh server: its status, and its peak RSS over the RSS before."""
    import psutil

    with servers.running("service", model_dir) as server:
        before = psutil.Process(server.pid).memory_info().rss
        request = loadgen.build_request(HOST, server.port, path, body)
        answer = asyncio.run(attempt(request, server.port, profile.answer_timeout_s))
        time.sleep(0.5)  # work the server goes on with after answering (a thread still decoding) counts
        peak = servers.peak_rss_bytes(server.pid)
        alive = psutil.Process(server.pid).status() != psutil.STATUS_ZOMBIE
    return {
        "body_kb": len(body) / 1024,
        "status": answer.status,
        "failure": answer.failure,
        "latency_ms": answer.latency_s * 1000,
        "rss_before_mb": before / MB,
        "peak_rss_mb": peak / MB,
        "rss_increase_mb": (peak - before) / MB,
        "server_alive": alive,
    }


async def wait_exit(pid: int, timeout_s: float) -> tuple[float | None, str | None]:
    """Wait for the child `pid` to exit without reaping it; return the seconds it took and how it ended."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    while loop.time() - start < timeout_s:
        try:
            info = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:  # already reaped elsewhere: it is gone, how is unknown
            return loop.time() - start, None
        if info is not None:
            how = "exit" if info.si_code == os.CLD_EXITED else "signal"
            return loop.time() - start, f"{how} {info.si_status}"
        await asyncio.sleep(0.01)
    return None, None


async def _load_then_sigterm(
    server: servers.Server, bodies: Sequence[bytes], rate: float, profile: Profile
) -> tuple[OpenLoopRun, float, float | None, str | None]:
    loop = asyncio.get_running_loop()
    seconds = profile.sigterm_after_s + profile.after_sigterm_s
    load = asyncio.create_task(
        open_loop(
            classify_requests(server.port, bodies), server.port, rate, seconds, profile.answer_timeout_s
        )
    )
    await asyncio.sleep(profile.sigterm_after_s + 0.05)  # the open loop's first slot is 50 ms in
    signalled = loop.time()
    os.kill(server.pid, signal.SIGTERM)
    exit_s, ending = await wait_exit(server.pid, profile.exit_wait_s)
    return await load, signalled, exit_s, ending


def measure_sigterm(
    model_dir: Path, bodies: Sequence[bytes], rate: float, profile: Profile
) -> dict[str, Any]:
    """SIGTERM a fresh server under the open loop: who got no answer, and how long the exit took."""
    with servers.running("service", model_dir) as server:
        run, signalled, exit_s, ending = asyncio.run(_load_then_sigterm(server, bodies, rate, profile))
    before = [a for a in run.attempts if a.started_s < signalled]
    after = [a for a in run.attempts if a.started_s >= signalled]
    return {
        "offered_per_s": rate,
        "sigterm_after_s": profile.sigterm_after_s,
        "started_before": len(before),
        "statuses_before": statuses(before),
        "unanswered_before": sum(a.status is None for a in before),
        "unanswered_before_by_reason": failures(before),
        "started_after": len(after),
        "statuses_after": statuses(after),
        "unanswered_after_by_reason": failures(after),
        "exit_s": exit_s,
        "exit": ending,
    }


def run(model_dir: Path, profile: Profile, report: Callable[[str, dict[str, Any]], None]) -> dict[str, Any]:
    """Run every phase, passing each phase's figures to `report` as they come; return them all."""
    bodies = [call.body() for call in workload.calls(profile.requests)]
    figures: dict[str, Any] = {"model": str(model_dir), "profile": asdict(profile)}

    def phase(name: str, values: dict[str, Any]) -> None:
        figures[name] = values
        report(name, values)

    with servers.running("service", model_dir) as server:
        phase("capacity", measure_capacity(server, bodies, profile))
        capacity = figures["capacity"]["requests_per_s"]
        if capacity <= 0:
            raise RuntimeError(f"no request succeeded at saturation: {figures['capacity']['statuses']}")
        phase("overload", measure_overload(server, bodies, capacity, profile))
    png = tall_png(profile.png_height)
    body = json.dumps({"image": base64.b64encode(png).decode("ascii")}).encode()
    png_figures = {"pixels": f"1x{profile.png_height}", "png_kb": len(png) / 1024}
    phase("hostile_png", png_figures | measure_hostile(model_dir, bench.CLASSIFY, body, profile))
    batch, items = tiny_items_batch(profile.batch_body_bytes)
    phase("hostile_batch", {"items": items} | measure_hostile(model_dir, BATCH, batch, profile))
    phase("sigterm", measure_sigterm(model_dir, bodies, profile.overload_factor * capacity, profile))
    figures["targets"] = {
        f"{name}.{figure}": {
            "value": figures[name][figure],
            "target": text,
            "met": _met(figures[name][figure], meets),
        }
        for (name, figure), (text, meets) in TARGETS.items()
    }
    return figures


def _met(value: float | None, meets: Callable[[float], bool]) -> bool | None:
    return None if value is None else meets(value)


def phase_lines(name: str, values: dict[str, Any]) -> list[str]:
    """One line per figure of a phase, its target beside it where it has one."""
    lines = []
    for figure, value in values.items():
        line = f"{name:<14} {figure:<28} {_show(value):>14}"
        if (name, figure) in TARGETS:
            text, meets = TARGETS[(name, figure)]
            met = _met(value, meets)
            line += f"   target {text:<8} {'n/a' if met is None else 'ok' if met else 'MISSED'}"
        lines.append(line)
    return lines


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_show(v)}" for k, v in value.items()) or "-"
    if isinstance(value, float):
        return f"{value:.2f}" if abs(value) < 100 else f"{value:.0f}"
    return "-" if value is None else str(value)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python loadtests/overload.py", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="short phases (about a minute)")
    parser.add_argument("--json", type=Path, dest="json_out", help="write the figures here")
    parser.add_argument(
        "--model", type=Path, default=SHIPPED_MODEL_DIR, help="model bundle (default: the shipped one)"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()

    def report(name: str, values: dict[str, Any]) -> None:
        print("\n".join(phase_lines(name, values)), flush=True)

    figures = run(args.model, QUICK if args.quick else FULL, report)
    figures["seconds"] = time.perf_counter() - started
    if args.json_out:
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        args.json_out.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
