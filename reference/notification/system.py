"""The whole notification system (알림 시스템) wired on one store and one clock: the bootstrap.

Every chapter-10 component already exists on its own; :class:`NotificationSystem` is the one
place that connects them, as a cosmicpython-style *bootstrap*: it builds nothing new, it only
wires::

    NotificationClient ─HMAC─▶ NotificationAPI ─▶ notify.<channel> queues ─▶ worker pools
      (signed requests)        contacts · templates                         dedupe · retry
                               settings · rate limit                        providers
                               │ quiet hours                                  │ fallback
                               ▼                                              ▼
                            deferred (delayed queue) ── released ──▶   notification log
                               │                                        alerts · monitor
                               └─ every queued job is kept first in the notification DB,
                                  whose recovery sweep publishes a lost one again

What each piece is, and where it lives:

============== =================================================== ==========================
attribute      component                                           module
============== =================================================== ==========================
``api``        intake: auth, validation, settings, rate limit      :mod:`.api`
``registry``   app keys and secrets of the calling services        :mod:`.auth`
``contacts``   contact info (연락처 정보): tokens, phones, emails  :mod:`.contacts`
``templates``  versioned templates (알림 템플릿)                   :mod:`.templates`
``settings``   user settings (알림 설정): opt-ins, quiet hours     :mod:`.settings`
``limiter``    per-user rate limiting (전송률 제한), recorded      :mod:`.ratelimit`
``deferred``   quiet-hours deferral queue                          :mod:`.delayed`
``delivery``   worker pools, retry (재시도) pump, dedupe, providers :mod:`.delivery`
``log``        notification log and event tracking (이벤트 추적)   :mod:`.tracking`
``records``    notification DB (데이터 손실 방지) and its recovery  :mod:`.records`
``monitor``    queue monitoring (큐 모니터링)                      :mod:`.monitoring`
============== =================================================== ==========================

Time only moves on the lab's simulator (:class:`~reference.core.sim.Simulation`, built on
the store's :class:`~reference.core.clock.FakeClock`): the system's background work runs in
*rounds*, and a round is a timer on the simulator's heap. A round releases due deferred
jobs, lets the notification DB recover lost ones and pumps due retries; then **each
worker's poll is a timer of its own**, and a last timer sweeps dead letters, samples the
queues and schedules the next round: one tick later while jobs are queued or in flight,
else at the next due time (a deferral, a retry, a delivery receipt), or not at all once the
system is idle. :meth:`NotificationSystem.run_until_idle` and
:meth:`NotificationSystem.run_until` run the simulator; :meth:`NotificationSystem.step`
runs one round now.

Examples
--------
>>> from reference.core.clock import FakeClock
>>> from reference.notification.model import Category, Channel, NotificationRequest
>>> from reference.storage import connect
>>> clock = FakeClock(start=1_767_225_600.0)                  # 2026-01-01 00:00 UTC
>>> system = NotificationSystem.create(connect("memory", clock=clock), seed=7, failures="none")
>>> system.register_user("u1", ios=["apns-tok-1"], phone="+14155550100")
Contacts(user_id='u1', ios_tokens=('apns-tok-1',), android_tokens=(), phone='+14155550100', \
email=None)
>>> system.publish_template("otp", title="Sign-in code", body="Your code is ${code}")
1
>>> receipt = system.client().send(NotificationRequest(
...     "evt-1", "u1", "otp", {"code": "123456"}, channels=(Channel.IOS_PUSH, Channel.SMS),
...     category=Category.SECURITY, critical=True))
>>> [(e.channel.value, e.status.value) for e in receipt.entries]
[('ios', 'queued'), ('sms', 'queued')]
>>> rounds = system.run_until_idle()
>>> sorted(system.log.status(e.notification_id).value for e in receipt.entries)
['delivered', 'delivered']
>>> system.statistics().workers.sent
2
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from random import Random
from typing import Literal

from reference.blocks.delayed_queue import DelayedQueue, DelayedQueueStatistics
from reference.blocks.idempotency import IdempotencyStatistics
from reference.blocks.ratelimit import (
    RateLimiter,
    RateLimiterLike,
    RateLimiterStatistics,
    RecordingLimiter,
)
from reference.core.checks import check_int, check_positive_seconds
from reference.core.clock import US_PER_S, Clock, FakeClock
from reference.core.errors import InvalidArgument, LabError
from reference.core.faults import CrashPlan
from reference.core.ids import MAX_WORKER_ID, SnowflakeGenerator
from reference.core.sim import Simulation, Timer
from reference.notification.api import (
    DEFERRED_QUEUE,
    APIStatistics,
    EventGrants,
    NotificationAPI,
)
from reference.notification.auth import AppCredentials, AppRegistry, AuthStatistics, RequestVerifier
from reference.notification.client import NotificationClient
from reference.notification.contacts import ContactBook, Contacts, validate_device_tokens
from reference.notification.delivery import DeliveryService
from reference.notification.model import (
    CHANNEL_QUEUES,
    WORKER_GROUP,
    Channel,
    check_instant,
    queue_name,
)
from reference.notification.monitoring import Advice, MonitorStatistics, QueueMonitor
from reference.notification.providers import (
    PROVIDER_CHAINS,
    DeliveryReceipt,
    FailureModel,
    Provider,
    ProviderStatistics,
    SimulatedProvider,
)
from reference.notification.pump import MAX_DELIVERIES, VISIBILITY_TIMEOUT_S, PumpStatistics
from reference.notification.records import STALL_AFTER_S, NotificationRecords, RecordsStatistics
from reference.notification.retry import Alerts, RetryPolicy
from reference.notification.settings import Preferences, SettingsStore
from reference.notification.templates import TemplateStore
from reference.notification.tracking import LogStatistics, NotificationLog
from reference.notification.worker import Worker, WorkerStatistics
from reference.storage import QueueStatistics, Store

__all__ = [
    "DEFAULT_RATE_LIMIT",
    "DEFAULT_TICK_S",
    "NotIdle",
    "NotificationSystem",
    "PendingWork",
    "StepResult",
    "SystemStatistics",
]

DEFAULT_RATE_LIMIT = (10, 3600.0)  # (limit, window_s): 10 per user and channel per hour
DEFAULT_TICK_S = 1.0  # how far the clock moves per round while work is visible
DEFAULT_MAX_STEPS = 100_000  # rounds one run may take before it calls the system stuck
MONITOR_EVERY_S = 10.0  # queue monitor sampling period (simulated seconds)
DEFAULT_APP_NAME = "default-service"


class NotIdle(LabError, RuntimeError):
    """The system still had work after ``max_steps`` rounds (a stuck job, or too few)."""


@dataclass(frozen=True, slots=True)
class PendingWork:
    """What is still to do: the system is idle when every count is 0.

    ``queued`` counts messages waiting on channel queues, ``in_flight`` those handed to a
    worker and not acked (a crashed worker's come back after the visibility timeout),
    ``deferred`` quiet-hours jobs, ``retrying`` jobs in the retry queue, ``receipts`` delivery
    receipts a provider will still report for a notification already sent, ``open`` jobs the
    notification DB still expects to settle (one it holds while every queue is empty was lost,
    and its recovery sweep will publish it again at its deadline). ``next_due_at`` is the
    earliest time a deferred job, a retry, a receipt or (when nothing else waits) such a
    deadline falls due (None if none).
    """

    queued: int
    in_flight: int
    deferred: int
    retrying: int
    receipts: int
    next_due_at: float | None
    open: int = 0

    @property
    def idle(self) -> bool:
        return not (self.queued or self.in_flight or self.deferred or self.retrying
                    or self.receipts or self.open)

    @property
    def busy_now(self) -> bool:
        """Work a worker could pick up without the clock moving far: queued or in flight."""
        return bool(self.queued or self.in_flight)


@dataclass(frozen=True, slots=True)
class _Outlook:
    """What the run loop decides on: :class:`PendingWork` without the counts (and without
    ``next_due_at`` while busy now: the clock ticks then)."""

    idle: bool
    busy_now: bool
    next_due_at: float | None
    receipts_only: bool = False  # nothing is due but delivery receipts


@dataclass(frozen=True, slots=True)
class StepResult:
    """One round (:meth:`NotificationSystem.step`): deferred jobs released, jobs consumed and
    sent, worker crashes, lost jobs the notification DB published again."""

    at: float
    released: int
    consumed: int
    sent: int
    crashes: int
    recovered: int = 0


@dataclass(slots=True)
class _Round:
    """A round in progress: what its timers did so far."""

    at: float
    released: int
    recovered: int
    consumed: int = 0
    sent: int = 0
    crashes: int = 0

    def result(self) -> StepResult:
        return StepResult(at=self.at, released=self.released, consumed=self.consumed,
                          sent=self.sent, crashes=self.crashes, recovered=self.recovered)


@dataclass(frozen=True, slots=True)
class SystemStatistics:
    """Every component's ``statistics()`` in one value (see the module table)."""

    steps: int
    api: APIStatistics
    auth: AuthStatistics
    rate_limiter: RateLimiterStatistics | None
    acquisitions: int
    deferred: DelayedQueueStatistics
    retry: DelayedQueueStatistics
    workers: WorkerStatistics
    pump: PumpStatistics
    dedupe: IdempotencyStatistics
    queues: tuple[tuple[Channel, QueueStatistics], ...]
    providers: tuple[tuple[str, ProviderStatistics], ...]
    log: LogStatistics
    monitor: MonitorStatistics
    alerts: int
    records: RecordsStatistics | None = None


def _ceil_us(seconds: float) -> float:
    """``seconds`` rounded *up* to a whole microsecond (a fake clock's resolution)."""
    return math.ceil(seconds * US_PER_S - 1e-6) / US_PER_S


def _positive(name: str, value: object) -> float:
    return check_positive_seconds(name, value, expected="a finite number of seconds > 0")


def _check_delivery_arguments(
    providers: object, failures: object, pool_sizes: object, quotas_per_minute: object,
    policy: object, batch_size: object, limiter: object,
) -> None:
    """:meth:`NotificationSystem.create`'s checks of what the delivery side is built from,
    all made before anything is created on the store (the delivery service creates the
    consumer groups, and its workers are built after them)."""
    if providers is None:
        names = {name for chain in PROVIDER_CHAINS.values() for name in chain}
        if not (failures is None or failures == "none" or isinstance(failures, Mapping)):
            raise InvalidArgument.bad_value("failures", failures, "a mapping, 'none' or None")
        models = failures if isinstance(failures, Mapping) else {}
        if not set(models) <= names:
            raise InvalidArgument.bad_value("failures", sorted(map(str, set(models) - names)),
                                            f"names of chain providers {sorted(names)}")
        for name, model in models.items():
            if not isinstance(model, FailureModel):
                raise InvalidArgument.bad_value(f"failures[{name!r}]", model, "a FailureModel")
    else:
        expected = "a mapping of every Channel to a non-empty sequence of providers"
        if not isinstance(providers, Mapping) or any(
                isinstance(providers.get(c), (str, bytes))
                or not isinstance(providers.get(c), Sequence) or not providers.get(c)
                for c in Channel):
            raise InvalidArgument.bad_value("providers", providers, expected)
        chains = [p for c in Channel for p in providers[c]]
        for provider in chains:
            if not (isinstance(getattr(provider, "name", None), str)
                    and all(callable(getattr(provider, verb, None))
                            for verb in ("send", "collect_receipts", "pending_receipts"))):
                raise InvalidArgument.bad_value("providers", provider, "a Provider")
        names = {p.name for p in chains}
    if pool_sizes is not None and not (isinstance(pool_sizes, Mapping) and all(
            isinstance(c, Channel) for c in pool_sizes)):
        raise InvalidArgument.bad_value("pool_sizes", pool_sizes, "a mapping Channel -> int")
    if quotas_per_minute is not None and not (isinstance(quotas_per_minute, Mapping)
                                              and set(quotas_per_minute) <= names):
        raise InvalidArgument.bad_value("quotas_per_minute", quotas_per_minute,
                                        f"a mapping of provider names from {sorted(names)}")
    if policy is not None and not isinstance(policy, RetryPolicy):
        raise InvalidArgument.bad_value("policy", policy, "a RetryPolicy or None")
    check_int("batch_size", batch_size, 1)
    if limiter is not None and not callable(getattr(limiter, "acquire", None)):
        raise InvalidArgument.bad_value("limiter", limiter, "a limiter with acquire(key)")


class NotificationSystem:
    """Chapter 10 end to end: intake, queues, workers, providers, log, alerts, monitor.

    Build it with :meth:`create` (defaults for everything) or pass the parts yourself; the
    constructor only stores them.

    Parameters
    ----------
    store : Store
        The connected store every component shares (``reference.storage.connect``).
    api : NotificationAPI
        The intake side, built on ``store``.
    delivery : DeliveryService
        Worker pools, retry pump, dedupe, providers.
    log : NotificationLog
        The recorder both sides write to.
    deferred : DelayedQueue
        The quiet-hours queue the API schedules on (name ``"deferred"``).
    limiter : RecordingLimiter or None
        The per-user limiter the API asks (None: no limit).
    monitor : QueueMonitor
        Samples the channel queues every ``monitor_every_s`` simulated seconds.
    ids : SnowflakeGenerator
        Issues the notification ids.
    seed : int or str
        Derives the seeds of apps and clients.
    monitor_every_s : float
        Sampling period of the monitor.
    records : NotificationRecords or None
        The notification DB (the recorder both sides write to, in front of ``log``), whose
        recovery sweep runs every round; None if the system runs without it.
    sim : Simulation
        The simulator the rounds run on, on the store's clock (its crash plan is the one
        the workers consult).
    tick_s : float
        How far the clock moves from one round to the next while jobs are queued or in
        flight.

    Notes
    -----
    Wiring only: every behaviour is the components'. One round costs one deferred-queue
    scan, one retry-queue scan, one poll per worker and one statistics read per channel
    queue (the dead-letter sweep); :meth:`pending` asks each channel queue for its
    statistics and, only when nothing else is pending, each provider for its outstanding
    receipts (one dedupe read per receipt, to count those whose send is recorded). Choosing
    the next round asks the same questions for less: it reuses the statistics the round's
    sweep just read, and needs no count, only the earliest such receipt: usually one read
    per provider instead of one per receipt.
    """

    def __init__(
        self,
        *,
        store: Store,
        api: NotificationAPI,
        delivery: DeliveryService,
        log: NotificationLog,
        deferred: DelayedQueue,
        limiter: RecordingLimiter | None,
        monitor: QueueMonitor,
        ids: SnowflakeGenerator,
        seed: int | str,
        sim: Simulation,
        monitor_every_s: float = MONITOR_EVERY_S,
        records: NotificationRecords | None = None,
        tick_s: float = DEFAULT_TICK_S,
    ) -> None:
        self.store = store
        self.clock: Clock = store.clock
        self.sim = sim
        self.api = api
        self.delivery = delivery
        self.log = log
        self.deferred = deferred
        self.limiter = limiter
        self.monitor = monitor
        self.ids = ids
        self.seed = seed
        self.monitor_every_s = _positive("monitor_every_s", monitor_every_s)
        self.records = records
        self.tick_s = _positive("tick_s", tick_s)
        self._apps: dict[str, AppCredentials] = {}
        self._nonces: dict[str, Random] = {}  # one nonce stream per app, shared by its clients
        self._steps = 0
        self._last_sample: float | None = None
        self._next_round: Timer | None = None  # the pending round, None once idle
        self._last_round: StepResult | None = None
        self._round_limit: int | None = None  # rounds this run may reach (max_steps)

    # ── the bootstrap ────────────────────────────────────────────────────────────────────
    @classmethod
    def create(
        cls,
        store: Store,
        *,
        seed: int | str,
        failures: Mapping[str, FailureModel] | Literal["none"] | None = None,
        providers: Mapping[Channel, Sequence[Provider]] | None = None,
        pool_sizes: Mapping[Channel, int] | None = None,
        rate_limit: tuple[int, float] | None = DEFAULT_RATE_LIMIT,
        limiter: RateLimiterLike | None = None,
        settings: SettingsStore | None = None,
        policy: RetryPolicy | None = None,
        crash_plan: CrashPlan | None = None,
        quotas_per_minute: Mapping[str, int] | None = None,
        batch_size: int = 10,
        visibility_timeout_s: float = VISIBILITY_TIMEOUT_S,
        max_deliveries: int = MAX_DELIVERIES,
        monitor_every_s: float = MONITOR_EVERY_S,
        worker_id: int = 1,
        stall_after_s: float | None = STALL_AFTER_S,
        tick_s: float = DEFAULT_TICK_S,
    ) -> NotificationSystem:
        """Wire every chapter-10 component on ``store`` and its clock.

        Parameters
        ----------
        store : Store
            From ``reference.storage.connect(backend, clock=...)`` with a
            :class:`~reference.core.clock.FakeClock`: the system's simulator moves it.
        seed : int or str
            Seeds the simulator, providers, worker jitter, app credentials and client
            nonces.
        failures : Mapping[str, FailureModel] or "none" or None
            Per-provider failure models by name (None: each channel's preset; "none": all
            perfect). Not with ``providers``.
        providers : Mapping[Channel, Sequence[Provider]] or None
            Each channel's fallback chain (default: simulated APNs, FCM, 2 SMS, 2 email).
        pool_sizes : Mapping[Channel, int] or None
            Workers per channel (default 1 each).
        rate_limit : (limit, window_s) or None
            The per-user, per-channel limit (None: unlimited). Ignored if ``limiter`` is given.
        limiter : RateLimiterLike or None
            A limiter to use instead (wrapped in a :class:`RecordingLimiter`).
        settings : SettingsStore or None
            A settings store to use instead of ``SettingsStore(store.kv)``.
        crash_plan : CrashPlan or None
            Where workers die (None: nowhere); the simulator holds it.
        policy, quotas_per_minute, batch_size, visibility_timeout_s, max_deliveries
            Passed to :class:`~reference.notification.delivery.DeliveryService`.
        monitor_every_s : float
            Queue monitor sampling period.
        worker_id : int
            The Snowflake worker id of this API instance (0..31).
        stall_after_s : float or None
            The notification DB's grace before its recovery sweep publishes a stalled job
            again (:mod:`~reference.notification.records`); None runs without the DB, so
            a job the broker loses stays lost.
        tick_s : float
            Time between rounds while jobs are queued or in flight (default 1 s).

        Returns
        -------
        NotificationSystem

        Raises
        ------
        InvalidArgument
            A bad argument (checked before anything is created on the store).
        """
        if not isinstance(store, Store):
            raise InvalidArgument.bad_value("store", store, "a Store (reference.storage.connect)")
        if isinstance(seed, bool) or not isinstance(seed, (int, str)):
            raise InvalidArgument.bad_value("seed", seed, "an int or a str")
        if not isinstance(store.clock, FakeClock):
            raise InvalidArgument.bad_value(
                "store.clock", store.clock,
                "a FakeClock: the system runs on the lab's simulator, which moves it")
        if limiter is None and rate_limit is not None:
            if not isinstance(rate_limit, tuple) or len(rate_limit) != 2:
                raise InvalidArgument.bad_value("rate_limit", rate_limit, "(limit, window_s)")
            limit, window_s = rate_limit
            limiter = RateLimiter(store.timeline, store.clock, limit=limit, window_s=window_s,
                                  name="per-user")
        if settings is not None and not isinstance(settings, SettingsStore):
            raise InvalidArgument.bad_value("settings", settings, "a SettingsStore")
        _positive("monitor_every_s", monitor_every_s)
        _positive("tick_s", tick_s)
        check_int("worker_id", worker_id, 0, MAX_WORKER_ID)
        _check_delivery_arguments(providers, failures, pool_sizes, quotas_per_minute, policy,
                                  batch_size, limiter)
        sim = Simulation(seed, clock=store.clock, crash_plan=crash_plan)
        clock = store.clock
        log = NotificationLog()
        records = None if stall_after_s is None else NotificationRecords(
            store.kv, store.timeline, log, stall_after_s=stall_after_s)
        recorder = log if records is None else records  # the DB forwards to the log
        contacts = ContactBook(store.kv)
        delivery = DeliveryService.from_store(
            store, clock=clock, recorder=recorder, seed=seed, providers=providers,
            failures=failures, policy=policy, contacts=contacts, alerts=Alerts(),
            pool_sizes=pool_sizes, quotas_per_minute=quotas_per_minute,
            batch_size=batch_size, crash_plan=sim.crash_plan,
            visibility_timeout_s=visibility_timeout_s, max_deliveries=max_deliveries,
        )  # creates the consumer groups before anything is published
        recording = None if limiter is None else RecordingLimiter(limiter, clock)
        deferred = DelayedQueue(store.timeline, name=DEFERRED_QUEUE)
        ids = SnowflakeGenerator(clock, worker_id=worker_id)
        registry = AppRegistry(store.kv)
        api = NotificationAPI(
            clock=clock,
            verifier=RequestVerifier(registry, store.kv, store.timeline),
            contacts=contacts,
            templates=TemplateStore(store.kv),
            settings=SettingsStore(store.kv) if settings is None else settings,
            queue=store.queue,
            deferred=deferred,
            log=recorder,
            ids=ids,
            grants=EventGrants(store.kv),
            limiter=recording,
        )
        monitor = QueueMonitor(store.queue, clock)
        return cls(store=store, api=api, delivery=delivery, log=log, deferred=deferred,
                   limiter=recording, monitor=monitor, ids=ids, seed=seed, sim=sim,
                   monitor_every_s=monitor_every_s, records=records, tick_s=tick_s)

    # ── shortcuts to the parts ───────────────────────────────────────────────────────────
    @property
    def contacts(self) -> ContactBook:
        return self.api.contacts

    @property
    def templates(self) -> TemplateStore:
        return self.api.templates

    @property
    def settings(self) -> SettingsStore:
        return self.api.settings

    @property
    def registry(self) -> AppRegistry:
        return self.api.registry

    @property
    def alerts(self) -> Alerts:
        return self.delivery.alerts

    @property
    def providers(self) -> dict[Channel, tuple[Provider, ...]]:
        return self.delivery.providers

    @property
    def retry_queue(self) -> DelayedQueue:
        return self.delivery.deps.retry_queue

    # ── convenience ──────────────────────────────────────────────────────────────────────
    def register_user(
        self,
        user_id: str,
        *,
        ios: Iterable[str] = (),
        android: Iterable[str] = (),
        phone: str | None = None,
        email: str | None = None,
        preferences: Preferences | None = None,
    ) -> Contacts:
        """Register a user with their devices, phone, email and (optional) preferences.

        ``ios`` and ``android`` are iterables of device tokens (``ios=["apns-abc"]``); a
        single str is refused rather than read as one token per letter.

        Raises
        ------
        InvalidArgument
            A malformed id, token, phone or email, or ``ios``/``android`` not an iterable of
            tokens (checked before anything is written).
        Conflict
            The user is already registered.
        """
        ios_tokens = validate_device_tokens(ios, "ios")
        android_tokens = validate_device_tokens(android, "android")
        if preferences is not None and not isinstance(preferences, Preferences):
            raise InvalidArgument.bad_value("preferences", preferences, "Preferences or None")
        self.contacts.register_user(user_id, phone=phone, email=email)
        for token in ios_tokens:
            self.contacts.add_device(user_id, Channel.IOS_PUSH, token)
        for token in android_tokens:
            self.contacts.add_device(user_id, Channel.ANDROID_PUSH, token)
        if preferences is not None:
            self.settings.save(user_id, preferences)
        return self.contacts.get(user_id)

    def publish_template(
        self, name: str, *, title: str, body: str, channels: Iterable[Channel] = tuple(Channel)
    ) -> int:
        """Publish a new version of a template (all channels by default); return its number.

        Raises
        ------
        InvalidArgument
            A bad name, channel, placeholder or empty text, or text with a lone surrogate
            (checked before anything is written: see :meth:`TemplateStore.publish`).
        """
        return self.templates.publish(name, title=title, body=body, channels=channels)

    def client(self, app_name: str = DEFAULT_APP_NAME) -> NotificationClient:
        """A signed client for the calling service ``app_name`` (registered on first use).

        Credentials and nonces are drawn from rngs seeded by the system's seed and the app
        name, so a run is reproducible (production draws them from :mod:`secrets`). Every
        client of one app draws its nonces from the app's one stream, so asking for a client
        again (a notebook cell run twice) never repeats a nonce another client used.

        Examples
        --------
        >>> from reference.core.clock import FakeClock
        >>> from reference.notification.model import NotificationRequest
        >>> from reference.storage import connect
        >>> clock = FakeClock(start=1_767_225_600.0)                  # 2026-01-01 00:00 UTC
        >>> system = NotificationSystem.create(connect("memory", clock=clock), seed=1)
        >>> first, again = system.client(), system.client()
        >>> request = NotificationRequest("evt-1", "u1", "welcome")
        >>> first.sign(request).headers["X-Nonce"] != again.sign(request).headers["X-Nonce"]
        True
        """
        credentials = self._apps.get(app_name)
        if credentials is None:
            rng = Random(f"{self.seed}:app:{app_name}")
            credentials = self.registry.create_app(app_name, rng)
            self._apps[app_name] = credentials
        nonces = self._nonces.setdefault(app_name, Random(f"{self.seed}:client:{app_name}"))
        return NotificationClient(
            self.api, app_key=credentials.app_key, app_secret=credentials.app_secret,
            clock=self.clock, rng=nonces,
        )

    # ── running: rounds are timers on the simulator ──────────────────────────────────────
    def wake(self) -> None:
        """Have a round run now: after work arrived from outside the system's own timers (a
        request, a scenario's event, a published copy). A pending earlier round is kept."""
        self._schedule_round(self.clock.now())

    def _schedule_round(self, when: float) -> None:
        """At most one round is pending: the earlier of the one there and ``when``."""
        pending = self._next_round
        if pending is not None and pending.state == "pending":
            if pending.when <= when:
                return
            pending.cancel()
        self._next_round = self.sim.call_at(max(when, self.clock.now()), self._round)

    def _round(self) -> None:
        """Timer: release due deferred jobs, publish again the jobs the notification DB finds
        lost, pump due retries; then each worker polls (a timer each) and :meth:`_end_round`
        closes the round (timers at the same instant fire in the order they were set)."""
        self._next_round = None
        at = self.clock.now()
        released = self.api.release_deferred()
        recovered = () if self.records is None else self.records.recover(
            self.delivery.deps.queue, now=at, opted_out=self.api.opted_out_since)
        self.delivery.pump.pump(at)
        tally = _Round(at, released=len(released), recovered=len(recovered))
        for pool in self.delivery.pools.values():
            for worker in pool:
                self.sim.call_later(0.0, self._poll, worker, tally)
        self.sim.call_later(0.0, self._end_round, tally)

    def _poll(self, worker: Worker, tally: _Round) -> None:
        """Timer: one worker's poll."""
        poll = worker.poll(tally.at)
        tally.consumed += poll.consumed
        tally.sent += poll.sent
        tally.crashes += poll.crashed

    def _end_round(self, tally: _Round) -> None:
        """Timer: sweep the dead letters the queue made, sample the queues if a sampling
        period has passed, and schedule the next round (none once the system is idle)."""
        self.delivery.poison.sweep(tally.at)
        if self._last_sample is None or tally.at - self._last_sample >= self.monitor_every_s:
            self.monitor.sample()
            self._last_sample = tally.at
        self._steps += 1
        self._last_round = tally.result()
        outlook = self._outlook()
        if outlook.idle:
            return
        if self._round_limit is not None and self._steps >= self._round_limit:
            raise NotIdle(f"not idle after max_steps rounds ({self._steps} in all, now "
                          f"{self.clock.now()!r}): {self.pending()}")
        self._schedule_round(self._next_round_at(outlook))

    def step(self) -> StepResult:
        """One round now, and every other timer due by now; return what the round did."""
        self.wake()
        self.sim.run_until(self.clock.now())
        assert self._last_round is not None  # the round just ran
        return self._last_round

    def pending(self) -> PendingWork:
        """What is left to do right now (see :class:`PendingWork`)."""
        queued, in_flight = self._channel_load()
        deferred, retrying = len(self.deferred), len(self.retry_queue)
        dues = self._delayed_dues(deferred, retrying)
        receipts = 0
        opened = 0 if self.records is None else self.records.open_count()
        if not (queued or in_flight or deferred or retrying):
            waiting = self._outstanding_receipts()
            receipts = len(waiting)
            dues.extend(r.delivered_at for r in waiting)
            deadline = self._next_deadline()
            if deadline is not None:
                dues.append(deadline)
        return PendingWork(queued=queued, in_flight=in_flight, deferred=deferred,
                           retrying=retrying, receipts=receipts,
                           next_due_at=min(dues) if dues else None, open=opened)

    def _next_deadline(self) -> float | None:
        """The notification DB's earliest deadline (None without the DB or an open job)."""
        return None if self.records is None else self.records.next_deadline()

    def _channel_load(
        self, known: Mapping[Channel, QueueStatistics] | None = None
    ) -> tuple[int, int]:
        """Messages queued and in flight over every channel queue; ``known`` holds statistics
        still current (read since anything changed), used instead of asking again."""
        queued = in_flight = 0
        for channel, qname in CHANNEL_QUEUES:
            stats = None if known is None else known.get(channel)
            if stats is None:
                stats = self.store.queue.statistics(qname, WORKER_GROUP)
            queued += stats.depth
            in_flight += stats.lag - stats.depth  # handed out, not yet acked
        return queued, in_flight

    def _delayed_dues(self, deferred: int, retrying: int) -> list[float]:
        """When the earliest deferred job and the earliest retry fall due, given how many
        each delayed queue holds (an empty one is not asked)."""
        dues = []
        for waiting, queue in ((deferred, self.deferred), (retrying, self.retry_queue)):
            due = queue.next_due_at() if waiting else None
            if due is not None:
                dues.append(due)
        return dues

    def _outlook(self) -> _Outlook:
        """What choosing the next round needs of :meth:`pending`, asked at a round's end.

        The same answers (idle? busy now? next due time?), for less: the channel queues'
        statistics are the ones the round's dead-letter sweep just read (nothing has touched
        a queue since, and the clock has not moved); while jobs are queued or in flight the
        clock ticks, so no due time is looked up; and for receipts it only needs the
        earliest one that is waiting to be reported, not how many there are.
        """
        same_queue = self.delivery.deps.queue is self.store.queue
        queued, in_flight = self._channel_load(
            self.delivery.queue_statistics if same_queue else None)
        if queued or in_flight:
            return _Outlook(idle=False, busy_now=True, next_due_at=None)
        deferred, retrying = len(self.deferred), len(self.retry_queue)
        if deferred or retrying:
            dues = self._delayed_dues(deferred, retrying)
            return _Outlook(idle=False, busy_now=False, next_due_at=min(dues) if dues else None)
        earliest = self._earliest_receipt_due()  # the delayed queues are empty: no dues
        deadline = self._next_deadline()  # an open job here was lost: recovered by then
        if deadline is not None and (earliest is None or deadline < earliest):
            return _Outlook(idle=False, busy_now=False, next_due_at=deadline)
        return _Outlook(idle=earliest is None, busy_now=False, next_due_at=earliest,
                        receipts_only=True)

    def _outstanding_receipts(self) -> list[DeliveryReceipt]:
        """Receipts providers will still report for notifications whose send is recorded."""
        dedupe, now = self.delivery.deps.dedupe, self.clock.now()
        return [receipt for chain in self.providers.values() for provider in chain
                for receipt in provider.pending_receipts()
                if dedupe.is_done(receipt.idempotency_key, now)]

    def _earliest_receipt_due(self) -> float | None:
        """When the earliest of :meth:`_outstanding_receipts` falls due (None if none).

        Providers list pending receipts earliest first, so each provider's walk stops at its
        first receipt whose send is recorded, or at one due no earlier than the best found
        so far: one read per provider, not one per receipt, unless its earliest receipts
        are not ready.
        """
        earliest: float | None = None
        dedupe, now = self.delivery.deps.dedupe, self.clock.now()
        for chain in self.providers.values():
            for provider in chain:
                for receipt in provider.pending_receipts():
                    if earliest is not None and receipt.delivered_at >= earliest:
                        break
                    if dedupe.is_done(receipt.idempotency_key, now):
                        earliest = receipt.delivered_at
                        break
        return earliest

    def _last_receipt_due_by(self, horizon: float) -> float | None:
        """The latest due time, no later than ``horizon``, of a receipt waiting to be
        reported (None if none): the next round can go there and collect them all at once.
        """
        latest: float | None = None
        dedupe, now = self.delivery.deps.dedupe, self.clock.now()
        for chain in self.providers.values():
            for provider in chain:
                for receipt in provider.pending_receipts():
                    if receipt.delivered_at > horizon:
                        break
                    if (latest is None or receipt.delivered_at > latest) and dedupe.is_done(
                            receipt.idempotency_key, now):
                        latest = receipt.delivered_at
        return latest

    def _next_round_at(self, outlook: _Outlook) -> float:
        """When the next round runs: a tick later while jobs are queued or in flight, else
        at the next due time; always at least a microsecond later."""
        now, tick = self.clock.now(), self.tick_s
        if outlook.busy_now:
            target = now + tick
        elif outlook.receipts_only and outlook.next_due_at is not None:
            # only receipts are due: go to the last one due within a tick of the first and
            # report them all in one round (each is logged at its own time, not the round's)
            last = self._last_receipt_due_by(outlook.next_due_at + tick)
            target = max(outlook.next_due_at if last is None else last, now)
        elif outlook.next_due_at is not None:
            target = max(outlook.next_due_at, now)  # nothing to do until then: jump
        else:
            target = now + tick
        return now + max(_ceil_us(target - now), 1 / US_PER_S)

    def _run(self, run: Callable[[], object], *, tick_s: float | None, max_steps: int) -> int:
        """Wake the system and ``run()`` the simulator, at most ``max_steps`` rounds; return
        how many rounds ran."""
        check_int("max_steps", max_steps, 1)
        if tick_s is not None:
            self.tick_s = _positive("tick_s", tick_s)
        before = self._steps
        self._round_limit = before + max_steps
        self.wake()
        try:
            run()
        finally:
            self._round_limit = None
        return self._steps - before

    def run_until(self, t: float, *, tick_s: float | None = None,
                  max_steps: int = DEFAULT_MAX_STEPS) -> int:
        """Run the simulator until its clock reaches ``t``; return the rounds taken.

        Rounds come a tick apart while jobs are queued or in flight, and at the next due
        time when they are not; other timers on the simulator due by ``t`` fire too.

        Raises
        ------
        InvalidArgument
            ``t`` is in the past or not finite (nothing is scheduled then), ``tick_s`` is
            not > 0 or ``max_steps`` not >= 1.
        NotIdle
            ``max_steps`` rounds ran and work was still left.
        """
        now = self.clock.now()
        check_instant("t", t, f"a finite time >= now ({now!r})", low=now,
                      high=sys.float_info.max / US_PER_S)  # the clock counts microseconds
        return self._run(lambda: self.sim.run_until(t), tick_s=tick_s, max_steps=max_steps)

    def run_until_idle(self, *, max_steps: int = DEFAULT_MAX_STEPS,
                       tick_s: float | None = None) -> int:
        """Run the simulator until nothing is left to do (no round of this system and no
        other timer pending: nothing queued, in flight, deferred, awaiting retry or awaiting
        a delivery receipt); return the rounds taken.

        Raises
        ------
        InvalidArgument
            ``tick_s`` is not > 0 or ``max_steps`` not >= 1.
        NotIdle
            Work remained after ``max_steps`` rounds (the message says what kind).

        Notes
        -----
        Jumps over idle stretches, so a quiet-hours deferral of eight hours costs one round,
        not 28,800; when only delivery receipts are outstanding, one round reports every
        receipt due within ``tick_s`` of the first (each logged at its own time).
        """
        return self._run(self.sim.run, tick_s=tick_s, max_steps=max_steps)

    def advise(self) -> list[Advice]:
        """The queue monitor's advice for the current pool sizes (empty: all is well)."""
        return self.monitor.advise({c: len(pool) for c, pool in self.delivery.pools.items()})

    def statistics(self) -> SystemStatistics:
        """Every component's statistics, gathered (see :class:`SystemStatistics`)."""
        queue = self.store.queue
        return SystemStatistics(
            steps=self._steps,
            api=self.api.statistics(),
            auth=self.api.verifier.statistics(),
            rate_limiter=None if self.limiter is None else self.limiter.statistics(),
            acquisitions=0 if self.limiter is None else len(self.limiter.acquisitions),
            deferred=self.deferred.statistics(),
            retry=self.retry_queue.statistics(),
            workers=self.delivery.statistics(),
            pump=self.delivery.pump.statistics(),
            dedupe=self.delivery.deps.dedupe.statistics(),
            queues=tuple((c, queue.statistics(queue_name(c), WORKER_GROUP)) for c in Channel),
            providers=tuple(
                (p.name, p.statistics())
                for chain in self.providers.values() for p in chain
                if isinstance(p, SimulatedProvider)
            ),
            log=self.log.statistics(),
            monitor=self.monitor.statistics(),
            alerts=len(self.alerts),
            records=None if self.records is None else self.records.statistics(),
        )

    def __repr__(self) -> str:
        return (f"NotificationSystem(backend={self.store.backend!r}, seed={self.seed!r}, "
                f"now={self.clock.now()!r})")


