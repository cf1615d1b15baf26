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
=====================  =====================================  ============================

Never use them outside tests and notebooks. (A broker that loses messages is not among
them: that is a fault the system survives, with its notification DB; see
:mod:`.lossy_queue` and the scenario's ``queue_loss_rate``.)
"""

from __future__ import annotations

from dataclasses import replace

from reference.blocks.ratelimit import RateDecision
from reference.notification.model import Job
from reference.notification.providers import ProviderResult, SimulatedProvider
from reference.notification.settings import Preferences, SettingsStore

__all__ = ["AlwaysAllows", "ForgetfulProvider", "ForgetsOptOuts", "ForgetsQuietHours"]


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
