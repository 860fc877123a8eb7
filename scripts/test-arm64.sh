#!/usr/bin/env bash
# The core on arm64: cross-compiles the packages named in $ARM64_PACKAGES for
# aarch64-unknown-linux-gnu (accord-ffi's cdylib included) and runs their tests under
# qemu-user, against an `accord serve` built for the host. Installs what it needs when
# it is missing (Debian's cross gcc and qemu-user-static, the rustup target).
#
#   ARM64_PACKAGES   cargo packages to build and test (default: the engine, the model
#                    runtime and its API, the log miner, and the FFI)
#   ARM64_TESTS      extra arguments after `--` (a test-name filter), default none
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET=aarch64-unknown-linux-gnu
CARGO="${CARGO:-cargo}"
PACKAGES="${ARM64_PACKAGES:--p accord -p accord-model-api -p accord-model -p accord-logs -p accord-ffi}"
# What the Android library ships (`make android`): the FFI with the model, no bindgen CLI.
FEATURES=(--no-default-features --features accord-ffi/model)
SYSROOT=/usr/aarch64-linux-gnu

if ! command -v aarch64-linux-gnu-gcc >/dev/null || ! command -v qemu-aarch64-static >/dev/null; then
    echo "== installing gcc-aarch64-linux-gnu and qemu-user-static (Debian)"
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
        gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static >/dev/null
fi
rustup target list --installed | grep -qx "$TARGET" || rustup target add "$TARGET"

export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64-static -L $SYSROOT"
export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc
export AR_aarch64_unknown_linux_gnu=aarch64-linux-gnu-ar

echo "== cross-compiling for $TARGET: $PACKAGES"
# shellcheck disable=SC2086
"$CARGO" test $PACKAGES "${FEATURES[@]}" --target "$TARGET" --no-run
# shellcheck disable=SC2086
"$CARGO" build $PACKAGES "${FEATURES[@]}" --target "$TARGET" --lib
file "target/$TARGET/debug/libaccord_ffi.so" | grep -q 'ARM aarch64' || {
    echo "no aarch64 libaccord_ffi.so was built" >&2
    exit 1
}

# A server built for the host, with one space and two users, for tests/remote_sync.rs.
"$CARGO" build --workspace --all-targets
work="$(mktemp -d)"
server=""
cleanup() {
    if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
db="$work/server.db"
accord=target/debug/accord
"$accord" admin --db "$db" add-space arm64 >/dev/null
tokens=()
for user in phone laptop; do
    tokens+=("$("$accord" admin --db "$db" add-user "$user" | tail -1)")
    "$accord" admin --db "$db" grant "$user" arm64 >/dev/null
done
"$accord" serve --db "$db" --listen 127.0.0.1:0 >"$work/serve.log" 2>&1 &
server=$!
url=""
for _ in $(seq 100); do
    url="$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$work/serve.log" | head -1)"
    [ -n "$url" ] && break
    sleep 0.1
done
[ -n "$url" ] || { cat "$work/serve.log" >&2; echo "accord serve did not start" >&2; exit 1; }
export ACCORD_REMOTE_SERVER="$url arm64 ${tokens[0]} ${tokens[1]}"

echo "== running the $TARGET tests under qemu-user against $url"
# --include-ignored: remote_sync's test waits for exactly the server started above.
# qemu's default CPU ("max") has the dot-product extension: the model's kernels must
# choose `sdot` there (ACCORD_TEST_EXPECT_ISA is read by accord-model's kernel tests).
# shellcheck disable=SC2086
ACCORD_TEST_EXPECT_ISA="NEON+dotprod" \
    "$CARGO" test $PACKAGES "${FEATURES[@]}" --target "$TARGET" -- --include-ignored ${ARM64_TESTS:-}

# The model's kernels again on an ARMv8.0 core without it (Cortex-A53, as in low-end
# phones): the plain NEON path must be chosen, and pass the same tests. Skipped there:
# the test whose reference is candle's own quantized matmul, since candle-core 0.11
# issues `sdot` without checking for it (its Q8_0 and K-quant kernels stop with SIGILL
# on such a core).
echo "== accord-model's kernel tests on an emulated Cortex-A53 (NEON without dotprod)"
# shellcheck disable=SC2086
QEMU_CPU=cortex-a53 ACCORD_TEST_EXPECT_ISA="NEON" \
    "$CARGO" test $PACKAGES "${FEATURES[@]}" --target "$TARGET" --lib -- kernels:: \
    --skip native_kernels_match_candles_reference_matmul
