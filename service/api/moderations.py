"""The OpenAI-compatible moderation endpoint: its request and response shapes and the category mapping.

`POST /v1/moderations` runs the same classify path as `/v1/classify` and answers in the shape of OpenAI's
moderation API, so an OpenAI client can point at this service. Our own verdict travels under `safety`.
See docs/openai-compatibility.md.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field

from service.api.payloads import RawItem, data_url_prefix, decode_base64
from service.api.schemas import ClassifyResponse, ReasonResult
from service.errors import InvalidDataUrl, MissingInput, RemoteImageUrlRefused, TooManyImages, TooManyItems

InputType = Literal["text", "image"]

# OpenAI moderation category -> the VLSU categories whose scores it takes the maximum of. The one table;
# docs/openai-compatibility.md explains each row. Every OpenAI category is listed, in OpenAI's order;
# an empty tuple is a category the VLSU taxonomy has no counterpart for (always 0.0 and false).
# jailbreak feeds no OpenAI category: it is reported under `safety` only.
# The categories whose scores OpenAI applies to images (the rest are text only): its SDK's types
# (`CategoryAppliedInputTypes`) allow "image" for these alone, and validate strictly against them.
IMAGE_CATEGORIES = frozenset(
    {"self-harm", "self-harm/instructions", "self-harm/intent", "sexual", "violence", "violence/graphic"}
)
OPENAI_CATEGORIES: dict[str, tuple[str, ...]] = {
    "harassment": ("discrimination",),
    "harassment/threatening": (),
    "hate": ("hate_speech", "discrimination"),
    "hate/threatening": (),
    "illicit": ("drug_abuse", "fraud", "human_exploitation"),
    "illicit/violent": ("weapons",),
    "self-harm": ("self_harm",),
    "self-harm/instructions": (),
    "self-harm/intent": (),
    "sexual": ("sexual_explicit", "sexual_racy"),
    "sexual/minors": (),
    "violence": ("interpersonal_violence", "warfare", "terrorism"),
    "violence/graphic": ("gore", "animal_violence"),
}

_DATA_URL = data_url_prefix("image")  # OpenAI's image_url is an image


class TextPart(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["text"]
    text: str


class ImageUrl(BaseModel):
    url: str = Field(description="`data:image/<type>;base64,<bytes>`; remote URLs are refused")


class ImagePart(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["image_url"]
    image_url: ImageUrl


Part = Annotated[TextPart | ImagePart, Field(discriminator="type")]


class ModerationRequest(BaseModel):
    """OpenAI's moderation request, plus our optional `policy`."""

    model_config = ConfigDict(extra="forbid")

    input: str | list[str] | list[Part] = Field(
        description="a text; a list of texts (one result each); or a list of parts (one multimodal result)"
    )
    model: str | None = Field(default=None, description="accepted and ignored: the loaded model answers")
    policy: str | None = Field(default=None, description="policy name; the default policy when absent")


class ModerationResult(BaseModel):
    flagged: bool = Field(description="our policy's action is not `allow` (review or block)")
    categories: dict[str, bool]
    category_scores: dict[str, float]
    category_applied_input_types: dict[str, list[InputType]]
    reasons: list[ReasonResult] = Field(
        description="why `flagged` is what it is: `safety.reasons`, beside OpenAI's fields (the SDK's types "
        "allow extra fields; `result.model_extra['reasons']` from the SDK)"
    )
    safety: ClassifyResponse = Field(description="this service's full verdict, as /v1/classify returns it")


class ModerationResponse(BaseModel):
    id: str
    model: str = Field(description="the loaded model's manifest name")
    results: list[ModerationResult]


def moderation_id() -> str:
    """Return a new `modr-<hex>` response id."""
    return f"modr-{uuid.uuid4().hex}"


def moderation_items(body: ModerationRequest, response_id: str, max_items: int) -> list[RawItem]:
    """Turn the request's `input` into raw items: one per text of a list, one for a list of parts."""
    given = [body.input] if isinstance(body.input, str) else body.input
    if not given:
        raise MissingInput("`input` is empty", param="input")
    parts = [entry for entry in given if not isinstance(entry, str)]
    if parts:  # validation keeps a list all strings or all parts
        text, image = _multimodal(parts)
        return [RawItem(f"{response_id}-0", text, image, body.policy)]
    if len(given) > max_items:
        raise TooManyItems(f"{len(given)} inputs; the limit is {max_items}", param="input")
    texts = [entry for entry in given if isinstance(entry, str)]
    return [RawItem(f"{response_id}-{i}", text, None, body.policy) for i, text in enumerate(texts)]


def _multimodal(parts: list[TextPart | ImagePart]) -> tuple[str | None, bytes | None]:
    """Join the text parts with newlines; decode the one image part (if any)."""
    images = [(i, part) for i, part in enumerate(parts) if isinstance(part, ImagePart)]
    if len(images) > 1:
        raise TooManyImages(f"{len(images)} image parts; one item takes at most one image", param="input")
    texts = [part.text for part in parts if isinstance(part, TextPart)]
    image = None
    if images:
        index, part = images[0]
        image = image_from_url(part.image_url.url, f"input[{index}].image_url.url")
    return ("\n".join(texts) if texts else None), image


def image_from_url(url: str, param: str) -> bytes:
    """Decode a `data:image/...;base64,` URL; refuse remote URLs (the service never fetches)."""
    try:
        scheme = urlsplit(url.strip()).scheme.lower()
    except ValueError:  # "http://[::1": an unclosed IPv6 host
        raise InvalidDataUrl("the image URL must be data:image/<type>;base64,<bytes>", param=param) from None
    if scheme in ("http", "https"):
        raise RemoteImageUrlRefused(
            "remote image URLs are not fetched; send the image inline as data:image/<type>;base64,<bytes>",
            param=param,
        )
    if not _DATA_URL.match(url):
        raise InvalidDataUrl("the image URL must be data:image/<type>;base64,<bytes>", param=param)
    return decode_base64(url)


def moderation_result(safety: ClassifyResponse) -> ModerationResult:
    """Map one classification onto OpenAI's categories (score: max of the mapped scores)."""
    flagged = set(safety.flagged_categories)
    present: list[InputType] = []
    if safety.modalities.text is not None:
        present.append("text")
    if safety.modalities.image is not None:
        present.append("image")
    return ModerationResult(
        flagged=safety.action != "allow",
        categories={name: bool(flagged.intersection(slugs)) for name, slugs in OPENAI_CATEGORIES.items()},
        category_scores=openai_scores({slug: c.score for slug, c in safety.categories.items()}),
        category_applied_input_types={
            name: [kind for kind in present if kind == "text" or name in IMAGE_CATEGORIES] if slugs else []
            for name, slugs in OPENAI_CATEGORIES.items()
        },
        reasons=safety.reasons,
        safety=safety,
    )


def openai_scores(scores: Mapping[str, float]) -> dict[str, float]:
    """Return every OpenAI category's score: the maximum of its VLSU categories' scores, 0.0 for none."""
    return {
        name: max((scores.get(slug, 0.0) for slug in slugs), default=0.0)
        for name, slugs in OPENAI_CATEGORIES.items()
    }
