#!/usr/bin/env bash
# Builds llama.cpp from the llama-cpp-python source package on PyPI and runs its tools.
#
# Usage:
#   bench/model/llama_cpp.sh build                      # build llama-bench and llama-tokenize
#   bench/model/llama_cpp.sh bench MODEL THREADS [P N]  # llama-bench JSON: prompt P (512) and decode N (128) tokens
#   bench/model/llama_cpp.sh tokenize MODEL FILE        # llama-tokenize ids of FILE's exact bytes, as [1, 2, ...]
#   bench/model/llama_cpp.sh path                       # prints the directory holding the binaries
#
# The sdist is pinned (LLAMA_CPP_PYTHON_VERSION) so results are comparable between runs.
# The build lives in target/llama.cpp (git-ignored) and is CPU-only with the native
# instruction set, the same conditions candle is measured under, except AMX: on a CPU
# that reports AMX tiles but a kernel or hypervisor that does not grant them (this
# machine), ggml's AMX matmul for prompt batches dies of SIGILL at its first `tilezero`.
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
version="${LLAMA_CPP_PYTHON_VERSION:-0.3.36}"
work="${LLAMA_CPP_DIR:-$root/target/llama.cpp}"
cache="${ACCORD_WHEEL_CACHE:-$HOME/.cache/accord/wheels}/../sdist"
src="$work/src-$version"
build="$work/build-$version-noamx"
bin="$build/bin"

die() { echo "llama_cpp.sh: $*" >&2; exit 1; }

build() {
    if [[ -x $bin/llama-bench && -x $bin/llama-tokenize ]]; then
        return
    fi
    command -v cmake >/dev/null || die "cmake is needed (apt-get install cmake)"
    mkdir -p "$cache" "$work"
    local sdist="$cache/llama_cpp_python-$version.tar.gz"
    if [[ ! -f $sdist ]]; then
        python3 -m pip download --quiet --no-deps --no-binary=:all: -d "$cache" \
            "llama-cpp-python==$version" >&2 || die "pip could not download llama-cpp-python==$version"
    fi
    if [[ ! -d $src ]]; then
        local tmp="$work/extract.$$"
        rm -rf "$tmp" && mkdir -p "$tmp"
        tar -xzf "$sdist" -C "$tmp"
        mv "$tmp/llama_cpp_python-$version/vendor/llama.cpp" "$src"
        rm -rf "$tmp"
    fi
    # -mno-amx-*: see the header; explicit -mno flags win over -march=native's set.
    cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON \
        -DCMAKE_C_FLAGS="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16" \
        -DCMAKE_CXX_FLAGS="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16" \
        -DBUILD_SHARED_LIBS=OFF -DLLAMA_CURL=OFF -DGGML_OPENMP=OFF \
        -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=ON -DLLAMA_BUILD_SERVER=OFF >&2
    cmake --build "$build" -j "${JOBS:-2}" --target llama-bench llama-tokenize >&2
    [[ -x $bin/llama-bench ]] || die "build finished without llama-bench"
}

case "${1:-}" in
build) build ;;
path) build; echo "$bin" ;;
bench)
    [[ $# -ge 3 ]] || die "usage: bench MODEL THREADS [PROMPT_TOKENS DECODE_TOKENS]"
    build
    "$bin/llama-bench" -m "$2" -t "$3" -p "${4:-512}" -n "${5:-128}" -r "${REPS:-3}" -o json
    ;;
tokenize)
    [[ $# -ge 3 ]] || die "usage: tokenize MODEL FILE"
    build
    # -f with --no-escape: the file's bytes exactly (a trailing newline is a token).
    # Special tokens are parsed (llama-tokenize's default), no BOS is added.
    "$bin/llama-tokenize" -m "$2" -f "$3" --no-escape --ids --no-bos --log-disable 2>/dev/null | tail -n1
    ;;
*) die "usage: bench/model/llama_cpp.sh build|path|bench|tokenize ..." ;;
esac
