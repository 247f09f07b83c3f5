"""The overload script on the test bundle for a few seconds: the JSON has every figure, sanely typed.

It checks the shape of the figures, never the targets: those depend on the machine.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loadtests import overload

TINY = overload.Profile(
    capacity_s=0.5,
    warmup_s=0.2,
    clients=4,
    overload_s=0.5,
    sigterm_after_s=0.3,
    after_sigterm_s=0.2,
    exit_wait_s=20.0,
    answer_timeout_s=10.0,
    requests=6,
    png_height=200_000,
    batch_body_bytes=200_000,
)
NUMBER = (int, float)
MAYBE_NUMBER = (int, float, type(None))
FIGURES: dict[str, dict[str, tuple[type, ...]]] = {
    "capacity": {"requests_per_s": NUMBER, "p99_ms": MAYBE_NUMBER, "statuses": (dict,)},
    "overload": {
        "offered_per_s": NUMBER,
        "sent": (int,),
        "statuses": (dict,),
        "unanswered": (int,),
        "unanswered_by_reason": (dict,),
        "p50_ms_429": MAYBE_NUMBER,
        "p99_ms_429": MAYBE_NUMBER,
        "p99_ms_200": MAYBE_NUMBER,
        "p99_ms_by_status": (dict,),
        "goodput_per_s": NUMBER,
        "goodput_share": NUMBER,
        "peak_rss_mb": NUMBER,
        "lagging_starts": (int,),
        "loadgen_cpu_share": NUMBER,
    },
    "sigterm": {
        "started_before": (int,),
        "statuses_before": (dict,),
        "unanswered_before": (int,),
        "unanswered_before_by_reason": (dict,),
        "started_after": (int,),
        "statuses_after": (dict,),
        "exit_s": MAYBE_NUMBER,
        "exit": (str, type(None)),
    },
}
HOSTILE: dict[str, tuple[type, ...]] = {
    "body_kb": NUMBER,
    "status": (int, type(None)),
    "failure": (str, type(None)),
    "rss_before_mb": NUMBER,
    "peak_rss_mb": NUMBER,
    "rss_increase_mb": NUMBER,
    "server_alive": (bool,),
}


def _counts(value: dict[str, int]) -> bool:
    return all(isinstance(k, str) and isinstance(n, int) and n > 0 for k, n in value.items())


@pytest.mark.slow
def test_overload_writes_every_figure(
    test_bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(overload, "QUICK", TINY)
    out = tmp_path / "overload.json"
    assert overload.main(["--quick", "--model", str(test_bundle), "--json", str(out)]) == 0
    figures = json.loads(out.read_text())

    expected = FIGURES | {"hostile_png": HOSTILE, "hostile_batch": HOSTILE}
    for phase, types in expected.items():
        for name, allowed in types.items():
            assert isinstance(figures[phase][name], allowed), (phase, name, figures[phase][name])
    assert figures["capacity"]["requests_per_s"] > 0
    for phase, name in [
        ("overload", "statuses"),
        ("overload", "unanswered_by_reason"),
        ("sigterm", "statuses_before"),
    ]:
        assert _counts(figures[phase][name]), (phase, name)
    run = figures["overload"]
    assert sum(run["statuses"].values()) + run["unanswered"] == run["sent"] > 0
    assert run["unanswered"] == sum(run["unanswered_by_reason"].values())
    assert figures["sigterm"]["started_before"] > 0
    assert figures["hostile_batch"]["items"] > 10_000
    assert set(figures["targets"]) == {f"{phase}.{name}" for phase, name in overload.TARGETS}
    assert all(t["met"] in (True, False, None) for t in figures["targets"].values())
    printed = capsys.readouterr().out
    assert all(f"{phase} " in printed for phase in expected)
