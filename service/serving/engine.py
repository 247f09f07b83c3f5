"""Inference engines: the `Engine` protocol and its ONNX Runtime implementation.

CPU: one session, batches run at their own size (texts already padded to the longest in the batch).
CUDA: the bundle's GPU variant (fp16), `CUDA_SESSIONS` sessions (each CUDA provider instance has its own
stream, so one batch's host-device copies overlap another's compute when the batcher runs two batches at
once), IOBinding, and fixed batch-size buckets (powers of two up to max_batch_size): a batch is padded
to the next bucket and its outputs cut back, so the GPU only ever sees shapes that warm-up ran.
"""

from __future__ import annotations

import ctypes
import dataclasses
import logging
import os
import queue
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import numpy.typing as npt

from service.errors import ModelBundleError
from service.serving.bundle import INPUT_NAMES, OUTPUT_NAMES, Bundle
from service.settings import Settings

if TYPE_CHECKING:
    import onnxruntime as ort

log = logging.getLogger(__name__)

CUDA_PROVIDER = "CUDAExecutionProvider"
CPU_PROVIDER = "CPUExecutionProvider"
CUDA_SESSIONS = 2
# CPU cost model for splitting a batch by text length, in units of one padded token of one row: a run
# costs RUN_COST_TOKENS, each row ROW_COST_TOKENS plus its padded length, and a run's padded tokens stay
# under MAX_RUN_TOKENS (beyond it the cost per row rises again: activations outgrow the caches). Fitted
# on the glyph-minilm int8 model on 2 CPU cores: a run of B texts of T tokens takes about
# 1.45 ms + B * (0.37 ms + 0.03 ms * T); 8 texts of 128 tokens 4.9 ms each, 32 of them 5.7 ms each
# (docs/performance.md has the table).
RUN_COST_TOKENS = 48.0
ROW_COST_TOKENS = 12.0
MAX_RUN_TOKENS = 1024


@dataclasses.dataclass(frozen=True)
class Batch:
    """Model inputs for one batch, already padded (docs/manifest.md)."""

    pixels: npt.NDArray[np.uint8]  # (B, H, W, 3)
    input_ids: npt.NDArray[np.int64]  # (B, T)
    attention_mask: npt.NDArray[np.int64]  # (B, T)
    present: npt.NDArray[np.float32]  # (B, 2): image, text

    def __len__(self) -> int:
        return int(self.pixels.shape[0])


@dataclasses.dataclass(frozen=True)
class BatchScores:
    """Model outputs for one batch, float32."""

    image: npt.NDArray[np.float32]  # (B, 3)
    text: npt.NDArray[np.float32]  # (B, 3)
    joint: npt.NDArray[np.float32]  # (B, 3)
    categories: npt.NDArray[np.float32]  # (B, C)


@dataclasses.dataclass(frozen=True)
class EngineInfo:
    """What is loaded, for /v1/models and the model-info metric."""

    variant: str
    file: str
    sha256: str
    provider: str
    sessions: int = 1  # sessions that can run batches at once (the batcher runs at least this many)
    buckets: tuple[int, ...] = ()  # the fixed batch sizes batches are padded to; empty: any size


class Engine(Protocol):
    """Runs one padded batch; called from a worker thread, never on the event loop."""

    @property
    def info(self) -> EngineInfo: ...

    def run(self, batch: Batch) -> BatchScores: ...

    def warmup(self, batch_sizes: list[int]) -> None: ...


def dummy_batch(size: int, image_size: int, seq: int) -> Batch:
    """Return a batch of black images and `seq`-token texts, for warm-up."""
    ids = np.zeros((size, seq), dtype=np.int64)
    return Batch(
        pixels=np.zeros((size, image_size, image_size, 3), dtype=np.uint8),
        input_ids=ids,
        attention_mask=np.ones_like(ids),
        present=np.ones((size, 2), dtype=np.float32),
    )


def batch_buckets(max_batch_size: int) -> tuple[int, ...]:
    """Return the fixed batch sizes for the GPU: powers of two below max_batch_size, and max_batch_size."""
    return tuple(
        sorted(
            {1 << i for i in range(max_batch_size.bit_length()) if 1 << i < max_batch_size} | {max_batch_size}
        )
    )


def bucket_for(size: int, buckets: Sequence[int]) -> int:
    """Return the smallest bucket that holds `size` items (size <= the largest bucket)."""
    return next(b for b in buckets if b >= size)


def pad_batch(batch: Batch, size: int) -> Batch:
    """Repeat the last row until the batch has `size` rows (real rows keep their padding-free results)."""
    extra = size - len(batch)
    if extra <= 0:
        return batch

    def pad(array: npt.NDArray[Any]) -> npt.NDArray[Any]:
        return np.concatenate([array, np.repeat(array[-1:], extra, axis=0)])

    return Batch(pad(batch.pixels), pad(batch.input_ids), pad(batch.attention_mask), pad(batch.present))


def slice_batch(batch: Batch, start: int, stop: int) -> Batch:
    """Return rows start:stop of a batch."""
    rows = slice(start, stop)
    return Batch(batch.pixels[rows], batch.input_ids[rows], batch.attention_mask[rows], batch.present[rows])


def join_scores(parts: Sequence[BatchScores], size: int) -> BatchScores:
    """Concatenate per-chunk outputs and keep the first `size` rows (the rest are bucket padding)."""
    if len(parts) == 1 and len(parts[0].joint) == size:
        return parts[0]

    def cat(arrays: Sequence[npt.NDArray[np.float32]]) -> npt.NDArray[np.float32]:
        return np.concatenate(arrays)[:size]

    return BatchScores(
        image=cat([p.image for p in parts]),
        text=cat([p.text for p in parts]),
        joint=cat([p.joint for p in parts]),
        categories=cat([p.categories for p in parts]),
    )


def length_groups(
    lengths: Sequence[int],
    run_cost: float = RUN_COST_TOKENS,
    row_cost: float = ROW_COST_TOKENS,
    max_run_tokens: int = MAX_RUN_TOKENS,
) -> list[list[int]]:
    """Split rows into groups of similar text length at the least estimated cost; return row indices.

    Padding every text to the longest in the batch wastes most of the work when one long text joins
    short ones; many small runs waste the per-run cost. Exact for the cost model: a DP over the rows
    sorted by length (n <= max_batch_size, so O(n^2) is microseconds).
    """
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    best = [0.0] + [float("inf")] * len(order)  # best[i]: least cost of the i shortest rows
    cut = [0] * (len(order) + 1)
    for i in range(1, len(order) + 1):
        longest = lengths[order[i - 1]]
        for j in range(i):
            if (i - j) * longest > max_run_tokens and i - j > 1:
                continue
            cost = best[j] + run_cost + (i - j) * (row_cost + longest)
            if cost < best[i]:
                best[i], cut[i] = cost, j
    groups = []
    i = len(order)
    while i > 0:
        groups.append(order[cut[i] : i])
        i = cut[i]
    return groups[::-1]


def scatter_scores(parts: Sequence[tuple[list[int], BatchScores]], size: int) -> BatchScores:
    """Put each group's output rows back at their rows of the batch."""
    first = parts[0][1]

    def gather(name: str) -> npt.NDArray[np.float32]:
        out = np.empty((size, getattr(first, name).shape[1]), dtype=np.float32)
        for rows, scores in parts:
            out[rows] = getattr(scores, name)
        return out

    return BatchScores(gather("image"), gather("text"), gather("joint"), gather("categories"))


def cuda_usable() -> bool:
    """Return True only if ONNX Runtime lists CUDA, a GPU is visible and the CUDA provider library loads."""
    import onnxruntime as ort

    if CUDA_PROVIDER not in ort.get_available_providers():
        return False
    try:
        libcuda = ctypes.CDLL("libcuda.so.1")
        count = ctypes.c_int(0)
        if libcuda.cuInit(0) != 0 or libcuda.cuDeviceGetCount(ctypes.byref(count)) != 0 or count.value < 1:
            return False
        # The provider library needs cuBLAS/cuRAND/cudart (and cuDNN); if one is missing this fails quietly
        # here instead of noisily inside InferenceSession. Lazy: its ORT-host symbols resolve later.
        provider_lib = Path(ort.__file__).parent / "capi" / "libonnxruntime_providers_cuda.so"
        ctypes.CDLL(str(provider_lib), mode=os.RTLD_LAZY)
    except OSError:
        return False
    return True


def pick_device(requested: str) -> str:
    """Resolve the `device` setting to `cuda` or `cpu`; `cuda` demanded but unusable is an error."""
    if requested == "cpu":
        return "cpu"
    usable = cuda_usable()
    if requested == "cuda" and not usable:
        raise ModelBundleError("device=cuda was requested but no usable CUDA GPU / provider was found")
    return "cuda" if usable else "cpu"


_NUMPY_TYPES: dict[str, type[np.generic]] = {
    "tensor(uint8)": np.uint8,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(float)": np.float32,
    "tensor(float16)": np.float16,
}


class OnnxEngine:
    """ONNX Runtime session(s) over a verified bundle variant."""

    def __init__(
        self,
        sessions: ort.InferenceSession | Sequence[ort.InferenceSession],
        info: EngineInfo,
        image_size: int,
        max_tokens: int,
        *,
        bind_device: str | None = None,
        group_by_length: bool = False,
    ) -> None:
        """`bind_device` ("cuda" or "cpu"): run through IOBinding, outputs on that device; None: `run()`.
        `group_by_length`: run a batch as sub-batches of similar text length (CPU; see length_groups)."""
        self._sessions = list(sessions) if isinstance(sessions, Sequence) else [sessions]
        self._free: queue.SimpleQueue[ort.InferenceSession] = queue.SimpleQueue()
        for session in self._sessions:
            self._free.put(session)
        self._info = info
        self._image_size = image_size
        self._max_tokens = max_tokens
        self._bind_device = bind_device
        self._group_by_length = group_by_length
        first = self._sessions[0]
        self._input_types = {i.name: _NUMPY_TYPES.get(i.type, np.float32) for i in first.get_inputs()}

    @classmethod
    def load(cls, bundle: Bundle, settings: Settings) -> OnnxEngine:
        """Verify the variant's sha256, open session(s) on the best usable provider, check their I/O."""
        device = pick_device(settings.device)
        session, info = _open_session(bundle, settings, device)
        if device == "cuda" and info.provider != CUDA_PROVIDER:
            if settings.device == "cuda":
                raise ModelBundleError(f"device=cuda was requested but the session runs on {info.provider}")
            log.warning(
                "CUDA provider did not start; serving the CPU variant", extra={"provider": info.provider}
            )
            session, info = _open_session(bundle, settings, "cpu")
        manifest = bundle.manifest
        sessions = [session]
        bind_device = None
        if info.provider == CUDA_PROVIDER:
            sessions += [_open_session(bundle, settings, "cuda")[0] for _ in range(CUDA_SESSIONS - 1)]
            info = dataclasses.replace(
                info, sessions=len(sessions), buckets=batch_buckets(settings.max_batch_size)
            )
            bind_device = "cuda"
            if manifest.variants[info.variant].device != "cuda":
                log.warning(
                    "the bundle has no GPU variant: its CPU variant runs on CUDA, where int8 operators "
                    "may fall back to the CPU; add fp16 with `python -m model export --checkpoint "
                    "<bundle>/checkpoint.pt --artifact <bundle> --variants int8,fp16`",
                    extra={"variant": info.variant},
                )
        log.info(
            "model loaded",
            extra={
                "model": manifest.name,
                "variant": info.variant,
                "provider": info.provider,
                "sessions": info.sessions,
                "buckets": list(info.buckets),
            },
        )
        return cls(
            sessions,
            info,
            manifest.image.size,
            manifest.text.max_tokens,
            bind_device=bind_device,
            group_by_length=bind_device is None,  # CPU: padding costs in proportion; GPU: fixed shapes
        )

    @property
    def info(self) -> EngineInfo:
        return self._info

    def run(self, batch: Batch) -> BatchScores:
        """Run one batch on a free session; with buckets, in bucket-sized chunks padded and cut back."""
        buckets = self._info.buckets
        if self._group_by_length and len(batch) > 1:
            return self._run_grouped(batch)
        if not buckets:
            return self._run_on_free(batch)
        size, largest = len(batch), buckets[-1]
        parts = []
        for start in range(0, size, largest):
            chunk = slice_batch(batch, start, start + largest)
            parts.append(self._run_on_free(pad_batch(chunk, bucket_for(len(chunk), buckets))))
        return join_scores(parts, size)  # only the last chunk can be padded: cut it back

    def warmup(self, batch_sizes: list[int]) -> None:
        """Run each batch size (every bucket, when there are buckets) at a short and the longest text
        length, once on every session."""
        sizes = self._info.buckets or batch_sizes
        for session in self._sessions:
            for size in sizes:
                for seq in sorted({2, self._max_tokens}):
                    self._run(session, dummy_batch(size, self._image_size, seq))

    def _run_grouped(self, batch: Batch) -> BatchScores:
        """Run rows of similar text length together, each group padded to its own longest text."""
        lengths = batch.attention_mask.sum(axis=1)
        groups = length_groups([int(n) for n in lengths])
        if len(groups) == 1:
            return self._run_on_free(batch)
        parts: list[tuple[list[int], BatchScores]] = []
        for rows in groups:
            seq = int(lengths[rows].max())
            sub = Batch(
                batch.pixels[rows],
                batch.input_ids[rows, :seq],
                batch.attention_mask[rows, :seq],
                batch.present[rows],
            )
            parts.append((rows, self._run_on_free(sub)))
        return scatter_scores(parts, len(batch))

    def _run_on_free(self, batch: Batch) -> BatchScores:
        if len(self._sessions) == 1:  # a session runs concurrent calls itself (CPU, inference_workers > 1)
            return self._run(self._sessions[0], batch)
        session = self._free.get()  # each batch has a session (and its CUDA stream) to itself
        try:
            return self._run(session, batch)
        finally:
            self._free.put(session)

    def _run(self, session: ort.InferenceSession, batch: Batch) -> BatchScores:
        """Run one batch as is; inputs are cast to the dtypes the graph declares."""
        feeds: dict[str, Any] = {
            "pixels": batch.pixels,
            "input_ids": batch.input_ids,
            "attention_mask": batch.attention_mask,
            "present": batch.present,
        }
        feeds = {
            name: np.ascontiguousarray(value, dtype=self._input_types[name]) for name, value in feeds.items()
        }
        if self._bind_device is None:
            outputs = session.run(list(OUTPUT_NAMES), feeds)
        else:
            binding = session.io_binding()
            for name, value in feeds.items():
                binding.bind_cpu_input(name, value)  # copied to the device on the session's stream
            for name in OUTPUT_NAMES:
                binding.bind_output(name, self._bind_device)
            session.run_with_iobinding(binding)
            outputs = binding.copy_outputs_to_cpu()
        image, text, joint, categories = outputs
        return BatchScores(
            image=np.asarray(image, dtype=np.float32),
            text=np.asarray(text, dtype=np.float32),
            joint=np.asarray(joint, dtype=np.float32),
            categories=np.asarray(categories, dtype=np.float32),
        )


def _open_session(bundle: Bundle, settings: Settings, device: str) -> tuple[ort.InferenceSession, EngineInfo]:
    import onnxruntime as ort

    variant = bundle.variant_for(device, settings.variant)
    path = bundle.verified_file(variant)
    options = ort.SessionOptions()
    options.intra_op_num_threads = settings.intra_op_threads
    options.inter_op_num_threads = settings.inter_op_threads
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if device == "cpu":
        # ORT's intra-op threads spin between ops by default; in the service they share the cores with
        # the decode pool and the event loop, and spinning took CPU from both (docs/performance.md)
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3  # errors only; ORT's info and warnings are not our logs
    providers = [CUDA_PROVIDER, CPU_PROVIDER] if device == "cuda" else [CPU_PROVIDER]
    try:
        session = ort.InferenceSession(str(path), sess_options=options, providers=providers)
    except Exception as exc:  # ORT raises its own exception types
        raise ModelBundleError(f"ONNX Runtime cannot load {path}: {exc}") from exc
    _check_io(session, path, bundle.manifest.image.size)
    info = EngineInfo(
        variant, path.name, bundle.manifest.variants[variant].sha256, session.get_providers()[0]
    )
    return session, info


def _check_io(session: ort.InferenceSession, path: Path, image_size: int) -> None:
    inputs = {i.name: i for i in session.get_inputs()}
    outputs = {o.name for o in session.get_outputs()}
    if set(inputs) != set(INPUT_NAMES) or not set(OUTPUT_NAMES) <= outputs:
        raise ModelBundleError(
            f"{path} does not follow the bundle contract: "
            f"inputs {sorted(inputs)} (want {list(INPUT_NAMES)}), "
            f"outputs {sorted(outputs)} (want {list(OUTPUT_NAMES)})"
        )
    height, width = inputs["pixels"].shape[1:3]  # NHWC; a dynamic side (a name) takes any size
    if any(isinstance(d, int) and d != image_size for d in (height, width)):
        raise ModelBundleError(
            f"{path} takes {height}x{width} images, but the manifest's image.size is {image_size}: "
            "the manifest belongs to another graph"
        )
