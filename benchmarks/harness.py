"""The benchmark harness: a calibration loop and figures reported as ratios, never pass/fail.

Absolute operations per second depend on the machine; a ratio to a calibration loop (plain
dict stores, the cheapest thing Python does) travels between machines, and a ratio to a
baseline or another backend answers the design question directly ("fakeredis is 40x slower
than memory, real Redis pipelined is 8x faster than unpipelined").

What is not a rate (Redis commands per delivered notification, bytes retained per waiting
job, the wall seconds of a burst) is a :class:`Quantity`: a value in a named unit, with the
ratio to its baseline where one applies. Both are reported, never judged.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

__all__ = ["Figure", "Quantity", "calibrate", "measure"]


@dataclass(frozen=True, slots=True)
class Figure:
    """One measured throughput, with the ratios that make it comparable."""

    name: str
    ops_per_s: float
    vs_calibration: float
    baseline: str = ""
    vs_baseline: float | None = None
    note: str = ""

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Quantity:
    """One measured amount that is not a rate: a count or a size per item, or a duration.

    ``vs_baseline`` is this quantity divided by the one ``baseline`` names (``baseline`` says
    per what, when it is not ``value`` itself that is compared); ``details`` holds what
    stands behind ``value``: its parts per the same item (commands by name, bytes by source
    file) or the counts it was measured on (a burst's jobs and rounds).
    """

    name: str
    value: float
    unit: str
    baseline: str = ""
    vs_baseline: float | None = None
    note: str = ""
    details: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def measure(run: Callable[[int], object], ops: int, *, repeats: int = 3) -> float:
    """Best-of-``repeats`` operations per second of ``run(ops)`` (which performs ``ops`` ops)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run(ops)
        best = min(best, time.perf_counter() - start)
    return ops / best if best > 0 else float("inf")


def _calibration_loop(n: int) -> None:
    table: dict[int, int] = {}
    for i in range(n):
        table[i & 1023] = i


def calibrate(ops: int = 2_000_000) -> float:
    """Plain-dict stores per second on this machine: the unit every figure is divided by."""
    return measure(_calibration_loop, ops)
