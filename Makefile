# Two commands do all the set-up: `make run` and `make test`. Both create .venv when needed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint demo bench clean system-deps

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]' 2>&1 | grep -v "is ignored: it is neither a file nor a directory" || true
	@$(BIN)/python -c "import vqa_desk, PySide6, pytest" || { echo "installation failed: see the pip output above"; exit 1; }
	@touch $(STAMP)

# The local-training extra (torch, transformers, trl, peft, accelerate), which the tests need. TORCH pins the
# CPU wheel these machines hold on disk, so pip does not fetch a multi-GB CUDA build; on a GPU machine install
# the CUDA torch first and run `make local TORCH=torch`.
TORCH ?= torch==2.13.0
LOCAL_STAMP := $(VENV)/.installed-local
$(LOCAL_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test,local]' '$(TORCH)' 2>&1 | grep -v "is ignored: it is neither a file nor a directory" || true
	@$(BIN)/python -c "import torch, transformers, trl, peft" || { echo "installing the local extra failed: see the pip output above"; exit 1; }
	@touch $(LOCAL_STAMP)

.PHONY: local
local: $(LOCAL_STAMP)

# Opens the app on the demo workspace; with no display it says so and runs the headless equivalent.
run: $(STAMP)
	$(BIN)/vqa-desk

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports

# ruff, the import-layer contract, the whole suite offscreen, then the Qt-free tests again with PySide6
# unimportable (the fast ones: the slow ones exercise the same imports).
test: lint $(LOCAL_STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest
	VQA_DESK_BLOCK_QT=1 $(BIN)/python -m pytest tests/core tests/sandbox -q -p no:pytest-qt -m "not slow"

demo: $(STAMP)
	$(BIN)/vqa-desk demo

bench: $(STAMP)
	$(BIN)/python bench/bench_import.py
	$(BIN)/python bench/bench_gui.py --covers 20000

# PACKAGING: the desktop executable (build.spec, docs/packaging.md). One-dir bundle in dist/vqa-desk/ (run
# dist/vqa-desk/vqa-desk; <1 min, ~469 MB); ONEFILE=1 makes one self-extracting dist/vqa-desk (~204 MB), NO_OCR=1
# leaves RapidOCR / OpenCV / onnxruntime out (~324 MB). PyInstaller's config and cache stay under build/; the
# stand-in libraries (build.spec) need binutils and gcc.
.PHONY: dist
dist: $(STAMP)
	PYINSTALLER_CONFIG_DIR=$(CURDIR)/build/pyinstaller-config $(BIN)/pyinstaller --noconfirm --distpath dist \
		--workpath build build.spec -- $(if $(ONEFILE),--onefile) $(if $(NO_OCR),--no-ocr)

# A real window under Xvfb (not needed for the tests, which run offscreen) needs these Debian packages.
system-deps:
	apt-get update && apt-get install -y xvfb libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache
