#!/usr/bin/env python3
"""Times drain3 on a file of log messages (one per line) for `accord bench logs`.

    bench/.venv/bin/python bench/logs/drain3_rate.py MESSAGES_FILE [REPEAT]

Prints one JSON object: lines, best wall time in seconds of the mining loop alone
(file reading and interpreter start excluded), the number of clusters, and the cluster
id of every line (for Grouping Accuracy). drain3 runs with its default parameters
(similarity 0.4, depth 4) and the masking instructions of its own example config
(IDs, IPs, hex sequences, hex and decimal numbers): one generic setting, as ours.
"""
import json
import sys
import time

from drain3 import TemplateMiner
from drain3.masking import MaskingInstruction
from drain3.template_miner_config import TemplateMinerConfig

MASKS = [
    (r"((?<=[^A-Za-z0-9])|^)(([0-9a-f]{2,}:){3,}([0-9a-f]{2,}))((?=[^A-Za-z0-9])|$)", "ID"),
    (r"((?<=[^A-Za-z0-9])|^)(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})((?=[^A-Za-z0-9])|$)", "IP"),
    (r"((?<=[^A-Za-z0-9])|^)([0-9a-f]{6,} ?){3,}((?=[^A-Za-z0-9])|$)", "SEQ"),
    (r"((?<=[^A-Za-z0-9])|^)([0-9A-F]{4} ?){4,}((?=[^A-Za-z0-9])|$)", "SEQ"),
    (r"((?<=[^A-Za-z0-9])|^)(0x[a-f0-9A-F]+)((?=[^A-Za-z0-9])|$)", "HEX"),
    (r"((?<=[^A-Za-z0-9])|^)([\-\+]?\d+)((?=[^A-Za-z0-9])|$)", "NUM"),
]


def config():
    c = TemplateMinerConfig()
    c.masking_instructions = [MaskingInstruction(p, m) for p, m in MASKS]
    c.profiling_enabled = False
    return c


def main():
    path = sys.argv[1]
    repeat = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    with open(path, encoding="utf-8", errors="replace") as f:
        messages = [line.rstrip("\n") for line in f]
    best = float("inf")
    ids = []
    clusters = 0
    for _ in range(max(1, repeat)):
        miner = TemplateMiner(config=config())
        start = time.perf_counter()
        ids = [miner.add_log_message(m)["cluster_id"] for m in messages]
        best = min(best, time.perf_counter() - start)
        clusters = len(miner.drain.clusters)
    print(json.dumps({"lines": len(messages), "seconds": best, "clusters": clusters, "groups": ids}))


if __name__ == "__main__":
    main()
