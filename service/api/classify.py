"""Classify items end to end: prepare in the thread pool, score in a batch, decide with a policy."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Iterator, Sequence
from typing import TypeVar

from service.api.audit import audit_decision
from service.api.deps import ServiceState
from service.api.image_text import prepare_with_image_text
from service.api.payloads import ItemFailure, RawItem
from service.api.schemas import (
    BatchItemError,
    CategoryResult,
    ClassifyResponse,
    ErrorDetail,
    GradeScores,
    Modalities,
    ModalityResult,
    ModelRef,
    PolicyRef,
    ReasonResult,
    Timings,
)
from service.errors import DeadlineExceeded, QueueFull, reply_for
from service.policy.rules import Decision, Grade, Policy
from service.policy.shadow import shadow_disagreement
from service.serving.batching import Scored
from service.serving.inputs import PreparedItem
from service.taxonomy import is_emergent, pattern

log = logging.getLogger(__name__)

T = TypeVar("T")


async def classify_one(state: ServiceState, raw: RawItem, started: float) -> ClassifyResponse:
    """Classify one item that arrived at `started` (perf_counter); raise a ServiceError when it cannot be."""
    policy = state.policies.get(raw.policy)
    with _admitted(state, 1):
        item = await _prepare(state, raw, started)
    scored = await state.batcher.score(item, _time_left(state, started))
    return _respond(state, raw, item, scored, policy, started)


async def classify_many(
    state: ServiceState, raws: Sequence[RawItem | ItemFailure], started: float
) -> list[ClassifyResponse | BatchItemError]:
    """Classify a batch request: bad items fail alone; a full queue fails the whole request (429)."""
    results: list[ClassifyResponse | BatchItemError | None] = [None] * len(raws)
    prepared: list[tuple[int, RawItem, Policy, PreparedItem]] = []

    async def prepare(raw: RawItem) -> tuple[Policy, PreparedItem]:
        return state.policies.get(raw.policy), await _prepare(state, raw, started)

    readable = [raw for raw in raws if isinstance(raw, RawItem)]
    with _admitted(state, len(readable)):  # a 429 here leaves no coroutine never awaited
        outcomes = iter(await asyncio.gather(*map(prepare, readable), return_exceptions=True))
    for index, raw in enumerate(raws):
        if isinstance(raw, ItemFailure):
            results[index] = _item_error(raw.id, raw.error)
            continue
        outcome = next(outcomes)
        if isinstance(outcome, BaseException):
            results[index] = _item_error(raw.id, _reraise_fatal(outcome))
        else:
            prepared.append((index, raw, *outcome))

    items = [item for _, _, _, item in prepared]
    scored = await score_prepared(state, items, _time_left(state, started)) if items else []
    for (index, raw, policy, item), result in zip(prepared, scored, strict=True):
        if isinstance(result, Exception):
            results[index] = _item_error(raw.id, result)
        else:
            results[index] = _respond(state, raw, item, result, policy, started)
    return [r for r in results if r is not None]


async def classify_all(
    state: ServiceState, raws: Sequence[RawItem], started: float
) -> list[ClassifyResponse]:
    """Classify items that stand or fall together: the first item that fails fails the request."""
    policies = [state.policies.get(raw.policy) for raw in raws]
    items = _all_or_first_error(await prepare_many(state, raws, started))
    scored = _all_or_first_error(await score_prepared(state, items, _time_left(state, started)))
    return [
        _respond(state, raw, item, result, policy, started)
        for raw, item, result, policy in zip(raws, items, scored, policies, strict=True)
    ]


def _time_left(state: ServiceState, started: float) -> float:
    """Seconds left of the request's deadline, counted from its arrival; DeadlineExceeded (504) when none
    are: a request that waited too long (to be admitted, read or decoded) never runs."""
    left = state.settings.request_timeout_ms / 1000 - (time.perf_counter() - started)
    if left <= 0:
        state.metrics.item_expired(time.perf_counter() - started)
        raise DeadlineExceeded("the request's deadline passed before it could be queued")
    return left


def _all_or_first_error(outcomes: Sequence[T | Exception]) -> list[T]:
    for outcome in outcomes:
        if isinstance(outcome, Exception):
            raise outcome
    return [o for o in outcomes if not isinstance(o, Exception)]


async def prepare_many(
    state: ServiceState, raws: Sequence[RawItem], started: float | None = None
) -> list[PreparedItem | Exception]:
    """Decode and tokenize items in the thread pool (and read their images' text: OCR); an item that cannot
    be used gets its exception. `started`: when the request arrived (its deadline bounds the wait for OCR)."""
    with _admitted(state, len(raws)):
        outcomes = await asyncio.gather(
            *(_prepare(state, raw, started) for raw in raws), return_exceptions=True
        )
    return [_reraise_fatal(o) if isinstance(o, BaseException) else o for o in outcomes]


async def score_prepared(
    state: ServiceState, items: Sequence[PreparedItem], timeout_s: float
) -> list[Scored | Exception]:
    """Queue items together and await their scores; a full queue raises QueueFull for all of them."""
    pending = state.batcher.submit(items, timeout_s)
    scored = await asyncio.gather(*(state.batcher.result(p) for p in pending), return_exceptions=True)
    return [_reraise_fatal(s) if isinstance(s, BaseException) else s for s in scored]


@contextlib.contextmanager
def _admitted(state: ServiceState, items: int) -> Iterator[None]:
    """Count items into the decode stage, all or none: QueueFull when more than queue_size would wait."""
    limit = state.settings.queue_size
    if state.preparing + items > limit:
        raise QueueFull(
            f"too many items waiting to be decoded ({limit}); retry later",
            retry_after_s=state.settings.retry_after_s,
        )
    state.preparing += items
    try:
        yield
    finally:
        state.preparing -= items


async def _prepare(state: ServiceState, raw: RawItem, started: float | None = None) -> PreparedItem:
    if state.ocr is not None and raw.image is not None:
        deadline = None if started is None else started + state.settings.request_timeout_ms / 1000
        return await prepare_with_image_text(state, state.ocr, raw, deadline)
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(state.decode_pool, state.preprocessor.prepare, raw.image, raw.text)


def _reraise_fatal(exc: BaseException) -> Exception:
    if not isinstance(exc, Exception):
        raise exc  # cancellation and the like are not item errors
    return exc


def _item_error(item_id: str | None, exc: Exception) -> BatchItemError:
    reply = reply_for(exc)
    if reply.status >= 500:
        log.warning(
            "batch item failed", extra={"item_id": item_id, "code": reply.code, "status": reply.status}
        )
    return BatchItemError(
        id=item_id,
        status=reply.status,
        error=ErrorDetail(code=reply.code, message=reply.message, **reply.details),
    )


def _modality(grade: Grade | None, scores: tuple[float, float, float] | None) -> ModalityResult | None:
    if grade is None or scores is None:
        return None
    return ModalityResult(
        grade=grade, scores=GradeScores(safe=scores[0], borderline=scores[1], unsafe=scores[2])
    )


def _respond(
    state: ServiceState, raw: RawItem, item: PreparedItem, scored: Scored, policy: Policy, started: float
) -> ClassifyResponse:
    manifest = state.bundle.manifest
    model_scores = scored.scores
    decision = policy.decide(model_scores)
    item_pattern: str | None = None
    emergent = False
    if decision.image_grade is not None and decision.text_grade is not None:
        item_pattern = pattern(decision.image_grade, decision.text_grade, decision.joint_grade)
        emergent = is_emergent(decision.image_grade, decision.text_grade, decision.joint_grade)
    total_s = time.perf_counter() - started
    response = ClassifyResponse(
        id=raw.id or uuid.uuid4().hex,
        verdict=decision.joint_grade,
        action=decision.action,
        modalities=Modalities(
            image=_modality(decision.image_grade, model_scores.image),
            text=_modality(decision.text_grade, model_scores.text),
            joint=ModalityResult(
                grade=decision.joint_grade,
                scores=GradeScores(
                    safe=model_scores.joint[0], borderline=model_scores.joint[1], unsafe=model_scores.joint[2]
                ),
            ),
        ),
        pattern=item_pattern,
        emergent=emergent,
        categories={
            slug: CategoryResult(score=score, flagged=slug in decision.flagged_categories)
            for slug, score in model_scores.categories.items()
        },
        flagged_categories=list(decision.flagged_categories),
        reasons=[ReasonResult.of(reason) for reason in decision.reasons],
        text_truncated=item.text_truncated,
        text_windows=item.text_windows,
        image_text=item.image_text,
        policy=PolicyRef(name=policy.name, version=policy.version),
        model=ModelRef(name=manifest.name, version=manifest.version, sha256=state.engine.info.sha256),
        timings_ms=Timings(
            queue=scored.queue_s * 1000, inference=scored.inference_s * 1000, total=total_s * 1000
        ),
    )
    _record(state, response, decision, item, scored, total_s)
    audit_decision(state, raw, response)
    shadow = state.policies.shadow
    if shadow is not None and shadow.name != policy.name:
        _compare_shadow(state, response, decision, shadow, shadow.decide(model_scores))
    return response


def _record(
    state: ServiceState,
    response: ClassifyResponse,
    decision: Decision,
    item: PreparedItem,
    scored: Scored,
    total_s: float,
) -> None:
    metrics = state.metrics
    policy = response.policy.name
    metrics.item_seconds.observe(total_s)
    metrics.verdicts.labels(policy, response.verdict, response.action).inc()
    for slug in decision.flagged_categories:
        metrics.flagged.labels(policy, slug, response.action).inc()
    if response.emergent:
        metrics.emergent.labels(policy).inc()
    if item.text_truncated:
        metrics.text_truncated.inc()
    if item.text_windows is not None:
        metrics.text_windows.observe(item.text_windows)
    if item.windows_skipped:
        metrics.text_windows_capped.inc()
    log.info(
        "classified",
        extra={
            "item_id": response.id,
            "content_sha256": item.content_sha256,
            "verdict": response.verdict,
            "action": response.action,
            "pattern": response.pattern,
            "flagged": response.flagged_categories,
            "policy": policy,
            "batch_size": scored.batch_size,
            "text_windows": item.text_windows,
            "windows_skipped": item.windows_skipped,
            "queue_ms": round(response.timings_ms.queue, 3),
            "inference_ms": round(response.timings_ms.inference, 3),
            "total_ms": round(response.timings_ms.total, 3),
        },
    )


def _compare_shadow(
    state: ServiceState,
    response: ClassifyResponse,
    live: Decision,
    shadow: Policy,
    shadow_decision: Decision,
) -> None:
    """Count and log how the shadow policy would have decided differently (its decision is not returned).

    The log line carries the item id (and the request id), never content; the `classified` line of the
    same item has its content hash.
    """
    metrics = state.metrics
    policy = response.policy.name
    metrics.shadow_decisions.labels(policy, shadow.name).inc()
    disagreement = shadow_disagreement(live, shadow_decision)
    if disagreement is None:
        return
    for what, direction in disagreement.counts():
        metrics.shadow_disagreements.labels(policy, shadow.name, what, direction).inc()
    log.info(
        "shadow disagreement",
        extra={
            "item_id": response.id,
            "policy": policy,
            "policy_version": response.policy.version,
            "shadow_policy": shadow.name,
            "shadow_version": shadow.version,
            **disagreement.log_fields(),
        },
    )
