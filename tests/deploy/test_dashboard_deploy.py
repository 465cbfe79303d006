"""`snow streamlit deploy`, the real CLI against the recording account, as step 6 of the README runs it: the
Streamlit it creates is snowflake.yml's, the files it uploads are the app's and only those, the app needs
nothing its stage and environment.yml do not give it, its queries are Snowflake SQL, and environment.yml asks
Snowflake for the Streamlit the tests run."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
import types
from typing import Any

import yaml
from snippets import parse_statement
from sqlglot import exp
from walkthrough import SETUP_SECTION, Command, Flow

ENTITY = "jira_sync_dashboard"


def _entity(flow: Flow) -> dict[str, Any]:
    return yaml.safe_load((flow.project / "snowflake.yml").read_text())["entities"][ENTITY]


def _deploy(flow: Flow) -> Command:
    (deploy,) = [command for command in flow.snow("streamlit", "deploy") if command.step == SETUP_SECTION]
    return deploy


def _fqn(flow: Flow) -> str:
    env = flow.env
    return f"{env['database']}.{env['schema']}.{_entity(flow)['identifier']['name']}".upper()


def _uploaded(flow: Flow) -> dict[str, bytes]:
    return flow.account.streamlit_files(_fqn(flow))


def test_deploy_creates_the_streamlit_snowflake_yml_describes(flow: Flow) -> None:
    """CREATE STREAMLIT with the entity's main file, the env's warehouse and its title, then its live version
    (the versioned deploy, snow 3.30's default: the files go to the app's own stage)."""
    entity, env, fqn = _entity(flow), flow.env, _fqn(flow)
    statements = [re.sub(r"\s+", " ", sql.strip()) for sql in _deploy(flow).sql()]
    (create,) = [sql for sql in statements if sql.upper().startswith("CREATE STREAMLIT")]
    parsed = parse_statement(create)
    assert isinstance(parsed, exp.Create) and parsed.kind == "STREAMLIT"
    assert re.search(rf"IDENTIFIER\('{re.escape(fqn)}'\)", create, re.I), create
    assert f"MAIN_FILE = '{entity['main_file']}'" in create
    assert f"QUERY_WAREHOUSE = {env['warehouse']}" in create
    assert f"TITLE = '{entity['title']}'" in create
    assert f"ALTER STREAMLIT {fqn} ADD LIVE VERSION FROM LAST;" in statements
    assert statements.index(f"ALTER STREAMLIT {fqn} ADD LIVE VERSION FROM LAST;") > statements.index(create)


def test_the_files_uploaded_are_the_apps_and_only_those(flow: Flow) -> None:
    """The main file and its neighbours at their paths in the repository, environment.yml at the root: the
    files as they are in the project, nothing of the local-only modules, no bytecode."""
    entity = _entity(flow)
    expected = {}
    for artifact in entity["artifacts"]:
        source, dest = (
            (artifact, artifact) if isinstance(artifact, str) else (artifact["src"], artifact["dest"])
        )
        expected[dest] = (flow.project / source).read_bytes()
    uploaded = _uploaded(flow)
    assert uploaded == expected
    assert entity["main_file"] in uploaded and "environment.yml" in uploaded


def _imports(tree: ast.Module) -> tuple[set[str], set[str]]:
    """(modules imported at module level, modules imported inside functions), top-level names."""
    top = {
        alias.name.split(".")[0]
        for node in tree.body
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in (node.names if isinstance(node, ast.Import) else [ast.alias(node.module or "")])
    }
    everywhere = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in (node.names if isinstance(node, ast.Import) else [ast.alias(node.module or "")])
    }
    return top, everywhere - top


def test_the_app_needs_nothing_its_stage_and_environment_do_not_give(flow: Flow) -> None:
    """Every module the uploaded code imports is the standard library's, a file of the stage, or a package
    environment.yml asks for; jira_sync (not on the stage) only lazily, in the local fallback for a session."""
    uploaded = _uploaded(flow)
    environment = yaml.safe_load(uploaded["environment.yml"])
    assert environment["channels"] == ["snowflake"]
    packages = {re.split(r"[=<>]", dependency)[0] for dependency in environment["dependencies"]}
    provided = {"snowflake" if name == "snowflake-snowpark-python" else name for name in packages}
    neighbours = {path.rsplit("/", 1)[-1].removesuffix(".py") for path in uploaded if path.endswith(".py")}
    for path, body in uploaded.items():
        if not path.endswith(".py"):
            continue
        top, lazy = _imports(ast.parse(body))
        missing = top - set(sys.stdlib_module_names) - neighbours - provided - {"__future__"}
        assert not missing, f"{path} imports {sorted(missing)}, which Snowflake would not have"
        assert lazy - set(sys.stdlib_module_names) - provided <= {"jira_sync"}, (path, lazy)
    main = ast.parse(uploaded[_entity(flow)["main_file"]])
    (session,) = [n for n in main.body if isinstance(n, ast.FunctionDef) and n.name == "active_session"]
    assert "get_active_session" in ast.unparse(session)  # Snowflake's session first, the fallback after


def test_the_apps_queries_are_snowflake_sql(flow: Flow) -> None:
    """The queries as uploaded (the module run from the stage's bytes), each parsed as Snowflake SQL."""
    uploaded = _uploaded(flow)
    (path,) = [p for p in uploaded if p.endswith("/queries.py")]
    module = types.ModuleType("queries")
    exec(compile(uploaded[path], path, "exec"), module.__dict__)  # our own file, as uploaded
    assert module.QUERIES
    for name, sql in module.QUERIES.items():
        assert isinstance(parse_statement(sql), exp.Select), name


def test_snowflake_gets_the_streamlit_the_tests_run(flow: Flow) -> None:
    """environment.yml pins the Streamlit pyproject.toml installs, which is the one the browser test ran."""
    environment = yaml.safe_load(_uploaded(flow)["environment.yml"])
    (pin,) = [d for d in environment["dependencies"] if d.startswith("streamlit")]
    pinned = pin.removeprefix("streamlit=")
    dependencies = tomllib.loads((flow.project / "pyproject.toml").read_text())["project"]["dependencies"]
    assert f"streamlit=={pinned}" in [d.split(";")[0].strip() for d in dependencies]
    assert importlib.metadata.version("streamlit") == pinned


def test_removal_drops_the_dashboard(flow: Flow) -> None:
    dropped = [re.sub(r"\s+", " ", sql.strip()) for c in flow.step("Removing it") for sql in c.sql()]
    assert f"DROP STREAMLIT IF EXISTS {_fqn(flow)};" in dropped
    assert _fqn(flow) not in flow.account.streamlits
