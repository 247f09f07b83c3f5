"""The ONNX Runtime engine on the test bundle, device selection, and the fake engine's protocol."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from service.errors import ModelBundleError
from service.serving.bundle import Bundle, file_sha256
from service.serving.engine import (
    CPU_PROVIDER,
    CUDA_PROVIDER,
    CUDA_SESSIONS,
    Batch,
    Engine,
    OnnxEngine,
    batch_buckets,
    bucket_for,
    cuda_usable,
    dummy_batch,
    length_groups,
    pad_batch,
    pick_device,
)
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


def _varied_batch(size: int, seq: int = 6) -> Batch:
    """Rows that all score differently: grey levels, some unsafe tokens, some texts absent."""
    rng = np.random.default_rng(0)
    ids = rng.integers(5, 40, size=(size, seq), dtype=np.int64)
    mask = np.ones_like(ids)
    mask[::3, seq // 2 :] = 0  # some shorter texts
    pixels = np.repeat(np.linspace(0, 255, size, dtype=np.uint8), IMAGE_SIZE * IMAGE_SIZE * 3)
    present = np.ones((size, 2), dtype=np.float32)
    present[::4, 1] = 0.0
    return Batch(pixels.reshape(size, IMAGE_SIZE, IMAGE_SIZE, 3), ids, mask, present)


def test_batch_buckets_are_powers_of_two_up_to_the_largest_batch() -> None:
    assert batch_buckets(32) == (1, 2, 4, 8, 16, 32)
    assert batch_buckets(24) == (1, 2, 4, 8, 16, 24)
    assert batch_buckets(1) == (1,)
    assert [bucket_for(n, (1, 2, 4, 8)) for n in (1, 2, 3, 5, 8)] == [1, 2, 4, 8, 8]
    padded = pad_batch(_varied_batch(3), 4)
    assert len(padded) == 4 and np.array_equal(padded.input_ids[3], padded.input_ids[2])


def test_bucketed_engine_with_io_binding_matches_the_plain_engine_on_cpu(test_bundle: Path) -> None:
    """The CUDA path's CPU-side logic (buckets, chunks, IOBinding, a session pool) run on the CPU provider."""
    plain = OnnxEngine.load(Bundle.load(test_bundle), Settings(model_dir=test_bundle, device="cpu"))
    path = str(test_bundle / "model.fp32.onnx")
    sessions = [ort.InferenceSession(path, providers=[CPU_PROVIDER]) for _ in range(CUDA_SESSIONS)]
    info = dataclasses.replace(plain.info, sessions=len(sessions), buckets=(1, 2, 4))
    bucketed = OnnxEngine(sessions, info, IMAGE_SIZE, 16, bind_device="cpu")
    bucketed.warmup([32])  # every bucket on every session, whatever sizes are asked for
    for size in (1, 3, 4, 7, 9):  # padded to a bucket; over the largest bucket: run in chunks
        batch = _varied_batch(size)
        want, got = plain.run(batch), bucketed.run(batch)
        for name in ("image", "text", "joint", "categories"):
            assert getattr(got, name).shape == getattr(want, name).shape
            assert np.allclose(getattr(got, name), getattr(want, name), atol=1e-6), (size, name)


@pytest.mark.gpu
@pytest.mark.skipif(not cuda_usable(), reason="needs a CUDA GPU and the CUDA execution provider")
def test_cuda_engine_uses_two_sessions_buckets_and_matches_cpu(test_bundle: Path) -> None:
    settings = Settings(model_dir=test_bundle, device="cuda", max_batch_size=8)
    engine = OnnxEngine.load(Bundle.load(test_bundle), settings)
    assert engine.info.provider == CUDA_PROVIDER
    assert engine.info.sessions == CUDA_SESSIONS and engine.info.buckets == (1, 2, 4, 8)
    engine.warmup([1])
    cpu = OnnxEngine.load(Bundle.load(test_bundle), Settings(model_dir=test_bundle, device="cpu"))
    for size in (1, 5, 11):
        batch = _varied_batch(size)
        assert np.allclose(engine.run(batch).joint, cpu.run(batch).joint, atol=1e-3)


def test_length_groups_keep_short_texts_apart_from_long_ones() -> None:
    assert length_groups([12] * 8) == [list(range(8))]
    groups = length_groups([4, 128, 5, 120, 6, 4])
    assert sorted(i for g in groups for i in g) == list(range(6))
    assert [sorted(g) for g in groups] == [[0, 2, 4, 5], [1, 3]]
    assert all(len(g) * 128 <= 1024 for g in length_groups([128] * 32))  # big runs split


def test_grouped_engine_matches_one_padded_batch(test_bundle: Path) -> None:
    engine = OnnxEngine.load(Bundle.load(test_bundle), Settings(model_dir=test_bundle, device="cpu"))
    batch = _varied_batch(12, seq=16)
    batch.attention_mask[::2, 3:] = 0  # half the texts short: two groups
    grouped = engine.run(batch)
    engine._group_by_length = False
    plain = engine.run(batch)
    for name in ("image", "text", "joint", "categories"):
        assert np.allclose(getattr(grouped, name), getattr(plain, name), atol=1e-6), name
