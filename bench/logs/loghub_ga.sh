#!/usr/bin/env bash
# Grouping Accuracy of `accord logs parse` on the ten Loghub-2k systems, scored by the
# benchmark's own ga.py (corrected labels, key EventTemplate). One configuration for all.
#
#   bench/logs/loghub_ga.sh [ACCORD_BINARY]
#
# The data is read from $ACCORD_SHARED_DIR/bench/loghub (default: ../shared next to the
# workspace). The parser reads the Content column of each structured CSV: the message
# part of every line, as an app hands it to `log(level, tag, message)`.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
# shellcheck source=ga_lib.sh
source "$root/bench/logs/ga_lib.sh"
ga_data "$root"
bin="${1:-$root/target/release/accord}"
ga_start "$bin"
total=0
for s in Android Apache BGL HDFS HPC Hadoop Linux OpenSSH Spark Windows; do
  ga_row "$s" "$loghub/$s/${s}_2k.log_structured_corrected.csv" "$bin" "$loghub/ga.py" "$work"
  total="$(python3 -c 'import sys; print(float(sys.argv[1]) + float(sys.argv[2]))' "$total" "$ga_value")"
done
python3 -c 'import sys; print(f"| mean | {float(sys.argv[1])/10:.4f} | | |")' "$total"
