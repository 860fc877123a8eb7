#!/usr/bin/env python3
"""Word-edit merge cases made from real texts: edits two people make to the same line,
that `git merge-file` cannot merge, each with one right answer.

    bench/merge/word_cases.py OUT_DIR [--source merge-dev.jsonl] [--per-kind 100] [--seed 7]

Reads the prose files of a merge benchmark (the `base` of each case: tldr pages, the Rust
book and RFCs, PEPs, release notes, awesome lists...) at run time and writes, into OUT_DIR,
one JSON-lines file per kind of edit plus all.jsonl, in merge_eval.py's format
({id, repo, kind, base, ours, theirs, merged, git_clean}):

  two-words   each side changes a different word of one line, with at least one unchanged
              word between the two (the right answer has both changes)
  extend      one side changes a word, the other extends the line at its end; at least one
              unchanged word lies between the changed word and the extension
  beside      one side changes a word of a line, the other inserts a new line right after
              it (or right before it)

Which side does which is drawn at random. A replacement word is another word of the same
file, of the same case (capitalised or not), so edits look like the file's own words. A
case git merges cleanly is dropped (none should be). Nothing here was tuned against the
merger: the kinds are the ones issue 11 names, the rules are fixed before measuring.

The data is never copied into the repository: the cases are generated from ../shared at run
time (bench/merge/word_eval.sh does it into target/).
"""
import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import unicodedata



def words_of(line):
    """Word spans, each extended over the combining marks (Mn, Mc) \\w leaves out."""
    out, i = [], 0
    while i < len(line):
        if line[i].isalnum() or line[i] == "_":
            j = i + 1
            while j < len(line) and (line[j].isalnum() or line[j] == "_"
                                     or unicodedata.category(line[j]) in ("Mn", "Mc")):
                j += 1
            out.append((i, j))
            i = j
        else:
            i += 1
    return out


class Span:
    def __init__(self, line, i, j):
        self.s, self.e, self.text = i, j, line[i:j]

    def start(self):
        return self.s

    def end(self):
        return self.e

    def group(self):
        return self.text


def prose_lines(text):
    """Indices of lines that read as prose: at least 6 words, outside code fences, not a
    table row, not a link-only line."""
    out, fence = [], False
    for i, line in enumerate(text.split("\n")):
        s = line.strip()
        if s.startswith("```") or s.startswith("~~~"):
            fence = not fence
            continue
        if fence or s.startswith("|") or s.startswith("    ") or line.startswith("\t"):
            continue
        if len(words_of(line)) >= 6 and len(line) < 400:
            out.append(i)
    return out


def vocabulary(text):
    return sorted({text[i:j] for i, j in words_of(text) if j - i >= 3 and not text[i:j].isdigit()})


def replacement(rng, vocab, word):
    for _ in range(50):
        w = rng.choice(vocab)
        if w.lower() != word.lower():
            if word[:1].isupper():
                w = w[:1].upper() + w[1:]
            else:
                w = w[:1].lower() + w[1:]
            return w
    return None


def replace_span(line, m, new):
    return line[: m.start()] + new + line[m.end():]


def git_clean(base, ours, theirs):
    with tempfile.TemporaryDirectory() as d:
        paths = []
        for name, text in (("ours", ours), ("base", base), ("theirs", theirs)):
            p = os.path.join(d, name)
            with open(p, "w", encoding="utf-8") as f:
                f.write(text)
            paths.append(p)
        r = subprocess.run(["git", "merge-file", "-p"] + paths, capture_output=True)
        return r.returncode == 0


def make(kind, rng, text, lines_idx, vocab):
    lines = text.split("\n")
    i = rng.choice(lines_idx)
    line = lines[i]
    words = [Span(line, i, j) for i, j in words_of(line)]
    if kind == "two-words":
        # Two words with at least one unchanged word between them.
        a = rng.randrange(0, len(words) - 2)
        b = rng.randrange(a + 2, len(words))
        wa, wb = replacement(rng, vocab, words[a].group()), replacement(rng, vocab, words[b].group())
        if not wa or not wb:
            return None
        one = replace_span(line, words[a], wa)
        other = replace_span(line, words[b], wb)
        both = replace_span(replace_span(line, words[b], wb), words[a], wa)
        l1 = lines[:i] + [one] + lines[i + 1:]
        l2 = lines[:i] + [other] + lines[i + 1:]
        lm = lines[:i] + [both] + lines[i + 1:]
    elif kind == "extend":
        # A word that is not among the last two, and words of another line appended.
        a = rng.randrange(0, len(words) - 2)
        wa = replacement(rng, vocab, words[a].group())
        donor = lines[rng.choice(lines_idx)]
        dw = [donor[i:j] for i, j in words_of(donor)]
        if not wa or len(dw) < 3:
            return None
        k = rng.randrange(0, max(1, len(dw) - 3))
        ext = " " + " ".join(dw[k:k + rng.randint(2, 4)])
        stripped = line.rstrip()
        tail = line[len(stripped):]
        one = replace_span(line, words[a], wa)
        other = stripped + ext + tail
        both = replace_span(line, words[a], wa).rstrip() + ext + tail
        l1 = lines[:i] + [one] + lines[i + 1:]
        l2 = lines[:i] + [other] + lines[i + 1:]
        lm = lines[:i] + [both] + lines[i + 1:]
    else:  # beside
        a = rng.randrange(0, len(words))
        wa = replacement(rng, vocab, words[a].group())
        new_line = lines[rng.choice(lines_idx)]
        if not wa or new_line == line:
            return None
        one = replace_span(line, words[a], wa)
        after = rng.random() < 0.5
        l1 = lines[:i] + [one] + lines[i + 1:]
        if after:
            l2 = lines[:i + 1] + [new_line] + lines[i + 1:]
            lm = lines[:i] + [one, new_line] + lines[i + 1:]
        else:
            l2 = lines[:i] + [new_line] + lines[i:]
            lm = lines[:i] + [new_line, one] + lines[i + 1:]
    ours, theirs, merged = "\n".join(l1), "\n".join(l2), "\n".join(lm)
    if rng.random() < 0.5:
        ours, theirs = theirs, ours
    return ours, theirs, merged


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    shared = os.environ.get("ACCORD_SHARED_DIR", os.path.join(here, "..", "..", "..", "shared"))
    ap = argparse.ArgumentParser()
    ap.add_argument("out_dir")
    ap.add_argument("--source", default=os.path.join(shared, "bench", "merge-dev.jsonl"))
    ap.add_argument("--per-kind", type=int, default=100)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--files", nargs="*", help="plain text files to take the texts from "
                    "instead of --source (e.g. the READMEs of the crates in ~/.cargo/registry)")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    files, seen = [], set()
    def add(repo, path, text):
        idx = prose_lines(text)
        if len(idx) >= 3:
            files.append((repo, path, text, idx, vocabulary(text)))
    if a.files:
        for p in sorted(a.files):
            try:
                with open(p, encoding="utf-8") as f:
                    text = f.read()
            except (OSError, UnicodeDecodeError):
                continue
            add(os.path.basename(os.path.dirname(p)), os.path.basename(p), text)
    else:
        with open(a.source, encoding="utf-8") as f:
            for line in f:
                c = json.loads(line)
                key = (c.get("repo"), c.get("path"))
                if key in seen:
                    continue
                seen.add(key)
                add(c.get("repo"), c.get("path"), c["base"])
    if not files:
        sys.exit("no prose files in " + a.source)
    os.makedirs(a.out_dir, exist_ok=True)
    everything = []
    for kind in ("two-words", "extend", "beside"):
        cases, tries = [], 0
        while len(cases) < a.per_kind and tries < a.per_kind * 50:
            tries += 1
            repo, path, text, idx, vocab = rng.choice(files)
            made = make(kind, rng, text, idx, vocab)
            if not made:
                continue
            ours, theirs, merged = made
            if ours == text or theirs == text or git_clean(text, ours, theirs):
                continue
            cases.append({"id": f"{kind}-{len(cases):03d}", "repo": repo, "path": path, "kind": kind,
                          "base": text, "ours": ours, "theirs": theirs, "merged": merged,
                          "git_clean": False, "git_exact": False})
        with open(os.path.join(a.out_dir, f"{kind}.jsonl"), "w", encoding="utf-8") as f:
            for c in cases:
                f.write(json.dumps(c, ensure_ascii=False) + "\n")
        everything += cases
        print(f"{kind}: {len(cases)} cases from {len({c['repo'] for c in cases})} repositories", file=sys.stderr)
    with open(os.path.join(a.out_dir, "all.jsonl"), "w", encoding="utf-8") as f:
        for c in everything:
            f.write(json.dumps(c, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
