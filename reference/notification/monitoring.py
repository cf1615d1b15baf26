"""Queue monitoring (큐 모니터링): sample each channel queue and say when to add workers.

The chapter's rule of thumb: if notifications pile up in a queue, the workers are not keeping
up, and more workers are needed. :class:`QueueMonitor` turns that into numbers. It samples
every channel queue (depth, in flight, lag, age of the oldest message, acks) on the injected
clock, keeps the samples for plotting, and :meth:`QueueMonitor.advise` fires when

* the oldest unfinished message is older than ``max_age_s``, or
* the depth grew in each of the last ``growth_samples`` samples,

estimating how many workers would drain the backlog within ``target_drain_s``, from the
*observed* per-worker throughput and arrival rate between samples::

    needed = ceil((lag / target_drain_s + arrivals_per_s) / per_worker_per_s)

computed exactly (in fractions, not floats), so a pool that is exactly big enough is told so
rather than rounded up by one.

Examples
--------
>>> from reference.core.clock import FakeClock
>>> from reference.notification.model import Channel, WORKER_GROUP, queue_name
>>> from reference.storage import connect
>>> clock = FakeClock(start=0.0)
>>> queue = connect("memory", clock=clock).queue
>>> queue.create_group(queue_name(Channel.SMS), WORKER_GROUP)
>>> monitor = QueueMonitor(queue, clock, channels=(Channel.SMS,), max_age_s=25.0)
>>> for _ in range(4):                  # 50 arrive per 10 s; one worker acks 10 per 10 s
...     for _ in range(50):
...         _ = queue.publish(queue_name(Channel.SMS), "job")
...     for d in queue.consume(queue_name(Channel.SMS), WORKER_GROUP, "w1", count=10):
...         _ = queue.ack(queue_name(Channel.SMS), WORKER_GROUP, d.message_id)
...     _ = monitor.sample()
...     clock.advance(10.0)
>>> [s.depth for s in monitor.samples(Channel.SMS)]
[40, 80, 120, 160]
>>> [advice] = monitor.advise({Channel.SMS: 1})
>>> advice.channel, advice.add_workers
(<Channel.SMS: 'sms'>, 7)
>>> advice.reason
'sms: oldest message 30 s old (> 25 s); depth grew 3 samples in a row; lag 160, 1.00/s per \
worker, 5.00/s arriving: 8 workers drain it in 60 s'
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

from reference.core.checks import check_int, check_positive_seconds
from reference.core.clock import Clock
from reference.core.errors import InvalidArgument
from reference.notification.model import WORKER_GROUP, Channel, queue_name
from reference.storage.ports import WorkQueue

__all__ = ["Advice", "MonitorStatistics", "QueueMonitor", "QueueSample"]


@dataclass(frozen=True, slots=True)
class QueueSample:
    """One channel queue at one instant (counters are totals since the group was created)."""

    at: float
    channel: Channel
    depth: int
    in_flight: int
    lag: int
    oldest_age_s: float
    published: int
    acked: int
    dead_lettered: int


@dataclass(frozen=True, slots=True)
class Advice:
    """Add ``add_workers`` workers to ``channel``'s pool, because ``reason``.

    ``add_workers`` is 0 when a rule fired (an old message) but the observed throughput of the
    current pool already drains the backlog within the target: a warning, not a request.
    """

    channel: Channel
    add_workers: int
    reason: str


@dataclass(frozen=True, slots=True)
class MonitorStatistics:
    samples: int
    advice_given: int


def _seconds(value: float) -> str:
    """Seconds to a tenth, without a trailing ``.0``: ``60.5``, ``120``."""
    return f"{value:.1f}".removesuffix(".0")


class QueueMonitor:
    """Sample channel queues over time and advise on pool sizes.

    Parameters
    ----------
    queue : WorkQueue
        The work-queue port (its ``statistics`` per channel queue and group).
    clock : Clock
        Stamps the samples.
    channels : Sequence[Channel]
        Which channel queues to watch (default: all four).
    group : str
        The consumer group (default ``WORKER_GROUP``).
    max_age_s : float
        Alert when the oldest unfinished message is older than this.
    growth_samples : int
        Alert when the depth grew this many samples in a row.
    target_drain_s : float
        The advice sizes the pool to clear the lag within this many seconds.

    Notes
    -----
    ``sample`` costs one ``statistics`` call per channel; ``advise`` looks at the last
    ``growth_samples + 1`` samples per channel. Throughput is measured, not assumed: if no
    work finished between the samples, the advice is a single worker, a probe.
    """

    __slots__ = ("_advised", "_channels", "_clock", "_group", "_queue", "_samples",
                 "growth_samples", "max_age_s", "target_drain_s")

    def __init__(
        self,
        queue: WorkQueue,
        clock: Clock,
        *,
        channels: Sequence[Channel] = tuple(Channel),
        group: str = WORKER_GROUP,
        max_age_s: float = 60.0,
        growth_samples: int = 3,
        target_drain_s: float = 60.0,
    ) -> None:
        if not channels or not all(isinstance(c, Channel) for c in channels):
            raise InvalidArgument.bad_value("channels", channels, "a non-empty Channel list")
        check_int("growth_samples", growth_samples, 1)
        self.max_age_s = check_positive_seconds("max_age_s", max_age_s)
        self.target_drain_s = check_positive_seconds("target_drain_s", target_drain_s)
        self.growth_samples = growth_samples
        self._queue = queue
        self._clock = clock
        self._channels = tuple(dict.fromkeys(channels))
        self._group = group
        self._samples: dict[Channel, list[QueueSample]] = {c: [] for c in self._channels}
        self._advised = 0

    def sample(self) -> tuple[QueueSample, ...]:
        """Take one sample of every watched queue at ``clock.now()``."""
        now = self._clock.now()
        taken = []
        for channel in self._channels:
            s = self._queue.statistics(queue_name(channel), self._group)
            sample = QueueSample(now, channel, s.depth, s.in_flight, s.lag, s.oldest_age_s,
                                 s.published, s.acked, s.dead_lettered)
            self._samples[channel].append(sample)
            taken.append(sample)
        return tuple(taken)

    def samples(self, channel: Channel | None = None) -> list[QueueSample]:
        """Every sample (of one channel, or all in time order) for plotting."""
        if channel is not None:
            if channel not in self._samples:
                raise InvalidArgument.bad_value("channel", channel, f"one of {self._channels}")
            return list(self._samples[channel])
        every = [s for chan in self._samples.values() for s in chan]
        return sorted(every, key=lambda s: (s.at, self._channels.index(s.channel)))

    def advise(self, workers: Mapping[Channel, int]) -> list[Advice]:
        """Advice for every watched channel whose queue breaks a rule (empty: all is well).

        Parameters
        ----------
        workers : Mapping[Channel, int]
            Current pool sizes (a missing channel counts as 0 workers).
        """
        advice = []
        for channel in self._channels:
            history = self._samples[channel]
            if not history:
                continue
            current = workers.get(channel, 0)
            check_int(f"workers[{channel}]", current, 0)
            latest = history[-1]
            why = []
            if latest.oldest_age_s > self.max_age_s:
                why.append(f"oldest message {_seconds(latest.oldest_age_s)} s old "
                           f"(> {_seconds(self.max_age_s)} s)")
            recent = history[-(self.growth_samples + 1):]
            if len(recent) == self.growth_samples + 1 and all(
                b.depth > a.depth for a, b in itertools.pairwise(recent)
            ):
                why.append(f"depth grew {self.growth_samples} samples in a row")
            if not why:
                continue
            add, sizing = self._size(recent, current)
            advice.append(Advice(channel, add, f"{channel.value}: {'; '.join(why)}; {sizing}"))
        self._advised += len(advice)
        return advice

    def _size(self, recent: list[QueueSample], current: int) -> tuple[int, str]:
        first, last = recent[0], recent[-1]
        elapsed = last.at - first.at
        finished = (last.acked + last.dead_lettered) - (first.acked + first.dead_lettered)
        if elapsed <= 0 or finished <= 0 or current == 0:
            return 1, f"lag {last.lag}, no throughput observed yet: add one worker and re-check"
        arrived = last.published - first.published
        # in exact fractions: as floats, 6/60 + 2/10 is 0.30000000000000004 and the ceiling
        # asks one worker more than a pool that is exactly big enough
        span = Fraction(elapsed)
        demand = Fraction(last.lag) / Fraction(self.target_drain_s) + arrived / span
        needed = math.ceil(demand / (finished / span / current))
        per_worker, arriving = finished / elapsed / current, arrived / elapsed  # for the text
        rates = f"lag {last.lag}, {per_worker:.2f}/s per worker, {arriving:.2f}/s arriving"
        if needed <= current:  # a rule fired, but the backlog is already draining fast enough
            return 0, (f"{rates}: the current {current} workers drain it within "
                       f"{self.target_drain_s:.0f} s, no more needed")
        add = needed - current
        return add, f"{rates}: {needed} workers drain it in {self.target_drain_s:.0f} s"

    def statistics(self) -> MonitorStatistics:
        return MonitorStatistics(
            samples=sum(len(v) for v in self._samples.values()), advice_given=self._advised
        )
