# vcoswin — the two commands: `make demo` and `make test`.
# Both install the system libraries that are missing (as root; otherwise they print the command),
# build in release, and run.

SWIFT        ?= swift
APT_PACKAGES := pkg-config libavformat-dev libavcodec-dev libswscale-dev libavutil-dev \
                libavdevice-dev libopenblas-dev libopenmpi-dev openmpi-bin libfreetype-dev \
                fonts-dejavu-core
PC_MODULES   := libavformat libavcodec libswscale libavutil libavdevice openblas ompi freetype2
# The font of the text in PNG pictures (fonts-dejavu-core; VCOSWIN_FONT names another).
FONT_FILE    := /usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf
RELEASE      := -c release
TESTFLAGS    := -c release -Xswiftc -enable-testing
BIN          := .build/release

# `make install`: the binary in $(PREFIX)/bin, the shipped clips and default model in
# $(PREFIX)/share/vcoswin/Clips (where the binary looks for them; Docs/INSTALL.md).
PREFIX       ?= /usr/local
DESTDIR      ?=
# The installed binary is built apart (its own scratch folder), with the Swift standard library
# and Foundation linked in, so that it runs without the toolchain.
INSTALL_BUILD := .build-install
BINARY       ?= $(INSTALL_BUILD)/release/vcoswin

PYENV        := .build/pyenv

.PHONY: demo test deps build build-tests pyenv bench lint clean install install-files uninstall

## deps: install the system libraries that pkg-config cannot find (and Open MPI's mpirun).
deps:
	@if command -v pkg-config >/dev/null 2>&1 && pkg-config --exists $(PC_MODULES) \
	    && command -v mpirun >/dev/null 2>&1 && [ -f $(FONT_FILE) ]; then \
	  echo "deps: system libraries present"; \
	elif [ "$$(id -u)" = "0" ]; then \
	  echo "deps: installing $(APT_PACKAGES)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PACKAGES); \
	else \
	  echo "deps: missing system libraries; run:"; \
	  echo "  sudo apt-get update && sudo apt-get install -y $(APT_PACKAGES)"; \
	  exit 1; \
	fi

build: deps
	$(SWIFT) build $(RELEASE) --product vcoswin

## demo: the whole pipeline on the shipped clips.
demo: build
	$(BIN)/vcoswin demo --overwrite

build-tests: deps
	$(SWIFT) build $(TESTFLAGS) --build-tests

## pyenv: the Python environment of the tests that check with Python tools (onnxruntime and
## onnx for the ONNX export, jsonschema for the JSON outputs against Docs/schemas; from PyPI, in
## .build/pyenv), created or completed when something is missing.
pyenv:
	@if $(PYENV)/bin/python -c "import onnx, onnxruntime, jsonschema" >/dev/null 2>&1; then \
	  echo "pyenv: onnx, onnxruntime and jsonschema present in $(PYENV)"; \
	else \
	  echo "pyenv: installing onnx, onnxruntime and jsonschema into $(PYENV)"; \
	  python3 -m venv $(PYENV) && $(PYENV)/bin/pip install --quiet onnxruntime onnx jsonschema; \
	fi

## test: every test, in an optimised build (numeric tests are too slow in debug). Idle
## OpenBLAS workers spin briefly (the binaries set this themselves; the test process cannot).
test: build-tests pyenv
	OPENBLAS_THREAD_TIMEOUT=$${OPENBLAS_THREAD_TIMEOUT:-4} $(SWIFT) test $(TESTFLAGS) --skip-build

## lint: the rules of .swift-format (100 columns, …), checked on every Swift file. `swift format`
## comes with the toolchain; `swift format -i -r Sources Tests Benchmarks Package.swift` applies them.
lint:
	$(SWIFT) format lint --strict --recursive Sources Tests Benchmarks Package.swift

## bench: the benchmark commands (figures and ratios; see Docs/BENCHMARKS.md).
bench: deps
	$(SWIFT) build $(RELEASE) --product vcoswin-bench
	$(BIN)/vcoswin-bench --help

## install: `make install PREFIX=DIR` (default /usr/local; DESTDIR for staging).
install: deps
	$(SWIFT) build $(RELEASE) --static-swift-stdlib --scratch-path $(INSTALL_BUILD) --product vcoswin
	$(MAKE) --no-print-directory install-files BINARY=$(INSTALL_BUILD)/release/vcoswin

## install-files: the copying step of `install`, for a binary built already (BINARY=path).
install-files:
	@test -x $(BINARY) || { echo "install: no binary at $(BINARY)"; exit 1; }
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/vcoswin
	install -m 755 $(BINARY) $(DESTDIR)$(PREFIX)/bin/vcoswin
	rm -rf $(DESTDIR)$(PREFIX)/share/vcoswin/Clips
	cp -R Clips $(DESTDIR)$(PREFIX)/share/vcoswin/Clips
	chmod -R u=rwX,go=rX $(DESTDIR)$(PREFIX)/share/vcoswin/Clips

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/vcoswin
	rm -rf $(DESTDIR)$(PREFIX)/share/vcoswin

clean:
	rm -rf .build $(INSTALL_BUILD)
