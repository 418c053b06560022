"""`pingfan nlp score` and `pingfan nlp train`: streaming, order-preserving, multi-core.

`score` answers each line as soon as it can: stdin is read as it arrives, and whenever no more
input is waiting (a pipe that delivers a line at a time, a terminal), the lines read so far are
scored and written out at once. Bulk input (a file, a fast pipe) goes in chunks of CHUNK_LINES
to worker processes, still in input order.

Bad arguments are exit code 2 with one line on stderr, found before any work starts: an
unwritable `--out` is reported before the training run, not after it, and the model is written
next to its destination first and moved into place, so a failed run never destroys an older
model file.
"""

from __future__ import annotations

import argparse
import codecs
import contextlib
import json
import logging
import os
import random
import re
import select
import sys
import tempfile
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, Literal

from monitor.config import Config, NlpConfig, load_config, resolve_config_path
from nlp.active import choose
from nlp.search_tokens import jieba_search_tokens
from nlp.sentiment import Example, Label, Model, Probs, load_model, read_examples
from nlp.text import EMOTICON, normalize

log = logging.getLogger(__name__)

EXIT_FAILED = 1
EXIT_USAGE = 2
CHUNK_LINES = 2000
READ_BYTES = 1 << 16
# After each read, how long to wait for more input before answering what has been read.
PAUSE_SECONDS = 0.02
# Lines that keep trickling in are answered at least this often, full chunk or not.
MAX_HOLD_SECONDS = 0.5
_worker_model: Model | None = None

Block = tuple[bytes, bool]  # bytes read, and whether no more input was waiting after them
Batch = tuple[list[str], bool]  # lines, and whether this is a full chunk of CHUNK_LINES


def run_nlp(args: argparse.Namespace) -> int:
    if args.nlp_command == "score":
        return score_command(args)
    if args.nlp_command == "label":
        return label_command(args)
    if args.nlp_command == "adapt":
        return adapt_command(args)
    return train_command(args)


def _usage(command: str, message: str) -> int:
    print(f"pingfan nlp {command}: {message}", file=sys.stderr)
    return EXIT_USAGE


def _optional_config(args: argparse.Namespace) -> Config | None:
    """Scoring works without a config file; when one is given or present, its [nlp] counts."""
    path = resolve_config_path(args.config)
    if args.config or path.exists():
        return load_config(path)
    return None


# --- score ---------------------------------------------------------------------------------


def score_command(args: argparse.Namespace) -> int:
    if args.jobs < 0:
        return _usage(
            "score", f"--jobs must be 0 (all cores) or a number of processes, not {args.jobs}"
        )
    config = _optional_config(args)
    nlp = config.nlp if config else NlpConfig()
    spec = args.model or nlp.model
    band = (nlp.neutral_low, nlp.neutral_high)  # for a two-class model (snownlp) only
    try:
        model = load_model(spec, neutral_low=band[0], neutral_high=band[1])
    except (ValueError, OSError) as err:
        return _usage("score", f"cannot load model {spec!r}: {err}")
    jobs = args.jobs or os.cpu_count() or 1
    write = _stdout_writer()
    written = 0
    try:
        batches = line_batches(_stdin_blocks())
        for scored in score_batches(batches, spec, model, jobs, band):
            write("".join(format_record(text, p) for text, p in scored))
            written += len(scored)
    except _StdinError as err:
        print(f"pingfan nlp score: cannot read stdin: {err}", file=sys.stderr)
        return EXIT_FAILED
    log.debug("scored %d lines with %s", written, model.version)
    return 0


def format_record(text: str, probs: Probs) -> str:
    """One output line, newline included: {"text", "score": P(positive), "label",
    "probs": {"positive", "neutral", "negative"}} as JSON."""
    record = {
        "text": text,
        "score": round(probs.positive, 4),
        "label": probs.label,
        "probs": probs.as_dict(),
    }
    return json.dumps(record, ensure_ascii=False) + "\n"


def _stdout_writer() -> Callable[[str], None]:
    """Write and flush at once; UTF-8 whatever the locale says, when stdout has a byte layer."""
    stream = sys.stdout
    binary: BinaryIO | None = getattr(stream, "buffer", None)

    def write(text: str) -> None:
        if binary is not None:
            stream.flush()
            binary.write(text.encode("utf-8"))
            binary.flush()
        else:
            stream.write(text)
            stream.flush()

    return write


class _StdinError(Exception):
    """Reading stdin failed (closed, or not readable)."""


def _stdin_blocks() -> Iterator[Block]:
    """Bytes from stdin as they arrive, each with `paused`: no further input is waiting."""
    try:
        fd = sys.stdin.fileno()
    except (AttributeError, OSError, ValueError):
        fd = -1
    if fd < 0:
        # No file descriptor (stdin replaced in-process): read what there is, in order.
        stream = getattr(sys.stdin, "buffer", None)
        if stream is not None:
            while data := stream.read1(READ_BYTES):
                yield data, False
        return
    interactive = os.isatty(fd)
    while True:
        try:
            data = os.read(fd, READ_BYTES)
        except OSError as err:
            raise _StdinError(err.strerror or str(err)) from err
        if not data:
            return
        yield data, interactive or not _input_waiting(fd)


def _input_waiting(fd: int) -> bool:
    try:
        ready, _, _ = select.select([fd], [], [], PAUSE_SECONDS)
    except (OSError, ValueError):
        return False  # cannot tell: answer what is there, which is always correct
    return bool(ready)


def line_batches(
    blocks: Iterable[Block],
    size: int = CHUNK_LINES,
    *,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[Batch]:
    """Lines of UTF-8 text in batches, in order.

    A line ends at "\\n" (a "\\r" before it is dropped); invalid UTF-8 is replaced, never
    fatal; a last line without "\\n" still counts. A batch is `size` lines (full), or the lines
    read so far, possibly none, when the input pauses, has trickled for MAX_HOLD_SECONDS, or
    ends (not full): the signal to answer everything read until then.
    """
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    partial = ""
    lines: list[str] = []
    since: float | None = None
    for data, paused in blocks:
        pieces = (partial + decoder.decode(data)).split("\n")
        partial = pieces.pop()
        for piece in pieces:
            lines.append(piece.removesuffix("\r"))
            if len(lines) == size:
                yield lines, True
                lines = []
        if not lines:
            since = None
        elif since is None:
            since = clock()
        if paused or (since is not None and clock() - since >= MAX_HOLD_SECONDS):
            yield lines, False
            lines, since = [], None
    tail = partial + decoder.decode(b"", final=True)
    if tail:
        lines.append(tail.removesuffix("\r"))
    if lines:
        yield lines, False


def score_batches(
    batches: Iterable[Batch],
    spec: str,
    model: Model,
    jobs: int,
    band: tuple[float, float] = (0.4, 0.6),
) -> Iterator[list[tuple[str, Probs]]]:
    """(text, probabilities) lists in input order, holding at most a few chunks in memory.

    Full chunks go to `jobs` worker processes once two in a row show the input is bulk. A
    partial batch (the input paused or ended) first lets everything before it come out, then is
    scored here, so its answers are written at once.
    """
    pending: deque[tuple[list[str], Future[list[Probs]]]] = deque()
    held: list[str] | None = None  # a first full chunk, until we know whether a pool pays off
    with contextlib.ExitStack() as stack:
        pool: ProcessPoolExecutor | None = None
        for lines, full in batches:
            if full and jobs > 1:
                if pool is None and held is None:
                    held = lines
                    continue
                if pool is None:
                    pool = stack.enter_context(
                        ProcessPoolExecutor(jobs, initializer=_init_worker, initargs=(spec, band))
                    )
                if held is not None:
                    pending.append((held, pool.submit(_score_chunk, held)))
                    held = None
                pending.append((lines, pool.submit(_score_chunk, lines)))
                while len(pending) >= 2 * jobs:
                    done, future = pending.popleft()
                    yield list(zip(done, future.result(), strict=True))
                continue
            if held is not None:
                yield list(zip(held, model.predict(held), strict=True))
                held = None
            while pending:
                done, future = pending.popleft()
                yield list(zip(done, future.result(), strict=True))
            if lines:
                yield list(zip(lines, model.predict(lines), strict=True))
        if held is not None:
            yield list(zip(held, model.predict(held), strict=True))
        while pending:
            done, future = pending.popleft()
            yield list(zip(done, future.result(), strict=True))


def _init_worker(spec: str, band: tuple[float, float] = (0.4, 0.6)) -> None:
    global _worker_model
    _worker_model = load_model(spec, neutral_low=band[0], neutral_high=band[1])


def _score_chunk(chunk: list[str]) -> list[Probs]:
    assert _worker_model is not None
    return _worker_model.predict(chunk)


# --- train ---------------------------------------------------------------------------------


def train_command(args: argparse.Namespace) -> int:
    from nlp.realtext import human_examples
    from nlp.training import TrainingDataError, base_examples, check_training_data, train_model

    if args.base_limit is not None and args.base_limit < 0:
        return _usage(
            "train",
            f"--base-limit must be 0 (the team's labels only) or a number of base examples, "
            f"not {args.base_limit}",
        )
    if not args.out:
        return _usage("train", "--out needs a file name, e.g. --out models/team.json.gz")
    out = Path(args.out)
    problem = _unwritable(out)
    if problem:
        return _usage("train", problem)
    team: list[Example] = []
    sources = []
    if args.data:
        sources.append(str(args.data))
        try:
            team.extend(read_examples(args.data))
        except OSError as err:
            return _usage("train", f"cannot read --data {args.data}: {err.strerror or err}")
        except ValueError as err:
            return _usage("train", str(err))
    if args.from_db:
        sources.append("the database's labels")
        team.extend(_labels_from_db(args))
    labels_from = " and ".join(sources) if sources else None
    if args.base_limit == 0:
        base: list[Example] = []
    else:
        base = base_examples()
        if args.base_limit is not None and args.base_limit < len(base):
            base = random.Random(7).sample(base, args.base_limit)
    try:
        warnings = check_training_data(team, base, labels_from=labels_from)
    except TrainingDataError as err:
        return _usage("train", str(err))
    for warning in warnings:
        print(f"pingfan nlp train: warning: {warning}", file=sys.stderr)
    version = args.version_name or "pingfan-trained-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    current = _current_model(args)
    log.info("training on %d base examples + %d team labels", len(base), len(team))
    # The base data holds the LCCC train split: calibrate on its hand-labelled dev split.
    dev = human_examples("dev") if base else None
    report = train_model(team, version=version, base=base, current=current, calibration_dev=dev)
    try:
        _save_atomically(report.model.save, out)
    except OSError as err:
        print(f"pingfan nlp train: cannot write {out}: {err.strerror or err}", file=sys.stderr)
        return EXIT_FAILED
    summary = {
        "model": str(out),
        "version": version,
        "base_examples": report.n_base,
        "team_examples": report.n_team,
        "held_out_base": report.held_out_base.as_dict() if report.held_out_base else None,
        "held_out_team": report.held_out_team.as_dict() if report.held_out_team else None,
        "before_team": report.before_team.as_dict() if report.before_team else None,
    }
    print(json.dumps(summary, ensure_ascii=False, indent=2))
    if report.held_out_team:
        # For people: per class, the model in use and the new one on the same held-out labels.
        if report.before_team and current is not None:
            print(report.before_team.table(f"before ({current.version})"), file=sys.stderr)
        print(report.held_out_team.table(f"after ({version})"), file=sys.stderr)
    if report.n_team:
        print(
            f"pingfan nlp train: wrote {out}; the monitor keeps its model until you set "
            f'[nlp] model = "{out}" in the config',
            file=sys.stderr,
        )
    return 0


def _current_model(args: argparse.Namespace) -> Model | None:
    """The model the config names (the shipped one without a config), to compare with."""
    try:
        config = _optional_config(args)
        return load_model(config.nlp.model if config else "default")
    except (ValueError, OSError):
        return None


def _unwritable(out: Path) -> str | None:
    """Why the model could not be written to `out`, found before training; None if it can."""
    if out.is_dir():
        return (
            f"--out {out} is a directory; name the model file, e.g. --out {out / 'model.json.gz'}"
        )
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp"):
            pass
    except OSError as err:
        return (
            f"cannot write --out {out}: no file can be created in {out.parent} "
            f"({err.strerror or err}); choose a writable path"
        )
    return None


def _save_atomically(save: Callable[[Path], None], out: Path) -> None:
    """Write next to `out`, then move into place: an older model there survives a failure."""
    temporary = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        save(temporary)
        os.replace(temporary, out)
    finally:
        temporary.unlink(missing_ok=True)


def _labels_from_db(args: argparse.Namespace) -> list[Example]:
    from monitor.store import Store

    config = load_config(resolve_config_path(args.config))
    with Store.for_config(config, search_tokens=jieba_search_tokens, enroll=False) as store:
        store.read_campaign(config.campaign.id)  # its labels train it; another's never do
        return [Example(text, label) for text, label in store.labels.labels()]


# --- label ---------------------------------------------------------------------------------

LABEL_KEYS: dict[str, Label] = {"1": "positive", "2": "neutral", "3": "negative"}
LABEL_NAMES = {"positive": "正面 positive", "neutral": "中性 neutral", "negative": "负面 negative"}
PROMPT = "1 正面  2 中性  3 负面  s 跳过  q 退出 > "
CANDIDATES_PER_LABEL = 20  # uncertain comments read per comment asked about, to spread them
CHOSEN_PER_LABEL = 3  # of those, chosen for uncertainty and diversity (nlp.active)
KNOWN_LABELS = 300  # the newest team labels a new question should be unlike
_SAME_TEXT = re.compile(r"[\W_]+")  # "+1 love it!!" and "+1 love it。[心]" ask one question


def label_command(args: argparse.Namespace) -> int:
    """Ask about the stored comments that teach the model most (uncertain, and unlike each
    other and the team's last labels: `teaching_order`); store the answers."""
    from monitor.store import Store

    wanted = getattr(args, "n", 50)
    if wanted < 1:
        return _usage("label", f"--n must be 1 or more, not {wanted}")
    config = load_config(resolve_config_path(args.config))
    given_by = "cli:" + (os.environ.get("USER") or os.environ.get("LOGNAME") or "team")
    counts: dict[str, int] = dict.fromkeys(LABEL_KEYS.values(), 0)
    with Store.for_config(config, search_tokens=jieba_search_tokens, enroll=False) as store:
        store.read_campaign(config.campaign.id)  # its labels train it; another's never do
        rows = spread_candidates(
            teaching_order(
                store.reports.uncertain_comments(wanted * CANDIDATES_PER_LABEL),
                wanted * CHOSEN_PER_LABEL,
                known=[text for text, _ in store.labels.labels()[-KNOWN_LABELS:]],
            ),
            wanted,
        )
        if not rows:
            print(
                "pingfan nlp label: no scored comments to label yet "
                "(collect some with `pingfan collect --once`)"
            )
            return 0
        print(
            f"{len(rows)} comments the model is unsure about, each unlike the others; "
            f"answer 1/2/3, s to skip, q to stop"
        )
        for number, row in enumerate(rows, 1):
            answer = _ask(number, len(rows), row)
            if answer is None:
                break
            if answer == "skip":
                continue
            store.labels.add_label(
                row["text"],
                answer,
                platform=row["platform"],
                comment_id=row["id"],
                given_by=given_by,
            )
            counts[answer] += 1
        total_labels = len(store.labels.labels())
    stored = sum(counts.values())
    split = ", ".join(f"{n} {label}" for label, n in counts.items())
    print(f"stored {stored} label(s) ({split}); the database holds {total_labels} in all")
    if stored:
        print("train with them: pingfan nlp train --from-db --out models/team.json.gz")
    return 0


def _ask(number: int, total: int, row: dict[str, Any]) -> Label | Literal["skip"] | None:
    """One comment on the terminal; the answer, "skip", or None to stop (q or end of input)."""
    probs = _row_probs(row)
    guess = " / ".join(
        f"{LABEL_NAMES[label].split()[0]} {value:.0%}"
        for label, value in sorted(zip(LABEL_NAMES, probs, strict=True), key=lambda item: -item[1])
    )
    print(
        f"\n[{number}/{total}] {row['platform']} 帖子 {row['post_id']}  "
        f"{row['created_at'][:10]}  模型：{guess}"
    )
    print("  " + " ".join(row["text"].split()))
    while True:
        print(PROMPT, end="", flush=True)
        line = sys.stdin.readline()
        if not line:
            print()
            return None
        answer = line.strip().lower()
        if answer in LABEL_KEYS:
            return LABEL_KEYS[answer]
        if answer in ("s", "skip"):
            return "skip"
        if answer in ("q", "quit", "exit"):
            return None
        print("  1、2、3、s 或 q (1/2/3, s or q)")


def teaching_order(rows: list[dict[str, Any]], k: int, *, known: list[str]) -> list[dict[str, Any]]:
    """Up to `k` of the scored `rows`, in the order that teaches the model most
    (`nlp.active.choose`: uncertain, unlike each other and unlike the `known` labelled texts)."""
    probs = [_row_probs(row) for row in rows]
    return [rows[i] for i in choose([r["text"] for r in rows], probs, k, known=known)]


def _row_probs(row: dict[str, Any]) -> Probs:
    """A stored comment's probabilities (a two-class score: P(positive) and its complement)."""
    if row["p_negative"] is None:
        return Probs(row["sentiment"], 0.0, 1.0 - row["sentiment"])
    return Probs(row["sentiment"], row["p_neutral"] or 0.0, row["p_negative"])


def spread_candidates(rows: list[dict[str, Any]], wanted: int) -> list[dict[str, Any]]:
    """Up to `wanted` of `rows` (in the order to ask), spread over posts and days: each pass
    lets a post and a day hold a few more, so one busy thread or day cannot fill the list.
    A text already chosen (copy-paste, "+1"), punctuation and emoticons aside, is not asked
    about twice."""
    days = {row["created_at"][:10] for row in rows}
    per_day = max(1, -(-wanted // max(len(days), 1)))
    chosen: list[dict[str, Any]] = []
    taken: set[tuple[str, str]] = set()
    texts: set[str] = set()
    cap = 1
    while len(chosen) < wanted and len(taken) < len(rows):
        by_post = Counter((r["platform"], r["post_id"]) for r in chosen)
        by_day = Counter(r["created_at"][:10] for r in chosen)
        for row in rows:
            if len(chosen) >= wanted:
                break
            key = (row["platform"], row["id"])
            text = _SAME_TEXT.sub("", EMOTICON.sub("", normalize(row["text"])))
            if key in taken:
                continue
            if text in texts:
                taken.add(key)
                continue
            post, day = (row["platform"], row["post_id"]), row["created_at"][:10]
            if by_post[post] >= cap or by_day[day] >= per_day * cap:
                continue
            chosen.append(row)
            taken.add(key)
            texts.add(text)
            by_post[post] += 1
            by_day[day] += 1
        cap *= 2
    return chosen


# --- adapt ---------------------------------------------------------------------------------

ADAPT_COMMENTS = 20_000  # the newest stored comments read as unlabelled in-domain text


def adapt_command(args: argparse.Namespace) -> int:
    """Domain adaptation on the stored comments, without labels: comments whose emoticons and
    emoji clearly lean one way join the base data as weak labels (`nlp.training.adapt`).
    Reports what that changed on the team's labelled comments and on the stored comments'
    labels; writes the model with --out."""
    from monitor.store import Store
    from nlp.training import adapt, evaluate

    out = Path(args.out) if getattr(args, "out", None) else None
    if out is not None and (problem := _unwritable(out)):
        return _usage("adapt", problem)
    config = load_config(resolve_config_path(args.config))
    try:
        current = load_model(config.nlp.model)
    except (ValueError, OSError) as err:
        return _usage("adapt", f"cannot load model {config.nlp.model!r}: {err}")
    with Store.for_config(config, search_tokens=jieba_search_tokens, enroll=False) as store:
        store.read_campaign(config.campaign.id)  # its labels train it; another's never do
        texts = store.reports.comment_texts_for_adaptation(ADAPT_COMMENTS)
        labelled = [Example(text, label) for text, label in store.labels.labels()]
    if not texts:
        print("pingfan nlp adapt: no stored comments to adapt to; collect some first")
        return 0
    version = "pingfan-adapted-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    result = adapt(current, texts, version=version)
    before = [p.label for p in current.predict(texts)]
    after = [p.label for p in result.model.predict(texts)]
    changed = Counter((b, a) for b, a in zip(before, after, strict=True) if b != a)
    print(
        f"adapting to {len(texts)} stored comments: {result.pseudo_labels} weak labels from "
        f"their emoticons and emoji added as examples "
        f"({', '.join(f'{n} {label}' for label, n in result.per_class.items())})"
    )
    moves = ", ".join(f"{b}→{a} {n}" for (b, a), n in changed.most_common())
    print(
        f"labels changed on {sum(changed.values())} of {len(texts)} stored comments"
        + (f": {moves}" if moves else "")
    )
    if labelled:
        print(evaluate(current, labelled).table(f"before ({current.version})"))
        print(evaluate(result.model, labelled).table(f"after ({version})"))
        print(
            f"(on the team's {len(labelled)} labelled comments; the adapted model saw their "
            f"texts unlabelled at most)"
        )
    else:
        print("no team labels to measure on: label some with `pingfan nlp label`")
    if out is not None:
        try:
            _save_atomically(result.model.save, out)
        except OSError as err:
            print(f"pingfan nlp adapt: cannot write {out}: {err.strerror or err}", file=sys.stderr)
            return EXIT_FAILED
        print(f'wrote {out}; to use it set [nlp] model = "{out}" in the config')
    return 0
