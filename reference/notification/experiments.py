"""Experiments behind the chapter-10 notebook's plots: each runs the whole system, seeded.

Three questions an interviewer asks, each answered with numbers rather than prose:

* :func:`retry_experiment` — how does a retry policy cope as a provider's failure rate rises?
  (delivery latency distribution and the share dead-lettered)
* :func:`burst_experiment` — how deep does a channel queue get under a burst for N workers,
  and when does the queue monitor say "add workers"?
* :func:`engagement_experiment` — the tracking funnel: accepted → sent → delivered → opened
  → clicked, per channel.

Every function builds its own :class:`~reference.notification.system.NotificationSystem` on
a fresh store and :class:`~reference.core.clock.FakeClock`, so the same arguments give the
same result.

Examples
--------
>>> result = retry_experiment(0.3, notifications=40, seed=1)
>>> result.sent + result.dead_lettered == result.notifications
True
>>> 0.0 <= result.dead_letter_rate <= 1.0
True
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from random import Random

from reference.core.checks import check_int, check_probability
from reference.core.clock import FakeClock
from reference.core.errors import InvalidArgument
from reference.notification.model import Category, Channel, NotificationRequest, Status
from reference.notification.monitoring import Advice, QueueMonitor, QueueSample
from reference.notification.providers import PROVIDER_CHAINS, FailureModel
from reference.notification.retry import RetryPolicy
from reference.notification.system import NotificationSystem
from reference.notification.tracking import Engagement, Funnel
from reference.storage import connect

__all__ = [
    "BurstResult",
    "RetryResult",
    "burst_experiment",
    "engagement_experiment",
    "percentile",
    "retry_experiment",
]

_ATTEMPT_OUTCOMES = frozenset({Status.SENT, Status.FAILED, Status.DEAD_LETTERED})
START_S = 1_767_225_600.0  # 2026-01-01T00:00:00Z, outside everybody's quiet hours by default
SAMPLE_AFTER_S = 0.5  # a burst experiment samples this long after a second's traffic,
# once that second's round has handled it


def percentile(values: tuple[float, ...] | list[float], p: float) -> float:
    """The ``p``-th percentile (0..100) by the nearest-rank method; NaN for no values.

    >>> percentile([1.0, 2.0, 3.0, 4.0], 50)
    2.0
    """
    if not 0 <= p <= 100:
        raise InvalidArgument.bad_value("p", p, "a percentile in 0..100")
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def _system(seed: int, failures: Mapping[str, FailureModel] | None, **kwargs: object
            ) -> NotificationSystem:
    store = connect("memory", clock=FakeClock(start=START_S))
    system = NotificationSystem.create(
        store, seed=seed, failures=failures if failures is not None else "none",
        rate_limit=None, **kwargs,  # type: ignore[arg-type]
    )
    system.publish_template("order-shipped", title="Your order shipped",
                            body="Order ${order} is on its way.")
    return system


@dataclass(frozen=True, slots=True)
class RetryResult:
    """Outcome of :func:`retry_experiment`; latencies are accepted → sent, in seconds."""

    failure_rate: float
    policy: RetryPolicy
    notifications: int
    sent: int
    dead_lettered: int
    latencies_s: tuple[float, ...]
    attempts: tuple[int, ...]  # provider calls per notification

    @property
    def dead_letter_rate(self) -> float:
        return self.dead_lettered / self.notifications

    def summary(self) -> str:
        """One line: sent, dead-lettered, latency percentiles, attempts."""
        p50, p99 = percentile(self.latencies_s, 50), percentile(self.latencies_s, 99)
        mean_attempts = sum(self.attempts) / len(self.attempts) if self.attempts else 0.0
        return (
            f"failure rate {self.failure_rate:.0%}: {self.sent}/{self.notifications} sent, "
            f"{self.dead_letter_rate:.1%} dead-lettered; latency p50 {p50:.1f} s, "
            f"p99 {p99:.1f} s; {mean_attempts:.2f} provider calls per notification"
        )


def retry_experiment(
    failure_rate: float,
    *,
    policy: RetryPolicy | None = None,
    notifications: int = 200,
    seed: int = 0,
) -> RetryResult:
    """Send ``notifications`` SMS while both SMS providers fail ``failure_rate`` of requests
    with a transient 5xx, and measure what the retry ``policy`` makes of it.

    Parameters
    ----------
    failure_rate : float
        Share of provider requests that fail transiently (0..1), on the primary and the backup.
    policy : RetryPolicy, optional
        The retry policy (default: the chapter's preset, 8 attempts within 30 minutes).
    notifications : int
        How many SMS to send (one per user).
    seed : int
        Seeds providers and jitter.

    Notes
    -----
    With failure rate f and a attempts, a notification is dead-lettered with probability
    about f**a: 8 attempts turn a 50% failure rate into 0.4% dead letters, at the cost of a
    long tail of latency (the backoff waits).
    """
    rate = check_probability("failure_rate", failure_rate)
    count = check_int("notifications", notifications, 1)
    chosen = policy if policy is not None else RetryPolicy()
    model = FailureModel(latency_median_s=0.3, server_error_rate=rate)
    failures = {name: model for name in PROVIDER_CHAINS[Channel.SMS]}
    system = _system(seed, failures, policy=chosen, pool_sizes={Channel.SMS: 4})
    client = system.client()
    ids: list[str] = []
    for i in range(count):
        user = f"u{i}"
        system.register_user(user, phone=f"+1415555{i:04d}")
        receipt = client.send(NotificationRequest(
            f"evt-{i}", user, "order-shipped", {"order": str(1000 + i)},
            channels=(Channel.SMS,), category=Category.TRANSACTIONAL,
        ))
        ids.extend(e.notification_id for e in receipt.entries)
    system.run_until_idle()
    latencies: list[float] = []
    attempts: list[int] = []
    dead = 0
    for nid in ids:
        history = system.log.history(nid)
        accepted = history[0].at
        sent_at = next((c.at for c in history if c.status is Status.SENT), None)
        if sent_at is not None:
            latencies.append(sent_at - accepted)
        dead += any(c.status is Status.DEAD_LETTERED for c in history)
        # every provider call ends in one of these (the last failed one is logged dead_lettered)
        attempts.append(sum(c.status in _ATTEMPT_OUTCOMES for c in history))
    return RetryResult(
        failure_rate=rate, policy=chosen, notifications=count, sent=len(latencies),
        dead_lettered=dead, latencies_s=tuple(latencies), attempts=tuple(attempts),
    )


@dataclass(frozen=True, slots=True)
class BurstResult:
    """Outcome of :func:`burst_experiment`: the channel's queue sampled over time."""

    workers: int
    started_at: float
    samples: tuple[QueueSample, ...]
    first_advice_at: float | None  # seconds after the start; None if the monitor never fired
    first_advice: Advice | None
    drained_at: float | None  # seconds after the start when the queue was empty again

    def times_s(self) -> list[float]:
        """When each sample was taken, in seconds after the start."""
        return [s.at - self.started_at for s in self.samples]


def burst_experiment(
    workers: int,
    *,
    burst: int = 1500,
    steady_per_s: int = 4,
    duration_s: int = 240,
    batch_size: int = 10,
    seed: int = 0,
) -> BurstResult:
    """A steady flow of Android pushes plus one burst, drained by ``workers`` workers.

    Each worker takes up to ``batch_size`` jobs per second, so ``workers * batch_size`` per
    second is the channel's capacity. The queue monitor samples every 10 s; the first time it
    asks for more workers (a message older than 60 s or a depth growing for 3 samples, *and*
    the observed throughput too low to drain the backlog within 60 s) is recorded.
    """
    pool = check_int("workers", workers, 1)
    size = check_int("burst", burst, 0)
    steady = check_int("steady_per_s", steady_per_s, 0)
    duration = check_int("duration_s", duration_s, 1)
    system = _system(seed, None, pool_sizes={Channel.ANDROID_PUSH: pool},
                     batch_size=check_int("batch_size", batch_size, 1))
    monitor = QueueMonitor(system.store.queue, system.clock, channels=(Channel.ANDROID_PUSH,),
                           max_age_s=60.0, growth_samples=3, target_drain_s=60.0)
    client = system.client()
    start = system.clock.now()
    counter = 0

    def send(n: int) -> None:
        nonlocal counter
        for _ in range(n):
            user = f"u{counter}"
            system.register_user(user, android=[f"fcm-token-{counter}"])
            client.send(NotificationRequest(
                f"evt-{counter}", user, "order-shipped", {"order": str(counter)},
                channels=(Channel.ANDROID_PUSH,),
            ))
            counter += 1

    advice_at: float | None = None
    advice: Advice | None = None
    drained_at: float | None = None

    def second(n: int) -> None:
        """Timer, once a second: this second's traffic (the system's round follows)."""
        send(steady + (size if n == 10 else 0))
        system.wake()

    def take_sample() -> None:
        """Timer, every 10 s, after that second's round: a sample, and advice if due."""
        nonlocal advice, advice_at
        monitor.sample()
        if advice is None:
            found = [a for a in monitor.advise({Channel.ANDROID_PUSH: pool}) if a.add_workers]
            if found:
                advice, advice_at = found[0], system.clock.now() - start

    for n in range(duration):
        system.sim.call_at(start + n, second, n)
        if n % 10 == 0:
            system.sim.call_at(start + n + SAMPLE_AFTER_S, take_sample)
    system.run_until(start + duration)
    samples = monitor.samples(Channel.ANDROID_PUSH)
    for sample in samples:
        if sample.at - start > 10 and sample.depth == 0:
            drained_at = sample.at - start
            break
    return BurstResult(workers=pool, started_at=start, samples=tuple(samples),
                       first_advice_at=advice_at,
                       first_advice=advice, drained_at=drained_at)


def engagement_experiment(
    *,
    users: int = 300,
    open_rate: Mapping[Channel, float] | None = None,
    click_rate: float = 0.25,
    seed: int = 0,
) -> dict[Channel, Funnel]:
    """Notify ``users`` on every channel, let recipients open and click, return the funnels.

    Recipients open a *delivered* notification with their channel's ``open_rate`` and click
    an opened one with ``click_rate`` (defaults: push opened more than email, SMS most).
    Providers use their realistic presets, so some sends fail, some tokens are invalid and
    not everything sent is delivered.
    """
    count = check_int("users", users, 1)
    click = check_probability("click_rate", click_rate)
    opens = dict(open_rate) if open_rate is not None else {
        Channel.IOS_PUSH: 0.35, Channel.ANDROID_PUSH: 0.30, Channel.SMS: 0.45,
        Channel.EMAIL: 0.20,
    }
    for channel, rate in opens.items():
        check_probability(f"open_rate[{channel}]", rate)
    system = _system(seed, {}, pool_sizes=dict.fromkeys(Channel, 2))
    client = system.client()
    for i in range(count):
        user = f"u{i}"
        system.register_user(user, ios=[f"apns-token-{i}"], android=[f"fcm-token-{i}"],
                             phone=f"+1415555{i:04d}", email=f"user{i}@example.com")
        client.send(NotificationRequest(
            f"evt-{i}", user, "order-shipped", {"order": str(i)}, channels=tuple(Channel),
        ))
    system.run_until_idle()
    rng = Random(f"{seed}:engagement")
    now = system.clock.now()
    for nid in sorted(system.log):
        history = system.log.history(nid)
        if history[-1].status is not Status.DELIVERED:
            continue
        if rng.random() < opens.get(history[0].channel, 0.0):
            system.log.record_engagement(nid, Engagement.OPENED, at=now)
            if rng.random() < click:
                system.log.record_engagement(nid, Engagement.CLICKED, at=now)
    return {channel: system.log.funnel(channel=channel) for channel in Channel}
