# Formatting and lints (issue 15): part of `make test`.
#
#   make lint    cargo fmt --check, and clippy with warnings as errors on every target.
#
# The workspace denies unwrap, expect and panic outside tests ([workspace.lints] in
# Cargo.toml, clippy.toml), so this is what keeps "no panic on an input path" checked.

.PHONY: lint

TEST_TARGETS += lint

lint:
	@$(CARGO) clippy --version >/dev/null 2>&1 && $(CARGO) fmt --version >/dev/null 2>&1 || \
	  { command -v rustup >/dev/null && rustup component add clippy rustfmt; }
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
