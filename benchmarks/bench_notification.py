"""Chapter 10 end to end: notifications per second through the whole pipeline, per backend.

The workload is a burst, then the drain: ``n`` users with one Android device each, one
template, and one push request per user. The calling service encodes and signs its requests
in batch calls of :data:`BATCH_REQUESTS` (HMAC, replay window, nonce) *before* the clock
starts: that is the caller's CPU, reported as its own figure. Timed is the notification
system itself: :meth:`~reference.notification.api.NotificationAPI.submit_batch` (verify,
validate, contacts, template, settings, ids, job → notification DB → channel queue, log
``accepted`` / ``queued``), then
:meth:`~reference.notification.system.NotificationSystem.run_until_idle` moves every job
through its channel queue, a worker (dedupe, retry decision), the simulated FCM provider (no
failures, every device confirms), the notification log and the notification DB's record,
until each notification is logged ``sent`` and then ``delivered``. Time inside the system is
simulated (a FakeClock), so the figure is what the pipeline costs in CPU (and on Redis, round
trips), not how long providers take.

The per-user rate limit is off (``rate_limit=None``, one request per user anyway); one
worker per channel consumes batches of :data:`WORKER_BATCH`. The set-up's objects are frozen
out of the cyclic garbage collector (``gc.freeze()``, as long-running services do after
start-up); the collector still runs on everything the pipeline allocates. Every figure is the
best of a few runs, each on a fresh store.

Figures:

* memory, the whole pipeline in one process, against the 50,000 notifications/s target;
* memory, the same pipeline in one process per core, users sharded between them (the API is
  stateless and every key is per user, so shards share nothing): the scale-out figure;
* memory, with one signed call per request (the single-request API) instead of batches;
* memory, without the notification DB (``stall_after_s=None``): what keeping every job
  costs (four storage calls per notification);
* memory, the intake alone and the delivery alone, each against the whole pipeline;
* the caller's side: encoding and signing batch calls;
* the floor: what the typed messages alone cost per notification (its :class:`Job` built,
  written to queue JSON and read back, its four log lines built and recorded), with no
  storage, checks, provider or worker around them: no pipeline built from these messages
  can be faster, so its ratio to the target says how much room the target leaves;
* fakeredis and, when ``REDIS_URL`` is set, real Redis: the same pipeline with fewer
  notifications, each against memory.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import queue
import time
from dataclasses import dataclass

from benchmarks.harness import Figure
from reference.core.clock import FakeClock
from reference.notification.auth import SignedRequest
from reference.notification.model import (
    Category,
    Channel,
    Job,
    NotificationRequest,
    Status,
    StatusChange,
)
from reference.notification.records import STALL_AFTER_S
from reference.notification.system import NotificationSystem
from reference.notification.tracking import NotificationLog
from reference.storage import connect

TARGET_NOTIFICATIONS_PER_S = 50_000
BATCH_REQUESTS = 500  # requests per signed batch call (the API's maximum)
WORKER_BATCH = 500  # jobs per worker poll
START = 1_767_225_600.0  # 2026-01-01 00:00 UTC: no quiet hours, nothing deferred
NOTIFICATIONS = {"memory": 20_000, "fakeredis": 1_000, "redis": 1_000}  # at --scale 1
MIN_NOTIFICATIONS = {"memory": 200, "fakeredis": 50, "redis": 50}
REPEATS = {"memory": 3, "fakeredis": 2, "redis": 2}
NAMESPACE = "bench-notification"


@dataclass(frozen=True, slots=True)
class PipelineRun:
    """One burst: seconds spent signing (the caller), accepting (intake) and draining."""

    notifications: int
    signing_s: float
    intake_s: float
    delivery_s: float
    started: float = 0.0  # perf_counter() when the timed part began (to merge shards)

    @property
    def total_s(self) -> float:
        return self.intake_s + self.delivery_s


def _backends() -> list[str]:
    return ["memory", "fakeredis"] + (["redis"] if os.environ.get("REDIS_URL") else [])


def run_pipeline(backend: str, n: int, *, batched: bool = True, first_user: int = 0,
                 start_at: float | None = None, keep_records: bool = True) -> PipelineRun:
    """Accept ``n`` signed push requests, drain the system, and time both halves.

    ``batched`` sends batch calls of :data:`BATCH_REQUESTS`; otherwise one call per request.
    ``keep_records`` False runs without the notification DB.
    Users are ``u<first_user>`` onwards (shards take disjoint ranges). ``start_at``, a
    ``perf_counter()`` value, delays the timed part until then (shards start together).

    Raises
    ------
    RuntimeError
        If a notification did not end ``delivered`` (the figure would not be the pipeline).
    """
    clock = FakeClock(start=START)
    with connect(backend, clock=clock, namespace=f"{NAMESPACE}-{first_user}") as store:
        store.flush()
        try:
            system = NotificationSystem.create(
                store, seed=10, failures="none", rate_limit=None,
                pool_sizes=dict.fromkeys(Channel, 1), batch_size=WORKER_BATCH,
                stall_after_s=STALL_AFTER_S if keep_records else None,
            )
            system.publish_template("bench", title="Hello", body="Hi ${name}, this is #${i}")
            users = range(first_user, first_user + n)
            for i in users:
                system.register_user(f"u{i}", android=[f"fcm-token-{i}"])
            client = system.client("bench-service")
            requests = [
                NotificationRequest(f"evt-{i}", f"u{i}", "bench", {"name": f"user {i}", "i": i},
                                    channels=(Channel.ANDROID_PUSH,))
                for i in users
            ]
            signing = time.perf_counter()
            calls: list[SignedRequest]
            if batched:
                calls = [client.sign_batch(requests[k:k + BATCH_REQUESTS])
                         for k in range(0, n, BATCH_REQUESTS)]
            else:
                calls = [client.sign(request) for request in requests]
            signing_s = time.perf_counter() - signing
            gc.collect()
            gc.freeze()  # the set-up (users, requests) is long-lived: out of the collector's way
            if start_at is not None:
                while time.perf_counter() < start_at:
                    time.sleep(0.0005)
            start = time.perf_counter()
            submit = system.api.submit_batch if batched else system.api.submit
            for call in calls:
                submit(call)
            accepted = time.perf_counter()
            system.run_until_idle()
            drained = time.perf_counter()
            delivered = system.log.counts_by_status()[Status.DELIVERED]
            if delivered != n:
                raise RuntimeError(f"{backend}: {delivered} of {n} notifications delivered")
            return PipelineRun(n, signing_s, intake_s=accepted - start,
                               delivery_s=drained - accepted, started=start)
        finally:
            gc.unfreeze()
            store.flush()


def run_messages_floor(n: int) -> float:
    """Seconds the pipeline's messages alone take for ``n`` notifications.

    Per notification, as the pipeline does it: the :class:`Job` the intake builds, its JSON
    body for the queue, the worker's decode of that body, and the four log lines a delivered
    notification gets (accepted, queued, sent, delivered), each built and recorded in a
    :class:`NotificationLog` (its state-machine check included). Nothing else: no storage,
    validation, provider, dedupe or retry decision.
    """
    log = NotificationLog()
    names = [(f"{i}", f"evt-{i}", f"u{i}", f"fcm-token-{i}", f"Hi user {i}, this is #{i}")
             for i in range(n)]
    steps = ((Status.ACCEPTED, ""), (Status.QUEUED, ""), (Status.SENT, "via fcm"),
             (Status.DELIVERED, "receipt from fcm"))
    gc.collect()
    start = time.perf_counter()
    for notification_id, event_id, user_id, token, body in names:
        job = Job(notification_id, event_id, user_id, Channel.ANDROID_PUSH, token, "Hello",
                  body, Category.TRANSACTIONAL, False, START, "bench")
        received = Job.from_json(job.to_json())
        for status, reason in steps:
            log.record(StatusChange.for_job(received, status, START, reason))
    seconds = time.perf_counter() - start
    if len(log) != n or log.counts_by_status()[Status.DELIVERED] != n:
        raise RuntimeError(f"the floor run logged {len(log)} of {n} notifications delivered")
    return seconds


def _shard(index: int, n: int, start_at: float,
           results: multiprocessing.Queue[tuple[float, float]]) -> None:
    run = run_pipeline("memory", n, first_user=index * n, start_at=start_at)
    results.put((run.started, run.started + run.total_s))


def run_sharded(shards: int, n_per_shard: int) -> float:
    """Notifications per second of ``shards`` processes running the pipeline at once.

    Each process builds its own store and users, then all start together; the rate is the
    total over the span from the first start to the last finish.
    """
    context = multiprocessing.get_context("fork")
    results: multiprocessing.Queue[tuple[float, float]] = context.Queue()
    start_at = time.perf_counter() + 0.5 + 0.00015 * n_per_shard  # after every setup
    workers = [context.Process(target=_shard, args=(i, n_per_shard, start_at, results))
               for i in range(shards)]
    for worker in workers:
        worker.start()
    spans: list[tuple[float, float]] = []
    while len(spans) < shards:
        try:
            spans.append(results.get(timeout=1.0))
        except queue.Empty:
            failed = [w.exitcode for w in workers if w.exitcode not in (None, 0)]
            if failed:
                raise RuntimeError(f"a shard failed with exit code {failed[0]}") from None
    for worker in workers:
        worker.join()
    begin, end = min(s for s, _ in spans), max(e for _, e in spans)
    return shards * n_per_shard / (end - begin)


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1


def _cost(rate: float, calibration: float) -> str:
    """One notification's cost in calibration loop iterations (the x-calib column inverted,
    which at four decimals would read 0.0003)."""
    return f"~{calibration / rate:,.0f} dict stores each"


def _verdict(rate: float) -> str:
    verdict = "meets" if rate >= TARGET_NOTIFICATIONS_PER_S else "below"
    return f"{verdict} the {TARGET_NOTIFICATIONS_PER_S:,} notifications/s target"


def _memory_figures(calibration: float, n: int) -> list[Figure]:
    runs = [run_pipeline("memory", n) for _ in range(REPEATS["memory"])]
    pipeline = n / min(r.total_s for r in runs)
    target = f"target {TARGET_NOTIFICATIONS_PER_S:,}/s"
    figures = [Figure(
        name="memory: notification pipeline (end to end)",
        ops_per_s=pipeline, vs_calibration=pipeline / calibration,
        baseline=target, vs_baseline=pipeline / TARGET_NOTIFICATIONS_PER_S,
        note=f"{_verdict(pipeline)} in one process; {_cost(pipeline, calibration)} (n={n:,})",
    )]
    shards = _cores()
    if shards > 1:
        sharded = max(run_sharded(shards, n) for _ in range(2))
        figures.append(Figure(
            name=f"memory: pipeline, {shards} processes (sharded by user)",
            ops_per_s=sharded, vs_calibration=sharded / calibration,
            baseline=target, vs_baseline=sharded / TARGET_NOTIFICATIONS_PER_S,
            note=f"{_verdict(sharded)} on {shards} cores; {sharded / pipeline:.2f}x one process",
        ))
    single_n = max(MIN_NOTIFICATIONS["memory"], n // 4)
    single = single_n / min(run_pipeline("memory", single_n, batched=False).total_s
                            for _ in range(REPEATS["memory"]))
    figures.append(Figure(
        name="memory: pipeline, one signed call per request",
        ops_per_s=single, vs_calibration=single / calibration,
        baseline="memory pipeline", vs_baseline=single / pipeline,
        note=f"batch calls of {BATCH_REQUESTS} run at {pipeline / single:.2f}x this rate",
    ))
    bare = n / min(run_pipeline("memory", n, keep_records=False).total_s
                   for _ in range(REPEATS["memory"]))
    figures.append(Figure(
        name="memory: pipeline without the notification DB",
        ops_per_s=bare, vs_calibration=bare / calibration,
        baseline="memory pipeline", vs_baseline=bare / pipeline,
        note=f"keeping every job costs {1 - pipeline / bare:.0%} of this rate "
             "(an HSET and a ZADD when queued, a ZREM and an HSET when settled)",
    ))
    floor = n / min(run_messages_floor(n) for _ in range(REPEATS["memory"]))
    figures.append(Figure(
        name="memory: floor (job, its JSON, 4 log lines only)",
        ops_per_s=floor, vs_calibration=floor / calibration,
        baseline=target, vs_baseline=floor / TARGET_NOTIFICATIONS_PER_S,
        note=(f"{_cost(floor, calibration)}; leaves "
              f"{max(0.0, 1e6 / TARGET_NOTIFICATIONS_PER_S - 1e6 / floor):.1f} µs of the "
              f"target's {1e6 / TARGET_NOTIFICATIONS_PER_S:.0f} µs for everything else"),
    ))
    for label, seconds in (("intake only (batch call → queued)", [r.intake_s for r in runs]),
                           ("delivery only (queue → provider → log)",
                            [r.delivery_s for r in runs]),
                           ("caller: encode + sign batch calls", [r.signing_s for r in runs])):
        rate = n / min(seconds)
        figures.append(Figure(
            name=f"memory: {label}", ops_per_s=rate, vs_calibration=rate / calibration,
            baseline="memory pipeline", vs_baseline=rate / pipeline,
            note=_cost(rate, calibration),
        ))
    return figures


def run(calibration: float, *, scale: float = 1.0) -> list[Figure]:
    figures: list[Figure] = []
    memory_rate = 0.0
    for backend in _backends():
        n = max(MIN_NOTIFICATIONS[backend], int(NOTIFICATIONS[backend] * scale))
        if backend == "memory":
            figures.extend(_memory_figures(calibration, n))
            memory_rate = figures[0].ops_per_s
            continue
        rate = n / min(run_pipeline(backend, n).total_s for _ in range(REPEATS[backend]))
        figures.append(Figure(
            name=f"{backend}: notification pipeline (end to end)",
            ops_per_s=rate, vs_calibration=rate / calibration,
            baseline="memory", vs_baseline=rate / memory_rate,
            note=f"{_cost(rate, calibration)} (n={n:,})",
        ))
    return figures
