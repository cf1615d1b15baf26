"""pytest wiring for the graders: the ``exercise`` marker, ``--solution``/``--impl``, ``impl``.

A grader module ``exercises/graders/test_chNN_<topic>.py`` grades the starter module
``exercises/chNN_<topic>.py`` (or the one named by a module-level ``STARTER``). It declares
where the model answer lives with a module-level ``SOLUTION``: a module name
(``"reference.core.ids"``), or a mapping from each public name to ``"module:attribute"``
when the answer is spread over several modules. Every test takes the ``impl`` fixture and
calls the code under test only through it, and carries one marker::

    @pytest.mark.exercise(name="snowflake-encode", points=2, hint="shift each field ...")
    def test_encode_puts_each_field_in_its_bits(impl): ...

``impl`` is the learner's starter module by default, the ``SOLUTION`` with ``--solution``,
and any importable module with ``--impl exercises.chNN_topic=some.module`` (to grade a
submission kept elsewhere, or a deliberately broken variant in the kit's own tests). The
starter may be given by its file's stem, ``--impl chNN_topic=some.module``; a starter that
none of the collected graders grades is a usage error, not a silent run of the starter.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

_FRESH_IMPORTS = pytest.StashKey[dict[str, ModuleType]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("exercises", "graded exercises")
    group.addoption(
        "--solution",
        action="store_true",
        default=False,
        help="grade the reference solution (each grader's SOLUTION) instead of the starters",
    )
    group.addoption(
        "--impl",
        action="append",
        default=[],
        metavar="STARTER=MODULE",
        help="grade the importable MODULE in place of the starter module STARTER",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "exercise(name, points, hint): a graded exercise check (exercises/graders)"
    )
    impl_overrides(config)  # a malformed --impl is a usage error before anything runs


def impl_overrides(config: pytest.Config) -> dict[str, str]:
    """The ``--impl STARTER=MODULE`` options as a mapping of starter module -> module.

    A ``STARTER`` without a dot is a starter file's stem: ``ch00_unique_ids`` means
    ``exercises.ch00_unique_ids`` (the same rule as ``exercises.grade.resolve_impl``).
    """
    overrides: dict[str, str] = {}
    for spec in config.getoption("impl"):
        starter, sep, module = (part.strip() for part in spec.partition("="))
        if not sep or not starter or not module:
            raise pytest.UsageError(
                f"--impl {spec!r} is invalid: expected STARTER=MODULE, "
                "e.g. exercises.ch00_unique_ids=my_submission"
            )
        if "." not in starter:
            starter = f"exercises.{starter}"
        overrides[starter] = module
    return overrides


@pytest.hookimpl(tryfirst=True)  # before any plugin drops items (exercises.grade filters)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Refuse an ``--impl`` for a starter that none of the collected graders grades.

    Otherwise a typo in ``STARTER`` would grade the untouched starter and pass unnoticed.
    Skipped when a grader failed to collect: its error is the one to read first.
    """
    overrides = impl_overrides(config)
    if not overrides or config.getoption("solution") or session.testsfailed:
        return
    graded = {
        starter_name(module)
        for module in {getattr(item, "module", None) for item in items}
        if module is not None
    }
    unknown = sorted(set(overrides) - graded)
    if unknown:
        raise pytest.UsageError(
            f"--impl names {', '.join(unknown)}, which no collected grader grades; the "
            f"graded starters are: {', '.join(sorted(graded)) or 'none'}"
        )


def starter_name(grader: ModuleType) -> str:
    """The starter module a grader grades: its ``STARTER``, or derived from its file name."""
    explicit = getattr(grader, "STARTER", None)
    if isinstance(explicit, str) and explicit:
        return explicit
    stem = Path(str(grader.__file__)).stem
    return "exercises." + stem.removeprefix("test_")


def _import_fresh(name: str, config: pytest.Config) -> ModuleType:
    """Import the learner's module anew once per run, so edits show up in a live kernel."""
    cache = config.stash.setdefault(_FRESH_IMPORTS, {})
    if name not in cache:
        importlib.invalidate_caches()
        sys.modules.pop(name, None)
        cache[name] = importlib.import_module(name)
    return cache[name]


def _solution(grader: ModuleType) -> Any:
    spec = getattr(grader, "SOLUTION", None)
    if isinstance(spec, str):
        return importlib.import_module(spec)
    if isinstance(spec, Mapping):
        names: dict[str, Any] = {}
        for public, target in spec.items():
            module, _, attribute = str(target).partition(":")
            names[str(public)] = getattr(importlib.import_module(module), attribute or public)
        return SimpleNamespace(**names)
    raise pytest.UsageError(
        f"{grader.__name__} has no SOLUTION: set it to the module holding the model answer "
        "(a dotted name) or to a mapping of public name -> 'module:attribute'"
    )


@pytest.fixture(scope="module")
def impl(request: pytest.FixtureRequest) -> Any:
    """The code under test: the learner's module, the solution, or an ``--impl`` override."""
    grader = request.module
    if request.config.getoption("solution"):
        return _solution(grader)
    starter = starter_name(grader)
    target = impl_overrides(request.config).get(starter)
    try:
        if target is not None:
            return importlib.import_module(target)
        return _import_fresh(starter, request.config)
    except Exception as exc:
        pytest.fail(
            f"cannot import {target or starter}: {type(exc).__name__}: {exc}", pytrace=False
        )
