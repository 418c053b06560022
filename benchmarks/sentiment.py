"""Sentiment: stock SnowNLP and the default model, measured in the same run.

- binary quality and speed on a labelled Weibo set outside the repository, never trained on:
  $PINGFAN_EVAL_SENTIMENT, else ../shared/data/sentiment/weibo_emotion_dev.jsonl;
- three-class quality on the project's held-out set (nlp/data/heldout_three_way.jsonl,
  written for measuring, never trained on) and on the demo scenario's truth (every simulated
  comment carries the class its pool was written to carry);
- adaptation: the default model before and after training with 1,000 of the scenario's
  labelled comments, tested on comments whose pool lines the training labels never use; and
  without labels on the scenario's comments: emoticon weak labels (`pingfan nlp adapt`) and
  self-training (measured, not kept: it does not help);
- the learning curve: the shipped recipe retrained with N of the LCCC train split's read
  labels in place of all of them, measured on the LCCC test split (`learning_curve_section`);
- `pingfan nlp score` throughput.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import time
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable
from importlib import resources
from pathlib import Path

from monitor.sim.world import World, load_world
from nlp.active import choose
from nlp.calibration import expected_calibration_error
from nlp.realtext import human_examples, lccc_examples, reread_examples
from nlp.sentiment import (
    DEFAULT_MODEL_FILE,
    LABELS,
    Example,
    LinearModel,
    Model,
    SnowNLPModel,
    default_model,
    featurize,
    train,
)
from nlp.shares import comment_shares, estimate_shares, model_prior
from nlp.training import (
    TEAM_WEIGHT,
    Metrics,
    adapt,
    base_examples,
    calibrate,
    evaluate,
    evaluate_binary,
    read_examples,
    three_way_metrics,
    train_with_read_labels,
)

REPO = Path(__file__).resolve().parent.parent
DEFAULT_EVAL = REPO.parent / "shared" / "data" / "sentiment" / "weibo_emotion_dev.jsonl"
SNOWNLP_SPEED_SAMPLE = 1500  # stock SnowNLP is slow; its speed is measured on a sample
CLI_LINES = 200_000
ADAPT_LABELS = 1000
ADAPT_TEST = 4000
SNOWNLP_THREE_WAY_SAMPLE = 3000  # scenario comments SnowNLP scores (it is slow)
CURVE_SIZES = (250, 500, 1000)  # team labels on the learning curve


def load_eval() -> list[Example] | None:
    path = Path(os.environ.get("PINGFAN_EVAL_SENTIMENT", DEFAULT_EVAL))
    if not path.exists():
        print(f"binary benchmark skipped: {path} not found (set PINGFAN_EVAL_SENTIMENT)")
        return None
    with path.open(encoding="utf-8") as source:
        return [Example(r["text"], r["label"]) for r in map(json.loads, source) if r["text"]]


def held_out_three_way() -> list[Example]:
    source = resources.files("nlp").joinpath("data/heldout_three_way.jsonl")
    with resources.as_file(source) as path:
        return list(read_examples(path))


def scenario_examples(world: World) -> list[tuple[Example, str, str]]:
    """(text and truth, platform, post id) of every simulated comment, in a stable order."""
    return [
        (Example(c.text, c.truth), c.platform, c.post_id)
        for post in world.posts
        for c in world.comments.get(post.id, [])
    ]


def texts_per_second(probabilities: Callable[[list[str]], object], texts: list[str]) -> float:
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


def three_way_row(name: str, metrics: Metrics) -> str:
    f1 = [metrics.per_class[label].f1 for label in ("positive", "neutral", "negative")]
    return (
        f"{name:<28}{metrics.macro_f1:>10.3f}{f1[0]:>10.3f}{f1[1]:>10.3f}{f1[2]:>10.3f}"
        f"{metrics.accuracy:>10.3f}{metrics.n:>7}"
    )


THREE_WAY_HEADER = (
    f"{'model':<28}{'macro-F1':>10}{'F1 pos':>10}{'F1 neu':>10}{'F1 neg':>10}"
    f"{'accuracy':>10}{'n':>7}"
)


def binary_section(stock: SnowNLPModel, ours: Model, examples: list[Example]) -> None:
    texts = [e.text for e in examples]
    print(f"binary sentiment on {len(examples)} labelled Weibo posts (never trained on)")
    print("  (a three-class model calls a post positive when P(positive) >= P(negative))")
    print(f"{'model':<24}{'accuracy':>10}{'macro-F1':>10}{'neg recall':>12}{'texts/s/core':>14}")
    stock.probabilities(texts[:50])  # load SnowNLP's models before timing
    ours.predict(texts[:50])
    speeds = []
    for model in (stock, ours):
        quality = evaluate_binary(model, examples)
        sample = texts[:SNOWNLP_SPEED_SAMPLE] if model is stock else texts
        speed = texts_per_second(model.predict, sample)
        speeds.append(speed)
        print(
            f"{model.version:<24}{quality.accuracy:>10.3f}{quality.macro_f1:>10.3f}"
            f"{quality.negative_recall:>12.3f}{speed:>14,.0f}"
        )
    ratio = speeds[1] / speeds[0]
    print(f"speed-up of the default model over stock SnowNLP on one core: {ratio:.1f}x")


def three_way_section(stock: SnowNLPModel, ours: Model, world: World) -> None:
    held = held_out_three_way()
    print()
    print(f"three classes on the project's held-out set ({len(held)} texts, never trained on)")
    print(THREE_WAY_HEADER)
    for model in (stock, ours):
        print(three_way_row(model.version, evaluate(model, held)))
    rows = scenario_examples(world)
    examples = [e for e, _, _ in rows]
    sample = random.Random(3).sample(examples, min(SNOWNLP_THREE_WAY_SAMPLE, len(examples)))
    print()
    print(
        f"three classes on the demo scenario's truth ({world.name}, {len(examples)} comments; "
        f"SnowNLP on {len(sample)} of them)"
    )
    print(THREE_WAY_HEADER)
    print(three_way_row(stock.version, evaluate(stock, sample)))
    print(three_way_row(ours.version, evaluate(ours, examples)))
    weibo = [(e, post) for e, platform, post in rows if platform == "weibo"]
    predicted = ours.predict([e.text for e, _ in weibo])
    truth_share = Counter(e.label for e, _ in weibo)
    model_share = Counter(p.label for p in predicted)
    n = len(weibo)
    split = "  ".join(
        f"{label} {model_share[label] / n:.0%} (scenario {truth_share[label] / n:.0%})"
        for label in ("positive", "neutral", "negative")
    )
    print(f"Weibo comments, default model's labels vs scenario: {split}")
    if isinstance(ours, LinearModel):
        _shares_line("all comments, shares", ours, examples)
    by_post: dict[str, list[bool]] = defaultdict(list)
    for (_, post), probs in zip(weibo, predicted, strict=True):
        by_post[post].append(probs.label == "negative")
    ranked = sorted(
        ((sum(flags) / len(flags), post) for post, flags in by_post.items() if len(flags) >= 20),
        reverse=True,
    )
    print("most negative Weibo threads (>= 20 comments) by the default model:")
    for share, post in ranked[:3]:
        role = world.posts_by_id[post].role
        print(f"  {share:.0%} negative  [{role}] {world.posts_by_id[post].text[:36]}")


def _pool_line_split(world: World, examples: list[Example]) -> tuple[list[int], list[int]]:
    """Indexes of comments whose pool line falls in split A (labels) or B (test): a comment
    is dressed with openings and emoticons, so its line is the longest pool line in it."""
    import tomllib

    raw = tomllib.loads(
        resources.files("monitor.sim")
        .joinpath("scenarios/dalian-2019.toml")
        .read_text(encoding="utf-8")
    )
    # Longest first, ties by text: a set's order changes with each process's hash seed.
    lines = sorted(
        {line for pool in raw["pool_classes"] for line in raw["pools"][pool]},
        key=lambda line: (-len(line), line),
    )
    split_a: list[int] = []
    split_b: list[int] = []
    for index, example in enumerate(examples):
        line = next((line for line in lines if line in example.text), example.text)
        (split_a if zlib.crc32(line.encode()) % 2 == 0 else split_b).append(index)
    return split_a, split_b


def adaptation_section(ours: LinearModel, world: World, binary: list[Example] | None) -> None:
    rows = scenario_examples(world)
    examples = [e for e, _, _ in rows]
    split_a, split_b = _pool_line_split(world, examples)
    rng = random.Random(11)
    labels = [examples[i] for i in rng.sample(split_a, min(ADAPT_LABELS, len(split_a)))]
    test = [examples[i] for i in rng.sample(split_b, min(ADAPT_TEST, len(split_b)))]
    held = held_out_three_way()
    base = base_examples()
    print()
    print(
        f"adaptation: {len(labels)} labelled scenario comments as team labels (weight "
        f"{TEAM_WEIGHT:g}); tested on {len(test)} comments whose pool lines they never use"
    )
    started = time.perf_counter()
    team = [Example(e.text, e.label, TEAM_WEIGHT) for e in labels]
    taught = train([*base, *team], version="default+1000-team-labels")
    trained_in = time.perf_counter() - started
    started = time.perf_counter()
    texts = [e.text for e in examples]
    weak = adapt(ours, texts, version="default+emoticon-labels", base=base)
    adapted_in = time.perf_counter() - started
    selfish = adapt(ours, texts, version="default+self-training", method="self-training", base=base)
    print(f"{'':<30}{'scenario (split B)':>20}{'held-out set':>14}{'binary Weibo':>14}")
    for name, model in (
        ("default model", ours),
        ("+ nlp train (1,000 labels)", taught),
        ("+ nlp adapt (emoticon labels)", weak.model),
        ("+ self-training (not kept)", selfish.model),
    ):
        scenario = evaluate(model, test).macro_f1
        own = evaluate(model, held).macro_f1
        weibo = f"{evaluate_binary(model, binary).macro_f1:.3f}" if binary else "-"
        print(f"{name:<30}{scenario:>20.3f}{own:>14.3f}{weibo:>14}")
    print(
        f"(macro-F1; training took {trained_in:.0f} s, adaptation {adapted_in:.0f} s with "
        f"{weak.pseudo_labels} emoticon labels on the scenario's unlabelled comments; "
        f"self-training used {selfish.pseudo_labels} confident predictions)"
    )


def real_text_section(stock: SnowNLPModel, ours: LinearModel) -> None:
    """Real Weibo comments (LCCC, nlp/realtext.py) never trained on and never used to choose
    a setting: the hand-labelled test split (the goals), then the weakly labelled one."""
    print(
        "three classes on real Weibo comments (LCCC test split, never trained on, nothing "
        "chosen on it)"
    )
    print(THREE_WAY_HEADER + f"{'ECE':>8}")
    for name, test in (("labelled", human_examples("test")), ("weak", lccc_examples("test"))):
        gold = [e.label for e in test]
        for model in (stock, ours):
            probs = model.predict([e.text for e in test])
            metrics = three_way_metrics(gold, [p.label for p in probs])
            ece = expected_calibration_error(probs, gold)
            print(three_way_row(f"{name}: {model.version}", metrics) + f"{ece:>8.3f}")
    test = human_examples("test")
    gold = [e.label for e in test]
    texts = [e.text for e in test]
    raw = LinearModel(ours.weights, ours.bias, ours.version)
    print(
        f"(labelled: {len(test)} utterances labelled by reading; weak: labels from the lexicon "
        f"rule, which the model mostly reproduces)"
    )
    print(
        f"calibration (fitted on the labelled dev split): temperature {ours.temperature:.2f}, "
        f"class offsets {', '.join(f'{b:+.2f}' for b in ours.offsets)}; ECE on the labelled "
        f"test split {expected_calibration_error(raw.predict(texts), gold):.3f} uncalibrated, "
        f"{expected_calibration_error(ours.predict(texts), gold):.3f} calibrated"
    )
    _shares_line("labelled test split, shares", ours, test, raw)


def _shares_line(
    title: str, ours: LinearModel, examples: list[Example], raw: LinearModel | None = None
) -> None:
    """Shares with a 90% interval beside the truth: mean probability (uncalibrated,
    calibrated), adjusted to the items' class mix with the LCCC calibration alone, and as the
    digest, /status and the demo show them (`comment_shares`: through the model's
    campaign-domain calibration, then half adjusted), with the largest gap in points."""
    truth = Counter(e.label for e in examples)
    texts = [e.text for e in examples]
    probs = ours.predict(texts)
    ways = [("mean, calibrated", estimate_shares(probs))]
    if raw is not None:
        ways.insert(0, ("mean, uncalibrated", estimate_shares(raw.predict(texts))))
    ways.append(("adjusted, LCCC only", estimate_shares(probs, prior=model_prior(ours.metrics))))
    ways.append(("shown (domain, ½ EM)", comment_shares(probs, ours.metrics)))
    print(
        f"{title} vs the labels ({', '.join(f'{k} {truth[k] / len(texts):.1%}' for k in LABELS)}):"
    )
    for name, shares in ways:
        if shares is None:
            continue
        gap = max(abs(s.estimate - truth[s.label] / len(texts)) for s in shares)
        cells = "  ".join(f"{s.label} {s.estimate:.1%} [{s.low:.1%}-{s.high:.1%}]" for s in shares)
        print(f"  {name:<22}{cells}  (largest gap {gap * 100:.1f} points)")


def learning_curve_section(ours: LinearModel) -> None:
    """The team simulated on real labels. "N in-domain labels" means: N of the LCCC train
    split's read labels (the pool) go into the shipped model's recipe in place of all of them
    (`train_with_read_labels`: the base data without any read label, retrained from scratch,
    as `pingfan nlp train` retrains with the team's labels), drawn at random or chosen as
    `pingfan nlp label` / `/label` choose (nlp.active: uncertainty × diversity, in rounds: each
    round's model picks the next labels); calibrated on the labelled LCCC dev split as the
    shipped model is, measured on the labelled LCCC test split (nothing chosen on it)."""
    pool = human_examples("train")
    test, dev = human_examples("test"), human_examples("dev")
    gold = [e.label for e in test]
    started = time.perf_counter()
    base_rows = featurize(base_examples(hand_labelled=False))
    general = train_with_read_labels(base_rows, [], version="base-without-read-labels")
    trained_in = time.perf_counter() - started

    def measured(model: LinearModel) -> Metrics:
        calibrate(model, dev)
        return three_way_metrics(gold, [p.label for p in model.predict([e.text for e in test])])

    start = measured(general)
    curves: dict[str, list[Metrics]] = {"random": [], "active": []}
    shuffled = random.Random(21).sample(pool, len(pool))
    for size in CURVE_SIZES:
        model = train_with_read_labels(base_rows, shuffled[:size], version=f"random-{size}")
        curves["random"].append(measured(model))
    chosen: list[Example] = []
    model = general
    for size in CURVE_SIZES:
        taken = {e.text for e in chosen}
        left = [e for e in pool if e.text not in taken]
        picks = choose(
            [e.text for e in left],
            model.predict([e.text for e in left]),
            size - len(chosen),
            known=[e.text for e in chosen],
        )
        chosen += [left[i] for i in picks]
        model = train_with_read_labels(base_rows, chosen, version=f"active-{size}")
        curves["active"].append(measured(model))
    print()
    print(
        f"learning curve: the team simulated with the LCCC train split's {len(pool):,} read "
        f"labels; macro-F1 (F1 negative) on the labelled test split ({len(test)})"
    )
    print(f"{'labels':>8}{'random':>18}{'active (nlp.active)':>24}")
    print(f"{0:>8}{_curve_cell(start):>18}{_curve_cell(start):>24}")
    for size, rnd, act in zip(CURVE_SIZES, curves["random"], curves["active"], strict=True):
        print(f"{size:>8,}{_curve_cell(rnd):>18}{_curve_cell(act):>24}")
    shipped = three_way_metrics(gold, [p.label for p in ours.predict([e.text for e in test])])
    print(
        f"(0 = the base data without any read label, trained in {trained_in:.0f} s; each point "
        f"retrains it with the labels (nlp.training.train_with_read_labels); the shipped "
        f"model, the same recipe with all {len(pool):,}: {_curve_cell(shipped)})"
    )
    print(label_consistency_line(dev))


def label_consistency_line(dev: list[Example]) -> str:
    """How far the read labels agree with themselves: a second reading of some dev utterances
    scored against the first, the ceiling the curve is read against."""
    first = {e.text: e.label for e in dev}
    again = [e for e in reread_examples() if e.text in first]
    metrics = three_way_metrics([first[e.text] for e in again], [e.label for e in again])
    return (
        f"the labels' own consistency: {len(again)} dev utterances read and labelled again "
        f"agree with their first labels on {metrics.accuracy:.1%}, macro-F1 "
        f"{_curve_cell(metrics)}"
    )


def _curve_cell(metrics: Metrics) -> str:
    return f"{metrics.macro_f1:.3f} ({metrics.per_class['negative'].f1:.3f})"


WORKER_GOAL_MB = 80.0  # issue 21: peak and settled RSS of a scoring process
_FOOTPRINT_PROBES = {
    # `pingfan nlp score`'s worker (and its own process with --jobs 1): the CLI's imports
    "nlp score worker": (
        "from monitor.nlp_cli import _init_worker, _score_chunk\n"
        "_init_worker('default')\n"
        "_score_chunk(TEXTS)\n"
    ),
    # the daemon's scoring worker (monitor.runtime.scoring_worker), as its pool starts it
    "daemon scoring worker": (
        "import os\n"
        "from monitor.runtime import scoring_worker\n"
        "scoring_worker.start('default', os.getppid())\n"
        "scoring_worker.predict(TEXTS)\n"
    ),
}


def footprint_section() -> None:
    """Model file size, and the peak (VmHWM: the most ever resident at once, which is while
    the model file is read) and settled (VmRSS after scoring) memory of each scoring process,
    each in a fresh interpreter."""
    size = resources.files("nlp").joinpath(DEFAULT_MODEL_FILE)
    with resources.as_file(size) as path:
        megabytes = path.stat().st_size / 1e6
    print()
    print(
        f"model file {megabytes:.1f} MB; memory of a process that loads the default model "
        f"and scores 6,000 texts (goal: peak and settled ≤ {WORKER_GOAL_MB:.0f} MB)"
    )
    for label, probe in _FOOTPRINT_PROBES.items():
        peak, settled = _probe_memory(probe)
        verdict = "ok" if max(peak, settled) <= WORKER_GOAL_MB else "over the goal"
        print(f"  {label:<22} peak {peak:5.1f} MB, settled {settled:5.1f} MB  {verdict}")


def _probe_memory(probe: str) -> tuple[float, float]:
    """VmHWM and VmRSS, in MB, of a fresh interpreter at the end of `probe`."""
    script = (
        "TEXTS = ['今天天气不错', '太失望了', '打卡'] * 2000\n"
        + probe
        + "status = dict(l.split(':', 1) for l in open('/proc/self/status').read().splitlines())\n"
        + "print(status['VmHWM'].split()[0], status['VmRSS'].split()[0])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=REPO
    )
    peak, settled = (int(v) / 1024 for v in out.stdout.split())
    return peak, settled


def main() -> None:
    binary = load_eval()
    stock, ours = SnowNLPModel(), default_model()
    world = load_world()
    real_text_section(stock, ours)
    footprint_section()
    if binary is not None:
        binary_section(stock, ours, binary)
    three_way_section(stock, ours, world)
    adaptation_section(ours, world, binary)
    learning_curve_section(ours)
    texts = [e.text for e in binary] if binary else [e.text for e in held_out_three_way()]
    one = cli_throughput(texts, 1)
    both = cli_throughput(texts, os.cpu_count() or 1)
    print()
    print(
        f"pingfan nlp score on {CLI_LINES:,} lines: {one:,.0f} lines/s with --jobs 1, "
        f"{both:,.0f} lines/s with --jobs {os.cpu_count()} ({both / one:.2f}x)"
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
