import json
import subprocess
from pathlib import Path

import pytest

from tests.support.paths import REPO

PINGFAN = str(REPO / ".venv" / "bin" / "pingfan")


def run(args: list[str], stdin: bytes, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([PINGFAN, *args], input=stdin, capture_output=True, cwd=cwd)


def test_score_streams_one_object_per_line_in_order(tmp_path: Path) -> None:
    lines = ["致敬环卫工人[心]", "", "堵车堵死了[怒]", "   ", "普通的一句话"]
    result = run(["nlp", "score"], "\n".join(lines).encode() + b"\n", tmp_path)
    assert result.returncode == 0, result.stderr.decode()
    records = [json.loads(x) for x in result.stdout.decode().splitlines()]
    assert [r["text"] for r in records] == lines
    assert records[0]["label"] == "positive" and records[2]["label"] == "negative"
    assert records[1] == {
        "text": "",
        "score": 0.0,
        "label": "neutral",
        "probs": {"positive": 0.0, "neutral": 1.0, "negative": 0.0},
    }
    assert all(set(r) == {"text", "score", "label", "probs"} for r in records)
    for record in records:
        probs = record["probs"]
        assert set(probs) == {"positive", "neutral", "negative"}
        assert sum(probs.values()) == pytest.approx(1.0, abs=2e-4)
        assert record["score"] == probs["positive"]
        assert record["label"] == max(probs, key=probs.__getitem__)


def test_score_survives_invalid_utf8_and_no_trailing_newline(tmp_path: Path) -> None:
    result = run(["nlp", "score"], b"\xff\xfe bad bytes\n\xe5\xa5\xbd", tmp_path)
    assert result.returncode == 0
    records = [json.loads(x) for x in result.stdout.decode().splitlines()]
    assert len(records) == 2 and records[1]["text"] == "好"


def test_parallel_scoring_keeps_order_and_values(tmp_path: Path) -> None:
    texts = [f"第{i}条 {'太棒了' if i % 3 else '太差了'}" for i in range(5000)]
    payload = "\n".join(texts).encode()
    one = run(["nlp", "score", "--jobs", "1"], payload, tmp_path)
    two = run(["nlp", "score", "--jobs", "2"], payload, tmp_path)
    assert one.returncode == two.returncode == 0
    assert one.stdout == two.stdout
    assert [json.loads(x)["text"] for x in two.stdout.decode().splitlines()] == texts


def test_stock_snownlp_is_selectable(tmp_path: Path) -> None:
    result = run(["nlp", "score", "--model", "snownlp"], "很好\n".encode(), tmp_path)
    assert result.returncode == 0
    record = json.loads(result.stdout)
    assert 0 <= record["score"] <= 1
    assert sum(record["probs"].values()) == pytest.approx(1.0, abs=2e-4)


def test_missing_model_file_exits_2(tmp_path: Path) -> None:
    result = run(["nlp", "score", "--model", str(tmp_path / "none.gz")], b"x\n", tmp_path)
    assert result.returncode == 2
    assert b"cannot load model" in result.stderr


def test_train_writes_a_model_that_scores(tmp_path: Path) -> None:
    data = tmp_path / "labels.jsonl"
    rows = [
        {"text": "绝绝子下次还来", "label": "positive"},
        {"text": "拉胯得很", "label": "negative"},
    ]
    data.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows * 10))
    out = tmp_path / "m.json.gz"
    result = run(
        ["nlp", "train", "--data", str(data), "--out", str(out), "--base-limit", "400"],
        b"",
        tmp_path,
    )
    assert result.returncode == 0, result.stderr.decode()
    summary = json.loads(result.stdout)
    assert summary["team_examples"] == 20 and summary["held_out_team"]["n"] == 2
    scored = run(["nlp", "score", "--model", str(out)], "绝绝子\n拉胯\n".encode(), tmp_path)
    first, second = (json.loads(x)["score"] for x in scored.stdout.decode().splitlines())
    assert first > second


def test_train_bad_data_exits_2(tmp_path: Path) -> None:
    data = tmp_path / "bad.jsonl"
    data.write_text("not json\n")
    result = run(["nlp", "train", "--data", str(data), "--out", str(tmp_path / "m")], b"", tmp_path)
    assert result.returncode == 2 and b"bad.jsonl:1" in result.stderr


def test_train_from_db_uses_team_labels(tmp_path: Path) -> None:
    from monitor.store import Store

    (tmp_path / "config.toml").write_text('[storage]\npath = "p.db"\n', encoding="utf-8")
    with Store.open(tmp_path / "p.db") as store:
        for _ in range(5):
            store.labels.add_label("绝绝子", "positive", given_by="tg:1")
            store.labels.add_label("拉胯", "negative", given_by="tg:1")
    out = tmp_path / "m.json.gz"
    result = run(
        ["nlp", "train", "--from-db", "--out", str(out), "--base-limit", "300"], b"", tmp_path
    )
    assert result.returncode == 0, result.stderr.decode()
    assert json.loads(result.stdout)["team_examples"] == 10
