#!/usr/bin/env bash
# Grouping Accuracy of `accord logs parse` on our never-tuned labelled log (bench/logs/extra:
# NetOffice), scored by the Loghub benchmark's ga.py. Such a log is never in `accord-bench ga`'s
# systems: it is scored once before and once after a miner change, as a check on logs of a
# kind the change was not made on (bench/logs/extra/README.md). ShopApp, ChatApp, HomeApp,
# InfraOps and MediaApp, the earlier ones, are development logs now; they can still be
# named here.
#
#   bench/logs/held_out_ga.sh [ACCORD_BINARY] [SYSTEM...]
#
# ga.py is read from $ACCORD_SHARED_DIR/bench/loghub (default: ../shared next to the
# workspace); the logs themselves are in the repository.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
# shellcheck source=ga_lib.sh
source "$root/bench/logs/ga_lib.sh"
ga_data "$root"
bin="${1:-$root/target/release/accord}"
shift || true
systems=("$@")
if [[ ${#systems[@]} -eq 0 ]]; then
  systems=(NetOffice)
fi
ga_start "$bin"
for s in "${systems[@]}"; do
  ga_row "$s" "$root/bench/logs/extra/$s/${s}_2k.log_structured_corrected.csv" "$bin" "$loghub/ga.py" "$work"
done
