"""The exercise kit grades honestly: full marks for the reference, zero for the stubs.

Grading runs pytest, so every run here is a subprocess (``python -m exercises.grade`` or a
small script calling ``check``): a pytest run nested inside this one would share its state.
Runs that change files work on a copy of ``exercises/`` in a temporary directory.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import exercises.ch00_unique_ids as ch00_starter
import exercises.grade as grading
from exercises.grade import (
    HYPOTHESIS_STORAGE_VARIABLE,
    ExerciseResult,
    GradeReport,
    chapter_of,
    format_table,
    grader_files,
    resolve_impl,
    run_graders,
    starters_edited,
)
from exercises.graders import conftest as grader_wiring
from exercises.graders.conftest import starter_name

REPO = Path(__file__).resolve().parents[1]
SHARED_HYPOTHESIS_HOME = tempfile.TemporaryDirectory(prefix="test-grading-hypothesis-")
GRADESCOPE_KEYS = {"score", "max_score", "tests"}
GRADESCOPE_TEST_KEYS = {"name", "score", "max_score", "status", "output"}
BROKEN_DECODE = """
from reference.core.ids import *  # noqa: F403
from reference.core.ids import SnowflakeParts, TWITTER_EPOCH_MS, decode as _decode


def decode(snowflake, *, epoch_ms=TWITTER_EPOCH_MS):
    parts = _decode(snowflake, epoch_ms=epoch_ms)
    return SnowflakeParts(parts.timestamp_ms, parts.worker_id, parts.datacenter_id, parts.sequence)
"""
DEMO_STARTER = '''
def double(x):
    """Return 2 * x."""
    raise NotImplementedError("exercise: double")
'''
DEMO_GRADER = """
import pytest

SOLUTION = {"double": "demo_solution:double"}


@pytest.mark.exercise(name="demo-double", points=3, hint="multiply by two")
def test_double_doubles(impl):
    assert impl.double(21) == 42
"""
DEMO_PARAMETRIZED_GRADER = """
import pytest

SOLUTION = {"double": "demo_solution:double"}


@pytest.mark.exercise(name="demo-double", points=3, hint="multiply by two")
@pytest.mark.parametrize("case", [{"x": 0}, {"x": 21}], ids=repr)
def test_double_doubles(impl, case):
    assert impl.double(case["x"]) == 2 * case["x"]
"""


def exercise_points() -> dict[str, int]:
    """Each exercise's points, read from the ``exercise`` markers of every grader's tests."""
    points: dict[str, int] = {}
    for path in grader_files():
        grader = importlib.import_module(f"exercises.graders.{path.stem}")
        for name, test in vars(grader).items():
            if not name.startswith("test_") or not callable(test):
                continue
            for mark in getattr(test, "pytestmark", []):
                if mark.name == "exercise":
                    exercise, worth = mark.kwargs["name"], mark.kwargs["points"]
                    assert points.setdefault(exercise, worth) == worth, exercise
    assert points, "the graders declare no exercise"
    return points


def run(
    *args: str, cwd: Path = REPO, pythonpath: Path | None = None, shared_cache: bool = True
) -> Any:
    """Run python in a subprocess; ``shared_cache`` lets the runs share hypothesis' caches."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    if shared_cache:  # else each run rebuilds hypothesis' Unicode tables (about 2 s)
        env[HYPOTHESIS_STORAGE_VARIABLE] = SHARED_HYPOTHESIS_HOME.name
    else:
        env.pop(HYPOTHESIS_STORAGE_VARIABLE, None)
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def grade(*args: str, **kwargs: Any) -> Any:
    return run("-m", "exercises.grade", *args, **kwargs)


def results(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def statuses(data: dict[str, Any]) -> dict[str, str]:
    return {t["name"]: t["status"] for t in data["tests"]}


def copy_of_exercises(tmp_path: Path) -> Path:
    """A scratch tree with its own exercises/ (same starters and graders as the repo)."""
    root = tmp_path / "lab"
    shutil.copytree(
        REPO / "exercises", root / "exercises", ignore=shutil.ignore_patterns("__pycache__")
    )
    return root


@pytest.fixture(scope="module")
def solution_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, dict[str, Any]]:
    out = tmp_path_factory.mktemp("solution") / "results.json"
    proc = grade("--solution", "--expect", "full", "--json", str(out))
    return proc, results(out)


@pytest.fixture(scope="module")
def starter_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, dict[str, Any]]:
    if starters_edited(REPO):
        pytest.skip("exercises/ch*.py are edited in this checkout: the stubs are not untouched")
    out = tmp_path_factory.mktemp("starter") / "results.json"
    proc = grade("--expect", "zero", "--json", str(out))
    return proc, results(out)


def test_the_reference_solution_scores_full_marks(solution_run: Any) -> None:
    proc, data = solution_run
    assert proc.returncode == 0, proc.stdout + proc.stderr
    points = exercise_points()
    assert set(statuses(data)) == set(points), "one entry per exercise the graders declare"
    assert data["score"] == data["max_score"] == sum(points.values())
    assert any(Path(SHARED_HYPOTHESIS_HOME.name).iterdir()), "hypothesis' caches went there"
    assert set(statuses(data).values()) == {"passed"}
    assert "expect full: ok" in proc.stdout


def test_the_untouched_starters_score_zero_with_every_grader_failing(starter_run: Any) -> None:
    proc, data = starter_run
    assert proc.returncode == 0, proc.stdout + proc.stderr
    points = exercise_points()
    assert set(statuses(data)) == set(points), "one entry per exercise the graders declare"
    assert (data["score"], data["max_score"]) == (0, sum(points.values()))
    assert set(statuses(data).values()) == {"failed"}
    assert "expect zero: ok" in proc.stdout
    assert "hint: " in proc.stdout and "NotImplementedError: exercise:" in proc.stdout


def test_the_score_table_is_identical_from_run_to_run_and_expect_full_fails_on_stubs(
    starter_run: Any,
) -> None:
    proc, _ = starter_run
    again = grade("--expect", "full")
    table, _, verdict = again.stdout.partition("expect full: ")
    assert table == proc.stdout.partition("expect zero: ")[0], "same table, same order"
    assert again.stderr == "" == proc.stderr
    assert again.returncode == 1
    assert verdict.startswith("FAILED — these tests fail:\n  snowflake-encode: test_encode_")


def test_results_json_has_the_gradescope_shape(solution_run: Any, starter_run: Any) -> None:
    for _, data in (solution_run, starter_run):
        assert set(data) == GRADESCOPE_KEYS
        assert all(set(t) == GRADESCOPE_TEST_KEYS for t in data["tests"])
        assert len({t["name"] for t in data["tests"]}) == len(data["tests"])
        for test in data["tests"]:
            assert test["status"] in {"passed", "failed"}
            assert test["score"] == (test["max_score"] if test["status"] == "passed" else 0)
            assert isinstance(test["output"], str) and test["output"]
        assert data["score"] == sum(t["score"] for t in data["tests"])
        assert data["max_score"] == sum(t["max_score"] for t in data["tests"])


def test_the_ch00_exercises_are_the_ones_the_starter_announces(solution_run: Any) -> None:
    _, data = solution_run
    points = {t["name"]: t["max_score"] for t in data["tests"]}
    assert {name: points[name] for name in points if name in ch00_starter.__doc__} == {
        "snowflake-encode": 2,
        "snowflake-decode": 2,
        "snowflake-generator": 2,
        "snowflake-sequence": 2,
        "snowflake-clock-rollback": 3,
        "snowflake-unique-k-sorted": 2,
        "snowflake-statistics": 1,
        "local-sequence": 2,
    }


def test_a_decode_that_swaps_two_fields_loses_exactly_the_decode_points(tmp_path: Path) -> None:
    (tmp_path / "broken_ids.py").write_text(BROKEN_DECODE)
    out = tmp_path / "results.json"
    proc = grade(
        "--chapter", "0", "--impl", "exercises.ch00_unique_ids=broken_ids",
        "--json", str(out), pythonpath=tmp_path,
    )
    data = results(out)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert [n for n, s in statuses(data).items() if s == "failed"] == ["snowflake-decode"]
    assert data["score"] == data["max_score"] - 2
    assert "exercises.ch00_unique_ids replaced by broken_ids" in proc.stdout


def test_expect_zero_fails_when_a_grader_passes_on_the_code_under_test() -> None:
    impl = "exercises.ch00_unique_ids=reference.core.ids"
    proc = grade("--chapter", "0", "--impl", impl, "--expect", "zero")
    assert proc.returncode == 1
    assert "expect zero: FAILED" in proc.stdout
    assert "snowflake-encode: test_encode_puts_each_field_in_its_bits[timestamp]" in proc.stdout


def test_a_new_chapter_is_discovered_by_file_name_and_the_chapter_filter_selects_it(
    tmp_path: Path,
) -> None:
    root = copy_of_exercises(tmp_path)
    (root / "exercises" / "ch98_demo.py").write_text(DEMO_STARTER)
    (root / "exercises" / "graders" / "test_ch98_demo.py").write_text(DEMO_GRADER)
    (root / "demo_solution.py").write_text("def double(x):\n    return 2 * x\n")
    names = {}
    for chapter in (None, "98"):
        out = tmp_path / f"{chapter}.json"
        flags = ["--chapter", chapter] if chapter else []
        proc = grade("--solution", *flags, "--json", str(out), cwd=root, shared_cache=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        names[chapter] = set(statuses(results(out)))
    assert not (root / ".hypothesis").exists(), "grading leaves no hypothesis files behind"
    assert names["98"] == {"demo-double"}
    assert {"demo-double", "snowflake-encode", "local-sequence"} <= names[None]


def test_a_chapter_without_exercises_grades_nothing_and_meets_no_expectation() -> None:
    proc = grade("--chapter", "99")
    assert (proc.returncode, proc.stdout.splitlines()[-1]) == (
        0,
        "No exercises found for chapter 99.",
    )
    assert grade("--chapter", "99", "--solution", "--expect", "full").returncode == 1


def test_a_grader_test_without_a_marker_or_impl_stops_grading_with_exit_2(tmp_path: Path) -> None:
    root = copy_of_exercises(tmp_path)
    (root / "exercises" / "graders" / "test_ch98_sloppy.py").write_text(
        "SOLUTION = 'json'\n\ndef test_unmarked(impl):\n    assert True\n\n"
        "import pytest\n\n@pytest.mark.exercise(name='x', points=1, hint='h')\n"
        "def test_without_impl():\n    assert True\n"
    )
    proc = grade("--solution", "--chapter", "98", cwd=root)
    assert proc.returncode == 2
    assert "test_unmarked: has no @pytest.mark.exercise" in proc.stdout
    assert "test_without_impl: a grader must test the code through the 'impl'" in proc.stdout


CHECK_SCRIPT = """
import pathlib
from exercises import check
from reference.core.errors import NotFound
print(check("local-sequence"))
path = pathlib.Path("exercises/ch00_unique_ids.py")
path.write_text("from reference.core.ids import *  # a learner's finished module\\n")
print(check("local-sequence"))
try:
    check("no-such-exercise")
except NotFound as err:
    print("NotFound:", "local-sequence" in str(err))
"""


def test_check_prints_its_verdict_and_sees_a_saved_edit_without_restarting(
    tmp_path: Path,
) -> None:
    root = copy_of_exercises(tmp_path)
    proc = run("-c", CHECK_SCRIPT, cwd=root)
    assert proc.stderr == ""
    first, why, first_value, second, second_value, missing = proc.stdout.splitlines()
    assert first.startswith("✗ local-sequence: 0/2 — hint: next_id returns counter.incr(")
    assert why.startswith("  why: NotImplementedError: exercise: LocalSequence")
    assert first_value == "False"
    assert (second, second_value) == ("✓ local-sequence: 2/2", "True")
    assert missing == "NotFound: True"


def test_only_if_untouched_skips_the_zero_check_once_the_starters_are_edited(
    tmp_path: Path,
) -> None:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    root = copy_of_exercises(tmp_path)
    assert starters_edited(root) is None, "outside a git repository git cannot tell"
    git = ["git", "-c", "user.name=lab", "-c", "user.email=lab@example.invalid"]
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "starters"]):
        subprocess.run([*git, *command], cwd=root, check=True, capture_output=True)
    assert starters_edited(root) is False
    kit_file = root / "exercises" / "check.py"  # ch*.py, but part of the kit, not a starter
    kit_file.write_text(kit_file.read_text() + "# an instructor's edit\n")
    assert starters_edited(root) is False, "only the chNN_<topic>.py starters count"
    starter_file = root / "exercises" / "ch00_unique_ids.py"
    starter_file.write_text("from reference.core.ids import *\n")
    assert starters_edited(root) is True
    proc = grade("--expect", "zero", "--only-if-untouched", cwd=root)
    assert (proc.returncode, proc.stdout.count("\n")) == (0, 1)
    assert proc.stdout.startswith("note: exercises/ch*.py differ from git HEAD")
    assert grade("--expect", "zero", "--chapter", "0", cwd=root).returncode == 1


def test_grader_files_are_found_by_their_chapter_prefix(tmp_path: Path) -> None:
    for name in ("test_ch00_ids.py", "test_ch10_dedupe.py", "support.py", "conftest.py"):
        (tmp_path / name).write_text("")
    assert [f.name for f in grader_files(tmp_path)] == ["test_ch00_ids.py", "test_ch10_dedupe.py"]
    assert [f.name for f in grader_files(tmp_path, chapter=10)] == ["test_ch10_dedupe.py"]
    assert (chapter_of("ch12_sync.py"), chapter_of("test_ch1_x.py")) == (12, None)
    (tmp_path / "test_dedupe.py").write_text("")
    with pytest.raises(ValueError, match=r"test_dedupe\.py"):
        grader_files(tmp_path)


def _own_callables(module: Any) -> dict[str, Any]:
    """Functions, classes and their public methods (and ``__post_init__``) defined in ``module``."""
    found: dict[str, Any] = {}
    for name in module.__all__:
        obj = getattr(module, name)
        if getattr(obj, "__module__", None) != module.__name__:
            continue
        found[name] = obj
        if inspect.isclass(obj):
            for attr, member in vars(obj).items():
                if inspect.isfunction(member) and (
                    attr in ("__init__", "__post_init__") or not attr.startswith("_")
                ):
                    found[f"{name}.{attr}"] = member
    return found


def _written_in(obj: Any, module: ModuleType) -> bool:
    """Whether ``obj`` is in the module's source (a dataclass's ``__init__`` is generated)."""
    return inspect.getsourcefile(obj) == inspect.getsourcefile(module)


STARTERS = [path.stem.removeprefix("test_") for path in grader_files()]


@dataclass(frozen=True)
class StarterKit:
    """A starter module, its grader and the grader's model answer (its resolved SOLUTION)."""

    starter: ModuleType
    grader: ModuleType
    solution: Any


def starter_kit(stem: str) -> StarterKit:
    grader = importlib.import_module(f"exercises.graders.test_{stem}")
    # The very resolution the graders' `impl` fixture uses under --solution.
    solution = grader_wiring._solution(grader)
    return StarterKit(importlib.import_module(starter_name(grader)), grader, solution)


def test_every_grader_grades_a_starter_module() -> None:
    assert STARTERS, "no exercises/graders/test_chNN_*.py found"
    for stem in STARTERS:
        assert (REPO / "exercises" / f"{stem}.py").is_file(), stem
        assert starter_kit(stem).starter.__name__ == f"exercises.{stem}"


@pytest.mark.parametrize("stem", STARTERS)
def test_the_starter_has_the_solutions_names_and_signatures(stem: str) -> None:
    kit = starter_kit(stem)
    mine = _own_callables(kit.starter)
    top_level = {name for name in mine if "." not in name}
    assert top_level, f"{stem} defines nothing for the learner to write"
    if isinstance(kit.grader.SOLUTION, str):
        assert top_level <= set(kit.solution.__all__)
    else:  # a mapping names exactly what the learner writes
        assert top_level == set(kit.grader.SOLUTION)
    for name in kit.starter.__all__:  # the given vocabulary is the solution's own objects
        if name not in mine and hasattr(kit.solution, name):
            assert getattr(kit.starter, name) is getattr(kit.solution, name), name
    for qualname, obj in mine.items():
        owner, _, attr = qualname.partition(".")
        owner_ref = getattr(kit.solution, owner, None)
        ref = getattr(owner_ref, attr, None) if attr else owner_ref
        assert ref is not None, f"the solution has no {qualname}"
        if not inspect.isclass(obj):
            assert inspect.signature(obj) == inspect.signature(ref), qualname


@pytest.mark.parametrize("stem", STARTERS)
def test_every_starter_body_raises_not_implemented_naming_the_exercise(stem: str) -> None:
    starter = starter_kit(stem).starter
    for qualname, obj in _own_callables(starter).items():
        if inspect.isclass(obj):
            continue
        params = list(inspect.signature(obj).parameters.values())
        args = [None for p in params if p.kind is p.POSITIONAL_OR_KEYWORD and p.default is p.empty]
        kwargs = {p.name: None for p in params if p.kind is p.KEYWORD_ONLY and p.default is p.empty}
        if "." in qualname:  # a method: call it on a bare instance
            cls = getattr(starter, qualname.split(".")[0])
            args[0] = object.__new__(cls)
        with pytest.raises(NotImplementedError, match=r"^exercise: "):
            obj(*args, **kwargs)


@pytest.mark.parametrize("stem", STARTERS)
def test_every_starter_function_documents_its_contract_and_a_hint(stem: str) -> None:
    starter = starter_kit(stem).starter
    for qualname, obj in _own_callables(starter).items():
        if not _written_in(obj, starter):
            continue  # a generated method: its contract is the class docstring
        doc = inspect.getdoc(obj) or ""
        assert len(doc.splitlines()) >= 3, f"{qualname} needs a contract in its docstring"
        if not inspect.isclass(obj):
            assert "\nHint\n----\n" in doc, f"{qualname} needs a Hint section"


# ------------------------------------------------------------------ the table's "why:" column


def test_the_why_column_is_the_reason_even_when_the_test_id_holds_a_colon() -> None:
    test_id = "test_bad_settings_are_rejected[{'limit': 0}]"
    reason = "NotImplementedError: exercise: RateLimiter.__init__ — validate limit"
    failed = ExerciseResult("rate-limit-arguments", "ch10_ratelimit", 10, 1, (), (test_id,),
                            "limit is an int >= 1", reason)
    table = format_table(GradeReport("stubs", (failed,), (), ("rate-limit-arguments",)))
    why = [line.strip() for line in table.splitlines() if line.strip().startswith("why:")]
    assert why == [f"why:  {reason}"]
    assert failed.failure == f"{test_id}: {reason}", "the JSON output keeps both, whole"
    passed = ExerciseResult("x", "ch10_ratelimit", 10, 1, ("test_x",), (), "", "")
    assert passed.failure == ""


def test_a_parametrized_grader_that_fails_shows_its_reason_not_a_piece_of_its_id(
    tmp_path: Path,
) -> None:
    root = copy_of_exercises(tmp_path)
    (root / "exercises" / "ch98_demo.py").write_text(DEMO_STARTER)
    (root / "exercises" / "graders" / "test_ch98_demo.py").write_text(DEMO_PARAMETRIZED_GRADER)
    out = tmp_path / "results.json"
    proc = grade("--chapter", "98", "--json", str(out), cwd=root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    why = [line.strip() for line in proc.stdout.splitlines() if line.strip().startswith("why:")]
    assert why == ["why:  NotImplementedError: exercise: double"]
    (output,) = (t["output"] for t in results(out)["tests"])
    first = "test_double_doubles[{'x': 0}]: NotImplementedError: exercise: double"
    assert f"first failure: {first}" in output, "the JSON keeps the test id and the reason"


# ----------------------------------------------------------------- --impl names a real starter


def test_impl_accepts_a_starters_file_stem_as_well_as_its_module() -> None:
    assert resolve_impl(["ch00_unique_ids=my_ids", " exercises.ch10_retry = my.retry "]) == (
        "exercises.ch00_unique_ids=my_ids",
        "exercises.ch10_retry=my.retry",
    )
    assert resolve_impl(["ch00_unique_ids=a", "exercises.ch00_unique_ids=a"]) == (
        "exercises.ch00_unique_ids=a",
    )
    assert resolve_impl([]) == ()


@pytest.mark.parametrize(
    ("specs", "chapter", "message"),
    [
        (["ch00_unique_idz=x"], None, "no grader grades a starter 'exercises.ch00_unique_idz'"),
        (["exercises/ch00_unique_ids.py=x"], None, "no grader grades a starter"),
        (["ch10_backoff=x"], 0, "no grader of chapter 0 grades a starter 'exercises.ch10_"),
        (["ch00_unique_ids=a", "exercises.ch00_unique_ids=b"], None, "ch00_unique_ids twice"),
        (["ch00_unique_ids"], None, "expected STARTER=MODULE"),
        (["=x"], None, "expected STARTER=MODULE"),
    ],
)
def test_impl_refuses_a_starter_no_grader_grades(
    specs: list[str], chapter: int | None, message: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        resolve_impl(specs, chapter=chapter)
    report = run_graders(chapter=chapter, impl=specs)  # refused before pytest runs
    assert (report.results, len(report.errors)) == ((), 1) and message in report.errors[0]


def test_impl_reads_a_graders_own_starter_setting_without_importing_it(tmp_path: Path) -> None:
    (tmp_path / "test_ch98_demo.py").write_text("STARTER = 'elsewhere.demo'\nraise SystemExit\n")
    assert resolve_impl(["elsewhere.demo=mine"], tmp_path) == ("elsewhere.demo=mine",)
    with pytest.raises(ValueError, match=r"the starters are: elsewhere\.demo$"):
        resolve_impl(["ch98_demo=mine"], tmp_path)


def test_grade_with_a_short_impl_grades_that_module_and_an_unknown_one_exits_2() -> None:
    proc = grade("--chapter", "0", "--impl", "ch00_unique_ids=reference.core.ids",
                 "--expect", "full")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith(
        "Exercise grades: exercises.ch00_unique_ids replaced by reference.core.ids, chapter 0"
    )
    assert "expect full: ok" in proc.stdout
    typo = grade("--impl", "ch00_unique_idz=reference.core.ids")
    assert (typo.returncode, typo.stdout) == (2, "")
    assert "no grader grades a starter 'exercises.ch00_unique_idz'" in typo.stderr
    assert "the starters are: exercises.ch00_unique_ids, " in typo.stderr


def test_bare_pytest_on_the_graders_maps_a_short_impl_and_refuses_an_unknown_one() -> None:
    grader = "exercises/graders/test_ch00_unique_ids.py"
    ok = run("-m", "pytest", grader, "-q", "-p", "no:cacheprovider",
             "--impl", "ch00_unique_ids=reference.core.ids")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    typo = run("-m", "pytest", grader, "-q", "-p", "no:cacheprovider",
               "--impl", "ch10_backoff=reference.core.ids")
    assert typo.returncode == pytest.ExitCode.USAGE_ERROR, typo.stdout + typo.stderr
    assert "--impl names exercises.ch10_backoff, which no collected grader grades" in (
        typo.stderr
    )


# ------------------------------------------------------------- one exercise at a time: --only


def exercise_rows(table: str) -> list[str]:
    """The exercise names of a score table's rows (indented two spaces, then name, points)."""
    return [m.group(1) for m in re.finditer(r"^  (\S+) +\d+/\d+ ", table, re.MULTILINE)]


def test_only_shows_one_exercise_instead_of_the_whole_table() -> None:
    proc = grade("--only", "local-sequence")
    assert (proc.returncode, proc.stderr) == (0, ""), proc.stdout + proc.stderr
    assert proc.stdout.startswith(
        "Exercise grades: your code (exercises/ch*.py), exercise local-sequence\n"
    )
    assert exercise_rows(proc.stdout) == ["local-sequence"]
    assert "hint: next_id returns counter.incr(" in proc.stdout
    assert re.search(r"^total +0/2 +\(0%\)$", proc.stdout, re.MULTILINE), proc.stdout
    assert len(proc.stdout.splitlines()) < 15, "one exercise, not the whole table"
    full = grade("--only", "local-sequence", "--solution", "--expect", "full")
    assert full.returncode == 0 and "expect full: ok" in full.stdout, full.stdout + full.stderr


@pytest.mark.parametrize(
    ("flags", "listed", "not_listed"),
    [
        (["--only", "snowflake-encdoe"], ["snowflake-encode", "local-sequence", "dedupe-claim"],
         []),
        (["--only", "dedupe-claim", "--chapter", "0"], ["snowflake-encode"], ["dedupe-claim"]),
    ],
    ids=["a-typo", "another-chapters-exercise"],
)
def test_only_refuses_an_unknown_exercise_and_lists_the_valid_names(
    flags: list[str], listed: list[str], not_listed: list[str]
) -> None:
    proc = grade(*flags)
    assert (proc.returncode, proc.stdout) == (2, ""), proc.stdout + proc.stderr
    name = flags[1]
    assert f"no exercise named {name!r}" in proc.stderr
    valid = proc.stderr.partition(" are: ")[2]
    assert all(n in valid for n in listed) and not any(n in valid for n in not_listed), (
        proc.stderr
    )


def test_make_grade_ex_passes_the_exercise_to_only() -> None:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    dry = subprocess.run(["make", "-n", "grade", "EX=local-sequence", "CHAPTER=0"], cwd=REPO,
                         capture_output=True, text=True, timeout=60)
    assert dry.returncode == 0, dry.stderr
    [command] = [line for line in dry.stdout.splitlines() if "exercises.grade" in line]
    assert command.split()[-4:] == ["--chapter", "0", "--only", "local-sequence"], command
    helped = subprocess.run(["make", "help"], cwd=REPO, capture_output=True, text=True,
                            timeout=60)
    assert "EX=" in helped.stdout


# --------------------------------------------------------- the "why" shows the failing input

DEMO_PROPERTY_GRADER = """
import pytest
from hypothesis import given, strategies as st

from exercises.graders.support import GRADER_SETTINGS

SOLUTION = {"double": "demo_solution:double"}


@pytest.mark.exercise(name="demo-double", points=3, hint="multiply by two")
@GRADER_SETTINGS
@given(x=st.integers(0, 1000))
def test_double_doubles(impl, x):
    assert impl.double(x) == 2 * x, "wrong double"
"""
HALF_RIGHT_DOUBLE = "def double(x):\n    return 2 * x if x < 50 else x\n"


def demo_tree(tmp_path: Path, grader: str) -> Path:
    root = copy_of_exercises(tmp_path)
    (root / "exercises" / "ch98_demo.py").write_text(DEMO_STARTER)
    (root / "exercises" / "graders" / "test_ch98_demo.py").write_text(grader)
    (root / "half_right.py").write_text(HALF_RIGHT_DOUBLE)
    return root


def why_lines(table: str) -> list[str]:
    """The table's "why:" text, its wrapped lines joined."""
    whys: list[str] = []
    for line in table.splitlines():
        text = line.strip()
        if text.startswith("why:"):
            whys.append(text.removeprefix("why:").strip())
        elif whys and line.startswith(" " * 12) and text:
            whys[-1] += " " + text
    return whys


def test_why_shows_the_falsifying_example_of_a_property(tmp_path: Path) -> None:
    root = demo_tree(tmp_path, DEMO_PROPERTY_GRADER)
    out = tmp_path / "results.json"
    proc = grade("--chapter", "98", "--impl", "ch98_demo=half_right", "--json", str(out),
                 cwd=root, pythonpath=root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert why_lines(proc.stdout) == ["AssertionError: wrong double — failing example: x=50"]
    (output,) = (t["output"] for t in results(out)["tests"])
    assert "first failure: test_double_doubles: AssertionError: wrong double — failing " \
        "example: x=50" in output


def test_why_shows_the_case_of_a_parametrized_test(tmp_path: Path) -> None:
    root = demo_tree(tmp_path, DEMO_PARAMETRIZED_GRADER.replace("[{\"x\": 0}, {\"x\": 21}]",
                                                                "[{\"x\": 7}, {\"x\": 60}]"))
    proc = grade("--chapter", "98", "--impl", "ch98_demo=half_right", cwd=root, pythonpath=root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    [why] = why_lines(proc.stdout)
    assert why.startswith("AssertionError: assert 60 == (2 * 60)"), why
    assert why.endswith(" — case: {'x': 60}"), why


DEMO_CALLING_GRADER = """
import pytest

SOLUTION = {"double": "demo_solution:double"}
CASES = [3, 60]


@pytest.mark.exercise(name="demo-double", points=3, hint="multiply by two")
def test_double_doubles(impl):
    for x in CASES:
        expected = 2 * x
        assert impl.double(x) == expected, f"double({x}) is {expected}"
"""
CRASHING_DOUBLE = "def double(x):\n    return [2 * x][x // 50]\n"


def test_why_shows_the_call_that_raised_inside_the_learners_code(tmp_path: Path) -> None:
    root = demo_tree(tmp_path, DEMO_CALLING_GRADER)
    (root / "crashing.py").write_text(CRASHING_DOUBLE)
    proc = grade("--chapter", "98", "--impl", "ch98_demo=crashing", cwd=root, pythonpath=root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert why_lines(proc.stdout) == [
        "IndexError: list index out of range — failing call: impl.double(x) with x=60"
    ]


def test_check_shows_why_under_its_one_line_verdict(tmp_path: Path) -> None:
    root = demo_tree(tmp_path, DEMO_PROPERTY_GRADER)
    (root / "exercises" / "ch98_demo.py").write_text(HALF_RIGHT_DOUBLE)
    proc = run("-c", "from exercises import check; check('demo-double')", cwd=root)
    assert proc.stderr == ""
    assert proc.stdout.splitlines() == [
        "✗ demo-double: 0/3 — hint: multiply by two (0/1 tests pass)",
        "  why: AssertionError: wrong double — failing example: x=50",
    ]


@pytest.mark.parametrize(
    ("message", "example"),
    [
        (
            "AssertionError\nFailing test case: test_decode(\n    impl=<module 'mine' from "
            "'/x/mine.py'>,\n    elapsed_ms=0,\n    sequence=2048,\n)",
            "elapsed_ms=0, sequence=2048",
        ),
        (
            "AssertionError\nFalsifying example: test_render(\n    impl=namespace(\n"
            "        render=<function render>,\n    ),\n    case=('${a}', {'a': '1'}),\n)",
            "case=('${a}', {'a': '1'})",
        ),
        (
            "AssertionError\nFailing test case: test_x(impl=<module 'm'>, x=3, y='a, b')",
            "x=3, y='a, b'",
        ),
        (
            "AssertionError: claim('b') returned True\nassert True is False\n"
            "Failing test case: <state machine>\nstate = DedupeAgainstAModel()\n"
            "state.claim(key='b')\nstate.claim(key='b')\nstate.teardown()",
            "claim(key='b'); claim(key='b')",
        ),
        (
            "AssertionError\nFailing test case: test_y(\n    impl=<module 'm'>,\n"
            "    data=data(...),\n)\nDraw 1: 42",
            "data=data(...); draw 1: 42",
        ),
        ("AssertionError: assert 1 == 2", ""),
    ],
    ids=["property", "namespace-impl", "one-line", "state-machine", "draws", "none"],
)
def test_failing_example_reads_hypothesis_notes(message: str, example: str) -> None:
    assert grading.failing_example(message) == example
