#!/usr/bin/env python3
"""Per-case view of a merger on a merge benchmark, scored by the benchmark's own
merge_eval.py (imported from the shared directory at run time, never copied).

    bench/merge/merge_cases.py CASES.jsonl [--only clean|conflict] [--show lost|lost_words|exact|flagged] -- COMMAND {base} {ours} {theirs}

Prints one line per case that has the property asked for with --show (default: lost):
id, exact, flagged, lost lines, lost word runs; with -v also the lines or runs lost.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

here = os.path.dirname(os.path.abspath(__file__))
shared = os.environ.get("ACCORD_SHARED_DIR", os.path.join(here, "..", "..", "..", "shared"))
sys.path.insert(0, os.path.join(shared, "bench"))
import merge_eval as me  # noqa: E402


def main():
    argv = sys.argv[1:]
    i = argv.index("--")
    argv, cmd = argv[:i], argv[i + 1:]
    ap = argparse.ArgumentParser()
    ap.add_argument("cases")
    ap.add_argument("--only", choices=["clean", "conflict"], default="conflict")
    ap.add_argument("--show", choices=["lost", "lost_words", "exact", "inexact", "flagged"], default="lost")
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args(argv)
    with open(a.cases, encoding="utf-8") as f, tempfile.TemporaryDirectory() as tmp:
        for line in f:
            c = json.loads(line)
            if ("clean" if c["git_clean"] else "conflict") != a.only:
                continue
            res, err, _ = me.run_one(c, cmd, 60, tmp)
            if err:
                print(f"{c['id']}: failed {err}")
                continue
            out, flagged = res
            s = me.score_case(c, out)
            want = {"lost": s["lost"] > 0, "lost_words": s["lost_words"] > 0, "exact": s["exact"],
                    "inexact": not s["exact"], "flagged": flagged}[a.show]
            if not want:
                continue
            print(f"{c['id']}: exact={s['exact']} flagged={flagged} lost={s['lost']} lost_words={s['lost_words']} repo={c.get('repo')} path={c.get('path')}")
            if a.verbose:
                kept = (me.added_lines(c["base"], c["ours"]) | me.added_lines(c["base"], c["theirs"])) & set(c["merged"].splitlines())
                for l in sorted(l for l in kept if l not in set(out.splitlines())):
                    print(f"    lost line: {l!r}")


if __name__ == "__main__":
    main()
