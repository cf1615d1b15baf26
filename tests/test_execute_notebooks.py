"""The notebook executor rewrites a progress bar's plain text to its final, timing-free form."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import nbformat

ROOT = Path(__file__).resolve().parents[1]


def _executor() -> ModuleType:
    spec = importlib.util.spec_from_file_location("execute_notebooks",
                                                  ROOT / "tools" / "execute_notebooks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _bar_state(value: float, total: float) -> dict[str, dict[str, object]]:
    return {
        "box": {"model_name": "HBoxModel",
                "state": {"children": ["IPY_MODEL_left", "IPY_MODEL_bar", "IPY_MODEL_right"]}},
        "left": {"model_name": "HTMLModel", "state": {"value": "events: 100%"}},
        "bar": {"model_name": "FloatProgressModel", "state": {"value": value, "max": total}},
        "right": {"model_name": "HTMLModel",
                  "state": {"value": "\u00a0120/120 [00:01&lt;00:00, 95.31event/s]"}},
    }


def test_a_finished_bar_reads_full_without_its_timings() -> None:
    text = _executor()._final_progress_text(_bar_state(120, 120), "box")
    assert text == "events: 100%|██████████| 120/120"


def test_a_half_done_bar_is_half_filled_and_other_widgets_are_left_alone() -> None:
    executor = _executor()
    state = _bar_state(60, 120)
    assert executor._final_progress_text(state, "box").count("█") == 5
    assert executor._final_progress_text(state, "left") is None  # not a bar
    assert executor._final_progress_text(state, "missing") is None


def test_the_notebook_output_gets_the_final_text() -> None:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("run()")
    cell.outputs = [nbformat.v4.new_output("display_data", data={
        "application/vnd.jupyter.widget-view+json": {"model_id": "box", "version_major": 2,
                                                     "version_minor": 0},
        "text/plain": "events:   0%|          | 0/120 [00:00<?, ?event/s]"})]
    nb.cells.append(cell)
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json":
                              {"state": _bar_state(120, 120)}}
    _executor()._final_progress_bars(nb)
    assert nb.cells[0].outputs[0]["data"]["text/plain"] == "events: 100%|██████████| 120/120"
