"""Snowflake ids per second, against the 4096-per-ms layout limit and the 1M ids/s target."""

from __future__ import annotations

from benchmarks.harness import Figure, measure
from reference.core.clock import SystemClock
from reference.core.ids import IDS_PER_MS, SnowflakeGenerator

TARGET_IDS_PER_S = 1_000_000
LAYOUT_LIMIT_IDS_PER_S = IDS_PER_MS * 1000  # 4,096,000 per worker


def run(calibration: float, *, scale: float = 1.0) -> list[Figure]:
    generator = SnowflakeGenerator(SystemClock(), datacenter_id=1, worker_id=1)
    next_id = generator.next_id

    def issue(n: int) -> None:
        for _ in range(n):
            next_id()

    rate = measure(issue, max(10_000, int(500_000 * scale)))
    verdict = "meets" if rate >= TARGET_IDS_PER_S else "below"
    return [
        Figure(
            name="snowflake ids/s (one worker)",
            ops_per_s=rate,
            vs_calibration=rate / calibration,
            baseline="layout limit 4096/ms",
            vs_baseline=rate / LAYOUT_LIMIT_IDS_PER_S,
            note=f"{verdict} the {TARGET_IDS_PER_S:,} ids/s target",
        )
    ]
