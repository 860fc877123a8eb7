# The core on arm64 (issue 14): cross-compiled for aarch64-unknown-linux-gnu (Debian's
# cross gcc) and tested under qemu-user against a host-built `accord serve`; the script
# installs the cross gcc, qemu-user-static and the rustup target when missing.
#
#   make test-arm64        part of `make test`: every test of the engine, the model
#                          runtime, the log miner and accord-ffi
#                          but three that generate text under a wall-clock budget (see
#                          ARM64_TIMED); emulation is 10-30x slower, and on 2 loaded
#                          cores they ran past their budget and failed while the same
#                          code's scoring and kernel tests passed; the model's
#                          kernel tests run twice, on qemu's default CPU (NEON with
#                          `sdot`) and on an emulated Cortex-A53 (NEON without it)
#   make test-arm64-full   all of them, ARM64_TIMED included (about 12 minutes of model
#                          tests under qemu here)
#
# Measured here: the cold cross build is about 700 CPU-seconds (663 s user + 38 s
# system); the core's 130 unit tests take 168 s under qemu.

.PHONY: test-arm64 test-arm64-full

TEST_TARGETS += test-arm64

ARM64_TIMED := greedy_generation_is_deterministic_and_stops_at_end_of_turn \
	calls_from_several_threads_are_serialised \
	arbiter_with_the_real_model_puts_numbered_steps_in_order

test-arm64: model
	ARM64_TESTS="$(foreach t,$(ARM64_TIMED),--skip $(t))" CARGO=$(CARGO) bash scripts/test-arm64.sh

test-arm64-full: model
	CARGO=$(CARGO) bash scripts/test-arm64.sh
