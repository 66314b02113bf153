#!/usr/bin/env python3
"""Samples the NSMC excerpt shipped in recipes/data/nsmc/ (used by recipes/demo.toml).

usage: tools/sample_nsmc.py SRC_DIR DEST_DIR [--train N] [--test N] [--seed S]

SRC_DIR holds NSMC's train.tsv and test.tsv (columns id, document, label; e.g. the
ratings_train.txt / ratings_test.txt of https://github.com/e9t/nsmc). Rows with an empty
document are dropped, then N rows are drawn without replacement with Python's random.Random(S)
and written in their original order, header kept.
"""
import argparse
import random
import os


def sample(src, dest, n, seed):
    with open(src, encoding="utf-8") as f:
        header, *rows = f.read().splitlines()
    rows = [r for r in rows if len(r.split("\t")) == 3 and r.split("\t")[1].strip()]
    picked = sorted(random.Random(seed).sample(range(len(rows)), n))
    with open(dest, "w", encoding="utf-8") as f:
        f.write(header + "\n")
        for i in picked:
            f.write(rows[i] + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("src")
    ap.add_argument("dest")
    ap.add_argument("--train", type=int, default=3000)
    ap.add_argument("--test", type=int, default=500)
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()
    os.makedirs(a.dest, exist_ok=True)
    sample(os.path.join(a.src, "train.tsv"), os.path.join(a.dest, "train.tsv"), a.train, a.seed)
    sample(os.path.join(a.src, "test.tsv"), os.path.join(a.dest, "test.tsv"), a.test, a.seed + 1)


if __name__ == "__main__":
    main()
