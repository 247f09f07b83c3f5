"""`GET /playground`: the page, its script and style are served here with a strict CSP, and in a real
headless Chromium (driven by selenium, every host but loopback unreachable) it shows what
`POST /v1/classify` answers for the same image, text and policy, loading nothing from elsewhere."""

from __future__ import annotations

import fnmatch
import io
import re
import shutil
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from service.api.app import create_app
from service.api.playground import CONTENT_SECURITY_POLICY
from service.settings import Settings
from tests.service.conftest import REAL_BUNDLE
from tests.service.live import serve

ROOT = Path(__file__).resolve().parents[3]
STATIC = ROOT / "service" / "api" / "static"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ANSWER_WAIT_S = 60
URL = re.compile(r"https?://[^\s\"'<>)]+")

PICTURE_TEXT = "how do I build a pipe bomb"
PICTURE_POLICY = "kids-platform"  # not the default: the answer shows the page sent the chosen policy


def test_the_page_its_script_and_style_are_served_with_a_strict_csp(test_bundle: Path) -> None:
    client = TestClient(create_app(Settings(model_dir=test_bundle)))  # no lifespan: the page needs no model
    page = client.get("/playground")
    script = client.get("/playground/playground.js")
    style = client.get("/playground/playground.css")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    assert style.status_code == 200 and style.headers["content-type"].startswith("text/css")
    csp = page.headers["content-security-policy"]
    assert csp == CONTENT_SECURITY_POLICY and "script-src 'self'" in csp and "unsafe" not in csp
    html = page.text
    # what the CSP would block: inline scripts, inline styles, inline event handlers
    assert not re.search(r"<script(?![^>]*\bsrc=)", html) and "<style" not in html
    assert not re.search(r"\s(?:style|on\w+)=", html)
    for body in (html, script.text, style.text):
        assert not URL.search(body)  # nothing named on another host
    # every element the script writes to is on the page
    ids = set(re.findall(r'\bid="([\w-]+)"', html))
    used = set(re.findall(r'(?:byId|setText|showReading)\("([\w-]+)"', script.text))
    assert used and used <= ids, used - ids
    assert "/playground" not in client.get("/openapi.json").json()["paths"]  # a page, not an API


def test_the_page_files_are_package_data() -> None:
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    patterns = package_data["service.api"]
    files = [str(path.relative_to(STATIC.parent)) for path in STATIC.iterdir()]
    assert {"static/playground.html", "static/playground.js", "static/playground.css"} <= set(files)
    assert all(any(fnmatch.fnmatch(name, pattern) for pattern in patterns) for name in files), files


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    if not (REAL_BUNDLE / "manifest.json").exists():
        pytest.skip("no shipped model")
    settings = Settings(model_dir=REAL_BUNDLE, policies_dir=ROOT / "policies")
    with serve(create_app(settings)) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium under Debian's chromedriver; a proxy where nothing listens cuts off every host
    but loopback (which Chromium never proxies)."""
    if not (shutil.which(str(CHROMIUM)) and shutil.which(str(CHROMEDRIVER))):
        pytest.skip("chromium and chromedriver are not installed (apt-get install chromium chromium-driver)")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    options.add_argument("--proxy-server=127.0.0.1:9")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # the console: CSP violations
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    try:
        yield driver
    finally:
        driver.quit()


def open_playground(driver: Any, base_url: str) -> None:
    """Load the page and wait until its script has filled the policy list."""
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(f"{base_url}/playground")
    WebDriverWait(driver, ANSWER_WAIT_S).until(
        lambda d: d.execute_script(
            "return [...document.getElementById('policy').options].some(o => o.value === 'default')"
        )
    )


def submit_and_wait(driver: Any, shown: str) -> None:
    """Press Classify and wait until the element `shown` (the answer or the error) is visible."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.find_element(By.ID, "submit").click()
    WebDriverWait(driver, ANSWER_WAIT_S).until(lambda d: d.find_element(By.ID, shown).is_displayed())


def png_file(path: Path) -> bytes:
    """Write a small PNG to `path`; return its bytes."""
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 120, 40)).save(buffer, "PNG")
    path.write_bytes(buffer.getvalue())
    return buffer.getvalue()


def same_origin_only(driver: Any, base_url: str) -> None:
    """Assert every resource the page loaded, and every URL in its DOM, is on the server's own origin."""
    resources = driver.execute_script(
        "return performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'))"
        ".map(e => e.name)"
    )
    assert resources and all(name.startswith(f"{base_url}/") for name in resources), resources
    urls = URL.findall(driver.page_source)
    assert all(url.startswith(f"{base_url}/") for url in urls), urls
    console = [entry["message"] for entry in driver.get_log("browser")]
    assert not [line for line in console if "Content Security Policy" in line], console


@pytest.mark.slow
def test_the_page_shows_the_apis_verdict(browser: Any, base_url: str, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    picture = png_file(tmp_path / "picture.png")
    direct = httpx.post(
        f"{base_url}/v1/classify",
        files={"image": ("picture.png", picture, "image/png")},
        data={"text": PICTURE_TEXT, "policy": PICTURE_POLICY},
        timeout=ANSWER_WAIT_S,
    )
    assert direct.status_code == 200, direct.text
    expected = direct.json()

    open_playground(browser, base_url)
    browser.find_element(By.ID, "image").send_keys(str(tmp_path / "picture.png"))
    browser.find_element(By.ID, "text").send_keys(PICTURE_TEXT)
    Select(browser.find_element(By.ID, "policy")).select_by_value(PICTURE_POLICY)
    submit_and_wait(browser, "result")

    def text(element_id: str) -> str:
        return str(browser.find_element(By.ID, element_id).text)

    assert text("action") == expected["action"] and text("verdict") == expected["verdict"]
    assert text("pattern") == expected["pattern"]
    reasons = [
        (item.get_attribute("data-code"), item.find_element(By.CLASS_NAME, "message").text)
        for item in browser.find_elements(By.CSS_SELECTOR, "#reasons li")
    ]
    assert reasons == [(reason["code"], reason["message"]) for reason in expected["reasons"]]
    for reading in ("image", "text", "joint"):
        row = browser.find_element(By.ID, f"reading-{reading}")
        grades = expected["modalities"][reading]
        assert row.get_attribute("data-grade") == grades["grade"]
        assert row.find_element(By.CLASS_NAME, "unsafe").text == f"{grades['scores']['unsafe']:.3f}"
    flagged = browser.find_elements(By.CSS_SELECTOR, "#categories tr.flagged")
    expected_flagged = [f"category-{slug}" for slug in expected["flagged_categories"]]
    assert expected_flagged and [row.get_attribute("id") for row in flagged] == expected_flagged
    assert len(browser.find_elements(By.CSS_SELECTOR, "#categories tbody tr")) == len(expected["categories"])
    assert text("policy-name") == PICTURE_POLICY == expected["policy"]["name"]
    assert text("policy-version") == expected["policy"]["version"]
    assert text("model-name") == expected["model"]["name"]
    assert text("model-version") == expected["model"]["version"]
    assert not browser.find_element(By.ID, "error").is_displayed()
    same_origin_only(browser, base_url)


@pytest.mark.slow
def test_the_page_shows_an_error_answer(browser: Any, base_url: str) -> None:
    from selenium.webdriver.common.by import By

    open_playground(browser, base_url)
    submit_and_wait(browser, "error")  # neither an image nor a text
    assert browser.find_element(By.ID, "error-status").text == "HTTP 422"
    assert browser.find_element(By.ID, "error-code").text == "missing_input"
    assert "at least one of" in browser.find_element(By.ID, "error-message").text
    assert not browser.find_element(By.ID, "result").is_displayed()
    same_origin_only(browser, base_url)
