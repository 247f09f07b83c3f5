"""The ONNX Runtime engine on the test bundle, device selection, and the fake engine's protocol."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest

from service.engine import CPU_PROVIDER, Engine, OnnxEngine, cuda_usable, dummy_batch, pick_device
from service.errors import ModelBundleError
from service.manifest import Bundle, file_sha256
from service.settings import Settings
from tests.service.bundle import IMAGE_SIZE, make_bundle
from tests.service.fakes import FakeEngine


def test_runs_the_bundle_on_cpu_with_dynamic_batch_and_seq(test_bundle: Path) -> None:
    engine = OnnxEngine.load(Bundle.load(test_bundle), Settings(model_dir=test_bundle, device="cpu"))
    assert engine.info.provider == CPU_PROVIDER and engine.info.variant == "fp32"
    for size, seq in ((1, 2), (5, 9)):
        scores = engine.run(dummy_batch(size, IMAGE_SIZE, seq))
        assert scores.image.shape == scores.joint.shape == (size, 3) and scores.categories.shape == (size, 15)
        assert np.allclose(scores.joint.sum(axis=1), 1.0, atol=1e-5)
    engine.warmup([1, 4])


def test_outputs_depend_on_the_inputs(test_bundle: Path) -> None:
    engine = OnnxEngine.load(Bundle.load(test_bundle), Settings(model_dir=test_bundle, device="cpu"))
    batch = dummy_batch(2, IMAGE_SIZE, 3)
    batch.pixels[1] = 255
    scores = engine.run(batch)
    assert scores.image[0].argmax() == 0 and scores.image[1].argmax() == 2


def test_refuses_a_model_whose_sha256_differs(tmp_path: Path) -> None:
    bundle_dir = make_bundle(tmp_path, sha256="0" * 64)
    with pytest.raises(ModelBundleError, match="sha256"):
        OnnxEngine.load(Bundle.load(bundle_dir), Settings(model_dir=bundle_dir, device="cpu"))


def test_refuses_a_graph_that_breaks_the_contract(tmp_path: Path) -> None:
    bundle_dir = make_bundle(tmp_path)
    model = onnx.load(str(bundle_dir / "model.fp32.onnx"))
    model.graph.input[
        3
    ].name = "presence"  # `present` renamed: the graph still loads, but breaks the contract
    for node in model.graph.node:
        node.input[:] = ["presence" if name == "present" else name for name in node.input]
    onnx.save(model, str(bundle_dir / "model.fp32.onnx"))
    manifest = json.loads((bundle_dir / "manifest.json").read_text())
    manifest["variants"]["fp32"]["sha256"] = file_sha256(bundle_dir / "model.fp32.onnx")
    (bundle_dir / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelBundleError, match="contract"):
        OnnxEngine.load(Bundle.load(bundle_dir), Settings(model_dir=bundle_dir, device="cpu"))


def test_device_selection_falls_back_to_cpu_quietly(capfd: pytest.CaptureFixture[str]) -> None:
    assert pick_device("cpu") == "cpu"
    usable = cuda_usable()
    assert pick_device("auto") == ("cuda" if usable else "cpu")
    if not usable:
        with pytest.raises(ModelBundleError, match="cuda"):
            pick_device("cuda")
    assert capfd.readouterr().err == ""


def test_fake_engine_satisfies_the_protocol() -> None:
    engine: Engine = FakeEngine()
    assert engine.run(dummy_batch(3, 8, 4)).categories.shape == (3, 15)
