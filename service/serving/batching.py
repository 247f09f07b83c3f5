"""Dynamic batching: a bounded asyncio queue of prepared items, batched whenever the engine is free.

The batcher sees arrays only (rule 6). Inference runs in worker threads so the event loop never blocks.
Guarantees: a request whose deadline passed while queued never runs and gets DeadlineExceeded; a batch
that raises fails exactly its own futures; a full queue raises QueueFull at once; `stop()` drains.
Times come from time.monotonic(), not loop.time(): uvloop's clock ticks in whole milliseconds.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

from service.errors import DeadlineExceeded, InferenceFailed, QueueFull, ShuttingDown
from service.policy.rules import ModelScores
from service.serving.engine import Batch, BatchScores, Engine
from service.serving.inputs import PreparedItem
from service.taxonomy import CATEGORIES

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Scored:
    """An item's scores and where its time went."""

    scores: ModelScores
    queue_s: float
    inference_s: float
    batch_size: int


class BatchStats(Protocol):
    """Where the batcher reports what it did (the metrics module implements it)."""

    def batch_done(self, size: int, inference_s: float) -> None: ...

    def batch_failed(self, size: int) -> None: ...

    def item_started(self, queue_s: float) -> None: ...

    def item_expired(self, queue_s: float) -> None: ...


class _NoStats:
    def batch_done(self, size: int, inference_s: float) -> None:
        pass

    def batch_failed(self, size: int) -> None:
        pass

    def item_started(self, queue_s: float) -> None:
        pass

    def item_expired(self, queue_s: float) -> None:
        pass


@dataclass(eq=False)
class Pending:
    """A queued item and the future its caller awaits."""

    item: PreparedItem
    future: asyncio.Future[Scored]
    enqueued: float
    deadline: float
    started: bool = field(default=False)


def collate(items: Sequence[PreparedItem], image_size: int, absent_ids: npt.NDArray[np.int64]) -> Batch:
    """Stack items into one batch: black images for missing ones, texts padded with 0 to the longest."""
    texts = [item.input_ids if item.input_ids is not None else absent_ids for item in items]
    seq = max(len(ids) for ids in texts)
    input_ids = np.zeros((len(items), seq), dtype=np.int64)  # (B, T)
    attention_mask = np.zeros((len(items), seq), dtype=np.int64)  # (B, T)
    pixels = np.zeros((len(items), image_size, image_size, 3), dtype=np.uint8)  # (B, H, W, 3)
    present = np.zeros((len(items), 2), dtype=np.float32)  # (B, 2)
    for row, (item, ids) in enumerate(zip(items, texts, strict=True)):
        input_ids[row, : len(ids)] = ids
        attention_mask[row, : len(ids)] = 1
        if item.pixels is not None:
            pixels[row] = item.pixels
            present[row, 0] = 1.0
        if item.input_ids is not None:
            present[row, 1] = 1.0
    return Batch(pixels, input_ids, attention_mask, present)


def split(scores: BatchScores, batch: Batch) -> list[ModelScores]:
    """Cut batch outputs into per-item scores; a modality an item lacks is None (the graph scores it too)."""
    size = len(batch.present)
    arrays = (scores.image, scores.text, scores.joint, scores.categories)
    if any(a.ndim != 2 or a.shape[0] != size for a in arrays):
        raise ValueError(f"engine returned shapes {[a.shape for a in arrays]} for a batch of {size}")

    def triple(row: npt.NDArray[np.float32]) -> tuple[float, float, float]:
        return float(row[0]), float(row[1]), float(row[2])

    return [
        ModelScores(
            image=triple(scores.image[i]) if batch.present[i, 0] else None,
            text=triple(scores.text[i]) if batch.present[i, 1] else None,
            joint=triple(scores.joint[i]),
            # the manifest's categories are the taxonomy's, in order (serving/bundle checks it)
            categories=dict(zip(CATEGORIES, (float(x) for x in scores.categories[i]), strict=True)),
        )
        for i in range(size)
    ]


class Batcher:
    """Queue prepared items, run them in batches on the engine, resolve each item's future."""

    def __init__(
        self,
        engine: Engine,
        *,
        image_size: int,
        absent_ids: npt.NDArray[np.int64],
        max_batch_size: int = 32,
        max_wait_s: float = 0.0,
        queue_size: int = 512,
        workers: int = 1,
        retry_after_s: int = 1,
        stats: BatchStats | None = None,
    ) -> None:
        self._engine = engine
        self._image_size = image_size
        self._absent_ids = absent_ids
        self._max_batch_size = max_batch_size
        self._max_wait_s = max_wait_s
        self._workers = workers
        self._retry_after_s = retry_after_s
        self._stats: BatchStats = stats or _NoStats()
        self._queue: asyncio.Queue[Pending] = asyncio.Queue(maxsize=queue_size)
        self._tasks: list[asyncio.Task[None]] = []
        self._executor: ThreadPoolExecutor | None = None
        self._in_flight = 0
        self._gathering = 0  # workers holding items off the queue while they wait for a fuller batch
        self._closed = False

    @property
    def depth(self) -> int:
        """Items waiting in the queue (not yet in a batch)."""
        return self._queue.qsize()

    @property
    def in_flight(self) -> int:
        """Items in batches that are running now."""
        return self._in_flight

    async def start(self) -> None:
        """Start the batch workers (one inference thread each)."""
        self._executor = ThreadPoolExecutor(self._workers, thread_name_prefix="inference")
        self._tasks = [asyncio.create_task(self._work(), name=f"batcher-{i}") for i in range(self._workers)]

    def submit(self, items: Sequence[PreparedItem], timeout_s: float) -> list[Pending]:
        """Queue all items or none: raise QueueFull when they do not all fit."""
        if self._closed:
            raise ShuttingDown("the service is shutting down")
        free = self._queue.maxsize - self._queue.qsize()
        if len(items) > free:
            raise QueueFull(
                f"the queue is full ({self._queue.maxsize} items); retry later",
                retry_after_s=self._retry_after_s,
            )
        loop = asyncio.get_running_loop()
        now = time.monotonic()
        pending = [Pending(item, loop.create_future(), now, now + timeout_s) for item in items]
        for p in pending:
            self._queue.put_nowait(p)
        return pending

    async def result(self, pending: Pending) -> Scored:
        """Await one item; DeadlineExceeded if its deadline passes before its batch starts."""
        remaining = pending.deadline - time.monotonic()
        try:
            done, _ = await asyncio.wait({pending.future}, timeout=max(remaining, 0.0))
        except asyncio.CancelledError:  # the caller is gone (the server's shutdown): skip its item
            pending.future.cancel()
            raise
        if not done and not pending.started:
            pending.future.cancel()  # the worker skips cancelled items: it never runs
            self._stats.item_expired(time.monotonic() - pending.enqueued)
            raise DeadlineExceeded("the request's deadline passed while it was queued")
        return await pending.future

    async def score(self, item: PreparedItem, timeout_s: float) -> Scored:
        """Queue one item and await its scores."""
        (pending,) = self.submit([item], timeout_s)
        return await self.result(pending)

    async def stop(self, grace_s: float = 10.0) -> None:
        """Refuse new items, let queued and running batches finish (up to grace_s), then stop."""
        self._closed = True
        end = time.monotonic() + grace_s
        while (self._queue.qsize() or self._gathering or self._in_flight) and time.monotonic() < end:
            await asyncio.sleep(0.005)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        while not self._queue.empty():
            p = self._queue.get_nowait()
            if not p.future.done():
                p.future.set_exception(ShuttingDown("the service stopped before this request ran"))
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)

    async def _work(self) -> None:
        while True:
            batch = [await self._queue.get()]
            try:
                self._gathering += 1
                try:
                    await self._gather(batch)
                finally:
                    self._gathering -= 1
                await self._run(batch)
            except asyncio.CancelledError:  # stop() while this batch was being gathered: answer it
                for p in batch:
                    if not p.future.done():
                        p.future.set_exception(ShuttingDown("the service stopped before this request ran"))
                raise

    async def _gather(self, batch: list[Pending]) -> None:
        """Add what is queued, then (with a batching wait) what arrives until the wait ends or it is full."""
        self._take_ready(batch)
        if self._max_wait_s > 0:
            until = time.monotonic() + self._max_wait_s
            while len(batch) < self._max_batch_size and (left := until - time.monotonic()) > 0:
                try:
                    batch.append(await asyncio.wait_for(self._queue.get(), left))
                except TimeoutError:
                    break
                self._take_ready(batch)

    def _take_ready(self, batch: list[Pending]) -> None:
        while len(batch) < self._max_batch_size and not self._queue.empty():
            batch.append(self._queue.get_nowait())

    async def _run(self, batch: list[Pending]) -> None:
        loop = asyncio.get_running_loop()
        now = time.monotonic()
        live = []
        for p in batch:
            if p.future.done():  # its caller gave up (deadline)
                continue
            if now > p.deadline:
                self._stats.item_expired(now - p.enqueued)
                p.future.set_exception(DeadlineExceeded("the request's deadline passed while it was queued"))
                continue
            p.started = True
            self._stats.item_started(now - p.enqueued)
            live.append(p)
        if not live:
            return
        items = [p.item for p in live]
        self._in_flight += len(live)
        try:
            rows = await loop.run_in_executor(self._executor, self._infer, items)
        except asyncio.CancelledError:
            _fail(live, lambda: ShuttingDown("the service stopped while this request's batch ran"))
            raise
        except Exception as exc:
            log.exception("batch of %d failed", len(live))
            self._stats.batch_failed(len(live))
            reason = type(exc).__name__
            _fail(live, lambda: InferenceFailed(f"inference failed for this request's batch ({reason})"))
            return
        finally:
            self._in_flight -= len(live)
        inference_s = time.monotonic() - now
        self._stats.batch_done(len(live), inference_s)
        for p, row in zip(live, rows, strict=True):
            if not p.future.done():
                p.future.set_result(Scored(row, now - p.enqueued, inference_s, len(live)))

    def _infer(self, items: list[PreparedItem]) -> list[ModelScores]:
        batch = collate(items, self._image_size, self._absent_ids)
        return split(self._engine.run(batch), batch)


def _fail(pending: Sequence[Pending], error: Callable[[], Exception]) -> None:
    for p in pending:
        if not p.future.done():
            p.future.set_exception(error())
