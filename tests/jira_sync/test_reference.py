"""The README's table reference is what `python -m jira_sync.reference` generates from the schema now: a table
or column added without rerunning the generator fails here, with the command to run."""

from __future__ import annotations

from pathlib import Path

import pytest

from jira_sync import reference
from jira_sync.model import NUMBER, VARCHAR, Column, Table
from jira_sync.schema import MANAGED_TABLES, VIEWS

RERUN = "the README's table reference is stale: run `python -m jira_sync.reference` and commit README.md"


def readme_section() -> str:
    text = reference.README.read_text()
    return text[text.index(reference.START) : text.index(reference.END) + len(reference.END)]


def test_the_readme_reference_is_what_the_generator_writes_now() -> None:
    assert readme_section() == reference.render(reference.entries()), RERUN


def test_every_table_and_view_is_listed_with_each_of_its_columns_and_its_key() -> None:
    section = readme_section()
    for table in MANAGED_TABLES:
        block = section.split(f"#### {table.name}\n", 1)[1].split("</details>", 1)[0]
        assert block.startswith("\nTable."), table.name
        for column in table.columns:
            mark = " (key)" if column.key else ""
            assert f"| `{column.name}`{mark} | {column.sql_type} |" in block, (table.name, column.name)
    for view in VIEWS:
        assert f"#### {view.name}\n\nView." in section, view.name


def test_descriptions_come_from_the_comments_beside_the_columns() -> None:
    """A comment written where a table is declared is its column's description (model.py, entity modules)."""
    entries = {entry.name: entry for entry in reference.entries()}
    state = {field.name: field for field in entries["JIRA_SYNC_STATE"].fields}
    assert state["SCOPE_JQL"].description == "The source JQL the watermark holds for"
    schema = {field.name: field for field in entries["JIRA_SYNC_SCHEMA"].fields}
    assert schema["OBJECT"].description == "A table or view name"
    knob = {field.name: field for field in entries["JIRA_SOURCES"].fields}["BATCH_SIZE"]
    assert knob.description.endswith("default 500") and " 1 to " in knob.description


def test_view_columns_are_read_from_their_select() -> None:
    status = next(entry for entry in reference.entries() if entry.name == "JIRA_SYNC_STATUS")
    types = {field.name: field.sql_type for field in status.fields}
    assert types["SOURCE"] == "VARCHAR" and types["WATERMARK"] == "TIMESTAMP_TZ"
    assert types["ENABLED"] == "BOOLEAN" and types["ISSUES_LIVE"] == "NUMBER"
    assert status.key == ("SOURCE",)
    current = next(entry for entry in reference.entries() if entry.name == "JIRA_ISSUES_CURRENT")
    assert current.key == ("SOURCE", "ID")  # a filter of one table keeps its key
    assert "IS_DELETED" not in {field.name for field in current.fields}


def test_a_new_table_appears_and_makes_the_readme_stale(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The generator takes whatever the schema holds; the check then says the README needs the rerun."""
    added = Table("JIRA_GADGETS", (Column("SOURCE", VARCHAR, key=True), Column("ID", NUMBER, key=True)))
    monkeypatch.setattr(reference, "MANAGED_TABLES", (*MANAGED_TABLES, added))
    rendered = reference.render(reference.entries())
    assert "#### JIRA_GADGETS\n\nTable." in rendered and rendered != readme_section()
    readme = tmp_path / "README.md"
    readme.write_text(reference.README.read_text())
    with pytest.raises(SystemExit) as stale:
        reference.main(["--readme", str(readme), "--check"])
    assert stale.value.code == 1
    reference.main(["--readme", str(readme)])
    assert "#### JIRA_GADGETS" in readme.read_text()
    with pytest.raises(SystemExit) as fresh:
        reference.main(["--readme", str(readme), "--check"])
    assert fresh.value.code == 0


def test_the_generator_as_documented_finds_the_readme_current() -> None:
    """`python -m jira_sync.reference --check` on the README itself: exit 0, nothing written."""
    before = reference.README.read_text()
    with pytest.raises(SystemExit) as checked:
        reference.main(["--check"])
    assert checked.value.code == 0, RERUN
    assert reference.README.read_text() == before
    assert "`python -m jira_sync.reference`" in before
