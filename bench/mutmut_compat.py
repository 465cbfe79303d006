"""A pytest plugin that lets mutmut 3.7 collect its per-test statistics under pytest 9.

mutmut 3.7 (the newest release that installs beside snowflake-cli's pin of click 8.1.8; 3.8 needs click 8.4)
reads ``item._nodeid``, which pytest 9 no longer has. Loaded only by mutmut runs (``pytest_add_cli_args`` in
pyproject's ``[tool.mutmut]``), never by the test suite.
"""

from __future__ import annotations

from typing import Any


def pytest_collection_modifyitems(items: list[Any]) -> None:
    for item in items:
        if not hasattr(item, "_nodeid"):
            item._nodeid = item.nodeid
