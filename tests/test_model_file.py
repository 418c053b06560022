"""The streaming model-file reader reads what json.load reads, and refuses what is malformed."""

from __future__ import annotations

import gzip
import itertools
import json
import tempfile
from importlib import resources
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nlp.model_file import (
    NameColumn,
    parse_model_chunks,
    parse_model_text,
    read_model_file,
    read_model_header,
)
from nlp.sentiment import (
    DEFAULT_MODEL_FILE,
    LinearModel,
    ModelSummary,
    PackedWeights,
    load_model,
    model_summary,
)

_number = st.floats(allow_nan=False, allow_infinity=False, width=32) | st.integers(-5, 5)
_weights = st.dictionaries(st.text(max_size=6), st.lists(_number, min_size=3, max_size=3))
_fields = st.dictionaries(
    st.text(max_size=8).filter(lambda k: k != "weights"),
    st.none() | st.booleans() | _number | st.text(max_size=5) | st.lists(_number, max_size=3),
    max_size=4,
)


@given(_fields, _weights, st.sampled_from([None, 2]), st.booleans())
def test_reads_what_json_load_reads(fields: dict, weights: dict, indent: int | None,
                                    weights_first: bool) -> None:  # fmt: skip
    document = {"weights": weights, **fields} if weights_first else {**fields, "weights": weights}
    text = json.dumps(document, ensure_ascii=False, indent=indent)
    model = parse_model_text(text)
    assert model.fields == fields
    assert model.names == list(weights)
    assert list(model.weights) == [float(v) for values in weights.values() for v in values]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "[]",
        '{"weights": [1, 2, 3]}',
        '{"weights": {"好": [1, 2]}}',
        '{"weights": {"好": [1, 2, "x"]}}',
        '{"weights": {"好": [1, 2, true]}}',
        '{"a": 1,}',
        '{"a": 1} trailing',
        '{"a" 1}',
        '{"weights": {"好": [1, 2, 3]',
    ],
)
def test_malformed_text_is_a_value_error(text: str) -> None:
    with pytest.raises(ValueError):
        parse_model_text(text)


def test_a_name_given_twice_keeps_its_last_weights() -> None:
    model = parse_model_text('{"weights": {"好": [1, 1, 1], "差": [0, 0, 1], "好": [2, 2, 2]}}')
    packed = PackedWeights.from_columns(model.names, model.weights)
    assert packed.get("好") == (2.0, 2.0, 2.0) and packed.get("差") == (0.0, 0.0, 1.0)
    assert len(packed) == 2


def test_the_default_model_loads_the_same_as_through_json_load(tmp_path: Path) -> None:
    from importlib import resources

    source = resources.files("nlp").joinpath("data/sentiment-default.json.gz")
    with source.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as text:
        payload = json.load(text)
    loaded = load_model("default")
    assert isinstance(loaded, LinearModel)
    assert loaded.weights == PackedWeights(payload["weights"])
    assert loaded.bias == tuple(payload["bias"]) and loaded.version == payload["version"]
    # and a pretty-printed copy of the same file loads to the same model
    pretty = tmp_path / "pretty.json.gz"
    with gzip.open(pretty, "wt", encoding="utf-8") as out:
        json.dump(payload, out, ensure_ascii=False, indent=1)
    assert LinearModel.load(pretty).weights == loaded.weights


def test_a_model_without_bias_is_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "m.json.gz"
    with gzip.open(path, "wt", encoding="utf-8") as out:
        json.dump({"format": "pingfan-sentiment/2", "version": "x", "weights": {}}, out)
    with pytest.raises(ValueError, match="without its bias or version"):
        LinearModel.load(path)


# --- the header: what a digest or /status needs, without the weights -------------------------


def _write(path: Path, document: dict, indent: int | None = None) -> Path:
    with gzip.open(path, "wt", encoding="utf-8") as out:
        json.dump(document, out, ensure_ascii=False, indent=indent)
    return path


@settings(max_examples=60, deadline=None)
@given(_fields, _weights, st.sampled_from([None, 2]), st.integers(0, 3))
def test_the_header_is_every_field_before_the_weights(
    fields: dict, weights: dict, indent: int | None, where: int
) -> None:
    items = list(fields.items())
    document = dict([*items[:where], ("weights", weights), *items[where:]])
    with tempfile.TemporaryDirectory() as folder:
        path = _write(Path(folder) / "m.json.gz", document, indent)
        assert read_model_header(path) == dict(items[:where])
        assert read_model_file(path).fields == fields


def test_a_header_longer_than_one_read_is_read_on(tmp_path: Path) -> None:
    # fields of 200 KB before the weights: past the first 64 KB read, and a number cut there
    metrics = {f"m{n}": 0.123456789 + n for n in range(12_000)}
    path = _write(tmp_path / "m.json.gz", {"version": "v", "metrics": metrics, "weights": {}})
    assert read_model_header(path) == {"version": "v", "metrics": metrics}
    cut = tmp_path / "cut.json.gz"
    with gzip.open(cut, "wt", encoding="utf-8") as out:
        out.write('{"version": "v", "metrics": {"a": 0.12')  # the file ends inside its header
    with pytest.raises(ValueError):
        read_model_header(cut)


def test_the_summary_is_the_loaded_models_version_and_metrics(tmp_path: Path) -> None:
    loaded = load_model("default")
    assert isinstance(loaded, LinearModel)
    assert model_summary("default") == ModelSummary(loaded.version, loaded.metrics)
    assert model_summary("snownlp").version == load_model("snownlp").version
    # weights written first (not by pingfan): the summary reads the whole file instead
    payload = read_model_file(str(resources.files("nlp").joinpath(DEFAULT_MODEL_FILE)))
    late = {"weights": {name: [0.1, 0.2, 0.3] for name in payload.names[:50]}, **payload.fields}
    path = _write(tmp_path / "late.json.gz", late)
    assert model_summary(str(path)) == ModelSummary(loaded.version, loaded.metrics)
    for bad in (_write(tmp_path / "old.json.gz", {"format": "x", "version": "v"}),
                tmp_path / "missing.json.gz"):  # fmt: skip
        with pytest.raises(ValueError):
            model_summary(str(bad))


# --- streaming: chunks cut anywhere, compact names, clear errors -------------------------------

_names = st.text(max_size=6) | st.sampled_from(
    ['"', "\\", "\n", "\u3000", "👍", "a\x00b", "\ud800"]
)
_cut_weights = st.dictionaries(_names, st.lists(_number, min_size=3, max_size=3), max_size=12)


def _cuts(text: str, points: list[int]) -> list[str]:
    """`text` cut at `points` (sorted, within it), as a decoder hands out chunks."""
    bounds = [0, *sorted(p % (len(text) + 1) for p in points), len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


@settings(max_examples=150, deadline=None)
@given(
    _fields,
    _cut_weights,
    st.sampled_from([None, 0, 2]),
    st.lists(st.integers(0, 10_000), max_size=40),
)
def test_text_cut_anywhere_reads_as_json_loads_reads_it(
    fields: dict, weights: dict, indent: int | None, points: list[int]
) -> None:
    text = json.dumps({**fields, "weights": weights}, ensure_ascii=False, indent=indent)
    expected = json.loads(text)  # the reference: what the whole-text parsers read
    model = parse_model_chunks(_cuts(text, points))
    assert model.fields == {k: v for k, v in expected.items() if k != "weights"}
    assert list(model.names) == list(expected["weights"])
    assert list(model.weights) == [float(v) for vs in expected["weights"].values() for v in vs]


def test_every_cut_of_one_file_reads_the_same() -> None:
    text = '{"v":"x","weights":{"好":[1,-2.5e-3,0.125],"a\\"b":[0,0,1], "👍" : [ 3 , 4 , 5 ] }}'
    whole = parse_model_text(text)
    assert list(whole.names) == ["好", 'a"b', "👍"]
    assert list(whole.weights) == [1.0, -0.0025, 0.125, 0.0, 0.0, 1.0, 3.0, 4.0, 5.0]
    for cut in range(len(text) + 1):
        for second in (cut, min(cut + 1, len(text)), min(cut + 7, len(text))):
            parts = [text[:cut], text[cut:second], text[second:]]
            model = parse_model_chunks(parts)
            assert model == whole, parts


def test_a_number_cut_by_a_chunk_is_read_whole() -> None:
    # '0.12' | '5' must not read as 0.12: the decoder waits for what follows a value
    assert parse_model_chunks(['{"t": 0.12', '5, "weights": {}}']).fields == {"t": 0.125}
    model = parse_model_chunks(['{"weights": {"a": [1, 2, 0.12', "5]}}"])
    assert list(model.weights) == [1.0, 2.0, 0.125]


def test_the_file_is_read_in_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    weights = {f"w{n}好": [n / 7, -n, 0.5] for n in range(300)}
    path = _write(
        tmp_path / "m.json.gz", {"version": "v", "metrics": {"a": 0.25}, "weights": weights}
    )
    whole = read_model_file(path)
    monkeypatch.setattr("nlp.model_file.CHUNK", 5)
    assert read_model_file(path) == whole
    assert read_model_header(path) == {"version": "v", "metrics": {"a": 0.25}}
    assert list(whole.names) == list(weights)


def test_names_are_packed_and_read_back() -> None:
    names = ["好", "", "a\x00b", "\ud800", "👍👍", "w:hello"]
    column = NameColumn(names)
    assert len(column) == 6 and list(column) == names
    assert column[3] == "\ud800" and column[-1] == "w:hello" and column[1:3] == names[1:3]
    assert column == names and column == NameColumn(names) and column != names[:5]
    with pytest.raises(IndexError):
        column[6]


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (
            '{"v": 1, "weights": {"好": [1, 2, 3], "差": [1',
            "the file ends inside a value at character 44",
        ),
        (
            '{"v": 1, "weights": {"好": [1, 2, 3]',
            "expected ',' or '}' at character 35, found the end",
        ),
        (
            '{"v": 1, "weights": {"好": [1, 2, 3]}',
            "expected ',' or '}' at character 36, found the end",
        ),
        (
            '{"v": 1, "weights": {"好": [1, 2, 3] "差": [1, 2, 3]}}',
            "expected ',' or '}' at character 36, found '\"'",
        ),
        ('{"v": 1, "weights": {"好": {"a": 1}}}', "'好' must map to three numbers (character 26)"),
        ('{"v": tru, "weights": {}}', "Expecting value at character 6"),
        ('{"v": 1, "weights": {}} {}', "extra data after the model (character 24)"),
    ],
)
def test_a_malformed_file_says_what_and_where(tmp_path: Path, text: str, said: str) -> None:
    path = tmp_path / "bad.json.gz"
    with gzip.open(path, "wt", encoding="utf-8") as out:
        out.write(text)
    with pytest.raises(ValueError) as caught:
        read_model_file(path)
    assert said in str(caught.value) and "\n" not in str(caught.value)
    with pytest.raises(ValueError, match="not a pingfan sentiment model"):
        LinearModel.load(path)


def test_a_cut_or_foreign_gzip_is_refused_in_one_line(tmp_path: Path) -> None:
    source = resources.files("nlp").joinpath(DEFAULT_MODEL_FILE).read_bytes()
    cut = tmp_path / "cut.json.gz"
    cut.write_bytes(source[: len(source) // 2])
    plain = tmp_path / "plain.json.gz"
    plain.write_text('{"format": "pingfan-sentiment/2"}')
    for path in (cut, plain):
        with pytest.raises(ValueError, match="not a pingfan sentiment model"):
            LinearModel.load(path)
