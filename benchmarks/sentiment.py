"""Sentiment: quality on the Weibo evaluation set and throughput, stock SnowNLP vs default.

The evaluation file is measured on, never trained on. Its location: $PINGFAN_EVAL_SENTIMENT,
else ../shared/data/sentiment/weibo_emotion_dev.jsonl beside the repository.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from monitor.config import NlpConfig
from nlp.sentiment import Example, SnowNLPModel, default_model
from nlp.training import evaluate

REPO = Path(__file__).resolve().parent.parent
DEFAULT_EVAL = REPO.parent / "shared" / "data" / "sentiment" / "weibo_emotion_dev.jsonl"
SNOWNLP_SPEED_SAMPLE = 1500  # stock SnowNLP is slow; its speed is measured on a sample
CLI_LINES = 200_000


def load_eval() -> list[Example] | None:
    path = Path(os.environ.get("PINGFAN_EVAL_SENTIMENT", DEFAULT_EVAL))
    if not path.exists():
        print(f"sentiment benchmark skipped: {path} not found (set PINGFAN_EVAL_SENTIMENT)")
        return None
    with path.open(encoding="utf-8") as source:
        return [Example(r["text"], r["label"]) for r in map(json.loads, source) if r["text"]]


def texts_per_second(probabilities, texts: list[str]) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    probabilities(texts)
    return len(texts) / (time.perf_counter() - start)


def cli_throughput(texts: list[str], jobs: int) -> float:
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".txt", delete=False) as f:
        for i in range(CLI_LINES):
            f.write(texts[i % len(texts)].replace("\n", " ") + "\n")
        name = f.name
    try:
        start = time.perf_counter()
        with open(name, "rb") as source:
            subprocess.run(
                [str(REPO / ".venv" / "bin" / "pingfan"), "nlp", "score", "--jobs", str(jobs)],
                stdin=source,
                stdout=subprocess.DEVNULL,
                check=True,
                cwd=tempfile.gettempdir(),
            )
        return CLI_LINES / (time.perf_counter() - start)
    finally:
        os.unlink(name)


def print_calibration(examples: list[Example], probabilities: list[float]) -> None:
    """How far P(positive) is from the observed share, and what the neutral band costs."""
    bins: list[list[tuple[float, bool]]] = [[] for _ in range(10)]
    for example, p in zip(examples, probabilities, strict=True):
        bins[min(int(p * 10), 9)].append((p, example.label == "positive"))
    ece = sum(
        len(b) / len(examples) * abs(sum(p for p, _ in b) / len(b) - sum(y for _, y in b) / len(b))
        for b in bins
        if b
    )
    low, high = NlpConfig().neutral_low, NlpConfig().neutral_high
    decided = [
        (p > high) == (e.label == "positive")
        for e, p in zip(examples, probabilities, strict=True)
        if not low <= p <= high
    ]
    print(
        f"default model calibration: ECE {ece:.3f}; neutral band [{low}, {high}] holds "
        f"{1 - len(decided) / len(examples):.1%} of posts, accuracy outside it "
        f"{sum(decided) / max(len(decided), 1):.3f}"
    )


def main() -> None:
    examples = load_eval()
    if examples is None:
        return
    texts = [e.text for e in examples]
    stock, ours = SnowNLPModel(), default_model()
    print(f"sentiment on {len(examples)} labelled Weibo posts (binary, P >= 0.5 is positive)")
    print(f"{'model':<22}{'accuracy':>10}{'macro-F1':>10}{'neg recall':>12}{'texts/s/core':>14}")
    stock.probabilities(texts[:50])  # load SnowNLP's models before timing
    ours.probabilities(texts[:50])
    rows = []
    for model in (stock, ours):
        quality = evaluate(model, examples)
        sample = texts[:SNOWNLP_SPEED_SAMPLE] if model is stock else texts
        speed = texts_per_second(model.probabilities, sample)
        rows.append(speed)
        print(
            f"{model.version:<22}{quality.accuracy:>10.3f}{quality.macro_f1:>10.3f}"
            f"{quality.negative_recall:>12.3f}{speed:>14,.0f}"
        )
    print(f"speed-up of the default model over stock SnowNLP: {rows[1] / rows[0]:.1f}x")
    print_calibration(examples, ours.probabilities(texts))
    one = cli_throughput(texts, 1)
    both = cli_throughput(texts, os.cpu_count() or 1)
    print(
        f"pingfan nlp score on {CLI_LINES:,} lines: {one:,.0f} lines/s with --jobs 1, "
        f"{both:,.0f} lines/s with --jobs {os.cpu_count()} ({both / one:.2f}x)"
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
