"""The streaming model-file reader reads what json.load reads, and refuses what is malformed."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nlp.model_file import parse_model_text
from nlp.sentiment import LinearModel, PackedWeights, load_model

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
