"""`GET /playground`: a page for people to try an image and a text against `POST /v1/classify`.

The page and its script and style sheet are package files (service/api/static/), served from here:
no CDN, no build step. Its Content-Security-Policy allows this origin's script, style and API only.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from fastapi import APIRouter
from fastapi.responses import Response

router = APIRouter(include_in_schema=False)

# Script and style only from files of this origin (no inline code), the API calls on this origin, and
# the chosen image's preview (a blob: URL of the browser's own). Nothing may frame the page.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' blob:",
        "connect-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
)
_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",  # a new release's page and script arrive together
}
_MEDIA_TYPES = {
    "playground.html": "text/html; charset=utf-8",
    "playground.js": "text/javascript; charset=utf-8",
    "playground.css": "text/css; charset=utf-8",
}


@cache
def _asset(name: str) -> bytes:
    """Return a file of service/api/static/ (read on first use, then kept)."""
    return (files("service.api") / "static" / name).read_bytes()


def _serve(name: str) -> Response:
    return Response(_asset(name), media_type=_MEDIA_TYPES[name], headers=_HEADERS)


@router.get("/playground")
async def playground() -> Response:
    """The playground page."""
    return _serve("playground.html")


@router.get("/playground/playground.js")
async def playground_script() -> Response:
    """The page's script."""
    return _serve("playground.js")


@router.get("/playground/playground.css")
async def playground_style() -> Response:
    """The page's style sheet."""
    return _serve("playground.css")
