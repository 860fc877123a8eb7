#!/usr/bin/env bash
# Grouping Accuracy of `accord logs parse` on our held-out labelled logs (bench/logs/extra:
# ShopApp, ChatApp), scored by the Loghub benchmark's ga.py. These logs are never in
# `accord-bench ga`'s systems: they are scored once before and once after a miner change,
# as a check on logs of a kind the change was not made on (bench/logs/extra/README.md).
#
#   bench/logs/held_out_ga.sh [ACCORD_BINARY] [SYSTEM...]
#
# ga.py is read from $ACCORD_SHARED_DIR/bench/loghub (default: ../shared next to the
# workspace); the logs themselves are in the repository.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
shared="${ACCORD_SHARED_DIR:-$root/../shared}"
ga="$shared/bench/loghub/ga.py"
bin="${1:-$root/target/release/accord}"
shift || true
systems=("$@")
if [[ ${#systems[@]} -eq 0 ]]; then
  systems=(ShopApp ChatApp)
fi
if [[ ! -f "$ga" ]]; then
  echo "ga.py not found at $ga; set ACCORD_SHARED_DIR" >&2
  exit 2
fi
if [[ ! -x "$bin" ]]; then
  echo "no accord binary at $bin; run: cargo build --release -p accord-cli" >&2
  exit 2
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
printf '| system | GA | predicted groups | true groups |\n|---|---|---|---|\n'
for s in "${systems[@]}"; do
  csv="$root/bench/logs/extra/$s/${s}_2k.log_structured_corrected.csv"
  python3 -c 'import csv,sys
csv.field_size_limit(2**31-1)
for r in csv.DictReader(open(sys.argv[1], newline="", encoding="utf-8", errors="replace")):
    print(r["Content"].replace("\n", " "))' "$csv" > "$work/$s.txt"
  "$bin" logs parse "$work/$s.txt" > "$work/$s.pred"
  out="$(python3 "$ga" "$csv" "$work/$s.pred" --key EventTemplate --json)"
  python3 -c 'import json,sys; r=json.loads(sys.argv[2]); print("| %s | %.4f | %d | %d |" % (sys.argv[1], r["ga"], r["n_pred_groups"], r["n_true_groups"]))' "$s" "$out"
done
