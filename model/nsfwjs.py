"""The pretrained image tower: nsfwjs's MobileNetV2 "mid" graph model, converted without TensorFlow.

`nsfwjs@4.4.0` (MIT, https://github.com/infinitered/nsfwjs) ships its models as TF.js *graph* models
wrapped in `.min.js` files: `model.min.js` exports the model JSON (topology + weights manifest) as a
JavaScript object literal, and each `group1-shardNofM.min.js` exports one base64 weight shard. The mid
model is TF-Hub's ImageNet MobileNetV2-1.4 (224x224 input, 1792-d features) fine-tuned on five classes
(drawing, hentai, neutral, porn, sexy); its weights are uint8-quantised (`min + scale * q`).

`python -m model nsfwjs --tarball nsfwjs-4.4.0.tgz` converts the package once into `TOWER_DIR`:
`graph.json` (the ops in order, their inputs and attributes) and `weights.npz` (each constant's uint8
codes with its min and scale, exactly as shipped), plus the MIT notice. Those files are committed, so
training, export and CI need neither node nor the tarball. `NsfwjsTower` runs the graph in torch
(dequantising the codes as TF.js does), so it traces into the one ONNX graph with the rest of the model.
The parity test compares it with outputs of the original in TF.js (`tests/model/nsfwjs_reference.*`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import tarfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

TOWER_DIR = Path(__file__).parent / "towers" / "nsfwjs-mid"
PACKAGE_MODEL = "package/dist/models/mobilenet_v2_mid"
NUDITY_CLASSES = ("drawing", "hentai", "neutral", "porn", "sexy")  # the package's own class order
INPUT_SIZE = 224
FEATURE_NODE = "Conv_1/Relu6"  # the last feature map, (B, 7, 7, 1792) NHWC
POOLED_NODE = "feature_vector/SpatialSqueeze"  # its spatial mean, (B, 1792)
PREFIX = re.compile(r"^.*?/predict/(MobilenetV2/)?")  # the TF-Hub wrapper's scopes, shortened away
# the one module of a browserify bundle: `{1:[function(require,module,exports){module.exports=...`
BROWSERIFY_MODULE = re.compile(r"\{1:\[function\(\w+,(\w+),\w+\)\{\1\.exports=")
# the minifier writes true and false as !0 and !1 (no name in the model holds a "!")
MINIFIED_BOOL = re.compile(r"(?<=[:,\[])!([01])\b")
SUPPORTED = {
    "Placeholder",
    "Const",
    "Mul",
    "Sub",
    "_FusedConv2D",
    "FusedDepthwiseConv2dNative",
    "AddV2",
    "AvgPool",
    "Squeeze",
    "_FusedMatMul",
    "Softmax",
    "Identity",
}


class ConversionError(ValueError):
    """A package that is not the nsfwjs graph model this converter knows."""


# ----------------------------------------------------------------------------- conversion


def _module_exports(source: str) -> str:
    """Return the expression a browserify-wrapped `.min.js` assigns to `module.exports`."""
    start = BROWSERIFY_MODULE.search(source)
    end = source.rfind("},{}]},{},[1])(1)")
    if start is None or end < start.end():
        raise ConversionError("not a browserify-wrapped TF.js model file (no module.exports found)")
    return source[start.end() : end]


def _short(name: str) -> str:
    return PREFIX.sub("", name)


def _attr(value: dict[str, Any]) -> Any:
    """A TF.js attribute (protobuf JSON) as plain Python: strings decoded, lists of ints as ints."""
    if "list" in value:
        items = value["list"]
        if "s" in items:
            return [base64.b64decode(s).decode() for s in items["s"]]
        return [int(i) for i in items.get("i", [])]
    if "s" in value:
        return base64.b64decode(value["s"]).decode()
    if "i" in value:
        return int(value["i"])
    if "b" in value:
        return bool(value["b"])
    if "f" in value:
        return float(value["f"])
    return None


def convert_package(tarball: Path, out: Path = TOWER_DIR) -> dict[str, Any]:
    """Convert the mid model of an nsfwjs tarball (`npm pack nsfwjs@4.4.0`) into `out`; return a summary."""
    import json5  # the model file is a JavaScript object literal (unquoted keys, `.5` numbers)

    with tarfile.open(tarball) as tar:

        def read(member: str) -> str:
            handle = tar.extractfile(member)
            if handle is None:
                raise ConversionError(f"{tarball}: no {member}")
            return handle.read().decode()

        names = tar.getnames()
        literal = _module_exports(read(f"{PACKAGE_MODEL}/model.min.js"))
        model = json5.loads(MINIFIED_BOOL.sub(lambda m: "true" if m[1] == "0" else "false", literal))
        manifest = model["weightsManifest"]
        shards = [f"{PACKAGE_MODEL}/{p}.min.js" for group in manifest for p in group["paths"]]
        missing = [s for s in shards if s not in names]
        if missing:
            raise ConversionError(f"{tarball}: missing weight shards {missing}")
        blob = b"".join(base64.b64decode(json.loads(_module_exports(read(s)))) for s in shards)
        licence = read("package/LICENSE") if "package/LICENSE" in names else ""
        version = json.loads(read("package/package.json"))["version"]

    arrays: dict[str, Any] = {}  # uint8 codes by name (Any: numpy types savez(**kw) as bool)
    quant: dict[str, list[float]] = {}
    offset = 0
    for spec in (w for group in manifest for w in group["weights"]):
        q = spec.get("quantization") or {}
        if q.get("dtype") != "uint8":
            raise ConversionError(f"weight {spec['name']}: expected uint8 quantisation, got {q}")
        count = int(np.prod(spec["shape"])) if spec["shape"] else 1
        codes = np.frombuffer(blob, dtype=np.uint8, count=count, offset=offset).reshape(spec["shape"])
        offset += count
        key = _short(spec["name"])
        arrays[key] = codes.copy()
        quant[key] = [float(q["min"]), float(q["scale"])]
    if offset != len(blob):
        raise ConversionError(f"weight shards hold {len(blob)} bytes, the manifest names {offset}")

    ops = []
    for node in model["modelTopology"]["node"]:
        if node["op"] not in SUPPORTED:
            raise ConversionError(f"unsupported op {node['op']} ({node['name']})")
        if node["op"] == "Const":
            continue
        attrs = {k: _attr(v) for k, v in node.get("attr", {}).items() if k not in ("T", "dtype", "shape")}
        ops.append(
            {
                "name": _short(node["name"]),
                "op": node["op"],
                "inputs": [_short(i) for i in node.get("input", [])],
                "attrs": attrs,
            }
        )
    out.mkdir(parents=True, exist_ok=True)
    graph = {
        "source": f"nsfwjs@{version} {PACKAGE_MODEL}",
        "tarball_sha256": hashlib.sha256(tarball.read_bytes()).hexdigest(),
        "classes": list(NUDITY_CLASSES),
        "input_size": INPUT_SIZE,
        "quantization": quant,
        "ops": ops,
    }
    (out / "graph.json").write_text(json.dumps(graph, indent=1) + "\n")
    np.savez(out / "weights.npz", **arrays)
    if licence:
        (out / "LICENSE").write_text(licence)
    return {"ops": len(ops), "weights": len(arrays), "bytes": offset, "version": version, "out": str(out)}


# ----------------------------------------------------------------------------- the torch tower


def _same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TF's SAME padding for one axis: the extra row or column goes after (bottom/right)."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class NsfwjsTower(nn.Module):
    """The converted graph in torch: uint8 (B, 224, 224, 3) pixels in, its feature map, pooled features
    and five-class probabilities out. Frozen: the weights are non-persistent buffers, so checkpoints do
    not carry them (they are reloaded from `TOWER_DIR`) and the optimiser never sees them.
    """

    def __init__(self, folder: Path = TOWER_DIR) -> None:
        super().__init__()
        graph = json.loads((folder / "graph.json").read_text())
        codes = np.load(folder / "weights.npz")
        self.ops: list[dict[str, Any]] = graph["ops"]
        self.size: int = graph["input_size"]
        self.classes: tuple[str, ...] = tuple(graph["classes"])
        self.names: dict[str, str] = {}
        for i, (key, (low, scale)) in enumerate(graph["quantization"].items()):
            # in float64, then float32: how TF.js dequantises (`v * scale + min` in JavaScript numbers)
            exact = codes[key].astype(np.float64) * scale + low
            value = torch.from_numpy(np.asarray(exact, dtype=np.float32))
            self.names[key] = f"w{i}"
            self.register_buffer(f"w{i}", self._layout(key, value), persistent=False)
        self.width = 1792

    def _layout(self, key: str, value: torch.Tensor) -> torch.Tensor:
        """TF kernels (H, W, in, out) and depthwise (H, W, C, 1) -> torch's (out, in, H, W) / (C, 1, H, W)."""
        for op in self.ops:
            if len(op["inputs"]) > 1 and op["inputs"][1] == key:
                if op["op"] == "_FusedConv2D":
                    return value.permute(3, 2, 0, 1).contiguous()
                if op["op"] == "FusedDepthwiseConv2dNative":
                    return value.permute(2, 3, 0, 1).contiguous()
        return value

    def _const(self, key: str) -> torch.Tensor:
        tensor: torch.Tensor = getattr(self, self.names[key])
        return tensor

    def forward(self, pixels: torch.Tensor) -> dict[str, torch.Tensor]:
        x = pixels.permute(0, 3, 1, 2).float() / 255.0  # NCHW in [0, 1]: what nsfwjs feeds its model
        values: dict[str, torch.Tensor] = {}
        for op in self.ops:
            kind, args = op["op"], [values.get(i) for i in op["inputs"]]
            consts = [self._const(i) if i in self.names else None for i in op["inputs"]]
            a = args[0] if args else None
            if kind == "Placeholder":
                y = x
            elif kind in ("Mul", "Sub", "AddV2"):
                left = a if a is not None else consts[0]
                right = args[1] if args[1] is not None else consts[1]
                assert left is not None and right is not None
                y = left * right if kind == "Mul" else left - right if kind == "Sub" else left + right
            elif kind in ("_FusedConv2D", "FusedDepthwiseConv2dNative"):
                assert a is not None
                y = self._conv(a, consts[1], consts[2], op["attrs"], depthwise=kind != "_FusedConv2D")
            elif kind == "AvgPool":
                assert a is not None and op["attrs"]["padding"] == "VALID"
                y = a.mean(dim=(2, 3), keepdim=True)
                assert op["attrs"]["ksize"][1:3] == list(a.shape[2:]), "a global average pool"
            elif kind == "Squeeze":
                assert a is not None
                y = a.flatten(1)
            elif kind == "_FusedMatMul":
                assert a is not None and consts[1] is not None and consts[2] is not None
                y = a @ consts[1] + consts[2]
            elif kind in ("Softmax", "Identity"):
                assert a is not None
                y = a.softmax(-1) if kind == "Softmax" else a
            else:
                raise ConversionError(f"unsupported op {kind}")
            values[op["name"]] = y
        return {
            "features": values[FEATURE_NODE],  # (B, 1792, 7, 7)
            "pooled": values[POOLED_NODE],  # (B, 1792)
            "nudity": values["Identity"],  # (B, 5) probabilities
        }

    def nudity_of(self, pooled: torch.Tensor) -> torch.Tensor:
        """The five-class probabilities (B, 5) of pooled features (B, 1792): the graph's dense layer."""
        (dense,) = (op for op in self.ops if op["op"] == "_FusedMatMul")
        weight, bias = (self._const(key) for key in dense["inputs"][1:])
        return (pooled @ weight + bias).softmax(-1)

    @staticmethod
    def _conv(
        x: torch.Tensor,
        weight: torch.Tensor | None,
        bias: torch.Tensor | None,
        attrs: dict[str, Any],
        depthwise: bool,
    ) -> torch.Tensor:
        assert weight is not None and bias is not None and attrs["data_format"] == "NHWC"
        assert attrs["dilations"] == [1, 1, 1, 1] and attrs["padding"] == "SAME"
        stride = attrs["strides"][1]
        # plain ints: the tracer folds them into constants (the input side is fixed at 224)
        kernel, height, width = int(weight.shape[-1]), int(x.shape[2]), int(x.shape[3])
        top, bottom = _same_padding(height, kernel, stride)
        left, right = _same_padding(width, kernel, stride)
        if top or bottom or left or right:
            x = F.pad(x, (left, right, top, bottom))
        y = F.conv2d(x, weight, bias, stride=stride, groups=int(x.shape[1]) if depthwise else 1)
        fused = attrs.get("fused_ops", [])
        assert fused in (["BiasAdd"], ["BiasAdd", "Relu6"]), fused
        return F.relu6(y) if "Relu6" in fused else y


COMPACT_MIN_ELEMENTS = 1024  # weights smaller than this stay float32 (biases: a few KB in all)


def compact_tower_weights(path: Path, folder: Path = TOWER_DIR) -> int:
    """Store the tower's weights in an ONNX file as nsfwjs ships them: uint8 codes with their scale and
    minimum, turned back into float32 by Cast, Mul and Add, which ONNX Runtime folds into constants
    when it loads the graph (the computation stays float32: the same features within float rounding).

    The fused graph's float32 weights take 4 bytes each where nsfwjs's take 1, which the tracked tree's
    60 MiB could not hold. The initializers are found by value: each committed weight in the layout
    NsfwjsTower gives it. Rewrites `path` in place; returns the bytes saved.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    tower = NsfwjsTower(folder)
    graph_spec = json.loads((folder / "graph.json").read_text())
    codes = np.load(folder / "weights.npz")
    wanted: dict[bytes, tuple[np.ndarray, float, float]] = {}
    for key, (low, scale) in graph_spec["quantization"].items():
        if codes[key].size < COMPACT_MIN_ELEMENTS:
            continue
        value = tower._const(key).numpy()  # float32, torch's layout
        layout = tower._layout(key, torch.from_numpy(codes[key])).numpy()  # the codes, the same layout
        wanted[hashlib.sha256(np.ascontiguousarray(value).tobytes()).digest()] = (layout, low, scale)
    model = onnx.load(str(path))
    before = path.stat().st_size

    def match(tensor: onnx.TensorProto) -> tuple[np.ndarray, float, float] | None:
        if tensor.data_type != TensorProto.FLOAT:
            return None
        return wanted.get(hashlib.sha256(numpy_helper.to_array(tensor).tobytes()).digest())

    extra: list[onnx.TensorProto] = []

    def dequantize(name: str, found: tuple[np.ndarray, float, float]) -> list[onnx.NodeProto]:
        layout, low, scale = found
        extra.extend(
            [
                numpy_helper.from_array(np.ascontiguousarray(layout, dtype=np.uint8), f"{name}/codes"),
                numpy_helper.from_array(np.array(scale, dtype=np.float32), f"{name}/scale"),
                numpy_helper.from_array(np.array(low, dtype=np.float32), f"{name}/min"),
            ]
        )
        return [
            helper.make_node("Cast", [f"{name}/codes"], [f"{name}/float"], to=TensorProto.FLOAT),
            helper.make_node("Mul", [f"{name}/float", f"{name}/scale"], [f"{name}/scaled"]),
            helper.make_node("Add", [f"{name}/scaled", f"{name}/min"], [name]),
        ]

    # the tracer writes the tower's buffers (not in the state dict) as Constant nodes; initializers too
    nodes: list[onnx.NodeProto] = []
    compacted = 0
    for node in model.graph.node:
        values: list[onnx.TensorProto] = [a.t for a in node.attribute if a.name == "value"]
        found = match(values[0]) if node.op_type == "Constant" and values else None
        if found is None:
            nodes.append(node)
            continue
        nodes += dequantize(node.output[0], found)
        compacted += 1
    kept = []
    for init in model.graph.initializer:
        found = match(init)
        if found is None:
            kept.append(init)
            continue
        nodes = dequantize(init.name, found) + nodes
        compacted += 1
    if not compacted:
        raise ConversionError(f"{path}: no weight of the nsfwjs tower found in the graph")
    del model.graph.initializer[:]
    model.graph.initializer.extend(kept + extra)
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return before - path.stat().st_size
