"""What deploy uploads is what the procedures need, and it runs the way Snowflake runs it: the IMPORTS zips on
sys.path of a Python that holds only the PACKAGES, no system time zone database, no tzdata installed."""

from __future__ import annotations

import io
import json
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest
from walkthrough import Flow

from jira_sync.artifact import runtime_modules

LOCAL_ONLY = {  # never deployed
    "jira_sync.cli",
    "jira_sync.demo",
    "jira_sync.local_warehouse",
    "jira_sync.progress_bar",  # rich, the CLI's; the procedure reports to an observer (observer.py) instead
    "jira_sync.deployment_check",
    "jira_sync.reference",
}

# Run by the clean virtualenv's python with a JSON argument: {"imports": [zip, ...], "handlers": [...]}.
SANDBOX = r"""
import http.server, importlib, importlib.util, json, sys, threading, zoneinfo
from datetime import datetime, timezone

args = json.loads(sys.argv[1])
report = {"absent": {}, "handlers": {}}
for name in ("tzdata", "fakejira", "fakesnow", "click", "snowflake.cli", "pandas", "rich"):
    try:
        report["absent"][name] = importlib.util.find_spec(name) is None
    except ModuleNotFoundError:
        report["absent"][name] = True

zoneinfo.reset_tzpath([])  # no system zone database, as in a sandbox that has none
try:
    zoneinfo.ZoneInfo("Europe/Berlin")
    report["zones_without_artifact"] = True
except zoneinfo.ZoneInfoNotFoundError:
    report["zones_without_artifact"] = False

sys.path[:0] = args["imports"]  # what Snowflake does with IMPORTS
for handler in args["handlers"]:
    module, _, function = handler.rpartition(".")
    report["handlers"][handler] = callable(getattr(importlib.import_module(module), function, None))
report["loaded_from_artifact"] = sorted(
    name for name, module in sys.modules.items()
    if any(str(getattr(module, "__file__", "") or "").startswith(path) for path in args["imports"])
)
import tzdata
report["tzdata_from"] = tzdata.__file__

from jira_sync.jira import JiraClient, JiraCredentials, window_jql

class Myself(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"accountId": "1", "displayName": "bot", "timeZone": "Europe/Berlin"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass

server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Myself)
threading.Thread(target=server.serve_forever, daemon=True).start()
client = JiraClient(f"http://127.0.0.1:{server.server_port}", JiraCredentials(token="t" * 24, email="bot@acme.com"))
zone = client.time_zone()  # the account's zone, as a sync reads it
report["account_zone"] = str(zone)
summer = datetime(2026, 7, 1, 10, 0, tzinfo=timezone.utc), datetime(2026, 7, 1, 12, 30, tzinfo=timezone.utc)
winter = datetime(2026, 1, 15, 10, 0, tzinfo=timezone.utc), datetime(2026, 1, 15, 12, 30, tzinfo=timezone.utc)
report["summer_window"] = window_jql("project = ENG", *summer, zone)
report["winter_window"] = window_jql("project = ENG", *winter, zone)
server.shutdown()
print(json.dumps(report))
"""


def module_name(path: str) -> str:
    return path.removesuffix(".py").removesuffix("/__init__").replace("/", ".")


def test_artifact_holds_what_the_handlers_import_and_tzdata(flow: Flow) -> None:
    """The jira_sync modules the handlers import (at module level or lazily), as .py files, and the pure-Python
    tzdata: not the emulator (fakejira), not the local-only modules, no bytecode, nothing else."""
    (procedure, *_) = flow.deployed().values()
    with zipfile.ZipFile(io.BytesIO(flow.uploaded(procedure.imports[0]))) as bundle:
        names = bundle.namelist()
    code = {module_name(name) for name in names if name.startswith("jira_sync/")}
    assert all(name.endswith(".py") for name in names if name.startswith("jira_sync/")), names
    tops = {name.split("/")[0] for name in names}
    assert tops - {"jira_sync", "tzdata"} <= {
        t for t in tops if t.startswith("tzdata-") and t.endswith(".dist-info")
    }
    assert "tzdata/__init__.py" in names and "tzdata/zoneinfo/Europe/Berlin" in names
    source_root = flow.project / "src"
    handlers = {p.handler.rpartition(".")[0] for p in flow.deployed().values()}
    assert code == runtime_modules(handlers, source_root)
    assert not code & LOCAL_ONLY, f"runtime code imports the local-only modules {sorted(code & LOCAL_ONLY)}"
    everything = {
        module_name(str(p.relative_to(source_root))) for p in (source_root / "jira_sync").rglob("*.py")
    }
    # the dashboard's package: deployed by `snow streamlit deploy` to its own stage (or local only), never here
    dashboard = {name for name in everything if name.partition(".")[2].startswith("dashboard")}
    assert not code & dashboard, f"runtime code imports the dashboard {sorted(code & dashboard)}"
    unexplained = everything - code - LOCAL_ONLY - dashboard - {"jira_sync.artifact"}
    assert not unexplained, f"modules neither deployed nor local-only: {sorted(unexplained)}"


@pytest.fixture(scope="module")
def sandbox(flow: Flow, clean_venv: Path) -> dict[str, Any]:
    """The uploaded artifact imported by a Python holding only the procedures' PACKAGES."""
    procedures = flow.deployed()
    (procedure, *_) = procedures.values()
    imports = []
    for path in procedure.imports:  # in IMPORTS order
        target = flow.project / "sandbox" / path.rsplit("/", 1)[-1]
        target.parent.mkdir(exist_ok=True)
        target.write_bytes(flow.uploaded(path))
        imports.append(str(target))
    argument = json.dumps({"imports": imports, "handlers": [p.handler for p in procedures.values()]})
    result = subprocess.run(
        [clean_venv, "-I", "-c", SANDBOX, argument],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=flow.project,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1]) | {"imports": imports}


def test_handlers_import_in_a_sandbox_with_only_the_packages(sandbox: dict[str, Any]) -> None:
    """Nothing of the CLI, the emulator, fakesnow or click is there, nor pandas (not in PACKAGES): the handlers
    import and resolve all the same, from the uploaded zip."""
    assert all(sandbox["absent"].values()), sandbox["absent"]
    assert sandbox["handlers"] and all(sandbox["handlers"].values()), sandbox["handlers"]
    assert "jira_sync.procedure" in sandbox["loaded_from_artifact"]


def test_time_zone_data_travels_with_the_procedure(sandbox: dict[str, Any]) -> None:
    """Without a system zone database and without tzdata installed, zones resolve from the shipped tzdata: the
    account's zone is read as a sync reads it and a watermark renders as wall time in it, across DST."""
    assert sandbox["zones_without_artifact"] is False, "the sandbox still sees a system zone database"
    assert sandbox["tzdata_from"].startswith(sandbox["imports"][0] + "/"), sandbox["tzdata_from"]
    assert sandbox["account_zone"] == "Europe/Berlin"
    assert '"2026/07/01 12:00"' in sandbox["summer_window"]  # UTC+2 in summer
    assert '"2026/01/15 11:00"' in sandbox["winter_window"]  # UTC+1 in winter
