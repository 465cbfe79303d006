"""fakejira: a Jira Cloud emulator on loopback (REST v3 search, bulk fetch, changelogs, worklogs, audit,
faults).

`FakeJira` runs it in-process; `python -m fakejira` runs it as a process.
"""

from fakejira.api import FakeJira

__all__ = ["FakeJira"]
