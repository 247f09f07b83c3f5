"""Request and response bodies of the v1 HTTP API (design §4)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from service.policy.reasons import Effect, Reason, ReasonCode
from service.policy.rules import Action, Grade


class ClassifyRequest(BaseModel):
    """One item: a text, a base64 image, or both."""

    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(default=None, max_length=256, description="echoed back; generated when absent")
    text: str | None = Field(default=None, description="the text; empty, blank or absent means no text")
    image: str | None = Field(
        default=None, description="base64 image bytes (a `data:` URL prefix is accepted)"
    )
    policy: str | None = Field(default=None, description="policy name; the default policy when absent")


class BatchRequest(BaseModel):
    """Several items; `policy` applies to items that do not name their own."""

    model_config = ConfigDict(extra="forbid")

    items: list[Any] = Field(description="ClassifyRequest objects, answered in order")
    policy: str | None = None


class GradeScores(BaseModel):
    safe: float
    borderline: float
    unsafe: float


class ModalityResult(BaseModel):
    grade: Grade
    scores: GradeScores


class Modalities(BaseModel):
    image: ModalityResult | None = Field(description="null when no image was given")
    text: ModalityResult | None = Field(description="null when no text was given")
    joint: ModalityResult


class CategoryResult(BaseModel):
    score: float
    flagged: bool


class PolicyRef(BaseModel):
    name: str
    version: str


class ModelRef(BaseModel):
    name: str
    version: str
    sha256: str


class Timings(BaseModel):
    queue: float
    inference: float
    total: float


class ReasonResult(BaseModel):
    """One rule of the policy that fired on the item, and what it did (docs/reasons.md)."""

    code: ReasonCode = Field(description="stable code of the rule (docs/reasons.md lists them)")
    reading: str = Field(description="what the rule read: `image`, `text`, `joint` or `category:<slug>`")
    score: float = Field(
        description="the figure the rule compares: p_unsafe for an unsafe test, p_borderline + p_unsafe "
        "for a borderline test, the category's score for a category"
    )
    threshold: float = Field(
        description="the policy's threshold it was compared with; score - threshold is the margin "
        "(negative for `below_thresholds`)"
    )
    policy: PolicyRef
    effect: Effect = Field(
        description="the action this rule leads to on its own, or `none` (it sets a grade or a flag only); "
        "the item's action is the strictest effect, and the first reason has it"
    )
    message: str = Field(description="the same in words, e.g. `joint unsafe 0.97 ≥ 0.40 → block (policy …)`")

    @classmethod
    def of(cls, reason: Reason) -> ReasonResult:
        """Return the answer's form of a decision's reason."""
        return cls(
            code=reason.code,
            reading=reason.reading,
            score=reason.score,
            threshold=reason.threshold,
            policy=PolicyRef(name=reason.policy.name, version=reason.policy.version),
            effect=reason.effect,
            message=reason.message,
        )


class ClassifyResponse(BaseModel):
    """The verdict on one item, with every reading that led to it."""

    id: str
    verdict: Grade = Field(description="the joint grade after the policy")
    action: Action
    modalities: Modalities
    pattern: str | None = Field(
        description="`I-T-J` letters, e.g. S-S-U; null unless image and text are both given"
    )
    emergent: bool = Field(description="the joint grade is more severe than both single-modality grades")
    categories: dict[str, CategoryResult]
    flagged_categories: list[str]
    reasons: list[ReasonResult] = Field(
        description="why: one entry per rule of the policy that fired, strictest effect first, so the "
        "first one's effect is the action; never empty (docs/reasons.md)"
    )
    text_truncated: bool = Field(
        description="the text was longer than the model's max_tokens: it was read in overlapping windows "
        "(text_windows), and past SAFETY_MAX_TEXT_WINDOWS only the first windows and the last"
    )
    text_windows: int | None = Field(
        default=None,
        description="windows of max_tokens the text was read in (1 for a text that fits one); "
        "null without text",
    )
    image_text: str | None = Field(
        default=None,
        description="the text OCR read in the image (lines in reading order, at most SAFETY_OCR_MAX_CHARS "
        "characters); it is part of the image's reading (and so of the joint one), not of `modalities.text`. "
        "null when OCR is off, did not run on the image, or read nothing; never logged or audited",
    )
    policy: PolicyRef
    model: ModelRef
    timings_ms: Timings


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="allow")

    code: str
    message: str


class ErrorResponse(BaseModel):
    error: ErrorDetail


class BatchItemError(BaseModel):
    """A batch item that failed; the others are unaffected."""

    id: str | None
    status: int
    error: ErrorDetail


class BatchResponse(BaseModel):
    results: list[ClassifyResponse | BatchItemError]


class PolicyInfo(BaseModel):
    name: str
    version: str = Field(description="content hash; changes whenever the policy does")
    description: str
    default: bool = Field(description="requests that name no policy get this one")
    shadow: bool = Field(description="runs beside the live policy; only its disagreements are counted")
    definition: dict[str, Any]


class PoliciesResponse(BaseModel):
    default: str
    shadow: str | None
    policies: list[PolicyInfo]


class ReloadResponse(BaseModel):
    """What a successful policy reload changed."""

    names: list[str]
    added: list[str]
    removed: list[str]
    changed: list[str] = Field(description="policies whose version changed")
    versions: dict[str, str]


class DryRunResponse(BaseModel):
    """The evaluation report's metrics for one policy on the posted items (see `python -m service eval`)."""

    model_config = ConfigDict(extra="allow")

    policy: dict[str, Any]
    items: int = Field(description="items scored and measured")
    data: dict[str, Any] = Field(description="items received, scored, and the errors of those skipped")


class ModelCard(BaseModel):
    """One model in OpenAI's shape (`client.models.list()` / `retrieve()` validate it strictly)."""

    id: str
    object: Literal["model"] = "model"
    created: int  # the manifest's `created`, as Unix seconds
    owned_by: str


class ModelList(BaseModel):
    """`GET /v1/models`: OpenAI's list shape; the manifest is at `/v1/models/{id}/manifest`."""

    object: Literal["list"] = "list"
    data: list[ModelCard]


class ModelsResponse(BaseModel):
    """`GET /v1/models/{id}/manifest`: the file that runs, where, and the whole manifest."""

    variant: str  # the variant that runs (the manifest may list several)
    sha256: str  # of the file that runs, checked against the manifest at start-up
    provider: str
    file: str
    manifest: dict[str, Any]


class HealthResponse(BaseModel):
    status: str


def error_responses(descriptions: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    """Return the OpenAPI `responses` of a route: one ErrorResponse per status, with its meaning."""
    return {status: {"model": ErrorResponse, "description": text} for status, text in descriptions.items()}
