# samlfed — the front door. `make demo` and `make test` set up everything they need on a fresh
# machine (a project-local Python venv with moto and cfn-lint; cargo builds); `make help` lists
# the rest.

SHELL        := /bin/bash
PYTHON       ?= python3
VENV         := .venv
PY           := $(VENV)/bin/python
ZIP_DIR      := build
# provided.al2 ships glibc 2.26: building against it makes one zip run on provided.al2 and al2023.
GLIBC        ?= 2.26
ARCHS        ?= arm64 x86_64
CARGO_LAMBDA_VERSION ?= 1.9.2
TRIPLE_arm64  := aarch64-unknown-linux-gnu
TRIPLE_x86_64 := x86_64-unknown-linux-gnu
RUST_SOURCES := Cargo.toml Cargo.lock $(shell find src -name '*.rs')
# Tools built from source (cfn-guard, cargo-deny, cargo-fuzz) are kept per user, outside the clone,
# one folder per tool and version: a fresh clone on a machine that built them once builds none.
TOOLS_DIR    ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/samlfed/tools

.PHONY: help demo test lint fmt-check clippy test-python test-rust build check-glibc bench clean

help:
	@echo "make demo    - run the real Lambda binary through a Lambda Runtime API against a local AWS emulator"
	@echo "make test    - formatting, clippy, template lint and guard rules, Python and Rust tests"
	@echo "make bench   - cold start, warm latency, memory, zip size and AWS calls vs a Python/boto3 baseline"
	@echo "make build   - release zips for $(ARCHS) (glibc $(GLIBC)) in $(ZIP_DIR)/, checked for newer glibc symbols"
	@echo "make bucket-deploy / package / versions / deploy / destroy / stackset-create / stackset-add-wave / stackset-update / stackset-status / stackset-remove-wave / stackset-destroy - real AWS; see docs/deploy.md, docs/rollouts.md"

# ------------------------------------------------------------------------------ set-up
$(VENV)/.ready: tools/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r tools/requirements.txt
	touch $@

$(VENV)/.lambda-ready: | $(VENV)/.ready
	$(PY) -m pip install --quiet --disable-pip-version-check cargo-lambda==$(CARGO_LAMBDA_VERSION)
	rustup target add $(foreach a,$(ARCHS),$(TRIPLE_$(a)))
	touch $@

# ------------------------------------------------------------------------------ demo
demo: target/release/bootstrap | $(VENV)/.ready
	$(PY) tools/demo.py --bootstrap target/release/bootstrap

target/release/bootstrap: $(RUST_SOURCES)
	cargo build --release --bin bootstrap

# ------------------------------------------------------------------------------ tests
test: lint test-python test-rust

lint: fmt-check clippy lint-templates guard check-iam-actions deny

fmt-check:
	cargo fmt --check

clippy:
	cargo clippy --all-targets --all-features -- -D warnings

test-python: | $(VENV)/.ready
	$(PY) -m pytest -q tools

# The integration tests start tools/emulator.py with the venv's Python.
test-rust: | $(VENV)/.ready
	SAMLFED_PYTHON=$(abspath $(PY)) cargo test --all-targets --features cli

# ------------------------------------------------------------------------------ build
build: $(foreach a,$(ARCHS),$(ZIP_DIR)/bootstrap-$(a).zip) check-glibc

$(ZIP_DIR)/bootstrap-%.zip: $(RUST_SOURCES) | $(VENV)/.lambda-ready
	PATH=$(abspath $(VENV))/bin:$$PATH cargo lambda build --release --bin bootstrap \
	  --target $(TRIPLE_$*).$(GLIBC) --output-format zip --lambda-dir target/lambda-$*
	mkdir -p $(ZIP_DIR)
	cp target/lambda-$*/bootstrap/bootstrap.zip $@
	@ls -l $@

# No binary may need a glibc symbol newer than $(GLIBC), or it will not start on provided.al2.
check-glibc:
	@set -e; for bin in $(foreach a,$(ARCHS),target/$(TRIPLE_$(a))/release/bootstrap); do \
	  test -f $$bin || { echo "$$bin is missing: run make build"; exit 1; }; \
	  newest=$$(readelf -W --dyn-syms $$bin | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -1); \
	  if [ "$$(printf '%s\n%s\n' "$$newest" "$(GLIBC)" | sort -V | tail -1)" != "$(GLIBC)" ]; then \
	    echo "$$bin needs GLIBC_$$newest, newer than $(GLIBC)"; exit 1; fi; \
	  echo "$$bin: newest glibc symbol GLIBC_$$newest (<= $(GLIBC))"; \
	done

clean:
	cargo clean
	rm -rf $(ZIP_DIR) $(VENV)

include mk/templates.mk
include mk/bench.mk
include mk/checks.mk
