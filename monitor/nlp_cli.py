"""`pingfan nlp score` and `pingfan nlp train`: streaming, order-preserving, multi-core."""

from __future__ import annotations

import argparse
import io
import itertools
import json
import logging
import os
import sys
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from monitor.config import Config, NlpConfig, load_config, resolve_config_path
from nlp.sentiment import Example, Model, label_for, load_model, read_examples

log = logging.getLogger(__name__)

CHUNK_LINES = 2000
_worker_model: Model | None = None


def run_nlp(args: argparse.Namespace) -> int:
    if args.nlp_command == "score":
        return score_command(args)
    return train_command(args)


def _optional_config(args: argparse.Namespace) -> Config | None:
    """Scoring works without a config file; when one is given or present, its [nlp] counts."""
    path = resolve_config_path(args.config)
    if args.config or path.exists():
        return load_config(path)
    return None


def score_command(args: argparse.Namespace) -> int:
    config = _optional_config(args)
    nlp = config.nlp if config else NlpConfig()
    spec = args.model or nlp.model
    try:
        model = load_model(spec)
    except (ValueError, OSError) as err:
        print(f"pingfan nlp score: cannot load model {spec!r}: {err}", file=sys.stderr)
        return 2
    jobs = args.jobs or os.cpu_count() or 1
    lines = _stdin_lines()
    out = sys.stdout
    written = 0
    for text, probability in score_stream(lines, spec, model, jobs):
        label = label_for(probability, nlp.neutral_low, nlp.neutral_high)
        record = {"text": text, "score": round(probability, 4), "label": label}
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        written += 1
    out.flush()
    log.debug("scored %d lines with %s", written, model.version)
    return 0


def _stdin_lines() -> Iterator[str]:
    # Invalid UTF-8 is replaced, never fatal; one output line per input line, always.
    stream = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace", newline=None)
    for line in stream:
        yield line.rstrip("\n")


def score_stream(
    lines: Iterable[str], spec: str, model: Model, jobs: int
) -> Iterator[tuple[str, float]]:
    """(text, P(positive)) in input order, holding at most a few chunks in memory."""
    chunks = _chunks(lines, CHUNK_LINES)
    first = next(chunks, None)
    if first is None:
        return
    second = next(chunks, None)
    if second is None or jobs <= 1:
        # Small input or one core: no worker start-up cost.
        for chunk in itertools.chain([first], [second] if second else [], chunks):
            yield from zip(chunk, model.probabilities(chunk), strict=True)
        return
    with ProcessPoolExecutor(jobs, initializer=_init_worker, initargs=(spec,)) as pool:
        pending: deque[tuple[list[str], Future[list[float]]]] = deque()
        for chunk in itertools.chain([first, second], chunks):
            pending.append((chunk, pool.submit(_score_chunk, chunk)))
            if len(pending) >= 2 * jobs:
                done_chunk, future = pending.popleft()
                yield from zip(done_chunk, future.result(), strict=True)
        while pending:
            done_chunk, future = pending.popleft()
            yield from zip(done_chunk, future.result(), strict=True)


def _chunks(lines: Iterable[str], size: int) -> Iterator[list[str]]:
    iterator = iter(lines)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def _init_worker(spec: str) -> None:
    global _worker_model
    _worker_model = load_model(spec)


def _score_chunk(chunk: list[str]) -> list[float]:
    assert _worker_model is not None
    return _worker_model.probabilities(chunk)


def train_command(args: argparse.Namespace) -> int:
    from nlp.training import train_model

    team: list[Example] = []
    try:
        if args.data:
            team.extend(read_examples(args.data))
    except (OSError, ValueError) as err:
        print(f"pingfan nlp train: {err}", file=sys.stderr)
        return 2
    if args.from_db:
        team.extend(_labels_from_db(args))
    version = args.version_name or "pingfan-trained-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    log.info("training on base data + %d team labels", len(team))
    base = None
    if args.base_limit:
        import random

        from nlp.training import base_examples

        everything = base_examples()
        base = random.Random(7).sample(everything, min(args.base_limit, len(everything)))
    report = train_model(team, version=version, base=base)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    report.model.save(out)
    summary = {
        "model": str(out),
        "version": version,
        "base_examples": report.n_base,
        "team_examples": report.n_team,
        "held_out_base": report.held_out_base.as_dict(),
        "held_out_team": report.held_out_team.as_dict() if report.held_out_team else None,
    }
    print(json.dumps(summary, ensure_ascii=False, indent=2))
    return 0


def _labels_from_db(args: argparse.Namespace) -> list[Example]:
    from monitor.store import Store

    config = load_config(resolve_config_path(args.config))
    with Store.open(config.storage.path) as store:
        return [Example(text, label) for text, label in store.labels()]
