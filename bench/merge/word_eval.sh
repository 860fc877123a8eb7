#!/usr/bin/env bash
# Word-edit merges made from real texts (bench/merge/word_cases.py): two words of one line
# changed on two devices, a word changed while the line is extended, an edit beside an
# inserted line; one right answer each, none of which git merge-file merges. Generated at
# run time into target/word-cases (the shared data is never copied into the repository)
# from three sources: merge-dev's files with the seed the rules were checked on (7), the
# same files with a seed never looked at while building them (101), and the READMEs of
# the crates in ~/.cargo/registry (other projects' prose, also never looked at).
#
#   bench/merge/word_eval.sh [ACCORD_BINARY]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
shared="${ACCORD_SHARED_DIR:-$root/../shared}"
bin="${1:-$root/target/release/accord}"
eval_py="$shared/bench/merge_eval.py"
out="$root/target/word-cases"
[[ -x $bin ]] || { echo "no accord binary at $bin; run: cargo build --release -p accord-cli" >&2; exit 2; }
gen() { python3 "$root/bench/merge/word_cases.py" "$@" 2>/dev/null; }
gen "$out/dev" --seed 7
gen "$out/fresh-seed" --seed 101
readmes=(~/.cargo/registry/src/*/*/README.md)
if [[ -e ${readmes[0]} ]]; then gen "$out/crate-readmes" --seed 7 --files "${readmes[@]}"; fi
for set in dev fresh-seed crate-readmes; do
  [[ -d $out/$set ]] || continue
  for kind in two-words extend beside all; do
    printf '%-14s %-10s ' "$set" "$kind"
    python3 "$eval_py" "$out/$set/$kind.jsonl" -- "$bin" merge {base} {ours} {theirs} | grep '^conflict'
  done
done
