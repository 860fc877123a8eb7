#!/usr/bin/env python3
"""What the committed merges of a merge benchmark allow a merger to reach.

Usage: bench/merge/merge_ceiling.py [CASES.jsonl]   (default ../shared/bench/merge-dev.jsonl)

For the conflict cases (those `git merge-file` cannot merge) it counts, with the same
definitions as merge_eval.py:
  selectable   the committed merge uses only lines that stand in base, ours or theirs
               (the denominator of exact_sel);
  keeps_added  the person kept every line either side added (non-blank, not in base);
  both         selectable and keeps_added: the only cases a merger that never drops a
               line one side added can get exactly right.
The ceiling of exact_sel for such a merger is both / selectable. A merger can pass it
only by dropping a side's line, which is a lost line whenever it guesses wrong.
"""
import json
import os
import sys


def added(base, side):
    base_lines = set(base.splitlines())
    return {l for l in side.splitlines() if l.strip() and l not in base_lines}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "..", "..", "shared", "bench", "merge-dev.jsonl")
    conflicts = selectable = keeps = both = 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            case = json.loads(line)
            if case["git_clean"]:
                continue
            conflicts += 1
            merged = case["merged"].splitlines()
            pool = set(case["base"].splitlines()) | set(case["ours"].splitlines()) | set(case["theirs"].splitlines())
            sel = all(l in pool for l in merged)
            kept = (added(case["base"], case["ours"]) | added(case["base"], case["theirs"])) <= set(merged)
            selectable += sel
            keeps += kept
            both += sel and kept
    print(f"conflict cases {conflicts}")
    print(f"selectable (exact_sel denominator) {selectable}")
    print(f"person kept every added line {keeps}")
    print(f"selectable and kept every added line {both}")
    if selectable:
        print(f"exact_sel ceiling for a merger that never drops an added line: {both / selectable:.3f}")


if __name__ == "__main__":
    main()
