"""Service settings: one pydantic-settings class, read once in `main()` and passed down."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Device = Literal["auto", "cpu", "cuda"]
OcrSetting = Literal["auto", "on", "off"]


# The repo's shipped default bundle, where a checkout keeps it. It is no package data (the wheel stays
# small; the Docker image copies its own bundle and sets SAFETY_MODEL_DIR), so a `pip install .` finds it
# only when started from the checkout's root; elsewhere `--model DIR` or SAFETY_MODEL_DIR names it.
SHIPPED_BUNDLE = Path("model") / "artifacts" / "glyph-minilm"
# ... next to the `service` package: there in a checkout or an editable install, not in `pip install .`
SHIPPED_MODEL_DIR = Path(__file__).resolve().parents[1] / SHIPPED_BUNDLE


def shipped_model_dir() -> Path:
    """Return the shipped bundle: next to the source, else in the current directory (which may not exist:
    `serve` then says how to name one)."""
    return SHIPPED_MODEL_DIR if SHIPPED_MODEL_DIR.is_dir() else Path.cwd() / SHIPPED_BUNDLE


class Settings(BaseSettings):
    """Every knob of the service; env vars `SAFETY_<NAME>` override the defaults."""

    # hide_input_in_errors: a bad setting's error names the field, never the values given (the admin
    # token among them: pydantic otherwise prints the whole input of a model-level check)
    model_config = SettingsConfigDict(
        env_prefix="SAFETY_", extra="ignore", frozen=True, hide_input_in_errors=True
    )

    # where to listen
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)

    # what to serve
    model_dir: Path = Field(default_factory=shipped_model_dir)  # a bundle: manifest.json + ONNX variants
    # YAML policy files (the built-in `default` is always there); `serve` defaults it to the repo's policies/
    policies_dir: Path | None = None
    policy_watch_s: float = Field(default=5.0, ge=0.0)  # reload when a policy file changes; 0 = off
    shadow_policy: str | None = None  # runs beside the live policy; only its disagreements are counted
    device: Device = "auto"  # auto: CUDA when a GPU and the CUDA provider really work, else CPU
    variant: str | None = None  # override the manifest's default_variant for the device

    # ONNX Runtime threads per session run; 0 lets ONNX Runtime choose (all physical cores). On CPU, one
    # single-threaded run per core beat one run on every core: 298 against 245 requests/s on 2 cores
    # (docs/performance.md). The defaults (2 workers x 1 thread) suit 2 cores; elsewhere set
    # inference_workers x intra_op_threads = the CPU limit.
    intra_op_threads: int = Field(default=1, ge=0)
    inter_op_threads: int = Field(default=0, ge=0)
    warmup: bool = True  # run dummy batches before /readyz turns true

    # batching: raise max_batch_size for throughput, max_wait_ms trades latency for fuller batches
    max_batch_size: int = Field(default=32, ge=1, le=1024)
    max_wait_ms: float = Field(default=0.0, ge=0.0, le=1000.0)
    queue_size: int = Field(default=512, ge=1)  # per stage (decode, batch): items waiting beyond it get 429
    inference_workers: int = Field(
        default=2, ge=1, le=8
    )  # batches run at once: one is assembled while another runs (CPU: one per core; GPU: 2)
    request_timeout_ms: float = Field(default=10_000.0, gt=0.0)  # a request still queued after this gets 504
    retry_after_s: int = Field(default=1, ge=1)
    # Admission, before the body is read: past this many classify requests in flight, a request gets 429
    # `overloaded` (Retry-After, Connection: close) without its body being read, parsed or decoded.
    # Unset: 2 x inference_workers x max_batch_size (128 by default: one batch running and one waiting
    # per worker), at least 64: at the ~250 requests/s of 2 cores (docs/performance.md) an admitted
    # request waits about half a second. Items are still counted against queue_size after parsing.
    max_in_flight: int | None = Field(
        default=None,
        ge=1,
        description="Classify requests admitted at once; past it 429 before the body is read",
    )
    # uvicorn's own limits: connections at once (past it uvicorn answers a plain-text 503; idle keep-alive
    # connections count, so keep it well above max_in_flight) and the listen backlog
    max_connections: int = Field(
        default=2048, ge=1, description="uvicorn's connection limit, well above max_in_flight"
    )
    backlog: int = Field(default=2048, ge=1, description="The listen backlog")
    body_timeout_s: float = Field(
        default=10.0, gt=0.0, description="A body not all there this long after the headers gets 408"
    )  # a body not all there this long after arrival: 408
    # On SIGTERM: this long answering new requests 503 `shutting_down` (Retry-After) while the listener
    # still accepts (so connections already made get an answer, not a reset), then the listener closes
    # and work in flight gets shutdown_grace_s. Both fit Kubernetes' preStop (5 s) and 30 s grace.
    shutdown_drain_s: float = Field(
        default=2.0, ge=0.0, description="After SIGTERM, answer 503 + Retry-After this long before closing"
    )
    shutdown_grace_s: float = Field(
        default=10.0, ge=0.0, description="Then let requests in flight finish this long"
    )  # how long shutdown waits for queued work

    # input limits
    max_body_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    max_image_pixels: int = Field(default=40_000_000, ge=1)  # larger images are refused (decompression bombs)
    # Memory one image may take decoded (width x height x bands x bytes per band, after a JPEG's
    # reduced-scale decode; PNG, WebP, GIF and BMP decode at full size): past it, 413 `image_too_costly`.
    # 64 MiB holds a 4K RGBA screenshot (32 MiB) or a 22-megapixel RGB PNG; with decode_threads (4)
    # decoding at once, images cost a request at most 256 MiB (docs/operations.md, Memory).
    max_image_decoded_mb: int = Field(
        default=64, ge=1, description="Memory one image may take decoded; past it 413 image_too_costly"
    )
    max_text_chars: int = Field(
        default=20_000, ge=1
    )  # longer texts are refused; max_tokens truncation is below this
    max_text_windows: int = Field(
        default=16,
        ge=1,
        le=1024,
        description="Most windows (engine rows) one text is read in. A text longer than the manifest's "
        "text.max_tokens is read in overlapping windows; past this many, the first windows and the last "
        "are read and the response says text_truncated. 16 covers 4,000 characters of English at the "
        "shipped 128-token window: at ~4 characters a token that is ~1,000 tokens, which 128-token windows "
        "at stride 64 (126 text tokens each) read in 1 + ceil((1000 - 126) / 64) = 15 windows; 16 read "
        "126 + 15 * 64 = 1,086 tokens (~4,300 characters), and 256-token windows at stride 128 read "
        "254 + 15 * 128 = 2,174 tokens (~8,700 characters). 1 reads the first window only.",
    )
    max_batch_items: int = Field(default=64, ge=1)
    decode_threads: int = Field(default=4, ge=1)

    # OCR: the text in images, read with PP-OCRv4 (the `ocr` extra plus rapidocr-onnxruntime installed
    # without its dependencies; docs/operations.md, OCR) and scored as part of the image's reading
    ocr: OcrSetting = Field(
        default="auto",
        description="Read the text in images. auto: on a GPU every image; on CPU behind a text-presence "
        "gate (a detection at 480 px); off without the OCR package (one log line). on: every image, "
        "and no start without the package. off: never",
    )
    ocr_max_chars: int = Field(
        default=1000,
        ge=1,
        le=20_000,
        description="Most characters kept of the text read in one image: reading stops past it, which "
        "bounds the recognition's cost (a text-dense page)",
    )
    ocr_max_side: int = Field(
        default=960,
        ge=64,
        le=2000,
        description="Longest side of the copy of an image that OCR reads; it counts in "
        "SAFETY_MAX_IMAGE_DECODED_MB and bounds the detection's cost",
    )
    ocr_threads: int = Field(
        default=2,
        ge=1,
        le=64,
        description="Images read at once: OCR's own thread pool (one ONNX Runtime thread each), apart "
        "from the decode pool, the batcher and the event loop",
    )

    # admin endpoints (`/admin/...`) need `Authorization: Bearer <admin_token>`; unset: admin is disabled
    admin_token: SecretStr | None = None

    # The audit log: one JSON line per decision (hashes of the inputs, policy and model versions, verdict,
    # action, reasons, timings; never content), written by a background thread (docs/operations.md).
    audit_log: str | None = Field(
        default=None,
        description="Audit log: one JSON line per decision (hashes, never content) appended to this file, "
        "or - for stdout; unset: off. Reopened when the file is moved; rotation is the platform's",
    )
    audit_queue_size: int = Field(
        default=10_000,
        ge=1,
        description="Audit lines waiting to be written; past it a line is dropped and counted "
        "(safety_audit_lines_total{result=dropped}), never a request held up",
    )
    # Reviewer feedback (`POST /v1/feedback`): on only when both the folder and the token are set. It
    # stores content (texts and images, with the reviewers' grades) as labelled data for eval/tune/train.
    feedback_dir: Path | None = Field(
        default=None,
        description="Folder where POST /v1/feedback appends labelled data (labelled.jsonl + images/); "
        "it stores content. On only with SAFETY_FEEDBACK_TOKEN",
    )
    feedback_token: SecretStr | None = None  # the reviewers' bearer token (a secret: never a flag)
    max_feedback_note_chars: int = Field(
        default=2000, ge=1, description="Longest reviewer note POST /v1/feedback takes (422 past it)"
    )

    # logging
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    @field_validator(
        "admin_token",
        "shadow_policy",
        "policies_dir",
        "audit_log",
        "feedback_dir",
        "feedback_token",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _check_model_dir(self) -> Settings:
        if self.model_dir.exists() and not self.model_dir.is_dir():
            raise ValueError(f"model_dir {self.model_dir} is not a directory")
        return self

    @property
    def in_flight_limit(self) -> int:
        """Classify requests admitted at once (SAFETY_MAX_IN_FLIGHT, else sized from the batching)."""
        return self.max_in_flight or max(64, 2 * self.inference_workers * self.max_batch_size)

    @model_validator(mode="after")
    def _check_connections_exceed_admission(self) -> Settings:
        if self.max_connections <= self.in_flight_limit:
            # uvicorn would refuse with its plain-text 503 before the app could answer its JSON 429
            raise ValueError(
                f"max_connections ({self.max_connections}) must exceed the requests admitted in flight "
                f"({self.in_flight_limit})"
            )
        return self

    @model_validator(mode="after")
    def _check_batch_fits_queue(self) -> Settings:
        if self.max_batch_items > self.queue_size:
            # a batch that large could never be queued: it would get 429 on every try
            raise ValueError(
                f"max_batch_items ({self.max_batch_items}) must not exceed queue_size ({self.queue_size})"
            )
        return self
