"""`snow snowpark build` and `snow snowpark deploy`, the real CLI against a recording account: every statement
they send is read as Snowflake reads it, and the procedures are what snowflake.yml and requirements.txt say."""

from __future__ import annotations

import ast
import io
import re
import zipfile

import pytest
import sqlglot
import yaml
from snippets import parse_statement, procedure_signatures, python_value
from snowflake.cli._plugins.snowpark.snowpark_entity_model import UdfSprocIdentifier
from snowflake.cli.api.identifiers import FQN
from sqlglot import exp
from walkthrough import SETUP_SECTION, Flow


def test_every_statement_sent_parses_as_snowflake_sql(flow: Flow) -> None:
    """Set-up, build, deploy, the worksheet SQL (and what add_jira_source's handler sent), tasks, the bearer
    switch and removal: each statement as it was sent, snow's templates rendered."""
    assert flow.sql()
    for command in flow.commands:
        for sql in command.sql():
            try:
                parse_statement(sql)
            except (AssertionError, sqlglot.ParseError) as error:
                raise AssertionError(f"sent by `{' '.join(command.argv)[:120]}`: {error}") from None


def test_every_snow_command_answered_without_error(flow: Flow) -> None:
    """The recording account refused nothing snow sent: no statement needed what the account lacked."""
    refused = [
        recorded.sql for c in flow.commands if c.is_snow for recorded in c.statements if not recorded.ok
    ]
    # snow asks whether the procedures and the dashboard exist (DESCRIBE) before it creates them; "no" is the
    # answer.
    asked = ("describe procedure", "describe streamlit")
    assert all(sql.lower().startswith(asked) for sql in refused), refused


def test_deploy_creates_each_procedure_with_its_signature(flow: Flow) -> None:
    procedures = flow.deployed()
    signatures = procedure_signatures(yaml.safe_load((flow.project / "snowflake.yml").read_text()))
    env = flow.env
    assert procedures.keys() == signatures.keys()
    for name, procedure in procedures.items():
        assert procedure.fqn == f"{env['database']}.{env['schema']}.{name}".upper()
        assert [(arg, kind) for arg, kind, _ in procedure.arguments] == [
            (argument.name, argument.type) for argument in signatures[name]
        ]
        for (arg, _, default), argument in zip(procedure.arguments, signatures[name], strict=True):
            if argument.default is None:
                assert default is None, f"{name}.{arg} has a default snowflake.yml does not give"
                continue
            # A literal of the argument's own value: 'basic', not ''basic'' (which does not even parse).
            assert isinstance(default, exp.Null | exp.Boolean | exp.Literal), f"{name}.{arg}: {default!r}"
            if isinstance(default, exp.Literal) and default.is_string:
                assert python_value(default) == argument.default, f"{name}.{arg} default quoted twice?"


@pytest.mark.parametrize(("default", "parses"), [("basic", True), ("'basic'", False)])
def test_snow_quotes_varchar_defaults_itself(default: str, parses: bool) -> None:
    """Why snowflake.yml says `default: "basic"`: snow wraps VARCHAR defaults in quotes, so "'basic'" becomes
    ''basic'', which Snowflake refuses (the SQL is built by snow's own code, as deploy builds it)."""
    signature = UdfSprocIdentifier(FQN.from_string("DB.S.P"), ["auth"], ["varchar"], [default])
    sql = f"create or replace procedure {signature.identifier_for_sql} returns variant language python"
    if parses:
        parse_statement(sql)
    else:
        with pytest.raises(sqlglot.ParseError):
            parse_statement(sql)


def test_packages_are_the_runtime_requirements(flow: Flow) -> None:
    """PACKAGES is requirements.txt, all of it found in Snowflake's Anaconda channel (build shipped nothing
    in a dependencies.zip); the channel lists a `tzdata` too, conda's IANA data, which must not come in."""
    requirements = [
        line.strip() for line in (flow.project / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]  # fmt: skip
    assert not (flow.project / "output" / "bundle" / "snowpark" / "dependencies.zip").exists()
    for procedure in flow.deployed().values():
        assert list(procedure.packages) == requirements, procedure.name


def test_imports_name_the_artifact_deploy_uploaded(flow: Flow) -> None:
    env = flow.env
    artifact = flow.project / "output" / "jira_sync.zip"
    for procedure in flow.deployed().values():
        assert procedure.imports == (f"@{env['database']}.{env['schema']}.{env['stage']}/jira_sync.zip",)
        assert flow.uploaded(procedure.imports[0]) == artifact.read_bytes(), "not the zip the first step made"


def test_handlers_are_functions_of_the_uploaded_artifact(flow: Flow) -> None:
    for procedure in flow.deployed().values():
        module, _, function = procedure.handler.rpartition(".")
        with zipfile.ZipFile(io.BytesIO(flow.uploaded(procedure.imports[0]))) as bundle:
            source = bundle.read(module.replace(".", "/") + ".py")
        defined = {node.name for node in ast.parse(source).body if isinstance(node, ast.FunctionDef)}
        assert function in defined, f"{procedure.handler} is not a top-level function of the artifact"


def test_integration_and_secret_are_the_ones_set_up(flow: Flow) -> None:
    """Each deploy binds the integration setup.sql created and a secret that integration allows at that
    moment: JIRA_CREDENTIALS after setup.sql, JIRA_BEARER_TOKEN after secret_bearer.sql."""
    env = flow.env
    schema = f"{env['database']}.{env['schema']}"
    for step, secret in [(SETUP_SECTION, env["secret"]), ("sql/secret_bearer.sql", "JIRA_BEARER_TOKEN")]:
        (deploy,) = [command for command in flow.snow("snowpark", "deploy") if command.step == step]
        before = flow.sql()[: deploy.first]
        allowed = [
            re.search(r"ALLOWED_AUTHENTICATION_SECRETS\s*=\s*\(([^)]*)\)", sql, re.I)
            for sql in before
            if re.match(
                rf"(CREATE|ALTER) EXTERNAL ACCESS INTEGRATION.*\b{env['integration']}\b", sql, re.I | re.S
            )
        ]
        secrets_allowed = {name.strip().upper() for name in allowed[-1].group(1).split(",")}
        for procedure in flow.deployed(step).values():
            assert procedure.integrations == (env["integration"].upper(),)
            assert procedure.secrets == {"jira_default": f"{schema}.{secret}".upper()}
            assert set(procedure.secrets.values()) <= secrets_allowed, step
