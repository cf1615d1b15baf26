"""Every notebook, as a learner sees it in JupyterLab: run all its cells in a real browser, then
no cell shows an error, every widget appears, moving any of its controls changes what it shows,
and every Mermaid diagram renders.

nbval proves the cells reproduce their outputs in a kernel; these tests see the page. Notebooks
are found by glob (``notebooks/*.ipynb``, or ``LAB_NOTEBOOKS``), so a new chapter is covered the
moment it lands. Each notebook runs once; the four checks read that one page, in this order
(moving controls comes after the widget check, which sees the widgets as Run All left them).
A failure saves a screenshot under ``test-artifacts/browser/`` and names it.

A control whose moves may legitimately change nothing is declared in its cell's metadata, by
keyword argument or by the label the page shows: ``{"lab": {"constant_controls": ["seed"]}}``.
"""

from __future__ import annotations

from tests.browser.lab import ERROR_TEXT, LabNotebook


def _where(notebook: LabNotebook, index: int) -> str:
    return f"{notebook.name}, cell {index} ({notebook.committed.first_line(index)!r})"


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:200] if lines else ""


def _cell_errors(notebook: LabNotebook, index: int) -> list[str]:
    found = notebook.errors(index)
    errors = list(found["raised"]) + [f"widget: {text}" for text in found["broken"]]
    errors += [f"stderr: {_last_line(text)}" for text in found["shown"]
               if ERROR_TEXT.search(text) and _last_line(text) not in errors]
    return errors


def _mermaid_error(text: str) -> str:
    """Mermaid's parse error on one line: where, the line it failed on with its marker, and
    what it expected."""
    return " | ".join(line.rstrip() for line in text.strip().splitlines() if line.strip())[:500]


def test_every_cell_runs_without_an_error(notebook: LabNotebook, run_timeout_s: float) -> None:
    assert notebook.run is not None
    problems = []
    if notebook.run.timed_out:
        problems.append(f"{notebook.name}: Run All Cells did not finish within "
                        f"{run_timeout_s:.0f} s")
    failing = [(index, errors) for index in notebook.committed.code_cells_to_run()
               if (errors := _cell_errors(notebook, index))]
    problems += [f"{_where(notebook, index)}: {'; '.join(errors)}" for index, errors in failing]
    if notebook.run.not_run:
        problems.append(f"{notebook.name}: cells {notebook.run.not_run} never ran "
                        "(Run All Cells stops at a cell that fails)")
    if problems:
        first = failing[0][0] if failing else (notebook.run.not_run or [None])[0]
        shot = notebook.screenshot("errors", first)
        raise AssertionError("\n".join(problems) + f"\nscreenshot: {shot}")


def test_every_widget_of_the_committed_notebook_is_displayed(notebook: LabNotebook) -> None:
    problems = []
    for index, expected in notebook.committed.widget_views().items():
        views = notebook.widget_views(index)
        rendered = [view for view in views if not view["placeholder"]]
        if len(rendered) < expected:
            shown = "; ".join(repr(view["text"][:80]) for view in views) or (
                f"no widget; its output reads {notebook.output_text(index)[:120]!r}")
            shot = notebook.screenshot(f"widget-cell{index}", index)
            problems.append(f"{_where(notebook, index)}: the committed notebook shows "
                            f"{expected} widget(s) here, JupyterLab rendered {len(rendered)} "
                            f"(shows {shown}); screenshot: {shot}")
    assert not problems, "\n".join(problems)


def test_moving_each_control_changes_its_widgets_output(notebook: LabNotebook,
                                                         move_timeout_s: float) -> None:
    problems = []
    for index in notebook.committed.widget_views():
        constant = notebook.committed.constant_controls(index)
        for number, control in enumerate(notebook.controls(index)):
            label = control["label"] or f"#{number + 1}"
            what = f"{control['kind']} {label!r}"
            before = notebook.snapshot(index)
            busy = notebook.state()["busy"]
            move = notebook.move(control)
            notebook.wait_after_move(busy, move_timeout_s)
            after = notebook.snapshot(index)
            errors = _cell_errors(notebook, index)
            check = f"move-cell{index}-{number + 1}"
            if errors:
                shot = notebook.screenshot(check, index)
                problems.append(f"{_where(notebook, index)}: moving {what} ({move}) shows an "
                                f"error: {'; '.join(errors)}; screenshot: {shot}")
            elif after["digest"] == before["digest"] and label not in constant:
                shot = notebook.screenshot(check, index)
                shown = (f"still {after['text']!r}" if after["text"] or after["images"] else
                         "its output area is empty: the widget's function must print or "
                         "display what it shows (interactive does not display a return value)")
                problems.append(f"{_where(notebook, index)}: moving {what} ({move}) did not "
                                f"change the widget's output ({shown}); screenshot: {shot}")
    assert not problems, "\n".join(problems)


def test_every_mermaid_diagram_renders(notebook: LabNotebook) -> None:
    problems = []
    for index, expected in notebook.committed.mermaid_blocks().items():
        figures = notebook.mermaid(index, expected)
        broken = [f for f in figures if f["warning"] or f["syntaxError"] or not f["svg"]]
        if len(figures) < expected or broken:
            shot = notebook.screenshot(f"mermaid-cell{index}", index)
            said = "; ".join(_mermaid_error(f["error"]) or "no SVG" for f in broken)
            problems.append(f"{_where(notebook, index)}: {expected} Mermaid block(s), "
                            f"{len(figures) - len(broken)} rendered"
                            + (f"; Mermaid says: {said}" if said else "")
                            + f"; screenshot: {shot}")
    assert not problems, "\n".join(problems)
