"""`jira-sync sql` prints NULL as NULL in every format, through the real CLI on the embedded warehouse.

fakesnow's server sends a NULL timestamp as a struct that is not itself NULL, which every client path read as
1970-01-01; the embedded warehouse now answers as Snowflake does (`null_timestamps` in local_warehouse.py).
The table holds a row of NULLs in TIMESTAMP_TZ, VARCHAR, NUMBER and VARIANT columns, and a row of look-alikes
that are not NULL (a real 1970-01-01, '', 0, a VARIANT holding JSON null), which each format must keep apart.
"""

from __future__ import annotations

import base64
import csv
import io
import json
from datetime import UTC, datetime

import pyarrow as pa
import pytest
from click.testing import CliRunner
from fakesnow.arrow import to_ipc, to_sf

from jira_sync.cli import main
from jira_sync.local_warehouse import embedded_session, fix_answer

COLUMNS = ["ID", "TS", "V", "N", "J"]
QUERY = 'select "ID", "TS", "V", "N", "J" from T order by "ID"'
MOMENT = datetime(2026, 3, 1, 12, 30, 0, 250000, tzinfo=UTC)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("output") / "wh"
    with embedded_session(folder) as session:
        session.sql('create table T ("ID" number(38,0), "TS" timestamp_tz, "V" varchar, "N" number(38,0), '
                    '"J" variant)').collect()  # fmt: skip
        session.sql("insert into T select 1, null, null, null, null").collect()
        session.sql("insert into T select 2, '1970-01-01T00:00:00+00:00'::timestamp_tz, '', 0, "
                    "parse_json('null')").collect()  # fmt: skip
        session.sql(f"insert into T select 3, '{MOMENT.isoformat()}'::timestamp_tz, 'a,\"b\"', -7, "
                    "parse_json('{\"k\": [1, null]}')").collect()  # fmt: skip
        (null_row,) = session.sql('select "TS" from T where "ID" = 1').collect()
        assert null_row[0] is None  # Snowpark's own path too, not only the CLI's
    return f"local:{folder}"


def sql(warehouse: str, *more: str) -> list[str]:
    result = CliRunner(mix_stderr=False).invoke(main, ["sql", "--warehouse", warehouse, *more, QUERY])
    assert result.exit_code == 0, result.stderr
    return result.stdout.splitlines()


def test_table_prints_null_as_null_and_a_real_1970_as_a_date(warehouse: str) -> None:
    header, rule, *rows, count = sql(warehouse)  # the default format
    assert header.split() == COLUMNS and set(rule) <= {"-", " "} and count == "(3 rows)"
    assert rows[0].split() == ["1", "NULL", "NULL", "NULL", "NULL"]
    assert rows[1].split() == ["2", "1970-01-01T00:00:00+00:00", "0", "null"]  # '' is blank, not NULL
    assert rows[2].split() == ["3", MOMENT.isoformat(), 'a,"b"', "-7", '{"k":[1,null]}']
    starts = [header.index(name) for name in COLUMNS[1:3]]
    assert [rows[2].index(MOMENT.isoformat()), rows[2].index('a,"b"')] == starts  # columns line up


def test_json_lines_keep_sql_null_apart_from_json_null_and_empty_text(warehouse: str) -> None:
    rows = [json.loads(line) for line in sql(warehouse, "--format", "json")]
    assert rows == [
        {"ID": 1, "TS": None, "V": None, "N": None, "J": None},
        {"ID": 2, "TS": "1970-01-01T00:00:00+00:00", "V": "", "N": 0, "J": "null"},
        {"ID": 3, "TS": MOMENT.isoformat(), "V": 'a,"b"', "N": -7, "J": '{"k":[1,null]}'},
    ]


def test_csv_writes_null_as_an_empty_unquoted_field_and_text_quoted(warehouse: str) -> None:
    lines = sql(warehouse, "--format", "csv")
    assert lines[:3] == [
        ",".join(f'"{name}"' for name in COLUMNS),
        "1,,,,",
        '2,"1970-01-01T00:00:00+00:00","",0,"null"',
    ]
    parsed = list(csv.reader(io.StringIO("\n".join(lines))))
    assert parsed[3] == ["3", MOMENT.isoformat(), 'a,"b"', "-7", '{"k":[1,null]}']


def test_the_wrapper_makes_fakesnows_null_timestamp_structs_null_and_leaves_the_rest() -> None:
    """On the wire: fakesnow's own encoding of [NULL, 1970-01-01, MOMENT], corrected, is NULL only where the
    value was NULL; an answer without a NULL timestamp is passed on byte for byte."""
    micros = int(MOMENT.timestamp()) * 1_000_000 + MOMENT.microsecond
    moments = pa.array([None, 0, micros], type=pa.timestamp("us", tz="UTC"))
    rowtype = [{"name": "TS", "type": "timestamp_tz", "precision": 0, "scale": 9, "length": None}]

    def answer(values: pa.Array) -> bytes:
        rowset = to_ipc(to_sf(pa.table({"TS": values}), rowtype)).to_pybytes()  # type: ignore[arg-type]
        data = {"queryResultFormat": "arrow", "rowsetBase64": base64.b64encode(rowset).decode()}
        return json.dumps({"data": data, "success": True}).encode()

    def decoded(body: bytes) -> pa.Array:
        rowset = base64.b64decode(json.loads(body)["data"]["rowsetBase64"])
        return pa.ipc.open_stream(rowset).read_all().column(0).combine_chunks()

    assert decoded(answer(moments)).null_count == 0  # fakesnow's struct claims no NULL: read as 1970
    fixed = decoded(fix_answer(answer(moments)))
    assert fixed.is_null().to_pylist() == [True, False, False]
    assert fixed.field(0).to_pylist()[1:] == [0, int(MOMENT.timestamp())]  # epoch seconds kept
    untouched = answer(moments.fill_null(0))
    assert fix_answer(untouched) == untouched
