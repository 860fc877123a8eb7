#!/usr/bin/env bash
# Scores `accord merge` on real three-way merges of prose files with the benchmark's own
# merge_eval.py, with and without the model, beside git merge-file's reference points.
#
#   bench/merge/merge_eval.sh [CASES.jsonl] [ACCORD_BINARY]
#
# Rows: git --ours / --union (reference), accord with no arbiter (diff3 + keep-both),
# accord --no-model (the arbiter's structural choice), and accord with each model in
# models/ (SmolLM2-135M, Qwen2.5-Coder-0.5B when fetched) and each way it can choose
# (likelihood in context, a labelled choice prompt, a generated merge that is checked).
# CHOICES limits the model rows (e.g. CHOICES="prompt generate"). The ceiling of any
# choice among the candidates: target/release/accord-bench merge-oracle CASES --only conflict. Every accord row runs one
# process per case, so seconds include process start and, when a hunk needs it, model
# load. MERGE_EVAL_ARGS passes options to merge_eval.py (e.g. "--only conflict").
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
shared="${ACCORD_SHARED_DIR:-$root/../shared}"
cases="${1:-$shared/bench/merge-dev.jsonl}"
bin="${2:-$root/target/release/accord}"
eval_py="$shared/bench/merge_eval.py"
[[ -f $cases ]] || { echo "no cases at $cases; set ACCORD_SHARED_DIR" >&2; exit 2; }
[[ -x $bin ]] || { echo "no accord binary at $bin; run: cargo build --release -p accord-cli" >&2; exit 2; }
read -r -a extra <<<"${MERGE_EVAL_ARGS:-}"
read -r -a choices <<<"${CHOICES:-likelihood prompt generate}"

row() { # NAME ARGS...
  local name=$1; shift
  echo "## $name"
  python3 "$eval_py" "$cases" "${extra[@]}" "$@"
}

row "git merge-file --ours" --git ours
row "git merge-file --union" --git union
row "accord, no arbiter (diff3, keep-both)" -- "$bin" merge --no-arbiter {base} {ours} {theirs}
row "accord --no-model (structural choice)" -- "$bin" merge --no-model {base} {ours} {theirs}
for m in SmolLM2-135M-Instruct.Q4_1 Qwen2.5-Coder-0.5B-Instruct.Q4_K_M; do
  f="$root/models/$m.gguf"
  if [[ -f $f ]]; then
    for c in "${choices[@]}"; do
      row "accord --model $m --choice $c" -- "$bin" merge --model "$f" --choice "$c" {base} {ours} {theirs}
    done
  else
    echo "## accord --model $m: not fetched (scripts/fetch-models.sh), skipped"
  fi
done
