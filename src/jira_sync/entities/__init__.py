"""Every Jira entity the connector syncs besides issues: one module per entity, found here by itself.

A module in this package that defines `ENTITY` (a `ReferenceEntity`, `IssueChildEntity` or `FeedEntity`,
see base.py) is an entity: adding an entity is adding one file. `ENTITIES` lists them in the order a run
takes them, each after the entities it `requires`; a source picks them by name (JIRA_SOURCES.ENTITIES).
"""

from __future__ import annotations

import graphlib
import importlib
import pkgutil

from jira_sync.entities.base import Entity, FeedEntity, IssueChildEntity, ReferenceEntity

ISSUES_ENTITY = "issues"
"""The name the issues themselves go by in a source's ENTITIES (always synced: every other entity hangs on
them or on their scope)."""


def _discover() -> tuple[Entity, ...]:
    found: dict[str, Entity] = {}
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if module.name == "base":
            continue
        entity = getattr(importlib.import_module(f"{__name__}.{module.name}"), "ENTITY", None)
        if entity is not None:
            if entity.name in found or entity.name == ISSUES_ENTITY:
                raise ValueError(f"two entities are named {entity.name!r}")
            found[entity.name] = entity
    order = graphlib.TopologicalSorter({name: set(e.requires) for name, e in found.items()})
    return tuple(found[name] for name in order.static_order())


ISSUES_ONLY = (ISSUES_ENTITY,)
"""A source's ENTITIES to sync issues alone."""

ENTITIES: tuple[Entity, ...] = _discover()
ENTITY_NAMES: tuple[str, ...] = (ISSUES_ENTITY, *(e.name for e in ENTITIES))
ENTITY_TABLES = tuple(e.table for e in ENTITIES)


def selected(names: tuple[str, ...] | None) -> tuple[Entity, ...]:
    """The entities a source syncs: those named (with what they require), or all when `names` is None."""
    if names is None:
        return ENTITIES
    wanted = set(names)
    todo = list(wanted)
    by_name = {e.name: e for e in ENTITIES}
    while todo:
        name = todo.pop()
        for required in by_name[name].requires if name in by_name else ():
            if required not in wanted:
                wanted.add(required)
                todo.append(required)
    return tuple(e for e in ENTITIES if e.name in wanted)


__all__ = [
    "ENTITIES",
    "ENTITY_NAMES",
    "ENTITY_TABLES",
    "ISSUES_ENTITY",
    "ISSUES_ONLY",
    "Entity",
    "FeedEntity",
    "IssueChildEntity",
    "ReferenceEntity",
    "selected",
]
