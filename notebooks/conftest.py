"""nbval settings for the lab's notebooks.

stderr (progress bars, library warnings) and widget views (random model ids) are not compared;
stdout, text/plain results and everything else are, strictly.
"""

from __future__ import annotations

import pytest


def pytest_collectstart(collector: pytest.Collector) -> None:
    if collector.__class__.__name__ == "IPyNbFile":
        collector.skip_compare += (  # type: ignore[attr-defined]
            "stderr",
            "application/vnd.jupyter.widget-view+json",
        )
