"""Re-execute notebooks in place, deterministically (``make notebooks``).

Every code cell runs top to bottom in a fresh kernel of the current environment; outputs are
written back. Run timings are not recorded and widget model ids (random UUIDs) are replaced
by stable ones, so re-running unchanged code leaves ``git status`` clean. Widget state is not
kept (it holds timings), so a progress bar's plain-text form, which GitHub and a kernel-less
viewer show, is rewritten to the bar's final text without its timings.

Usage: python tools/execute_notebooks.py [NOTEBOOK_OR_DIR ...]   (default: notebooks/)
"""

from __future__ import annotations

import html
import json
import re
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def _stable_widget_ids(nb: nbformat.NotebookNode) -> None:
    for index, cell in enumerate(nb.cells):
        for n, output in enumerate(cell.get("outputs", [])):
            data = output.get("data", {})
            if WIDGET_MIME in data:
                data[WIDGET_MIME]["model_id"] = f"cell{index:03d}-widget{n}"


_TIMINGS = re.compile(r"\s*\[[^\]]*\]\s*$")  # tqdm's "[00:01<00:00, 95.3it/s]"


def _final_progress_text(state: dict[str, dict[str, object]], model_id: str) -> str | None:
    """The final text of a tqdm notebook bar (an HBox of HTML, FloatProgress, HTML), without
    timings; None if ``model_id`` is no such bar."""
    box = state.get(model_id, {})
    children = box.get("state", {}).get("children", []) if box.get("model_name") == "HBoxModel" \
        else []
    ids = [c.removeprefix("IPY_MODEL_") for c in children if isinstance(c, str)]
    models = [state.get(i, {}) for i in ids]
    if [m.get("model_name") for m in models] != ["HTMLModel", "FloatProgressModel", "HTMLModel"]:
        return None
    left, bar, right = (m.get("state", {}) for m in models)
    done, total = float(bar.get("value", 0) or 0), float(bar.get("max", 0) or 0)
    filled = round(10 * done / total) if total else 0
    counts = _TIMINGS.sub("", html.unescape(str(right.get("value", "")))).strip()
    label = html.unescape(str(left.get("value", "")))
    return f"{label}|{'█' * filled}{' ' * (10 - filled)}| {counts}"


def _final_progress_bars(nb: nbformat.NotebookNode) -> None:
    state = nb.metadata.get("widgets", {}).get(
        "application/vnd.jupyter.widget-state+json", {}).get("state", {})
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if WIDGET_MIME in data:
                text = _final_progress_text(state, data[WIDGET_MIME]["model_id"])
                if text is not None:
                    data["text/plain"] = text


def _coalesce_streams(nb: nbformat.NotebookNode) -> None:
    """Merge consecutive stdout (or stderr) chunks: how a print is split depends on timing."""
    for cell in nb.cells:
        merged: list[nbformat.NotebookNode] = []
        for output in cell.get("outputs", []):
            previous = merged[-1] if merged else None
            if (
                output.get("output_type") == "stream"
                and previous is not None
                and previous.get("output_type") == "stream"
                and previous.get("name") == output.get("name")
            ):
                previous["text"] += output["text"]
            else:
                merged.append(output)
        if "outputs" in cell:
            cell["outputs"] = merged


def notebook_client(nb: nbformat.NotebookNode, path: Path) -> NotebookClient:
    """The client every notebook run uses (here and in the tests): a fresh ``python3`` kernel of
    the current environment, started in the notebook's folder, which mimics a front end's
    Output widgets (so a widget's output area fills in as it would in JupyterLab)."""
    return NotebookClient(
        nb,
        timeout=900,
        kernel_name="python3",
        record_timing=False,
        store_widget_state=True,  # needed for Output widgets; the state is dropped below
        resources={"metadata": {"path": str(path.parent)}},
    )


def execute(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    notebook_client(nb, path).execute()
    _coalesce_streams(nb)
    _final_progress_bars(nb)  # before the ids change and the state goes
    _stable_widget_ids(nb)
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.get("metadata", {}).pop("execution", None)
    text = json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    path.write_text(text, encoding="utf-8")


def main(argv: list[str]) -> int:
    targets = [Path(a) for a in argv] or [Path("notebooks")]
    paths: list[Path] = []
    for target in targets:
        if target.is_dir():
            paths.extend(sorted(p for p in target.glob("*.ipynb")))
        elif target.suffix == ".ipynb" and target.exists():
            paths.append(target)
        else:
            print(f"not a notebook or folder of notebooks: {target}", file=sys.stderr)
            return 2
    for path in paths:
        print(f"executing {path} ...", flush=True)
        execute(path)
    print(f"{len(paths)} notebook(s) executed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
