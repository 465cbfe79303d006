"""Upsert throughput on the embedded warehouse (fakesnow server + Snowpark) per batch size, against baselines.

    .venv/bin/python -m bench.bench_merge [--issues 2000] [--batch-sizes 100,250,500,1000,2000] \
        [--raw-bytes 3000]

For each batch size it loads `--issues` flattened issues into an empty table (insert pass) and then again with
a newer UPDATED (update pass), printing issues per second for:

- `warehouse`: `Warehouse.merge_issues`, what the sync uses (one MERGE per chunk of the batch size, its rows
  in one JSON-array bind, on the embedded warehouse's server with its linear FLATTEN);
- `flatten-merge`: the first try (DESIGN.md), one JSON-array bind flattened through a correlated LATERAL
  (`(select parse_json(?) j) p, lateral flatten(input => p.j)`, which DuckDB runs as a correlated join; only
  up to `--flatten-max` rows per statement: it grows fast, and past ~60 s a statement fails with the
  connector's read timeout, leaving the session unusable);
- `values-insert`: a plain INSERT ... VALUES list with one bind per column (insert pass only; a floor).

Prints a table; never asserts. Each batch size runs on a fresh, isolated in-memory database.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
import warnings
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from snowflake.snowpark import Session

from jira_sync.local_warehouse import embedded_server
from jira_sync.model import ISSUES, TIMESTAMP_TZ, VARIANT, flatten_issue
from jira_sync.warehouse import Warehouse, quote_identifier

T0 = datetime(2024, 3, 5, 14, 7, 33, 123000, tzinfo=UTC)
NOP_REGEXES = [r"select system\$cancel_all_queries"]


def make_rows(count: int, raw_bytes: int, updated: datetime, first_id: int = 10_000) -> list[dict[str, Any]]:
    rows = []
    for n in range(count):
        issue = {
            "id": str(first_id + n),
            "key": f"BENCH-{n}",
            "fields": {
                "summary": f"Benchmark issue {n} — ünïcödé",
                "project": {"key": "BENCH", "name": "Bench"},
                "status": {"name": "In Progress", "statusCategory": {"name": "In Progress"}},
                "labels": ["alpha", "beta"],
                "created": "2024-01-01T00:00:00.000+0000",
                "updated": updated.strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
                "customfield_10000": "x"
                * raw_bytes,  # stands for the long tail of fields a real issue carries
            },
        }
        rows.append(
            flatten_issue(issue, source="bench", story_points_fields=[], synced_at=T0, run_id="bench")
        )
    return rows


def _typed(column: str, sql_type: str, prefix: str) -> str:
    path = f"{prefix}:{quote_identifier(column)}"
    return (
        f"{path} {quote_identifier(column)}"
        if sql_type == VARIANT
        else f"{path}::{sql_type} {quote_identifier(column)}"
    )


def flatten_merge(session: Session, table: str, rows: Sequence[dict[str, Any]]) -> None:
    """The approach measured first (DESIGN.md): MERGE from one JSON-array bind through LATERAL FLATTEN."""
    cols = ISSUES.names
    source = ", ".join(_typed(c, ISSUES.column(c).sql_type, "f.value") for c in cols)
    q = ", ".join(quote_identifier(c) for c in cols)
    sets = ", ".join(f"{quote_identifier(c)} = src.{quote_identifier(c)}" for c in cols[2:])
    values = ", ".join(f"src.{quote_identifier(c)}" for c in cols)
    sql = (
        f"merge into {table} t using (select {source} from (select parse_json(?) j) p, "
        f"lateral flatten(input => p.j) f) src "
        f'on t."SOURCE" = src."SOURCE" and t."ID" = src."ID" '
        f'when matched and src."UPDATED" > t."UPDATED" then update set {sets} '
        f"when not matched then insert ({q}) values ({values})"
    )
    payload = json.dumps([{k: v for k, v in r.items() if v is not None} for r in rows], ensure_ascii=False)
    session.sql(sql, params=[payload]).collect()


def values_insert(session: Session, table: str, rows: Sequence[dict[str, Any]]) -> None:
    """A floor: INSERT ... SELECT over a VALUES list, one bind per column (no upsert logic at all)."""
    cols = ISSUES.names
    casts = []
    for i, c in enumerate(cols, start=1):
        sql_type = ISSUES.column(c).sql_type
        casts.append(f"parse_json(column{i})" if sql_type in (VARIANT, "ARRAY") else f"column{i}::{sql_type}")
    placeholders = "(" + ", ".join("?" for _ in cols) + ")"
    sql = (
        f"insert into {table} ({', '.join(quote_identifier(c) for c in cols)}) "
        f"select {', '.join(casts)} from values {', '.join([placeholders] * len(rows))}"
    )
    params: list[Any] = []
    for r in rows:
        for c in cols:
            value = r[c]
            sql_type = ISSUES.column(c).sql_type
            if sql_type in (VARIANT, "ARRAY") and value is not None:
                value = json.dumps(value, ensure_ascii=False)
            elif sql_type == TIMESTAMP_TZ and value is not None:
                value = str(value)
            params.append(value)
    session.sql(sql, params=params).collect()


def timed(label: str, fn: Callable[[], Any], issues: int) -> float:
    started = time.perf_counter()
    fn()
    elapsed = time.perf_counter() - started
    logging.debug("%s: %.2fs", label, elapsed)
    return issues / elapsed if elapsed else float("inf")


def run(
    kwargs: dict[str, Any], issues: int, batch_size: int, raw_bytes: int, flatten_max: int
) -> dict[str, float | None]:
    params = {**kwargs["session_parameters"], "nop_regexes": NOP_REGEXES, "FAKESNOW_DB_PATH": ":isolated:"}
    session = Session.builder.configs(
        {
            **kwargs,
            "server_session_keep_alive": True,
            "database": "BENCH",
            "schema": "S",
            "session_parameters": params,
        }
    ).create()
    try:
        wh = Warehouse(session, "BENCH", "S", batch_size=batch_size)
        wh.ensure_tables()
        table = wh.qualified(ISSUES.name)
        first = make_rows(issues, raw_bytes, T0)
        second = make_rows(issues, raw_bytes, T0 + timedelta(minutes=1))
        out: dict[str, float | None] = {}
        out["warehouse insert"] = timed(
            "warehouse insert", lambda: wh.merge_issues(first, batch_size=batch_size), issues
        )
        out["warehouse update"] = timed(
            "warehouse update", lambda: wh.merge_issues(second, batch_size=batch_size), issues
        )

        def chunks(rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
            return [rows[i : i + batch_size] for i in range(0, len(rows), batch_size)]

        out["flatten-merge insert"] = out["flatten-merge update"] = None
        if batch_size <= flatten_max:
            session.sql(f"delete from {table}").collect()
            out["flatten-merge insert"] = timed(
                "flatten insert", lambda: [flatten_merge(session, table, c) for c in chunks(first)], issues
            )
            out["flatten-merge update"] = timed(
                "flatten update", lambda: [flatten_merge(session, table, c) for c in chunks(second)], issues
            )
        session.sql(f"delete from {table}").collect()
        out["values-insert insert"] = timed(
            "values insert", lambda: [values_insert(session, table, c) for c in chunks(first)], issues
        )
        return out
    finally:
        session.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--issues", type=int, default=2000)
    parser.add_argument("--batch-sizes", default="100,250,500,1000,2000")
    parser.add_argument("--raw-bytes", type=int, default=3000, help="padding per issue's RAW JSON")
    parser.add_argument("--flatten-max", type=int, default=1000, help="largest batch for flatten-merge")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    sizes = [int(s) for s in args.batch_sizes.split(",")]
    logging.getLogger("uvicorn.error").setLevel(logging.ERROR)
    with embedded_server() as kwargs:
        for noisy in ("fakesnow.server", "uvicorn", "uvicorn.error", "uvicorn.access", "sqlglot"):
            logging.getLogger(noisy).setLevel(logging.ERROR)
        print(
            f"{args.issues} issues of ~{args.raw_bytes} B extra JSON each; issues/second (higher is better)"
        )
        header = None
        for size in sizes:
            result = run(kwargs, args.issues, size, args.raw_bytes, args.flatten_max)
            if header is None:
                header = ["batch", *result]
                print("  ".join(f"{h:>20}" for h in header))
            cells = [f"{v:>20.0f}" if v is not None else f"{'skipped':>20}" for v in result.values()]
            print("  ".join([f"{size:>20}", *cells]), flush=True)


if __name__ == "__main__":
    main()
