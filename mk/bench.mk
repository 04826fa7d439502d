# mk/bench.mk - `make bench`: samlfed's release bootstrap against a plain Python + boto3 baseline
# (bench/baseline/), the same CloudFormation events through a Lambda Runtime API, both talking to
# the local emulator. Prints a table and writes $(BENCH_RESULTS). See bench/README.md.
#
# Included by the main Makefile, which provides VENV, PY, ZIP_DIR, $(VENV)/.ready,
# target/release/bootstrap and build. The ?= defaults below only apply when used on its own.
#
#   make bench                      5 A/B rounds; zip sizes from $(ZIP_DIR)/ if `make build` made them
#   make bench BENCH_ROUNDS=9       more rounds
#   make bench BENCH_BUILD_ZIPS=1   run `make build` first (two cross builds: slow on 2 cores)

VENV     ?= .venv
PY       ?= $(VENV)/bin/python
ZIP_DIR  ?= build

BENCH_ROUNDS      ?= 5
BENCH_WARM_CYCLES ?= 2
BENCH_BUILD_ZIPS  ?= 0
BENCH_RESULTS     ?= bench/results.md
BENCH_ARGS        ?=

.PHONY: bench

# The release build and the venv's pip install go side by side (on a fresh clone they are most of
# the time); the measuring itself takes under a minute.
bench: $(if $(filter 1,$(BENCH_BUILD_ZIPS)),build)
	$(MAKE) --no-print-directory -j2 target/release/bootstrap $(VENV)/.ready
	$(PY) bench/run.py --bootstrap target/release/bootstrap --rounds $(BENCH_ROUNDS) \
	  --warm-cycles $(BENCH_WARM_CYCLES) --zip-dir $(ZIP_DIR) --results $(BENCH_RESULTS) $(BENCH_ARGS)
