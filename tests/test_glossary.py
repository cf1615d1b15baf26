"""Notebook 00's glossary names real components, and the notebooks use its terms as the notes do.

The glossary's last column points a Korean term at the lab's code (`notification.retry`,
`blocks.idempotency`, ...): every such path must import, so that a renamed or moved module
cannot leave the glossary pointing at nothing.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

import nbformat
import pytest

import reference

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
START_HERE = ROOT / "notebooks" / "00_start_here.ipynb"
GLOSSARY_HEADING = "## Glossary"
SUBPACKAGES = {module.name for module in pkgutil.iter_modules(reference.__path__)}
CODE_SPAN = re.compile(r"`([^`]+)`")
DOTTED = re.compile(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*$")

# (test id, a term of the Korean column, a component the row's last column must name)
REQUIRED_ROWS = [
    ("exponential-backoff", "지수적 백오프", "notification.retry"),
    ("jitter", "지터", "notification.retry"),
    ("idempotency", "멱등성", "blocks.idempotency"),
    ("dead-letter-queue", "데드 레터 큐", "notification.poison"),
    ("analytics-service", "분석 서비스", "notification.tracking"),
    ("notification-provider", "알림 제공자", "notification.worker"),
    ("preventing-data-loss", "데이터 손실 방지", "notification.records"),
]


def _markdown_tables(source: str) -> list[list[list[str]]]:
    """Each Markdown table in ``source``: its rows (header first, no separator), as cells."""
    tables: list[list[list[str]]] = []
    current: list[list[str]] = []
    for line in [*source.splitlines(), ""]:
        stripped = line.strip()
        if stripped.startswith("|") and stripped.endswith("|"):
            cells = [cell.strip() for cell in stripped[1:-1].split("|")]
            if not all(re.fullmatch(r":?-+:?", cell) for cell in cells):
                current.append(cells)
        elif current:
            tables.append(current)
            current = []
    return tables


def glossary_rows() -> list[list[str]]:
    """The rows of notebook 00's glossary table (Korean, English, where in the lab)."""
    nb = nbformat.read(START_HERE, as_version=4)
    sources = [cell.source for cell in nb.cells
               if cell.cell_type == "markdown" and cell.source.startswith(GLOSSARY_HEADING)]
    assert len(sources) == 1, f"notebook 00 needs one markdown cell starting {GLOSSARY_HEADING!r}"
    [table] = _markdown_tables(sources[0])
    header, *rows = table
    assert [h.lower() for h in header] == ["한국어", "english", "where in the lab"], header
    return rows


def component_paths(where: str) -> list[str]:
    """The code paths a glossary cell names: `notification.retry`, `reference.core.ids`, ..."""
    paths = []
    for span in CODE_SPAN.findall(where):
        if DOTTED.match(span) and span.split(".")[0] in {"reference", *SUBPACKAGES}:
            paths.append(span if span.startswith("reference") else f"reference.{span}")
    return paths


def resolve(path: str) -> object:
    """Import the longest module prefix of ``path`` and look the rest up as attributes."""
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            found: object = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attribute in parts[cut:]:
            found = getattr(found, attribute)
        return found
    raise ModuleNotFoundError(path)


def test_every_component_the_glossary_names_exists() -> None:
    named = [(row[0], path) for row in glossary_rows() for path in component_paths(row[-1])]
    assert len(named) >= 20, "the glossary's last column should name the lab's components"
    missing = []
    for term, path in named:
        try:
            resolve(path)
        except (ImportError, AttributeError) as error:
            missing.append(f"{term}: `{path}` ({type(error).__name__}: {error})")
    assert not missing, "the glossary names components that do not exist:\n" + "\n".join(missing)


@pytest.mark.parametrize(("term", "component"), [row[1:] for row in REQUIRED_ROWS],
                         ids=[row[0] for row in REQUIRED_ROWS])
def test_the_glossary_defines_the_term_and_points_at_its_component(
    term: str, component: str
) -> None:
    rows = [row for row in glossary_rows() if term in row[0]]
    assert rows, f"the glossary has no row for {term}"
    wanted = f"reference.{component}"
    named = [path for row in rows for path in component_paths(row[-1])]
    assert any(path == wanted or path.startswith(wanted + ".") for path in named), (
        f"the glossary row for {term} should point at `{component}`: {rows}"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_table_calls_apns_or_fcm_the_notification_provider(path: Path) -> None:
    """알림 제공자 is the server that builds each request and sends it to APNs/FCM (the notes:
    "알림 요청을 만들어 애플 푸시알림서비스로 보내는 주체"), not APNs or FCM themselves."""
    nb = nbformat.read(path, as_version=4)
    wrong = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown":
            continue
        for header, *rows in _markdown_tables(cell.source):
            for column, title in enumerate(header):
                if "알림 제공자" not in title:
                    continue
                values = [row[column] for row in rows if column < len(row)]
                wrong += [f"cell {index}: column {title!r} holds {value!r}" for value in values
                          if re.search(r"\b(APNs|FCM)\b", value, re.IGNORECASE)]
    assert not wrong, "\n".join(wrong)
