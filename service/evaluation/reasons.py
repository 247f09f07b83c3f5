"""Count a policy's decisions per reason code, split by the items' gold joint grade (the eval report)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from service.policy.reasons import REASON_CODES
from service.policy.rules import ModelScores, Policy
from service.taxonomy import GRADES

# The report's names for the gold joint grades (GRADES order): a gold-safe item is a harmless one.
GOLD_COLUMNS = ("harmless", "borderline", "unsafe")


def reason_counts(
    gold_joint: npt.NDArray[np.int64], scores: Sequence[ModelScores], policy: Policy
) -> list[dict[str, Any]]:
    """Return one row per reason code (every code, in REASON_CODES order): how many decisions carry it,
    and how many of those were on gold harmless, borderline and unsafe items.

    A decision counts once per code, however many reasons of that code it has; an item without a gold
    joint grade counts in `decisions` only. The reasons are `Policy.decide`'s, item by item: the ones
    the service answers with.
    """
    if len(gold_joint) != len(scores):
        raise ValueError(f"{len(gold_joint)} gold grades but {len(scores)} scores")
    counts = {code: [0] * (1 + len(GRADES)) for code in REASON_CODES}  # decisions, then per gold grade
    for gold, item in zip(gold_joint.tolist(), scores, strict=True):
        for code in {reason.code for reason in policy.decide(item).reasons}:
            row = counts[code]
            row[0] += 1
            if gold >= 0:
                row[1 + gold] += 1
    return [
        {"code": code, "decisions": row[0], **dict(zip(GOLD_COLUMNS, row[1:], strict=True))}
        for code, row in counts.items()
    ]
