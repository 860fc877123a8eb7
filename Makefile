# Accord: `make demo` runs the main job, `make test` the whole suite.
CARGO ?= cargo

.PHONY: build test

build:
	$(CARGO) build --release -p accord-cli

test:
	$(CARGO) test --workspace
