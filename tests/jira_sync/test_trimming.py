"""Issues too large for one Snowflake value: `fit_row` (through `flatten_issue`) cuts the biggest parts,
marks RAW, keeps the typed columns and says what it cut. Pure: no warehouse, no emulator."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from jira_sync.model import (
    CUT_MARKER,
    MAX_VALUE_BYTES,
    ROW_BUDGET_BYTES,
    TRIMMED_KEY,
    fit_row,
    flatten_issue,
    json_size,
)

MB = 1024 * 1024
UPDATED = "2024-03-05T14:07:33.123+0000"


def issue(**fields: Any) -> dict[str, Any]:
    """A small issue with the typed fields that must survive any trimming, plus `fields`."""
    return {
        "id": "10042",
        "key": "ENG-42",
        "self": "https://acme.atlassian.net/rest/api/3/issue/10042",
        "fields": {
            "summary": "Too large",
            "status": {"name": "In Progress", "statusCategory": {"name": "In Progress"}},
            "project": {"key": "ENG", "name": "Engineering"},
            "updated": UPDATED,
            "labels": ["big"],
            **fields,
        },
    }


def adf(text: str) -> dict[str, Any]:
    paragraph = {"type": "paragraph", "content": [{"type": "text", "text": text}]}
    return {"type": "doc", "version": 1, "content": [paragraph]}


def flatten(raw: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    notes: list[str] = []
    row = flatten_issue(
        raw,
        source="acme",
        story_points_fields=[],
        synced_at=datetime.now(UTC),
        run_id="r",
        on_trim=notes.append,
    )
    return row, notes


def assert_fits_and_keeps_the_typed_columns(row: dict[str, Any], notes: list[str]) -> dict[str, int]:
    assert json_size(row) <= ROW_BUDGET_BYTES < MAX_VALUE_BYTES
    assert (row["KEY"], row["ID"], row["STATUS"], row["SUMMARY"]) == (
        "ENG-42",
        10042,
        "In Progress",
        "Too large",
    )
    assert row["UPDATED"] == "2024-03-05T14:07:33.123000+00:00" and row["LABELS"] == ["big"]
    raw = row["RAW"]
    assert (raw["id"], raw["key"], raw["fields"]["updated"]) == ("10042", "ENG-42", UPDATED)
    cuts = raw[TRIMMED_KEY]
    assert len(notes) == 1 and "issue ENG-42 (id 10042)" in notes[0]
    assert all(part in notes[0] for part in list(cuts)[:8])
    return cuts


# A 20 MB value in each of the places Jira puts large things; "é" and line breaks make bytes and JSON escapes
# outnumber characters, which is what the budget counts.
TEXT = ("Stack trace line: Größe überschritten\n" * (20 * MB // 40))[: 20 * MB]

SHAPES: dict[str, tuple[dict[str, Any], list[str]]] = {
    # shape: (the issue, the parts that must be cut)
    "huge description": (issue(description=adf(TEXT)), ["fields.description", "DESCRIPTION"]),
    "huge changelog": (
        {
            **issue(description=adf("short")),
            "changelog": {
                "startAt": 0,
                "histories": [
                    {
                        "id": str(n),
                        "items": [{"field": "summary", "fromString": "a" * 200, "toString": "b" * 200}],
                    }
                    for n in range(50_000)
                ],
            },
        },
        ["changelog.histories"],
    ),
    "huge custom field": (issue(customfield_10050=TEXT), ["fields.customfield_10050"]),
    "huge comment bodies": (
        issue(comment={"comments": [{"id": str(n), "body": adf(TEXT[:MB])} for n in range(20)], "total": 20}),
        ["fields.comment"],
    ),
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_a_huge_part_is_cut_and_the_rest_kept(shape: str) -> None:
    raw, expected = SHAPES[shape]
    before = dict(raw["fields"])
    row, notes = flatten(raw)
    cuts = assert_fits_and_keeps_the_typed_columns(row, notes)
    assert list(cuts) == expected
    for part in expected:
        assert cuts[part] > MAX_VALUE_BYTES // 2
        if part != "DESCRIPTION":
            top, child = part.split(".")
            assert row["RAW"][top][child] == CUT_MARKER
    assert raw["fields"] == before and all(raw["fields"][n] is v for n, v in before.items()), "input changed"
    untouched = {n: v for n, v in raw["fields"].items() if f"fields.{n}" not in cuts}
    assert {n: row["RAW"]["fields"][n] for n in untouched} == untouched


def test_a_huge_description_keeps_as_much_text_as_fits_and_says_it_was_cut() -> None:
    row, _ = flatten(SHAPES["huge description"][0])
    text = row["DESCRIPTION"]
    assert text.endswith("too large for Snowflake]") and "\n[cut by jira-sync: the text takes" in text
    kept = text[: text.rindex("\n[cut by jira-sync")]
    assert TEXT.startswith(kept) and json_size(kept) > ROW_BUDGET_BYTES - MB


def test_many_medium_fields_lose_the_biggest_first() -> None:
    sizes = {f"customfield_{10100 + n}": (300 + 10 * n) * 1024 for n in range(50)}  # 300 KB to 790 KB each
    raw = issue(**{name: "m" * size for name, size in sizes.items()})
    row, notes = flatten(raw)
    cuts = assert_fits_and_keeps_the_typed_columns(row, notes)
    cut = [part.removeprefix("fields.") for part in cuts]
    assert set(cut) < set(sizes) and "more parts" in notes[0]
    kept = set(sizes) - set(cut)
    assert min(sizes[name] for name in cut) > max(sizes[name] for name in kept)
    assert all(row["RAW"]["fields"][name] == raw["fields"][name] for name in kept)


def test_an_issue_within_the_budget_is_untouched() -> None:
    raw = issue(description=adf("x" * MB), customfield_1=["y" * 1000] * 100)
    row, notes = flatten(raw)
    assert notes == [] and TRIMMED_KEY not in row["RAW"] and row["RAW"] == raw
    assert fit_row(row) == (row, None)


# --- small budgets: the same rules on shapes that would take hundreds of MB at full size -------------------


def small_row(**columns: Any) -> dict[str, Any]:
    return {"KEY": "ENG-1", "ID": 1, "RAW": {"id": "1", "key": "ENG-1", "self": "s"}, **columns}


def test_escapes_count_as_the_bytes_they_take() -> None:
    control = "\x01" * 10_000  # six bytes of JSON each
    row, trimmed = fit_row(small_row(DESCRIPTION=control), budget=20_000)
    assert trimmed is not None and json_size(row) <= 20_000 and len(json.dumps(row)) <= 20_000
    assert row["DESCRIPTION"].startswith("\x01") and list(trimmed.cuts) == ["DESCRIPTION"]


def test_a_huge_list_column_keeps_its_first_items() -> None:
    labels = [f"label-{n:06d}" for n in range(20_000)]
    row, trimmed = fit_row(
        small_row(LABELS=labels, RAW={"id": "1", "fields": {"labels": labels}}), budget=64_000
    )
    assert trimmed is not None and json_size(row) <= 64_000
    assert list(trimmed.cuts) == ["fields.labels", "LABELS"]
    assert 0 < len(row["LABELS"]) < len(labels) and row["LABELS"] == labels[: len(row["LABELS"])]


def test_raw_made_of_many_small_parts_loses_whole_objects_but_never_its_identity() -> None:
    raw = {
        "id": "1",
        "key": "ENG-1",
        "self": "s",
        "names": {f"customfield_{n}": "Name" for n in range(20_000)},
    }
    row, trimmed = fit_row(small_row(RAW=raw), budget=32_000)
    assert trimmed is not None and json_size(row) <= 32_000
    assert row["RAW"]["names"] == CUT_MARKER and "names" in row["RAW"][TRIMMED_KEY]
    assert {k: row["RAW"][k] for k in ("id", "key", "self")} == {"id": "1", "key": "ENG-1", "self": "s"}
    assert len(raw["names"]) == 20_000, "the caller's RAW was changed"
