"""Retry (재시도): backoff with jitter, provider fallback, dead letters and the alert sink.

When a send fails, the worker asks one pure function, :func:`decide`, what to do next:

================================ ==================================================
the provider answered            decision
================================ ==================================================
accepted (ok, duplicate)         ``DONE``
transient (timeout, 5xx, 429)    ``RETRY`` at now + backoff (>= the provider's
                                 ``retry_after_s``), into the retry queue (재시도 전용 큐)
transient, N times in a row on   ``FALLBACK`` to the next provider of the channel's
this provider (not a timeout)    ordered chain, right away (Apprise's priority tiers)
transient, out of attempts       ``DEAD_LETTER``: park it, **alert a developer**
transient, but the wait would    ``FALLBACK`` if the chain has a next provider (and no
pass the time budget             timeout made the job ambiguous), else ``DEAD_LETTER``
permanent: bad token / address   ``STOP``: retrying cannot help; the worker removes the
                                 device token from the contact store and suppresses it
permanent: anything else         ``DEAD_LETTER`` (e.g. payload too large: our bug)
================================ ==================================================

Backoff is exponential with **full jitter** (AWS's recommendation): before attempt ``k + 1``
wait ``uniform(0, min(cap_s, base_s * 2**(k - 1)))``. Jitter spreads the retries of a burst
that failed together, so they do not return together and fail again. The default policy makes
8 attempts (Knock's preset) whose worst-case total wait is 15+30+60+120+240+480+600 = 1545 s,
inside the 30-minute budget; :meth:`RetryPolicy.worst_case_total_s` checks it.

**Attempts and time are both bounds.** A provider that answers 429 may ask for a longer wait
(``retry_after_s``) than the backoff; the wait is never shorter than that, so a few such
answers could keep a sign-in code retrying for hours. So the budget is counted from the
job's first attempt (``Job.first_attempt_at``, stamped by the worker): a retry whose wait
would end past ``first_attempt_at + budget_s`` is not scheduled; the job falls back to the
next provider right away, or, with none left (or while ambiguous), is dead-lettered with a
reason that says so.

Fallback is counted from the job alone (it carries ``attempt`` and ``provider_index``):
provider ``p`` of the chain owns attempts ``p*N + 1 .. (p+1)*N`` (N = ``fallback_after``);
the last provider keeps the remaining attempts.

**Never fall back right after a timeout.** A timeout is ambiguous: the provider may have
delivered and only the answer was lost. Idempotency keys are per provider, so the backup
would deliver a second copy. Retrying the *same* provider with the same key settles it (it
answers ``duplicate`` if the first request got through); only a definite failure (5xx, 429,
unavailable) lets the job move on — and only if no earlier attempt on this provider timed
out: a timeout followed by an outage proves nothing about the first request, so the job
carries ``ambiguous`` and stays on its provider until that provider answers. For the same
reason a job dead-lettered while ambiguous says so in its reason: it may have been
delivered, and a replay (same provider, same key) finds out.

Examples
--------
>>> from random import Random
>>> from reference.notification.model import Category, Channel, Job
>>> from reference.notification.providers import ProviderResult
>>> job = Job("n1", "evt-1", "u1", Channel.SMS, "+15550100", "", "code 1234",
...           Category.SECURITY, True, accepted_at=0.0)
>>> error_5xx = ProviderResult("transient", "server_error", 0.0, 0.3, "sms-primary")
>>> policy = RetryPolicy()
>>> first = decide(job, error_5xx, policy, Random(1), now=100.0, providers=2)
>>> first.action, first.attempt, first.provider_index, 100.0 <= first.at <= 115.0
(<Action.RETRY: 'retry'>, 2, 0, True)
>>> from dataclasses import replace
>>> second = decide(replace(job, attempt=2), error_5xx, policy, Random(1),
...                 now=200.0, providers=2)
>>> second.action, second.provider_index, second.at
(<Action.FALLBACK: 'fallback'>, 1, 200.0)
>>> policy.worst_case_total_s()
1545.0
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from random import Random
from typing import Literal

from reference.core.checks import check_int, check_positive_seconds, check_time
from reference.core.errors import InvalidArgument
from reference.notification.model import (
    RETRY_MAX_ATTEMPTS,
    RETRY_TOTAL_BUDGET_S,
    Channel,
    Job,
)
from reference.notification.providers import ADDRESS_CODES, ProviderResult

__all__ = [
    "Action",
    "Alert",
    "Alerts",
    "RetryDecision",
    "RetryPolicy",
    "backoff_s",
    "decide",
]

Jitter = Literal["full", "equal", "none"]


class Action(enum.StrEnum):
    """What the worker does after one send."""

    DONE = "done"
    RETRY = "retry"
    FALLBACK = "fallback"
    DEAD_LETTER = "dead_letter"
    STOP = "stop"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try.

    Parameters
    ----------
    max_attempts : int
        Attempts in all, the first included (Knock: 8).
    base_s, cap_s : float
        Exponential backoff: the k-th wait is at most ``min(cap_s, base_s * 2**(k-1))``.
    jitter : "full" | "equal" | "none"
        full: ``uniform(0, w)``; equal: ``w/2 + uniform(0, w/2)``; none: ``w``.
    fallback_after : int
        Consecutive transient failures on one provider before trying the next one.
    budget_s : float
        The time from a job's first attempt after which no retry is scheduled; the
        backoff schedule alone must fit in it (checked at construction).
    """

    max_attempts: int = RETRY_MAX_ATTEMPTS
    base_s: float = 15.0
    cap_s: float = 600.0
    jitter: Jitter = "full"
    fallback_after: int = 2
    budget_s: float = RETRY_TOTAL_BUDGET_S

    def __post_init__(self) -> None:
        for name in ("max_attempts", "fallback_after"):
            check_int(name, getattr(self, name), 1)
        for name in ("base_s", "cap_s", "budget_s"):
            check_positive_seconds(name, getattr(self, name))
        if self.cap_s < self.base_s:
            raise InvalidArgument.bad_value("cap_s", self.cap_s, f">= base_s={self.base_s}")
        if self.jitter not in ("full", "equal", "none"):
            raise InvalidArgument.bad_value("jitter", self.jitter, "'full', 'equal' or 'none'")
        if self.worst_case_total_s() > self.budget_s:
            raise InvalidArgument.bad_value(
                "base_s/cap_s", (self.base_s, self.cap_s),
                f"a schedule whose worst case ({self.worst_case_total_s()} s) fits "
                f"budget_s={self.budget_s}",
            )

    def upper_bound_s(self, attempt: int) -> float:
        """The longest wait after failed attempt ``attempt`` (1-based)."""
        return float(min(self.cap_s, self.base_s * 2.0 ** min(attempt - 1, 60)))

    def worst_case_total_s(self) -> float:
        """The sum of the longest waits between the first and the last attempt."""
        return float(sum(self.upper_bound_s(k) for k in range(1, self.max_attempts)))


def backoff_s(attempt: int, policy: RetryPolicy, rng: Random) -> float:
    """The wait after failed attempt ``attempt`` (1-based), jittered with ``rng``.

    Examples
    --------
    >>> backoff_s(3, RetryPolicy(jitter="none"), Random(0))
    60.0
    """
    check_int("attempt", attempt, 1)
    bound = policy.upper_bound_s(attempt)
    if policy.jitter == "full":
        return rng.uniform(0.0, bound)
    if policy.jitter == "equal":
        return bound / 2 + rng.uniform(0.0, bound / 2)
    return bound


@dataclass(frozen=True, slots=True)
class RetryDecision:
    """What to do with a job after one send.

    ``at`` is when the next attempt may run (RETRY, FALLBACK; else None); ``attempt`` and
    ``provider_index`` are the next attempt's (unchanged for DONE/STOP/DEAD_LETTER).
    ``remove_address`` asks the worker to drop the device token from the contact store.
    """

    action: Action
    at: float | None
    attempt: int
    provider_index: int
    reason: str
    remove_address: bool = False


def decide(
    job: Job,
    result: ProviderResult,
    policy: RetryPolicy,
    rng: Random,
    *,
    now: float,
    providers: int = 1,
) -> RetryDecision:
    """Decide the next step for ``job`` after the provider answered ``result``.

    Parameters
    ----------
    job : Job
        The job as sent (its ``attempt`` and ``provider_index``).
    result : ProviderResult
        The provider's answer.
    policy : RetryPolicy
        Attempts, backoff and fallback settings.
    rng : Random
        Draws the jitter (only a RETRY draws, exactly one number).
    now : float
        The time of the answer (seconds on the injected clock).
    providers : int
        Length of the channel's fallback chain.

    Returns
    -------
    RetryDecision

    Raises
    ------
    InvalidArgument
        Wrong types, a non-finite ``now``, ``providers < 1`` or an unknown outcome.

    Notes
    -----
    O(1) and pure apart from the one jitter draw: the same inputs and rng state give the
    same decision, which is what lets a seeded simulation replay a failure.
    """
    if not isinstance(job, Job):
        raise InvalidArgument.bad_value("job", job, "a Job")
    if not isinstance(result, ProviderResult):
        raise InvalidArgument.bad_value("result", result, "a ProviderResult")
    if not isinstance(policy, RetryPolicy):
        raise InvalidArgument.bad_value("policy", policy, "a RetryPolicy")
    check_time("now", now)
    check_int("providers", providers, 1)
    attempt, index = job.attempt, job.provider_index
    if result.outcome == "accepted":
        return RetryDecision(Action.DONE, None, attempt, index, f"accepted by {result.provider}")
    what = f"{result.provider}: {result.code} on attempt {attempt}"
    if result.outcome == "permanent":
        if result.code in ADDRESS_CODES:
            push = job.channel in (Channel.IOS_PUSH, Channel.ANDROID_PUSH)
            return RetryDecision(Action.STOP, None, attempt, index,
                                 f"{what}: permanent, address unusable", remove_address=push)
        return RetryDecision(Action.DEAD_LETTER, None, attempt, index, f"{what}: permanent")
    if result.outcome != "transient":
        raise InvalidArgument.bad_value("result.outcome", result.outcome,
                                        "'accepted', 'transient' or 'permanent'")
    timed_out = result.code == "timeout" or job.ambiguous
    ambiguous = " (ambiguous: may have been delivered)" if timed_out else ""
    if attempt >= policy.max_attempts:
        return RetryDecision(Action.DEAD_LETTER, None, attempt, index,
                             f"{what}: out of attempts ({policy.max_attempts}){ambiguous}")
    can_fall_back = index + 1 < providers and not timed_out
    on_this_provider = attempt - index * policy.fallback_after
    if on_this_provider >= policy.fallback_after and can_fall_back:
        return RetryDecision(Action.FALLBACK, float(now), attempt + 1, index + 1,
                             f"{what}: {on_this_provider} failures in a row, falling back")
    wait = max(backoff_s(attempt, policy, rng), result.retry_after_s)
    started = now if job.first_attempt_at is None else job.first_attempt_at
    if now + wait > started + policy.budget_s:
        over = (f"{what}: a wait of {wait:.3f} s would pass the retry budget "
                f"({policy.budget_s:g} s from the first attempt)")
        if can_fall_back:
            return RetryDecision(Action.FALLBACK, float(now), attempt + 1, index + 1,
                                 f"{over}, falling back")
        return RetryDecision(Action.DEAD_LETTER, None, attempt, index, f"{over}{ambiguous}")
    return RetryDecision(Action.RETRY, now + wait, attempt + 1, index,
                         f"{what}: retry in {wait:.3f} s")


@dataclass(frozen=True, slots=True)
class Alert:
    """A message for a developer: something needs a human (a dead letter, a stuck queue)."""

    at: float
    channel: Channel
    notification_id: str
    reason: str
    severity: str = "error"


class Alerts:
    """A recording alert sink: ``alerts`` is every alert raised, in order.

    Examples
    --------
    >>> sink = Alerts()
    >>> sink.raise_alert(Alert(5.0, Channel.EMAIL, "n1", "out of attempts"))
    >>> len(sink), sink.alerts[0].reason
    (1, 'out of attempts')
    """

    __slots__ = ("alerts",)

    def __init__(self) -> None:
        self.alerts: list[Alert] = []

    def raise_alert(self, alert: Alert) -> None:
        if not isinstance(alert, Alert):
            raise InvalidArgument.bad_value("alert", alert, "an Alert")
        self.alerts.append(alert)

    def __len__(self) -> int:
        return len(self.alerts)
