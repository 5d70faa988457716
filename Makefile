# refgraph: `make help` lists the targets.
PY ?= python3
BUILD ?= build/dev
JOBS ?= 2
DEB_PACKAGES = build-essential pkg-config libboost-graph-dev libgraphviz-dev graphviz doctest-dev libcli11-dev \
               nlohmann-json3-dev libfmt-dev libzstd-dev libxxhash-dev file gdb \
               chromium clang-14 libclang-rt-14-dev clang-format
PYBIND11_DIR = $(shell $(PY) -c "import pybind11; print(pybind11.get_cmake_dir())" 2>/dev/null)

.PHONY: help deps build install test test-cpp test-python demo bench lint format asan fuzz fuzz-smoke clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 14

deps: ## install the Debian and PyPI packages refgraph builds and tests with (needs root)
	@if ! dpkg -s $(DEB_PACKAGES) >/dev/null 2>&1; then \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(DEB_PACKAGES); fi
	$(PY) -m pip install -q --disable-pip-version-check "scikit-build-core>=0.10" "pybind11>=2.12" cmake ninja \
	  "pytest>=7" "objgraph>=3.6" "gunicorn>=21" "flask>=2.2" \
	  uvicorn fastapi prometheus_client "xxhash>=3" "zstandard>=0.21" "ruff==0.17.6"

build: deps ## dev build of the core library, the CLI, the Python module and the doctest suite
	cmake -S . -B $(BUILD) -G Ninja -DPython_EXECUTABLE=$$(command -v $(PY)) -Dpybind11_DIR=$(PYBIND11_DIR)
	cmake --build $(BUILD) -j $(JOBS)

# One compile serves both suites: pip's build (scikit-build-core, in PIP_BUILD, kept for incremental rebuilds) also
# builds the doctests, with warnings as errors, and ctest runs there. No build isolation: `deps` installed the
# build requirements, and an isolated environment's paths would change on every run and force a full rebuild.
PIP_BUILD = build/pip
install: deps ## pip install . (the Python package, its native module and the `refgraph` command)
	CMAKE_BUILD_PARALLEL_LEVEL=$(JOBS) $(PY) -m pip install -q --disable-pip-version-check --no-build-isolation \
	  -C build-dir=$(PIP_BUILD) -C cmake.define.REFGRAPH_BUILD_TESTS=ON -C cmake.define.REFGRAPH_WERROR=ON ".[test]"

test-cpp: install ## the doctest suite through ctest, in pip's build
	ctest --test-dir $(PIP_BUILD) --output-on-failure -j $(JOBS)

test-python: install ## the pytest suite against the installed package and CLI
	$(PY) -m pytest

test: test-cpp test-python fuzz-smoke ## everything CI runs

demo: install ## a leaking sample app found live, then the CLI on the bundled sample dumps
	$(PY) samples/demo.py

bench: install ## the benchmarks against objgraph, Pympler and guppy3 (slow)
	$(PY) -m pip install -q --disable-pip-version-check ".[bench]"
	$(PY) benchmarks/run_all.py

# What `make lint` checks and `make format` rewrites (.clang-format; ruff's settings are in pyproject.toml).
CXX_SOURCES = $(wildcard core/src/*.[ch]pp core/include/refgraph/*.hpp cli/*.[ch]pp bindings/native/*.[ch]pp \
                         bindings/native/capture/*.[ch]pp tests/cpp/*.[ch]pp tests/fuzz/*.cpp)
PY_SOURCES = bindings/refgraph tests/python samples benchmarks
lint: deps ## clang-format and ruff (check and format): fails on any finding
	clang-format --dry-run --Werror $(CXX_SOURCES)
	$(PY) -m ruff check $(PY_SOURCES)
	$(PY) -m ruff format --check $(PY_SOURCES)

format: ## rewrite the files `make lint` checks: clang-format, ruff's safe fixes, ruff format
	clang-format -i $(CXX_SOURCES)
	$(PY) -m ruff check --fix-only -q $(PY_SOURCES)
	$(PY) -m ruff format -q $(PY_SOURCES)

# The Python module under ASan: the interpreter is not instrumented, so the runtime is preloaded (libstdc++ with it,
# so that its operator new is the one ASan intercepts) and pymalloc is off so ASan sees every object's memory.
ASAN = build/asan
ASAN_PRELOAD = $(shell $(CXX) -print-file-name=libasan.so) $(shell $(CXX) -print-file-name=libstdc++.so)
asan: deps ## doctests, then the pytest suite (Python module and CLI), under AddressSanitizer and UBSan (slow)
	cmake -S . -B $(ASAN) -G Ninja -DREFGRAPH_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DPython_EXECUTABLE=$$(command -v $(PY)) -Dpybind11_DIR=$(PYBIND11_DIR) -DREFGRAPH_MODULE_DIR=$(CURDIR)/$(ASAN)/python/refgraph
	cmake --build $(ASAN) -j $(JOBS)
	LSAN_OPTIONS=suppressions=$(CURDIR)/tests/cpp/lsan.supp UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  ctest --test-dir $(ASAN) --output-on-failure
	tar -C bindings -c --exclude='_core*.so' --exclude=__pycache__ refgraph | tar -C $(ASAN)/python -x
	PYTHONPATH=$(CURDIR)/$(ASAN)/python REFGRAPH_CLI=$(CURDIR)/$(ASAN)/refgraph PYTHONMALLOC=malloc \
	  LD_PRELOAD="$(ASAN_PRELOAD)" ASAN_OPTIONS=$(PY_ASAN_OPTIONS) UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  $(PY) -m pytest -p no:cacheprovider
# CPython does not free everything at exit, so leak checking is left to the doctests (LeakSanitizer above) and the
# suite's own no-references-kept tests; ASan's memory errors and UBSan stay on.
# Skipped under ASan, where their premise cannot hold (each still runs in `make test`):
#  - test_memory.py, the three tests of the allocator figures (arenas, C heap, unaccounted): ASan's malloc replaces
#    glibc's, which mallinfo2 reads, and PYTHONMALLOC=malloc leaves no arenas; RSS and Python objects are tested;
#  - test_dump_files.py::test_out_of_memory_says_so: ASan's operator new aborts instead of throwing std::bad_alloc.
# gdb and Chromium, which some tests run, get no LD_PRELOAD: both hang at startup with ASan's runtime preloaded.
# test_gunicorn_metrics allows no arenas when PYTHONMALLOC=malloc.
# Not in CI: on 2 shared cores the sanitized build took ~30 min from scratch, the doctests 10 s, pytest 5-10 min.
PY_ASAN_OPTIONS = detect_leaks=0

FUZZ = build/fuzz
FUZZ_SECONDS ?= 600
fuzz: deps ## libFuzzer on the .rgd and JSON Lines readers for FUZZ_SECONDS, seeded from samples/dumps
	cmake -S . -B $(FUZZ) -G Ninja -DCMAKE_CXX_COMPILER=clang++-14 -DREFGRAPH_FUZZ=ON -DREFGRAPH_BUILD_PYTHON=OFF \
	  -DREFGRAPH_BUILD_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build $(FUZZ) -j $(JOBS) --target refgraph_fuzz_dump refgraph_fuzz_seeds
	$(FUZZ)/refgraph_fuzz_seeds $(FUZZ)/seeds samples/dumps/*.rgd samples/dumps/*.jsonl
	mkdir -p $(FUZZ)/corpus $(FUZZ)/artifacts
	$(FUZZ)/refgraph_fuzz_dump -max_len=16384 -timeout=10 -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	  -artifact_prefix=$(CURDIR)/$(FUZZ)/artifacts/ $(FUZZ)/corpus $(FUZZ)/seeds

fuzz-smoke: ## a 25-second run of `make fuzz` (CI)
	$(MAKE) fuzz FUZZ_SECONDS=25

clean: ## remove build output
	rm -rf build bindings/refgraph/_core*.so
