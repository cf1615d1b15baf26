"""Chapter 10 end to end: notifications per second through the whole pipeline, per backend.

The workload is a burst, then the drain: ``n`` users with one Android device each, one
template, and one push request per user, sent through the *signed* client (HMAC, replay
window, nonce); then :meth:`~reference.notification.system.NotificationSystem.run_until_idle`
moves every job through its channel queue, a worker (dedupe, retry decision), the simulated
FCM provider (no failures, every device confirms) and the notification log, until each
notification is logged ``sent`` and then ``delivered``. Time is simulated (a FakeClock), so
the figure is what the pipeline itself costs (CPU, and on Redis the round trips), not how
long providers take.

The per-user rate limit is off (``rate_limit=None``, one request per user anyway); one
worker per channel consumes batches of 100. Users and requests are built before the clock
starts; every figure is the best of a few runs, each on a fresh store.

Figures:

* memory, the whole pipeline, against the 50,000 notifications/s target;
* memory, the intake alone (signed send → queued) and the delivery alone (queue → provider →
  log), each against the whole pipeline, so a reader sees where the time goes;
* fakeredis and, when ``REDIS_URL`` is set, real Redis: the same pipeline with fewer
  notifications, each against memory.
"""

from __future__ import annotations

import gc
import os
import time
from dataclasses import dataclass

from benchmarks.harness import Figure
from reference.core.clock import FakeClock
from reference.notification.model import Channel, NotificationRequest, Status
from reference.notification.system import NotificationSystem
from reference.storage import connect

TARGET_NOTIFICATIONS_PER_S = 50_000
BATCH_SIZE = 100  # jobs per worker poll
START = 1_767_225_600.0  # 2026-01-01 00:00 UTC: no quiet hours, nothing deferred
NOTIFICATIONS = {"memory": 10_000, "fakeredis": 1_000, "redis": 1_000}  # at --scale 1
MIN_NOTIFICATIONS = {"memory": 200, "fakeredis": 50, "redis": 50}
REPEATS = {"memory": 3, "fakeredis": 2, "redis": 2}
NAMESPACE = "bench-notification"


@dataclass(frozen=True, slots=True)
class PipelineRun:
    """One burst: seconds spent sending (intake) and draining (delivery)."""

    notifications: int
    intake_s: float
    delivery_s: float

    @property
    def total_s(self) -> float:
        return self.intake_s + self.delivery_s


def _backends() -> list[str]:
    return ["memory", "fakeredis"] + (["redis"] if os.environ.get("REDIS_URL") else [])


def run_pipeline(backend: str, n: int) -> PipelineRun:
    """Send ``n`` signed push requests, drain the system, and time both halves.

    Raises
    ------
    RuntimeError
        If a notification did not end ``delivered`` (the figure would not be the pipeline).
    """
    clock = FakeClock(start=START)
    with connect(backend, clock=clock, namespace=NAMESPACE) as store:
        store.flush()
        try:
            system = NotificationSystem.create(
                store, seed=10, failures="none", rate_limit=None,
                pool_sizes=dict.fromkeys(Channel, 1), batch_size=BATCH_SIZE,
            )
            system.publish_template("bench", title="Hello", body="Hi ${name}, this is #${i}")
            for i in range(n):
                system.register_user(f"u{i}", android=[f"fcm-token-{i}"])
            client = system.client("bench-service")
            requests = [
                NotificationRequest(f"evt-{i}", f"u{i}", "bench", {"name": f"user {i}", "i": i},
                                    channels=(Channel.ANDROID_PUSH,))
                for i in range(n)
            ]
            gc.collect()
            start = time.perf_counter()
            for request in requests:
                client.send(request)
            sent = time.perf_counter()
            system.run_until_idle()
            drained = time.perf_counter()
            delivered = system.log.counts_by_status()[Status.DELIVERED]
            if delivered != n:
                raise RuntimeError(f"{backend}: {delivered} of {n} notifications delivered")
            return PipelineRun(n, intake_s=sent - start, delivery_s=drained - sent)
        finally:
            store.flush()


def _best(backend: str, n: int, repeats: int) -> tuple[float, float, float]:
    """Best-of-``repeats`` rates: (pipeline, intake, delivery) notifications per second."""
    runs = [run_pipeline(backend, n) for _ in range(repeats)]
    return (n / min(r.total_s for r in runs), n / min(r.intake_s for r in runs),
            n / min(r.delivery_s for r in runs))


def _cost(rate: float, calibration: float) -> str:
    """One notification's cost in calibration loop iterations (the x-calib column inverted,
    which at four decimals would read 0.0003)."""
    return f"~{calibration / rate:,.0f} dict stores each"


def run(calibration: float, *, scale: float = 1.0) -> list[Figure]:
    figures: list[Figure] = []
    memory_rate = 0.0
    for backend in _backends():
        n = max(MIN_NOTIFICATIONS[backend], int(NOTIFICATIONS[backend] * scale))
        pipeline, intake, delivery = _best(backend, n, REPEATS[backend])
        if backend == "memory":
            memory_rate = pipeline
            verdict = "meets" if pipeline >= TARGET_NOTIFICATIONS_PER_S else "below"
            figures.append(Figure(
                name="memory: notification pipeline (end to end)",
                ops_per_s=pipeline,
                vs_calibration=pipeline / calibration,
                baseline=f"target {TARGET_NOTIFICATIONS_PER_S:,}/s",
                vs_baseline=pipeline / TARGET_NOTIFICATIONS_PER_S,
                note=f"{verdict} the {TARGET_NOTIFICATIONS_PER_S:,} notifications/s target; "
                     f"{_cost(pipeline, calibration)} (n={n:,})",
            ))
            for label, rate in (("intake only (signed send → queued)", intake),
                                ("delivery only (queue → provider → log)", delivery)):
                figures.append(Figure(
                    name=f"memory: {label}",
                    ops_per_s=rate,
                    vs_calibration=rate / calibration,
                    baseline="memory pipeline",
                    vs_baseline=rate / pipeline,
                    note=_cost(rate, calibration),
                ))
        else:
            figures.append(Figure(
                name=f"{backend}: notification pipeline (end to end)",
                ops_per_s=pipeline,
                vs_calibration=pipeline / calibration,
                baseline="memory",
                vs_baseline=pipeline / memory_rate,
                note=f"{_cost(pipeline, calibration)} (n={n:,})",
            ))
    return figures
