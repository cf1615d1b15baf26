"""The house's shape: chapters stand on core, storage and blocks, never on each other.

Read from the source with ``ast`` (nothing is imported), so a new module is covered the
moment it lands.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REFERENCE = Path(__file__).resolve().parent.parent / "reference"

#: what each part of the package may import (besides itself and the standard library)
CHAPTERS = {"notification": "10", "feed": "11", "cache": "11", "chat": "12", "presence": "12"}
ALLOWED = {
    "core": set(),
    "storage": {"core"},
    "blocks": {"core", "storage"},
    **{chapter: {"core", "storage", "blocks"} for chapter in CHAPTERS},
}
#: the one exception DESIGN.md allows: chapter 12 may hand an offline user's push to
#: chapter 10's client
EXCEPTIONS = {(part, "reference.notification.client") for part in ("chat", "presence")}


def modules() -> list[Path]:
    return sorted(p for p in REFERENCE.rglob("*.py") if "__pycache__" not in p.parts)


def part_of(path: Path) -> str:
    relative = path.relative_to(REFERENCE).parts
    return relative[0] if len(relative) > 1 else ""


def imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_every_part_of_the_package_is_known_to_this_test() -> None:
    parts = {part_of(path) for path in modules()} - {""}
    assert parts <= set(ALLOWED), f"a new part of reference/: {parts - set(ALLOWED)}"


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(REFERENCE)))
def test_a_module_imports_only_the_parts_below_it(path: Path) -> None:
    part = part_of(path)
    if not part:
        return
    same_chapter = {p for p, n in CHAPTERS.items() if n == CHAPTERS.get(part)}
    allowed = ALLOWED[part] | {part} | same_chapter
    for name in imports(path):
        if not name.startswith("reference.") or (part, name) in EXCEPTIONS:
            continue
        target = name.split(".")[1]
        assert target in allowed, f"{path.relative_to(REFERENCE)} imports {name}"


@pytest.mark.parametrize("path", [p for p in modules() if part_of(p) in CHAPTERS],
                         ids=lambda p: str(p.relative_to(REFERENCE)))
def test_no_chapter_keeps_a_timer_heap_of_its_own(path: Path) -> None:
    """Time and timers belong to reference.core.sim: one engine for every chapter. (Merging
    sorted lists with ``heapq.merge`` keeps no heap of events: it is allowed.)"""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    heap_ops = {"heappush", "heappop", "heapify", "heapreplace", "heappushpop"}
    used = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    used |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
             and node.module == "heapq" for alias in node.names}
    assert not heap_ops & used, f"{path.name} keeps a heap: {sorted(heap_ops & used)}"
    assert "sched" not in imports(path), f"{path.name} imports sched"
