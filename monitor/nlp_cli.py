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
import select
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from monitor.config import Config, NlpConfig, load_config, resolve_config_path
from nlp.sentiment import Example, Model, label_for, load_model, read_examples

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
    try:
        model = load_model(spec)
    except (ValueError, OSError) as err:
        return _usage("score", f"cannot load model {spec!r}: {err}")
    jobs = args.jobs or os.cpu_count() or 1
    write = _stdout_writer()
    written = 0
    try:
        batches = line_batches(_stdin_blocks())
        for scored in score_batches(batches, spec, model, jobs):
            write(
                "".join(
                    format_record(text, p, nlp.neutral_low, nlp.neutral_high) for text, p in scored
                )
            )
            written += len(scored)
    except _StdinError as err:
        print(f"pingfan nlp score: cannot read stdin: {err}", file=sys.stderr)
        return EXIT_FAILED
    log.debug("scored %d lines with %s", written, model.version)
    return 0


def format_record(text: str, probability: float, neutral_low: float, neutral_high: float) -> str:
    """One output line: {"text", "score", "label"} as JSON, newline included."""
    label = label_for(probability, neutral_low, neutral_high)
    record = {"text": text, "score": round(probability, 4), "label": label}
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
    batches: Iterable[Batch], spec: str, model: Model, jobs: int
) -> Iterator[list[tuple[str, float]]]:
    """(text, P(positive)) lists in input order, holding at most a few chunks in memory.

    Full chunks go to `jobs` worker processes once two in a row show the input is bulk. A
    partial batch (the input paused or ended) first lets everything before it come out, then is
    scored here, so its answers are written at once.
    """
    pending: deque[tuple[list[str], Future[list[float]]]] = deque()
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
                        ProcessPoolExecutor(jobs, initializer=_init_worker, initargs=(spec,))
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
                yield list(zip(held, model.probabilities(held), strict=True))
                held = None
            while pending:
                done, future = pending.popleft()
                yield list(zip(done, future.result(), strict=True))
            if lines:
                yield list(zip(lines, model.probabilities(lines), strict=True))
        if held is not None:
            yield list(zip(held, model.probabilities(held), strict=True))
        while pending:
            done, future = pending.popleft()
            yield list(zip(done, future.result(), strict=True))


def _init_worker(spec: str) -> None:
    global _worker_model
    _worker_model = load_model(spec)


def _score_chunk(chunk: list[str]) -> list[float]:
    assert _worker_model is not None
    return _worker_model.probabilities(chunk)


# --- train ---------------------------------------------------------------------------------


def train_command(args: argparse.Namespace) -> int:
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
    log.info("training on %d base examples + %d team labels", len(base), len(team))
    report = train_model(team, version=version, base=base)
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
    }
    print(json.dumps(summary, ensure_ascii=False, indent=2))
    return 0


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
    with Store.open(config.storage.path) as store:
        return [Example(text, label) for text, label in store.labels()]
