"""`python -m service eval` and `tune` end to end: in-process on the engine, and against a server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from service.__main__ import main
from service.api.app import create_app
from service.policy.store import PolicyStore
from service.settings import Settings
from service.taxonomy import VALID_PATTERNS
from tests.service.labelled import write_labelled_jsonl
from tests.service.live import serve


@pytest.fixture(scope="module")
def labelled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_labelled_jsonl(tmp_path_factory.mktemp("labelled"))


def check_report(out: Path) -> dict[str, object]:
    report = json.loads((out / "report.json").read_text())
    assert report["items"] == len(VALID_PATTERNS) and report["data"]["scoring_errors"] == 0
    assert [row["pattern"] for row in report["patterns"]] == list(VALID_PATTERNS)
    assert all(row["count"] == 1 for row in report["patterns"])
    html = (out / "report.html").read_text()
    assert all(name in html for name in VALID_PATTERNS)
    assert {"sweep.png", "reliability.png", "patterns.png"} <= {p.name for p in out.glob("*.png")}
    return dict(report)


def test_eval_in_process(
    labelled: Path, test_bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report"
    args = ["eval", "--data", str(labelled), "--model", str(test_bundle), "--device", "cpu"]
    assert main([*args, "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "report.html" in captured.out and "scoring" in captured.err  # the progress bar
    report = check_report(out)
    assert report["policy"]["name"] == "default"  # type: ignore[index]


def test_eval_against_a_server(labelled: Path, model_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "strict.yaml").write_text("joint: {borderline: 0.3, unsafe: 0.2}\n")
    with serve(create_app(Settings(model_dir=model_dir))) as url:
        args = ["eval", "--data", str(labelled), "--url", url, "--policies", str(policies)]
        assert main([*args, "--policy", "strict", "--out", str(out), "--no-progress"]) == 0
    report = check_report(out)
    assert report["policy"]["name"] == "strict"  # type: ignore[index]


def test_tune_writes_a_policy_the_store_loads(labelled: Path, test_bundle: Path, tmp_path: Path) -> None:
    policy_file = tmp_path / "policies" / "tuned.yaml"
    args = ["tune", "--data", str(labelled), "--model", str(test_bundle), "--max-under-block", "10%"]
    assert main([*args, "--out", str(policy_file), "--no-progress"]) == 0
    store = PolicyStore.load_dir(policy_file.parent)
    assert store.names() == ["default", "tuned"]
    assert (tmp_path / "policies" / "tuned-report" / "report.html").is_file()
    report = json.loads((tmp_path / "policies" / "tuned-report" / "report.json").read_text())
    assert report["tuning"]["met"] and report["tuning"]["chosen"]["unsafe_not_blocked"] <= 0.1


def test_eval_without_a_model_says_so(
    labelled: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["eval", "--data", str(labelled), "--model", str(tmp_path / "none"), "--out", str(tmp_path)]
    assert main(args) == 2
    assert "--url" in capsys.readouterr().err


def test_eval_and_tune_fail_with_one_line_when_nothing_can_be_done(
    labelled: Path, test_bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    local = ["--model", str(test_bundle), "--device", "cpu", "--no-progress"]
    empty = tmp_path / "empty.jsonl"
    empty.write_text('{"id": "a", "text": "hi", "joint_grade": "maybe"}\n')  # its one row is invalid
    a_file = tmp_path / "report.txt"
    a_file.write_text("not a folder")
    tune = ["tune", "--data", str(labelled), *local, "--max-under-block", "5%"]
    cases = [
        ["eval", "--data", str(empty), *local, "--out", str(tmp_path / "r1")],  # nothing to score
        ["eval", "--data", str(labelled), *local, "--out", str(a_file)],  # --out is a file
        ["eval", "--data", str(labelled), "--url", "http://127.0.0.1:9", "--out", str(tmp_path / "r2")],
        [*tune, "--out", str(tmp_path / "T.yaml")],  # not a policy name
        [*tune, "--out", str(tmp_path / "t.json")],  # the store reads only .yaml / .yml
    ]
    for args in cases:
        assert main(args) == 1, args
        err = capsys.readouterr().err
        assert err.strip().splitlines()[-1].startswith("error: "), err  # one line, no traceback
        assert "Traceback" not in err
    assert not (tmp_path / "T.yaml").exists() and not (tmp_path / "t.json").exists()
    with pytest.raises(SystemExit):  # argparse refuses a batch size that cannot score anything
        main(["eval", "--data", str(labelled), *local, "--batch-size", "0", "--out", str(tmp_path)])


def test_eval_reads_the_policy_folder_serve_reads(
    labelled: Path, test_bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "strict.yaml").write_text("joint: {borderline: 0.3, unsafe: 0.2}\n")
    monkeypatch.setenv("SAFETY_POLICIES_DIR", str(policies))
    out = tmp_path / "report"
    args = ["eval", "--data", str(labelled), "--model", str(test_bundle), "--device", "cpu"]
    assert main([*args, "--policy", "strict", "--out", str(out), "--no-progress"]) == 0
    assert json.loads((out / "report.json").read_text())["policy"]["name"] == "strict"
