"""The HTTP dry run: measure a loaded policy on posted labelled items, through the classify path."""

from __future__ import annotations

import asyncio
from typing import Any

from service.api.classify import prepare_many, score_prepared
from service.api.deps import ServiceState
from service.api.payloads import RawItem
from service.errors import reply_for
from service.evaluation.labelled_data import DryRunRequest, LabelError, LabelledItem
from service.evaluation.metrics import dry_run_metrics
from service.evaluation.report import json_safe
from service.policy.rules import ModelScores
from service.serving.inputs import PreparedItem

MAX_ERROR_SAMPLES = 50


async def dry_run(state: ServiceState, policy_name: str, request: DryRunRequest) -> dict[str, Any]:
    """Score the items like `/v1/classify` does and return the evaluation metrics of the named policy.

    Items that cannot be used (bad base64, undecodable image, no input) are skipped and listed.
    Decoding and scoring go in chunks of one round of batches, so a large dry run never fills the
    decode pool or the queue ahead of live traffic. Nothing is counted in the classify metrics.
    """
    policy = state.policies.get(policy_name)
    errors: list[str] = []
    labelled: list[LabelledItem] = []
    raws: list[RawItem] = []
    for index, record in enumerate(request.items):
        try:
            item = record.to_item_base64(f"item-{index}")
        except LabelError as e:
            errors.append(f"{record.id or f'item-{index}'}: {e}")
            continue
        labelled.append(item)
        raws.append(RawItem(item.id, item.text, item.image_bytes(), None))

    settings = state.settings
    chunk = min(settings.max_batch_size * settings.inference_workers, settings.queue_size)
    items: list[LabelledItem] = []
    scores: list[ModelScores] = []
    for start in range(0, len(raws), chunk):
        usable: list[tuple[LabelledItem, PreparedItem]] = []
        part = labelled[start : start + chunk]
        for item, prepared in zip(part, await prepare_many(state, raws[start : start + chunk]), strict=True):
            if isinstance(prepared, Exception):
                errors.append(f"{item.id}: {reply_for(prepared).message}")
            else:
                usable.append((item, prepared))
        scored = await score_prepared(state, [p for _, p in usable], settings.request_timeout_ms / 1000)
        for (item, _), result in zip(usable, scored, strict=True):
            if isinstance(result, Exception):
                errors.append(f"{item.id}: {reply_for(result).message}")
            else:
                items.append(item)
                scores.append(result.scores)

    metrics = await asyncio.to_thread(dry_run_metrics, items, scores, policy)
    metrics["data"] = {
        "received": len(request.items),
        "scored": len(items),
        "scoring_errors": len(errors),
        "scoring_error_samples": errors[:MAX_ERROR_SAMPLES],
    }
    safe: dict[str, Any] = json_safe(metrics)
    return safe
