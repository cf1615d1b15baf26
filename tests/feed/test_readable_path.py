"""One post's path through chapter 11 stays readable: at most 450 distinct lines.

The path: ``publish`` to a follower's hydrated feed page (push, no faults, memory backend),
counted as the distinct ``line`` events of ``reference/`` outside ``storage/`` that
``sys.settrace`` sees, set-up excluded.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import reference
from reference.core.clock import FakeClock
from reference.feed.system import NewsFeedSystem
from reference.storage import connect

ROOT = Path(reference.__file__).resolve().parent
STORAGE = ROOT / "storage"
LINE_BUDGET = 450


def lines_run(action: Any) -> set[tuple[str, int]]:
    seen: set[tuple[str, int]] = set()

    def tracer(frame: FrameType, event: str, arg: object) -> Any:
        path = Path(frame.f_code.co_filename)
        if not path.is_relative_to(ROOT) or path.is_relative_to(STORAGE):
            return None
        if event == "line":
            seen.add((str(path.relative_to(ROOT)), frame.f_lineno))
        return tracer

    sys.settrace(tracer)
    try:
        action()
    finally:
        sys.settrace(None)
    return seen


def one_post_path() -> Iterator[Any]:
    system = NewsFeedSystem.create(connect("memory", clock=FakeClock(start=1_767_225_600.0)),
                                   seed=1, mode="push")
    for name in ("ada", "bob"):
        system.register_user(name, name=name.title())
    system.follow("bob", "ada")
    system.feed("bob")  # bob's feed is cached: the post is pushed into it
    yield lambda: (system.publish("ada", "hello"), system.run_until_idle(),
                   system.feed("bob"))


def test_one_posts_path_from_publish_to_a_hydrated_page_reads_in_one_sitting() -> None:
    [path] = list(one_post_path())
    seen = lines_run(path)
    by_file: dict[str, int] = {}
    for name, _ in seen:
        by_file[name] = by_file.get(name, 0) + 1
    assert len(seen) <= LINE_BUDGET, f"{len(seen)} lines: {sorted(by_file.items())}"
    assert {"feed/fanout.py", "feed/read.py", "feed/feeds.py"} <= set(by_file)
