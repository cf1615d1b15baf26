"""The browser tests' tools: a JupyterLab server of our own, the committed notebook's facts, and
a notebook driven in JupyterLab as a learner drives it (menus, keyboard, mouse).

The DOM classes are JupyterLab 4.6's and ipywidgets 8's, read from their packaged JS:
a notebook is ``.jp-NotebookPanel``, its cells ``.jp-Notebook-cell`` in order (all of them attached:
the server's settings turn notebook windowing off), a code cell's prompt ``.jp-InputPrompt``
(``[ ]:``, ``[*]:``, ``[12]:``), its outputs ``.jp-Cell-outputArea``, each
``.jp-OutputArea-output`` with the ``data-mime-type`` it was rendered as (an error renders as
``application/vnd.jupyter.stderr`` holding the traceback). A widget view's root carries
``.jupyter-widgets`` (``.widget-interact`` for ``interactive``; the placeholder
"Loading widget..." or "Error displaying widget: ..." is plain text, also under
``.jupyter-widgets``), an Output widget ``.widget-output``. A Mermaid fence of a Markdown cell
becomes ``.jp-RenderedMermaid``: a ``figure`` whose ``img`` holds the SVG as a data URI, or, when
Mermaid cannot parse it, ``.jp-RenderedMermaid.jp-mod-warning`` with the parse error in a
``details`` element.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
from playwright.sync_api import Browser, Page

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
MERMAID_FENCE = re.compile(r"^\s*(```|~~~)\s*mermaid\s*$", re.MULTILINE)
# What a learner recognises as a failed cell in an stderr output area.
ERROR_TEXT = re.compile(r"Traceback|^\s*[\w.]*(Error|Exception)\b:", re.MULTILINE)


# ---------------------------------------------------------------------------------------------
# the JupyterLab server


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _write_settings(settings_dir: Path) -> None:
    """User settings for this server only: every cell attached to the DOM (no windowing, so
    that cell ``i`` of the file is cell ``i`` on the page) and no news fetched."""
    chosen = {
        "notebook-extension/tracker": {"windowingMode": "none"},
        "apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    }
    for plugin, values in chosen.items():
        path = settings_dir / "@jupyterlab" / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))


@dataclass
class LabServer:
    """A JupyterLab of the current environment, on a free loopback port with a random token,
    serving a copy of a notebooks folder; its settings, workspaces and runtime files live in
    ``home`` and nowhere else."""

    notebooks: Path
    home: Path
    port: int = field(default_factory=free_loopback_port)
    token: str = field(default_factory=lambda: secrets.token_hex(24))
    process: subprocess.Popen[bytes] | None = None

    @property
    def root(self) -> Path:
        return self.home / "notebooks"

    @property
    def log(self) -> Path:
        return self.home / "jupyterlab.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def notebook_url(self, name: str) -> str:
        # ?reset: a fresh workspace, so the page shows this notebook and nothing restored
        return f"{self.url}/lab/tree/{urllib.parse.quote(name)}?reset&token={self.token}"

    def start(self, timeout_s: float = 90.0) -> None:
        shutil.copytree(self.notebooks, self.root, ignore=shutil.ignore_patterns(
            ".ipynb_checkpoints", "__pycache__"))
        for name in ("settings", "workspaces", "runtime", "config"):
            (self.home / name).mkdir()
        _write_settings(self.home / "settings")
        env = {
            **os.environ,
            "JUPYTERLAB_SETTINGS_DIR": str(self.home / "settings"),
            "JUPYTERLAB_WORKSPACES_DIR": str(self.home / "workspaces"),
            "JUPYTER_RUNTIME_DIR": str(self.home / "runtime"),
            "JUPYTER_CONFIG_DIR": str(self.home / "config"),  # no user config (passwords, ...)
        }
        command = [
            sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1",
            f"--port={self.port}", "--port-retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root}",
            "--LabApp.expose_app_in_browser=True",  # the tests read the kernel's status
            "--ServerApp.terminals_enabled=False",
            # should the tests die without stopping it: kernels idle for 30 minutes are
            # culled, and a server with no kernel left stops itself 15 minutes later
            "--MappingKernelManager.cull_idle_timeout=1800",
            "--MappingKernelManager.cull_interval=300",
            "--ServerApp.shutdown_no_activity_timeout=900",
        ]
        if os.geteuid() == 0:
            command.append("--allow-root")
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(command, env=env, cwd=self.root, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {self.process.returncode}:\n"
                                   f"{self.log_tail()}")
            if self._answers():
                return
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"JupyterLab did not answer within {timeout_s:.0f} s:\n"
                           f"{self.log_tail()}")

    def _answers(self) -> bool:
        status = f"{self.url}/api/status?token={self.token}"
        try:
            with urllib.request.urlopen(status, timeout=2) as answer:
                return bool(answer.status == 200)
        except OSError:
            return False

    def stop(self) -> None:
        """Stop the server (it shuts its kernels down), then end whatever of its process group
        and of its children (kernels run in sessions of their own) is still alive."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        try:
            started = psutil.Process(process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            started = []
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        _, alive = psutil.wait_procs(started, timeout=10)
        for child in alive:
            with contextlib.suppress(psutil.NoSuchProcess):
                child.kill()

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


# ---------------------------------------------------------------------------------------------
# the committed notebook: what the browser must show


@dataclass(frozen=True)
class Committed:
    """The facts of a notebook file that the browser checks rely on."""

    path: Path
    cells: list[dict[str, Any]]

    @classmethod
    def read(cls, path: Path) -> Committed:
        return cls(path, json.loads(path.read_text())["cells"])

    @property
    def name(self) -> str:
        return self.path.name

    def source(self, index: int) -> str:
        source = self.cells[index].get("source", "")
        return "".join(source) if isinstance(source, list) else source

    def code_cells_to_run(self) -> list[int]:
        return [i for i, c in enumerate(self.cells)
                if c["cell_type"] == "code" and self.source(i).strip()]

    def widget_views(self) -> dict[int, int]:
        """Cell index -> how many widget views its committed outputs hold."""
        views = {}
        for index, cell in enumerate(self.cells):
            count = sum(WIDGET_MIME in output.get("data", {})
                        for output in cell.get("outputs", []))
            if count:
                views[index] = count
        return views

    def mermaid_blocks(self) -> dict[int, int]:
        """Markdown cell index -> how many Mermaid fences it holds."""
        blocks = {}
        for index, cell in enumerate(self.cells):
            if cell["cell_type"] == "markdown":
                count = len(MERMAID_FENCE.findall(self.source(index)))
                if count:
                    blocks[index] = count
        return blocks

    def constant_controls(self, index: int) -> set[str]:
        """The controls of cell ``index`` whose moves may change nothing: metadata
        ``{"lab": {"constant_controls": [...]}}`` names them by keyword argument (as the kernel
        sees them) or by the description the page shows; both are returned."""
        names = set(self.cells[index].get("metadata", {}).get("lab", {})
                    .get("constant_controls", []))
        described = _descriptions_by_keyword(self.source(index))
        return names | {label for keyword, label in described.items() if keyword in names}

    def first_line(self, index: int) -> str:
        lines = [line for line in self.source(index).splitlines()
                 if line.strip() and not line.startswith("# NBVAL")]
        return lines[0].strip()[:60] if lines else ""


def _descriptions_by_keyword(source: str) -> dict[str, str]:
    """``interactive(f, ms=IntSlider(description="ms after epoch"))`` -> {"ms": "ms after
    epoch"}: a control's label on the page is its description, or else its keyword."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {}
    found = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        for keyword in node.keywords:
            value = keyword.value
            if keyword.arg and isinstance(value, ast.Call):
                for inner in value.keywords:
                    if inner.arg == "description" and isinstance(inner.value, ast.Constant):
                        found[keyword.arg] = str(inner.value.value)
    return found


# ---------------------------------------------------------------------------------------------
# a notebook in JupyterLab

# JS helpers evaluated in the page; `panel` is the open notebook's Lumino widget.
_JS_PANEL = """
const app = window.jupyterapp;  // set once JupyterLab has started
const panel = app ? [...app.shell.widgets('main')]
    .find(w => w.context && w.context.path === path) : undefined;
"""


def _js(body: str) -> str:
    return f"(args) => {{ const path = args.path; {_JS_PANEL} {body} }}"


_STATE = _js("""
    if (!panel) return {ready: false};
    const context = panel.sessionContext;
    const kernel = context.session && context.session.kernel;
    const prompts = [...panel.node.querySelectorAll('.jp-Notebook-cell')].map(cell =>
        cell.classList.contains('jp-CodeCell')
            ? cell.querySelector('.jp-InputPrompt').textContent.trim() : null);
    return {ready: true, status: kernel ? kernel.status : 'none', prompts,
            busy: window.__labBusy || 0};
""")

_COUNT_BUSY = _js("""
    if (window.__labBusyCounting) return;
    window.__labBusyCounting = true;
    window.__labBusy = 0;
    panel.sessionContext.statusChanged.connect((_, status) => {
        if (status === 'busy') window.__labBusy += 1;
    });
""")

_CELL = "const cell = panel.node.querySelectorAll('.jp-Notebook-cell')[args.index];"

_ERRORS = _js(f"""
    {_CELL}
    const shown = [...cell.querySelectorAll(
        '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')]
        .map(e => e.innerText);
    const model = panel.content.widgets[args.index].model;
    const outputs = model.outputs ? [...Array(model.outputs.length).keys()]
        .map(i => model.outputs.get(i).toJSON()) : [];
    const raised = outputs.filter(o => o.output_type === 'error')
        .map(o => `${{o.ename}}: ${{o.evalue}}`);
    const broken = [...cell.querySelectorAll('.jp-OutputArea-output')]
        .map(e => e.innerText.trim())
        .filter(t => t.startsWith('Error displaying widget'));
    return {{shown, raised, broken}};
""")

_OUTPUT_TEXT = _js(f"""
    {_CELL}
    return cell.querySelector('.jp-Cell-outputArea').innerText.replace(/\\s+/g, ' ').trim();
""")

_WIDGET_VIEWS = _js(f"""
    {_CELL}
    const area = cell.querySelector('.jp-Cell-outputArea');
    const outputs = [...area.querySelectorAll(
        ':scope > .jp-OutputArea-child > .jp-OutputArea-output')];
    return outputs.filter(o => o.querySelector(':scope > .jupyter-widgets')).map(o => ({{
        text: o.innerText.trim().slice(0, 200),
        placeholder: /^(Loading widget|Error displaying widget)/.test(o.innerText.trim()),
        controls: o.querySelectorAll('input, select, button, .noUi-handle').length,
        classes: o.querySelector(':scope > .jupyter-widgets').className,
    }}));
""")

# Every control of the cell's widgets (not those inside a widget's own output area), tagged
# so that Playwright can find it again; its box is tagged too, to leave it out of snapshots.
_CONTROLS = _js(f"""
    {_CELL}
    const area = cell.querySelector('.jp-Cell-outputArea');
    const inOutputWidget = e => {{
        const out = e.closest('.widget-output');
        return out !== null && area.contains(out);
    }};
    const kinds = [
        ['slider', '.widget-slider', '.noUi-handle'],
        ['dropdown', '.widget-dropdown', 'select'],
        ['select', '.widget-select', 'select'],
        ['text', '.widget-text', 'input'],
        ['checkbox', '.widget-checkbox', 'input[type=checkbox]'],
        ['radio buttons', '.widget-radio', 'input[type=radio]'],
        ['toggle buttons', '.widget-toggle-buttons', 'button'],
    ];
    const found = [];
    for (const [kind, boxSelector, inputSelector] of kinds) {{
        for (const box of area.querySelectorAll(boxSelector)) {{
            if (inOutputWidget(box) || box.dataset.labControlBox) continue;
            const input = box.querySelector(inputSelector);
            if (!input || input.disabled) continue;
            const key = `c${{args.index}}-${{found.length}}`;
            box.dataset.labControlBox = key;
            input.dataset.labControl = key;
            const label = box.querySelector('.widget-label, label');
            found.push({{key, kind, label: label ? label.textContent.trim() : ''}});
        }}
    }}
    return found;
""")

_SNAPSHOT = _js(f"""
    {_CELL}
    const area = cell.querySelector('.jp-Cell-outputArea');
    const copy = area.cloneNode(true);
    copy.querySelectorAll('[data-lab-control-box]').forEach(e => e.remove());
    // ids are random and a redrawn output area gets an empty style: neither is something shown
    const html = copy.innerHTML.replace(/ (id|for|data-icon-id|style)="[^"]*"/g, '');
    const shown = [...area.querySelectorAll('.widget-output')].map(e => e.innerText).join(' ');
    return {{html, text: shown.replace(/\\s+/g, ' ').trim().slice(0, 160),
             images: area.querySelectorAll('.widget-output img').length}};
""")

_MERMAID = _js(f"""
    {_CELL}
    const brokenLines = pre => {{  // Mermaid's message, its <br> back to line breaks
        if (!pre) return '';
        const copy = pre.cloneNode(true);
        copy.querySelectorAll('br').forEach(br => br.replaceWith('\\n'));
        return copy.textContent;
    }};
    return [...cell.querySelectorAll('.jp-RenderedMermaid')].map(e => {{
        const img = e.querySelector('figure img');
        const src = img ? img.getAttribute('src') || '' : '';
        let svg = '';
        try {{ svg = decodeURIComponent(src.replace(/^data:image\\/svg\\+xml,/, '')); }}
        catch (error) {{ svg = ''; }}
        return {{
            warning: e.classList.contains('jp-mod-warning'),
            error: brokenLines(e.querySelector('details > pre')),
            svg: svg.includes('<svg') || e.querySelector('svg') !== null,
            syntaxError: /Syntax error/i.test(svg) || /Syntax error/i.test(e.innerText),
        }};
    }});
""")


@dataclass
class RunResult:
    """How Run All Cells ended: which cells never got an execution count."""

    seconds: float
    timed_out: bool
    not_run: list[int]


class LabNotebook:
    """One notebook open in JupyterLab in its own browser page."""

    def __init__(self, browser: Browser, server: LabServer, committed: Committed,
                 artifacts: Path) -> None:
        self.server = server
        self.committed = committed
        self.artifacts = artifacts
        self.context = browser.new_context(viewport={"width": 1280, "height": 1400})
        self.page: Page = self.context.new_page()
        self.page.set_default_timeout(30_000)
        self.console_errors: list[str] = []
        self.page.on("console", lambda m: self.console_errors.append(m.text)
                     if m.type == "error" else None)
        self.run: RunResult | None = None

    @property
    def name(self) -> str:
        return self.committed.name

    @property
    def stem(self) -> str:
        return self.committed.path.stem

    def close(self) -> None:
        """Shut the notebook's kernel down (best effort), then close the page."""
        with contextlib.suppress(Exception):
            self.eval(_js("if (panel) return panel.sessionContext.shutdown();"))
        self.context.close()

    def eval(self, script: str, **args: Any) -> Any:
        return self.page.evaluate(script, {"path": self.name, **args})

    def state(self) -> dict[str, Any]:
        return dict(self.eval(_STATE))

    # -- opening and running ------------------------------------------------------------------

    def open(self, timeout_s: float = 120.0) -> None:
        """Open the notebook and wait until every cell is on the page and its kernel idles."""
        self.page.goto(self.server.notebook_url(self.name))
        expected = len(self.committed.cells)

        def loaded(state: dict[str, Any]) -> bool:
            return bool(state.get("ready")) and len(state["prompts"]) == expected \
                and state["status"] == "idle"

        if not self._wait_for(loaded, timeout_s):
            state = self.state()
            raise AssertionError(
                f"{self.name} did not open with an idle kernel within {timeout_s:.0f} s "
                f"(cells on the page: {len(state.get('prompts', []))} of {expected}, kernel: "
                f"{state.get('status')}); see {self.screenshot('open')}")
        self.eval(_COUNT_BUSY)

    def run_all(self, timeout_s: float) -> RunResult:
        """Edit > Clear Outputs of All Cells, then Run > Run All Cells, as a learner would;
        wait until the kernel idles with no cell pending (``[*]``)."""
        self._menu("Edit", "Clear Outputs of All Cells")
        started = time.monotonic()
        self._menu("Run", "Run All Cells")
        to_run = self.committed.code_cells_to_run()

        def finished(state: dict[str, Any]) -> bool:
            prompts = state["prompts"]
            return state["status"] == "idle" and "[*]:" not in prompts and all(
                re.fullmatch(r"\[\d+\]:", prompts[i] or "") for i in to_run)

        def stopped(state: dict[str, Any]) -> bool:  # a cell failed: Run All stops there
            return state["status"] == "idle" and "[*]:" not in state["prompts"]

        done = self._wait_for(finished, timeout_s, give_up=stopped, give_up_after_s=5.0)
        prompts = self.state()["prompts"]
        self._settle()
        self.run = RunResult(
            seconds=time.monotonic() - started,
            timed_out=not done and "[*]:" in prompts,
            not_run=[i for i in to_run if not re.fullmatch(r"\[\d+\]:", prompts[i] or "")],
        )
        return self.run

    def _menu(self, menu: str, item: str) -> None:
        self.page.get_by_role("menuitem", name=menu, exact=True).click()
        self.page.get_by_role("menuitem", name=item, exact=True).click()

    def _wait_for(self, condition: Any, timeout_s: float, *, give_up: Any = None,
                  give_up_after_s: float = 0.0) -> bool:
        """Poll the page's state until ``condition`` holds (True), the time runs out (False),
        or ``give_up`` has held for ``give_up_after_s`` in a row (False)."""
        deadline = time.monotonic() + timeout_s
        giving_up_since = None
        while time.monotonic() < deadline:
            state = self.state()
            if state.get("ready") and condition(state):
                return True
            if give_up is not None and state.get("ready") and give_up(state):
                giving_up_since = giving_up_since or time.monotonic()
                if time.monotonic() - giving_up_since >= give_up_after_s:
                    return False
            else:
                giving_up_since = None
            time.sleep(0.25)
        return False

    def _settle(self, timeout_s: float = 15.0, quiet_s: float = 0.75) -> None:
        """Wait until the notebook's DOM stops changing (widgets and images rendering)."""
        script = _js("return panel.node.innerHTML.length + ':' + "
                     "panel.node.querySelectorAll('*').length;")
        deadline = time.monotonic() + timeout_s
        last, since = None, time.monotonic()
        while time.monotonic() < deadline:
            now = self.eval(script)
            if now != last:
                last, since = now, time.monotonic()
            elif time.monotonic() - since >= quiet_s:
                return
            time.sleep(0.15)

    # -- reading cells --------------------------------------------------------------------------

    def errors(self, index: int) -> dict[str, list[str]]:
        return dict(self.eval(_ERRORS, index=index))

    def output_text(self, index: int) -> str:
        return str(self.eval(_OUTPUT_TEXT, index=index))

    def widget_views(self, index: int) -> list[dict[str, Any]]:
        return list(self.eval(_WIDGET_VIEWS, index=index))

    def controls(self, index: int) -> list[dict[str, str]]:
        return list(self.eval(_CONTROLS, index=index))

    def snapshot(self, index: int) -> dict[str, Any]:
        shot = dict(self.eval(_SNAPSHOT, index=index))
        shot["digest"] = hashlib.sha256(shot.pop("html").encode()).hexdigest()
        return shot

    def mermaid(self, index: int, expected: int, timeout_s: float = 30.0) -> list[dict[str, Any]]:
        """The Mermaid figures of Markdown cell ``index``, once ``expected`` of them rendered
        (or the time ran out)."""
        deadline = time.monotonic() + timeout_s
        while True:
            figures = list(self.eval(_MERMAID, index=index))
            if len(figures) >= expected or time.monotonic() > deadline:
                return figures
            time.sleep(0.25)

    # -- moving controls ------------------------------------------------------------------------

    def move(self, control: dict[str, str]) -> str:
        """Move one control to another value as a learner would; describe the move."""
        handle = self.page.locator(f'[data-lab-control="{control["key"]}"]')
        handle.scroll_into_view_if_needed()
        kind = control["kind"]
        if kind == "slider":
            now, top = handle.get_attribute("aria-valuenow"), handle.get_attribute("aria-valuemax")
            was = handle.get_attribute("aria-valuetext")
            key = "ArrowLeft" if now is not None and now == top else "ArrowRight"
            handle.focus()
            handle.press(key)
            return f"{key} on its handle: {was} -> {handle.get_attribute('aria-valuetext')}"
        if kind in ("dropdown", "select"):
            options = handle.evaluate("s => [...s.options].map(o => o.value)")
            current = handle.input_value()
            other = next((o for o in options if o != current), None)
            if other is None:
                return "left alone (it has one option)"
            handle.select_option(other)
            return f"chose option {other!r} instead of {current!r}"
        if kind == "text":
            current = handle.input_value()
            new = _another_text_value(current, handle.evaluate(
                "i => ({type: i.type, min: i.min, max: i.max, step: i.step})"))
            handle.fill(new)
            handle.press("Enter")
            return f"typed {new!r} instead of {current!r}"
        if kind == "checkbox":
            handle.click()
            return "clicked the checkbox"
        box = self.page.locator(f'[data-lab-control-box="{control["key"]}"]')
        if kind == "radio buttons":
            box.locator("input[type=radio]:not(:checked)").first.click()
            return "chose another radio button"
        box.locator("button:not(.mod-active)").first.click()
        return "pressed another toggle button"

    def wait_after_move(self, busy_before: int, timeout_s: float) -> None:
        """A move reaches the kernel (busy), the kernel answers (idle), the page redraws."""
        self._wait_for(lambda s: s["busy"] > busy_before, 5.0)
        self._wait_for(lambda s: s["status"] == "idle", timeout_s)
        self._settle(quiet_s=0.5)

    # -- failures -------------------------------------------------------------------------------

    def screenshot(self, check: str, index: int | None = None) -> Path:
        """Save the page, scrolled to cell ``index``, as ``<notebook>-<check>.png``."""
        path = self.artifacts / f"{self.stem}-{check}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        if index is not None:
            with contextlib.suppress(Exception):
                self.eval(_js(f"{_CELL} cell.scrollIntoView({{block: 'start'}});"), index=index)
                time.sleep(0.3)
        self.page.screenshot(path=str(path), full_page=True)
        return path


def _another_text_value(current: str, field_info: dict[str, str]) -> str:
    """Another value for a text box: its minimum when it has one and is not there (a browser
    holds numbers as doubles, so a step away from a large integer may round back to it), else
    one step up, or down at the maximum."""
    if field_info["type"] != "number":
        return current + " (moved)"
    low, top, step = field_info["min"], field_info["max"], field_info["step"]
    if low and current.strip() != low:
        return low
    try:
        value = float(current)
    except ValueError:
        return low or "1"
    size = float(step) if step not in ("", "any") else 1.0
    moved = value - size if top and value + size > float(top) else value + size
    return str(int(moved)) if moved.is_integer() and "." not in current else str(moved)


@contextlib.contextmanager
def opened(browser: Browser, server: LabServer, committed: Committed,
           artifacts: Path) -> Iterator[LabNotebook]:
    notebook = LabNotebook(browser, server, committed, artifacts)
    try:
        yield notebook
    finally:
        notebook.close()
