# mk/checks.mk - supply-chain and robustness checks: cargo-deny and the fuzz targets.
#
# Included by the main Makefile. Targets:
#   deny          cargo deny check licenses bans sources   (offline, ~3 s; part of `make test`)
#   deny-install  cargo-deny into $(TOOLS_DIR)/cargo-deny-VERSION (once per machine and user)
#   fuzz          each fuzz target for $(FUZZ_SECONDS) s    (nightly; not in CI)
#   fuzz-install  cargo-fuzz into $(TOOLS_DIR)/cargo-fuzz-VERSION (once per machine and user)
#
# Advisories (`cargo deny check advisories`) are not run: the RustSec database is a GitHub
# repository, not reachable from this project's machines (see deny.toml and docs/security.md).

TOOLS_DIR           ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/samlfed/tools
CARGO_DENY_VERSION  ?= 0.20.2
CARGO_FUZZ_VERSION  ?= 0.13.2
CARGO_DENY          ?= $(or $(shell command -v cargo-deny 2>/dev/null),$(TOOLS_DIR)/cargo-deny-$(CARGO_DENY_VERSION)/bin/cargo-deny)
CARGO_FUZZ          ?= $(or $(shell command -v cargo-fuzz 2>/dev/null),$(TOOLS_DIR)/cargo-fuzz-$(CARGO_FUZZ_VERSION)/bin/cargo-fuzz)
# libFuzzer and the address sanitizer need a nightly compiler.
FUZZ_TOOLCHAIN      ?= nightly
FUZZ_SECONDS        ?= 60
FUZZ_TARGETS        ?= metadata_validate event_parse
# Seeds: our fixtures, the event samples, and the real IdP documents when ../shared is there.
FUZZ_SEEDS_metadata_validate := tests/fixtures/metadata $(wildcard ../shared/idp-metadata)
FUZZ_SEEDS_event_parse       := fuzz/seeds/event_parse

.PHONY: deny deny-install fuzz fuzz-install

deny-install: | $(CARGO_DENY)
	@$(CARGO_DENY) --version

$(TOOLS_DIR)/cargo-deny-$(CARGO_DENY_VERSION)/bin/cargo-deny:
	cargo install cargo-deny --locked --version $(CARGO_DENY_VERSION) --root $(TOOLS_DIR)/cargo-deny-$(CARGO_DENY_VERSION)

# cargo fetch first: licence checks read every crate of the graph, the Windows-only ones included,
# which a Linux build never downloads (the registry is reachable; the advisory database is not).
deny: | $(CARGO_DENY)
	cargo fetch --locked
	$(CARGO_DENY) --offline check licenses bans sources

fuzz-install: | $(CARGO_FUZZ)
	@$(CARGO_FUZZ) --version

$(TOOLS_DIR)/cargo-fuzz-$(CARGO_FUZZ_VERSION)/bin/cargo-fuzz:
	cargo install cargo-fuzz --locked --version $(CARGO_FUZZ_VERSION) --root $(TOOLS_DIR)/cargo-fuzz-$(CARGO_FUZZ_VERSION)

# Each target runs $(FUZZ_SECONDS) s from its corpus (fuzz/corpus/<target>, kept between runs,
# not committed) plus the seeds; a crash stops the run and leaves its input in fuzz/artifacts/.
fuzz: $(addprefix fuzz-,$(FUZZ_TARGETS))

fuzz-%: | $(CARGO_FUZZ)
	@mkdir -p fuzz/corpus/$*
	@echo "fuzz: $* for $(FUZZ_SECONDS) s"
	@PATH=$(dir $(abspath $(CARGO_FUZZ))):$$PATH cargo +$(FUZZ_TOOLCHAIN) fuzz run $* fuzz/corpus/$* $(FUZZ_SEEDS_$*) \
	  -- -max_total_time=$(FUZZ_SECONDS) -max_len=262144 -print_final_stats=1 > fuzz/$*.log 2>&1 \
	  || { tail -n 40 fuzz/$*.log; echo "fuzz: $* found a crash; its input is in fuzz/artifacts/$*/"; exit 1; }
	@grep -E "^(#[0-9]+.*DONE|stat::number_of_executed_units|Done [0-9]+ runs)" fuzz/$*.log | tail -n 2
