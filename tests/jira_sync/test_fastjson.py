"""orjson where it is installed, the standard library where orjson refuses or is missing: same answers."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jira_sync import fastjson

JAVA_LONGS = st.integers(min_value=-(2**63), max_value=2**63 - 1)  # Jira's integers: Java longs
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | JAVA_LONGS | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=20,
)


@given(JSON_VALUES)
def test_what_orjson_reads_and_writes_is_what_json_does(value: object) -> None:
    text = json.dumps(value)
    assert fastjson.loads(text) == json.loads(text)
    assert fastjson.loads(text.encode()) == json.loads(text)
    assert json.loads(fastjson.dumps(value)) == value


def test_nan_and_infinity_are_read_as_json_reads_them() -> None:
    assert math.isnan(fastjson.loads('{"x": NaN}')["x"])
    assert fastjson.loads(b"[Infinity, -Infinity]") == [math.inf, -math.inf]


def test_integers_wider_than_64_bits_are_written_exactly() -> None:
    """orjson cannot write them: `json` does."""
    assert fastjson.dumps([2**70]) == "[1180591620717411303424]"


def test_text_that_is_not_json_raises_value_error() -> None:
    with pytest.raises(ValueError):
        fastjson.loads(b'{"issues": [')


def test_without_orjson_the_standard_library_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fastjson, "orjson", None)
    assert fastjson.loads(b'{"a": [1, 2.5, "\\u00e9"]}') == {"a": [1, 2.5, "é"]}
    assert fastjson.dumps({"a": "é"}) == '{"a":"é"}'


def test_dates_go_to_default_and_encode_gives_the_utf8_of_dumps() -> None:
    """orjson would write a datetime itself; here, as with `json`, `default` decides (or TypeError)."""
    from datetime import UTC, datetime

    moment = datetime(2024, 3, 5, 14, 7, tzinfo=UTC)
    assert fastjson.dumps({"at": moment}, default=lambda v: v.isoformat()) == '{"at":"2024-03-05T14:07:00+00:00"}'
    with pytest.raises(TypeError):
        fastjson.dumps({"at": moment})
    for value in ({"é": ["ü", 1, None]}, "\ud800", [2**70]):
        assert fastjson.encode(value) == fastjson.dumps(value).encode("utf-8", "surrogatepass")
