# Sourced by loghub_ga.sh and held_out_ga.sh: scores labelled logs with Loghub's ga.py.
#
#   ga_data ROOT                sets $loghub to the Loghub benchmark folder
#                               ($ACCORD_SHARED_DIR/bench/loghub, else ../shared next to
#                               the workspace ROOT) and checks that its ga.py is there
#   ga_start ACCORD_BINARY      checks the binary, makes $work (removed on exit), prints
#                               the table's header
#   ga_row SYSTEM CSV ACCORD_BINARY GA_PY WORK_DIR
#
# Feeds the CSV's Content column (one message a line) to `accord logs parse`, scores its
# group ids against the corrected labels (key EventTemplate), prints the table row and
# leaves the GA in $ga_value.
ga_row() {
  local s="$1" csv="$2" bin="$3" ga="$4" work="$5" out
  python3 -c 'import csv,sys
csv.field_size_limit(2**31-1)
for r in csv.DictReader(open(sys.argv[1], newline="", encoding="utf-8", errors="replace")):
    print(r["Content"].replace("\n", " "))' "$csv" > "$work/$s.txt"
  "$bin" logs parse "$work/$s.txt" > "$work/$s.pred"
  out="$(python3 "$ga" "$csv" "$work/$s.pred" --key EventTemplate --json)"
  python3 -c 'import json,sys; r=json.loads(sys.argv[2]); print("| %s | %.4f | %d | %d |" % (sys.argv[1], r["ga"], r["n_pred_groups"], r["n_true_groups"]))' "$s" "$out"
  ga_value="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["ga"])' "$out")"
}

ga_data() {
  loghub="${ACCORD_SHARED_DIR:-$1/../shared}/bench/loghub"
  if [[ ! -f "$loghub/ga.py" ]]; then
    echo "Loghub data and its ga.py not found at $loghub; set ACCORD_SHARED_DIR" >&2
    exit 2
  fi
}

ga_start() {
  if [[ ! -x "$1" ]]; then
    echo "no accord binary at $1; run: cargo build --release -p accord-cli" >&2
    exit 2
  fi
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  printf '| system | GA | predicted groups | true groups |\n|---|---|---|---|\n'
}
