# Kotlin bindings (UniFFI), their JVM tests and the Android library build.
#   make bindings      generate Kotlin from the host libaccord_ffi.so into bindings/kotlin/target
#   make test-kotlin   build the library and the `accord` server, generate, run the JUnit tests
#   make bench-kotlin  FFI call costs from Kotlin, into bench/results/kotlin.md
#   make android       cross-compile for Android with cargo-ndk (skipped without an NDK)
#   make ffi-size      the stripped release library for this host, with and without the model

.PHONY: bindings test-kotlin bench-kotlin android ffi-size

FFI_LIB       := target/debug/libaccord_ffi.so
KOTLIN_DIR    := bindings/kotlin
KOTLIN_GEN    := $(KOTLIN_DIR)/target/generated-sources/uniffi
MVN           ?= mvn
ANDROID_ABIS  ?= arm64-v8a armeabi-v7a x86_64
ANDROID_JNI   := android-sample/accord/src/main/jniLibs
# Features of the shipped library: `model` carries the on-device model runtime; set
# ANDROID_FEATURES= (empty) for an app that does not want it.
ANDROID_FEATURES ?= model

TEST_TARGETS += test-kotlin

# Library mode reads the uniffi.toml beside crates/accord-ffi/Cargo.toml; the root copy
# the design names must say the same thing.
#
# The library, the bindgen and the `accord` server the tests start come from one
# `cargo build --workspace --all-targets`: it resolves features like `cargo test
# --workspace` (dev-dependencies included), so after `make test-rust` it only links.
# `cargo build -p accord-ffi` / `cargo run -p ...` resolve features for that package
# alone and rebuilt about 110 dependencies (some 10 minutes of CI on 2 cores).
bindings:
	@cmp -s uniffi.toml crates/accord-ffi/uniffi.toml || \
	  { echo "uniffi.toml and crates/accord-ffi/uniffi.toml differ: keep them identical" >&2; exit 1; }
	$(CARGO) build --workspace --all-targets
	rm -rf $(KOTLIN_GEN)
	target/debug/uniffi-bindgen generate --no-format \
	  --library $(FFI_LIB) --language kotlin --out-dir $(KOTLIN_GEN)

test-kotlin: bindings
	cd $(KOTLIN_DIR) && $(MVN) -q -B test

# Measured twice: against the debug library the tests load, and against a release
# build (no default features: what `make ffi-size` builds last, without the model
# runtime or bindgen, neither of which a call crosses). Each run writes its section.
bench-kotlin: bindings
	$(CARGO) build --release -p accord-ffi --lib --no-default-features
	mkdir -p bench/results target/bench-kotlin
	cd $(KOTLIN_DIR) && $(MVN) -q -B test -Dtest=FfiBenchmark \
	  -Daccord.bench.out=$(CURDIR)/target/bench-kotlin/debug.md
	cd $(KOTLIN_DIR) && $(MVN) -q -B test -Dtest=FfiBenchmark -Daccord.bench.profile=release \
	  -Daccord.lib=$(CURDIR)/target/release -Daccord.bench.out=$(CURDIR)/target/bench-kotlin/release.md
	{ printf '# Kotlin FFI benchmark\n\nCommand: `make bench-kotlin`.\n\n'; \
	  cat target/bench-kotlin/debug.md; echo; cat target/bench-kotlin/release.md; } > bench/results/kotlin.md
	cat bench/results/kotlin.md

# The shipped library's size for this host, as `make android` builds it (no bindgen CLI),
# with and without the model runtime. A release build of each: slow the first time.
FFI_RELEASE := target/release/libaccord_ffi.so
ffi-size:
	$(CARGO) build --release -p accord-ffi --lib --no-default-features --features model
	strip --strip-all -o target/release/libaccord_ffi.model.so $(FFI_RELEASE)
	$(CARGO) build --release -p accord-ffi --lib --no-default-features
	strip --strip-all -o target/release/libaccord_ffi.nomodel.so $(FFI_RELEASE)
	@printf '| libaccord_ffi.so, stripped | bytes |\n|---|---:|\n| with the model runtime | %s |\n| without | %s |\n' \
	  "$$(stat -c %s target/release/libaccord_ffi.model.so)" "$$(stat -c %s target/release/libaccord_ffi.nomodel.so)"

# 16 KB pages (Android 15+ devices) need the linker flag on every ABI. Bindings are
# generated from the unstripped host library; the shipped libraries are stripped.
android: bindings
	@if [ -z "$$ANDROID_NDK_HOME" ] && [ -z "$$ANDROID_NDK_ROOT" ]; then \
	  echo "*** make android: SKIPPED - no Android NDK (set ANDROID_NDK_HOME); nothing was built ***"; \
	elif ! command -v cargo-ndk >/dev/null; then \
	  echo "*** make android: SKIPPED - cargo-ndk is missing (cargo install cargo-ndk) ***"; \
	else \
	  set -e; \
	  RUSTFLAGS="-C link-arg=-Wl,-z,max-page-size=16384" CARGO_PROFILE_RELEASE_STRIP=symbols \
	    cargo ndk $(foreach a,$(ANDROID_ABIS),-t $(a)) -o $(ANDROID_JNI) \
	    build --release -p accord-ffi --lib --no-default-features --features "$(ANDROID_FEATURES)"; \
	  echo "native libraries in $(ANDROID_JNI); Kotlin sources in $(KOTLIN_GEN)"; \
	  if command -v gradle >/dev/null; then (cd android-sample && gradle :accord:assembleRelease :app:assembleDebug); \
	  else echo "*** no gradle: open android-sample in Android Studio to build the AAR (accord) and the app ***"; fi; \
	fi
