"""Instant feedback on one exercise, for a notebook's "Your turn" cell.

>>> from exercises import check
>>> check("snowflake-encode")                                    # doctest: +SKIP
✗ snowflake-encode: 0/2 — hint: shift the elapsed ms left by 22, ... (0/16 tests pass)
  why: NotImplementedError: exercise: encode — ...
False
"""

from __future__ import annotations

from reference.core.errors import InvalidArgument, NotFound

__all__ = ["check"]


def check(name: str, *, solution: bool = False) -> bool:
    """Run one exercise's graders against your starter module; print the verdict; return passed.

    Parameters
    ----------
    name : str
        The exercise name, as in the score table (``"snowflake-encode"``).
    solution : bool
        Grade the reference solution instead (to see what passing looks like).

    Returns
    -------
    bool
        True when every test of the exercise passes (it then earns its points).

    Raises
    ------
    InvalidArgument
        If ``name`` is not a non-empty string.
    NotFound
        If no grader declares an exercise called ``name``; the message lists the known ones.

    Notes
    -----
    Prints one line, ``✓ snowflake-encode: 2/2``; or, on a failure, ``✗ snowflake-encode:
    0/2 — hint: ...`` with the hint of the first failing test, and under it ``why: ...``:
    the first line of its error and, once your code runs, the input that made it fail
    (hypothesis' failing example, or the test's case). Your module is re-imported on every
    call, so save the file and call ``check`` again; no kernel restart needed.
    """
    if not isinstance(name, str) or not name:
        raise InvalidArgument.bad_value("name", name, "an exercise name such as 'snowflake-encode'")
    from exercises.grade import run_graders  # lazy: keeps `import exercises` light

    report = run_graders(exercise=name, solution=solution)
    if report.errors:
        print(f"✗ {name}: the graders could not run — {report.errors[0]}")
        return False
    if not report.results:
        known = ", ".join(sorted(report.known_exercises)) or "none"
        raise NotFound("exercise", name, hint=f"known exercises: {known}")
    result = report.results[0]
    print(result.summary_line())
    if not result.passed:
        print(f"  why: {result.reason}")
    return result.passed
