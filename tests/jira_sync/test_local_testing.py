"""The real handler, registered with `session.sproc.register` in Snowpark local testing and invoked with
`session.call`, as Snowflake would call it. Local testing cannot run `session.sql`, so the handler's
warehouse is pointed at the embedded one; everything else (registration, argument types, the VARIANT
return, the secret read through `_snowflake`) is Snowpark's own machinery."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator

import pytest
from snowflake.snowpark import Session
from snowflake.snowpark.types import BooleanType, StringType, VariantType

from fakejira import FakeJira
from jira_sync import procedure
from jira_sync.warehouse import Warehouse


@pytest.fixture
def local_session() -> Iterator[Session]:
    session = Session.builder.config("local_testing", True).create()
    yield session
    session.close()


def test_sync_jira_registered_and_called_in_local_testing(
    local_session: Session, snowpark_session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FakeJira(issues=25, seed=2) as jira:
        secret = types.ModuleType("_snowflake")
        secret.get_username_password = lambda alias: types.SimpleNamespace(  # type: ignore[attr-defined]
            username=jira.email, password=jira.token
        )
        monkeypatch.setitem(sys.modules, "_snowflake", secret)
        monkeypatch.setattr(procedure, "Warehouse", lambda _session: Warehouse(snowpark_session))
        procedure.add_jira_source(snowpark_session, "local", jira.url, projects=["ENG", "OPS"])

        local_session.sproc.register(
            procedure.sync_jira,
            name="sync_jira",
            input_types=[StringType(), BooleanType()],
            return_type=VariantType(),
            replace=True,
        )
        summary = local_session.call("sync_jira", "local", False)

    assert summary["status"] == "SUCCEEDED"
    (source,) = summary["sources"]
    assert source["source"] == "local" and source["issues_inserted"] > 0
