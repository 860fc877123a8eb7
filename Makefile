# Accord. `make demo` runs the main job; `make test` runs the whole suite.
# Both build in the dev profile (dependencies optimised, see Cargo.toml) so they share
# one build; `make bench` builds release.
CARGO   ?= cargo
ACCORD  := target/debug/accord
RELEASE := target/release/accord
BENCH   := target/release/accord-bench
SHARED  ?= ../shared

.PHONY: demo test test-rust build release bench bench-sync bench-merge

# Each area adds its targets (and its part of `test`) in mk/<area>.mk.
.DEFAULT_GOAL := build
TEST_TARGETS := test-rust
-include mk/*.mk

demo: build model
	$(ACCORD) demo

build:
	$(CARGO) build -p accord-cli

# The `accord` command and the benchmark tool (`accord-bench`, not shipped).
release:
	$(CARGO) build --release -p accord-cli -p accord-bench

test: $(TEST_TARGETS)

test-rust:
	$(CARGO) test --workspace

bench: bench-sync bench-merge

bench-sync: release
	mkdir -p bench/results
	$(BENCH) sync | tee bench/results/sync-latest.md

bench-merge: release
	ACCORD_SHARED_DIR=$(SHARED) bash bench/merge/merge_eval.sh $(SHARED)/bench/merge-dev.jsonl $(RELEASE)
