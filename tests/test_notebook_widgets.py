"""Every widget in every notebook shows something, and moving any of its controls changes it.

Each notebook runs once, top to bottom, in a kernel started the way ``make notebooks`` starts
it (``tools/execute_notebooks.py``: nbclient mimics a front end's Output widgets, so a widget's
output area fills in as it would in JupyterLab). Then, in that same kernel, every
``ipywidgets.interactive`` the notebook displayed is run once at its current values and each of
its controls is moved to another allowed value (the maximum, or the minimum when it is already
there; another option; the other state of a checkbox). After each move the widget's output area
(``w.out.outputs``) must be non-empty, free of tracebacks and different from before, and a
plot it redraws must keep its axes (the same x and y limits), so that moving a control compares
honestly.

A control whose moves may legitimately change nothing is named in its cell's metadata, by
keyword argument or by the label the widget shows (as the browser tests read it)::

    "metadata": {"lab": {"constant_controls": ["seed"]}}

New notebooks and new widgets are covered with no code here: discovery is by the widget views
in each cell's outputs.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
REPORT_PREFIX = "lab-widget-probe:"
CELL_TIMEOUT_S = 120  # one cell: fails with the cell named, well before the process timeout
PROCESS_TIMEOUT_S = 240  # one notebook's run and moves (notebook 11 takes about 40 s)
RESULT_PREFIX = "lab-widget-problems:"
INTERACT = re.compile(r"\binteract(?:ive)?\(\s*(\w+)")  # group 1: the widget's function
IGNORE_OUTPUT = "# NBVAL_IGNORE_OUTPUT"

# Runs in the notebook's kernel after the notebook: finds the displayed `interactive` widgets,
# moves their controls and reports what their output areas hold. Its names start with
# `_lab_` so that they cannot clash with a notebook's own.
PROBE = f"_LAB_REPORT_PREFIX = {REPORT_PREFIX!r}\n" + '''
def _lab_widget_probe():
    import hashlib
    import json
    import types

    import ipywidgets
    import matplotlib.backend_bases as backend_bases
    from ipywidgets.widgets import widget as widget_module
    from ipywidgets.widgets import widget_selection

    probe = types.SimpleNamespace(widgets={}, drawn=[])
    print_figure = backend_bases.FigureCanvasBase.print_figure

    def recording_print_figure(canvas, *args, **kwargs):
        """Note each drawn figure's axes limits: a redrawn plot must keep them."""
        probe.drawn.append([[round(float(x), 9) for x in (*ax.get_xlim(), *ax.get_ylim())]
                            for ax in canvas.figure.get_axes()])
        return print_figure(canvas, *args, **kwargs)

    backend_bases.FigureCanvasBase.print_figure = recording_print_figure

    def say(payload):
        print(_LAB_REPORT_PREFIX + json.dumps(payload, default=repr))

    def interactives(widget, seen):
        if widget is None or id(widget) in seen:
            return
        seen.add(id(widget))
        if isinstance(widget, ipywidgets.interactive):
            yield widget
        for child in getattr(widget, "children", ()):
            yield from interactives(child, seen)

    def moved_value(control):
        """Another allowed value for ``control``, or None when it has only one."""
        value = control.value
        if isinstance(control, widget_selection._MultipleSelection):
            first = tuple(control._options_values[:1])
            return () if value else first or None
        if isinstance(control, widget_selection._Selection):
            return next((v for v in control._options_values if v != value), None)
        if isinstance(value, bool):
            return not value
        if isinstance(value, tuple):  # a range slider
            ends = (control.min, control.max)
            return ends if value != ends else (control.min, control.min)
        if isinstance(value, (int, float)):
            low, high = getattr(control, "min", None), getattr(control, "max", None)
            if isinstance(control, ipywidgets.FloatLogSlider):
                low, high = control.base ** low, control.base ** high
            if high is not None and value != high:
                return high
            if low is not None and value != low:
                return low
            return None if high is not None else value + (getattr(control, "step", None) or 1)
        if isinstance(value, str):
            return value + " (moved)"
        raise TypeError(f"the widget probe cannot move a {type(control).__name__}")

    def find(views):
        """The interactive widgets shown by each cell: ``views`` maps cell -> model ids."""
        instances = widget_module._instances
        found = []
        for cell, model_ids in views.items():
            seen = set()
            for model_id in model_ids:
                for widget in interactives(instances.get(model_id), seen):
                    key = f"{cell}.{len(found)}"
                    probe.widgets[key] = widget
                    controls = [
                        {"name": c._kwarg, "label": c.description or c._kwarg,
                         "value": c.value, "new": moved_value(c)}
                        for c in widget.kwargs_widgets if isinstance(c, ipywidgets.ValueWidget)
                    ]
                    found.append({"key": key, "cell": int(cell), "controls": controls})
        say(found)

    def run(key, name=None, value=None):
        """Run the widget at its current values, or move one of its controls."""
        widget = probe.widgets[key]
        probe.drawn = []
        if name is None:
            widget.update()
        else:
            [control] = [c for c in widget.kwargs_widgets if getattr(c, "_kwarg", None) == name]
            control.value = value  # interactive reruns its function right here

    def report(key):
        widget = probe.widgets[key]
        outputs = [dict(o) for o in widget.out.outputs]
        text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
        text += "".join(o.get("data", {}).get("text/plain", "") for o in outputs
                        if "image/png" not in o.get("data", {}))
        result = widget.result  # a return value: interactive does not display it
        say({
            "count": len(outputs),
            "digest": hashlib.sha256(json.dumps(outputs, sort_keys=True).encode()).hexdigest(),
            "errors": [f"{o['ename']}: {o['evalue']}" for o in outputs
                       if o.get("output_type") == "error"],
            "text": " ".join(text.split())[:200],
            "hidden_result": None if result is None or str(result) in text else repr(result),
            "drawn": probe.drawn,
        })

    probe.find, probe.run, probe.report = find, run, report
    return probe


_lab_probe = _lab_widget_probe()
'''


def _executor() -> ModuleType:
    spec = importlib.util.spec_from_file_location("execute_notebooks",
                                                  ROOT / "tools" / "execute_notebooks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass(frozen=True)
class Shown:
    """What a widget's output area holds after a run."""

    count: int
    digest: str
    errors: list[str]
    text: str
    hidden_result: str | None  # the repr of a return value the output area does not show
    drawn: list[list[list[float]]]  # per figure drawn, per axes: xmin, xmax, ymin, ymax


class Kernel:
    """A notebook's kernel after the notebook ran, with the probe loaded."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def run(self, code: str) -> Any:
        """Run ``code`` as an extra cell; return the payload it reported, if any."""
        cell = nbformat.v4.new_code_cell(textwrap.dedent(code))
        self.client.nb.cells.append(cell)
        self.client.execute_cell(cell, len(self.client.nb.cells) - 1)
        lines = [line for output in cell.outputs if output.get("output_type") == "stream"
                 for line in output.get("text", "").splitlines()]
        reports = [line.removeprefix(REPORT_PREFIX) for line in lines
                   if line.startswith(REPORT_PREFIX)]
        return json.loads(reports[-1]) if reports else None

    def shown(self, key: str) -> Shown:
        # A separate cell: the output area reaches the kernel's `w.out.outputs` through the
        # front end (nbclient), which syncs it back once the cell that ran the widget is done.
        return Shown(**self.run(f"_lab_probe.report({key!r})"))


def _widget_views(nb: nbformat.NotebookNode) -> dict[int, list[str]]:
    views: dict[int, list[str]] = {}
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            view = output.get("data", {}).get(WIDGET_MIME)
            if view is not None:
                views.setdefault(index, []).append(view["model_id"])
    return views


def _constant_controls(cell: nbformat.NotebookNode) -> set[str]:
    return set(cell.get("metadata", {}).get("lab", {}).get("constant_controls", []))


def _first_line(cell: nbformat.NotebookNode) -> str:
    lines = [line for line in cell.source.splitlines()
             if line.strip() and not line.startswith("# NBVAL")]
    return lines[0].strip()[:60] if lines else ""


class WidgetKernel(Protocol):
    def run(self, code: str) -> Any: ...

    def shown(self, key: str) -> Shown: ...


def _moves_of(kernel: WidgetKernel, nb: nbformat.NotebookNode, name: str,
              widget: dict[str, Any]) -> list[str]:
    """Move each control of one widget; return the problems found."""
    cell = nb.cells[widget["cell"]]
    where = f"{name}, cell {widget['cell']} ({_first_line(cell)!r})"
    key = widget["key"]
    constant = _constant_controls(cell)
    names = {c["name"] for c in widget["controls"]} | {c["label"] for c in widget["controls"]}
    problems = [f"{where}: metadata lab.constant_controls names {n!r}, which is no control"
                for n in sorted(constant - names)]
    kernel.run(f"_lab_probe.run({key!r})")
    before = kernel.shown(key)
    if before.errors:
        problems.append(f"{where}: at its starting values the widget raised {before.errors[0]}")
    elif not before.count:
        problems.append(f"{where}: at its starting values the widget shows nothing")
    elif before.hidden_result is not None:
        problems.append(f"{where}: at its starting values its function returns "
                        f"{_short(before.hidden_result)}, which interactive does not display: "
                        "print it")
    for control in widget["controls"]:
        label = control["name"] if control["label"] == control["name"] else (
            f"{control['name']} ({control['label']})")
        if control["new"] is None:
            problems.append(f"{where}: control {label!r} has only one allowed value")
            continue
        move = f"control {label!r} moved from {control['value']!r} to {control['new']!r}"
        kernel.run(f"_lab_probe.run({key!r}, {control['name']!r}, {control['new']!r})")
        after = kernel.shown(key)
        if after.errors:
            problems.append(f"{where}: {move}: the widget raised {after.errors[0]}")
        elif not after.count:
            problems.append(f"{where}: {move}: the widget shows nothing (its function must "
                            "print or display what it shows: interactive does not display a "
                            "return value)")
        elif after.digest == before.digest and not {control["name"], control["label"]} & constant:
            problems.append(f"{where}: {move}: what the widget shows did not change "
                            f"(still {after.text!r})")
        elif after.hidden_result is not None:
            problems.append(f"{where}: {move}: its function returns {_short(after.hidden_result)}, "
                            "which interactive does not display: print it")
        if before.drawn and after.drawn and before.drawn != after.drawn:
            problems.append(f"{where}: {move}: the plot's axes moved, from "
                            f"{_limits(before.drawn)} to {_limits(after.drawn)}: fix them "
                            "(ax.set_xlim, ax.set_ylim) so that moving a control compares honestly")
        before = after
    return problems


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _limits(drawn: list[list[list[float]]]) -> str:
    """``x 0–330.8, y 0.79–137.8`` per axes, ``; `` between figures' axes."""
    return "; ".join(f"x {x0:.4g}–{x1:.4g}, y {y0:.4g}–{y1:.4g}"
                     for figure in drawn for x0, x1, y0, y1 in figure)


def widget_problems(path: Path) -> list[str]:
    """Run ``path`` in a fresh kernel, move every control of every widget, return problems."""
    nb = nbformat.read(path, as_version=4)
    client = _executor().notebook_client(nb, path)
    client.timeout = CELL_TIMEOUT_S  # a stuck cell fails the test instead of hanging it
    client.reset_execution_trackers()
    with client.setup_kernel():
        for index, cell in enumerate(list(nb.cells)):
            client.execute_cell(cell, index)
        cells = list(nb.cells)  # before the probe adds its own
        kernel = Kernel(client)
        kernel.run(PROBE)
        widgets = kernel.run(f"_lab_probe.find({_widget_views(nb)!r})")
        shown_by = {w["cell"] for w in widgets}
        problems = [
            f"{path.name}, cell {index}: builds an interactive widget, but none of its "
            "outputs shows one"
            for index, cell in enumerate(cells)
            if cell.cell_type == "code" and INTERACT.search(cell.source) and index not in shown_by
        ]
        for widget in widgets:
            problems += _moves_of(kernel, nb, path.name, widget)
    return problems


def _problems_in_a_process(path: Path) -> list[str]:
    """:func:`widget_problems` in a process of its own, stopped after ``PROCESS_TIMEOUT_S``.

    A kernel that stops answering (as ipykernel 7 could, hence the 6.x pin in constraints.txt)
    then fails this notebook's test with a message instead of hanging the whole run.
    """
    try:
        done = subprocess.run([sys.executable, __file__, str(path)], capture_output=True,
                              text=True, timeout=PROCESS_TIMEOUT_S, cwd=ROOT, check=False)
    except subprocess.TimeoutExpired:
        return [f"{path.name}: the widget run did not finish in {PROCESS_TIMEOUT_S} s (a cell "
                "that never ends, or a kernel that stopped answering)"]
    lines = [line for line in done.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    if done.returncode or not lines:
        return [f"{path.name}: the widget run failed:\n{done.stdout[-2000:]}"
                f"{done.stderr[-2000:]}"]
    return list(json.loads(lines[-1].removeprefix(RESULT_PREFIX)))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_moving_any_control_of_a_notebooks_widgets_changes_what_they_show(path: Path) -> None:
    problems = _problems_in_a_process(path)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_each_widget_cell_is_ignored_by_nbval_and_followed_by_a_checked_call(path: Path) -> None:
    """DESIGN.md's pattern: nbval cannot compare what a widget shows, so the widget cell is
    ``# NBVAL_IGNORE_OUTPUT`` and the next code cell calls the same function with fixed
    arguments, so that its output is compared."""
    cells = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    problems = []
    for cell, following in zip(cells, [*cells[1:], None], strict=True):
        for match in INTERACT.finditer(cell.source):
            where = f"{path.name}: the widget cell {_first_line(cell)!r}"
            if not cell.source.startswith(IGNORE_OUTPUT):
                problems.append(f"{where} must start with {IGNORE_OUTPUT}")
            if following is None or following.source.startswith(IGNORE_OUTPUT):
                problems.append(f"{where} must be followed by a plain (checked) code cell")
            elif match.group(1) != "lambda" and f"{match.group(1)}(" not in following.source:
                problems.append(f"{where}: the next cell should call {match.group(1)}(...) "
                                "with fixed arguments")
    assert not problems, "\n".join(problems)


class ScriptedKernel:
    """Stands in for a kernel: each report is the next of a script of what the widget shows."""

    def __init__(self, *shown: Shown) -> None:
        self.script = list(shown)

    def run(self, code: str) -> None:
        return None

    def shown(self, key: str) -> Shown:
        return self.script.pop(0)


def _shows(text: str, *, drawn: tuple[float, ...] = (), result: str | None = None,
           errors: tuple[str, ...] = ()) -> Shown:
    return Shown(count=1 if text or errors else 0, digest=f"digest of {text}",
                 errors=list(errors), text=text, hidden_result=result,
                 drawn=[[list(drawn)]] if drawn else [])


def _one_widget(constant: list[str]) -> tuple[nbformat.NotebookNode, dict[str, Any]]:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("# NBVAL_IGNORE_OUTPUT\nshow = interactive(f, seed=1, n=2)")
    cell.metadata["lab"] = {"constant_controls": constant}
    nb.cells.append(cell)
    controls = [{"name": "seed", "label": "seed", "value": 1, "new": 9},
                {"name": "n", "label": "how many", "value": 2, "new": 5}]
    return nb, {"key": "0.0", "cell": 0, "controls": controls}


def test_the_move_check_honours_constant_controls_and_names_each_problem() -> None:
    nb, widget = _one_widget(constant=["seed"])
    kernel = ScriptedKernel(_shows("n=2", drawn=(0, 9, 0, 5)), _shows("n=2", drawn=(0, 9, 0, 5)),
                            _shows("n=5", drawn=(0, 9, 0, 5)))
    assert _moves_of(kernel, nb, "demo.ipynb", widget) == []

    nb, widget = _one_widget(constant=["how many", "sede"])  # by label; and a typo
    kernel = ScriptedKernel(_shows("n=2", drawn=(0, 9, 0, 5)), _shows("n=2", drawn=(0, 9, 0, 5)),
                            _shows("n=5", drawn=(0, 20, 0, 5)))
    problems = _moves_of(kernel, nb, "demo.ipynb", widget)
    assert len(problems) == 3, problems
    assert "names 'sede', which is no control" in problems[0]
    assert "control 'seed' moved from 1 to 9: what the widget shows did not change" in problems[1]
    assert "control 'n (how many)' moved from 2 to 5: the plot's axes moved, from x 0–9" \
        in problems[2]


def test_the_move_check_fails_a_widget_that_shows_nothing_or_hides_what_it_returns() -> None:
    nb, widget = _one_widget(constant=[])
    kernel = ScriptedKernel(_shows("", result="42"), _shows("", result="43"),
                            _shows("plot", result="'a summary'"))
    problems = _moves_of(kernel, nb, "demo.ipynb", widget)
    assert [p.split(": ", 1)[1] for p in problems] == [
        "at its starting values the widget shows nothing",
        "control 'seed' moved from 1 to 9: the widget shows nothing (its function must print or "
        "display what it shows: interactive does not display a return value)",
        "control 'n (how many)' moved from 2 to 5: its function returns 'a summary', which "
        "interactive does not display: print it",
    ]
    kernel = ScriptedKernel(_shows("ok"), _shows("", errors=("ValueError: bad",)), _shows("ok"))
    [problem] = _moves_of(kernel, nb, "demo.ipynb", widget)
    assert problem.endswith("control 'seed' moved from 1 to 9: the widget raised ValueError: bad")


if __name__ == "__main__":  # one notebook, in a process of its own (see _problems_in_a_process)
    print(RESULT_PREFIX + json.dumps(widget_problems(Path(sys.argv[1]))))
