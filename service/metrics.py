"""Prometheus metrics, in a registry of their own per app (so tests and apps never collide)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)
WINDOW_BUCKETS = (1, 2, 4, 8, 16, 32, 64)
RELOAD_TRIGGERS = ("endpoint", "sighup", "file")  # what asks for a policy reload (service.api.admin)
AUDIT_RESULTS = ("written", "failed", "dropped")  # what became of an audit line (service.api.audit)
OCR_RESULTS = ("text", "none", "gated")  # what OCR made of an image (service.api.classify)


class Metrics:
    """Every metric the service exports; also the batcher's `BatchStats`."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "safety_requests", "HTTP requests by route and status", ["route", "method", "status"], registry=r
        )
        self.request_seconds = Histogram(
            "safety_request_seconds", "HTTP request latency", ["route"], buckets=LATENCY_BUCKETS, registry=r
        )
        self.queue_seconds = Histogram(
            "safety_queue_seconds",
            "Time an item waited in the batch queue, until its batch started or its deadline passed",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.inference_seconds = Histogram(
            "safety_inference_seconds",
            "Time one batch took in the engine",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.item_seconds = Histogram(
            "safety_item_seconds", "Total time per classified item", buckets=LATENCY_BUCKETS, registry=r
        )
        self.batch_size = Histogram(
            "safety_batch_size",
            "Rows per engine batch (one per item, or per window of a long text)",
            buckets=BATCH_BUCKETS,
            registry=r,
        )
        self.batch_failures = Counter("safety_batch_failures", "Batches whose inference raised", registry=r)
        self.deadline_expired = Counter(
            "safety_deadline_expired", "Items whose deadline passed in the queue", registry=r
        )
        self.queue_depth = Gauge(
            "safety_queue_depth",
            "Rows waiting in the batch queue (one per item, or per text window)",
            registry=r,
        )
        self.in_flight = Gauge(
            "safety_in_flight_items", "Rows in running batches (one per item, or per text window)", registry=r
        )
        self.verdicts = Counter(
            "safety_verdicts",
            "Verdicts by policy, verdict and action",
            ["policy", "verdict", "action"],
            registry=r,
        )
        self.flagged = Counter(
            "safety_flagged",
            "Flagged categories by policy, category and the item's action",
            ["policy", "category", "action"],
            registry=r,
        )
        self.emergent = Counter("safety_emergent", "Cross-modal (emergent) verdicts", ["policy"], registry=r)
        self.shadow_disagreements = Counter(
            "safety_shadow_disagreements",
            "Differences of the shadow policy's decision from the live one: `what` is action, "
            "grade:<image|text|joint> or category:<slug>; `direction` is the shadow's (stricter/looser)",
            ["policy", "shadow", "what", "direction"],
            registry=r,
        )
        self.shadow_decisions = Counter(
            "safety_shadow_decisions", "Items the shadow also decided", ["policy", "shadow"], registry=r
        )
        self.policy_reloads = Counter(
            "safety_policy_reloads", "Policy reloads by trigger and result", ["trigger", "result"], registry=r
        )
        # Every series exists from the start at 0: `increase()` cannot see a first rejected reload
        # in a series that appears already at 1, so the reload alert would miss it.
        for trigger in RELOAD_TRIGGERS:
            for result in ("ok", "error"):
                self.policy_reloads.labels(trigger, result)
        self.policy_info = Gauge(
            "safety_policy_info", "The loaded policies (1 each)", ["policy", "version", "role"], registry=r
        )
        self.text_truncated = Counter(
            "safety_text_truncated", "Texts longer than max_tokens (read in windows)", registry=r
        )
        self.text_windows = Histogram(
            "safety_text_windows",
            "Windows of max_tokens per text (one engine row each; 1 for a text that fits)",
            buckets=WINDOW_BUCKETS,
            registry=r,
        )
        self.text_windows_capped = Counter(
            "safety_text_windows_capped",
            "Texts with more windows than SAFETY_MAX_TEXT_WINDOWS: their middle windows were not read",
            registry=r,
        )
        self.ocr_seconds = Histogram(
            "safety_ocr_seconds",
            "Time OCR took on one image (in its own thread pool; the gate's alone for an image it let pass)",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.ocr_images = Counter(
            "safety_ocr_images",
            "Images OCR looked at, by result: text (some was read), none (detection found none, or none "
            "legible), gated (the CPU text-presence gate found none: nothing else ran)",
            ["result"],
            registry=r,
        )
        for result in OCR_RESULTS:
            self.ocr_images.labels(result)
        self.ocr_characters = Counter(
            "safety_ocr_characters", "Characters OCR read in images (and kept)", registry=r
        )
        self.ocr_capped = Counter(
            "safety_ocr_capped",
            "Images with more text than SAFETY_OCR_MAX_CHARS: reading stopped there",
            registry=r,
        )
        self.ocr_failures = Counter(
            "safety_ocr_failures",
            "Images OCR did not read, by reason: error (it raised: the item got 500 ocr_failed) or deadline "
            "(the request's deadline passed while the image waited for OCR: 504)",
            ["reason"],
            registry=r,
        )
        for reason in ("error", "deadline"):
            self.ocr_failures.labels(reason)
        self.ocr_mode = Gauge(
            "safety_ocr_mode", "How images are read (1 for the mode): all, gated or off", ["mode"], registry=r
        )
        self.model_info = Gauge(
            "safety_model_info",
            "The loaded model",
            ["name", "version", "sha256", "variant", "provider"],
            registry=r,
        )
        self.ready = Gauge("safety_ready", "1 once the model is loaded and warm", registry=r)
        self.client_disconnects = Counter(
            "safety_client_disconnects",
            "Requests whose client went away before its body was read (counted as status 499)",
            registry=r,
        )
        self.admission_refused = Counter(
            "safety_admission_refused",
            "Requests refused before their body was read: `overloaded` (429) or `shutting_down` (503)",
            ["reason"],
            registry=r,
        )
        for reason in ("overloaded", "shutting_down"):
            self.admission_refused.labels(reason)
        self.audit_lines = Counter(
            "safety_audit_lines",
            "Audit log lines by result: written; failed (the write raised: disk full, folder gone); "
            "dropped (the queue was full, SAFETY_AUDIT_QUEUE_SIZE: the disk is slower than the decisions)",
            ["result"],
            registry=r,
        )
        for result in AUDIT_RESULTS:
            self.audit_lines.labels(result)

    def track_queue(self, depth: Callable[[], float], in_flight: Callable[[], float]) -> None:
        """Read queue depth and in-flight items from the batcher at scrape time."""
        self.queue_depth.set_function(depth)
        self.in_flight.set_function(in_flight)

    def set_policies(self, versions: Mapping[str, str], default: str, shadow: str | None) -> None:
        """Publish the loaded policies and their versions (again after every reload)."""
        self.policy_info.clear()
        for name, version in versions.items():
            role = "default" if name == default else "shadow" if name == shadow else "named"
            self.policy_info.labels(name, version, role).set(1)

    def render(self) -> bytes:
        """Return the text exposition format."""
        return generate_latest(self.registry)

    # BatchStats
    def batch_done(self, size: int, inference_s: float) -> None:
        self.batch_size.observe(size)
        self.inference_seconds.observe(inference_s)

    def batch_failed(self, size: int) -> None:
        self.batch_size.observe(size)
        self.batch_failures.inc()

    def item_started(self, queue_s: float) -> None:
        self.queue_seconds.observe(queue_s)

    def item_expired(self, queue_s: float) -> None:  # the longest waits: the queue's figure must hold them
        self.deadline_expired.inc()
        self.queue_seconds.observe(queue_s)
