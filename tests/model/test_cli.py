"""`python -m model` with the arguments and data users get wrong: one clear line, before any work."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from model.__main__ import main
from model.evaluate import choose_thresholds
from service.evaluation.labelled_data import LabelledItem


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "--epochs", "0"], "--epochs: 0 is below 1"),
        (["export", "--variants", "int8,fp61"], "unknown variants ['fp61']"),
        (["export", "--variants", "fp16"], "a bundle needs a CPU variant"),
        (["train", "--image-tower", "clip"], "--image-tower clip needs --clip-path"),
        (["train", "--image-size", "100"], "the CNN tower needs a multiple of 16"),
        (["train", "--d-model", "30"], "multiple of the 4 attention heads"),
        (["train", "--data", "no/such/labels.jsonl"], "no such file"),
        (["train", "--add", "no/such/labels.jsonl"], "--add no/such/labels.jsonl: no such file"),
        (["train", "--train-share", "0"], "--train-share: 0 is not a share in (0, 1]"),
        (["train", "--train-share", "1.5"], "--train-share: 1.5 is not a share in (0, 1]"),
    ],
)
def test_arguments_that_cannot_work_are_refused_up_front(
    args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # every output in tmp_path, so that a check that stopped working could not touch the shipped bundle
    places = {
        "train": ["--out", str(tmp_path / "run")],
        "export": ["--artifact", str(tmp_path / "bundle"), "--checkpoint", str(tmp_path / "none.pt")],
    }
    with pytest.raises(SystemExit) as exited:
        main([*args, *places[args[0]]])
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def test_export_variants_accept_spaces() -> None:
    from model.__main__ import _variants

    assert _variants("int8, fp16") == ["int8", "fp16"]


def test_too_little_data_for_the_three_splits_is_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [{"id": f"t{i}", "text": f"hello number {i}", "joint_grade": "safe"} for i in range(5)]
    data = tmp_path / "few.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert main(["train", "--data", str(data), "--epochs", "1", "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "split" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("name", "content", "option", "said"),
    [
        ("cols.csv", b"uuid,prompt\nx,hello\n", "--data", "missing columns"),
        ("excel.csv", b"uuid,web_path,prompt\nx,,caf\xe9\n", "--data", "excel.csv: not UTF-8"),
        ("none.jsonl", b'{"id": "a", "image": "gone.png", "joint_grade": "safe"}\n', "--add", "no usable"),
    ],
    ids=["missing columns", "Windows-1252", "--add with nothing usable"],
)
def test_labelled_files_that_cannot_train_are_one_error_line(
    name: str, content: bytes, option: str, said: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a traceback before; and --add with nothing usable trained on the corpus alone for half an hour
    path = tmp_path / name
    path.write_bytes(content)
    args = [
        "train",
        option,
        str(path),
        "--epochs",
        "1",
        "--corpus-size",
        "300",
        "--out",
        str(tmp_path / "run"),
    ]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and said in err and "Traceback" not in err


def test_thresholds_are_chosen_when_validation_has_no_unsafe_item() -> None:
    samples = [
        LabelledItem(f"s{i}", None, "t", None, "safe", grade, (), split="val")  # type: ignore[arg-type]
        for i, grade in enumerate(["safe", "borderline"] * 10)
    ]
    rng = np.random.default_rng(0)
    scores = {  # every head, as `predict` returns them: the choice applies the service's decisions
        head: rng.dirichlet(np.ones(3), size=len(samples)).astype(np.float32)
        for head in ("image", "text", "joint")
    }
    scores["categories"] = rng.random((len(samples), 15)).astype(np.float32)
    thresholds = choose_thresholds(samples, scores, 0.97)  # no recall to reach
    assert 0 < thresholds["joint"]["unsafe"] < 1 and 0 < thresholds["joint"]["borderline"] < 1


def test_epoch_figures_the_data_cannot_give_print_as_n_a() -> None:
    from model.train import _figure

    # text-only data has no image accuracy; a validation split without unsafe items no recall
    assert [_figure(None), _figure(float("nan")), _figure(0.25)] == ["n/a", "n/a", "0.250"]


def test_a_clip_checkpoint_brings_its_own_input_size_and_normalisation(tmp_path: Path) -> None:
    from model.__main__ import _clip_preprocessing
    from model.image_tower import CLIP_MEAN, CLIP_STD

    folder = tmp_path / "vision"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "clip_vision_model", "image_size": 32}))
    assert _clip_preprocessing(str(folder)) == (32, CLIP_MEAN, CLIP_STD)
    (folder / "config.json").write_text(json.dumps({"model_type": "siglip_vision_model", "image_size": 384}))
    assert _clip_preprocessing(str(folder)) == (384, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
    processor = {"image_mean": [0.1, 0.2, 0.3], "image_std": [0.4, 0.5, 0.6]}
    (folder / "preprocessor_config.json").write_text(json.dumps(processor))  # what the folder says wins
    assert _clip_preprocessing(str(folder)) == (384, (0.1, 0.2, 0.3), (0.4, 0.5, 0.6))


def test_re_exporting_a_bundle_keeps_its_model_name(tmp_path: Path) -> None:
    from model.__main__ import DEFAULT_NAME, bundle_name

    (tmp_path / "manifest.json").write_text(json.dumps({"name": "safety-prod"}))
    assert bundle_name(tmp_path / "checkpoint.pt") == "safety-prod"
    assert bundle_name(tmp_path / "runs" / "best.pt") == DEFAULT_NAME  # a training run: no manifest
