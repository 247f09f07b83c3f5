# syntax=docker/dockerfile:1
#
# The joint image+text safety classifier, ready for CPU or NVIDIA GPU hosts.
#
#   docker build -t safety-classifier:0.1.0 .
#   docker run --rm -p 8000:8000 safety-classifier:0.1.0                  # CPU
#   docker run --rm --gpus all -p 8000:8000 safety-classifier:0.1.0       # GPU (SAFETY_DEVICE=auto picks CUDA)
#   docker run --rm -p 8000:8000 -v "$PWD/my-policies:/app/policies:ro" safety-classifier:0.1.0
#
# The model bundle (/app/model) comes from one of two stages, picked with MODEL_SOURCE (needs BuildKit,
# the default builder, which skips the stage not picked):
# - model-export (the default): re-exports int8 (CPU) and fp16 (GPU) from the checkpoint.pt in
#   model/artifacts/glyph-minilm/ (`python -m model export`, with the `train` extra: torch and its CUDA
#   wheels, in a throwaway stage; a few minutes), so the image serves fp16 on GPU (manifest
#   default_variant.cuda = fp16) and int8 on CPU. The checkpoint itself stays out of the image.
# - model-shipped: a quick CPU-only build that copies the bundle as it is in git (int8 only, no fp16:
#   GPU hosts then serve what the shipped manifest names for cuda) and installs no torch:
#     docker build --build-arg MODEL_SOURCE=model-shipped -t safety-classifier:0.1.0-cpu .
#
# Base image choice: python:3.11-slim + NVIDIA's CUDA/cuDNN pip wheels, not an nvidia/cuda base.
# - The pinned onnxruntime-gpu (1.31.1) is built for CUDA 13.0 and cuDNN 9: its CUDA provider links
#   libcublasLt.so.13, libcublas.so.13, libcudart.so.13, libcurand.so.10 and dlopens libcudnn.so.9
#   (read with `readelf -d onnxruntime/capi/libonnxruntime_providers_cuda.so`; build_and_package_info
#   says cuda_version = '13.0'). Its `[cuda,cudnn]` extras pull exactly the matching wheels
#   (nvidia-cuda-runtime/-nvrtc/-cufft/-curand 13.x, nvidia-cudnn-cu13 9.x -> nvidia-cublas 13.x),
#   so the CUDA libraries can never drift from what ONNX Runtime was built against.
# - The CUDA 13 images are Ubuntu 24.04 (Python 3.12) or 22.04 (Python 3.10); getting Python 3.11 onto
#   them means a third-party PPA or a copied interpreter. python:3.11-slim is the interpreter we test on.
# - The same image runs on CPU-only hosts: without a GPU the service falls back to the CPU provider.
# The host needs an NVIDIA driver for CUDA 13 (>= 580) and the NVIDIA container toolkit;
# libcuda.so.1 comes from the driver, injected by the toolkit (`--gpus`, or the k8s device plugin).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
# model-export (int8 + fp16, re-exported from the checkpoint) or model-shipped (the bundle in git as is)
ARG MODEL_SOURCE=model-export

# ---- builder: a self-contained virtualenv with the serving install (`pip install .`) and OCR -------
# No torch, no matplotlib: the `train` and `eval` extras stay out of the runtime image; the `ocr` extra
# and rapidocr-onnxruntime (its PP-OCRv4 models, 15 MB) go in, on the same onnxruntime-gpu.
FROM ${PYTHON_IMAGE} AS builder

# Keep in step with the onnxruntime-gpu the project is tested with (tests/deploy checks this).
ARG ORT_VERSION=1.31.1
# OCR (SAFETY_OCR): the `ocr` extra, then rapidocr-onnxruntime without its dependencies (it names CPU
# `onnxruntime`, whose module would replace onnxruntime-gpu's). Keep in step with RAPIDOCR_VERSION in
# service/serving/ocr.py (tests/service/serving/test_ocr.py checks this).
ARG RAPIDOCR_VERSION=1.4.4

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

# The same path in both stages: venv scripts carry it in their shebang lines.
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

# Heavy, rarely changing layer first: ONNX Runtime with the CUDA 13 and cuDNN 9 runtime wheels.
RUN pip install --no-cache-dir "onnxruntime-gpu[cuda,cudnn]==${ORT_VERSION}"

WORKDIR /src
# README.md is optional for the build (pyproject names it); the glob keeps COPY from failing without it.
COPY pyproject.toml README.md* ./
COPY service/ service/
COPY model/ model/
# An absolute path, not ".[ocr]": hadolint (DL3013) reads a path as pinned.
RUN pip install --no-cache-dir "/src[ocr]" \
    && pip install --no-cache-dir --no-deps "rapidocr-onnxruntime==${RAPIDOCR_VERSION}" \
    && python -c "import importlib.metadata as md, importlib.util as u, service.api.app, onnxruntime, \
rapidocr_onnxruntime; \
heavy = [m for m in ('torch', 'matplotlib') if u.find_spec(m)]; assert not heavy, heavy; \
ort = sorted(d.metadata['Name'] for d in md.distributions() if d.metadata['Name'].startswith('onnxruntime')); \
assert ort == ['onnxruntime-gpu'], ort; print('onnxruntime', onnxruntime.__version__)"

# ---- model-export: the int8 and fp16 variants, re-exported from the shipped trained weights -------
# Throwaway: torch (pinned by the `train` extra, with its CUDA wheels) never reaches the runtime image.
# The figures in the manifest are recomputed on the held-out split of the synthetic corpus (rendered
# from model/); the optional hand-written pairs (tests/) are not in the build context and are skipped.
FROM builder AS model-export
# An absolute path, not ".[train]": hadolint (DL3013) reads a path as pinned, and torch is pinned inside.
RUN pip install --no-cache-dir "/src[train]"
COPY model/artifacts/glyph-minilm/checkpoint.pt /src/checkpoint.pt
RUN python -m model export --checkpoint /src/checkpoint.pt --artifact /bundle --name glyph-minilm \
       --variants int8,fp16 \
    && rm -f /bundle/checkpoint.pt \
    && python -c "import json; m = json.load(open('/bundle/manifest.json')); \
assert m['default_variant'] == {'cpu': 'int8', 'cuda': 'fp16'}, m['default_variant']"

# ---- model-shipped: the bundle in git as is (int8, CPU), without its training checkpoint ---------
FROM scratch AS model-shipped
COPY model/artifacts/glyph-minilm/manifest.json model/artifacts/glyph-minilm/tokenizer.json \
     model/artifacts/glyph-minilm/LICENSE.nsfwjs model/artifacts/glyph-minilm/model.*.onnx /bundle/

# ---- model: the bundle the runtime serves, from the stage MODEL_SOURCE names ----------------------
FROM ${MODEL_SOURCE} AS model

# ---- runtime ------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

LABEL org.opencontainers.image.title="safety-classifier" \
      org.opencontainers.image.description="Joint image+text safety classifier (VLSU taxonomy) on ONNX Runtime" \
      org.opencontainers.image.version="0.1.0"

# A fixed, numeric, unprivileged user (k8s runAsNonRoot needs a numeric USER to verify it).
ARG APP_UID=10001
RUN groupadd --system --gid ${APP_UID} app \
    && useradd --system --uid ${APP_UID} --gid app --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin app

COPY --from=builder /opt/venv /opt/venv
# The default model bundle (from the model stage above) and policies, at fixed paths; mount over them
# (read-only) to replace them, or point SAFETY_MODEL_DIR / SAFETY_POLICIES_DIR elsewhere.
# Owned by root: the app only reads them.
COPY --from=model /bundle/ /app/model/
COPY policies/ /app/policies/

# LD_LIBRARY_PATH: where the NVIDIA wheels put the CUDA 13 and cuDNN 9 libraries, so the CUDA provider
# (and the service's own probe that dlopens it) finds them; harmless on CPU-only hosts.
# HOME points at /tmp: the root filesystem may be read-only (k8s mounts an emptyDir there).
ENV PATH=/opt/venv/bin:$PATH \
    LD_LIBRARY_PATH=/opt/venv/lib/python3.11/site-packages/nvidia/cu13/lib:/opt/venv/lib/python3.11/site-packages/nvidia/cudnn/lib \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    SAFETY_HOST=0.0.0.0 \
    SAFETY_PORT=8000 \
    SAFETY_MODEL_DIR=/app/model \
    SAFETY_POLICIES_DIR=/app/policies

WORKDIR /app
USER ${APP_UID}:${APP_UID}
EXPOSE 8000

# Liveness only (/healthz); readiness (/readyz: model loaded and warm) is for the orchestrator.
# Change the port with SAFETY_PORT (not --port) so this check follows it.
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('SAFETY_PORT', '8000') + '/healthz', timeout=4)"]

ENTRYPOINT ["python", "-m", "service"]
CMD ["serve", "--host", "0.0.0.0"]
