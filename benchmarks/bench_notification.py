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
start-up); the collector still runs on everything the pipeline allocates. Every rate is the
best of a few runs, each on a fresh store; every quantity below is one run.

Figures (rates), each against the calibration loop and, where one applies, a baseline:

* memory, the whole pipeline in one process (the baseline of the memory figures below);
* memory, the same pipeline in one process per core, users sharded between them (the API is
  stateless and every key is per user, so shards share nothing): the scale-out figure,
  against one process;
* memory, with one signed call per request (the single-request API) instead of batches;
* memory, without the notification DB (``stall_after_s=None``): what keeping every job
  costs (four storage calls per notification);
* memory, the intake alone and the delivery alone, each against the whole pipeline;
* the caller's side: encoding and signing batch calls;
* the floor: what the typed messages alone cost per notification (its :class:`Job` built,
  written to queue JSON and read back, its four log lines built and recorded), with no
  storage, checks, provider or worker around them: no pipeline built from these messages
  can be faster, and the pipeline's rate over the floor's is the share of a notification's
  cost the messages alone take;
* fakeredis and, when ``REDIS_URL`` is set, real Redis: the same pipeline with fewer
  notifications, each against memory.

Quantities (not rates; reported, never judged):

* fakeredis: Redis commands and round trips per delivered notification over the whole
  pipeline (from the first batch call to idle), with the commands that make them up;
* bytes retained per waiting notification: the memory that ``n`` accepted notifications
  keep while they wait on their queue, before any worker runs (see :func:`run_waiting_memory`
  for what is counted), on memory and fakeredis (on real Redis, the server's growth too),
  each against memory;
* the burst-scaling figure: bursts of :data:`BURST_JOBS` push jobs, two per user, drained by
  the default worker pools on the memory backend (:func:`run_burst`): the wall seconds of
  each and its time per job against the smallest burst's. A flat 1.0 means wall time grows
  linearly with the burst; more means each job costs more in a bigger burst.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import queue
import sys
import time
import tracemalloc
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import PurePath

from benchmarks.harness import Figure, Quantity
from reference.core.clock import FakeClock
from reference.notification.auth import SignedRequest
from reference.notification.client import NotificationClient
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
from reference.storage import Store, connect

BATCH_REQUESTS = 500  # requests per signed batch call (the API's maximum)
WORKER_BATCH = 500  # jobs per worker poll
START = 1_767_225_600.0  # 2026-01-01 00:00 UTC: no quiet hours, nothing deferred
NOTIFICATIONS = {"memory": 20_000, "fakeredis": 1_000, "redis": 1_000}  # at --scale 1
MIN_NOTIFICATIONS = {"memory": 200, "fakeredis": 50, "redis": 50}
REPEATS = {"memory": 3, "fakeredis": 2, "redis": 2}
NAMESPACE = "bench-notification"
TEMPLATE, TEMPLATE_BODY = "bench", "Hi ${name}, this is #${i}"
TOP_COMMANDS = 5  # command names shown in the note (every one is in the JSON details)
MEMORY_JOBS = {"memory": 2_000, "fakeredis": 500, "redis": 500}  # waiting, at --scale 1
MIN_MEMORY_JOBS = 20
WARMUP_REQUESTS = 20  # accepted before tracing: first-use allocations are not the jobs'
TOP_SOURCES = 3  # source files shown in the memory note (every one is in the JSON details)
BURST_JOBS = (2_000, 4_000, 8_000, 16_000)  # at --scale 1
JOBS_PER_USER = 2  # in a burst
MIN_BURST_JOBS = 20


@dataclass(frozen=True, slots=True)
class PipelineRun:
    """One burst: seconds spent signing (the caller), accepting (intake) and draining, and,
    when recorded, the Redis commands the system issued from intake to idle."""

    notifications: int
    signing_s: float
    intake_s: float
    delivery_s: float
    started: float = 0.0  # perf_counter() when the timed part began (to merge shards)
    commands: dict[str, int] = field(default_factory=dict)  # by name (recorded runs only)
    round_trips: int = 0  # recorded runs only

    @property
    def total_s(self) -> float:
        return self.intake_s + self.delivery_s


def _backends() -> list[str]:
    return ["memory", "fakeredis"] + (["redis"] if os.environ.get("REDIS_URL") else [])


def _pipeline_system(store: Store, *, keep_records: bool = True) -> NotificationSystem:
    """The system the pipeline figures run: perfect providers, no rate limit, one worker per
    channel polling :data:`WORKER_BATCH` jobs, the notification DB unless ``keep_records``
    is False."""
    system = NotificationSystem.create(
        store, seed=10, failures="none", rate_limit=None,
        pool_sizes=dict.fromkeys(Channel, 1), batch_size=WORKER_BATCH,
        stall_after_s=STALL_AFTER_S if keep_records else None,
    )
    system.publish_template(TEMPLATE, title="Hello", body=TEMPLATE_BODY)
    return system


def _push_requests(system: NotificationSystem, users: range,
                   per_user: int = 1) -> list[NotificationRequest]:
    """Register ``users`` (``u<i>``, one Android device each) and return ``per_user`` push
    requests for each, every user's first request before anyone's second."""
    for i in users:
        system.register_user(f"u{i}", android=[f"fcm-token-{i}"])
    return [NotificationRequest(f"evt-{i}-{k}", f"u{i}", TEMPLATE, {"name": f"user {i}", "i": i},
                                channels=(Channel.ANDROID_PUSH,))
            for k in range(per_user) for i in users]


def _sign(client: NotificationClient, requests: Sequence[NotificationRequest], *,
          batched: bool = True) -> list[SignedRequest]:
    """Batch calls of :data:`BATCH_REQUESTS` (or one call per request if not ``batched``)."""
    if not batched:
        return [client.sign(request) for request in requests]
    return [client.sign_batch(requests[k:k + BATCH_REQUESTS])
            for k in range(0, len(requests), BATCH_REQUESTS)]


def _check_delivered(system: NotificationSystem, backend: str, n: int) -> None:
    delivered = system.log.counts_by_status()[Status.DELIVERED]
    if delivered != n:
        raise RuntimeError(f"{backend}: {delivered} of {n} notifications delivered")


def run_pipeline(backend: str, n: int, *, batched: bool = True, first_user: int = 0,
                 start_at: float | None = None, keep_records: bool = True,
                 record: bool = False) -> PipelineRun:
    """Accept ``n`` signed push requests, drain the system, and time both halves.

    ``batched`` sends batch calls of :data:`BATCH_REQUESTS`; otherwise one call per request.
    ``keep_records`` False runs without the notification DB. ``record`` (Redis backends
    only) records the commands issued from the first call to idle (which slows the run:
    its times are not the pipeline's figure then).
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
            system = _pipeline_system(store, keep_records=keep_records)
            requests = _push_requests(system, range(first_user, first_user + n))
            signing = time.perf_counter()
            calls = _sign(system.client("bench-service"), requests, batched=batched)
            signing_s = time.perf_counter() - signing
            gc.collect()
            gc.freeze()  # the set-up (users, requests) is long-lived: out of the collector's way
            if start_at is not None:
                while time.perf_counter() < start_at:
                    time.sleep(0.0005)
            recording = store.record_commands() if record else contextlib.nullcontext()
            submit = system.api.submit_batch if batched else system.api.submit
            start = time.perf_counter()
            with recording as recorder:
                for call in calls:
                    submit(call)
                accepted = time.perf_counter()
                system.run_until_idle()
            drained = time.perf_counter()
            _check_delivered(system, backend, n)
            return PipelineRun(
                n, signing_s, intake_s=accepted - start, delivery_s=drained - accepted,
                started=start,
                commands={} if recorder is None else dict(recorder.counts()),
                round_trips=0 if recorder is None else recorder.round_trips,
            )
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
                  body, Category.TRANSACTIONAL, False, START, TEMPLATE)
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


@dataclass(frozen=True, slots=True)
class MemoryRun:
    """What ``jobs`` accepted notifications keep while they wait (:func:`run_waiting_memory`)."""

    jobs: int
    process_bytes: int  # Python heap, this process (tracemalloc)
    by_source: dict[str, int]  # process_bytes by the source file that allocated them
    server_bytes: int | None = None  # a real Redis server's used_memory growth (None: none)


def _source(filename: str) -> str:
    """A short name for the file that allocated: ``reference/…`` path, else the package (or
    standard-library module) it belongs to."""
    parts = PurePath(filename).parts
    if "site-packages" in parts:
        return parts[parts.index("site-packages") + 1]
    if "reference" in parts:
        return "/".join(parts[len(parts) - parts[::-1].index("reference") - 1:])
    return "/".join(parts[-2:]) if len(parts) > 1 else filename


def _server_memory(store: Store) -> int | None:
    """A real Redis server's ``used_memory`` (None on memory and fakeredis)."""
    if store.backend != "redis":
        return None
    return int(store.redis_client.info("memory")["used_memory"])


def run_waiting_memory(backend: str, n: int) -> MemoryRun:
    """Bytes retained while ``n`` accepted push notifications wait, before any worker runs.

    The pipeline's system and workload (batch calls of :data:`BATCH_REQUESTS`). The users,
    the template and the signed calls are made first, and a first call of
    :data:`WARMUP_REQUESTS` is accepted (first-use caches are not the jobs'). Then two
    :mod:`tracemalloc` snapshots, before and after the intake of the ``n``: counted is what
    the intake allocated and left alive after a full collection, net of what it freed
    (tracing runs from the set-up on, so a table the intake grows counts its growth only),
    whatever holds it: the job's queue message and its place in the consumer group, the
    notification DB's row and open entry, the log's ``accepted`` and ``queued`` lines, the
    ids, and a share of each call's nonce. On fakeredis the embedded server's data
    structures are Python objects in this process, so they are counted too. On a real Redis
    server they are not: its ``INFO memory`` growth is reported as ``server_bytes``.

    Raises
    ------
    RuntimeError
        If the jobs are not all waiting on their queue when measured.
    """
    clock = FakeClock(start=START)
    with connect(backend, clock=clock, namespace=f"{NAMESPACE}-waiting") as store:
        store.flush()
        try:
            tracemalloc.start()  # from the set-up on: a table the intake grows counts its growth
            system = _pipeline_system(store)
            requests = _push_requests(system, range(WARMUP_REQUESTS + n))
            client = system.client("bench-service")
            warmup = client.sign_batch(requests[:WARMUP_REQUESTS])
            calls = _sign(client, requests[WARMUP_REQUESTS:])
            system.api.submit_batch(warmup)
            gc.collect()
            server_before = _server_memory(store)
            before = tracemalloc.take_snapshot()
            for call in calls:
                system.api.submit_batch(call)  # the receipts are dropped: callers keep none
            gc.collect()
            after = tracemalloc.take_snapshot()
            tracemalloc.stop()
            server_after = _server_memory(store)
            queued = system.pending().queued
            if queued != WARMUP_REQUESTS + n:
                raise RuntimeError(f"{backend}: {queued} of {WARMUP_REQUESTS + n} jobs waiting")
        finally:
            if tracemalloc.is_tracing():
                tracemalloc.stop()
            store.flush()
    ours = tracemalloc.Filter(False, tracemalloc.__file__)  # the snapshots themselves
    by_source: dict[str, int] = {}
    for diff in after.filter_traces([ours]).compare_to(before.filter_traces([ours]), "filename"):
        name = _source(diff.traceback[0].filename)
        by_source[name] = by_source.get(name, 0) + diff.size_diff
    server = None if server_before is None or server_after is None else (
        server_after - server_before)
    return MemoryRun(n, sum(by_source.values()), by_source, server)


@dataclass(frozen=True, slots=True)
class BurstRun:
    """One burst drained by the default worker pools (see :func:`run_burst`)."""

    jobs: int
    users: int
    seconds: float  # wall seconds of run_until_idle
    rounds: int
    recovered: int  # jobs the notification DB's recovery sweep published again


def run_burst(jobs: int) -> BurstRun:
    """Accept ``jobs`` push requests for ``jobs // 2`` users (:data:`JOBS_PER_USER` each) on
    the memory backend, then time :meth:`~NotificationSystem.run_until_idle` until all are
    delivered.

    The system is :meth:`NotificationSystem.create` with its defaults (its worker pools and
    poll batch size, the per-user rate limit, the notification DB) and perfect providers;
    the intake is not timed. As in :func:`run_pipeline`, the set-up is frozen out of the
    cyclic garbage collector.

    Raises
    ------
    RuntimeError
        If a notification did not end ``delivered``.
    """
    users = jobs // JOBS_PER_USER
    clock = FakeClock(start=START)
    with connect("memory", clock=clock, namespace=f"{NAMESPACE}-burst") as store:
        try:
            system = NotificationSystem.create(store, seed=10, failures="none")
            system.publish_template(TEMPLATE, title="Hello", body=TEMPLATE_BODY)
            requests = _push_requests(system, range(users), per_user=JOBS_PER_USER)
            for call in _sign(system.client("bench-service"), requests):
                system.api.submit_batch(call)
            gc.collect()
            gc.freeze()
            start = time.perf_counter()
            rounds = system.run_until_idle()
            seconds = time.perf_counter() - start
            _check_delivered(system, "memory burst", len(requests))
            recovered = 0 if system.records is None else system.records.statistics().recovered
            return BurstRun(len(requests), users, seconds, rounds, recovered)
        finally:
            gc.unfreeze()


def _cost(rate: float, calibration: float) -> str:
    """One notification's cost in calibration loop iterations (the x-calib column inverted,
    which at four decimals would read 0.0003)."""
    return f"~{calibration / rate:,.0f} dict stores each"


def _memory_figures(calibration: float, n: int) -> list[Figure]:
    runs = [run_pipeline("memory", n) for _ in range(REPEATS["memory"])]
    pipeline = n / min(r.total_s for r in runs)
    figures = [Figure(
        name="memory: notification pipeline (end to end)",
        ops_per_s=pipeline, vs_calibration=pipeline / calibration,
        note=f"one process; {_cost(pipeline, calibration)} (n={n:,})",
    )]
    shards = _cores()
    if shards > 1:
        sharded = max(run_sharded(shards, n) for _ in range(2))
        figures.append(Figure(
            name=f"memory: pipeline, {shards} processes (sharded by user)",
            ops_per_s=sharded, vs_calibration=sharded / calibration,
            baseline="memory pipeline", vs_baseline=sharded / pipeline,
            note=f"{shards} cores, {n:,} users each; {_cost(sharded, calibration)}",
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
        baseline="memory pipeline", vs_baseline=floor / pipeline,
        note=(f"{_cost(floor, calibration)}; the messages alone are "
              f"{pipeline / floor:.0%} of a notification's pipeline cost"),
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


def _command_quantities(n: int) -> list[Quantity]:
    """Redis commands and round trips per delivered notification, fakeredis, intake to idle."""
    run = run_pipeline("fakeredis", n, record=True)
    commands = sum(run.commands.values())
    ranked = sorted(run.commands.items(), key=lambda item: (-item[1], item[0]))
    top = ", ".join(f"{name} {count / n:.3g}" for name, count in ranked[:TOP_COMMANDS])
    return [
        Quantity(
            name="fakeredis: Redis commands per delivered notification",
            value=commands / n, unit="commands",
            note=f"batch call to delivered, n={n:,}; most: {top}",
            details={name: count / n for name, count in ranked},
        ),
        Quantity(
            name="fakeredis: round trips per delivered notification",
            value=run.round_trips / n, unit="round trips",
            baseline="commands", vs_baseline=run.round_trips / commands if commands else None,
            note="a pipeline (a MULTI/EXEC one too) is one round trip for all its commands",
        ),
    ]


def _waiting_memory_quantities(scale: float) -> list[Quantity]:
    """Bytes retained per waiting notification on each backend, against memory: on the
    Python heap, plus, on real Redis, the server's growth (``details``: by allocating file)."""
    quantities: list[Quantity] = []
    memory_bytes = 0.0
    for backend in _backends():
        n = max(MIN_MEMORY_JOBS, int(MEMORY_JOBS[backend] * scale))
        run = run_waiting_memory(backend, n)
        by_source = dict(run.by_source)
        if run.server_bytes is not None:  # real Redis: the data is in the server
            by_source["redis server (INFO used_memory)"] = run.server_bytes
        total = sum(by_source.values())
        ranked = sorted(by_source.items(), key=lambda item: (-item[1], item[0]))
        share = ", ".join(f"{name} {size / total:.0%}"
                          for name, size in ranked[:TOP_SOURCES]) if total else ""
        where = {"fakeredis": ", the embedded server's data included",
                 "redis": " and on the server"}.get(backend, "")
        if backend == "memory":
            memory_bytes = total / n
        quantities.append(Quantity(
            name=f"{backend}: bytes retained per waiting notification",
            value=total / n, unit="bytes",
            baseline="memory" if backend != "memory" else "",
            vs_baseline=total / n / memory_bytes if backend != "memory" and memory_bytes
            else None,
            note=(f"left alive by the intake of {n:,} on the Python heap (tracemalloc)"
                  f"{where}; by where allocated: {share}"),
            details={name: size / n for name, size in ranked},
        ))
    return quantities


def burst_sizes(scale: float) -> list[int]:
    """:data:`BURST_JOBS` scaled, each even (two jobs per user) and at least
    :data:`MIN_BURST_JOBS`."""
    return [max(MIN_BURST_JOBS, JOBS_PER_USER * round(jobs * scale / JOBS_PER_USER))
            for jobs in BURST_JOBS]


def _burst_quantities(sizes: Sequence[int]) -> list[Quantity]:
    """Wall seconds of each burst, and its time per job against the smallest burst's."""
    runs = []
    for jobs in sizes:
        print(f"  burst of {jobs:,} jobs ...", file=sys.stderr, flush=True)
        runs.append(run_burst(jobs))
    first = runs[0]
    quantities = []
    for run in runs:
        note = (f"{run.users:,} users x {JOBS_PER_USER}, default pools: "
                f"{1e6 * run.seconds / run.jobs:,.0f} µs a job, {run.rounds:,} rounds, "
                f"{run.recovered:,} jobs published again by the recovery sweep")
        if run is first:
            note += "; 1.0 all down this column = wall time linear in the burst"
        quantities.append(Quantity(
            name=f"memory: burst of {run.jobs:,} jobs, until idle",
            value=run.seconds, unit="s (wall)",
            baseline=f"per job, {first.jobs:,}-job burst",
            vs_baseline=(run.seconds / run.jobs) / (first.seconds / first.jobs),
            note=note,
            details={"jobs": run.jobs, "users": run.users, "rounds": run.rounds,
                     "recovered": run.recovered, "seconds_per_job": run.seconds / run.jobs},
        ))
    return quantities


def run(calibration: float, *, scale: float = 1.0) -> list[Figure | Quantity]:
    results: list[Figure | Quantity] = []
    memory_rate = 0.0
    for backend in _backends():
        n = max(MIN_NOTIFICATIONS[backend], int(NOTIFICATIONS[backend] * scale))
        if backend == "memory":
            figures = _memory_figures(calibration, n)
            memory_rate = figures[0].ops_per_s
            results.extend(figures)
            continue
        rate = n / min(run_pipeline(backend, n).total_s for _ in range(REPEATS[backend]))
        results.append(Figure(
            name=f"{backend}: notification pipeline (end to end)",
            ops_per_s=rate, vs_calibration=rate / calibration,
            baseline="memory", vs_baseline=rate / memory_rate,
            note=f"{_cost(rate, calibration)} (n={n:,})",
        ))
    n = max(MIN_NOTIFICATIONS["fakeredis"], int(NOTIFICATIONS["fakeredis"] * scale))
    results.extend(_command_quantities(n))
    results.extend(_waiting_memory_quantities(scale))
    results.extend(_burst_quantities(burst_sizes(scale)))
    return results
