"""fakejira: a Jira Cloud emulator on loopback (REST v3 search, bulk fetch, changelogs, comments, worklogs,
reference lists, project versions and components, Agile boards and sprints, audit, faults) with the ground
truth a sync is compared with (see fakejira.store and fakejira.api).

`FakeJira` runs it in-process; `python -m fakejira` runs it as a process.
"""

from fakejira.api import FakeJira

__all__ = ["FakeJira"]
