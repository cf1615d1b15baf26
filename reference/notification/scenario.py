"""A seeded fault scenario (장애 시나리오): users, events and failures through the whole pipeline.

:func:`run_scenario` builds a :class:`~reference.notification.system.NotificationSystem` on a
fresh store, registers users (devices, phones, emails, settings), then plays a schedule drawn
from the seed over simulated time::

    event ──▶ client.send ──▶ API ──▶ queues ──▶ workers ──▶ providers ──▶ log
      │ duplicate event (same event id, later)      ▲ crashes      ▲ transient / permanent
      │ settings change (opt-out, quiet hours)      │ (CrashPlan)  │ errors, an outage
      ├ queue duplicate (a copy of a queued job) ───┘
      └ broker loss (a queued job silently lost: the notification DB publishes it again)

and runs until idle. It records a history the checker (:mod:`.checker`) judges:

- every request, with the user's settings *at that moment* (from the scenario's own model of
  what it set, not read back from the store) and the API's answer;
- every effect a provider actually produced (:attr:`SimulatedProvider.sent`);
- every status change of the notification log;
- every acquisition of the per-user rate limiter (전송률 제한);
- alerts, worker crashes and the duplicate copies published;
- how many messages the broker lost (the notification DB's ``statistics().recovered``
  counts the jobs it published again; the log shows a recovery only when the job was not
  already ``queued``, e.g. lost on its way back from the retry or quiet-hours queue).

Everything random comes from the seed (one :class:`Random` per purpose, so turning
one knob does not reshuffle the others) and time from a :class:`~reference.core.clock.FakeClock`:
the same seed gives the same history, on every backend.

Examples
--------
>>> result = run_scenario(ScenarioConfig.calm().scaled(users=5, events=8), seed=1)
>>> len(result.requests), result.statistics.api.accepted
(8, 8)
>>> result == run_scenario(ScenarioConfig.calm().scaled(users=5, events=8), seed=1)
True
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, is_dataclass, replace
from datetime import time
from enum import Enum
from random import Random
from types import MappingProxyType
from typing import Any, Literal

from reference.blocks.lossy_queue import LossyQueue
from reference.blocks.ratelimit import Acquisition
from reference.core.checks import check_int, check_positive_seconds, check_probability, is_finite
from reference.core.clock import FakeClock
from reference.core.errors import InvalidArgument, LabError
from reference.core.faults import CrashPlan
from reference.notification.api import ReceiptEntry
from reference.notification.model import (
    Category,
    Channel,
    CrashPoint,
    Job,
    NotificationRequest,
    Status,
    StatusChange,
)
from reference.notification.providers import PROVIDER_CHAINS, Effect, FailureModel
from reference.notification.retry import Alert
from reference.notification.settings import Preferences, QuietHours
from reference.notification.system import NotificationSystem, SystemStatistics
from reference.storage import Store, connect

__all__ = [
    "DEFAULT_START",
    "DEFAULT_TIME_ZONES",
    "TEMPLATES",
    "Outage",
    "ProviderEffect",
    "QueueDuplicate",
    "RequestRecord",
    "ScenarioConfig",
    "ScenarioResult",
    "SettingsChange",
    "build_system",
    "crash_plan",
    "run_scenario",
]

DEFAULT_START = 1_767_646_800.0  # 2026-01-05 21:00 UTC: evening in Europe, morning in Asia
DEFAULT_TIME_ZONES = (
    "UTC", "Asia/Seoul", "Europe/Berlin", "America/New_York", "America/Los_Angeles",
    "Australia/Sydney",
)
QUEUE_DUPLICATE_DELAY_MAX_S = 60.0  # a duplicate copy of a job is published within this

#: The templates every scenario publishes, by category: (name, title, body).
TEMPLATES: Mapping[Category, tuple[str, str, str]] = MappingProxyType({
    Category.SECURITY: ("sign_in_code", "Sign-in code", "Your code is ${code}"),
    Category.TRANSACTIONAL: ("order_shipped", "Shipped", "Order ${order} is on its way"),
    Category.SOCIAL: ("new_follower", "New follower", "${who} started following you"),
    Category.MARKETING: ("promo", "Sale", "${percent}% off today only"),
})

_CATEGORIES = tuple(Category)
_CHANNELS = tuple(Channel)
_PROVIDERS = tuple(name for chain in PROVIDER_CHAINS.values() for name in chain)


# ── configuration ────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True, slots=True)
class Outage:
    """Provider ``provider`` answers ``unavailable`` from ``start_s`` to ``end_s`` seconds
    after the scenario starts."""

    provider: str
    start_s: float
    end_s: float

    def __post_init__(self) -> None:
        if self.provider not in _PROVIDERS:
            raise InvalidArgument.bad_value("provider", self.provider, f"one of {_PROVIDERS}")
        if not (is_finite(self.start_s) and is_finite(self.end_s)
                and 0 <= self.start_s < self.end_s):
            raise InvalidArgument.bad_value(
                "outage", (self.start_s, self.end_s), "0 <= start_s < end_s (seconds)"
            )


@dataclass(frozen=True, slots=True)
class ScenarioConfig:
    """The knobs of a scenario; every rate is a probability in [0, 1].

    Parameters
    ----------
    users, events : int
        How many users are registered, and how many distinct events are sent.
    horizon_s : float
        Events arrive uniformly over this many seconds.
    duplicate_event_rate : float
        Per event: the calling service sends it again (same event id) within
        ``duplicate_delay_max_s``.
    critical_rate : float
        Per event: a critical security notification (bypasses settings and the rate limit).
    opt_out_rate : float
        Per user: opted out of a random channel, and (independently) of a random category.
    settings_change_rate : float
        Per event: some user toggles a channel, a category or quiet hours during the run.
    quiet_hours_rate : float
        Per user: has quiet hours (1-9 hours, starting at a random local hour).
    time_zones : tuple of str
        The users' IANA time zones are drawn from these.
    transient_rate, permanent_rate : float
        Every provider's chance per request of a transient error (timeouts, 5xx, 429) and of
        an invalid address.
    outage : Outage or None
        One provider down for a while (fallback scenarios).
    crash_rate : float
        Per arrival of a worker at each crash point (after claim, after send, before ack):
        the chance it dies there; the crash points are drawn from the seed.
    queue_duplicate_rate : float
        Per queued job: the queue delivers a second copy (an at-least-once producer).
    queue_loss_rate : float
        Per message published on a channel queue: the broker acknowledges it and loses it
        (:class:`~reference.blocks.lossy_queue.LossyQueue`).
    rate_limit : (int, float)
        Per-user, per-channel limit: at most ``limit`` per ``window_s`` seconds.
    pool_size : int
        Workers per channel.
    start : float
        The clock at the start (Unix seconds).
    tick_s : float
        Time between the system's rounds while jobs are queued or in flight.
    """

    users: int = 20
    events: int = 40
    horizon_s: float = 1800.0
    duplicate_event_rate: float = 0.0
    duplicate_delay_max_s: float = 120.0
    critical_rate: float = 0.1
    opt_out_rate: float = 0.0
    settings_change_rate: float = 0.0
    quiet_hours_rate: float = 0.0
    time_zones: tuple[str, ...] = DEFAULT_TIME_ZONES
    transient_rate: float = 0.0
    permanent_rate: float = 0.0
    outage: Outage | None = None
    crash_rate: float = 0.0
    queue_duplicate_rate: float = 0.0
    queue_loss_rate: float = 0.0
    rate_limit: tuple[int, float] = (5, 600.0)
    pool_size: int = 2
    start: float = DEFAULT_START
    tick_s: float = 1.0

    def __post_init__(self) -> None:
        for name in ("users", "events", "pool_size"):
            check_int(name, getattr(self, name), 1)
        for name in ("duplicate_event_rate", "critical_rate", "opt_out_rate",
                     "settings_change_rate", "quiet_hours_rate", "transient_rate",
                     "permanent_rate", "crash_rate", "queue_duplicate_rate",
                     "queue_loss_rate"):
            check_probability(name, getattr(self, name))
        if self.transient_rate + self.permanent_rate > 1.0:
            raise InvalidArgument.bad_value(
                "transient_rate + permanent_rate", self.transient_rate + self.permanent_rate,
                "at most 1",
            )
        for name in ("horizon_s", "duplicate_delay_max_s", "tick_s"):
            check_positive_seconds(
                name, getattr(self, name), expected="a finite number of seconds > 0"
            )
        if not is_finite(self.start) or self.start < 1_300_000_000:
            raise InvalidArgument.bad_value("start", self.start, "Unix seconds after 2011")
        if not self.time_zones or not all(isinstance(z, str) for z in self.time_zones):
            raise InvalidArgument.bad_value("time_zones", self.time_zones, "IANA zone names")
        for zone in self.time_zones:
            Preferences(time_zone=zone)  # raises InvalidArgument for an unknown zone
        if self.outage is not None and not isinstance(self.outage, Outage):
            raise InvalidArgument.bad_value("outage", self.outage, "an Outage or None")
        rl = self.rate_limit
        if not (isinstance(rl, tuple) and len(rl) == 2 and not isinstance(rl[0], bool)
                and isinstance(rl[0], int) and rl[0] >= 1 and is_finite(rl[1]) and rl[1] > 0):
            raise InvalidArgument.bad_value("rate_limit", rl, "(limit >= 1, window_s > 0)")

    @classmethod
    def calm(cls) -> ScenarioConfig:
        """A good day: perfect providers, no crashes, no duplicates; settings still apply."""
        return cls(opt_out_rate=0.2, quiet_hours_rate=0.3)

    @classmethod
    def stormy(cls) -> ScenarioConfig:
        """A bad day: flaky providers, an email outage, crashes, duplicates, a broker that
        loses messages, busy users."""
        return cls(
            duplicate_event_rate=0.15,
            critical_rate=0.1,
            opt_out_rate=0.3,
            settings_change_rate=0.15,
            quiet_hours_rate=0.4,
            transient_rate=0.15,
            permanent_rate=0.03,
            outage=Outage("email-primary", 300.0, 900.0),
            crash_rate=0.01,
            queue_duplicate_rate=0.2,
            queue_loss_rate=0.02,
            rate_limit=(2, 600.0),
        )

    def scaled(self, *, users: int, events: int) -> ScenarioConfig:
        """The same weather with another population (horizon scaled with the events)."""
        return replace(self, users=users, events=events,
                       horizon_s=self.horizon_s * events / self.events)

    def failure_models(self) -> dict[str, FailureModel]:
        """Every provider's failure model by name: the same transient and permanent rates
        for all, plus the outage window (on the clock, from ``start``) for one of them."""
        t = self.transient_rate
        model = FailureModel(
            latency_median_s=0.1, timeout_rate=t * 0.25, server_error_rate=t * 0.5,
            throttle_rate=t * 0.25, throttle_retry_after_s=5.0,
            invalid_address_rate=self.permanent_rate, delivery_rate=0.9,
            receipt_delay_median_s=2.0,
        )
        models = dict.fromkeys(_PROVIDERS, model)
        if self.outage is not None:
            o = self.outage
            models[o.provider] = model.with_outage(self.start + o.start_s, self.start + o.end_s)
        return models


# ── the history ──────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One request the calling service made, what the user had set then, and the answer.

    ``entries`` is the API's receipt (one entry per channel and address); empty, with
    ``error`` naming the exception, if the API rejected the request.
    """

    seq: int
    at: float
    request: NotificationRequest
    preferences: Preferences
    entries: tuple[ReceiptEntry, ...]
    error: str = ""


@dataclass(frozen=True, slots=True)
class ProviderEffect:
    """One message a provider actually produced (the user saw it) on ``channel``."""

    channel: Channel
    effect: Effect


@dataclass(frozen=True, slots=True)
class SettingsChange:
    """A user changed their settings to ``preferences`` at ``at``."""

    at: float
    user_id: str
    preferences: Preferences


@dataclass(frozen=True, slots=True)
class QueueDuplicate:
    """A second copy of notification ``notification_id``'s job was published at ``at``."""

    at: float
    notification_id: str


@dataclass(frozen=True, slots=True)
class ScenarioResult:
    """Everything a scenario did, for the checker and for plots."""

    config: ScenarioConfig
    seed: int
    backend: str
    started_at: float
    finished_at: float
    steps: int
    requests: tuple[RequestRecord, ...]
    effects: tuple[ProviderEffect, ...]
    changes: tuple[StatusChange, ...]
    acquisitions: tuple[Acquisition, ...]
    settings_changes: tuple[SettingsChange, ...]
    queue_duplicates: tuple[QueueDuplicate, ...]
    crashes: tuple[tuple[str, str], ...]
    alerts: tuple[Alert, ...]
    statistics: SystemStatistics
    broker_losses: int = 0  # messages the broker acknowledged and lost (queue_loss_rate)

    def final_statuses(self) -> dict[Status, int]:
        """How many notifications ended in each status (every status present)."""
        last: dict[str, Status] = {}
        for change in self.changes:
            last[change.notification_id] = change.status
        counts = dict.fromkeys(Status, 0)
        for status in last.values():
            counts[status] += 1
        return counts

    def fingerprint(self) -> str:
        """A short digest of the whole history: equal histories, equal fingerprints.

        Stable across processes (sets are sorted, enums written by value), so a notebook can
        print it and a rerun of the same seed can be compared against it.
        """
        digest = hashlib.sha256()
        for part in (self.requests, self.effects, self.changes, self.acquisitions,
                     self.settings_changes, self.queue_duplicates, self.crashes, self.alerts):
            digest.update(repr(_canonical(part)).encode("utf-8"))
        return digest.hexdigest()[:16]


def _canonical(value: Any) -> Any:
    """A representation independent of set order and of hash randomisation."""
    if isinstance(value, Enum):
        return value.value
    if is_dataclass(value) and not isinstance(value, type):
        return (type(value).__name__,
                tuple((f.name, _canonical(getattr(value, f.name))) for f in fields(value)))
    if isinstance(value, (set, frozenset)):
        return tuple(sorted((_canonical(v) for v in value), key=repr))
    if isinstance(value, dict):
        return tuple(sorted(((_canonical(k), _canonical(v)) for k, v in value.items()),
                            key=repr))
    if isinstance(value, (list, tuple)):
        return tuple(_canonical(v) for v in value)
    if isinstance(value, float):
        return repr(value)
    return value


# ── building the world ───────────────────────────────────────────────────────────────────


def crash_plan(config: ScenarioConfig, seed: int) -> CrashPlan:
    """The crash points of this scenario, drawn from the seed (none if ``crash_rate`` is 0):
    each arrival at each :class:`CrashPoint` is fatal with probability ``crash_rate``."""
    return CrashPlan.drawn(
        CrashPoint, rate=config.crash_rate, rng=Random(f"{seed}:crashes"),
        arrivals=config.events * 16,  # well past the arrivals a run makes at one point
    )


def build_system(store: Store, config: ScenarioConfig, seed: int,
                 **overrides: Any) -> NotificationSystem:
    """The system a scenario runs on; ``overrides`` replace any argument of
    :meth:`NotificationSystem.create` (a broken component, for a checker test)."""
    options: dict[str, Any] = {
        "seed": seed,
        "failures": config.failure_models(),
        "pool_sizes": dict.fromkeys(Channel, config.pool_size),
        "rate_limit": config.rate_limit,
        "crash_plan": crash_plan(config, seed),
        "tick_s": config.tick_s,
    }
    if "providers" in overrides:
        options.pop("failures")
    options.update(overrides)
    if config.queue_loss_rate > 0:
        store = replace(store, queue=LossyQueue(store.queue, rng=Random(f"{seed}:broker"),
                                                loss_rate=config.queue_loss_rate))
    return NotificationSystem.create(store, **options)


Builder = Callable[[Store, ScenarioConfig, int], NotificationSystem]


def _preferences(rng: Random, config: ScenarioConfig) -> Preferences:
    prefs = Preferences(time_zone=rng.choice(config.time_zones))
    if rng.random() < config.opt_out_rate:
        prefs = prefs.with_channel(rng.choice(_CHANNELS), False)
    if rng.random() < config.opt_out_rate:
        prefs = prefs.with_category(rng.choice(_CATEGORIES), False)
    if rng.random() < config.quiet_hours_rate:
        prefs = replace(prefs, quiet_hours=_quiet_hours(rng))
    return prefs


def _quiet_hours(rng: Random) -> QuietHours:
    start = rng.randrange(24 * 4) * 15  # minutes, on a quarter hour
    length = rng.randint(1 * 4, 9 * 4) * 15
    end = (start + length) % (24 * 60)
    return QuietHours(time(start // 60, start % 60), time(end // 60, end % 60))


def _toggle(rng: Random, prefs: Preferences) -> Preferences:
    what = rng.randrange(3)
    if what == 0:
        channel = rng.choice(_CHANNELS)
        return prefs.with_channel(channel, channel not in prefs.channels)
    if what == 1:
        category = rng.choice(_CATEGORIES)
        return prefs.with_category(category, category not in prefs.categories)
    return replace(prefs, quiet_hours=None if prefs.quiet_hours else _quiet_hours(rng))


def _register_users(system: NotificationSystem, rng: Random,
                    config: ScenarioConfig) -> dict[str, Preferences]:
    users: dict[str, Preferences] = {}
    for i in range(config.users):
        uid = f"u{i:04d}"
        prefs = _preferences(rng, config)
        system.register_user(
            uid,
            ios=[f"ios-{uid}-{k}" for k in range(rng.choice((0, 1, 1, 2)))],
            android=[f"android-{uid}-{k}" for k in range(rng.choice((0, 1, 1, 2)))],
            phone=f"+1415555{i:04d}" if rng.random() < 0.7 else None,
            email=f"{uid}@example.com" if rng.random() < 0.9 else None,
            preferences=prefs,
        )
        users[uid] = prefs
    for name, title, body in TEMPLATES.values():
        system.publish_template(name, title=title, body=body)
    return users


def _request(rng: Random, config: ScenarioConfig, event: int,
             users: list[str]) -> NotificationRequest:
    critical = rng.random() < config.critical_rate
    category = Category.SECURITY if critical else rng.choice(_CATEGORIES)
    template = TEMPLATES[category][0]
    variables: dict[str, str | int] = {
        "code": f"{rng.randrange(10**6):06d}", "order": rng.randrange(10**5),
        "who": rng.choice(users), "percent": rng.choice((10, 20, 50)),
    }
    channels = tuple(sorted(rng.sample(_CHANNELS, rng.randint(1, len(_CHANNELS))),
                            key=_CHANNELS.index))
    return NotificationRequest(
        event_id=f"evt-{event:05d}", user_id=rng.choice(users), template=template,
        variables=variables, channels=channels, category=category, critical=critical,
    )


# ── the run ──────────────────────────────────────────────────────────────────────────────

_Kind = Literal["event", "repeat", "settings", "copy"]


@dataclass(frozen=True, slots=True)
class _Action:
    kind: _Kind
    request: NotificationRequest | None = None
    job: Job | None = None


class _Runner:
    """Plays one scenario: each action is a timer on the system's simulator, done at its
    time; the system is woken after each (its rounds are timers on the same heap)."""

    def __init__(self, system: NotificationSystem, config: ScenarioConfig, seed: int,
                 progress: Any = None) -> None:
        self.system = system
        self.config = config
        self.client = system.client("scenario-service")
        self.world = Random(f"{seed}:world")
        self.faults = Random(f"{seed}:queue-duplicates")
        self.users = _register_users(system, self.world, config)
        self.requests: list[RequestRecord] = []
        self.settings_changes: list[SettingsChange] = []
        self.queue_duplicates: list[QueueDuplicate] = []
        self.progress = progress  # a tqdm bar counting the events, or None

    def push(self, at: float, action: _Action) -> None:
        self.system.sim.call_at(at, self.act, action)

    def schedule(self) -> None:
        cfg, rng, start = self.config, self.world, self.config.start
        names = sorted(self.users)
        for event in range(cfg.events):
            at = start + rng.uniform(0.0, cfg.horizon_s)
            request = _request(rng, cfg, event, names)
            self.push(at, _Action("event", request))
            if rng.random() < cfg.duplicate_event_rate:
                self.push(at + rng.uniform(0.0, cfg.duplicate_delay_max_s),
                          _Action("repeat", request))
            if rng.random() < cfg.settings_change_rate:
                self.push(start + rng.uniform(0.0, cfg.horizon_s), _Action("settings"))

    def act(self, action: _Action) -> None:
        """Timer: do ``action`` now, then wake the system."""
        self.do(action)
        self.system.wake()
        if self.progress is not None and action.kind == "event":
            self.progress.update(1)

    def do(self, action: _Action) -> None:
        if action.kind in ("event", "repeat"):
            assert action.request is not None
            self.submit(action.request)
        elif action.kind == "settings":
            uid = self.world.choice(sorted(self.users))
            prefs = _toggle(self.world, self.users[uid])
            self.system.settings.save(uid, prefs)
            self.users[uid] = prefs
            self.settings_changes.append(SettingsChange(self.system.clock.now(), uid, prefs))
        else:
            assert action.job is not None
            self.system.delivery.publish(action.job)
            self.queue_duplicates.append(
                QueueDuplicate(self.system.clock.now(), action.job.notification_id)
            )

    def submit(self, request: NotificationRequest) -> None:
        now = self.system.clock.now()
        prefs = self.users[request.user_id]
        try:
            receipt = self.client.send(request)
        except LabError as exc:
            self.requests.append(RequestRecord(len(self.requests), now, request, prefs, (),
                                               f"{type(exc).__name__}: {exc}"))
            return
        self.requests.append(RequestRecord(len(self.requests), now, request, prefs,
                                           receipt.entries))
        rendered = None
        for entry in receipt.with_status(Status.QUEUED):
            if self.faults.random() >= self.config.queue_duplicate_rate:
                continue
            if rendered is None:
                rendered = self.system.templates.render(request.template, request.variables)
            job = Job(
                notification_id=entry.notification_id, event_id=request.event_id,
                user_id=request.user_id, channel=entry.channel, address=entry.address,
                title=rendered.title, body=rendered.body, category=request.category,
                critical=request.critical, accepted_at=receipt.accepted_at,
                template=request.template,
            )  # exactly the job the API published
            delay = self.faults.uniform(0.0, QUEUE_DUPLICATE_DELAY_MAX_S)
            self.push(now + delay, _Action("copy", job=job))


def run_scenario(
    config: ScenarioConfig,
    seed: int,
    *,
    backend: Literal["memory", "fakeredis", "redis"] = "memory",
    progress: bool = False,
    build: Builder | None = None,
    namespace: str | None = None,
) -> ScenarioResult:
    """Run one seeded scenario through the whole pipeline and record its history.

    Parameters
    ----------
    config : ScenarioConfig
        Population, traffic and faults.
    seed : int
        Every random choice derives from it; the same seed gives the same result.
    backend : {"memory", "fakeredis", "redis"}
        The storage backend; "redis" uses ``$REDIS_URL`` (a fresh namespace, flushed after).
    progress : bool
        Show a ``tqdm.auto`` progress bar over the events.
    build : callable, optional
        ``build(store, config, seed) -> NotificationSystem``; default :func:`build_system`.
        Tests pass one that injects a broken component.
    namespace : str, optional
        Key prefix on the store (default ``scenario-<seed>``).

    Returns
    -------
    ScenarioResult

    Raises
    ------
    InvalidArgument
        A bad config, seed or backend.
    NotIdle
        The system did not settle (a stuck job), naming what was left.

    Notes
    -----
    One simulator runs everything: every scenario action is a timer on the system's
    :class:`~reference.core.sim.Simulation` beside the system's own rounds, and the run
    ends when none is left. Cost is proportional to the work, not to the simulated time:
    rounds come a tick apart while jobs are queued and jump over idle stretches.
    """
    if not isinstance(config, ScenarioConfig):
        raise InvalidArgument.bad_value("config", config, "a ScenarioConfig")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise InvalidArgument.bad_value("seed", seed, "an int")
    clock = FakeClock(start=config.start)
    store = connect(backend, clock=clock, namespace=namespace or f"scenario-{seed}")
    try:
        if backend == "redis":
            store.flush()
        system = (build or build_system)(store, config, seed)
        bar = _progress_bar(config.events) if progress else None
        runner = _Runner(system, config, seed, progress=bar)
        runner.schedule()
        system.run_until_idle(tick_s=config.tick_s)
        if bar is not None:
            bar.close()
        return _result(system, runner, config, seed, backend)
    finally:
        if backend == "redis":
            store.flush()
        store.close()


def _progress_bar(total: int) -> Any:
    from tqdm.auto import tqdm  # type: ignore[import-untyped]  # imported on use

    return tqdm(total=total, desc="events", unit="event")


def _result(system: NotificationSystem, runner: _Runner, config: ScenarioConfig, seed: int,
            backend: str) -> ScenarioResult:
    effects = tuple(
        ProviderEffect(channel, effect)
        for channel, chain in system.providers.items()
        for provider in chain
        for effect in getattr(provider, "sent", ())
    )
    changes = tuple(change for nid in system.log for change in system.log.history(nid))
    plan = system.delivery.crash_plan
    stats = system.statistics()
    return ScenarioResult(
        config=config,
        seed=seed,
        backend=backend,
        started_at=config.start,
        finished_at=system.clock.now(),
        steps=stats.steps,
        requests=tuple(runner.requests),
        effects=effects,
        changes=changes,
        acquisitions=tuple(system.limiter.acquisitions) if system.limiter else (),
        settings_changes=tuple(runner.settings_changes),
        queue_duplicates=tuple(runner.queue_duplicates),
        crashes=tuple(plan.fired),
        alerts=tuple(system.alerts.alerts),
        statistics=stats,
        broker_losses=len(queue.lost) if isinstance(queue := system.store.queue, LossyQueue)
        else 0,
    )
