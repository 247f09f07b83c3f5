"""int8: per-row activation scales make a row's result independent of its batch; smoothing keeps the
fp32 function, and an outlier channel stops hurting int8."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from model.quantize import per_row_activations, quantize_int8, smooth_activations


def _two_matmuls(path: Path, rng: np.random.Generator) -> None:
    """Y = relu(X @ W1) @ W2, with X (batch, 32): a small stand-in for a transformer's feed-forward block."""
    w1 = numpy_helper.from_array(rng.normal(0, 0.2, (32, 64)).astype(np.float32), "w1")
    w2 = numpy_helper.from_array(rng.normal(0, 0.2, (64, 8)).astype(np.float32), "w2")
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["x", "w1"], ["h"], name="up"),
            helper.make_node("Relu", ["h"], ["a"], name="act"),
            helper.make_node("MatMul", ["a", "w2"], ["y"], name="down"),
        ],
        "ffn",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 32])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 8])],
        [w1, w2],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    onnx.save(model, str(path))


def _activations(rng: np.random.Generator, n: int) -> np.ndarray:
    x = rng.normal(0, 1, (n, 32)).astype(np.float32)
    x[:, 3] *= 60  # one outlier channel, as in the text tower: it sets the per-tensor int8 scale
    return x


def _run(path: Path, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    out: np.ndarray = session.run(["y"], {"x": x})[0]
    return out


def test_smoothing_keeps_the_fp32_function(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    _two_matmuls(tmp_path / "fp32.onnx", rng)
    x = _activations(rng, 64)
    smoothed = smooth_activations(tmp_path / "fp32.onnx", tmp_path / "smooth.onnx", [{"x": x}], alpha=0.8)
    assert smoothed == 2  # both matmul inputs
    new_x = _activations(rng, 16)
    np.testing.assert_allclose(
        _run(tmp_path / "smooth.onnx", new_x), _run(tmp_path / "fp32.onnx", new_x), rtol=1e-4, atol=1e-4
    )
    ops = [n.op_type for n in onnx.load(str(tmp_path / "smooth.onnx")).graph.node]
    assert ops == ["Mul", "MatMul", "Relu", "Mul", "MatMul"]


def test_smoothing_places_each_multiply_by_position_not_by_node_name(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    _two_matmuls(tmp_path / "named.onnx", rng)
    model = onnx.load(str(tmp_path / "named.onnx"))
    for node in model.graph.node:
        node.name = ""  # names are optional in ONNX
    onnx.save(model, str(tmp_path / "fp32.onnx"))
    smooth_activations(tmp_path / "fp32.onnx", tmp_path / "smooth.onnx", [{"x": _activations(rng, 64)}], 0.8)
    ops = [n.op_type for n in onnx.load(str(tmp_path / "smooth.onnx")).graph.node]
    assert ops == ["Mul", "MatMul", "Relu", "Mul", "MatMul"]
    x = _activations(rng, 16)
    np.testing.assert_allclose(
        _run(tmp_path / "smooth.onnx", x), _run(tmp_path / "fp32.onnx", x), rtol=1e-4, atol=1e-4
    )


def test_smoothing_brings_int8_closer_to_fp32_when_a_channel_is_an_outlier(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    _two_matmuls(tmp_path / "fp32.onnx", rng)
    calibration = [{"x": _activations(rng, 64)} for _ in range(4)]
    quantize_int8(tmp_path / "fp32.onnx", tmp_path / "plain.onnx", calibration, alpha=0)
    quantize_int8(tmp_path / "fp32.onnx", tmp_path / "smooth.onnx", calibration, alpha=0.8)
    x = _activations(rng, 256)
    reference = _run(tmp_path / "fp32.onnx", x)

    def error(path: Path) -> float:
        return float(np.linalg.norm(_run(path, x) - reference) / np.linalg.norm(reference))

    plain, smooth = error(tmp_path / "plain.onnx"), error(tmp_path / "smooth.onnx")
    assert plain > 0.005  # really quantised: the outlier makes plain int8 coarse
    # per-row scales already soften an outlier channel (it is in every row, so it still sets each
    # row's scale): smoothing cut the error by 2x under one scale per batch, by 1.8x here
    assert smooth < plain * 0.6


def test_a_row_scores_the_same_alone_and_beside_any_batchmates(tmp_path: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    rng = np.random.default_rng(2)
    _two_matmuls(tmp_path / "fp32.onnx", rng)
    quantize_int8(tmp_path / "fp32.onnx", tmp_path / "int8.onnx")
    x = _activations(rng, 16)
    loud = np.vstack([x, 50 * _activations(rng, 1), np.zeros((1, 32), np.float32)])  # a loud row, padding
    alone = np.vstack([_run(tmp_path / "int8.onnx", row[None]) for row in x])
    together = _run(tmp_path / "int8.onnx", loud)[:16]
    np.testing.assert_allclose(together, alone, rtol=0, atol=1e-6)
    reference = _run(tmp_path / "fp32.onnx", x)
    assert np.linalg.norm(alone - reference) / np.linalg.norm(reference) < 0.02  # still close to fp32
    # ONNX Runtime's own dynamic quantisation (one scale per batch) moves with the loud row
    quantize_dynamic(
        str(tmp_path / "fp32.onnx"), str(tmp_path / "per_tensor.onnx"), weight_type=QuantType.QInt8
    )
    per_tensor = _run(tmp_path / "per_tensor.onnx", loud)[:16]
    assert (
        np.abs(per_tensor - np.vstack([_run(tmp_path / "per_tensor.onnx", r[None]) for r in x])).max() > 1e-3
    )


def test_the_rewrite_counts_every_dynamic_quantisation_and_refuses_an_activation_as_b(tmp_path: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    _two_matmuls(tmp_path / "fp32.onnx", np.random.default_rng(3))
    quantize_dynamic(str(tmp_path / "fp32.onnx"), str(tmp_path / "dyn.onnx"), weight_type=QuantType.QInt8)
    assert per_row_activations(tmp_path / "dyn.onnx", tmp_path / "row.onnx") == 2
    onnx.checker.check_model(str(tmp_path / "row.onnx"))
    ops = [n.op_type for n in onnx.load(str(tmp_path / "row.onnx")).graph.node]
    assert "DynamicQuantizeLinear" not in ops and ops.count("MatMulInteger") == 2
