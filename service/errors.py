"""Service errors and the one table that maps them to HTTP statuses."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError


class ServiceError(Exception):
    """An error with a stable machine-readable `code`; its HTTP status comes from `STATUS`."""

    code = "internal_error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def headers(self) -> dict[str, str]:
        """Return the HTTP headers the error reply carries (none by default)."""
        return {}


# 400 malformed request
class BadRequest(ServiceError):
    code = "bad_request"


class EmptyBody(BadRequest):
    code = "empty_body"


class InvalidJSON(BadRequest):
    code = "invalid_json"


class InvalidBase64(BadRequest):
    code = "invalid_base64"


class InvalidDataUrl(BadRequest):
    code = "invalid_data_url"


# 413 too large
class PayloadTooLarge(ServiceError):
    code = "body_too_large"


class ImageTooLarge(ServiceError):
    code = "image_too_large"


class ImageTooCostly(ImageTooLarge):
    """Within the pixel limit, but its shape or mode would take more memory to decode than allowed."""

    code = "image_too_costly"


# 415 not a supported media type
class UnsupportedMediaType(ServiceError):
    code = "unsupported_media_type"


class UnsupportedImageFormat(ServiceError):
    code = "unsupported_image_format"


# 422 well-formed but unusable
class UnprocessableInput(ServiceError):
    code = "invalid_request"


class InvalidImage(UnprocessableInput):
    code = "invalid_image"


class MissingInput(UnprocessableInput):
    code = "missing_input"


class TextTooLong(UnprocessableInput):
    code = "text_too_long"


class TooManyItems(UnprocessableInput):
    code = "too_many_items"


class RemoteImageUrlRefused(UnprocessableInput):
    """An http(s) image URL: the service never fetches remote content; send the bytes as a data URL."""

    code = "remote_image_url_refused"


class TooManyImages(UnprocessableInput):
    code = "too_many_images"


class InvalidLabels(UnprocessableInput):
    """Reviewer grades that do not fit the item or the taxonomy (`POST /v1/feedback`)."""

    code = "invalid_labels"


class NoteTooLong(UnprocessableInput):
    code = "note_too_long"


# 401 / 403: the admin endpoints
class Unauthorized(ServiceError):
    code = "unauthorized"

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": "Bearer"}


class AdminDisabled(ServiceError):
    code = "admin_disabled"


# 404 / 409 / 429 / 503 / 504 / 500
class UnknownPolicy(ServiceError):
    code = "unknown_policy"

    def __init__(self, name: str, known: Sequence[str]) -> None:
        super().__init__(f"unknown policy {name!r}; known policies: {', '.join(known)}", known=list(known))
        self.name = name
        self.known = list(known)


class UnknownModel(ServiceError):
    code = "model_not_found"


class FeedbackDisabled(ServiceError):
    """`POST /v1/feedback` without SAFETY_FEEDBACK_DIR and SAFETY_FEEDBACK_TOKEN: the endpoint is off (404,
    not 503: nothing to retry, and no alert on refused requests should count it)."""

    code = "feedback_disabled"


class StorageError(ServiceError):
    """The audit log or the feedback folder cannot be written (at start-up the service refuses to start)."""

    code = "storage_error"


class NoPolicyDirectory(ServiceError):
    """A reload was asked for, but the service was started without a policy directory."""

    code = "no_policy_directory"


class QueueFull(ServiceError):
    code = "queue_full"

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_s)}


class Overloaded(QueueFull):
    """Too many requests in flight: refused before its body is read, so the connection closes."""

    code = "overloaded"

    def headers(self) -> dict[str, str]:
        return {**super().headers(), "Connection": "close"}


class BodyTimeout(ServiceError):
    """The body did not arrive in time (a stalled upload): the connection closes."""

    code = "body_timeout"

    def headers(self) -> dict[str, str]:
        return {"Connection": "close"}


class NotReady(ServiceError):
    code = "not_ready"


class ShuttingDown(NotReady):
    """The service is draining or stopping: retry on another replica (the connection closes)."""

    code = "shutting_down"

    def headers(self) -> dict[str, str]:
        return {"Retry-After": "1", "Connection": "close"}


class DeadlineExceeded(ServiceError):
    code = "deadline_exceeded"


class InferenceFailed(ServiceError):
    code = "inference_failed"


class ModelBundleError(ServiceError):
    """The model bundle is missing, malformed or fails its integrity check (the service refuses to start)."""

    code = "model_bundle_error"


class OcrUnavailable(ServiceError):
    """SAFETY_OCR=on, but the OCR package is not installed or its models do not load (the service refuses
    to start)."""

    code = "ocr_unavailable"


class OcrFailed(ServiceError):
    """Reading the text in an image raised: the item fails (500) rather than be scored without it."""

    code = "ocr_failed"


# The one table: exception class -> HTTP status. Subclasses inherit their parent's row.
STATUS: dict[type[Exception], int] = {
    BadRequest: 400,
    Unauthorized: 401,
    AdminDisabled: 403,
    UnknownPolicy: 404,
    UnknownModel: 404,
    FeedbackDisabled: 404,
    BodyTimeout: 408,
    NoPolicyDirectory: 409,
    PayloadTooLarge: 413,
    ImageTooLarge: 413,
    UnsupportedMediaType: 415,
    UnsupportedImageFormat: 415,
    UnprocessableInput: 422,
    ValidationError: 422,
    QueueFull: 429,
    InferenceFailed: 500,
    ServiceError: 500,
    NotReady: 503,
    DeadlineExceeded: 504,
}


@dataclass(frozen=True)
class ErrorReply:
    """What an exception becomes on the wire: status, JSON body and headers."""

    status: int
    code: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        """Return the `{"error": {"code", "message", ...}}` body."""
        return {"error": {"code": self.code, "message": self.message, **self.details}}


def status_of(exc: BaseException) -> int:
    """Look the exception's class (or its nearest listed ancestor) up in `STATUS`."""
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def reply_for(exc: BaseException) -> ErrorReply:
    """Turn any exception into the error reply the API sends."""
    status = status_of(exc)
    if isinstance(exc, ServiceError):
        return ErrorReply(status, exc.code, exc.message, dict(exc.details), exc.headers())
    if isinstance(exc, ValidationError):
        return ErrorReply(status, "invalid_request", _summarise(exc))
    return ErrorReply(500, "internal_error", "internal error")


def _summarise(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err["loc"]) or "body"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)
