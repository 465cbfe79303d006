"""A recording Snowflake account for the real `snow` CLI: fakesnow behind an ASGI middleware.

The middleware records the `sqlText` of every query the client sends (and every file it uploads to a stage)
and answers itself what fakesnow cannot run: Snowflake-only DDL (roles, grants, secrets, network rules,
external access integrations, procedures, tasks, Streamlit apps, LOG_LEVEL, session variables) gets a plausible
success, and the few questions `snow` asks an account get a plausible answer (`SHOW INTEGRATIONS` lists the
integrations created so far, `DESCRIBE PROCEDURE` says it does not exist, the Anaconda channel lists the
packages given). Everything else goes to fakesnow, so databases, schemas, stages, `PUT` and the procedures'
own tables are real. Sessions live in one private in-memory fakesnow store, so what one `snow` command
creates the next one sees, and nothing leaks into the store other tests share. Tasks are kept, by Snowflake's
rules for task graphs, in `tasks` (task_graph.py), which also runs the Snowflake Scripting blocks that build
them: their queries on the session's store, the statements those make one by one, each recorded.
"""

from __future__ import annotations

import contextlib
import gzip
import importlib
import json
import re
import secrets
import urllib.parse
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fakesnow import statement_type
from fakesnow.expr import normalise_ident
from fakesnow.instance import FakeSnow
from fakesnow.transforms import SERVER_VERSION
from task_graph import Tasks

from jira_sync.local_warehouse import embedded_server

# The module, not the `fakesnow.server()` function that shadows it on the package once called.
fakesnow_server = importlib.import_module("fakesnow.server")

Scope = dict[str, Any]
Answer = Callable[[str], "dict[str, Any] | None"]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

QUERY_PATH = "/queries/v1/query-request"
LOGIN_PATH = "/session/v1/login-request"
UPLOAD_PREFIX = "/fs_bucket/"

# What Snowflake's Anaconda channel offers, as `snow snowpark build` reads it from
# snowflake.information_schema.packages. Names as the channel spells them: its `tzdata` is conda's IANA data
# package (versions like 2025b), not the pure-Python tzdata of PyPI (conda calls that one python-tzdata).
ANACONDA_CHANNEL = {
    "snowflake-snowpark-python": ["1.53.0"],
    "requests": ["2.32.3"],
    "urllib3": ["2.3.0"],
    "tenacity": ["9.0.0"],
    "tzdata": ["2025b"],
}

# What `snow streamlit deploy` asks to print the app's Snowsight URL.
SNOWSIGHT = {
    "SYSTEM$GET_SNOWSIGHT_HOST": "https://app.snowflake.com",
    "SYSTEM$RETURN_CURRENT_ORG_NAME": "RECORDING_ORG",
    "CURRENT_ACCOUNT_NAME": "RECORDING",
}

# Statements fakesnow cannot run: Snowflake-only objects and access control. Leading keywords, upper case.
_ANSWERED_HERE = re.compile(
    r"""^(
        (CREATE|ALTER|DROP)\s+(OR\s+REPLACE\s+)?
            (ROLE|SECRET|NETWORK\s+RULE|(EXTERNAL\s+ACCESS\s+)?INTEGRATION|(SECURE\s+)?PROCEDURE|FUNCTION
            |TASK|WAREHOUSE|USER|ACCOUNT|STREAMLIT)\b
        | ALTER\s+(SCHEMA|DATABASE|SESSION)\b
        | DROP\s+(DATABASE|SCHEMA|STAGE)\b
        | (GRANT|REVOKE|SET|UNSET|CALL)\b
        | SHOW\s+(INTEGRATIONS|SECRETS|NETWORK\s+RULES|TASKS|PROCEDURES|FUNCTIONS|GRANTS|ROLES|USERS|WAREHOUSES)\b
        | (DESC|DESCRIBE)\s+(PROCEDURE|FUNCTION|INTEGRATION|SECRET|NETWORK\s+RULE|TASK|STREAMLIT)\b
        | USE\s+(ROLE|SECONDARY\s+ROLES|WAREHOUSE)\b
        | EXECUTE\s+(IMMEDIATE|TASK)\b
        | SELECT\s+PACKAGE_NAME\s*,\s*VERSION\s+FROM\s+SNOWFLAKE\.INFORMATION_SCHEMA\.PACKAGES\b
        | SELECT\s+CURRENT_WAREHOUSE\(\)\s+IS\s+NOT\s+NULL
        | SELECT\s+(SYSTEM\$GET_SNOWSIGHT_HOST|SYSTEM\$RETURN_CURRENT_ORG_NAME|CURRENT_ACCOUNT_NAME)\(\)\s+AS\s+RESULT\b
    )""",
    re.VERBOSE,
)
_EXTERNAL_ACCESS_INTEGRATION = re.compile(
    r"^CREATE\s+(OR\s+REPLACE\s+)?EXTERNAL\s+ACCESS\s+INTEGRATION\s+(IF\s+NOT\s+EXISTS\s+)?([\w$.\"]+)", re.I
)


_IDENTIFIER_LITERAL = re.compile(r"IDENTIFIER\('([\w$.\"]+)'\)", re.I)

# Streamlit apps, as `snow streamlit deploy` makes them (versioned): CREATE STREAMLIT, ALTER STREAMLIT (ADD LIVE
# VERSION) and DESCRIBE STREAMLIT are answered here from `streamlits`. The app's files go to its live version,
# snow://streamlit/DB.SCHEMA.NAME/versions/live/, which fakesnow cannot address: LIST and PUT there are sent on
# to a stage of the store that stands in for it (`_live_stage`), so the files land in `uploads` like any other.
_STREAMLIT = re.compile(
    r"^(?P<verb>CREATE|ALTER|DROP|DESC|DESCRIBE)\s+(OR\s+REPLACE\s+)?STREAMLIT\s+(IF\s+(NOT\s+)?EXISTS\s+)?"
    r"(?P<name>IDENTIFIER\('[^']+'\)|[\w$.\"]+)",
    re.I,
)
_STREAMLIT_PROPERTY = re.compile(
    r"\b(MAIN_FILE|QUERY_WAREHOUSE|TITLE|COMMENT)\s*=\s*('(?:[^']|'')*'|[\w$\"]+)", re.I
)
_LIVE_VERSION = re.compile(r"'?snow://streamlit/(?P<name>[\w$.\"]+)/versions/live\b(?P<path>[^'\s]*)'?", re.I)


def leading_words(sql: str) -> str:
    """The statement without leading comments and blank space, upper case, blanks collapsed."""
    text = re.sub(r"^(\s+|--[^\n]*\n?|/\*.*?\*/)*", "", sql, flags=re.S)
    return re.sub(r"\s+", " ", text).upper()


@dataclass
class Recorded:
    """One statement the client sent, in order, and who answered it."""

    sql: str
    answered_by: str  # "recorder" or "fakesnow"
    ok: bool = True


@dataclass
class RecordingAccount:
    """The ASGI app: fakesnow's, behind a recorder. `statements` and `uploads` hold what clients sent."""

    anaconda_channel: Mapping[str, list[str]] = field(default_factory=lambda: dict(ANACONDA_CHANNEL))
    statements: list[Recorded] = field(default_factory=list)
    uploads: dict[str, bytes] = field(default_factory=dict)  # stage path (db/schema/stage/...) -> bytes
    integrations: list[str] = field(default_factory=list)
    streamlits: dict[str, dict[str, str | None]] = field(default_factory=dict)  # DB.SCHEMA.NAME -> DESCRIBE
    tasks: Tasks = field(default_factory=Tasks)  # tasks, task graphs and the Scripting blocks making them
    warehouses: dict[str, str | None] = field(default_factory=dict)  # session token -> current warehouse
    store: FakeSnow = field(default_factory=FakeSnow)
    answer: Answer | None = None
    """Canned answers first: a statement it answers (a dict, see `result_set`) goes nowhere else."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (
            path in (QUERY_PATH, LOGIN_PATH) or path.startswith(UPLOAD_PREFIX)
        ):
            await fakesnow_server.app(scope, receive, send)
            return
        body = await _read_body(receive)
        if path.startswith(UPLOAD_PREFIX):
            self.uploads[path[len(UPLOAD_PREFIX) :]] = body
            await fakesnow_server.app(scope, _replay(body), send)
            return
        headers = dict(scope["headers"])
        payload = json.loads(gzip.decompress(body) if headers.get(b"content-encoding") == b"gzip" else body)
        if path == LOGIN_PATH:
            await _send_json(send, self._login(scope, payload))
            return
        sql = payload["sqlText"]
        if self.answer is not None and (canned := self.answer(sql)) is not None:
            self.statements.append(Recorded(sql, "recorder", canned["success"]))
            await _send_json(send, canned)
            return
        if Tasks.handles(sql):
            await _send_json(send, self._task_statement(sql, _session_token(headers)))
            return
        if _ANSWERED_HERE.match(leading_words(sql)):
            answer = self._answer(sql, _session_token(headers))
            self.statements.append(Recorded(sql, "recorder", answer["success"]))
            await _send_json(send, answer)
            return
        recorded = Recorded(sql, "fakesnow")
        self.statements.append(recorded)
        # fakesnow cannot read IDENTIFIER('...') nor a Streamlit's live version (snow://streamlit/...)
        plain = _LIVE_VERSION.sub(lambda match: f"@{self._live_stage(match['name'])}{match['path']}", sql)
        if (plain := _IDENTIFIER_LITERAL.sub(r"\1", plain)) != sql:
            body = json.dumps({**payload, "sqlText": plain}).encode()
            scope = {**scope, "headers": [(k, v) for k, v in scope["headers"] if k != b"content-encoding"]}
        await fakesnow_server.app(scope, _replay(body), _watch_success(send, recorded))

    def _login(self, scope: Scope, payload: dict[str, Any]) -> dict[str, Any]:
        """fakesnow's login, on this account's own store (fakesnow's would use its process-wide one)."""
        query = dict(urllib.parse.parse_qsl(scope.get("query_string", b"").decode()))
        database = normalise_ident(query["databaseName"]) if query.get("databaseName") else None
        schema = normalise_ident(query["schemaName"]) if query.get("schemaName") else None
        token = secrets.token_urlsafe(32)
        self.warehouses[token] = query.get("warehouse") or None
        parameters = payload["data"].get("SESSION_PARAMETERS", {})
        fakesnow_server.sessions[token] = self.store.connect(
            database, schema, nop_regexes=parameters.get("nop_regexes"), autocommit=True
        )
        return {
            "data": {
                "token": token,
                "serverVersion": SERVER_VERSION,
                "parameters": [
                    {"name": "AUTOCOMMIT", "value": True},
                    {"name": "CLIENT_STAGE_ARRAY_BINDING_THRESHOLD", "value": 0},
                ],
                "sessionInfo": {"databaseName": database, "schemaName": schema},
            },
            "success": True,
        }

    def _task_statement(self, sql: str, token: str) -> dict[str, Any]:
        """A task statement or a Scripting block (task_graph.py), recorded before the statements a block runs,
        whose queries run on this session of the store."""
        recorded = Recorded(sql, "recorder")
        self.statements.append(recorded)
        session = fakesnow_server.sessions[token]

        def run(query: str) -> tuple[list[str], list[tuple[Any, ...]]]:
            cursor = session.cursor()
            cursor.execute(query)
            return [column[0] for column in cursor.description], cursor.fetchall()

        def record(statement: str, answer: dict[str, Any]) -> None:
            self.statements.append(Recorded(statement, "block", answer["success"]))

        answer = self.tasks.answer(sql, session.database, session.schema, run, record)
        recorded.ok = answer["success"]
        return answer

    def _answer(self, sql: str, token: str) -> dict[str, Any]:
        words = leading_words(sql)
        if words.startswith("SELECT CURRENT_WAREHOUSE()"):
            has_warehouse = "TRUE" if self.warehouses.get(token) else "FALSE"
            return result_set([("HAS_WAREHOUSE", "boolean")], [[has_warehouse]], statement_type.SELECT)
        if match := re.match(r"SELECT (\S+)\(\) AS RESULT", words):  # what snow asks to print an app's URL
            return result_set(["RESULT"], [[SNOWSIGHT[match.group(1)]]], statement_type.SELECT)
        if match := _STREAMLIT.match(sql.strip()):
            return self._streamlit(sql, match)
        if match := re.match(r"USE WAREHOUSE ([\w$\"]+)", words):
            self.warehouses[token] = match.group(1)
        if words.startswith("SELECT PACKAGE_NAME"):
            rows = [
                [name, version] for name, versions in self.anaconda_channel.items() for version in versions
            ]
            return result_set(["PACKAGE_NAME", "VERSION"], rows, statement_type.SELECT)
        if words.startswith("SHOW INTEGRATIONS"):
            rows = [[name, "EXTERNAL_ACCESS", "SECURITY", "true", "", ""] for name in self.integrations]
            columns = ["name", "type", "category", "enabled", "comment", "created_on"]
            return result_set(columns, rows, statement_type.SHOW)
        if words.startswith(("DESC ", "DESCRIBE ")):
            return refusal(
                "002003", "02000", "SQL compilation error: the object does not exist or not authorized."
            )
        if match := _EXTERNAL_ACCESS_INTEGRATION.match(words):
            self.integrations.append(match.group(3).strip('"').upper())
        kind = statement_type.SHOW if words.startswith("SHOW") else statement_type.DDL
        return result_set(["status"], [["Statement executed successfully."]], kind)

    def _streamlit(self, sql: str, match: re.Match[str]) -> dict[str, Any]:
        """CREATE, ALTER (its properties, ADD LIVE VERSION), DROP and DESCRIBE of a Streamlit app."""
        name, verb = _object_name(match["name"]), match["verb"].upper()
        exists = name in self.streamlits
        if verb in ("DESC", "DESCRIBE") or (verb == "ALTER" and not exists):
            if not exists:
                return refusal("002003", "02000", f"SQL compilation error: Streamlit {name} does not exist.")
            row = self.streamlits[name]
            return result_set(list(row), [list(row.values())], statement_type.SELECT)
        if verb == "DROP":
            self.streamlits.pop(name, None)
        elif verb == "CREATE" and (not exists or re.match(r"CREATE\s+OR\s+REPLACE", sql.strip(), re.I)):
            self.streamlits[name] = {"name": name.rpartition(".")[2], "live_version_location_uri": None}
        if verb != "DROP":
            row = self.streamlits[name]
            for key, value in _STREAMLIT_PROPERTY.findall(sql):
                row[key.lower()] = value[1:-1].replace("''", "'") if value.startswith("'") else value.upper()
            if re.search(r"\bADD\s+LIVE\s+VERSION\b", sql, re.I):
                row["live_version_location_uri"] = f"snow://streamlit/{name}/versions/live/"
                database, schema, _ = name.split(".")
                with contextlib.closing(self.store.connect(database, schema)) as connection:
                    connection.cursor().execute(f"CREATE STAGE IF NOT EXISTS {self._live_stage(name)}")
        return result_set(["status"], [["Statement executed successfully."]], statement_type.DDL)

    @staticmethod
    def _live_stage(name: str) -> str:
        """The store's stage standing in for a Streamlit's live version (DB.SCHEMA.NAME)."""
        database, schema, app = _object_name(name).split(".")
        return f"{database}.{schema}.{app}__LIVE_VERSION"

    def streamlit_files(self, name: str) -> dict[str, bytes]:
        """The files last uploaded to the live version of the Streamlit DB.SCHEMA.NAME, by path within it."""
        prefix = self._live_stage(name).replace(".", "/") + "/"
        return {path[len(prefix) :]: body for path, body in self.uploads.items() if path.startswith(prefix)}


def _object_name(name: str) -> str:
    """DB.SCHEMA.NAME as Snowflake resolves an unquoted name: IDENTIFIER('...') unwrapped, upper case."""
    return _IDENTIFIER_LITERAL.sub(r"\1", name).replace('"', "").upper()


def _session_token(headers: dict[bytes, bytes]) -> str:
    """The token in `Authorization: Snowflake Token="..."`."""
    return headers.get(b"authorization", b"").decode().removeprefix('Snowflake Token="').rstrip('"')


def result_set(columns: list[str | tuple[str, str]], rows: list[list[Any]], kind: int) -> dict[str, Any]:
    """A JSON result set; a column is a name (text) or (name, Snowflake type)."""
    return {
        "data": {
            "rowtype": [
                _column(*((column, "text") if isinstance(column, str) else column)) for column in columns
            ],
            "rowset": [[None if value is None else str(value) for value in row] for row in rows],
            "total": len(rows),
            "returned": len(rows),
            "queryId": str(uuid.uuid4()),
            "statementTypeId": kind,
            "queryResultFormat": "json",
        },
        "success": True,
    }


def _column(name: str, kind: str) -> dict[str, Any]:
    return {
        "name": name,
        "database": "",
        "schema": "",
        "table": "",
        "nullable": True,
        "type": kind,
        "byteLength": 16777216,
        "length": 16777216,
        "scale": None,
        "precision": None,
        "collation": None,
    }


def refusal(code: str, sql_state: str, message: str) -> dict[str, Any]:
    return {
        "data": {"errorCode": code, "sqlState": sql_state},
        "code": code,
        "message": message,
        "success": False,
    }


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def _watch_success(send: Send, recorded: Recorded) -> Send:
    """Pass fakesnow's answer on, noting whether it succeeded."""

    async def watching(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            recorded.ok = message["status"] == 200
        elif message["type"] == "http.response.body" and recorded.ok:
            with contextlib.suppress(ValueError, UnicodeDecodeError):
                recorded.ok = bool(json.loads(message.get("body", b"") or b"{}").get("success", True))
        await send(message)

    return watching


async def _send_json(send: Send, payload: dict[str, Any]) -> None:
    body = json.dumps(payload).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@contextlib.contextmanager
def recording_account(
    anaconda_channel: Mapping[str, list[str]] | None = None, answer: Answer | None = None
) -> Iterator[tuple[RecordingAccount, dict[str, Any]]]:
    """A recording account on a free loopback port: (the account, connector kwargs to reach it)."""
    account = RecordingAccount(anaconda_channel=dict(anaconda_channel or ANACONDA_CHANNEL), answer=answer)
    with embedded_server(app=account) as kwargs:
        yield account, kwargs


def write_snow_config(home: Path, kwargs: Mapping[str, Any], name: str = "recording") -> Path:
    """A `config.toml` for SNOWFLAKE_HOME=home whose default connection is the recording account."""
    home.mkdir(parents=True, exist_ok=True)
    config = home / "config.toml"
    settings = {key: kwargs[key] for key in ("account", "user", "password", "host", "port", "protocol")}
    lines = [f'default_connection_name = "{name}"', "", "[cli]", "ignore_new_version_warning = true"]
    lines += [
        "",
        f"[connections.{name}]",
        *(f"{key} = {json.dumps(value)}" for key, value in settings.items()),
    ]
    config.write_text("\n".join(lines) + "\n")
    config.chmod(0o600)  # snow refuses a config others can read
    return config
