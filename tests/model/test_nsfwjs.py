"""The nsfwjs image tower: the converter, and the converted graph against the original in TF.js.

`nsfwjs_reference.json` holds outputs of nsfwjs@4.4.0's MobileNetV2-mid model run by
@tensorflow/tfjs 4.22 in node (scripts/nsfwjs_reference.js says how it was made) on three inputs
that `inputs()` computes again here from the same integer formulas.
"""

from __future__ import annotations

import base64
import io
import json
import tarfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest
import torch

from model.nsfwjs import (
    NUDITY_CLASSES,
    TOWER_DIR,
    ConversionError,
    NsfwjsTower,
    compact_tower_weights,
    convert_package,
)

REFERENCE = json.loads((Path(__file__).parent / "nsfwjs_reference.json").read_text())
SIZE = 224


def inputs() -> np.ndarray:
    """The reference's three pictures (uint8, NHWC): stripes, a gradient, a checkerboard."""
    y, x, c = np.meshgrid(np.arange(SIZE), np.arange(SIZE), np.arange(3), indexing="ij")
    stripes = (x * 7 + y * 13 + c * 29) % 256
    row, col = y[..., 0], x[..., 0]
    gradient = np.stack([(col * 255) // 223, (row * 255) // 223, ((col + row) * 255) // 446], -1)
    checker = np.where((x // 16 + y // 16) % 2 == 1, 220, 30) - c * 10
    return np.stack([stripes, gradient, checker]).astype(np.uint8)


@pytest.fixture(scope="module")
def tower() -> NsfwjsTower:
    return NsfwjsTower().eval()


def _check(features: np.ndarray, pooled: np.ndarray, nudity: np.ndarray, tol: float) -> None:
    """features NCHW (B, 1792, 7, 7); the reference keeps NHWC's first 16 channels."""
    ref_features = np.array(REFERENCE["features_first16"])  # (3, 7, 7, 16)
    np.testing.assert_allclose(features.transpose(0, 2, 3, 1)[..., :16], ref_features, atol=tol)
    np.testing.assert_allclose(pooled, np.array(REFERENCE["pooled"]), atol=tol)
    np.testing.assert_allclose(nudity, np.array(REFERENCE["nudity"]), atol=tol)


def test_torch_tower_matches_tfjs(tower: NsfwjsTower) -> None:
    with torch.no_grad():
        out = tower(torch.from_numpy(inputs()))
    assert out["features"].shape == (3, 1792, 7, 7) and tower.classes == NUDITY_CLASSES
    _check(out["features"].numpy(), out["pooled"].numpy(), out["nudity"].numpy(), 1e-5)
    # the reference's pictures are harmless patterns: nsfwjs calls all three neutral
    assert (out["nudity"].argmax(1) == NUDITY_CLASSES.index("neutral")).all()


def test_onnx_export_matches_tfjs(tower: NsfwjsTower, tmp_path: Path) -> None:
    class Outputs(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.tower = tower

        def forward(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
            out = self.tower(pixels)
            return out["features"], out["pooled"], out["nudity"]

    path = tmp_path / "tower.onnx"
    with warnings.catch_warnings():  # the tracer warns of the shapes it folds, as in model/export.py
        warnings.simplefilter("ignore")
        _export(
            Outputs().eval(),
            (torch.from_numpy(inputs()[:1]),),
            path,
            input_names=["pixels"],
            output_names=["features", "pooled", "nudity"],
            dynamic_axes={"pixels": {0: "batch"}},
        )
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    features, pooled, nudity = session.run(None, {"pixels": inputs()})
    _check(features, pooled, nudity, 1e-4)


def _export(module: torch.nn.Module, args: tuple[torch.Tensor, ...], path: Path, **names: Any) -> None:
    torch.onnx.export(module.eval(), args, str(path), opset_version=17, dynamo=False, **names)


def test_committed_tower_is_complete() -> None:
    graph = json.loads((TOWER_DIR / "graph.json").read_text())
    weights = np.load(TOWER_DIR / "weights.npz")
    assert sorted(weights.files) == sorted(graph["quantization"])
    assert all(weights[k].dtype == np.uint8 for k in weights.files)
    assert graph["source"] == "nsfwjs@4.4.0 package/dist/models/mobilenet_v2_mid"
    assert "MIT License" in (TOWER_DIR / "LICENSE").read_text()


# ----------------------------------------------------------------------------- the converter


def _wrapped(expression: str, module: str = "e") -> str:
    """A `.min.js` the way nsfwjs's browserify build writes it."""
    return (
        "!function(t){module.exports=t()}(function(){return function t(e,a,l){}"
        f"({{1:[function(t,{module},a){{{module}.exports={expression}}},{{}}]}},{{}},[1])(1)}});"
    )


def _tarball(path: Path, codes: np.ndarray, declared: int | None = None, op: str = "Identity") -> Path:
    """A tiny package in nsfwjs's layout: a Const, the input and one op, one weight shard."""
    b64 = lambda s: base64.b64encode(s.encode()).decode()  # noqa: E731
    model = (
        '{format:"graph-model",modelTopology:{node:['
        '{name:"input",op:"Placeholder",attr:{dtype:{type:"DT_FLOAT"}}},'
        '{name:"x/predict/MobilenetV2/w",op:"Const",attr:{}},'
        f'{{name:"Identity",op:"{op}",input:["input"],attr:{{padding:{{s:"{b64("SAME")}"}},'
        f'use_cudnn_on_gpu:{{b:!0}},strides:{{list:{{i:["1","2"]}}}}}}}}'
        ']},weightsManifest:[{paths:["group1-shard1of1"],weights:['
        f'{{name:"x/predict/MobilenetV2/w",shape:[{declared or codes.size}],dtype:"float32",'
        'quantization:{min:-.5,scale:.25,dtype:"uint8"}}]}]}'
    )
    shard = json.dumps(base64.b64encode(codes.tobytes()).decode())
    files = {
        "package/package.json": json.dumps({"version": "4.4.0"}),
        "package/LICENSE": "MIT License\n",
        "package/dist/models/mobilenet_v2_mid/model.min.js": _wrapped(model),
        "package/dist/models/mobilenet_v2_mid/group1-shard1of1.min.js": _wrapped(shard, module="m"),
    }
    with tarfile.open(path, "w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_converter_keeps_codes_and_attributes(tmp_path: Path) -> None:
    codes = np.array([0, 1, 2, 255, 7], dtype=np.uint8)
    summary = convert_package(_tarball(tmp_path / "p.tgz", codes), tmp_path / "out")
    assert summary["weights"] == 1 and summary["ops"] == 2 and summary["version"] == "4.4.0"
    graph = json.loads((tmp_path / "out" / "graph.json").read_text())
    assert graph["quantization"] == {"w": [-0.5, 0.25]}  # the scope prefix is shortened away
    ops = {op["name"]: op for op in graph["ops"]}
    assert ops["Identity"]["attrs"] == {"padding": "SAME", "use_cudnn_on_gpu": True, "strides": [1, 2]}
    np.testing.assert_array_equal(np.load(tmp_path / "out" / "weights.npz")["w"], codes)


def test_converter_refuses_what_it_does_not_know(tmp_path: Path) -> None:
    codes = np.arange(4, dtype=np.uint8)
    with pytest.raises(ConversionError, match="unsupported op Conv3D"):
        convert_package(_tarball(tmp_path / "a.tgz", codes, op="Conv3D"), tmp_path / "a")
    with pytest.raises(ConversionError, match="hold 4 bytes, the manifest names 3"):
        convert_package(_tarball(tmp_path / "b.tgz", codes, declared=3), tmp_path / "b")
    (tmp_path / "c.tgz").write_bytes(b"")
    with pytest.raises(tarfile.ReadError):
        convert_package(tmp_path / "c.tgz", tmp_path / "c")


def test_fused_model_with_the_nsfwjs_tower_exports_and_keeps_it_out_of_checkpoints(tmp_path: Path) -> None:
    """The option `--image-tower nsfwjs`: 17 frozen image tokens (the 7x7 map's 2x2 means and its mean);
    checkpoints leave the backbone out; the graph has nsfwjs's own reading as a fifth output."""
    from model.config import ModelConfig
    from model.image_tower import NsfwjsImageTower
    from model.network import SafetyModel, ScoringModel

    config = ModelConfig(image_tower="nsfwjs", image_size=224, n_glyphs=0)
    model = SafetyModel(config).eval()
    assert not any(name.startswith("image_tower.") for name in model.state_dict())
    assert not any(p.requires_grad for p in model.image_tower.parameters())
    pixels = torch.from_numpy(inputs()[:2])
    ids = torch.tensor([[101, 7592, 102], [101, 2088, 102]])
    mask, present = torch.ones_like(ids), torch.tensor([[1.0, 1.0], [1.0, 0.0]])
    tower = model.image_tower
    assert isinstance(tower, NsfwjsImageTower)
    tokens = tower(pixels)
    assert tokens.shape == (2, 17, 1792)
    with torch.no_grad():
        backbone = tower.backbone(pixels)
    torch.testing.assert_close(tokens[:, -1], backbone["pooled"])  # the last token: nsfwjs's pooled input
    torch.testing.assert_close(tokens[:, 0], backbone["features"][:, :, :2, :2].mean((2, 3)))
    torch.testing.assert_close(tokens[:, 15], backbone["features"][:, :, 6, 6])  # the corner's cell alone
    torch.testing.assert_close(tower.nudity(tokens), backbone["nudity"])
    path = tmp_path / "model.onnx"
    with torch.no_grad():
        expected = ScoringModel(model)(pixels, ids, mask, present)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _export(
            ScoringModel(model),
            (pixels, ids, mask, present),
            path,
            input_names=["pixels", "input_ids", "attention_mask", "present"],
        )
    feed = {"pixels": pixels.numpy(), "input_ids": ids.numpy(), "attention_mask": mask.numpy()}
    got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(
        None, feed | {"present": present.numpy()}
    )
    assert len(got) == len(expected) == 5  # image, text, joint, categories, nudity
    for ours, theirs in zip(got, expected, strict=True):
        np.testing.assert_allclose(ours, theirs.numpy(), atol=1e-4)
    # rows without a picture skip the backbone (a batch of texts only too): their pixels change nothing
    texts_only = torch.tensor([[0.0, 1.0], [0.0, 1.0]])
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    other = {**feed, "pixels": np.flip(feed["pixels"], 0).copy(), "present": texts_only.numpy()}
    with torch.no_grad():
        want = ScoringModel(model)(pixels, ids, mask, texts_only)
    for ours, same, theirs in zip(
        session.run(None, feed | {"present": texts_only.numpy()}), session.run(None, other), want, strict=True
    ):
        np.testing.assert_allclose(ours, theirs.numpy(), atol=1e-4)
        np.testing.assert_array_equal(ours, same)
    # the shipped graphs keep the tower's weights as nsfwjs's uint8 codes: a quarter of the bytes, the same
    before = path.stat().st_size
    assert compact_tower_weights(path) > 12 * 2**20 and path.stat().st_size < before - 12 * 2**20
    compact = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for ours, theirs in zip(compact.run(None, feed | {"present": present.numpy()}), expected, strict=True):
        np.testing.assert_allclose(ours, theirs.numpy(), atol=1e-4)
