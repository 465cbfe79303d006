"""Mutation check of the safety-critical code: does some test fail for every small change a tool can make?

    python -m bench.mutation                          # deletions, bulk fetch, the client's retries and redaction
    python -m bench.mutation --targets all            # ... and the window walk and the checkpoints
    python -m bench.mutation --targets client --keep  # keep the scratch copy (mutmut's cache and results)

Runs mutmut 3 (configured in pyproject's ``[tool.mutmut]``) in a scratch copy of the repository, so the
work tree is never touched, on the functions each target names and with the tests it names: for every mutant,
mutmut runs only the tests that reach the mutated function, fastest first, until one fails. Then prints every
mutant that no test killed (file:line, function, the changed line) and a summary per target. Mutants listed
in ``EQUIVALENT`` (a change no input can observe, with the reason) are shown apart and not counted as
survivors. Exits 1 if any other mutant survived, timed out or could not be judged.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEP = "ǁ"  # mutmut's separator in a method's mangled name: xǁClassǁmethod


@dataclass(frozen=True)
class Target:
    path: str
    functions: tuple[str, ...]  # function or Class.method names ("*": every function of the file)
    tests: tuple[str, ...]

    @property
    def module(self) -> str:
        return self.path.removeprefix("src/").removesuffix(".py").replace("/", ".")

    def globs(self) -> list[str]:
        """mutmut's mutant-name patterns for these functions, e.g. jira_sync.deletions.x_listed_ids__mutmut_*"""
        if self.functions == ("*",):
            return [f"{self.module}.*"]
        return [f"{self.module}.{mangled(name)}__mutmut_*" for name in self.functions]


def mangled(name: str) -> str:
    cls, _, function = name.rpartition(".")
    return f"x{SEP}{cls}{SEP}{function}" if cls else f"x_{function}"


DEFENCES = "tests/jira_sync/test_defences.py"
CLIENT_TESTS = "tests/jira_sync/test_jira_client.py"
TARGETS = {
    "deletions": Target("src/jira_sync/deletions.py", ("*",), (DEFENCES,)),
    "bulk-fetch": Target(
        "src/jira_sync/jira/search.py",
        (
            "bulk_fetch_issues",
            "bulk_fetch",
            "bulk_fetch_stream",
            "FetchPipeline.add",
            "FetchPipeline.batches",
            "FetchPipeline.close",
            "FetchPipeline._next_call",
            "FetchPipeline._top_up",
            "_calls_by_batch",
            "_checked",
            "_fetch_chunk",
            "_is_not_found",
            "_bulk_fetch_call",
        ),
        (DEFENCES, CLIENT_TESTS, "tests/jira_sync/test_window_walk.py"),
    ),
    "concurrency": Target("src/jira_sync/jira/concurrency.py", ("*",), ("tests/jira_sync/test_concurrency.py",)),
    "client": Target(
        "src/jira_sync/jira/client.py",
        (
            # redaction
            "JiraCredentials.secrets",
            "JiraClient._error",
            "JiraClient._redact",
            "JiraClient._before_sleep",
            "_jira_messages",
            # retries: what is retried, how long to wait, when to stop
            "JiraClient._request",
            "JiraClient._send_once",
            "JiraClient._send_paced",
            "JiraClient._wait",
            "JiraClient._stop",
            "_retry_after_seconds",
            "_describe_connection_error",
        ),
        (CLIENT_TESTS, DEFENCES),
    ),
    "walk": Target("src/jira_sync/incremental.py", ("*",), ("tests/jira_sync/test_window_walk.py",)),
    "checkpoints": Target(
        "src/jira_sync/warehouse.py",
        (
            "Warehouse.commit_batch",
            "Warehouse.complete_window",
            "Warehouse._checkpoint",
            "Warehouse.read_state",
            "Warehouse.write_state",
        ),
        (
            "tests/jira_sync/test_warehouse.py",
            "tests/jira_sync/test_window_walk.py",
            "tests/jira_sync/test_run_cost.py",
        ),
    ),
}
DEFAULT_TARGETS = ("deletions", "bulk-fetch", "client")

_LISTED = 'for issue in iter_search_issues(client, f"({jql}) ORDER BY id ASC", fields=["id"], max_results=5000):'
EQUIVALENT: list[tuple[str, str, str, str]] = [
    # (function, line before, line after, why no input can tell them apart): compared without indentation;
    # a `before` line that the function has more than once carries "#N" (its N-th occurrence, from 1) at the end.
    (
        "listed_ids",
        _LISTED,
        _LISTED.replace('fields=["id"], ', ""),
        "iter_search_issues asks for fields=('id',) by default",
    ),
    (
        "listed_ids",
        _LISTED,
        _LISTED.replace("max_results=5000", ""),
        "iter_search_issues asks for max_results=5000 by default",
    ),
    (
        "listed_ids",
        _LISTED,
        _LISTED.replace("5000", "5001"),
        "Jira serves at most 5,000 ids a page, however many are asked for",
    ),
    (
        "_is_not_found",
        'text = str(error.get("errorMessage") or "").lower()',
        'text = str(error.get("errorMessage") or "XXXX").lower()',
        'neither "" nor "xxxx" contains "does not exist" or "permission"',
    ),
    *(
        (
            "_fetch_chunk",
            'placed.add(str(issue.get("id")))#2',
            after,
            "the trailing loop's `placed` only guards against an issue returned twice, which Jira never does "
            "(one answer lists an issue once; the retry asks only for ids the first answer did not serve)",
        )
        for after in (
            "placed.add(None)",
            "placed.add(str(None))",
            "placed.add(str(issue.get(None)))",
            'placed.add(str(issue.get("XXidXX")))',
            'placed.add(str(issue.get("ID")))',
        )
    ),
    *(
        (
            "_retry_after_seconds",
            'value = (response.headers.get("Retry-After") or "").strip()',
            after,
            "requests' headers are case-insensitive, and an absent header and a nonsense one both give None",
        )
        for after in (
            'value = (response.headers.get("retry-after") or "").strip()',
            'value = (response.headers.get("RETRY-AFTER") or "").strip()',
            'value = (response.headers.get("Retry-After") or "XXXX").strip()',
        )
    ),
    (
        "_jira_messages",
        'text = redact(response.content.decode("utf-8", "replace"))[:_MAX_MESSAGE_CHARS].strip()',
        'text = redact(response.content.decode("UTF-8", "replace"))[:_MAX_MESSAGE_CHARS].strip()',
        "codec names are case-insensitive",
    ),
    *(
        (
            "JiraClient._request",
            "reraise=False,",
            after,
            "tenacity's default is reraise=False, and None is false",
        )
        for after in ("reraise=None,", "")
    ),
    (
        "JiraClient._wait",
        'retry_after = getattr(exc, "retry_after", None) or 0.0',
        'retry_after = getattr(exc, "retry_after", ) or 0.0',
        "only _Transient is retried, and every _Transient has retry_after",
    ),
    *(
        (
            "_describe_connection_error",
            'permanent = cause.errno in {socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)}',
            after,
            "the default only counts where socket has no EAI_NODATA; Linux (and Snowflake's Python) has it",
        )
        for after in (
            'permanent = cause.errno in {socket.EAI_NONAME, getattr(socket, "EAI_NODATA", None)}',
            'permanent = cause.errno in {socket.EAI_NONAME, getattr(socket, "EAI_NODATA", )}',
        )
    ),
    *(
        (
            "JiraClient._send_once",
            "JiraClient._send_paced",
            'raise _Transient("truncated", f"the body broke off ({_innermost_text(exc)})") from None',
            f'raise _Transient({kind}, f"the body broke off ({{_innermost_text(exc)}})") from None',
            "_exhausted_message words every kind but status, connect and timeout alike",
        )
        for kind in ("None", '"XXtruncatedXX"', '"TRUNCATED"')
    ),
    *(
        (
            "Warehouse._checkpoint",
            'self._upsert(STATE, [row], update_columns=[k for k in row if k != "SOURCE"])',
            f'self._upsert(STATE, [row], update_columns=[k for k in row if k != "{key}"])',
            'the MERGE matches on SOURCE, so also setting "SOURCE" to the incoming value changes nothing',
        )
        for key in ("XXSOURCEXX", "source")
    ),
    (
        "WindowWalk.batches",
        "if value <= newest and (confirmed is None or value > confirmed):",
        "if value <= newest and (confirmed is None or value >= confirmed):",
        "when the value equals `confirmed`, assigning it changes nothing",
    ),
    (
        "WindowWalk.__init__",
        "self.complete = False",
        "self.complete = None",
        "`complete` is only read as a truth value (`not self.complete`), and None is false as False is",
    ),
    (
        "WindowWalk.__init__",
        "self.newest_indexed: datetime | None = None",
        'self.newest_indexed: datetime | None = ""',
        "read only once `complete` is set, which `batches()` does after setting `newest_indexed`; before "
        "that `final_watermark` returns None whatever it holds",
    ),
    *(
        (
            "_describe_connection_error",
            'return "the server closed the connection without answering", False',
            after,
            "unreachable: http.client.RemoteDisconnected is a ConnectionResetError, caught by the branch before",
        )
        for after in (
            'return "XXthe server closed the connection without answeringXX", False',
            'return "THE SERVER CLOSED THE CONNECTION WITHOUT ANSWERING", False',
            'return "the server closed the connection without answering", True',
        )
    ),
]

# mutmut's exit codes (mutmut/__main__.py, status_by_exit_code)
KILLED = {1, 3}
SURVIVED = {0}
TIMEOUT = {24, -24, 36, 152, 255}
NO_TESTS = {5, 33}


def status_of(code: int | None) -> str:
    if code is None:
        return "not checked"
    for name, codes in (
        ("killed", KILLED),
        ("survived", SURVIVED),
        ("timeout", TIMEOUT),
        ("no tests", NO_TESTS),
    ):
        if code in codes:
            return name
    return {34: "skipped", 37: "type check"}.get(code, f"suspicious ({code})")


def mutmut_executable() -> Path:
    path = Path(sys.executable).with_name("mutmut")
    if not path.exists():
        sys.exit(f"mutmut is not installed beside {sys.executable}: run `make test` (installs .[dev]) first")
    return path


def scratch_copy(workdir: Path, targets: Sequence[Target], deselect: Sequence[str] = ()) -> None:
    """src/, tests/, bench/ and pyproject.toml, with [tool.mutmut] narrowed to these targets' files and tests
    (less the `deselect`ed ones: mutmut needs every selected test green before it starts)."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", "mutants")
    for name in ("src", "tests", "bench"):
        shutil.copytree(ROOT / name, workdir / name, ignore=ignore, dirs_exist_ok=True)
    text = (ROOT / "pyproject.toml").read_text()
    config = tomllib.loads(text).get("tool", {}).get("mutmut", {})
    config["only_mutate"] = sorted({t.path for t in targets})
    config["pytest_add_cli_args_test_selection"] = sorted({test for t in targets for test in t.tests})
    config["pytest_add_cli_args"] = [
        *config.get("pytest_add_cli_args", []),
        *(f"--deselect={d}" for d in deselect),
    ]
    section = "\n".join(f"{key} = {json.dumps(value, ensure_ascii=False)}" for key, value in config.items())
    text = re.sub(r"(?ms)^\[tool\.mutmut\]\n.*?(?=^\[|\Z)", "", text)
    (workdir / "pyproject.toml").write_text(f"{text.rstrip()}\n\n[tool.mutmut]\n{section}\n")


def run_mutmut(workdir: Path, globs: Iterable[str], max_children: int) -> float:
    log = workdir / "mutmut.log"
    command = [str(mutmut_executable()), "run", "--max-children", str(max_children), *globs]
    print(f"mutmut run in {workdir} (log: {log}) ...", flush=True)
    started = time.monotonic()
    with log.open("w") as out:
        done = subprocess.run(command, cwd=workdir, stdout=out, stderr=subprocess.STDOUT, check=False)
    seconds = time.monotonic() - started
    if done.returncode != 0:
        tail = log.read_text(errors="replace").replace("\r", "\n").splitlines()[-30:]
        sys.exit("mutmut failed:\n" + "\n".join(tail))
    return seconds


def results(workdir: Path, target: Target) -> dict[str, int | None]:
    meta = workdir / "mutants" / f"{target.path}.meta"
    codes = json.loads(meta.read_text())["exit_code_by_key"] if meta.exists() else {}
    pattern = re.compile("|".join(re.escape(g).replace(r"\*", ".*") + "$" for g in target.globs()))
    return {name: code for name, code in codes.items() if pattern.match(name)}


@dataclass(frozen=True)
class Change:
    function: str
    line: int
    before: list[str]
    after: list[str]


def change_of(workdir: Path, target: Target, mutant: str) -> Change:
    """Where a mutant changes the file (line in the original source) and the lines before and after."""
    shown = subprocess.run(
        [str(mutmut_executable()), "show", mutant], cwd=workdir, capture_output=True, text=True, check=False
    ).stdout.splitlines()
    key = mutant.rpartition(".")[2].rsplit("__mutmut_", 1)[0]
    function = key.removeprefix("x_") if not key.startswith(f"x{SEP}") else ".".join(key.split(SEP)[1:])
    start = function_line(ROOT / target.path, function)
    before: list[str] = []
    after: list[str] = []
    first = None
    old_line = 0
    for text in shown:
        if text.startswith("@@"):
            old_line = int(re.match(r"@@ -(\d+)", text).group(1)) if re.match(r"@@ -(\d+)", text) else 0
        elif text.startswith(("---", "+++", "#")):
            continue
        elif text.startswith("-"):
            first = first or old_line
            before.append(text[1:])
            old_line += 1
        elif text.startswith("+"):
            first = first or old_line
            after.append(text[1:])
        else:
            old_line += 1
    return Change(function, start + (first or 1) - 1, before, after)


def function_line(path: Path, name: str) -> int:
    """The `def` line of a function or Class.method in `path` (1 if not found)."""
    return function_span(path, name)[0]


def function_span(path: Path, name: str) -> tuple[int, int]:
    """The first (`def`) and last line of a function or Class.method in `path` ((1, 1) if not found)."""
    cls, _, function = name.rpartition(".")
    for node in ast.walk(ast.parse(path.read_text())):
        body = node.body if isinstance(node, ast.ClassDef) and node.name == cls else None
        if cls and body is None:
            continue
        for child in body if body is not None else [node]:
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) and child.name == function:
                return child.lineno, child.end_lineno or child.lineno
    return 1, 1


def is_equivalent(change: Change, path: Path) -> str | None:
    before = [line.strip() for line in change.before]
    after = [line.strip() for line in change.after if line.strip()]
    while before and after and before[-1] == after[-1]:  # libcst re-flows a call's closing line
        before, after = before[:-1], after[:-1]
    if len(before) != 1:
        return None
    lines = path.read_text().splitlines()
    start, end = function_span(path, change.function)
    same = [n for n in range(start, end + 1) if lines[n - 1].strip() == before[0]]
    occurrence = f"#{same.index(change.line) + 1}" if change.line in same and len(same) > 1 else ""
    for function, old, new, reason in EQUIVALENT:
        same_line = function == change.function and old.strip() in (before[0], before[0] + occurrence)
        if same_line and after == ([new.strip()] if new.strip() else []):
            return reason
    return None


def report(workdir: Path, chosen: dict[str, Target], seconds: float) -> int:
    rows = []
    bad = 0
    for name, target in chosen.items():
        found = results(workdir, target)
        counts: Counter[str] = Counter()
        for mutant, code in sorted(found.items(), key=lambda item: mutant_order(item[0])):
            status = status_of(code)
            if status == "killed":
                counts[status] += 1
                continue
            change = change_of(workdir, target, mutant)
            reason = is_equivalent(change, ROOT / target.path) if status == "survived" else None
            counts["equivalent" if reason else status] += 1
            bad += reason is None
            heading = f"equivalent ({reason})" if reason else status.upper()
            print(f"\n{target.path}:{change.line}  {change.function}  {heading}  [{mutant}]")
            for line in change.before:
                print(f"    - {line.strip()}")
            for line in change.after:
                print(f"    + {line.strip()}")
        other = sum(v for k, v in counts.items() if k not in ("killed", "survived", "equivalent", "timeout"))
        rows.append(
            (
                name,
                len(found),
                counts["killed"],
                counts["survived"],
                counts["timeout"],
                counts["equivalent"],
                other,
            )
        )
    print(f"\nMutation check ({seconds:.0f} s, mutmut in {workdir})")
    header = ("target", "mutants", "killed", "survived", "timeout", "equivalent", "other")
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(str(cell).rjust(width) for cell, width in zip(row, widths, strict=True)))
    totals = [sum(row[i] for row in rows) for i in range(1, len(header))]
    print("  ".join(str(cell).rjust(width) for cell, width in zip(["total", *totals], widths, strict=True)))
    return 1 if bad else 0


def mutant_order(name: str) -> tuple[str, int]:
    stem, _, number = name.rpartition("__mutmut_")
    return stem, int(number) if number.isdigit() else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--targets", default=",".join(DEFAULT_TARGETS), help=f"comma-separated, or all ({', '.join(TARGETS)})"
    )
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 2, help="mutants run at once")
    parser.add_argument("--workdir", type=Path, help="scratch copy to use (kept; reused as mutmut's cache)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch copy of a temporary workdir")
    parser.add_argument(
        "--deselect", action="append", default=[], metavar="NODEID", help="leave out a (red) test; repeatable"
    )
    parser.add_argument(
        "--mutants", nargs="+", metavar="NAME", help="run only these mutants (names or globs) of the targets"
    )
    args = parser.parse_args(argv)
    names = (
        list(TARGETS) if args.targets == "all" else [n.strip() for n in args.targets.split(",") if n.strip()]
    )
    unknown = [n for n in names if n not in TARGETS]
    if unknown:
        parser.error(f"unknown targets {unknown}; choose from {', '.join(TARGETS)} or all")
    chosen = {name: TARGETS[name] for name in names}
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="jira-sync-mutation-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        scratch_copy(workdir, list(chosen.values()), args.deselect)
        globs = args.mutants or [g for t in chosen.values() for g in t.globs()]
        seconds = run_mutmut(workdir, globs, args.max_children)
        return report(workdir, chosen, seconds)
    finally:
        if args.workdir is None and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
