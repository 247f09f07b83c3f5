"""Inference engines: the `Engine` protocol and its ONNX Runtime implementation."""

from __future__ import annotations

import ctypes
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import numpy.typing as npt

from service.errors import ModelBundleError
from service.manifest import INPUT_NAMES, OUTPUT_NAMES, Bundle
from service.settings import Settings

if TYPE_CHECKING:
    import onnxruntime as ort

log = logging.getLogger(__name__)

CUDA_PROVIDER = "CUDAExecutionProvider"
CPU_PROVIDER = "CPUExecutionProvider"


@dataclass(frozen=True)
class Batch:
    """Model inputs for one batch, already padded (docs/manifest.md)."""

    pixels: npt.NDArray[np.uint8]  # (B, H, W, 3)
    input_ids: npt.NDArray[np.int64]  # (B, T)
    attention_mask: npt.NDArray[np.int64]  # (B, T)
    present: npt.NDArray[np.float32]  # (B, 2): image, text

    def __len__(self) -> int:
        return int(self.pixels.shape[0])


@dataclass(frozen=True)
class BatchScores:
    """Model outputs for one batch, float32."""

    image: npt.NDArray[np.float32]  # (B, 3)
    text: npt.NDArray[np.float32]  # (B, 3)
    joint: npt.NDArray[np.float32]  # (B, 3)
    categories: npt.NDArray[np.float32]  # (B, C)


@dataclass(frozen=True)
class EngineInfo:
    """What is loaded, for /v1/models and the model-info metric."""

    variant: str
    file: str
    sha256: str
    provider: str


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
    """One ONNX Runtime session over a verified bundle variant."""

    def __init__(
        self, session: ort.InferenceSession, info: EngineInfo, image_size: int, max_tokens: int
    ) -> None:
        self._session = session
        self._info = info
        self._image_size = image_size
        self._max_tokens = max_tokens
        self._input_types = {i.name: _NUMPY_TYPES.get(i.type, np.float32) for i in session.get_inputs()}

    @classmethod
    def load(cls, bundle: Bundle, settings: Settings) -> OnnxEngine:
        """Verify the variant's sha256, open a session on the best usable provider, check its I/O."""
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
        log.info(
            "model loaded", extra={"model": manifest.name, "variant": info.variant, "provider": info.provider}
        )
        return cls(session, info, manifest.image.size, manifest.text.max_tokens)

    @property
    def info(self) -> EngineInfo:
        return self._info

    def run(self, batch: Batch) -> BatchScores:
        """Run one batch; inputs are cast to the dtypes the graph declares."""
        feeds: dict[str, Any] = {
            "pixels": batch.pixels,
            "input_ids": batch.input_ids,
            "attention_mask": batch.attention_mask,
            "present": batch.present,
        }
        feeds = {
            name: np.ascontiguousarray(value, dtype=self._input_types[name]) for name, value in feeds.items()
        }
        image, text, joint, categories = self._session.run(list(OUTPUT_NAMES), feeds)
        return BatchScores(
            image=np.asarray(image, dtype=np.float32),
            text=np.asarray(text, dtype=np.float32),
            joint=np.asarray(joint, dtype=np.float32),
            categories=np.asarray(categories, dtype=np.float32),
        )

    def warmup(self, batch_sizes: list[int]) -> None:
        """Run each batch size at a short and the longest text length once."""
        for size in batch_sizes:
            for seq in sorted({2, self._max_tokens}):
                self.run(dummy_batch(size, self._image_size, seq))


def _open_session(bundle: Bundle, settings: Settings, device: str) -> tuple[ort.InferenceSession, EngineInfo]:
    import onnxruntime as ort

    variant = bundle.variant_for(device, settings.variant)
    path = bundle.verified_file(variant)
    options = ort.SessionOptions()
    options.intra_op_num_threads = settings.intra_op_threads
    options.inter_op_num_threads = settings.inter_op_threads
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only; ORT's info and warnings are not our logs
    providers = [CUDA_PROVIDER, CPU_PROVIDER] if device == "cuda" else [CPU_PROVIDER]
    try:
        session = ort.InferenceSession(str(path), sess_options=options, providers=providers)
    except Exception as exc:  # ORT raises its own exception types
        raise ModelBundleError(f"ONNX Runtime cannot load {path}: {exc}") from exc
    _check_io(session, path)
    info = EngineInfo(
        variant, path.name, bundle.manifest.variants[variant].sha256, session.get_providers()[0]
    )
    return session, info


def _check_io(session: ort.InferenceSession, path: Path) -> None:
    inputs = {i.name for i in session.get_inputs()}
    outputs = {o.name for o in session.get_outputs()}
    if inputs != set(INPUT_NAMES) or not set(OUTPUT_NAMES) <= outputs:
        raise ModelBundleError(
            f"{path} does not follow the bundle contract: "
            f"inputs {sorted(inputs)} (want {list(INPUT_NAMES)}), "
            f"outputs {sorted(outputs)} (want {list(OUTPUT_NAMES)})"
        )
