"""A short, bounded locust run of loadtests/locustfile.py against a real server on loopback."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.api.app import create_app
from service.settings import Settings
from tests.service.live import serve

pytestmark = pytest.mark.slow  # a locust run against a live server

ROOT = Path(__file__).resolve().parents[2]
LOCUSTFILE = ROOT / "loadtests" / "locustfile.py"
RUN_SECONDS = 10


@pytest.fixture(scope="module")
def base_url(served_bundle: Path) -> Iterator[str]:
    settings = Settings(
        model_dir=served_bundle,
        policies_dir=ROOT / "policies",
        intra_op_threads=1,  # a light footprint on small CI machines
        max_batch_size=8,
        max_wait_ms=2,
    )
    with serve(create_app(settings)) as url:
        yield url


@pytest.mark.timeout(60)
def test_locust_mix_runs_without_failures(base_url: str, tmp_path: Path) -> None:
    env = dict(os.environ, SAFETY_LOAD_POLICIES="default,kids-platform,medical-forum")
    env.pop("SAFETY_LOAD_SHAPE", None)  # plain -u/-r/-t, not the step profile
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "-u",
        "4",
        "-r",
        "4",
        "-t",
        f"{RUN_SECONDS}s",
        "--stop-timeout",
        "5",
        "--host",
        base_url,
        "--csv",
        str(tmp_path / "locust"),
        "--only-summary",
        "--loglevel",
        "WARNING",
    ]
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=45)
    with (tmp_path / "locust_stats.csv").open() as f:
        rows = {row["Name"]: row for row in csv.DictReader(f)}
    total = rows.pop("Aggregated")
    failures = (tmp_path / "locust_failures.csv").read_text()
    assert int(total["Failure Count"]) == 0, failures
    assert int(total["Request Count"]) > 0
    assert done.returncode == 0, done.stderr[-3000:]
    # the mix reached every kind of request at least once in 10 s
    assert {
        "classify text short",
        "classify image+text small",
        "classify multipart",
        "classify batch",
    } <= set(rows), sorted(rows)
