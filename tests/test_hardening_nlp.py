"""Issue 8, NLP items: bad arguments and bad labels are exit 2 and one line; score streams."""

from __future__ import annotations

import gzip
import json
import os
import random
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor import nlp_cli
from monitor.cli import main
from nlp.sentiment import LABELS, default_model
from nlp.training import FEW_PER_CLASS, MIN_LABELS_WITHOUT_BASE, MIN_TEAM_LABELS
from tests.support.paths import REPO

PINGFAN = str(REPO / ".venv" / "bin" / "pingfan")


def labels_file(tmp_path: Path, rows: list[dict[str, object]], name: str = "labels.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


def balanced(positive: int, negative: int) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    rows += ({"text": f"绝绝子{i}下次还来", "label": "positive"} for i in range(positive))
    rows += ({"text": f"拉胯{i}再也不来", "label": "negative"} for i in range(negative))
    return rows


def train(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["--log-level", "WARNING", "nlp", "train", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_line_exit_2(code: int, out: str, err: str, *fragments: str) -> str:
    assert code == 2, (out, err)
    assert "Traceback" not in out + err
    line = err.strip()
    assert line and "\n" not in line, err
    for fragment in fragments:
        assert fragment in line, (fragment, line)
    return line


@pytest.fixture
def no_training(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every refusal below must come before the (long) training run."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("training started")

    monkeypatch.setattr("nlp.training.train_model", refuse)


# --- 9. too few labels ------------------------------------------------------------------------


@pytest.mark.parametrize("count", [0, 1, MIN_TEAM_LABELS - 1])
def test_train_with_too_few_labels_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_training: None, count: int
) -> None:
    data = labels_file(tmp_path, balanced(count, 0))
    code, out, err = train(capsys, "--data", str(data), "--out", str(tmp_path / "m.json.gz"))
    one_line_exit_2(
        code, out, err, str(data), f"holds {count} label(s)", f"at least {MIN_TEAM_LABELS}"
    )
    assert not (tmp_path / "m.json.gz").exists()


@pytest.mark.parametrize(
    ("positive", "negative"),
    [(MIN_LABELS_WITHOUT_BASE, 0), (0, MIN_LABELS_WITHOUT_BASE), (5, 5)],
)
def test_train_without_base_data_needs_both_classes_and_enough_labels(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    no_training: None,
    positive: int,
    negative: int,
) -> None:
    data = labels_file(tmp_path, balanced(positive, negative))
    code, out, err = train(
        capsys, "--data", str(data), "--out", str(tmp_path / "m.gz"), "--base-limit", "0"
    )
    one_line_exit_2(code, out, err, "without base data", "positive and negative both")


def test_train_with_nothing_at_all_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_training: None
) -> None:
    code, out, err = train(capsys, "--out", str(tmp_path / "m.gz"), "--base-limit", "0")
    one_line_exit_2(code, out, err, "nothing to train on", "--data")


def test_train_warns_about_a_class_with_few_labels(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = labels_file(tmp_path, balanced(12, 3))
    out_path = tmp_path / "m.json.gz"
    code, out, err = train(
        capsys, "--data", str(data), "--out", str(out_path), "--base-limit", "200"
    )
    assert code == 0, err
    assert [line for line in err.strip().splitlines() if "warning" in line] == [
        f"pingfan nlp train: warning: few labels in {data} for negative (3); the model learns "
        f"little about such a class from the team's data ({FEW_PER_CLASS} or more each is better)"
    ]
    summary = json.loads(out)
    assert summary["team_examples"] == 15 and out_path.exists()


def test_train_on_team_labels_alone_reports_no_base_metrics(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = labels_file(tmp_path, balanced(15, 15))
    code, out, err = train(
        capsys, "--data", str(data), "--out", str(tmp_path / "m.gz"), "--base-limit", "0"
    )
    assert code == 0, err
    summary = json.loads(out)
    # No base data: nothing held out of it, and no "accuracy 0.0" pretending otherwise.
    assert summary["base_examples"] == 0 and summary["held_out_base"] is None
    assert summary["held_out_team"]["n"] == 3


# --- 10. text that is not a string ------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "fragment"),
    [
        ('{"text": 123, "label": "positive"}', "text must be a string, not a number"),
        ('{"text": null, "label": "negative"}', "text must be a string, not null"),
        ('{"text": ["a"], "label": "negative"}', "text must be a string, not a list"),
        ('{"text": "好", "label": "good"}', "label must be positive, neutral or negative"),
        ('{"text": "好", "label": ["positive"]}', "label must be positive, neutral or negative"),
        ('["好", "positive"]', "expected {'text', 'label'} JSON"),
        ('"just a string"', "expected {'text', 'label'} JSON"),
    ],
)
def test_label_file_with_a_bad_text_or_label_names_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_training: None, row: str, fragment: str
) -> None:
    data = tmp_path / "labels.jsonl"
    good = json.dumps({"text": "好", "label": "positive"})
    data.write_text(f"{good}\n\n{row}\n", encoding="utf-8")
    code, out, err = train(capsys, "--data", str(data), "--out", str(tmp_path / "m.gz"))
    line = one_line_exit_2(code, out, err, f"{data}:3:", fragment)
    if "text must" in fragment:
        assert "label must" not in line


def test_label_file_that_is_not_utf8_names_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_training: None
) -> None:
    data = tmp_path / "labels.jsonl"
    data.write_bytes(
        b'{"text": "ok", "label": "positive"}\n{"text": "\xff", "label": "negative"}\n'
    )
    code, out, err = train(capsys, "--data", str(data), "--out", str(tmp_path / "m.gz"))
    one_line_exit_2(code, out, err, f"{data}:2:", "UTF-8")


@pytest.mark.parametrize("kind", ["missing", "directory"])
def test_label_file_that_cannot_be_read_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_training: None, kind: str
) -> None:
    data = tmp_path / "nope.jsonl" if kind == "missing" else tmp_path
    code, out, err = train(capsys, "--data", str(data), "--out", str(tmp_path / "m.gz"))
    one_line_exit_2(code, out, err, f"cannot read --data {data}")


# --- 11. bad --base-limit, --jobs, --out ------------------------------------------------------


def test_negative_base_limit_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_training: None
) -> None:
    code, out, err = train(capsys, "--out", str(tmp_path / "m.gz"), "--base-limit", "-5")
    one_line_exit_2(code, out, err, "--base-limit must be 0", "not -5")


def test_negative_jobs_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["nlp", "score", "--jobs", "-2"])
    captured = capsys.readouterr()
    one_line_exit_2(code, captured.out, captured.err, "--jobs must be 0", "not -2")


@pytest.mark.parametrize("target", ["/proc/m.json.gz", "/dev/null/sub/m.json.gz"])
def test_unwritable_out_is_refused_before_training(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_training: None, target: str
) -> None:
    data = labels_file(tmp_path, balanced(10, 10))
    code, out, err = train(capsys, "--data", str(data), "--out", target)
    one_line_exit_2(code, out, err, f"cannot write --out {target}", "choose a writable path")


def test_out_that_is_a_directory_is_refused_before_training(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_training: None
) -> None:
    code, out, err = train(capsys, "--out", str(tmp_path))
    one_line_exit_2(code, out, err, "is a directory", str(tmp_path / "model.json.gz"))


def test_out_parent_directories_are_created(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_path = tmp_path / "models" / "new" / "m.json.gz"
    data = labels_file(tmp_path, balanced(10, 10))
    code, _, err = train(capsys, "--data", str(data), "--out", str(out_path), "--base-limit", "100")
    assert code == 0, err
    with gzip.open(out_path, "rt", encoding="utf-8") as model:
        assert json.load(model)["weights"]
    assert [p.name for p in out_path.parent.iterdir()] == ["m.json.gz"]  # no temporary left


def test_failed_save_keeps_the_older_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out_path = tmp_path / "m.json.gz"
    out_path.write_bytes(b"the older model")
    data = labels_file(tmp_path, balanced(10, 10))

    def disk_full(self: object, path: Path) -> None:
        Path(path).write_bytes(b"half a mod")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("nlp.sentiment.LinearModel.save", disk_full)
    code, out, err = train(
        capsys, "--data", str(data), "--out", str(out_path), "--base-limit", "100"
    )
    assert code == 1 and "Traceback" not in out + err
    assert err.strip() == f"pingfan nlp train: cannot write {out_path}: No space left on device"
    assert out_path.read_bytes() == b"the older model"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


# --- 12. score answers line by line -----------------------------------------------------------


def read_line(stream: int, deadline: float, buffer: bytearray) -> bytes:
    """One line from a pipe, or fail at the deadline (never hang the suite)."""
    while b"\n" not in buffer:
        left = deadline - time.monotonic()
        assert left > 0, f"no answer in time; got {bytes(buffer)!r}"
        ready, _, _ = select.select([stream], [], [], left)
        if ready:
            chunk = os.read(stream, 65536)
            assert chunk, "pingfan nlp score closed its output"
            buffer.extend(chunk)
    line, _, rest = bytes(buffer).partition(b"\n")
    buffer[:] = rest
    return line


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_score_answers_each_line_before_the_next_arrives(tmp_path: Path, jobs: str) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "monitor.cli", "nlp", "score", "--jobs", jobs],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert process.stdin is not None and process.stdout is not None
    buffer = bytearray()
    try:
        texts = ["致敬环卫工人[心]", "堵车堵死了[怒]", "", "普通的一句话"]
        for index, text in enumerate(texts):
            process.stdin.write(text.encode("utf-8") + b"\n")
            process.stdin.flush()
            # The first answer includes interpreter and model start-up.
            deadline = time.monotonic() + (20 if index == 0 else 5)
            record = json.loads(read_line(process.stdout.fileno(), deadline, buffer))
            assert record["text"] == text and record["label"] in LABELS
        process.stdin.close()
        assert process.wait(timeout=10) == 0
        assert process.stdout.read() == b""
        assert process.stderr is not None and b"Traceback" not in process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_line_batches_answer_at_each_pause_and_fill_full_chunks() -> None:
    blocks = [
        (b"a\r\nb\nc", False),  # "c" is not a line yet
        (b"\n\xe5", False),  # half a character
        (b"\xa5\xbd\nd\ne\n", True),  # ... completed; the input pauses here
        (b"f\ng\nh\n", False),
        (b"i", False),  # no newline before the end
    ]
    batches = list(nlp_cli.line_batches(blocks, size=2))
    assert batches == [
        (["a", "b"], True),
        (["c", "好"], True),
        (["d", "e"], True),
        ([], False),  # the pause: answer everything so far
        (["f", "g"], True),
        (["h", "i"], False),
    ]


def test_line_batches_answer_trickling_input_within_the_hold_time() -> None:
    now = [0.0]

    def trickle() -> Iterator[tuple[bytes, bool]]:
        for i in range(6):
            now[0] = i * 0.2  # a line every 0.2 s: never a pause, but the first must not wait
            yield f"{i}\n".encode(), False

    batches = list(nlp_cli.line_batches(trickle(), size=100, clock=lambda: now[0]))
    assert nlp_cli.MAX_HOLD_SECONDS == 0.5
    assert batches == [(["0", "1", "2", "3"], False), (["4", "5"], False)]


def test_score_batches_keep_order_across_pool_and_pauses() -> None:
    model = default_model()
    texts = [f"第{i}条 {'太棒了' if i % 3 else '太差了'}" for i in range(23)]
    batches = [
        (texts[0:5], True),
        (texts[5:10], True),
        (texts[10:15], True),
        (texts[15:17], False),  # a pause after bulk: the pool's work comes out first
        (texts[17:22], True),
        (texts[22:], False),
    ]
    scored = [
        pair for batch in nlp_cli.score_batches(batches, "default", model, 2) for pair in batch
    ]
    assert [text for text, _ in scored] == texts
    assert [p for _, p in scored] == model.predict(texts)


# --- property: random bytes through score -----------------------------------------------------


def expected_lines(data: bytes) -> list[str]:
    text = data.decode("utf-8", errors="replace")
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r") for line in lines]


@settings(max_examples=150)
@given(
    st.lists(st.tuples(st.binary(max_size=40), st.booleans()), max_size=8),
    st.integers(min_value=1, max_value=5),
)
def test_random_bytes_through_score_give_one_record_per_line(
    blocks: list[tuple[bytes, bool]], size: int
) -> None:
    model = default_model()
    data = b"".join(block for block, _ in blocks)
    batches = nlp_cli.line_batches(blocks, size=size)
    out = "".join(
        nlp_cli.format_record(text, p)
        for batch in nlp_cli.score_batches(batches, "default", model, 1)
        for text, p in batch
    )
    records = [json.loads(line) for line in out.split("\n")[:-1]]
    assert [r["text"] for r in records] == expected_lines(data)
    assert all(0 <= r["score"] <= 1 and r["label"] in LABELS for r in records)
    assert all(set(r["probs"]) == set(LABELS) for r in records)


def test_random_bytes_through_the_score_command(tmp_path: Path) -> None:
    data = random.Random(5).randbytes(60_000)
    result = subprocess.run(
        [PINGFAN, "nlp", "score"], input=data, capture_output=True, cwd=tmp_path, timeout=60
    )
    assert result.returncode == 0 and b"Traceback" not in result.stderr
    records = [json.loads(line) for line in result.stdout.decode("utf-8").split("\n")[:-1]]
    assert [r["text"] for r in records] == expected_lines(data)
