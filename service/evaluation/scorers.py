"""Scorers: where evaluation gets model scores from (the in-process engine, or a running server)."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from service.errors import ServiceError
from service.policy.rules import ModelScores
from service.serving.batching import score_items
from service.serving.bundle import Bundle
from service.serving.engine import CUDA_PROVIDER, Engine, EngineInfo, OnnxEngine
from service.serving.inputs import PreparedItem, Preprocessor, configure_pillow
from service.serving.ocr import TextReader, plan_ocr, read_image_text
from service.settings import Settings

if TYPE_CHECKING:
    import httpx

    from service.evaluation.labelled_data import LabelledItem


@dataclass(frozen=True)
class ItemError:
    """One item could not be scored (bad image, server-side error); evaluation counts and skips it."""

    message: str


class Scorer(Protocol):
    """Turns labelled items into model scores, one result per item, in order."""

    def score(self, items: Sequence[LabelledItem]) -> Sequence[ModelScores | ItemError]:
        """Score one batch of items."""
        ...


class EngineScorer:
    """Scores items in-process with the server's own bundle, engine and input code (no HTTP)."""

    def __init__(self, bundle: Bundle, settings: Settings, engine: Engine | None = None) -> None:
        configure_pillow(settings.max_image_pixels)
        self._engine = engine if engine is not None else OnnxEngine.load(bundle, settings)
        # the text in images is read as the server reads it (SAFETY_OCR, the engine's device)
        plan = plan_ocr(settings.ocr, cuda=self._engine.info.provider == CUDA_PROVIDER)
        self._reader = TextReader.load(plan, settings) if plan else None
        self._preprocessor = Preprocessor(bundle, settings, settings.ocr_max_side if plan else None)
        self._absent_ids = self._preprocessor.text.absent_ids()
        self._pool = ThreadPoolExecutor(settings.decode_threads, thread_name_prefix="decode")

    @property
    def info(self) -> EngineInfo:
        """The loaded model variant and execution provider."""
        return self._engine.info

    def score(self, items: Sequence[LabelledItem]) -> list[ModelScores | ItemError]:
        """Decode the items in the thread pool, run the usable ones as one batch, keep the order."""
        prepared = list(self._pool.map(self._prepare, items))
        usable = [(i, p) for i, p in enumerate(prepared) if isinstance(p, PreparedItem)]
        results: list[ModelScores | ItemError] = [
            p if isinstance(p, ItemError) else ItemError("not scored") for p in prepared
        ]
        if usable:
            # every text window a row, combined as the server combines them
            scored = score_items(
                self._engine, [p for _, p in usable], self._preprocessor.image_size, self._absent_ids
            )
            for (index, _), scores in zip(usable, scored, strict=True):
                results[index] = scores
        return results

    def _prepare(self, item: LabelledItem) -> PreparedItem | ItemError:
        try:
            prepared = self._preprocessor.prepare(item.image_bytes(), item.text)
            if self._reader is not None and prepared.ocr_pixels is not None:
                _, prepared = read_image_text(self._reader, self._preprocessor, prepared, item.text)
            return prepared
        except ServiceError as e:
            return ItemError(e.message)
        except OSError as e:
            return ItemError(f"cannot read the image: {e}")

    def close(self) -> None:
        """Stop the decode threads."""
        self._pool.shutdown(wait=False, cancel_futures=True)


class ScoringError(RuntimeError):
    """A whole batch could not be scored (server unreachable, bad response)."""


def _triple(modality: Any) -> tuple[float, float, float] | None:
    """Read a modality's `{grade, scores: {safe, borderline, unsafe}}`; None for an absent one."""
    if modality is None:
        return None
    scores = modality["scores"]
    return float(scores["safe"]), float(scores["borderline"]), float(scores["unsafe"])


def _categories(categories: Mapping[str, Any]) -> dict[str, float]:
    """Read `categories` (slug → {score, flagged}) as slug → score."""
    return {str(slug): float(entry["score"]) for slug, entry in categories.items()}


def parse_classify_result(result: Mapping[str, Any]) -> ModelScores | ItemError:
    """Read model scores from one item of a `/v1/classify(/batch)` response (design §4)."""
    if "error" in result and "modalities" not in result:
        error = result["error"]
        message = error.get("message", str(error)) if isinstance(error, Mapping) else str(error)
        return ItemError(str(message))
    try:
        modalities = result["modalities"]
        joint = _triple(modalities["joint"])
        if joint is None:
            return ItemError("response has no joint scores")
        return ModelScores(
            image=_triple(modalities.get("image")),
            text=_triple(modalities.get("text")),
            joint=joint,
            categories=_categories(result.get("categories") or {}),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        return ItemError(f"unreadable response item: {e!r}")


class HttpScorer:
    """Scores items on a running server via `POST {url}/v1/classify/batch`.

    A busy or restarting server (429, 503) is asked again after its `Retry-After` (at most
    `MAX_WAIT_S`), up to `attempts` times, so one full queue does not end a long evaluation.
    """

    RETRY_STATUSES = (429, 503)
    MAX_WAIT_S = 30.0

    def __init__(
        self,
        url: str,
        *,
        batch_size: int = 32,
        timeout_s: float = 120.0,
        headers: Mapping[str, str] | None = None,
        client: httpx.Client | None = None,
        attempts: int = 5,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        import httpx

        self.url = url.rstrip("/")
        self.batch_size = batch_size
        self._client = client or httpx.Client(timeout=timeout_s, headers=dict(headers or {}))
        self._attempts = max(1, attempts)
        self._sleep = sleep

    def score(self, items: Sequence[LabelledItem]) -> list[ModelScores | ItemError]:
        """Post the items in batches of `batch_size`; per-item errors come back as ItemError."""
        results: list[ModelScores | ItemError] = []
        for start in range(0, len(items), self.batch_size):
            results.extend(self._score_batch(items[start : start + self.batch_size]))
        return results

    def _score_batch(self, items: Sequence[LabelledItem]) -> list[ModelScores | ItemError]:
        import httpx

        payload = []
        for item in items:
            image = item.image_bytes()
            payload.append(
                {
                    "id": item.id,
                    "text": item.text,
                    "image": base64.b64encode(image).decode("ascii") if image is not None else None,
                }
            )
        for attempt in range(1, self._attempts + 1):
            try:
                response = self._client.post(f"{self.url}/v1/classify/batch", json={"items": payload})
            except httpx.HTTPError as e:
                raise ScoringError(f"cannot reach {self.url}: {e}") from e
            if response.status_code not in self.RETRY_STATUSES or attempt == self._attempts:
                break
            self._sleep(self._retry_after(response))
        if response.status_code == 413:  # the body is over the server's limit: send fewer items at once
            if len(items) > 1:
                half = len(items) // 2
                return self._score_batch(items[:half]) + self._score_batch(items[half:])
            return [ItemError(f"too large for {self.url} even alone (413): {response.text[:200]}")]
        if response.status_code != 200:
            raise ScoringError(
                f"{self.url}/v1/classify/batch answered {response.status_code}: {response.text[:500]}"
            )
        body = response.json()
        results = body.get("results") if isinstance(body, Mapping) else None
        if not isinstance(results, list) or len(results) != len(items):
            raise ScoringError(f"expected {len(items)} results from {self.url}, got {type(results).__name__}")
        return [
            parse_classify_result(r) if isinstance(r, Mapping) else ItemError("not an object")
            for r in results
        ]

    def _retry_after(self, response: httpx.Response) -> float:
        given = response.headers.get("retry-after", "")
        return min(float(given), self.MAX_WAIT_S) if given.isdigit() else 1.0

    def manifest_thresholds(self) -> dict[str, Any] | None:
        """Return the served model's default thresholds from its manifest, if the server says
        (`GET /v1/models` names the model, `GET /v1/models/{id}/manifest` holds the thresholds)."""
        import httpx

        try:
            listed = self._client.get(f"{self.url}/v1/models").json()
            model_id = listed["data"][0]["id"]
            body = self._client.get(f"{self.url}/v1/models/{model_id}/manifest").json()
            thresholds = body["manifest"]["thresholds"]
        except (httpx.HTTPError, ValueError, KeyError, IndexError, TypeError):
            return None
        return dict(thresholds) if isinstance(thresholds, Mapping) else None

    def close(self) -> None:
        """Close the HTTP client."""
        self._client.close()
