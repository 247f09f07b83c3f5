# One command per task; see README.md.
PY ?= python
ARTIFACT ?= model/artifacts/glyph-minilm

.PHONY: install serve test test-fast lint types model bench bench-gpu

install:            ## install the service with every extra the tests need (training, eval, dev tools)
	$(PY) -m pip install -e ".[train,eval,dev]"

serve:              ## serve the shipped default model on 127.0.0.1:8000
	$(PY) -m service serve --model $(ARTIFACT)

lint:
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

types:
	$(PY) -m mypy

test: lint types    ## lint + types + the whole test suite (the slow tests included)
	$(PY) -m pytest

test-fast: lint types  ## lint + types + the suite without the tests marked slow (training, servers, venvs)
	$(PY) -m pytest -m "not slow"

# The shipped model: the default corpus plus hand-written sets 1-6 in its training split (4 scenes per
# pair); sets 7-11 stay held out and are what the card's hand-written figure counts. Only int8 ships:
# fp16 would not fit the 80 MB, and the Dockerfile builds it.
HANDWRITTEN_TRAIN ?= build/handwritten-1-6

model:              ## reproduce the shipped default model from scratch (about 27 min on 2 CPU cores)
	$(PY) -m model corpus pairs model/data/handwritten_pairs.jsonl --sets 1-6 --out $(HANDWRITTEN_TRAIN)
	$(PY) -m model build --add $(HANDWRITTEN_TRAIN)/labelled.jsonl --epochs 17 --artifact $(ARTIFACT) --variants int8
	$(PY) -m model card --artifact $(ARTIFACT)

bench:              ## the benchmark, short phases (about 75 s on 2 cores): figures printed and in out/bench.json
	$(PY) loadtests/bench.py --quick --json out/bench.json

bench-gpu:          ## on a machine with a CUDA GPU and onnxruntime-gpu: add fp16 to a copy of the bundle, benchmark it there
	$(PY) -m model export --checkpoint $(ARTIFACT)/checkpoint.pt --artifact out/gpu-bundle --name glyph-minilm --variants int8,fp16
	SAFETY_DEVICE=cuda $(PY) loadtests/bench.py --model out/gpu-bundle --json out/bench-gpu.json
