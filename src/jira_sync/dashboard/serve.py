"""The dashboard on a laptop: `jira-sync dashboard` serves streamlit_app.py with Streamlit. Local only.

The command checks its options, then becomes `python -m streamlit run streamlit_app.py` (exec: Ctrl-C and
signals reach Streamlit itself), telling the app where to read in two environment variables. The app's
`active_session` finds no Snowflake session there and calls `local_session`, which opens that warehouse once
for the life of the Streamlit process. An embedded warehouse is a DuckDB file, which one process at a time may
open: stop the dashboard before `jira-sync run` writes to the same folder.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snowflake.snowpark import Session

APP = Path(__file__).with_name("streamlit_app.py")
WAREHOUSE_VARIABLE = "JIRA_SYNC_DASHBOARD_WAREHOUSE"
CONNECTION_VARIABLE = "JIRA_SYNC_DASHBOARD_CONNECTION"
_open_warehouses = contextlib.ExitStack()
atexit.register(_open_warehouses.close)


def streamlit_command(port: int, address: str) -> list[str]:
    """`streamlit run` of the app: no browser opened, no usage statistics sent, no file watcher, and the
    toolbar a viewer gets (no "Deploy" button: this app deploys with `snow streamlit deploy`)."""
    return [
        sys.executable, "-m", "streamlit", "run", str(APP),
        "--server.port", str(port),
        "--server.address", address,
        "--server.headless", "true",
        "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none",
        "--client.toolbarMode", "viewer",
    ]  # fmt: skip


def app_environment(warehouse_spec: str | None, connection: str | None) -> dict[str, str]:
    """This process's environment with where the app is to read: a `local:DIR` warehouse or a connection."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in (WAREHOUSE_VARIABLE, CONNECTION_VARIABLE)
    }
    if connection:
        environment[CONNECTION_VARIABLE] = connection
    elif warehouse_spec:
        environment[WAREHOUSE_VARIABLE] = warehouse_spec
    return environment


def exec_dashboard(port: int, address: str, warehouse_spec: str | None, connection: str | None) -> None:
    """Replace this process with Streamlit serving the app (never returns)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, streamlit_command(port, address), app_environment(warehouse_spec, connection))


def local_session(environment: Mapping[str, str] = os.environ) -> Session:
    """A session on the warehouse named in the environment, kept open until the process ends."""
    from jira_sync.local_warehouse import open_warehouse

    spec, connection = environment.get(WAREHOUSE_VARIABLE), environment.get(CONNECTION_VARIABLE)
    if not spec and not connection:
        raise RuntimeError(
            "No Snowflake session: start the dashboard with `jira-sync dashboard` on a laptop, or deploy it "
            "with `snow streamlit deploy`"
        )
    return _open_warehouses.enter_context(open_warehouse(spec, connection))


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def serving(
    warehouse_spec: str | None = None, connection: str | None = None, *, log: Path | None = None
) -> Iterator[str]:
    """`jira-sync dashboard` in a subprocess on a free loopback port, until the block ends: its URL.

    For the browser test and the screenshot: the command as a person runs it, Streamlit and all. Its output
    goes to `log` (or nowhere); if it dies before it answers, the error says what it printed."""
    port = free_port()
    command = [sys.executable, "-m", "jira_sync.cli", "dashboard", "--port", str(port)]
    command += ["--connection", connection] if connection else ["--warehouse", warehouse_spec or ""]
    url = f"http://127.0.0.1:{port}"
    with contextlib.ExitStack() as stack:
        output = stack.enter_context(log.open("wb")) if log is not None else subprocess.DEVNULL
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_until_up(url, process, log)
            yield url
        finally:
            process.terminate()  # Streamlit itself (the command execs it): it stops and closes the warehouse
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path | None, timeout: float = 60) -> None:
    """Wait for Streamlit's health check at `url` to answer; RuntimeError if the process ends first,
    TimeoutError if it does not answer in time."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            printed = log.read_text(errors="replace")[-2000:] if log is not None else "(no log kept)"
            raise RuntimeError(f"jira-sync dashboard ended with exit code {process.returncode}:\n{printed}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"the dashboard at {url} did not answer within {timeout:.0f} s")
        time.sleep(0.2)
