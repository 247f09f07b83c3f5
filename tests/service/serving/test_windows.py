"""Long texts read in overlapping windows: the arithmetic, the tokens, the most severe window, the limits."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tokenizers import Tokenizer

from service.errors import InferenceFailed, ModelBundleError, QueueFull
from service.policy.rules import ModelScores
from service.serving.batching import Batcher, collate, collate_windows, combine_windows, split_windows
from service.serving.bundle import Bundle, TextSpec
from service.serving.inputs import PreparedItem, Preprocessor, TextTokenizer, window_count, window_starts
from service.settings import Settings
from service.taxonomy import CATEGORIES
from tests.service.bundle import MAX_TOKENS, SAFE_WORDS, VOCAB
from tests.service.fakes import FakeEngine
from tests.service.images import solid

SIZE = 8
ABSENT = np.array([2, 3], dtype=np.int64)
WIDTH = MAX_TOKENS - 2  # text tokens per window of the test bundle ([CLS] and [SEP] take 2)


def words(n: int, offset: int = 0) -> str:
    """`n` one-token words of the test vocabulary, cycling (so every token is a known id)."""
    return " ".join(SAFE_WORDS[(offset + i) % len(SAFE_WORDS)] for i in range(n))


def full_ids(test_bundle: Path, text: str) -> list[int]:
    """The text's ids without truncation: [CLS] + every token + [SEP]."""
    tokenizer = Tokenizer.from_file(str(test_bundle / "tokenizer.json"))
    tokenizer.no_truncation()
    return list(tokenizer.encode(text).ids)


# --- the arithmetic --------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 14, 15, 21, 22, 23, 100, 1000])
@pytest.mark.parametrize(("width", "stride"), [(14, 7), (14, 14), (14, 1), (126, 64), (254, 128)])
def test_windows_overlap_by_the_stride_cover_every_token_and_end_at_the_last(
    n: int, width: int, stride: int
) -> None:
    starts = window_starts(n, width, stride, max_windows=10_000)
    assert len(starts) == window_count(n, width, stride)
    if n <= width:
        assert starts == [0]
        return
    assert len(starts) == 1 + -(-(n - width) // stride)  # 1 + ceil((n - width) / stride)
    assert starts[0] == 0 and starts[-1] == n - width  # every window is full; the last ends the text
    assert all(b - a == stride for a, b in zip(starts[:-2], starts[1:-1], strict=True))
    assert 0 < starts[-1] - starts[-2] <= stride  # the last one overlaps its neighbour at least as much
    covered = sorted({i for s in starts for i in range(s, s + width)})
    assert covered == list(range(n))  # exact coverage: nothing skipped, nothing past the end


def test_window_counts_of_the_shipped_and_the_next_window_sizes() -> None:
    assert window_count(1000, 126, 64) == 15  # ~4,000 characters at 128 tokens: under the default cap
    assert window_count(1000, 254, 128) == 7  # ... at 256 tokens
    assert window_count(126 + 15 * 64, 126, 64) == 16 == Settings().max_text_windows
    assert window_count(126, 126, 64) == 1 and window_count(127, 126, 64) == 2


def test_the_cap_keeps_the_first_windows_and_the_last() -> None:
    every = window_starts(100, 14, 7, max_windows=10_000)
    assert len(every) == 14  # 1 + ceil((100 - 14) / 7)
    assert window_starts(100, 14, 7, max_windows=4) == [*every[:3], every[-1]] == [0, 7, 14, 86]
    assert window_starts(100, 14, 7, max_windows=2) == [0, 86]
    assert window_starts(100, 14, 7, max_windows=1) == [0]  # 1: the first window only (as before windows)
    assert window_starts(100, 14, 7, max_windows=14) == every  # exactly enough: nothing cut


def test_the_manifest_stride_defaults_to_half_the_window_and_may_not_leave_gaps() -> None:
    assert TextSpec(tokenizer_file="t.json", max_tokens=128).stride == 64
    assert TextSpec(tokenizer_file="t.json", max_tokens=256).stride == 128
    assert TextSpec(tokenizer_file="t.json", max_tokens=128, window_stride=100).stride == 100
    assert TextSpec(tokenizer_file="t.json", max_tokens=128, window_stride=126).stride == 126
    with pytest.raises(ValueError, match="window_stride"):
        TextSpec(tokenizer_file="t.json", max_tokens=128, window_stride=127)
    with pytest.raises(ValueError):
        TextSpec(tokenizer_file="t.json", max_tokens=128, window_stride=0)


# --- the tokens ------------------------------------------------------------------------------------------


def test_each_window_is_cls_a_slice_of_the_text_and_sep(test_bundle: Path) -> None:
    encoder = TextTokenizer(test_bundle / "tokenizer.json", MAX_TOKENS)
    assert (encoder.width, encoder.stride) == (WIDTH, MAX_TOKENS // 2)
    text = words(60)
    ids = full_ids(test_bundle, text)
    body = ids[1:-1]
    assert len(body) == 60
    read = encoder.windows(text, max_windows=100)
    starts = window_starts(60, WIDTH, encoder.stride, 100)
    assert read.longer_than_window and read.skipped == 0 and len(read.windows) == len(starts) == 7
    for start, window in zip(starts, read.windows, strict=True):
        assert window.dtype == np.int64 and len(window) == MAX_TOKENS
        assert window[0] == ids[0] and window[-1] == ids[-1]  # [CLS] ... [SEP]
        assert window[1:-1].tolist() == body[start : start + WIDTH]
    assert read.windows[-1][1:-1].tolist() == body[-WIDTH:]  # the last window holds the last tokens


def test_a_text_that_fits_is_one_window_exactly_as_the_truncating_tokenizer_made_it(
    test_bundle: Path,
) -> None:
    old = Tokenizer.from_file(str(test_bundle / "tokenizer.json"))  # the encoder as it was: truncating
    old.enable_truncation(MAX_TOKENS)
    old.no_padding()
    encoder = TextTokenizer(test_bundle / "tokenizer.json", MAX_TOKENS)
    for text in ("hello", words(WIDTH), "a photo of a cat?", words(WIDTH + 1), words(300)):
        first, truncated = encoder.encode(text)
        assert first.tolist() == old.encode(text).ids  # the first window is what truncation gave
        assert truncated == bool(old.encode(text).overflowing)
        read = encoder.windows(text, 16)
        assert read.windows[0].tolist() == first.tolist() and read.longer_than_window == truncated
        assert (len(read.windows) == 1) == (not truncated)


def test_the_preprocessor_caps_windows_and_says_the_text_was_truncated(test_bundle: Path) -> None:
    settings = Settings(model_dir=test_bundle, max_text_windows=4)
    prep = Preprocessor(Bundle.load(test_bundle), settings)
    short = prep.prepare(None, "hello world")
    assert (short.rows, short.text_windows, short.text_truncated, short.more_windows) == (1, 1, False, ())
    image_only = prep.prepare(solid(0), None)
    assert (image_only.rows, image_only.text_windows) == (1, None)
    text = words(100)
    body = full_ids(test_bundle, text)[1:-1]
    item = prep.prepare(None, text)
    assert item.rows == item.text_windows == 4 and item.text_truncated
    assert item.windows_skipped == window_count(100, WIDTH, MAX_TOKENS // 2) - 4 == 8
    assert item.row_ids()[0] is item.input_ids
    rows = [r for r in item.row_ids() if r is not None]
    assert len(rows) == 4
    assert [r[1:-1].tolist() for r in rows[:3]] == [body[s : s + WIDTH] for s in (0, 8, 16)]
    assert rows[-1][1:-1].tolist() == body[-WIDTH:]  # the cap always keeps the end of the text
    uncapped = Preprocessor(Bundle.load(test_bundle), Settings(model_dir=test_bundle)).prepare(
        None, words(40)
    )
    assert uncapped.text_truncated and uncapped.windows_skipped == 0 and uncapped.rows == 5


def test_the_preprocessor_reads_the_stride_from_the_manifest(test_bundle: Path, tmp_path: Path) -> None:
    bundle_dir = Path(shutil.copytree(test_bundle, tmp_path / "bundle"))
    manifest = json.loads((bundle_dir / "manifest.json").read_text())
    manifest["text"]["window_stride"] = 14
    (bundle_dir / "manifest.json").write_text(json.dumps(manifest))
    prep = Preprocessor(Bundle.load(bundle_dir), Settings(model_dir=bundle_dir))
    assert prep.text.stride == 14
    item = prep.prepare(None, words(42))
    assert item.rows == 3  # windows side by side: 0, 14, 28
    manifest["text"]["window_stride"] = 15
    (bundle_dir / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelBundleError, match="window_stride"):
        Bundle.load(bundle_dir)
    with pytest.raises(ModelBundleError, match="stride"):  # a tokenizer adding more special tokens
        TextTokenizer(test_bundle / "tokenizer.json", MAX_TOKENS, stride=WIDTH + 1)


# --- the most severe window ------------------------------------------------------------------------------


def scores(
    joint: tuple[float, float, float],
    text: tuple[float, float, float] | None,
    image: tuple[float, float, float] | None = None,
    **categories: float,
) -> ModelScores:
    return ModelScores(image, text, joint, dict.fromkeys(CATEGORIES, 0.0) | categories)


def test_the_most_severe_window_decides_each_reading() -> None:
    first = scores((0.2, 0.1, 0.7), (0.9, 0.1, 0.0), (1.0, 0.0, 0.0), weapons=0.9)
    second = scores((0.5, 0.2, 0.3), (0.1, 0.1, 0.8), (0.0, 0.0, 1.0), terrorism=0.6)
    third = scores((0.1, 0.0, 0.9), (0.5, 0.4, 0.1), (0.0, 0.0, 1.0), weapons=0.2, terrorism=0.7)
    combined = combine_windows([first, second, third])
    assert combined.joint == third.joint  # highest joint p_unsafe
    assert combined.text == second.text  # highest text p_unsafe, from another window
    assert combined.image == first.image  # the image reading: the first window's
    assert combined.categories["weapons"] == 0.9 and combined.categories["terrorism"] == 0.7
    assert combined.categories["gore"] == 0.0
    tie = combine_windows([scores((0.5, 0.1, 0.4), None), scores((0.1, 0.5, 0.4), None)])
    assert tie.joint == (0.5, 0.1, 0.4) and tie.text is None  # ties: the earliest window; no text: None
    assert combine_windows([first]) is first  # one window: exactly as read


def test_split_windows_gives_each_item_its_own_windows(test_bundle: Path) -> None:
    engine = FakeEngine()
    unsafe = VOCAB.index("bomb")
    prep = Preprocessor(Bundle.load(test_bundle), Settings(model_dir=test_bundle))
    items = [
        prep.prepare(None, words(40) + " bomb"),
        prep.prepare(None, "hello"),
        prep.prepare(None, words(40)),
    ]
    assert [i.rows for i in items] == [5, 1, 5]
    batch = collate_windows(items, SIZE, ABSENT)
    assert len(batch) == 11 and batch.present[:, 1].tolist() == [1.0] * 11
    assert len(collate(items, SIZE, ABSENT)) == 3  # collate: one row (the first window) per item
    long_unsafe, short, long_safe = split_windows(engine.run(batch), batch, items)
    assert long_unsafe.joint[2] > 0.9 and short.joint[2] < 0.1 and long_safe.joint[2] < 0.1
    assert unsafe in engine.rows_seen[4] and all(unsafe not in r for r in engine.rows_seen[:4])


# --- rows count against the batch and queue limits -------------------------------------------------------


def item_of(rows: int, token: int = 10) -> PreparedItem:
    windows = [np.array([2, token + i, 3], dtype=np.int64) for i in range(rows)]
    return PreparedItem(None, windows[0], rows > 1, "0" * 16, tuple(windows[1:]))


async def wait_until(check: Any, timeout_s: float = 5.0) -> None:
    end = asyncio.get_running_loop().time() + timeout_s
    while not check():
        assert asyncio.get_running_loop().time() < end, "condition not reached"
        await asyncio.sleep(0.002)


async def held(engine: FakeEngine, **kwargs: Any) -> tuple[Batcher, asyncio.Future[Any]]:
    engine.gate.clear()
    batcher = Batcher(engine, image_size=SIZE, absent_ids=ABSENT, **kwargs)
    await batcher.start()
    first = asyncio.ensure_future(batcher.score(item_of(1), 5))
    await wait_until(lambda: engine.runs_started == 1)
    return batcher, first


@pytest.mark.anyio
async def test_batches_are_filled_by_rows_and_a_big_item_runs_alone() -> None:
    engine = FakeEngine()
    batcher, first = await held(engine, max_batch_size=4)
    sizes = [3, 1, 2, 1, 6, 1]
    rest = [asyncio.ensure_future(batcher.score(item_of(n), 5)) for n in sizes]
    await wait_until(lambda: batcher.depth == sum(sizes))  # depth counts rows
    engine.gate.set()
    results = await asyncio.gather(first, *rest)
    # [3 + 1], [2 + 1]: the 6-row item does not fit beside them, and runs alone (oversized), then [1]
    assert engine.batch_sizes == [1, 4, 3, 6, 1]
    assert [r.batch_size for r in results] == [1, 4, 4, 3, 3, 6, 1]
    await batcher.stop()


@pytest.mark.anyio
async def test_a_batching_wait_stops_at_an_item_that_does_not_fit() -> None:
    engine = FakeEngine()
    batcher = Batcher(engine, image_size=SIZE, absent_ids=ABSENT, max_batch_size=4, max_wait_s=0.5)
    await batcher.start()
    loop = asyncio.get_running_loop()
    started = loop.time()
    two = asyncio.ensure_future(batcher.score(item_of(2), 5))
    three = asyncio.ensure_future(batcher.score(item_of(3), 5))
    assert (await two).batch_size == 2
    assert loop.time() - started < 0.45  # it did not wait for company: the next item could not join
    assert (await three).batch_size == 3  # (alone in the queue, this one waits its 0.5 s)
    assert engine.batch_sizes == [2, 3]
    await batcher.stop()


@pytest.mark.anyio
async def test_the_queue_limit_counts_rows_all_or_nothing() -> None:
    engine = FakeEngine()
    batcher, running = await held(engine, queue_size=4, retry_after_s=5)
    queued = batcher.submit([item_of(3)], 5)
    assert batcher.depth == 3
    with pytest.raises(QueueFull) as info:
        batcher.submit([item_of(2)], 5)  # 2 rows, 1 free
    assert info.value.retry_after_s == 5 and batcher.depth == 3
    with pytest.raises(QueueFull):
        batcher.submit([item_of(1), item_of(1)], 5)  # all or nothing
    queued += batcher.submit([item_of(1)], 5)
    assert batcher.depth == 4
    with pytest.raises(QueueFull):
        batcher.submit([item_of(6)], 5)  # more rows than the queue holds: only into an empty queue
    engine.gate.set()
    await running
    await asyncio.gather(*(batcher.result(p) for p in queued))
    big = batcher.submit([item_of(6)], 5)  # the queue is empty now: it goes in, and runs
    assert (await batcher.result(big[0])).batch_size == 6
    await batcher.stop()


@pytest.mark.anyio
async def test_a_failing_window_fails_its_item_and_not_the_others() -> None:
    engine = FakeEngine()
    batcher, running = await held(engine, max_batch_size=4)
    engine.fail_next = 1
    doomed = asyncio.ensure_future(batcher.score(item_of(4), 5))  # fills its batch
    spared = [asyncio.ensure_future(batcher.score(item_of(2), 5)) for _ in range(2)]
    await wait_until(lambda: batcher.depth == 8)
    engine.gate.set()
    await running
    with pytest.raises(InferenceFailed):
        await doomed
    assert [(await f).batch_size for f in spared] == [4, 4]
    await batcher.stop()


@pytest.mark.anyio
async def test_the_batcher_answers_with_the_most_severe_window() -> None:
    engine = FakeEngine()
    engine.token_scores = {20: (0.9, 0.1), 31: (0.1, 0.95)}  # window 1: text unsafe; window 2: joint unsafe
    batcher = Batcher(engine, image_size=SIZE, absent_ids=ABSENT)
    await batcher.start()
    windows = [np.array([2, t, 3], dtype=np.int64) for t in (10, 20, 31)]
    item = PreparedItem(
        np.full((SIZE, SIZE, 3), 255, np.uint8), windows[0], True, "0" * 16, tuple(windows[1:])
    )
    scored = await batcher.score(item, 5)
    by_row = split_windows_rows(engine, item)
    assert scored.scores.text == by_row[1].text and scored.scores.joint == by_row[2].joint
    assert scored.scores.image == by_row[0].image
    assert scored.scores.categories == {slug: max(r.categories[slug] for r in by_row) for slug in CATEGORIES}
    assert scored.batch_size == 3
    await batcher.stop()


def split_windows_rows(engine: FakeEngine, item: PreparedItem) -> list[ModelScores]:
    """Each window of `item` scored as an item of its own (one row each)."""
    from service.serving.batching import split

    single = [PreparedItem(item.pixels, ids, False, "0" * 16) for ids in item.row_ids()]
    batch = collate(single, SIZE, ABSENT)
    return split(engine.run(batch), batch)
