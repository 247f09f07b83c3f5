"""Dynamic int8 quantisation, with the activations smoothed first so int8 grades like fp32.

ONNX Runtime's dynamic quantisation gives each matmul input one int8 scale over the whole batch.
A few channels of the text tower's activations are much larger than the rest, so that scale is
coarse for every other channel. Smoothing (as in SmoothQuant, Xiao et al. 2022) divides each
input channel j of a weight matmul by s_j and multiplies row j of the weight by s_j: the fp32
result is unchanged, the activations are flatter, and the weights (quantised per output channel)
take the difference. s_j = max|x_j|^alpha / max|w_j|^(1 - alpha), from a calibration run.
"""

from __future__ import annotations

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
) -> None:
    """Dynamic int8 quantisation of matmuls and the embedding table (weights int8, activations on the fly).

    With calibration batches (the graph's input feeds) and alpha > 0, the matmul inputs are
    smoothed first. Weights are quantised per output channel: int8 grades agree with fp32 far
    more often than with one scale per tensor.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    feeds = list(calibration)
    with tempfile.TemporaryDirectory() as tmp:
        source = fp32
        if feeds and alpha > 0:
            source = Path(tmp) / "smoothed.onnx"
            smooth_activations(fp32, source, feeds, alpha)
        quantize_dynamic(
            str(source),
            str(path),
            weight_type=QuantType.QInt8,
            op_types_to_quantize=["MatMul", "Gemm", "Gather"],
            per_channel=True,
        )


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
