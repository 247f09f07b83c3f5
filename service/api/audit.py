"""The audit log: one JSON line per decision, never content, written off the event loop.

Each classify item and each moderation input that gets a verdict becomes one line (`SAFETY_AUDIT_LOG`: a
file, or `-` for stdout): when, the request id, the sha256 of each input, the policy and model versions,
the verdict, action, pattern and reasons, and the timings (docs/operations.md, *Audit log*).

A request only puts its line on a bounded queue: a background thread hashes the inputs (sha256 of a
16 MiB image takes milliseconds, which the event loop must not spend) and writes the line. When the queue
is full the line is dropped and counted; a request never waits for the disk. The file is written through
`logging.handlers.WatchedFileHandler`, so it is reopened when it is moved or deleted (rotation is the
platform's: logrotate without `copytruncate`, a log shipper, a sidecar). Every line is counted in
`safety_audit_lines_total{result=written|failed|dropped}`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import logging.handlers
import queue
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TextIO

from service.errors import StorageError
from service.logs import request_id_var
from service.metrics import Metrics
from service.settings import Settings
from service.taxonomy import present_text

if TYPE_CHECKING:
    from service.api.deps import ServiceState
    from service.api.payloads import RawItem
    from service.api.schemas import ClassifyResponse

log = logging.getLogger(__name__)

STDOUT = "-"
SCHEMA = "safety-audit/1"  # the layout of a line; a consumer can tell audit lines from log lines by it
WITHHELD = "[withheld: it quotes the input]"
# Image bytes queued but not yet hashed, at the least: past it a line is dropped (as with a full queue),
# so a stalled disk never pins an unbounded amount of request memory.
MIN_PENDING_BYTES = 64 * 1024 * 1024


class _CountsFailures:
    """Remember a handler's failed write instead of printing a traceback (`Handler.handleError`)."""

    error: BaseException | None = None

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 (logging's name)
        self.error = sys.exc_info()[1]


class _FileSink(_CountsFailures, logging.handlers.WatchedFileHandler):
    """Append to a file; reopen it when its device or inode changed (it was moved or deleted)."""


class _StreamSink(_CountsFailures, logging.StreamHandler[TextIO]):
    """Write to stdout (the platform's log pipeline rotates it)."""


@dataclass(frozen=True)
class _Entry:
    """What a decision leaves for the writer: the line without its hashes, and what to hash."""

    when: float  # time.time() of the decision
    request_id: str | None
    fields: dict[str, Any]
    image: bytes | None
    text: str | None

    @property
    def size(self) -> int:
        return len(self.image or b"") + len(self.text or "")

    def line(self) -> str:
        head = {
            "schema": SCHEMA,
            "time": utc_timestamp(self.when),
            "request_id": self.request_id,
            "image_sha256": input_sha256(self.image),
            "text_sha256": input_sha256(self.text),
        }
        return json.dumps(head | self.fields, separators=(",", ":"), default=str)


def utc_timestamp(when: float) -> str:
    """Return a time.time() as ISO 8601 UTC to the millisecond: `2026-01-31T12:00:00.123Z`."""
    return datetime.fromtimestamp(when, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def input_sha256(data: bytes | str | None) -> str | None:
    """Return the sha256 of an input: image bytes as received, text as UTF-8 (None: no such input)."""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")  # a lone surrogate too (multipart text can carry one)
    return None if data is None else hashlib.sha256(data).hexdigest()


_STOP = object()


class AuditLog:
    """A bounded queue of audit lines and the thread that writes them."""

    def __init__(self, target: str, metrics: Metrics, queue_size: int, max_pending_bytes: int) -> None:
        self.target = target
        self._lines = metrics.audit_lines
        self._queue: queue.Queue[_Entry | object] = queue.Queue(maxsize=queue_size)
        self._max_pending_bytes = max_pending_bytes
        self._pending_bytes = 0
        self._pending_lock = threading.Lock()
        self._sink = _open_sink(target)
        self._failing = False
        self._thread = threading.Thread(target=self._run, name="audit-log", daemon=True)
        self._thread.start()

    def record(self, fields: dict[str, Any], image: bytes | None, text: str | None) -> None:
        """Queue one decision's line; drop it (counted) when the queue is full. Never blocks."""
        entry = _Entry(time.time(), request_id_var.get(), fields, image, text)
        with self._pending_lock:
            if self._pending_bytes + entry.size > self._max_pending_bytes:
                self._lines.labels("dropped").inc()
                return
            self._pending_bytes += entry.size
        try:
            self._queue.put_nowait(entry)
        except queue.Full:
            self._release(entry)
            self._lines.labels("dropped").inc()

    def close(self, timeout_s: float = 5.0) -> None:
        """Write what is queued (for at most `timeout_s`), then stop the thread and close the file."""
        try:
            self._queue.put(_STOP, timeout=timeout_s)
        except queue.Full:
            pass
        self._thread.join(timeout_s)
        self._sink.close()

    def _release(self, entry: _Entry) -> None:
        with self._pending_lock:
            self._pending_bytes -= entry.size

    def _run(self) -> None:
        while (entry := self._queue.get()) is not _STOP:
            assert isinstance(entry, _Entry)
            try:
                self._write(entry.line())
            finally:
                self._release(entry)

    def _write(self, line: str) -> None:
        sink = self._sink
        sink.error = None
        try:
            sink.emit(logging.makeLogRecord({"msg": line}))  # the line as it is: no args, no formatting
        except Exception as exc:  # reopening the moved file failed (its folder gone, no space left)
            sink.error = exc
        if sink.error is None:
            self._lines.labels("written").inc()
            if self._failing:
                self._failing = False
                log.info("audit log writes again", extra={"audit_log": self.target})
            return
        self._lines.labels("failed").inc()
        if not self._failing:  # once per outage, not once per line
            self._failing = True
            log.error(
                "audit log write failed; lines are counted in safety_audit_lines_total{result=failed}",
                extra={"audit_log": self.target, "error": f"{type(sink.error).__name__}: {sink.error}"},
            )


def _open_sink(target: str) -> _FileSink | _StreamSink:
    if target == STDOUT:
        return _StreamSink(sys.stdout)
    try:
        return _FileSink(target, encoding="utf-8")
    except OSError as exc:
        raise StorageError(f"cannot open the audit log {target} (SAFETY_AUDIT_LOG): {exc}") from None


def check_audit_log(target: str | None) -> None:
    """Raise StorageError unless the audit log can be appended to (None: off, nothing to check)."""
    if target is not None and target != STDOUT:
        _open_sink(target).close()


def open_audit_log(settings: Settings, metrics: Metrics) -> AuditLog | None:
    """Start the audit log (None when SAFETY_AUDIT_LOG is unset); raise StorageError when it cannot be
    opened."""
    if settings.audit_log is None:
        return None
    pending = max(MIN_PENDING_BYTES, 4 * settings.max_body_bytes)
    return AuditLog(settings.audit_log, metrics, settings.audit_queue_size, pending)


def audit_decision(state: ServiceState, raw: RawItem, response: ClassifyResponse) -> None:
    """Queue the audit line of one decision (nothing when the audit log is off)."""
    if state.audit is None:
        return
    text = present_text(raw.text)
    state.audit.record(decision_fields(response, text), raw.image, text)


def decision_fields(response: ClassifyResponse, text: str | None) -> dict[str, Any]:
    """The line's fields from the answer, picked one by one: no text, no image, no `image_text`."""
    fields: dict[str, Any] = {
        "item_id": response.id,
        "policy": response.policy.model_dump(),
        "model": response.model.model_dump(),
        "verdict": response.verdict,
        "action": response.action,
        "pattern": response.pattern,
        "emergent": response.emergent,
        "flagged_categories": list(response.flagged_categories),
        "text_windows": response.text_windows,
        "text_truncated": response.text_truncated,
    }
    # Reasons never quote content (service/policy/reasons.py); should a message ever quote the text or
    # what OCR read in the image, it is withheld here (its code, reading, score and threshold stay).
    read = [
        t.strip() for t in (text, getattr(response, "image_text", None)) if isinstance(t, str) and t.strip()
    ]
    fields["reasons"] = [_withhold(reason.model_dump(mode="json"), read) for reason in response.reasons]
    fields["timings_ms"] = {k: round(v, 3) for k, v in response.timings_ms.model_dump().items()}
    return fields


def _withhold(reason: dict[str, Any], contents: list[str]) -> dict[str, Any]:
    message = reason.get("message")
    if isinstance(message, str) and any(content in message for content in contents):
        return reason | {"message": WITHHELD}
    return reason
