# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
ARCH   := $(shell uname -m)

.PHONY: demo test fuzz bench clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@if [ "$(ARCH)" = "x86_64" ]; then \
		$(PY) -m pip install -q "torch==2.14.1" "torchvision==0.29.1"; \
	fi
	$(PY) -m pip install -q -e ".[test]"
	@touch $(STAMP)

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
