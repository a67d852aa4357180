# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
ARCH   := $(shell uname -m)

.PHONY: demo test fuzz bench clean nerfstudio-env test-nerfstudio

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@if [ "$(ARCH)" = "x86_64" ]; then \
		$(PY) -m pip install -q "torch==2.14.1" "torchvision==0.29.1"; \
	fi
	$(PY) -m pip install -q -e ".[test]"
	@touch $(STAMP)

# The nerfstudio plug-in (stylize-splat) lives in its own environment: nerfstudio 1.1.5 pins viser 0.2.7 and
# gsplat 1.4.0, while `stylize view` needs viser>=1.0 (the `viewer` extra, which the main .venv gets through
# `test`). `.[nerfstudio]` resolves to nerfstudio's pins plus our other dependencies.
NS_VENV  := .venv-nerfstudio
NS_PY    := $(NS_VENV)/bin/python
NS_STAMP := $(NS_VENV)/.installed
NS_TORCH := $(if $(filter x86_64,$(ARCH)),"torch==2.14.1" "torchvision==0.29.1",)

$(NS_STAMP): pyproject.toml
	@test -x $(NS_PY) || $(PYTHON) -m venv $(NS_VENV)
	@if [ -n '$(NS_TORCH)' ]; then $(NS_PY) -m pip install -q $(NS_TORCH); fi
	$(NS_PY) -m pip install -q -e ".[nerfstudio]" "pytest>=7.4"
	@touch $(NS_STAMP)

nerfstudio-env: $(NS_STAMP)

test-nerfstudio: $(NS_STAMP)
	$(NS_PY) -m pytest -q tests/nerfstudio

demo: $(STAMP)
	$(VENV)/bin/stylize demo --out out

test: $(STAMP)
	$(PY) -m pytest -q

fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=fuzz $(PY) -m pytest -q tests/fuzz

bench: $(STAMP)
	$(PY) benchmarks/bench_image.py

clean:
	rm -rf out .pytest_cache
