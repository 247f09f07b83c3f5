"""A fake engine satisfying `service.serving.engine.Engine`: knobs to block, slow down or fail batches."""

from __future__ import annotations

import threading
import time

import numpy as np

from service.serving.engine import Batch, BatchScores, EngineInfo
from tests.service.bundle import UNSAFE_IDS

FAKE_INFO = EngineInfo(variant="fake", file="fake.onnx", sha256="0" * 64, provider="FakeProvider")


def _softmax_grade(x: np.ndarray) -> np.ndarray:
    logits = np.stack([4 - 8 * x, np.zeros_like(x), 8 * x - 4], axis=1)
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return np.asarray(e / e.sum(axis=1, keepdims=True), dtype=np.float32)


class FakeEngine:
    """Scores like tests/service/bundle.py's graph (text: only unsafe words count)."""

    def __init__(self, n_categories: int = 15) -> None:
        self.n_categories = n_categories
        self.gate = threading.Event()  # clear() to make run() block until set()
        self.gate.set()
        self.warm_gate = threading.Event()  # clear() to hold warm-up
        self.warm_gate.set()
        self.delay_s = 0.0
        self.fail_next = 0  # the next N batches raise
        self.batch_sizes: list[int] = []
        self.runs_started = 0
        self.warmed: list[int] = []
        # token id -> (text x, joint x): a row's x is the largest of its tokens' (0 for none), instead of the
        # unsafe-word rule; lets a test make one window's text and another window's joint the most severe
        self.token_scores: dict[int, tuple[float, float]] | None = None
        self.rows_seen: list[list[int]] = []  # the real tokens of every row run, in order
        self._lock = threading.Lock()

    @property
    def info(self) -> EngineInfo:
        return FAKE_INFO

    def run(self, batch: Batch) -> BatchScores:
        with self._lock:
            self.runs_started += 1
            fail = self.fail_next > 0
            self.fail_next -= int(fail)
        self.gate.wait(timeout=30)
        if self.delay_s:
            time.sleep(self.delay_s)
        if fail:
            raise RuntimeError("fake engine failure")
        size = len(batch)
        with self._lock:
            self.batch_sizes.append(size)
            self.rows_seen.extend(
                ids[mask > 0].tolist()
                for ids, mask in zip(batch.input_ids, batch.attention_mask, strict=True)
            )
        m = np.asarray(batch.pixels.reshape(size, -1).mean(axis=1) / 255.0)
        unsafe_token = (batch.input_ids >= UNSAFE_IDS[0]) & (batch.attention_mask > 0)
        t = np.asarray(unsafe_token.any(axis=1), dtype=np.float64)
        j = np.asarray(np.minimum(m * batch.present[:, 0] + t * batch.present[:, 1], 1.0))
        if self.token_scores is not None:
            t, j = self._by_token(batch)
        categories = 1 / (1 + np.exp(-(10 * j[:, None] * np.linspace(0.6, 1.6, self.n_categories) - 5)))
        return BatchScores(
            _softmax_grade(m), _softmax_grade(t), _softmax_grade(j), categories.astype(np.float32)
        )

    def _by_token(self, batch: Batch) -> tuple[np.ndarray, np.ndarray]:
        assert self.token_scores is not None
        t, j = np.zeros(len(batch)), np.zeros(len(batch))
        for row, (ids, mask) in enumerate(zip(batch.input_ids, batch.attention_mask, strict=True)):
            for token in ids[mask > 0].tolist():
                text_x, joint_x = self.token_scores.get(token, (0.0, 0.0))
                t[row], j[row] = max(t[row], text_x), max(j[row], joint_x)
        return t, j

    def warmup(self, batch_sizes: list[int]) -> None:
        self.warm_gate.wait(timeout=30)
        self.warmed = list(batch_sizes)
