"""The streaming model-file reader reads what json.load reads, and refuses what is malformed."""

from __future__ import annotations

import gzip
import json
import tempfile
from importlib import resources
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nlp.model_file import parse_model_text, read_model_file, read_model_header
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
