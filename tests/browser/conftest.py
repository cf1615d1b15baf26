"""Fixtures of the browser tests: Debian's Chromium through pytest-playwright, one JupyterLab for
the run, and each notebook opened and run once (every check of a notebook reads the same page).

Environment:
- ``LAB_CHROMIUM``: the Chromium to drive (default ``/usr/bin/chromium``, Debian's ``chromium``;
  Playwright's own browser download is not used).
- ``LAB_BROWSER_TESTS=required``: a missing Chromium fails the run instead of skipping it
  (``.ci/run`` sets it).
- ``LAB_NOTEBOOKS``: the folder whose ``*.ipynb`` are tested (default ``notebooks/``); the server
  serves a temporary copy of it, so nothing the tests do touches the committed files.
- ``LAB_RUN_TIMEOUT_S``: how long Run All Cells may take per notebook (default 900).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser

from tests.browser.lab import Committed, LabNotebook, LabServer, opened

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("LAB_CHROMIUM", "/usr/bin/chromium"))
REQUIRED = os.environ.get("LAB_BROWSER_TESTS", "") == "required"
NOTEBOOKS = Path(os.environ.get("LAB_NOTEBOOKS", ROOT / "notebooks")).resolve()
ARTIFACTS = ROOT / "test-artifacts" / "browser"
RUN_TIMEOUT_S = float(os.environ.get("LAB_RUN_TIMEOUT_S", "900"))
MOVE_TIMEOUT_S = 120.0  # one widget update (a slider move reruns its experiment)
# Headless Chromium in a closed network: no background connections, no first-run work.
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]

_timings: list[tuple[str, float]] = []


def _notebook_paths() -> list[Path]:
    return sorted(NOTEBOOKS.glob("*.ipynb"))


@pytest.fixture(scope="session")
def chromium() -> Path:
    """The system Chromium, or a skip (a failure under ``LAB_BROWSER_TESTS=required``)."""
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        reason = (f"no Chromium found at {CHROMIUM}: install Debian's chromium to run the "
                  "browser tests (apt-get install chromium)")
        if REQUIRED:
            pytest.fail(f"{reason}; LAB_BROWSER_TESTS=required", pytrace=False)
        pytest.skip(reason)
    return CHROMIUM


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any],
                             chromium: Path) -> dict[str, Any]:
    """pytest-playwright launches our Chromium, headless unless ``--headed``."""
    return {**browser_type_launch_args, "executable_path": str(chromium),
            "args": CHROMIUM_FLAGS}


@pytest.fixture(scope="session")
def lab_server(chromium: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    server = LabServer(notebooks=NOTEBOOKS, home=tmp_path_factory.mktemp("jupyterlab"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session", params=_notebook_paths(), ids=lambda path: path.stem)
def notebook(request: pytest.FixtureRequest, browser: Browser,
             lab_server: LabServer) -> Iterator[LabNotebook]:
    """The notebook opened in JupyterLab after Clear Outputs of All Cells and Run All Cells."""
    committed = Committed.read(request.param)
    for stale in ARTIFACTS.glob(f"{committed.path.stem}-*.png"):
        stale.unlink()
    with opened(browser, lab_server, committed, ARTIFACTS) as page:
        page.open()
        run = page.run_all(RUN_TIMEOUT_S)
        _timings.append((committed.name, run.seconds))
        yield page


@pytest.fixture(scope="session")
def move_timeout_s() -> float:
    return MOVE_TIMEOUT_S


@pytest.fixture(scope="session")
def run_timeout_s() -> float:
    return RUN_TIMEOUT_S


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _timings:
        terminalreporter.write_sep("-", "JupyterLab: Run All Cells took")
        for name, seconds in _timings:
            terminalreporter.write_line(f"{name}: {seconds:.1f} s")
    if ARTIFACTS.is_dir() and any(ARTIFACTS.glob("*.png")):
        terminalreporter.write_line(f"browser screenshots of failures: {ARTIFACTS}")
