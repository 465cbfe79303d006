"""`python -m jira_sync.artifact`: the procedures' code as one zip, `output/jira_sync.zip` (snowflake.yml's
artifact; `snow snowpark deploy` uploads it and names it in IMPORTS). Local only: never deployed.

The zip holds the jira_sync modules the handlers import, directly or not, at module level or inside a function,
and nothing else of the repository (not the emulator, not cli.py, demo.py, local_warehouse.py, nor this file),
plus the pure-Python `tzdata` package: inside Snowflake, `zoneinfo` may find no system zone database, and
Snowflake's Anaconda channel names conda's IANA data package `tzdata` (no importable module). Snowflake puts
an IMPORTS zip on `sys.path`, where `zoneinfo` reads tzdata's files through importlib.resources.

A prebuilt zip, because snow 3.30 cannot leave files of a package out of a directory artifact: snowflake.yml
accepts `ignore:` on an artifact, but the Snowpark build drops it (snowflake/cli/_plugins/snowpark/common.py,
zip_and_copy_artifacts_to_deploy), and a glob makes a zip per pattern.
"""

from __future__ import annotations

import argparse
import ast
import importlib.metadata
import importlib.util
import zipfile
from collections.abc import Iterable
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parent.parent  # the folder holding the jira_sync package
HANDLER_MODULES = ("jira_sync.procedure",)  # where snowflake.yml's handlers live
DEFAULT_OUT = Path("output/jira_sync.zip")
DISCOVERING_PACKAGES = ("jira_sync.entities",)
"""Packages that import their modules by discovery (pkgutil), not by name: all their modules go in."""
_FIXED_TIME = (2020, 1, 1, 0, 0, 0)  # the same sources give the same bytes


def module_path(name: str, root: Path = PACKAGE_ROOT) -> Path | None:
    """The file of a module or package, or None if `name` is neither (an attribute imported by name)."""
    base = root / name.replace(".", "/")
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def runtime_modules(entries: Iterable[str] = HANDLER_MODULES, root: Path = PACKAGE_ROOT) -> set[str]:
    """The jira_sync modules the entry modules import, transitively: every `import` statement counts,
    at module level or inside a function (a lazy import runs in Snowflake too), and a package's parents."""
    found: set[str] = set()
    todo = list(entries)
    while todo:
        name = todo.pop()
        path = module_path(name, root)
        if name in found or path is None or name.partition(".")[0] != "jira_sync":
            continue
        found.add(name)
        todo.append(name.rpartition(".")[0])
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        if name in DISCOVERING_PACKAGES:
            todo += [f"{name}.{m.stem}" for m in sorted(path.parent.glob("*.py")) if m.stem != "__init__"]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                todo += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = importlib.util.resolve_name("." * node.level + (node.module or ""), package)
                todo += [base, *(f"{base}.{alias.name}" for alias in node.names)]
    return found


def tzdata_files() -> list[tuple[Path, str]]:
    """(file, name in the zip) of the installed tzdata: the package, its metadata and its licenses."""
    distribution = importlib.metadata.distribution("tzdata")
    files = []
    for entry in distribution.files or ():
        name = entry.as_posix()
        keep = (
            name.startswith("tzdata/")
            or name.endswith(("/METADATA", "/top_level.txt"))
            or "/licenses/" in name
        )
        if keep and not name.endswith(".pyc") and "__pycache__" not in name:
            files.append((Path(str(entry.locate())), name))
    if not any(name == "tzdata/__init__.py" for _, name in files):
        raise SystemExit("tzdata is not installed here: pip install tzdata (pyproject.toml lists it)")
    return files


def build(out: Path = DEFAULT_OUT, root: Path = PACKAGE_ROOT) -> list[str]:
    """Write the zip; return the names in it."""
    members = [(module_path(name, root), name) for name in sorted(runtime_modules(root=root))]
    files = [(path, path.relative_to(root).as_posix()) for path, _ in members if path is not None]
    files += tzdata_files()
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bundle:
        for path, name in sorted(files, key=lambda item: item[1]):
            info = zipfile.ZipInfo(name, _FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            bundle.writestr(info, path.read_bytes())
    return sorted(name for _, name in files)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m jira_sync.artifact", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"the zip to write ({DEFAULT_OUT})")
    out = parser.parse_args(argv).out
    names = build(out)
    modules = sum(name.startswith("jira_sync/") for name in names)
    print(f"{out}: {modules} jira_sync modules and tzdata ({len(names) - modules} files)")


if __name__ == "__main__":
    main()
