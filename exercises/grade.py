"""Grade the exercises: run the graders in-process and print a score table.

Usage (from the repository root)::

    python -m exercises.grade                    # your code, every chapter
    python -m exercises.grade --chapter 0        # only exercises/ch00_*.py
    python -m exercises.grade --only snowflake-encode   # one exercise (unknown: exit 2)
    python -m exercises.grade --solution         # the reference solution, for comparison
    python -m exercises.grade --impl ch10_backoff=mine       # grade module mine instead
    python -m exercises.grade --json results.json            # Gradescope-style results
    python -m exercises.grade --solution --expect full       # CI: the reference scores 100%
    python -m exercises.grade --expect zero --only-if-untouched   # CI: the stubs score 0%

Discovery is by file name: ``exercises/graders/test_chNN_<topic>.py`` grades the starter
``exercises/chNN_<topic>.py``, and ``NN`` is its chapter (``ch00`` holds the unique ids).
Points come from each test's ``@pytest.mark.exercise(name=..., points=..., hint=...)``
marker; an exercise with several tests earns its points only when all of them pass. A failed
exercise shows the hint of its first failing test and why it failed: the first line of the
error, and the input that made it fail (hypothesis' failing example, the grader's call that
raised inside the code under test with the values it passed, or a parametrized test's case)
once the code runs at all.
``--impl STARTER=MODULE`` names the starter by its module (``exercises.ch10_backoff``) or by
its file's stem (``ch10_backoff``); a starter that no selected grader grades is refused.

Exit status: 0 after grading; 1 when ``--expect`` is not met; 2 when the graders themselves
cannot run (a grader that fails to import, a test without a valid marker) or on bad options
(``--only`` with a name no grader declares: the message lists the valid ones).
The output is deterministic (exercises in grader order, no timings), so notebooks can show it.

Examples
--------
>>> chapter_of("test_ch10_dedupe.py"), chapter_of("ch00_unique_ids.py"), chapter_of("x.py")
(10, 0, None)
>>> resolve_impl(["ch00_unique_ids=my_ids"])
('exercises.ch00_unique_ids=my_ids',)
>>> failing_example("Failing test case: test_x(impl=<module 'm'>, x=50)")
'x=50'
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import json
import os
import re
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

__all__ = [
    "GRADERS_DIR",
    "ExerciseResult",
    "GradeReport",
    "chapter_of",
    "check_expectation",
    "failing_example",
    "format_table",
    "grader_files",
    "gradescope_results",
    "main",
    "resolve_impl",
    "run_graders",
    "starters_edited",
    "unknown_exercise",
]

EXERCISES_DIR = Path(__file__).resolve().parent
REPO_ROOT = EXERCISES_DIR.parent
GRADERS_DIR = EXERCISES_DIR / "graders"
ALL_OR_NOTHING = "An exercise earns its points only when all of its tests pass."
REASON_MAX_CHARS = 160
EXAMPLE_MAX_CHARS = 160
HYPOTHESIS_STORAGE_VARIABLE = "HYPOTHESIS_STORAGE_DIRECTORY"
TABLE_WIDTH = 96

_CHAPTER_FILE = re.compile(r"^(?:test_)?ch(\d{2})_\w+\.py$")


def chapter_of(filename: str) -> int | None:
    """The chapter of a starter or grader file, from its ``chNN_`` prefix (None if absent)."""
    match = _CHAPTER_FILE.match(Path(filename).name)
    return int(match.group(1)) if match else None


def grader_files(directory: Path = GRADERS_DIR, chapter: int | None = None) -> list[Path]:
    """The grader files ``test_chNN_*.py`` in ``directory``, sorted, of one chapter or all.

    Raises
    ------
    ValueError
        If a ``test_*.py`` file there does not follow the ``test_chNN_<topic>.py`` pattern
        (it would otherwise be silently left out of every grade).
    """
    files = sorted(directory.glob("test_*.py"))
    misnamed = [f.name for f in files if chapter_of(f.name) is None]
    if misnamed:
        raise ValueError(
            f"grader files must be named test_chNN_<topic>.py; rename {', '.join(misnamed)}"
        )
    return [f for f in files if chapter is None or chapter_of(f.name) == chapter]


STARTERS_PACKAGE = "exercises"
STARTERS_PATHSPEC = "exercises/ch[0-9][0-9]_*.py"


def _graded_starter(grader: Path) -> str:
    """The starter module a grader file grades, read without importing the grader.

    The same rule as ``exercises.graders.conftest.starter_name``: a module-level string
    ``STARTER = "..."`` if the grader sets one, else ``exercises.<stem without test_>``.
    (Importing the grader here would keep pytest from rewriting its asserts later.)
    """
    for node in ast.parse(grader.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign):
            targets = [node.target]
        else:
            continue
        value = node.value
        if (
            [getattr(t, "id", None) for t in targets] == ["STARTER"]
            and isinstance(value, ast.Constant)
            and isinstance(value.value, str)
            and value.value
        ):
            return value.value
    return f"{STARTERS_PACKAGE}.{grader.stem.removeprefix('test_')}"


def resolve_impl(
    specs: Sequence[str], graders_dir: Path = GRADERS_DIR, chapter: int | None = None
) -> tuple[str, ...]:
    """Check ``--impl STARTER=MODULE`` options; return them with full starter module names.

    ``STARTER`` is a starter module (``exercises.ch10_backoff``) or, without a dot, the
    stem of its file (``ch10_backoff``), which means ``exercises.ch10_backoff``.

    Raises
    ------
    ValueError
        For a spec that is not ``STARTER=MODULE``, a starter that no grader (of
        ``chapter``, when given) grades, which would silently grade the starter instead,
        or one starter replaced twice; also if a grader file is misnamed.
    """
    if not specs:
        return ()
    files = grader_files(graders_dir, chapter)
    graded = {_graded_starter(f) for f in files}
    scope = f" of chapter {chapter}" if chapter is not None else ""
    resolved: dict[str, str] = {}
    for spec in specs:
        starter, sep, module = (part.strip() for part in spec.partition("="))
        if not (sep and starter and module):
            raise ValueError(
                f"--impl {spec!r} is invalid: expected STARTER=MODULE, "
                "e.g. ch00_unique_ids=my_submission"
            )
        if "." not in starter:  # the short form: a starter file's stem
            starter = f"{STARTERS_PACKAGE}.{starter}"
        if starter not in graded:
            known = ", ".join(sorted(graded)) or "none"
            raise ValueError(
                f"--impl {spec!r}: no grader{scope} grades a starter {starter!r}, so "
                f"{module!r} would never be graded; the starters{scope} are: {known}"
            )
        if resolved.setdefault(starter, module) != module:
            raise ValueError(f"--impl replaces {starter} twice: pass one module for it")
    return tuple(f"{starter}={module}" for starter, module in resolved.items())


@dataclass(frozen=True, slots=True)
class ExerciseResult:
    """One exercise's outcome: its points are earned only if every one of its tests passed."""

    name: str
    group: str  # the starter's stem, e.g. "ch00_unique_ids"
    chapter: int
    points: int
    passed_tests: tuple[str, ...]
    failed_tests: tuple[str, ...]
    hint: str  # the hint of the first failing test ("" when all pass)
    reason: str  # the first line of why the first failing test failed ("" when all pass)

    @property
    def failure(self) -> str:
        """``"test_name: reason"`` for the first failing test ("" when all pass).

        Kept apart in :attr:`failed_tests` and :attr:`reason`: a parametrized test's name
        may itself hold ``": "`` (``test_x[{'limit': 0}]``), so this string cannot be split.
        """
        if not self.failed_tests:
            return ""
        return f"{self.failed_tests[0]}: {self.reason}"

    @property
    def tests_total(self) -> int:
        return len(self.passed_tests) + len(self.failed_tests)

    @property
    def tests_passed(self) -> int:
        return len(self.passed_tests)

    @property
    def passed(self) -> bool:
        return self.tests_total > 0 and self.tests_passed == self.tests_total

    @property
    def earned(self) -> int:
        return self.points if self.passed else 0

    def summary_line(self) -> str:
        """``✓ name: 2/2`` or ``✗ name: 0/2 — hint: ...``."""
        if self.passed:
            return f"✓ {self.name}: {self.earned}/{self.points}"
        return (
            f"✗ {self.name}: {self.earned}/{self.points} — hint: {self.hint} "
            f"({self.tests_passed}/{self.tests_total} tests pass)"
        )


@dataclass(frozen=True, slots=True)
class GradeReport:
    """A grading run: per-exercise results in grader order, and problems with the graders."""

    target: str  # what was graded, for the table's title
    results: tuple[ExerciseResult, ...]
    errors: tuple[str, ...]
    known_exercises: tuple[str, ...]  # every exercise name collected, before any filter

    @property
    def score(self) -> int:
        return sum(r.earned for r in self.results)

    @property
    def max_score(self) -> int:
        return sum(r.points for r in self.results)

    @property
    def tests_total(self) -> int:
        return sum(r.tests_total for r in self.results)

    @property
    def tests_passed(self) -> int:
        return sum(r.tests_passed for r in self.results)


@dataclass(slots=True)
class _Test:
    nodeid: str
    exercise: str
    points: int
    hint: str
    group: str
    chapter: int
    passed: bool | None = None  # None: no call phase reported yet
    reason: str = ""
    call_site: str = ""  # the grader's call that raised inside the code under test


def _first_line(text: str) -> str:
    for line in str(text).splitlines():
        line = line.strip()
        if line:
            return line if len(line) <= REASON_MAX_CHARS else line[: REASON_MAX_CHARS - 1] + "…"
    return ""


_EXAMPLE_NOTE = re.compile(r"^(?:Failing test case|Falsifying (?:explicit )?example): ?(.*)$")
_DRAW_NOTE = re.compile(r"^Draw (\d+)(?: \([^)]*\))?: (.*)$")
_OPENING, _CLOSING = "([{<", ")]}>"


def _split_arguments(text: str) -> list[str]:
    """``a=1, b=(2, 3)`` -> ``["a=1", "b=(2, 3)"]``: commas inside brackets or quotes stay."""
    parts, depth, quote, current = [], 0, "", ""
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in _OPENING:
            depth += 1
        elif char in _CLOSING:
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
            continue
        current += char
    return [part for part in [*parts, current.strip()] if part]


def failing_example(message: str) -> str:
    """The input hypothesis reports in a failure ``message``, on one line ("" if none).

    A property's arguments (``x=50, y='a'``, without the ``impl`` fixture), then any
    ``data()`` draws (``draw 1: 42``); for a state machine, its steps
    (``claim(key='b'); claim(key='b')``). Reads hypothesis' note, "Failing test case: ..."
    (or "Falsifying example: ..." in older versions).
    """
    lines = str(message).splitlines()
    notes = [(i, m) for i, line in enumerate(lines) if (m := _EXAMPLE_NOTE.match(line.strip()))]
    if not notes:
        return ""
    start, note = notes[0]
    head, rest = note.group(1), lines[start + 1 :]
    if head.startswith("<state machine>") or (rest and rest[0].startswith("state = ")):
        steps = []
        for line in rest:
            if not line.startswith("state"):
                break
            if line.startswith("state."):
                steps.append(line.removeprefix("state."))
        return "; ".join(step for step in steps if step != "teardown()")
    if head.endswith("("):  # one argument per line, indented by four spaces, then ")"
        end = next((i for i, line in enumerate(rest) if line.rstrip() == ")"), len(rest))
        args: list[str] = []
        for line in rest[:end]:
            starts_one = line.startswith("    ") and line[4:5] not in (" ", *_CLOSING)
            if starts_one or not args:
                args.append(line.strip())
            else:  # a long argument continues, indented deeper or closing its brackets
                args[-1] += " " + line.strip()
        rest = rest[end + 1 :]
    else:  # test_x(a=1, b=2) on one line
        args = _split_arguments(head.partition("(")[2].removesuffix(")"))
    shown = [arg.rstrip(",").strip() for arg in args if not arg.startswith("impl=")]
    draws = [f"draw {m.group(1)}: {m.group(2)}" for m in map(_DRAW_NOTE.match, rest) if m]
    return "; ".join(part for part in (", ".join(shown), *draws) if part)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _case(nodeid: str) -> str:
    """A parametrized test's case, from its id: ``test_x[{'x': 0}]`` -> ``{'x': 0}``."""
    name = nodeid.split("::")[-1]
    return name.partition("[")[2].removesuffix("]") if name.endswith("]") else ""


_IMPL_CALL = re.compile(r"impl\.[\w.]+\((?:[^()]|\([^()]*\))*\)")
_NAME = re.compile(r"[A-Za-z_]\w*")
VALUE_MAX_CHARS = 60


def _safe_repr(value: object) -> str:
    try:
        return repr(value)
    except Exception as exc:  # a learner's broken __repr__ must not break grading
        return f"<{type(value).__name__}: repr raised {type(exc).__name__}>"


def _call_site(excinfo: Any, grader: Path) -> str:
    """The grader's call that raised inside the code under test, with the values it passed:
    ``impl.double(x) with x=60`` ("" when the grader's own line raised: its message says why).
    """
    entries = list(excinfo.traceback)
    in_grader = [e for e in entries if Path(str(e.path)) == grader]
    if not in_grader or in_grader[-1] is entries[-1]:
        return ""
    entry = in_grader[-1]
    statement = " ".join(str(entry.statement).split())
    call = _IMPL_CALL.search(statement)
    shown = call.group(0) if call else statement
    scopes = (entry.locals, entry.frame.f_globals)
    values = []
    for name in dict.fromkeys(_NAME.findall(shown)):
        value = next((scope[name] for scope in scopes if name in scope), None)
        if name != "impl" and value is not None and not callable(value) \
                and not isinstance(value, ModuleType):
            values.append(f"{name}={_clip(_safe_repr(value), VALUE_MAX_CHARS)}")
    return f"{shown} with {', '.join(values)}" if values else shown


def _reason(longrepr: Any, nodeid: str = "", call_site: str = "") -> str:
    """Why a test failed, without paths or tracebacks: the error's first line, and the input
    that made it fail (hypothesis' failing example, else the grader's call that raised in the
    code under test, else a parametrized test's case) unless the error is a starter's
    NotImplementedError, which any input raises."""
    crash = getattr(longrepr, "reprcrash", None)
    if isinstance(longrepr, tuple) and len(longrepr) == 3:  # a skip: (path, line, reason)
        return _first_line(str(longrepr[2]))
    if crash is not None:
        first = _first_line(crash.message)
        example = failing_example(crash.message) or failing_example(str(longrepr))
    else:
        lines = [line for line in str(longrepr).splitlines() if line.strip()]
        errors = [line for line in lines if line.startswith("E ")]
        first = _first_line((errors or lines or ["failed"])[-1].removeprefix("E").strip())
        example = failing_example(str(longrepr))
    if first.startswith("NotImplementedError"):
        return first
    if example:
        return f"{first} — failing example: {_clip(example, EXAMPLE_MAX_CHARS)}"
    if call_site:
        return f"{first} — failing call: {_clip(call_site, EXAMPLE_MAX_CHARS)}"
    case = _case(nodeid)
    return f"{first} — case: {_clip(case, EXAMPLE_MAX_CHARS)}" if case else first


def _short_test_name(nodeid: str) -> str:
    return nodeid.split("::", 1)[-1]


class _Recorder:
    """A pytest plugin: checks the markers, filters by exercise, and records every outcome."""

    def __init__(self, exercise: str | None) -> None:
        self.exercise = exercise
        self.tests: dict[str, _Test] = {}
        self.errors: list[str] = []
        self.known: dict[str, tuple[str, int]] = {}  # name -> (group, points)

    def _describe(self, item: Any) -> _Test | str:
        path = Path(str(item.path))
        chapter = chapter_of(path.name)
        where = item.nodeid
        if chapter is None:
            return f"{where}: not in a test_chNN_<topic>.py grader file"
        mark = item.get_closest_marker("exercise")
        if mark is None:
            return f"{where}: has no @pytest.mark.exercise(name=..., points=..., hint=...)"
        name, points, hint = (mark.kwargs.get(k) for k in ("name", "points", "hint"))
        if mark.args or not isinstance(name, str) or not name:
            return f"{where}: the exercise marker needs name='...' (a non-empty string)"
        if isinstance(points, bool) or not isinstance(points, int) or points <= 0:
            return f"{where}: the exercise marker needs points=<a positive integer>"
        if not isinstance(hint, str) or not hint:
            return f"{where}: the exercise marker needs hint='...' (a non-empty string)"
        if "impl" not in getattr(item, "fixturenames", ()):
            return f"{where}: a grader must test the code through the 'impl' fixture"
        group = path.stem.removeprefix("test_")
        seen = self.known.setdefault(name, (group, points))
        if seen != (group, points):
            return (
                f"{where}: exercise {name!r} is already declared with points={seen[1]} in "
                f"{seen[0]}; one exercise has one points value and lives in one grader file"
            )
        return _Test(item.nodeid, name, points, hint, group, chapter)

    def pytest_configure(self, config: Any) -> None:
        # Only a one-line reason is kept, so skip pytest's costly long tracebacks.
        config.option.tbstyle = "native"

    def pytest_collection_modifyitems(self, config: Any, items: list[Any]) -> None:
        kept, dropped = [], []
        for item in items:
            described = self._describe(item)
            if isinstance(described, str):
                self.errors.append(described)
                dropped.append(item)
            elif self.exercise is not None and described.exercise != self.exercise:
                dropped.append(item)
            else:
                self.tests[item.nodeid] = described
                kept.append(item)
        if dropped:
            config.hook.pytest_deselected(items=dropped)
        items[:] = kept

    def pytest_collectreport(self, report: Any) -> None:
        if report.failed:
            self.errors.append(
                f"cannot collect {report.nodeid or 'the graders'}: {_reason(report.longrepr)}"
            )

    def pytest_runtest_makereport(self, item: Any, call: Any) -> None:
        test = self.tests.get(item.nodeid)
        if test is not None and call.excinfo is not None and not test.call_site:
            test.call_site = _call_site(call.excinfo, Path(str(item.path)))

    def pytest_runtest_logreport(self, report: Any) -> None:
        test = self.tests.get(report.nodeid)
        if test is None:
            return
        if report.failed or report.skipped:
            if test.passed is not False:
                verdict = "skipped: " if report.skipped else ""
                test.reason = verdict + _reason(report.longrepr, report.nodeid, test.call_site)
            test.passed = False
        elif report.when == "call" and test.passed is None:
            test.passed = True

    def pytest_internalerror(self, excrepr: Any) -> None:
        self.errors.append(f"pytest internal error: {_reason(excrepr)}")

    def results(self) -> tuple[ExerciseResult, ...]:
        by_exercise: dict[str, list[_Test]] = {}
        for test in self.tests.values():
            by_exercise.setdefault(test.exercise, []).append(test)
        results = []
        for name, tests in by_exercise.items():
            failing = [t for t in tests if t.passed is not True]
            first = failing[0] if failing else None
            results.append(
                ExerciseResult(
                    name=name,
                    group=tests[0].group,
                    chapter=tests[0].chapter,
                    points=tests[0].points,
                    passed_tests=tuple(
                        _short_test_name(t.nodeid) for t in tests if t.passed is True
                    ),
                    failed_tests=tuple(_short_test_name(t.nodeid) for t in failing),
                    hint=first.hint if first else "",
                    reason=(first.reason or "did not run") if first else "",
                )
            )
        return tuple(sorted(results, key=lambda r: (r.chapter, r.group)))  # stable: grader order


def run_graders(
    *,
    chapter: int | None = None,
    exercise: str | None = None,
    solution: bool = False,
    impl: Sequence[str] = (),
    graders_dir: Path = GRADERS_DIR,
) -> GradeReport:
    """Run the graders in this process and collect one result per exercise.

    Parameters
    ----------
    chapter : int, optional
        Only the ``test_chNN_*.py`` graders of this chapter.
    exercise : str, optional
        Only the tests of this exercise.
    solution : bool
        Grade each grader's ``SOLUTION`` (the reference) instead of the starter modules.
    impl : sequence of "STARTER=MODULE"
        Grade ``MODULE`` in place of the starter module ``STARTER`` (see
        :func:`resolve_impl`; a starter no selected grader grades is a grading error).

    Notes
    -----
    The learner's starter modules are imported afresh on every run, so a notebook sees each
    saved edit. pytest prints nothing: the terminal reporter is switched off. Nothing is
    written in the working directory: no pytest cache, and hypothesis keeps its caches in a
    temporary directory (or in ``$HYPOTHESIS_STORAGE_DIRECTORY`` when that is set).
    """
    import pytest  # imported here: `import exercises` stays light for the starters

    try:
        files = grader_files(graders_dir, chapter)
        impl = resolve_impl(impl, graders_dir, chapter)
    except ValueError as exc:
        return GradeReport(_target(solution, impl), (), (str(exc),), ())
    target = _target(solution, impl)
    if not files:
        return GradeReport(target, (), (), ())
    recorder = _Recorder(exercise)
    args = [
        *(str(f) for f in files),
        "-p",
        "no:terminal",
        "-p",
        "no:cacheprovider",
        # Only the plugins graders use: autoloading every installed one (nbval imports
        # Jupyter) would triple the start-up time of each check().
        "--disable-plugin-autoload",
        "-p",
        "hypothesispytest",
        "-p",
        "trio",
        "-W",
        "ignore::pytest.PytestAssertRewriteWarning",  # re-runs in one kernel re-see plugins
    ]
    options = ["--solution"] if solution else []
    for spec in impl:
        options += ["--impl", spec]
    with _hypothesis_storage_elsewhere():
        code = int(pytest.main([*args, *options], plugins=[recorder]))
    errors = list(recorder.errors)
    if code in (2, 3, 4) and not errors:
        shown = [_relative(f) for f in files]
        errors.append(
            f"pytest stopped with exit code {code}; run `pytest {' '.join([*shown, *options])}` "
            "to see why"
        )
    return GradeReport(target, recorder.results(), tuple(errors), tuple(recorder.known))


def _target(solution: bool, impl: Sequence[str]) -> str:
    """What a run grades, for the table's title."""
    if solution:
        return "the reference solution (--solution)"
    if impl:
        return "; ".join(spec.replace("=", " replaced by ", 1) for spec in impl)
    return "your code (exercises/ch*.py)"


@contextlib.contextmanager
def _hypothesis_storage_elsewhere() -> Iterator[None]:
    """Keep hypothesis' files out of the working directory for one grading run.

    Hypothesis caches what it learns (constants found in the code under test, Unicode
    tables) in ``./.hypothesis``: a run from a notebook would leave one beside it. They go to
    ``HYPOTHESIS_STORAGE_DIRECTORY`` when that is set (a cache shared by runs, as in CI),
    otherwise to a temporary directory removed when the run ends. Hypothesis resolves its
    home once per process, so ``set_hypothesis_home_dir`` (not the variable alone) reaches a
    kernel that already used it; ``None`` afterwards restores hypothesis' own choice.
    """
    from hypothesis.configuration import set_hypothesis_home_dir

    with contextlib.ExitStack() as stack:
        home = os.environ.get(HYPOTHESIS_STORAGE_VARIABLE) or stack.enter_context(
            tempfile.TemporaryDirectory(prefix="grade-hypothesis-")
        )
        set_hypothesis_home_dir(home)
        stack.callback(set_hypothesis_home_dir, None)
        yield


def _relative(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _wrap(label: str, text: str, indent: int) -> list[str]:
    return textwrap.wrap(
        f"{label}{text}",
        width=TABLE_WIDTH,
        initial_indent=" " * indent,
        subsequent_indent=" " * (indent + len(label)),
        break_on_hyphens=False,
    )


def format_table(
    report: GradeReport, *, chapter: int | None = None, exercise: str | None = None
) -> str:
    """The score table: one row per exercise, hints under failures, the total at the bottom."""
    scope = f", chapter {chapter}" if chapter is not None else ""
    scope += f", exercise {exercise}" if exercise is not None else ""
    lines = [f"Exercise grades: {report.target}{scope}"]
    lines += [f"error: {error}" for error in report.errors]  # unwrapped: they name paths
    if report.errors and not report.results:
        return "\n".join(lines)
    if not report.results:
        where = f"chapter {chapter}" if chapter is not None else "exercises/graders"
        lines.append(f"No exercises found for {where}.")
        return "\n".join(lines)
    name_width = max(len(r.name) for r in report.results) + 2
    name_width = max(name_width, *(len(r.group) for r in report.results), len("total"))
    groups: dict[str, list[ExerciseResult]] = {}
    for result in report.results:
        groups.setdefault(result.group, []).append(result)
    for group, results in groups.items():
        lines.append("")
        lines.append(f"{group:<{name_width}}  {'points':>6}  {'status':<6}  {'tests':>7}")
        for r in results:
            status = "passed" if r.passed else "failed"
            points = f"{r.earned}/{r.points}"
            tests = f"{r.tests_passed}/{r.tests_total}"
            lines.append(f"  {r.name:<{name_width - 2}}  {points:>6}  {status:<6}  {tests:>7}")
            if not r.passed:
                lines += _wrap("hint: ", r.hint, 6)
                lines += _wrap("why:  ", r.reason, 6)
    percent = 100 * report.score // report.max_score
    total = f"{report.score}/{report.max_score}"
    lines += ["", f"{'total':<{name_width}}  {total:>6}  ({percent}%)", ALL_OR_NOTHING]
    if report.errors:
        lines.append(f"Incomplete: {len(report.errors)} grader problem(s) listed at the top.")
    return "\n".join(lines)


def gradescope_results(report: GradeReport) -> dict[str, Any]:
    """The run as Gradescope's ``results.json``: one test entry per exercise."""
    tests = []
    for r in report.results:
        if r.passed:
            output = f"All {r.tests_total} tests pass."
        else:
            output = "\n".join(
                [
                    f"{r.tests_passed}/{r.tests_total} tests pass. {ALL_OR_NOTHING}",
                    f"hint: {r.hint}",
                    f"first failure: {r.failure}",
                    "failing tests:",
                    *(f"  {name}" for name in r.failed_tests),
                ]
            )
        tests.append(
            {
                "name": r.name,
                "score": r.earned,
                "max_score": r.points,
                "status": "passed" if r.passed else "failed",
                "output": output,
            }
        )
    results: dict[str, Any] = {
        "score": report.score,
        "max_score": report.max_score,
        "tests": tests,
    }
    if report.errors:
        results["output"] = "\n".join(report.errors)
    return results


def unknown_exercise(name: str, known: Sequence[str], chapter: int | None = None) -> str:
    """The refusal of an exercise name no grader declares, listing the ones that exist.

    >>> print(unknown_exercise("snowflake-encdoe", ["snowflake-encode", "local-sequence"]))
    ... # doctest: +NORMALIZE_WHITESPACE
    no exercise named 'snowflake-encdoe' (did you mean 'snowflake-encode'?); the exercises
    are: snowflake-encode, local-sequence
    """
    import difflib

    scope = f" in chapter {chapter}" if chapter is not None else ""
    close = difflib.get_close_matches(name, known, n=1)
    guess = f" (did you mean {close[0]!r}?)" if close else ""
    return (
        f"no exercise named {name!r}{scope}{guess}; the exercises{scope} are: "
        f"{', '.join(known) or 'none'}"
    )


def check_expectation(report: GradeReport, expect: str) -> tuple[bool, str]:
    """Whether a run meets ``--expect full`` (every test passes) or ``zero`` (none does)."""
    score = f"{report.score}/{report.max_score} points"
    if report.errors or not report.results:
        return False, f"expect {expect}: FAILED — no exercise could be graded"
    passing = [f"{r.name}: {t}" for r in report.results for t in r.passed_tests]
    if expect == "full":
        failing = [f"{r.name}: {t}" for r in report.results for t in r.failed_tests]
        if failing:
            return False, "expect full: FAILED — these tests fail:\n  " + "\n  ".join(failing)
        return True, f"expect full: ok, every grader passes ({score})"
    if passing:
        return False, (
            "expect zero: FAILED — these tests pass on the starters, so they cannot tell a "
            "solution from a stub:\n  " + "\n  ".join(passing)
        )
    return True, f"expect zero: ok, every grader fails on the starters ({score})"


def starters_edited(root: Path = REPO_ROOT) -> bool | None:
    """Whether the starters ``exercises/chNN_*.py`` differ from git's HEAD; None if git
    cannot tell."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--verify", "--quiet", "HEAD"], cwd=root, capture_output=True
        )
        if head.returncode != 0:  # not a repository (git diff would compare files instead)
            return None
        diff = subprocess.run(
            # The starters only: exercises/check.py matches ch*.py too.
            ["git", "diff", "--quiet", "HEAD", "--", STARTERS_PATHSPEC],
            cwd=root,
            capture_output=True,
        )
    except OSError:  # git is not installed
        return None
    return {0: False, 1: True}.get(diff.returncode)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m exercises.grade",
        description="Grade the exercises and print a score table.",
    )
    parser.add_argument("--chapter", type=int, metavar="N", help="only chNN exercises (0 = ids)")
    parser.add_argument(
        "--only",
        metavar="EXERCISE",
        help="only this exercise, e.g. snowflake-encode (an unknown name lists the valid ones)",
    )
    parser.add_argument("--solution", action="store_true", help="grade the reference solution")
    parser.add_argument(
        "--impl",
        action="append",
        default=[],
        metavar="STARTER=MODULE",
        help="grade MODULE in place of a starter, e.g. ch00_unique_ids=submission "
        "(or exercises.ch00_unique_ids=submission)",
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="write Gradescope results")
    parser.add_argument(
        "--expect",
        choices=["full", "zero"],
        help="exit 1 unless every test passes (full) or none does (zero)",
    )
    parser.add_argument(
        "--only-if-untouched",
        action="store_true",
        help="with --expect zero: skip the check when the starters have been edited",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.chapter is not None and args.chapter < 0:
        parser.error(f"--chapter={args.chapter} is invalid: expected a chapter number >= 0")
    if args.only_if_untouched and args.expect != "zero":
        parser.error("--only-if-untouched is only meaningful with --expect zero")
    if args.solution and args.impl:
        parser.error("--solution and --impl each choose what to grade: pass one of them")
    try:
        impl = resolve_impl(args.impl, chapter=args.chapter)
    except ValueError as exc:
        parser.error(str(exc))
    if args.only_if_untouched and starters_edited():
        print(
            "note: exercises/ch*.py differ from git HEAD (work in progress), so the "
            "untouched-starter check is skipped"
        )
        return 0
    report = run_graders(
        chapter=args.chapter, exercise=args.only, solution=args.solution, impl=impl
    )
    if args.only is not None and not report.results and not report.errors:
        parser.error(unknown_exercise(args.only, report.known_exercises, args.chapter))
    print(format_table(report, chapter=args.chapter, exercise=args.only))
    if args.json is not None:
        args.json.write_text(json.dumps(gradescope_results(report), indent=2) + "\n")
    if report.errors:
        return 2
    if args.expect:
        ok, verdict = check_expectation(report, args.expect)
        print(verdict)
        return 0 if ok else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
