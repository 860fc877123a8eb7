# Reliability, security and scale-out (issue 6).
#
#   make test-postgres     the server suites against a throwaway PostgreSQL (part of `make test`)
#   make chaos N=1000      the long seeded chaos run (a short one is part of `make test`)
#   make fuzz              each cargo-fuzz target for FUZZ_SECONDS (not part of `make test`;
#                          the kept crashers replay in `make test` via tests/fuzz_regressions.rs)
#   make bench-load        N = 10, 100, 1,000 devices against SQLite and PostgreSQL
#
# Test targets use `--workspace` so they share `make test-rust`'s build (same features).

.PHONY: test-postgres chaos chaos-postgres fuzz bench-load

TEST_TARGETS += test-postgres

N ?= 1000
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := server_protocol client_protocol merge gguf log_miner
LOAD_DEVICES ?= 10,100,1000
LOAD_SECONDS ?= 10

# The suites that talk to server storage, plus the two-servers-over-one-database tests
# (ignored without PostgreSQL, so they run here with --include-ignored), and a short chaos
# run over PostgreSQL.
POSTGRES_SUITES := --test server_http --test auth_matrix --test sync --test tls \
	--test chaos --test postgres_scale_out

test-postgres:
	bash scripts/pg-test-cluster.sh $(CARGO) test --workspace $(POSTGRES_SUITES) -- --include-ignored

chaos:
	mkdir -p bench/results
	ACCORD_CHAOS_RUNS=$(N) $(CARGO) test --workspace --test chaos seeded_chaos -- --nocapture 2>&1 \
		| tee bench/results/chaos-sqlite.log | grep -E '^chaos'

chaos-postgres:
	mkdir -p bench/results
	ACCORD_CHAOS_RUNS=$(N) bash scripts/pg-test-cluster.sh $(CARGO) test --workspace --test chaos seeded_chaos -- --nocapture 2>&1 \
		| tee bench/results/chaos-postgres.log | grep -E '^chaos'

# cargo-fuzz needs a nightly compiler (sanitizer flags); use the nightly toolchain when
# rustup has one, else let stable accept nightly flags.
FUZZ_TOOLCHAIN := $(shell rustup toolchain list 2>/dev/null | grep -q '^nightly' && echo +nightly)
fuzz:
	command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked
	cd fuzz && for t in $(FUZZ_TARGETS); do \
		mkdir -p corpus/$$t && cp -n regressions/$$t/* corpus/$$t/ ; \
		RUSTC_BOOTSTRAP=1 cargo $(FUZZ_TOOLCHAIN) fuzz run --debug-assertions $$t corpus/$$t -- \
			-max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=4096 || exit 1 ; \
	done

bench-load: release
	mkdir -p bench/results
	bash scripts/pg-test-cluster.sh sh -c 'ACCORD_BENCH_POSTGRES="$$ACCORD_TEST_POSTGRES?pool_size=32" \
		$(BENCH) load --devices $(LOAD_DEVICES) --seconds $(LOAD_SECONDS)' | tee bench/results/load.md
