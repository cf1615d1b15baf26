"""Deliberately broken components, to show that the checker catches what they break.

A checker that never reports anything proves nothing. Each class here is a small, plausible
bug in one component, swapped in through the same wiring as the real one
(:func:`reference.notification.scenario.build_system` keyword arguments, or a replaced
store port), so a scenario run shows the anomaly the checker names:

=====================  =====================================  ============================
mutant                 the bug                                anomaly the checker reports
=====================  =====================================  ============================
ForgetsOptOuts         settings lose every opt-out            ``opt_out_violated``
ForgetsQuietHours      settings lose quiet hours              ``quiet_hours_violated``
AlwaysAllows           a rate limiter that never says no      ``rate_limit_exceeded``
ForgetfulProvider      a provider without idempotency keys    ``duplicate_effect``
LossyQueue             a broker that loses every 4th message  ``lost``
=====================  =====================================  ============================

Never use them outside tests and notebooks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from reference.notification.model import Job
from reference.notification.providers import ProviderResult, SimulatedProvider
from reference.notification.ratelimit import RateDecision
from reference.notification.settings import Preferences, SettingsStore
from reference.storage.ports import DeadLetter, Delivery, QueueStatistics, WorkQueue

__all__ = ["AlwaysAllows", "ForgetfulProvider", "ForgetsOptOuts", "ForgetsQuietHours",
           "LossyQueue"]


class ForgetsOptOuts(SettingsStore):
    """A settings store that forgets every opt-out (keeps the zone and quiet hours)."""

    def get(self, user_id: str) -> Preferences:
        prefs = super().get(user_id)
        return Preferences(time_zone=prefs.time_zone, quiet_hours=prefs.quiet_hours)


class ForgetsQuietHours(SettingsStore):
    """A settings store that forgets quiet hours."""

    def get(self, user_id: str) -> Preferences:
        return replace(super().get(user_id), quiet_hours=None)


class AlwaysAllows:
    """A rate limiter that never says no."""

    def acquire(self, key: str) -> RateDecision:
        return RateDecision(allowed=True, retry_after_s=0.0, remaining=1)


class ForgetfulProvider(SimulatedProvider):
    """A provider that ignores idempotency keys: every request is a new message."""

    __slots__ = ("requests",)
    requests: int

    def send(self, job: Job, *, idempotency_key: str, now: float) -> ProviderResult:
        self.requests = getattr(self, "requests", 0) + 1
        return super().send(job, idempotency_key=f"{idempotency_key}#{self.requests}", now=now)


class LossyQueue:
    """A work queue that silently loses every fourth message published."""

    def __init__(self, inner: WorkQueue) -> None:
        self.inner = inner
        self.published = 0

    def publish(self, queue: str, body: str) -> str:
        self.published += 1
        if self.published % 4 == 0:
            return f"lost-{self.published}"
        return self.inner.publish(queue, body)

    def create_group(self, queue: str, group: str, *, visibility_timeout_s: float = 30.0,
                     max_deliveries: int = 5) -> None:
        self.inner.create_group(queue, group, visibility_timeout_s=visibility_timeout_s,
                                max_deliveries=max_deliveries)

    def consume(self, queue: str, group: str, consumer: str, *, count: int = 1
                ) -> list[Delivery]:
        return self.inner.consume(queue, group, consumer, count=count)

    def ack(self, queue: str, group: str, message_id: str) -> bool:
        return self.inner.ack(queue, group, message_id)

    def dead_letter(self, queue: str, group: str, message_id: str, reason: str) -> bool:
        return self.inner.dead_letter(queue, group, message_id, reason)

    def dead_letters(self, queue: str, group: str) -> list[DeadLetter]:
        return self.inner.dead_letters(queue, group)

    def replay_dead_letters(self, queue: str, group: str,
                            message_ids: Sequence[str] | None = None) -> int:
        return self.inner.replay_dead_letters(queue, group, message_ids)

    def statistics(self, queue: str, group: str) -> QueueStatistics:
        return self.inner.statistics(queue, group)
