"""Build `nlp/data/lccc_weak.jsonl.gz` from a checkout of thu-coai/CDial-GPT (MIT).

    python -m monitor.nlp_realdata --from DIR [--out nlp/data/lccc_weak.jsonl.gz]
    python -m monitor.nlp_realdata --from DIR --draw N --split train --seed 79

The second form prints N utterances of a split drawn at random for labelling by reading (one
JSON line each, no label: the reader labels them before any model has seen them), leaving out
those already in `nlp/data/lccc_human.jsonl`.

DIR holds `data/toy_train.txt` and `data/toy_valid.txt` (LCCC's sample: one Weibo comment
thread a line, utterances separated by tabs, characters by spaces). Splits, fixed:

- `toy_valid.txt` → dev (settings and the calibration temperature are chosen on it);
- `toy_train.txt`, by thread with a fixed seed: 15% → test (measurement only), the rest →
  train. A text that occurs in the train threads is kept there only, so no test or dev text
  is a training text.

Every distinct utterance gets a weak label (`nlp.realtext.weak_label`) or is left out. Runs
offline on a local checkout; nothing is downloaded.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
from collections import Counter
from pathlib import Path

from nlp.realtext import SPLITS, despace, human_examples, weak_examples

TEST_SHARE = 0.15
SEED = 21


def _threads(path: Path) -> list[list[str]]:
    threads = []
    for line in path.read_text(encoding="utf-8").splitlines():
        turns = [despace(turn) for turn in line.split("\t")]
        threads.append([turn for turn in turns if turn])
    return threads


def split_texts(source: Path) -> dict[str, list[str]]:
    """Every distinct utterance of each split, in corpus order (see the module's docstring)."""
    train_threads = _threads(source / "data" / "toy_train.txt")
    dev_threads = _threads(source / "data" / "toy_valid.txt")
    order = list(range(len(train_threads)))
    random.Random(SEED).shuffle(order)
    cut = int(len(order) * TEST_SHARE)
    test_ids = set(order[:cut])
    train_texts = [t for i, th in enumerate(train_threads) if i not in test_ids for t in th]
    test_texts = [t for i, th in enumerate(train_threads) if i in test_ids for t in th]
    dev_texts = [t for th in dev_threads for t in th]
    taken: set[str] = set()
    found: dict[str, list[str]] = {}
    for split, texts in (("train", train_texts), ("dev", dev_texts), ("test", test_texts)):
        found[split] = [t for t in dict.fromkeys(texts) if t not in taken]
        taken.update(found[split])
    return found


def build(source: Path) -> list[dict[str, str]]:
    records: list[dict[str, str]] = []
    for split, texts in split_texts(source).items():
        for text, label in weak_examples(texts):
            records.append({"text": text, "label": label, "split": split})
    return records


def draw(source: Path, split: str, n: int, seed: int, labelled: set[str]) -> list[str]:
    """`n` utterances of `split` drawn at random (fixed `seed`) for labelling by reading,
    none already in `labelled`, each at least two characters long."""
    pool = [t for t in split_texts(source)[split] if len(t) >= 2 and t not in labelled]
    return random.Random(seed).sample(pool, min(n, len(pool)))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--from", dest="source", required=True, type=Path)
    parser.add_argument("--out", type=Path, default=Path("nlp/data/lccc_weak.jsonl.gz"))
    parser.add_argument("--draw", type=int, help="print N utterances to label by reading")
    parser.add_argument("--split", choices=("train", "dev", "test"), default="train")
    parser.add_argument("--seed", type=int, default=79)
    args = parser.parse_args(argv)
    if args.draw is not None:
        labelled = {e.text for split in SPLITS for e in human_examples(split)}
        for text in draw(args.source, args.split, args.draw, args.seed, labelled):
            print(json.dumps({"text": text, "split": args.split}, ensure_ascii=False))
        return
    records = build(args.source)
    with gzip.GzipFile(args.out, "wb", mtime=0) as raw:
        for record in records:
            raw.write((json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8"))
    counts = Counter((r["split"], r["label"]) for r in records)
    for split in ("train", "dev", "test"):
        row = ", ".join(
            f"{counts[split, label]} {label}" for label in ("positive", "neutral", "negative")
        )
        print(f"{split}: {row}")


if __name__ == "__main__":
    main()
