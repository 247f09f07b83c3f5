"""Dynamic batching: a bounded queue of prepared items, batched whenever the engine is free.

The batcher sees arrays only (rule 6). Inference runs in worker threads so the event loop never blocks.
Guarantees: a request whose deadline passed while queued never runs and gets DeadlineExceeded; a batch
that raises fails exactly its own futures; a full queue raises QueueFull at once; `stop()` drains.
Times come from time.monotonic(), not loop.time(): uvloop's clock ticks in whole milliseconds.

Limits count engine rows, not items: an item takes one row per text window (one for a short text or an
image alone), so `queue_size` bounds the rows waiting and `max_batch_size` the rows of a batch. An item
is never split across batches: one with more rows than max_batch_size runs alone, as one oversized
batch (the engine cuts it further: CUDA into bucket-sized chunks, CPU into length groups).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
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
    batch_size: int  # rows of the item's batch (one per text window)


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

    @property
    def rows(self) -> int:
        return self.item.rows


Row = tuple[npt.NDArray[np.uint8] | None, npt.NDArray[np.int64] | None]  # (pixels, input_ids) of one row
Triple = tuple[float, float, float]  # a reading's (safe, borderline, unsafe)


def collate(items: Sequence[PreparedItem], image_size: int, absent_ids: npt.NDArray[np.int64]) -> Batch:
    """Stack items into one batch, one row each (a long text's first window only; collate_windows reads
    them all): black images for missing ones, texts padded with 0 to the longest."""
    return _collate_rows([(item.pixels, item.input_ids) for item in items], image_size, absent_ids)


def collate_windows(
    items: Sequence[PreparedItem], image_size: int, absent_ids: npt.NDArray[np.int64]
) -> Batch:
    """Stack items into one batch of `item.rows` rows each: a row per text window, each with the item's
    image (and with text read in the image, its rows: PreparedItem.row_inputs), in the items' order
    (split_windows reads them back)."""
    rows = [row for item in items for row in item.row_inputs()]
    return _collate_rows(rows, image_size, absent_ids)


def _collate_rows(rows: Sequence[Row], image_size: int, absent_ids: npt.NDArray[np.int64]) -> Batch:
    texts = [ids if ids is not None else absent_ids for _, ids in rows]
    seq = max(len(ids) for ids in texts)
    input_ids = np.zeros((len(rows), seq), dtype=np.int64)  # (B, T)
    attention_mask = np.zeros((len(rows), seq), dtype=np.int64)  # (B, T)
    pixels = np.zeros((len(rows), image_size, image_size, 3), dtype=np.uint8)  # (B, H, W, 3)
    present = np.zeros((len(rows), 2), dtype=np.float32)  # (B, 2)
    for row, ((image, given), ids) in enumerate(zip(rows, texts, strict=True)):
        input_ids[row, : len(ids)] = ids
        attention_mask[row, : len(ids)] = 1
        if image is not None:
            pixels[row] = image
            present[row, 0] = 1.0
        if given is not None:
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


def combine_windows(windows: Sequence[ModelScores]) -> ModelScores:
    """Read a text's windows as one item, by its most severe window.

    - joint: the scores of the window with the highest joint p_unsafe;
    - text: the scores of the window with the highest text p_unsafe;
    - each category: its highest score over the windows (they may come from different windows);
    - image: the first window's (the image is the same in every window).
    Ties go to the earliest window. One window is returned as it is: a short text reads as before.
    The result records how many windows there were and which the text and joint readings come from.
    """
    if len(windows) == 1:
        return windows[0]
    first = windows[0]
    texts = [(i, w.text) for i, w in enumerate(windows) if w.text is not None]
    text_window, text = max(texts, key=lambda t: t[1][2]) if texts else (0, None)  # the first of equals
    joint_window = max(range(len(windows)), key=lambda i: windows[i].joint[2])
    return ModelScores(
        image=first.image,
        text=text,
        joint=windows[joint_window].joint,
        categories={slug: max(w.categories[slug] for w in windows) for slug in first.categories},
        windows=len(windows),
        text_window=text_window,
        joint_window=joint_window,
    )


def split_windows(scores: BatchScores, batch: Batch, items: Sequence[PreparedItem]) -> list[ModelScores]:
    """Cut the outputs of a collate_windows batch into per-item scores (combine_rows over its rows)."""
    rows = split(scores, batch)
    if len(rows) == len(items):  # one row each: no window to combine (text read in an image takes two)
        return rows
    out, start = [], 0
    for item in items:
        out.append(combine_rows(item, rows[start : start + item.rows]))
        start += item.rows
    return out


def more_severe(a: Triple, b: Triple) -> Triple:
    """Return the reading at least as severe as both `a` and `b` under any thresholds: the larger p_unsafe,
    the larger p_borderline + p_unsafe (the grade rule's two tests, policy/rules.py), the rest safe."""
    unsafe = max(a[2], b[2])
    at_least_borderline = max(a[1] + a[2], b[1] + b[2])
    return 1.0 - at_least_borderline, at_least_borderline - unsafe, unsafe


def combine_rows(item: PreparedItem, rows: Sequence[ModelScores]) -> ModelScores:
    """Read an item's rows (PreparedItem.row_inputs) as its scores.

    Without text read in its image: combine_windows. With it (the text belongs to the image):
    - image: the more severe (more_severe) of the pixels' reading and the image's text read alone;
    - joint and categories: the joint rows' (the image beside the item's text and the image's text);
    - text: the item's own text alone (None without one), so `modalities.text` stays the user's text.
    """
    extra = item.image_text_rows
    if extra is None:
        return combine_windows(rows)
    n_joint, n_alone = len(extra.joint), len(extra.alone)
    joint = combine_windows(rows[:n_joint])
    image_text = combine_windows(rows[n_joint : n_joint + n_alone]).text
    own = combine_windows(rows[n_joint + n_alone :]) if len(rows) > n_joint + n_alone else None
    pixels = joint.image
    assert pixels is not None and image_text is not None  # rows with an image, rows with a text
    return ModelScores(
        image=more_severe(pixels, image_text),
        text=None if own is None else own.text,
        joint=joint.joint,
        categories=joint.categories,
        windows=max(joint.windows, 1 if own is None else own.windows),  # the joint text has the most
        text_window=0 if own is None else own.text_window,
        joint_window=joint.joint_window,
    )


def score_items(
    engine: Engine, items: Sequence[PreparedItem], image_size: int, absent_ids: npt.NDArray[np.int64]
) -> list[ModelScores]:
    """Run items as one batch, every text window a row, and return each item's combined scores."""
    batch = collate_windows(items, image_size, absent_ids)
    return split_windows(engine.run(batch), batch, items)


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
        self._queue_size = queue_size  # rows
        self._waiting: deque[Pending] = deque()
        self._waiting_rows = 0
        self._arrived = asyncio.Event()  # set when items are queued; workers clear it before they wait
        self._tasks: list[asyncio.Task[None]] = []
        self._executor: ThreadPoolExecutor | None = None
        self._in_flight = 0  # rows
        self._gathering = 0  # workers holding items off the queue while they wait for a fuller batch
        self._closed = False

    @property
    def depth(self) -> int:
        """Rows waiting in the queue, not yet in a batch (one per text window; an item without a long
        text is one row)."""
        return self._waiting_rows

    @property
    def in_flight(self) -> int:
        """Rows in batches that are running now."""
        return self._in_flight

    async def start(self) -> None:
        """Start the batch workers (one inference thread each)."""
        self._executor = ThreadPoolExecutor(self._workers, thread_name_prefix="inference")
        self._tasks = [asyncio.create_task(self._work(), name=f"batcher-{i}") for i in range(self._workers)]

    def submit(self, items: Sequence[PreparedItem], timeout_s: float) -> list[Pending]:
        """Queue all items or none: raise QueueFull when their rows do not all fit.

        Rows more than the whole queue holds (a batch request of long texts) are queued when the queue
        is empty, so they wait for it to drain instead of being refused for ever.
        """
        if self._closed:
            raise ShuttingDown("the service is shutting down")
        rows = sum(item.rows for item in items)
        free = self._queue_size - self._waiting_rows
        if min(rows, self._queue_size) > free:
            raise QueueFull(
                f"the queue is full ({self._queue_size} rows: one per item, or per window of a long "
                "text); retry later",
                retry_after_s=self._retry_after_s,
            )
        loop = asyncio.get_running_loop()
        now = time.monotonic()
        pending = [Pending(item, loop.create_future(), now, now + timeout_s) for item in items]
        self._waiting.extend(pending)
        self._waiting_rows += rows
        if pending:
            self._arrived.set()
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
        while (self._waiting or self._gathering or self._in_flight) and time.monotonic() < end:
            await asyncio.sleep(0.005)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        while self._waiting:
            p = self._pop()
            if not p.future.done():
                p.future.set_exception(ShuttingDown("the service stopped before this request ran"))
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)

    def _pop(self) -> Pending:
        p = self._waiting.popleft()
        self._waiting_rows -= p.rows
        return p

    async def _next(self) -> Pending:
        """Take the oldest queued item, waiting for one."""
        while not self._waiting:
            self._arrived.clear()
            await self._arrived.wait()
        return self._pop()

    async def _arrival(self, timeout_s: float) -> bool:
        """Wait (with the queue empty) until items are queued or timeout_s passes; False on the timeout."""
        self._arrived.clear()
        try:
            await asyncio.wait_for(self._arrived.wait(), timeout_s)
        except TimeoutError:
            return False
        return True

    async def _work(self) -> None:
        while True:
            batch = [await self._next()]
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
        """Add what is queued, then (with a batching wait) what arrives until the wait ends or it is full.

        Items join in queue order while their rows fit in max_batch_size; the first item always runs,
        alone when it has more rows than that.
        """
        rows = self._take_ready(batch, batch[0].rows)
        if self._max_wait_s > 0:
            until = time.monotonic() + self._max_wait_s
            # an item still queued after _take_ready does not fit: the batch is as full as it gets
            while rows < self._max_batch_size and not self._waiting:
                left = until - time.monotonic()
                if left <= 0 or not await self._arrival(left):
                    break
                rows = self._take_ready(batch, rows)

    def _take_ready(self, batch: list[Pending], rows: int) -> int:
        while self._waiting and (
            self._waiting[0].future.done() or rows + self._waiting[0].rows <= self._max_batch_size
        ):
            p = self._pop()
            if p.future.done():  # its caller gave up (deadline, cancelled): it takes no room
                continue
            batch.append(p)
            rows += p.rows
        return rows

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
        rows = sum(item.rows for item in items)
        self._in_flight += rows
        try:
            scores = await loop.run_in_executor(self._executor, self._infer, items)
        except asyncio.CancelledError:
            _fail(live, lambda: ShuttingDown("the service stopped while this request's batch ran"))
            raise
        except Exception as exc:
            log.exception("batch of %d failed (%d rows)", len(live), rows)
            self._stats.batch_failed(rows)
            reason = type(exc).__name__
            _fail(live, lambda: InferenceFailed(f"inference failed for this request's batch ({reason})"))
            return
        finally:
            self._in_flight -= rows
        inference_s = time.monotonic() - now
        self._stats.batch_done(rows, inference_s)
        for p, item_scores in zip(live, scores, strict=True):
            if not p.future.done():
                p.future.set_result(Scored(item_scores, now - p.enqueued, inference_s, rows))

    def _infer(self, items: list[PreparedItem]) -> list[ModelScores]:
        return score_items(self._engine, items, self._image_size, self._absent_ids)


def _fail(pending: Sequence[Pending], error: Callable[[], Exception]) -> None:
    for p in pending:
        if not p.future.done():
            p.future.set_exception(error())
