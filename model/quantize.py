"""Dynamic int8 quantisation with one activation scale per row, the activations smoothed first.

ONNX Runtime's dynamic quantisation gives each matmul input one int8 scale over the whole batch, so an
item's scores move with its batchmates and with padding (a 0.28 move measured through the service).
Here each row (a token, or an item's pooled features) gets its own symmetric scale, max|x| / 127,
computed in the graph (the vector-wise quantisation of LLM.int8 and ZeroQuant): an item's integer
products and its scales depend on its own rows alone, and integer matmuls add exactly, so an item
scores the same alone, in any batch and beside any padding.

A few channels of the text tower's activations are much larger than the rest. Smoothing (as in
SmoothQuant, Xiao et al. 2022) divides each input channel j of a weight matmul by s_j and multiplies
row j of the weight by s_j: the fp32 result is unchanged, the activations are flatter, and the
weights (quantised per output channel) take the difference. s_j = max|x_j|^alpha / max|w_j|^(1 - alpha),
from a calibration run.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import onnx

SMOOTH_ALPHA = 0.7  # chosen on the validation split (model/README.md); 0 turns smoothing off


def quantize_int8(
    fp32: Path,
    path: Path,
    calibration: Iterable[dict[str, np.ndarray]] = (),
    alpha: float = SMOOTH_ALPHA,
    per_row: bool = True,
) -> None:
    """Dynamic int8 quantisation of matmuls and the embedding table (weights int8, activations on the fly).

    With calibration batches (the graph's input feeds) and alpha > 0, the matmul inputs are
    smoothed first. Weights are quantised per output channel: int8 grades agree with fp32 far
    more often than with one scale per tensor. Activations get one scale per row (`per_row_activations`);
    `per_row=False` keeps ONNX Runtime's one scale per tensor (the batch-dependent graph, for the bench).
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    feeds = list(calibration)
    with tempfile.TemporaryDirectory() as tmp:
        source = fp32
        if feeds and alpha > 0:
            source = Path(tmp) / "smoothed.onnx"
            smooth_activations(fp32, source, feeds, alpha)
        per_tensor = Path(tmp) / "per_tensor.onnx"
        quantize_dynamic(
            str(source),
            str(per_tensor),
            weight_type=QuantType[WEIGHT_TYPE],
            op_types_to_quantize=["MatMul", "Gemm", "Gather"],
            per_channel=True,
        )
        if per_row:
            per_row_activations(per_tensor, path)
        else:
            shutil.copyfile(per_tensor, path)


QUANTIZATION = (
    "int8: weights uint8 per output channel; activations dynamic, one symmetric scale per row "
    "(batch-invariant); SmoothQuant"
)


# uint8 weights (zero point per channel), not int8: x86-64 CPUs without VNNI (AVX2 only) compute
# uint8 x int8 products in pairs summed into int16 (vpmaddubsw), which saturates (2 x 255 x 128 > 32767);
# VNNI CPUs do not. With int8 weights the shipped graph scored the same items up to 0.07 apart on an AVX2
# EPYC and on a VNNI CPU, and the AVX2 CPU scored a row differently alone and in a batch. ONNX Runtime's
# uint8 x uint8 kernels widen to 16 bits first, so every x86-64 CPU computes the same integers. (7-bit
# weights or 7-bit activations also avoid the saturation but cost accuracy: tests/model/test_quantize.py.)
WEIGHT_TYPE = "QUInt8"
QMAX = 127


def per_row_activations(source: Path, path: Path) -> int:
    """Rewrite every DynamicQuantizeLinear of `source` (one scale per tensor) as symmetric per-row
    quantisation; return how many were rewritten.

    A row's scale is max|x| / QMAX over its last axis (the matmul's reduction axis), so q = round(x /
    scale) lies in [-QMAX, QMAX] without clipping; q + QMAX + 1 as uint8 with that zero point keeps ONNX
    Runtime's fast u8s8 integer matmul. The row scale multiplies the float result last: ONNX Runtime's
    MatMulIntegerToFloat fusion reads the combined scale Mul(a_scale, b_scale) as per-tensor and would
    use one row's scale for all.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(source))
    graph = model.graph
    consumers: dict[str, list[tuple[onnx.NodeProto, int]]] = {}
    for node in graph.node:
        for index, name in enumerate(node.input):
            consumers.setdefault(name, []).append((node, index))
    constants: dict[str, np.ndarray] = {
        "per_row/epsilon": np.array(1e-12, np.float32),  # an all-zero row (padding) gets scale ~0, q = 0
        "per_row/qmax": np.array(QMAX, np.float32),
        "per_row/shift": np.array(QMAX + 1, np.float32),
        "per_row/zero_point": np.array(QMAX + 1, np.uint8),
        "per_row/one": np.array(1.0, np.float32),
    }
    graph.initializer.extend(numpy_helper.from_array(value, name) for name, value in constants.items())
    after: dict[str, list[onnx.NodeProto]] = {}  # node name -> nodes that must follow it
    rewritten: list[onnx.NodeProto] = []
    count = 0
    for node in graph.node:
        if node.op_type != "DynamicQuantizeLinear":
            rewritten.append(node)
            rewritten.extend(after.pop(node.name, []))
            continue
        count += 1
        x, (quantized, scale, zero_point), p = node.input[0], node.output, node.name
        if {index for _, index in consumers.get(quantized, [])} != {0}:
            raise ValueError(f"{p}: a quantised activation feeds a matmul's B input: not per-row")
        rewritten += [
            helper.make_node("Abs", [x], [f"{p}/abs"], name=f"{p}/abs"),
            helper.make_node("ReduceMax", [f"{p}/abs"], [f"{p}/max"], name=f"{p}/max", axes=[-1], keepdims=1),
            helper.make_node("Max", [f"{p}/max", "per_row/epsilon"], [f"{p}/peak"], name=f"{p}/peak"),
            helper.make_node("Div", [f"{p}/peak", "per_row/qmax"], [scale], name=f"{p}/scale"),
            helper.make_node("Div", [x, scale], [f"{p}/scaled"], name=f"{p}/scaled"),
            helper.make_node("Round", [f"{p}/scaled"], [f"{p}/rounded"], name=f"{p}/rounded"),
            helper.make_node("Add", [f"{p}/rounded", "per_row/shift"], [f"{p}/shifted"], name=f"{p}/shifted"),
            helper.make_node("Cast", [f"{p}/shifted"], [quantized], name=f"{p}/cast", to=TensorProto.UINT8),
        ]
        for matmul, index in consumers.get(zero_point, []):
            matmul.input[index] = "per_row/zero_point"
        for scales_mul, index in consumers.get(scale, []):  # Mul(a_scale, b_scale): b_scale alone now
            scales_mul.input[index] = "per_row/one"
            for final, _ in consumers.get(scales_mul.output[0], []):  # Mul(float result, scales)
                out = final.output[0]
                final.output[0] = f"{out}/per_column"
                late = helper.make_node("Mul", [f"{out}/per_column", scale], [out], name=f"{out}/per_row")
                after.setdefault(final.name, []).append(late)
    if after:
        raise ValueError(f"nodes not placed: {sorted(after)}")
    del graph.node[:]
    graph.node.extend(rewritten)
    onnx.save(model, str(path))
    return count


def smooth_activations(fp32: Path, path: Path, calibration: list[dict[str, np.ndarray]], alpha: float) -> int:
    """Write `fp32` with every weight matmul's input smoothed; return how many inputs were smoothed."""
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(fp32))
    graph = model.graph
    weights = {w.name: w for w in graph.initializer}
    # matmuls that read the same activation (query, key, value) share one smoothing factor
    consumers: dict[str, list[onnx.NodeProto]] = {}
    first: dict[str, int] = {}  # position of each input's first matmul (node names may be empty)
    for position, node in enumerate(graph.node):
        if node.op_type == "MatMul" and node.input[1] in weights:
            consumers.setdefault(node.input[0], []).append(node)
            first.setdefault(node.input[0], position)
    x_max = _channel_max(model, list(consumers), calibration)

    smoothing: dict[int, onnx.NodeProto] = {}  # first consumer's position -> its Mul node
    for x, nodes in consumers.items():
        w = [numpy_helper.to_array(weights[n.input[1]]) for n in nodes]
        w_max = np.max([np.abs(m).max(axis=1) for m in w], axis=0)
        s = np.maximum(x_max[x], 1e-5) ** alpha / np.maximum(w_max, 1e-5) ** (1 - alpha)
        s = np.clip(s, 1e-2, 1e2).astype(np.float32)
        inverse = numpy_helper.from_array((1 / s).astype(np.float32), f"{x}/smooth_inverse")
        graph.initializer.append(inverse)
        smoothed = f"{x}/smoothed"
        smoothing[first[x]] = helper.make_node("Mul", [x, inverse.name], [smoothed], name=f"{x}/smooth")
        for node, matrix in zip(nodes, w, strict=True):
            weights[node.input[1]].CopyFrom(
                numpy_helper.from_array((matrix * s[:, None]).astype(np.float32), node.input[1])
            )
            node.input[0] = smoothed

    ordered = []  # each Mul goes just before the first matmul that reads it: still topological
    for position, node in enumerate(graph.node):
        if position in smoothing:
            ordered.append(smoothing[position])
        ordered.append(node)
    del graph.node[:]
    graph.node.extend(ordered)
    onnx.save(model, str(path))
    return len(consumers)


def _channel_max(
    model: onnx.ModelProto, names: list[str], calibration: list[dict[str, np.ndarray]]
) -> dict[str, np.ndarray]:
    """Run the graph on the calibration feeds; return each named tensor's max |value| per channel."""
    import onnx
    import onnxruntime as ort

    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    probe.graph.output.extend(
        onnx.helper.make_tensor_value_info(n, onnx.TensorProto.FLOAT, None) for n in names
    )
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(probe.SerializeToString(), options, providers=["CPUExecutionProvider"])
    found: dict[str, np.ndarray] = {}
    for feeds in calibration:
        for name, value in zip(names, session.run(names, feeds), strict=True):
            peak = np.abs(value).reshape(-1, value.shape[-1]).max(axis=0)
            found[name] = np.maximum(found[name], peak) if name in found else peak
    return found
