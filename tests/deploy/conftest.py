"""Fixtures of the deploy tests: the documented set-up run once per test session with the real `snow` CLI.

`flow` copies the project to a temporary folder and runs, in this order, every command of the README's
"Setting it up in Snowflake" section (SQL typed in a worksheet included), the commands the headers of
sql/secret_bearer.sql and sql/task_warehouse.sql document, and the README's "Removing it" section, against one
recording account (walkthrough.py, recording.py). `clean_venv` is a virtualenv holding only the packages the
procedures get from Snowflake (their PACKAGES), to import the uploaded artifact in.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from snippets import ROOT
from walkthrough import COPY_IGNORE, STEPS, TOKENS, Flow, run_commands, step_commands


@pytest.fixture(scope="session")
def flow(tmp_path_factory: pytest.TempPathFactory) -> Flow:
    """The documented set-up, bearer switch, warehouse task and removal, run once against a recording account."""
    base = tmp_path_factory.mktemp("deploy")
    shutil.copytree(ROOT, base / "project", ignore=COPY_IGNORE)
    steps = [
        (label, step_commands(base / "project", label, source), TOKENS[token])
        for label, source, token in STEPS
    ]
    return run_commands(base, steps)


@pytest.fixture(scope="session")
def clean_venv(tmp_path_factory: pytest.TempPathFactory, flow: Flow) -> Path:
    """A virtualenv with only the procedures' PACKAGES (as Snowflake installs them), no tzdata: its python."""
    packages = (flow.project / "requirements.snowflake.txt").read_text().split()
    pins = {"snowflake-snowpark-python": "snowflake-snowpark-python==1.53.0"}  # pyproject's pin
    venv = tmp_path_factory.mktemp("clean") / "venv"
    uv = Path(sys.executable).with_name("uv")
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, venv], check=True, timeout=120)
    python = venv / "bin" / "python"
    install = [uv, "pip", "install", "-q", "--python", python, *(pins.get(name, name) for name in packages)]
    subprocess.run(install, check=True, timeout=600)
    return python
