"""A site's reference entities: the catalog lists (statuses, status categories, issue types, priorities,
resolutions), each project's versions and components, the Agile boards and their sprints.

Kept apart from the issues (:mod:`fakejira.store`) because they change rarely and never through an issue:
versions and components are added or changed through the control API, never by the generator's replay.
The generated lists in :class:`~fakejira.lifecycle.SiteData` stay as generated (an issue's replay samples
its components and fix version from them, so a list that grew would reshuffle old issues); what the site
lists is those plus what was added. A generated version is the very dict issues embed, so releasing or
archiving it shows in their `fixVersions` too, as in Jira.

Everything here is JSON as Jira renders it; callers hold the site's lock for writes.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from typing import Any

from fakejira import catalog as c
from fakejira.lifecycle import SiteData

VERSION_STATUSES = ("released", "unreleased", "archived")


def status_list() -> list[dict[str, Any]]:
    """``GET /rest/api/3/status``: every status issues and changelogs use (ids are what items carry)."""
    return list(c.STATUSES.values())


def jira_status(status: dict[str, Any]) -> dict[str, Any]:
    """A status as ``/statuses/search`` shows it (global scope, category as TODO/IN_PROGRESS/DONE)."""
    return {
        "id": status["id"],
        "name": status["name"],
        "description": status["description"],
        "scope": {"type": "GLOBAL"},
        "statusCategory": c.CATEGORY_ENUM[status["statusCategory"]["key"]],
    }


def issue_type_list() -> list[dict[str, Any]]:
    """``GET /rest/api/3/issuetype``: every project of the site uses the same (company-managed) types."""
    return list(c.ISSUE_TYPES.values())


def priority_list() -> list[dict[str, Any]]:
    """``GET /rest/api/3/priority``, highest first (Jira's order)."""
    return [c.priority_details(name) for name in c.PRIORITIES]


def priority_search_list() -> list[dict[str, Any]]:
    """``/priority/search`` values: the list form plus whether each is the default."""
    return [{**p, "isDefault": p["name"] == c.DEFAULT_PRIORITY} for p in priority_list()]


def resolution_list() -> list[dict[str, Any]]:
    """``GET /rest/api/3/resolution``."""
    return list(c.RESOLUTIONS.values())


def resolution_search_list() -> list[dict[str, Any]]:
    """``/resolution/search`` values: id, name, description and whether it is the default (no `self`)."""
    return [
        {
            "id": r["id"],
            "name": r["name"],
            "description": r["description"],
            "isDefault": name == c.DEFAULT_RESOLUTION,
        }
        for name, r in c.RESOLUTIONS.items()
    ]


def user_date(iso: str) -> str:
    """Jira's `userReleaseDate`/`userStartDate`: the date in the site's default format, e.g. 28/Mar/2022."""
    day = date.fromisoformat(iso)
    return f"{day.day}/{day:%b/%Y}"


def agile_sprint(sprint: dict[str, Any]) -> dict[str, Any]:
    """A sprint as the Agile API lists it (``/board/{id}/sprint``, ``/sprint/{id}``)."""
    out: dict[str, Any] = {
        "id": sprint["id"],
        "self": f"{c.BASE}/rest/agile/1.0/sprint/{sprint['id']}",
        "state": sprint["state"],
        "name": sprint["name"],
    }
    for key in ("startDate", "endDate", "completeDate"):
        if key in sprint:
            out[key] = sprint[key]
    if "startDate" in sprint:
        out["createdDate"] = sprint["startDate"]
    out.update(originBoardId=sprint["boardId"], goal=sprint["goal"])
    return out


class ReferenceData:
    """Versions, components, boards and sprints of one site (see the module docstring)."""

    def __init__(
        self,
        data: SiteData,
        boards: list[dict[str, Any]],
        users: list[dict[str, Any]],
        now_ms: Callable[[], int],
    ) -> None:
        self.data = data
        self.boards = boards
        self.projects = data.projects
        self._project = {p["key"]: p for p in data.projects}
        self._now_ms = now_ms
        self.versions: dict[str, list[dict[str, Any]]] = {k: list(v) for k, v in data.versions.items()}
        self.components: dict[str, list[dict[str, Any]]] = {
            key: [self._full_component(comp, users) for comp in comps]
            for key, comps in data.components.items()
        }
        self._version_ids = itertools.count(
            1 + max((int(v["id"]) for vs in self.versions.values() for v in vs), default=10_999)
        )
        self._component_ids = itertools.count(
            1 + max((int(x["id"]) for xs in self.components.values() for x in xs), default=10_999)
        )

    @staticmethod
    def _full_component(comp: dict[str, Any], users: list[dict[str, Any]]) -> dict[str, Any]:
        """A generated component with what its project lists show: every other one has a lead."""
        full = dict(comp)
        cid = int(comp["id"])
        if cid % 2 == 0 and len(users) > 4:
            full["_lead"] = users[4 + cid % (len(users) - 4)]
        return full

    # ----- lookups ------------------------------------------------------------------------------------
    def project(self, id_or_key: str) -> dict[str, Any] | None:
        """The project with this key (case sensitive, as Jira) or id."""
        return self._project.get(id_or_key) or next((p for p in self.projects if p["id"] == id_or_key), None)

    def sprint(self, sprint_id: int | str) -> dict[str, Any] | None:
        try:
            return self.data.sprints_by_id.get(int(sprint_id))
        except (TypeError, ValueError):
            return None

    # ----- JSON -----------------------------------------------------------------------------------------
    def version_json(self, project: dict[str, Any], version: dict[str, Any]) -> dict[str, Any]:
        """A version as the project version lists render it: `projectId`, user dates, `overdue` (an unreleased
        version whose release date is before today on the site's clock)."""
        out = {k: v for k, v in version.items() if not k.startswith("_")}
        if "_start" in version:
            out["startDate"] = version["_start"]
            out["userStartDate"] = user_date(version["_start"])
        if out.get("releaseDate"):
            out["userReleaseDate"] = user_date(out["releaseDate"])
            if not out.get("released"):
                today = f"{datetime.fromtimestamp(self._now_ms() / 1000, UTC):%Y-%m-%d}"
                out["overdue"] = out["releaseDate"] < today
        out["projectId"] = int(project["id"])
        return out

    def component_json(
        self, project: dict[str, Any], component: dict[str, Any], issue_count: int | None = None
    ) -> dict[str, Any]:
        """A component as ``/project/{key}/components`` lists it; with `issue_count`, as the paged list."""
        out = {k: v for k, v in component.items() if not k.startswith("_")}
        if "_lead" in component:
            out["lead"] = component["_lead"]
        out.update(
            assigneeType="PROJECT_DEFAULT",
            realAssigneeType="PROJECT_DEFAULT",
            isAssigneeTypeValid=False,
            project=project["key"],
            projectId=int(project["id"]),
        )
        if issue_count is not None:
            out["issueCount"] = issue_count
        return out

    def all_versions(self) -> list[dict[str, Any]]:
        """Every version of every project, as the version lists render them."""
        return [self.version_json(self._project[k], v) for k, vs in self.versions.items() for v in vs]

    def all_components(self) -> list[dict[str, Any]]:
        return [self.component_json(self._project[k], x) for k, xs in self.components.items() for x in xs]

    def all_sprints(self) -> list[dict[str, Any]]:
        """Every sprint of every board, as the Agile API lists them."""
        return [agile_sprint(s) for board in self.data.sprints.values() for s in board]

    # ----- writes (under the site's lock) ----------------------------------------------------------
    def add_version(
        self,
        project_key: str,
        name: str,
        description: str = "",
        release_date: str | None = None,
        start_date: str | None = None,
        released: bool = False,
        archived: bool = False,
    ) -> dict[str, Any]:
        """A new version at the end of the project's list (ValueError for a name the project has)."""
        version = self._new("version", self.versions[project_key], self._version_ids, name, description)
        version.update(archived=archived, released=released)
        for key, value in (("releaseDate", release_date), ("_start", start_date)):
            if value is not None:
                date.fromisoformat(value)  # ValueError for anything but YYYY-MM-DD
                version[key] = value
        self.versions[project_key].append(version)
        return self.version_json(self._project[project_key], version)

    def find_version(self, version_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """(project, version) of a version id; KeyError if there is none."""
        for key, versions in self.versions.items():
            for version in versions:
                if version["id"] == str(version_id):
                    return self._project[key], version
        raise KeyError(str(version_id))

    def update_version(self, version_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        """Change a version's name, description, released, archived or releaseDate in place (issues that
        have it as a fix version show the change, as in Jira)."""
        project, version = self.find_version(version_id)
        allowed = {"name", "description", "released", "archived", "releaseDate"}
        unknown = set(changes) - allowed
        if unknown:
            raise ValueError(f"cannot change {sorted(unknown)} of a version (only {sorted(allowed)})")
        if changes.get("releaseDate") is not None:
            date.fromisoformat(str(changes["releaseDate"]))
        for key, value in changes.items():
            if key in ("released", "archived"):
                value = bool(value)
            if value is None:
                version.pop(key, None)
            else:
                version[key] = value
        return self.version_json(project, version)

    def add_component(
        self, project_key: str, name: str, description: str = "", lead: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """A new component of the project (ValueError for a name the project has)."""
        component = self._new(
            "component", self.components[project_key], self._component_ids, name, description
        )
        if lead is not None:
            component["_lead"] = lead
        self.components[project_key].append(component)
        return self.component_json(self._project[project_key], component)

    @staticmethod
    def _new(
        kind: str, existing: list[dict[str, Any]], ids: Iterator[int], name: str, description: str
    ) -> dict[str, Any]:
        """A new version or component (`kind`): the next id, its `self`; Jira refuses a name taken."""
        if any(x["name"] == name for x in existing):
            raise ValueError(f"A {kind} with the name '{name}' already exists in this project.")
        new_id = next(ids)
        return {
            "self": f"{c.BASE}/rest/api/3/{kind}/{new_id}",
            "id": str(new_id),
            "name": name,
            "description": description,
        }
