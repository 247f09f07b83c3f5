"""Read the text in an image (OCR): PP-OCRv4 detection and recognition from `rapidocr-onnxruntime`.

The package (Apache-2.0) brings the ONNX models and its pipeline classes; it is installed without its
dependencies, because it names CPU `onnxruntime`, whose module would replace onnxruntime-gpu's (same name):
the `ocr` extra lists what its pre- and post-processing needs instead (OCR_INSTALL). Its classes then run
on the project's own ONNX Runtime, on the engine's device.

What runs, per image (an RGB copy of at most `ocr_max_side` px a side, made by the decode step):
1. the gate (CPU under SAFETY_OCR=auto): text detection on a GATE_SIDE copy; no box, nothing else runs;
2. text detection (DB) at the copy's own size (no upscaling: rapidocr's default scales the shortest side
   up to 736 px, which made a wide strip cost seconds);
3. recognition (CTC) of the boxes in reading order, a few at a time, until `max_chars` characters are read
   (or MAX_TEXT_BOXES boxes): recognition's cost grows with the characters, so this bounds it.
The text-direction classifier is skipped: it only turns lines that are upside down, and cost a fifth of
the time (docs/operations.md, OCR).

Everything here is synchronous and runs in the OCR thread pool; a pipeline (its sessions and rapidocr's
objects, which keep per-call state) serves one thread at a time.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import queue
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from service.errors import OcrFailed, OcrUnavailable
from service.serving.inputs import PreparedItem, Preprocessor, fit_side
from service.settings import OcrSetting, Settings

if TYPE_CHECKING:
    import onnxruntime as ort

log = logging.getLogger(__name__)

RAPIDOCR = "rapidocr_onnxruntime"
RAPIDOCR_VERSION = "1.4.4"
OCR_INSTALL = f"pip install '.[ocr]' && pip install --no-deps rapidocr-onnxruntime=={RAPIDOCR_VERSION}"
# The gate's side: detection at 480 px found text from about 16 px high on a 960 px copy (1.7% of the
# longest side: a caption, a typed list), at a quarter of the detection's cost at 960; 320 px missed text
# under 28 px. Smaller text is read only where every image is read (a GPU, or SAFETY_OCR=on).
GATE_SIDE = 480
MIN_SIDE = 8  # a copy thinner than this holds no legible line (a 1 x 39,000,000 strip): it is not read
MAX_TEXT_BOXES = 256  # boxes recognised at most, in reading order (a page of scattered single letters)
REC_CHUNK = 6  # boxes recognised per run (rapidocr's rec_batch_num): the character cap is checked between
TEXT_SCORE = 0.5  # a recognised line whose confidence is lower is dropped (rapidocr's default)


def rapidocr_installed() -> bool:
    """Return True when the rapidocr-onnxruntime package can be imported."""
    return importlib.util.find_spec(RAPIDOCR) is not None


def check_ocr(setting: OcrSetting) -> None:
    """Raise OcrUnavailable when SAFETY_OCR=on and the package is missing (before minutes of loading)."""
    if setting == "on" and not rapidocr_installed():
        raise OcrUnavailable(f"SAFETY_OCR=on, but rapidocr-onnxruntime is not installed: {OCR_INSTALL}")


@dataclass(frozen=True)
class OcrPlan:
    """How images are read, decided once at start-up from the setting and the engine's device only."""

    cuda: bool  # the sessions run on the CUDA provider (the engine's)
    gate_side: int | None  # detect at this side first and read only images where text was found; None: all

    @property
    def mode(self) -> str:
        """`all` (every image is read) or `gated` (images where the gate found text)."""
        return "all" if self.gate_side is None else "gated"


def plan_ocr(setting: OcrSetting, cuda: bool) -> OcrPlan | None:
    """Resolve SAFETY_OCR for the engine's device: None when OCR is off.

    auto: every image on CUDA; on CPU behind the text-presence gate; off, with one log line, without the
    package. on: every image; OcrUnavailable without the package. Never by load: same input, same verdict.
    """
    if setting == "off":
        return None
    check_ocr(setting)
    if not rapidocr_installed():
        log.info(
            "OCR is off: rapidocr-onnxruntime is not installed (SAFETY_OCR=auto); to read the text in "
            "images: %s",
            OCR_INSTALL,
        )
        return None
    return OcrPlan(cuda=cuda, gate_side=None if cuda or setting == "on" else GATE_SIDE)


@dataclass(frozen=True)
class ImageText:
    """What OCR made of one image."""

    text: str  # the lines read, in reading order ("\n" between lines), at most max_chars; "" for none
    seconds: float
    capped: bool = False  # there was more text than max_chars (or MAX_TEXT_BOXES boxes): the rest is unread
    gated: bool = False  # the gate found no text: detection and recognition did not run
    boxes: int = 0  # text boxes recognised


class _Pipeline:
    """One rapidocr pipeline: detection and recognition sessions and their pre- and post-processing."""

    def __init__(self, cuda: bool) -> None:
        from rapidocr_onnxruntime import RapidOCR

        # limit_type "max": detect at the image's own size (rapidocr's "min" 736 scales the shortest side up
        # to 736 px). One intra-op thread per session: the pool's threads are the parallelism.
        self.ocr: Any = RapidOCR(intra_op_num_threads=1, inter_op_num_threads=1, det_limit_type="max")
        if cuda:
            # rapidocr's CUDA sessions ask cuDNN for an EXHAUSTIVE search of convolution algorithms, which it
            # repeats for every new input shape, and OCR's shapes change with every image (and every line's
            # width): so the two sessions are opened here, on the engine's provider, with HEURISTIC
            self.ocr.text_det.infer.session = _cuda_session(self.ocr.text_det.infer.session)
            self.ocr.text_rec.session.session = _cuda_session(self.ocr.text_rec.session.session)
        _quiet_rapidocr_loggers()

    def has_text(self, bgr: npt.NDArray[np.uint8], side: int) -> bool:
        """Return True when detection on a `side`-px copy finds any text box."""
        return bool(self._boxes(_fitted(bgr, side)))

    def read(self, bgr: npt.NDArray[np.uint8], max_chars: int) -> tuple[list[str], bool, int]:
        """Return the lines read in reading order, whether the caps cut the text short, and the boxes read."""
        img, _, _ = self.ocr.preprocess(bgr)  # a shortest side under 30 px is scaled up to 30
        img, _ = self.ocr.maybe_add_letterbox(img, {})  # a very wide strip gets borders: DB needs height
        boxes = self._boxes(img)
        if not boxes:
            return [], False, 0
        capped = len(boxes) > MAX_TEXT_BOXES
        boxes = boxes[:MAX_TEXT_BOXES]
        crops = self.ocr.get_crop_img_list(img, boxes)
        lines: list[str] = []
        previous: np.ndarray[Any, Any] | None = None
        chars = read = 0
        for start in range(0, len(crops), REC_CHUNK):
            if chars >= max_chars:
                capped = True
                break
            recognised, _ = self.ocr.text_rec(crops[start : start + REC_CHUNK])
            for box, (text, score) in zip(boxes[start:], recognised, strict=False):
                read += 1
                text = " ".join(str(text).split())
                if float(score) < TEXT_SCORE or not text:
                    continue
                same_line = previous is not None and _same_line(previous, box)
                if same_line and lines:
                    lines[-1] += " " + text
                else:
                    lines.append(text)
                chars += len(text) + 1
                previous = box
        return lines, capped, read

    def _boxes(self, img: npt.NDArray[np.uint8]) -> list[np.ndarray[Any, Any]]:
        boxes, _ = self.ocr.text_det(img)
        if boxes is None or len(boxes) == 0:
            return []
        return list(self.ocr.sorted_boxes(boxes))  # top to bottom, then left to right


def _fitted(image: npt.NDArray[np.uint8], side: int) -> npt.NDArray[np.uint8]:
    """Return the image reduced to fit `side` on its longest side (area average), or as it is."""
    import cv2

    width, height = fit_side(image.shape[1], image.shape[0], side)
    if (width, height) == (image.shape[1], image.shape[0]):
        return image
    return np.asarray(cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA), dtype=np.uint8)


def _same_line(previous: np.ndarray[Any, Any], box: np.ndarray[Any, Any]) -> bool:
    """True when `box` (4 corners, top-left first) sits on the line of `previous`, to its right."""
    height = float(previous[3][1] - previous[0][1])
    return abs(float(box[0][1] - previous[0][1])) < max(height, 1.0) / 2 and box[0][0] > previous[0][0]


def _cuda_session(cpu_session: ort.InferenceSession) -> ort.InferenceSession:
    """Open the model file of `cpu_session` again on CUDA (HEURISTIC convolution search), CPU as fallback."""
    import onnxruntime as ort

    from service.serving.engine import CPU_PROVIDER, CUDA_PROVIDER

    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.intra_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    providers: list[Any] = [(CUDA_PROVIDER, {"cudnn_conv_algo_search": "HEURISTIC"}), CPU_PROVIDER]
    return ort.InferenceSession(_model_path(cpu_session), sess_options=options, providers=providers)


def _model_path(session: Any) -> str:
    """The file a session was opened from (ORT keeps it as `_model_path`)."""
    path = getattr(session, "_model_path", None)
    if not isinstance(path, str | Path):
        raise OcrUnavailable("cannot find the OCR model file of a rapidocr session")
    return str(path)


def _quiet_rapidocr_loggers() -> None:
    """rapidocr gives its loggers their own stderr handler at DEBUG; let ours format and filter them."""
    for name in ("RapidOCR", "OrtInferSession"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.setLevel(logging.WARNING)


class TextReader:
    """Reads images' text on `threads` pipelines; `read` is called from the OCR pool's threads."""

    def __init__(self, plan: OcrPlan, *, max_chars: int, threads: int, max_side: int = 960) -> None:
        self.plan = plan
        self.max_chars = max_chars
        self.max_side = max_side  # the decode step's copy already fits it; a larger array is reduced first
        self._free: queue.SimpleQueue[_Pipeline] = queue.SimpleQueue()
        try:
            for _ in range(threads):
                self._free.put(_Pipeline(plan.cuda))
        except (ImportError, OSError, RuntimeError, ValueError) as exc:  # ORT raises RuntimeError subclasses
            raise OcrUnavailable(f"the OCR models do not load: {type(exc).__name__}: {exc}") from exc

    @classmethod
    def load(cls, plan: OcrPlan, settings: Settings) -> TextReader:
        """Open the pipelines for the settings (one per OCR thread)."""
        reader = cls(
            plan,
            max_chars=settings.ocr_max_chars,
            threads=settings.ocr_threads,
            max_side=settings.ocr_max_side,
        )
        log.info(
            "OCR on",
            extra={
                "ocr_mode": plan.mode,
                "provider": "cuda" if plan.cuda else "cpu",
                "threads": settings.ocr_threads,
                "max_side": settings.ocr_max_side,
                "max_chars": settings.ocr_max_chars,
            },
        )
        return reader

    def read(self, pixels: npt.NDArray[np.uint8]) -> ImageText:
        """Read the text of an RGB (H, W, 3) image; "" when there is none (or the image is too thin)."""
        started = time.perf_counter()
        bgr = np.ascontiguousarray(pixels[..., ::-1])  # PP-OCR was trained on OpenCV's BGR
        pipeline = self._free.get()
        try:
            bgr = _fitted(bgr, self.max_side)
            if min(bgr.shape[:2]) < MIN_SIDE:
                return ImageText("", time.perf_counter() - started)
            gate = self.plan.gate_side
            if gate is not None and not pipeline.has_text(bgr, gate):
                return ImageText("", time.perf_counter() - started, gated=True)
            lines, capped, boxes = pipeline.read(bgr, self.max_chars)
        except Exception as exc:  # rapidocr, OpenCV and ONNX Runtime raise their own types
            raise OcrFailed(f"reading the text in the image failed ({type(exc).__name__})") from exc
        finally:
            self._free.put(pipeline)
        text = "\n".join(lines)
        if len(text) > self.max_chars:
            text, capped = text[: self.max_chars], True
        return ImageText(text, time.perf_counter() - started, capped, boxes=boxes)

    def warmup(self) -> None:
        """Run each pipeline once on a picture of a word (sessions allocate on their first run)."""
        from PIL import Image, ImageDraw

        image = Image.new("RGB", (320, 96), "white")
        ImageDraw.Draw(image).text((16, 32), "warm up", fill="black", font_size=32)
        pixels = np.asarray(image)
        pipelines = []
        while True:
            try:
                pipelines.append(self._free.get_nowait())
            except queue.Empty:
                break
        try:
            for pipeline in pipelines:
                pipeline.read(np.ascontiguousarray(pixels[..., ::-1]), self.max_chars)
        finally:
            for pipeline in pipelines:
                self._free.put(pipeline)


def read_image_text(
    reader: TextReader, preprocessor: Preprocessor, item: PreparedItem, text: str | None
) -> tuple[ImageText, PreparedItem]:
    """Read an item's OCR copy; return what was read and the item with the rows that read it (`text`: the
    item's own text, as given to Preprocessor.prepare). OcrFailed when the reading raised."""
    assert item.ocr_pixels is not None
    read = reader.read(item.ocr_pixels)
    return read, preprocessor.with_image_text(item, text, read.text)


class OcrStage:
    """OCR while it is on: the reader, its own thread pool, and `slots`, which bound how many images hold
    an OCR copy at once (decoded and waiting for OCR, or being read: two per OCR thread)."""

    def __init__(self, reader: TextReader, threads: int) -> None:
        self.reader = reader
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="ocr")
        self.slots = asyncio.Semaphore(2 * threads)

    def close(self) -> None:
        """Stop the pool; images still waiting are not read."""
        self.pool.shutdown(wait=False, cancel_futures=True)


def open_ocr(plan: OcrPlan, settings: Settings) -> OcrStage:
    """Load the reader (one pipeline per OCR thread) and start its pool."""
    return OcrStage(TextReader.load(plan, settings), settings.ocr_threads)
