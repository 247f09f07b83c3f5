"""A lean HTTP/1.1 load generator on raw asyncio streams (keep-alive, pre-built requests).

Cheaper per request than an HTTP client library, so on a small machine the generator takes a small
share of the CPU the server needs; the bench measures that share and the rate it reaches against a
trivial endpoint. Closed loop: N clients, each sends its next request when the last one answered.
Open loop: requests start on a fixed schedule whatever the server does, and latency is counted from
the scheduled start, so a slow server cannot hide its queueing (no coordinated omission).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field


def build_request(host: str, port: int, path: str, body: bytes) -> bytes:
    """Return the bytes of one keep-alive JSON POST."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("ascii") + body


class Connection:
    """One keep-alive connection that sends a request and reads its whole response."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        reader, writer = await asyncio.open_connection(host, port, limit=1 << 20)
        return cls(reader, writer)

    async def send(self, request: bytes) -> int:
        """Send one request; return the response status."""
        self._writer.write(request)
        head = await self._reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if length:
            await self._reader.readexactly(length)
        return status

    def close(self) -> None:
        self._writer.close()


@dataclass
class LoadResult:
    """What one load phase measured; latencies are of successful (2xx) requests only."""

    elapsed_s: float
    latencies_s: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    loadgen_cpu_s: float = 0.0  # CPU time the generator's own process used during the phase
    lagging: int = 0  # open loop: requests that started over 10 ms after their slot (generator too slow)

    @property
    def ok(self) -> int:
        return len(self.latencies_s)

    @property
    def throughput(self) -> float:
        """Successful requests per second."""
        return self.ok / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if not 200 <= status < 300)

    def percentile_ms(self, q: float) -> float:
        """Latency percentile (0-100) in ms, nearest rank; NaN without samples."""
        if not self.latencies_s:
            return float("nan")
        ordered = sorted(self.latencies_s)
        rank = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
        return ordered[rank] * 1000

    @property
    def loadgen_cpu_share(self) -> float:
        """The generator's CPU time over the phase's wall time (1.0 = one core busy)."""
        return self.loadgen_cpu_s / self.elapsed_s if self.elapsed_s > 0 else 0.0


async def closed_loop(
    host: str, port: int, requests: Sequence[bytes], clients: int, seconds: float, warmup_s: float = 0.0
) -> LoadResult:
    """Run `clients` connections back to back for warmup_s (not counted) plus `seconds`."""
    connections = [await Connection.open(host, port) for _ in range(clients)]
    loop = asyncio.get_running_loop()
    start = loop.time() + warmup_s
    end = start + seconds
    result = LoadResult(elapsed_s=seconds)

    async def client(index: int) -> None:
        conn = connections[index]
        for request in itertools.islice(itertools.cycle(requests), index, None):
            sent = loop.time()
            if sent >= end:
                return
            status = await conn.send(request)
            if sent >= start:
                _record(result, status, loop.time() - sent)

    tasks = [asyncio.create_task(client(i)) for i in range(clients)]
    await asyncio.sleep(max(0.0, start - loop.time()))
    cpu = time.process_time()
    await asyncio.gather(*tasks)
    result.elapsed_s = loop.time() - start  # requests sent before `end` are counted when they finish
    result.loadgen_cpu_s = time.process_time() - cpu
    for conn in connections:
        conn.close()
    return result


async def open_loop(
    host: str, port: int, requests: Sequence[bytes], rate: float, seconds: float, connections: int = 128
) -> LoadResult:
    """Start `rate` requests per second on a fixed schedule for `seconds`; latency counts from the slot.

    Up to `connections` keep-alive connections, opened when needed and reused most recently used first:
    opened all at the start, those used last sat idle past the server's keep-alive timeout (uvicorn's 5 s)
    at low rates, and the server had closed them before their first request.
    """
    idle: list[Connection] = []
    free = asyncio.Semaphore(connections)
    loop = asyncio.get_running_loop()
    result = LoadResult(elapsed_s=seconds)
    count = max(1, int(rate * seconds))

    async def one(request: bytes, slot: float) -> None:
        async with free:  # waiting for a free connection counts: the slot has passed
            conn = idle.pop() if idle else await Connection.open(host, port)
            try:
                _record(result, await conn.send(request), loop.time() - slot)
            finally:
                idle.append(conn)

    cpu = time.process_time()
    t0 = loop.time() + 0.05
    tasks = []
    for i, request in zip(range(count), itertools.cycle(requests), strict=False):
        slot = t0 + i / rate
        if (wait := slot - loop.time()) > 0:
            await asyncio.sleep(wait)
        elif wait < -0.01:
            result.lagging += 1
        tasks.append(asyncio.create_task(one(request, slot)))
    await asyncio.gather(*tasks)
    result.elapsed_s = loop.time() - t0
    result.loadgen_cpu_s = time.process_time() - cpu
    for conn in idle:
        conn.close()
    return result


def _record(result: LoadResult, status: int, latency_s: float) -> None:
    result.statuses[status] += 1
    if 200 <= status < 300:
        result.latencies_s.append(latency_s)
