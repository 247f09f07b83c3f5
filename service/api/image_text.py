"""The OCR stage of a classify item: decode, read the text in its image off the loop, add its rows.

An item with an image, while OCR is on (SAFETY_OCR), takes one of the OCR stage's slots (a bound on the
OCR copies held at once), is decoded in the decode pool (with the copy OCR reads), read in the OCR pool,
and tokenized there with what was read (Preprocessor.with_image_text). What was read goes to the response
as `image_text`: never to a log line, a metric label or the audit log.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

from service.errors import DeadlineExceeded, OcrFailed
from service.serving.inputs import PreparedItem
from service.serving.ocr import ImageText, OcrStage, read_image_text

if TYPE_CHECKING:
    from service.api.deps import ServiceState
    from service.api.payloads import RawItem

log = logging.getLogger(__name__)


async def prepare_with_image_text(
    state: ServiceState, ocr: OcrStage, raw: RawItem, deadline: float | None
) -> PreparedItem:
    """Prepare an item that has an image, with the text read in it; `deadline` (perf_counter): an image
    still waiting for OCR then is not read (DeadlineExceeded, 504)."""
    loop = asyncio.get_running_loop()
    async with ocr.slots:
        item = await loop.run_in_executor(state.decode_pool, state.preprocessor.prepare, raw.image, raw.text)
        if item.ocr_pixels is None:
            return item
        try:
            read, item = await loop.run_in_executor(ocr.pool, _read, state, ocr, item, raw.text, deadline)
        except DeadlineExceeded:
            state.metrics.ocr_failures.labels("deadline").inc()
            raise
        except OcrFailed:
            state.metrics.ocr_failures.labels("error").inc()
            raise
    _record(state, read)
    return item


def _read(
    state: ServiceState, ocr: OcrStage, item: PreparedItem, text: str | None, deadline: float | None
) -> tuple[ImageText, PreparedItem]:
    """Read the item's OCR copy and add the rows that read it (in the OCR pool)."""
    if deadline is not None and time.perf_counter() > deadline:
        raise DeadlineExceeded("the request's deadline passed while its image waited for OCR")
    try:
        return read_image_text(ocr.reader, state.preprocessor, item, text)
    except OcrFailed as exc:
        cause = exc.__cause__
        log.warning(
            "OCR failed",
            extra={"content_sha256": item.content_sha256, "error": type(cause).__name__},
            exc_info=cause,
        )
        raise


def _record(state: ServiceState, read: ImageText) -> None:
    """Count what OCR did: never what it read."""
    metrics = state.metrics
    metrics.ocr_seconds.observe(read.seconds)
    metrics.ocr_images.labels("gated" if read.gated else "text" if read.text else "none").inc()
    metrics.ocr_characters.inc(len(read.text))
    if read.capped:
        metrics.ocr_capped.inc()
