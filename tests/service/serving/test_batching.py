"""The batcher: batching, padding, deadlines, failures, back-pressure and shutdown."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import numpy as np
import pytest

from service.errors import DeadlineExceeded, InferenceFailed, QueueFull, ShuttingDown
from service.serving.batching import Batcher, collate
from service.serving.inputs import PreparedItem
from tests.service.fakes import FakeEngine

pytestmark = pytest.mark.anyio

SIZE = 8
ABSENT = np.array([2, 3], dtype=np.int64)


def text_item(n_tokens: int) -> PreparedItem:
    ids = np.array([2, *range(10, 10 + n_tokens - 2), 3], dtype=np.int64)
    return PreparedItem(None, ids, False, "0" * 16)


def image_item(value: int) -> PreparedItem:
    return PreparedItem(np.full((SIZE, SIZE, 3), value, np.uint8), None, False, "0" * 16)


def make_batcher(engine: FakeEngine, **kwargs: object) -> Batcher:
    return Batcher(engine, image_size=SIZE, absent_ids=ABSENT, **kwargs)  # type: ignore[arg-type]


async def wait_until(check: object, timeout_s: float = 5.0) -> None:
    assert callable(check)
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout_s
    while not check():
        assert loop.time() < end, "condition not reached"
        await asyncio.sleep(0.002)


async def held(
    engine: FakeEngine, timeout_s: float = 5, **kwargs: object
) -> tuple[Batcher, asyncio.Future[Any]]:
    """Start a batcher whose engine is held (gate closed) inside a first run of one item."""
    engine.gate.clear()
    batcher = make_batcher(engine, **kwargs)
    await batcher.start()
    first = asyncio.ensure_future(batcher.score(text_item(3), timeout_s))
    await wait_until(lambda: engine.runs_started == 1)
    return batcher, first


def test_collate_pads_to_the_longest_text_and_fills_absent_modalities() -> None:
    batch = collate([text_item(4), image_item(255), text_item(6)], SIZE, ABSENT)
    assert batch.input_ids.shape == (3, 6) and batch.pixels.shape == (3, SIZE, SIZE, 3)
    assert batch.attention_mask.sum(axis=1).tolist() == [4, 2, 6]
    assert batch.input_ids[1].tolist() == [2, 3, 0, 0, 0, 0]  # absent text: [CLS] [SEP], padded with 0
    assert batch.present.tolist() == [[0, 1], [1, 0], [0, 1]]
    assert batch.pixels[0].max() == 0 and batch.pixels[1].min() == 255


async def test_items_queued_while_the_engine_is_busy_form_one_batch() -> None:
    engine = FakeEngine()
    batcher, first = await held(engine, max_batch_size=4)
    rest = [asyncio.ensure_future(batcher.score(text_item(3 + i), 5)) for i in range(6)]
    await wait_until(lambda: batcher.depth == 6)
    engine.gate.set()
    results = await asyncio.gather(first, *rest)
    assert engine.batch_sizes == [1, 4, 2]
    assert [r.batch_size for r in results] == [1, 4, 4, 4, 4, 2, 2]
    assert all(r.queue_s >= 0 and r.inference_s >= 0 for r in results)
    await batcher.stop()


async def test_max_wait_collects_a_fuller_batch() -> None:
    engine = FakeEngine()
    batcher = make_batcher(engine, max_batch_size=8, max_wait_s=0.2)
    await batcher.start()

    async def later(i: int) -> object:
        await asyncio.sleep(0.01 * i)
        return await batcher.score(image_item(i), 5)

    await asyncio.gather(*(later(i) for i in range(4)))
    assert engine.batch_sizes == [4]
    await batcher.stop()


async def test_a_failing_batch_fails_exactly_its_own_items() -> None:
    engine = FakeEngine()
    batcher, ok = await held(engine, max_batch_size=8)
    engine.fail_next = 1
    doomed = [asyncio.ensure_future(batcher.score(text_item(3), 5)) for _ in range(3)]
    await wait_until(lambda: batcher.depth == 3)
    engine.gate.set()
    assert (await ok).batch_size == 1
    for fut in doomed:
        with pytest.raises(InferenceFailed):
            await fut
    assert (await batcher.score(text_item(3), 5)).batch_size == 1  # the batcher keeps serving
    await batcher.stop()


async def test_a_wrong_engine_output_shape_fails_the_batch_not_the_caller() -> None:
    engine = FakeEngine(n_categories=15)
    original = engine.run
    engine.run = lambda batch: original(collate([image_item(0)] * 5, SIZE, ABSENT))  # type: ignore[method-assign]
    batcher = make_batcher(engine)
    await batcher.start()
    with pytest.raises(InferenceFailed):
        await batcher.score(image_item(0), 5)
    await batcher.stop()


async def test_a_request_whose_deadline_passes_in_the_queue_never_runs() -> None:
    engine = FakeEngine()
    batcher, running = await held(engine, timeout_s=0.05)
    with pytest.raises(DeadlineExceeded):
        await batcher.score(text_item(3), 0.05)
    engine.gate.set()
    assert (await running).batch_size == 1  # already running: past its deadline but not cut off
    await batcher.score(text_item(3), 5)
    assert engine.batch_sizes == [1, 1]  # the expired item was never in a batch
    await batcher.stop()


class QueueTimes:
    """BatchStats that keeps each item's wait in the queue, as the metrics' histogram observes it."""

    def __init__(self) -> None:
        self.started: list[float] = []
        self.expired: list[float] = []

    def batch_done(self, size: int, inference_s: float) -> None:
        pass

    def batch_failed(self, size: int) -> None:
        pass

    def item_started(self, queue_s: float) -> None:
        self.started.append(queue_s)

    def item_expired(self, queue_s: float) -> None:
        self.expired.append(queue_s)


async def test_queue_times_count_the_items_that_expired_waiting() -> None:
    """Under overload the longest waits end in a 504: a queue figure without them would look healthy."""
    engine = FakeEngine()
    times = QueueTimes()
    batcher, running = await held(engine, timeout_s=5, stats=times)
    with pytest.raises(DeadlineExceeded):
        await batcher.score(text_item(3), 0.05)
    engine.gate.set()
    await running
    await batcher.score(text_item(3), 5)
    assert len(times.started) == 2 and len(times.expired) == 1
    assert times.expired[0] >= 0.05 > max(times.started)
    await batcher.stop()


async def test_an_item_whose_caller_is_cancelled_never_runs() -> None:
    engine = FakeEngine()
    batcher, running = await held(engine, max_batch_size=8)
    abandoned = asyncio.ensure_future(batcher.score(text_item(3), 5))
    await wait_until(lambda: batcher.depth == 1)
    abandoned.cancel()  # as uvicorn cancels requests still open when the shutdown grace ends
    kept = asyncio.ensure_future(batcher.score(text_item(3), 5))
    await wait_until(lambda: batcher.depth == 2)
    engine.gate.set()
    await running
    assert (await kept).batch_size == 1  # the next batch held only the live item
    assert engine.batch_sizes == [1, 1]
    await batcher.stop()


async def test_a_full_queue_refuses_at_once_and_all_or_nothing() -> None:
    engine = FakeEngine()
    engine.gate.clear()
    batcher = make_batcher(engine, queue_size=3, retry_after_s=7)
    await batcher.start()
    running = asyncio.ensure_future(batcher.score(text_item(3), 5))
    await wait_until(lambda: engine.runs_started == 1)
    queued = batcher.submit([text_item(3)] * 2, 5)
    with pytest.raises(QueueFull) as info:
        batcher.submit([text_item(3)] * 2, 5)
    assert info.value.retry_after_s == 7 and batcher.depth == 2
    engine.gate.set()
    await running
    await asyncio.gather(*(batcher.result(p) for p in queued))
    await batcher.stop()


async def test_stop_drains_queued_work_then_refuses_new_items() -> None:
    engine = FakeEngine()
    engine.delay_s = 0.02
    batcher = make_batcher(engine, max_batch_size=2)
    await batcher.start()
    futures = [asyncio.ensure_future(batcher.score(text_item(3), 5)) for _ in range(6)]
    await asyncio.sleep(0)
    await batcher.stop(grace_s=5)
    assert all(f.done() and f.exception() is None for f in futures)
    with pytest.raises(ShuttingDown):
        batcher.submit([text_item(3)], 5)


async def test_stop_after_grace_fails_what_is_left() -> None:
    engine = FakeEngine()
    engine.gate.clear()
    batcher = make_batcher(engine)
    await batcher.start()
    running = asyncio.ensure_future(batcher.score(text_item(3), 5))
    await wait_until(lambda: engine.runs_started == 1)
    waiting = asyncio.ensure_future(batcher.score(text_item(3), 5))
    await asyncio.sleep(0.01)
    await batcher.stop(grace_s=0.05)
    for fut in (running, waiting):
        with pytest.raises(ShuttingDown):
            await fut
    engine.gate.set()


async def test_stop_answers_a_batch_still_being_gathered() -> None:
    batcher = make_batcher(FakeEngine(), max_batch_size=8, max_wait_s=5.0)  # waits long for more items
    await batcher.start()
    gathered = asyncio.ensure_future(batcher.score(text_item(3), 30))
    await asyncio.sleep(0.05)
    assert batcher.depth == 0  # the worker took it and waits for company
    await batcher.stop(grace_s=0)
    with pytest.raises(ShuttingDown):
        await asyncio.wait_for(gathered, 2)  # it used to wait forever


async def test_stop_lets_a_batch_being_gathered_run_within_its_grace() -> None:
    engine = FakeEngine()
    batcher = make_batcher(engine, max_batch_size=8, max_wait_s=0.1)
    await batcher.start()
    gathered = asyncio.ensure_future(batcher.score(text_item(3), 30))
    await asyncio.sleep(0.02)
    assert batcher.depth == 0 and batcher.in_flight == 0  # off the queue, not yet running
    await batcher.stop(grace_s=5)
    assert (await gathered).batch_size == 1  # it used to be answered ShuttingDown at once
    assert engine.batch_sizes == [1]


def test_inference_runs_off_the_event_loop_thread() -> None:
    engine = FakeEngine()
    threads: list[threading.Thread] = []
    original = engine.run

    def spy(batch: object) -> object:
        threads.append(threading.current_thread())
        return original(batch)  # type: ignore[arg-type]

    engine.run = spy  # type: ignore[method-assign,assignment]

    async def main() -> None:
        batcher = make_batcher(engine)
        await batcher.start()
        await batcher.score(text_item(3), 5)
        await batcher.stop()

    asyncio.run(main())
    assert threads and threads[0] is not threading.main_thread()


def test_timings_are_finer_than_uvloops_millisecond_clock() -> None:
    """uvicorn runs on uvloop, whose loop.time() ticks in whole milliseconds (a 1.3 ms batch read 1 or 2)."""
    import uvloop

    engine = FakeEngine()
    engine.delay_s = 0.0013

    async def main() -> list[float]:
        batcher = make_batcher(engine)
        await batcher.start()
        scored = [await batcher.score(text_item(3), 5) for _ in range(3)]
        await batcher.stop()
        return [s.inference_s * 1000 for s in scored]

    inference_ms = uvloop.run(main())
    assert min(inference_ms) >= 1.3
    assert any(abs(ms - round(ms)) > 1e-6 for ms in inference_ms)  # not on a whole-millisecond tick
