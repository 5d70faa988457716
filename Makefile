# refgraph: `make help` lists the targets.
PY ?= python3
BUILD ?= build/dev
JOBS ?= 2
DEB_PACKAGES = build-essential pkg-config libboost-graph-dev libgraphviz-dev graphviz doctest-dev libcli11-dev \
               nlohmann-json3-dev libfmt-dev libzstd-dev libxxhash-dev file gdb \
               chromium
PYBIND11_DIR = $(shell $(PY) -c "import pybind11; print(pybind11.get_cmake_dir())" 2>/dev/null)

.PHONY: help deps build install test test-cpp test-python demo bench lint asan clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 14

deps: ## install the Debian and PyPI packages refgraph builds and tests with (needs root)
	@if ! dpkg -s $(DEB_PACKAGES) >/dev/null 2>&1; then \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(DEB_PACKAGES); fi
	$(PY) -m pip install -q --disable-pip-version-check "scikit-build-core>=0.10" "pybind11>=2.12" cmake ninja \
	  "pytest>=7" "objgraph>=3.6" "gunicorn>=21" "flask>=2.2" \
	  uvicorn fastapi prometheus_client "xxhash>=3" "zstandard>=0.21"

build: deps ## dev build of the core library, the CLI, the Python module and the doctest suite
	cmake -S . -B $(BUILD) -G Ninja -DPython_EXECUTABLE=$$(command -v $(PY)) -Dpybind11_DIR=$(PYBIND11_DIR)
	cmake --build $(BUILD) -j $(JOBS)

install: deps ## pip install . (the Python package, its native module and the `refgraph` command)
	$(PY) -m pip install -q --disable-pip-version-check ".[test]"

test-cpp: build ## the doctest suite through ctest
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

test-python: install ## the pytest suite against the installed package and CLI
	$(PY) -m pytest

test: test-cpp test-python ## everything CI runs

demo: install ## a leaking sample app found live, then the CLI on the bundled sample dumps
	$(PY) samples/demo.py

bench: install ## the benchmarks against objgraph, Pympler and guppy3 (slow)
	$(PY) -m pip install -q --disable-pip-version-check ".[bench]"
	$(PY) benchmarks/run_all.py

lint: ## clang-format and ruff, if installed
	-clang-format --dry-run --Werror core/src/*.cpp core/include/refgraph/*.hpp cli/*.cpp bindings/native/*.cpp
	-ruff check bindings/refgraph tests/python samples benchmarks

asan: deps ## doctests under AddressSanitizer and UBSan
	cmake -S . -B build/asan -G Ninja -DREFGRAPH_SANITIZE=ON -DREFGRAPH_BUILD_PYTHON=OFF -DCMAKE_BUILD_TYPE=Debug
	cmake --build build/asan -j $(JOBS)
	LSAN_OPTIONS=suppressions=$(CURDIR)/tests/cpp/lsan.supp ctest --test-dir build/asan --output-on-failure

clean: ## remove build output
	rm -rf build bindings/refgraph/_core*.so
