"""`/docs` and `/redoc` work offline: Swagger UI's and ReDoc's files come from a package (fastapi-offline),
rendered by a real headless Chromium with every host but loopback unreachable."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from service.api.app import create_app
from service.settings import Settings
from tests.service.live import serve

CHROMIUM = shutil.which("chromium")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_docs_pages_name_no_external_url(test_bundle: Path, page: str) -> None:
    with serve(create_app(Settings(model_dir=test_bundle))) as url:
        html = httpx.get(f"{url}{page}")
        assets = re.findall(r"""(?:src|href)=["']([^"']+)""", html.text)
        script = httpx.get(f"{url}{next(a for a in assets if a.endswith('.js'))}")
    assert html.status_code == 200 and assets and not [a for a in assets if "//" in a]
    assert "https://" not in html.text and "http://" not in html.text
    assert script.status_code == 200 and len(script.content) > 100_000  # the bundle itself, served here


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
def test_the_docs_render_in_headless_chromium_without_network(test_bundle: Path) -> None:
    assert CHROMIUM is not None
    with serve(create_app(Settings(model_dir=test_bundle))) as url:
        command = [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--proxy-server=127.0.0.1:9",  # nothing listens there: any host but loopback is unreachable
            "--virtual-time-budget=15000",
            "--dump-dom",
            f"{url}/docs",
        ]
        dom = subprocess.run(command, capture_output=True, text=True, timeout=120).stdout
    # Swagger UI ran: it fetched /openapi.json and drew an operation block per route
    assert "opblock" in dom and "/v1/classify/batch" in dom, dom[-2000:]
    assert "Unable to render" not in dom
