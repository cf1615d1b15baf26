"""Simulated third-party providers: APNs, FCM, two SMS gateways, two email services.

The chapter's workers hand each message to a provider (APNs for iOS, FCM for Android, an
SMS gateway such as Twilio, an email service such as SendGrid). Here each provider is a
seeded simulation that fails the way real ones do, and **records its effects**, so a test
can count what a user actually received:

* latency: lognormal around a median (a few tail requests are slow);
* transient errors: ``timeout``, ``server_error`` (5xx), ``throttled`` (429 with
  ``retry_after_s``), ``unavailable`` during an outage window (for fallback scenarios);
* permanent errors: ``unregistered_token`` (push), ``invalid_address`` (SMS, email) and
  ``payload_too_large`` (over the channel's limit, e.g. APNs' 4 KB);
* a **timeout is ambiguous**: with probability ``timeout_effect_rate`` the provider did
  deliver, only the answer was lost. Retrying without an idempotency key would notify the
  user twice; with it, the retry is answered ``accepted``/``duplicate`` and nothing is sent
  again. Keys are honoured for 24 h (``IDEMPOTENCY_WINDOW_S``), as Knock does;
* delivery receipts: an accepted message is later reported ``delivered`` with probability
  ``delivery_rate`` (a phone that is off never confirms).

The failure presets are illustrative orders of magnitude, not measurements.

Examples
--------
>>> from random import Random
>>> from reference.notification.model import Category, Channel, Job
>>> job = Job("n1", "evt-1", "u1", Channel.EMAIL, "a@example.com", "Hi", "Welcome!",
...           Category.TRANSACTIONAL, False, accepted_at=0.0)
>>> email = SimulatedProvider("email-primary", Channel.EMAIL, rng=Random(7),
...                           failures=NO_FAILURES)
>>> email.send(job, idempotency_key=job.dedupe_key, now=1.0)
ProviderResult(outcome='accepted', code='ok', retry_after_s=0.0, latency_s=..., \
provider='email-primary')
>>> email.send(job, idempotency_key=job.dedupe_key, now=2.0).code   # same key: no 2nd effect
'duplicate'
>>> [(e.notification_id, e.address) for e in email.sent]
[('n1', 'a@example.com')]
>>> email.fail_next("server_error")
>>> email.send(job, idempotency_key="another-key", now=3.0).outcome
'transient'
"""

from __future__ import annotations

import json
import math
from bisect import bisect_right, insort
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from random import Random
from types import MappingProxyType
from typing import Literal, Protocol

from reference.core.checks import (
    check_int,
    check_positive_seconds,
    check_probability,
    check_time,
    is_finite,
)
from reference.core.errors import InvalidArgument
from reference.notification.model import (
    IDEMPOTENCY_WINDOW_S,
    PAYLOAD_LIMIT_BYTES,
    SMS_BODY_LIMIT_CHARS,
    Channel,
    Job,
)

__all__ = [
    "ACCEPTED_CODES",
    "ADDRESS_CODES",
    "APNS_FAILURES",
    "EMAIL_FAILURES",
    "FCM_FAILURES",
    "NO_FAILURES",
    "PERMANENT_CODES",
    "PROVIDER_CHAINS",
    "SMS_FAILURES",
    "TRANSIENT_CODES",
    "DeliveryReceipt",
    "Effect",
    "FailureModel",
    "Outcome",
    "Provider",
    "ProviderResult",
    "ProviderStatistics",
    "SimulatedProvider",
    "default_providers",
]

Outcome = Literal["accepted", "transient", "permanent"]

ACCEPTED_CODES = frozenset({"ok", "duplicate"})
TRANSIENT_CODES = frozenset({"timeout", "server_error", "throttled", "unavailable"})
ADDRESS_CODES = frozenset({"unregistered_token", "invalid_address"})  # the address is bad
PERMANENT_CODES = ADDRESS_CODES | {"payload_too_large"}

#: Each channel's ordered fallback list (Apprise-style priority tiers): the next provider is
#: tried only when the current one keeps failing. Push has one provider per platform.
PROVIDER_CHAINS: Mapping[Channel, tuple[str, ...]] = MappingProxyType({
    Channel.IOS_PUSH: ("apns",),
    Channel.ANDROID_PUSH: ("fcm",),
    Channel.SMS: ("sms-primary", "sms-backup"),
    Channel.EMAIL: ("email-primary", "email-backup"),
})


@dataclass(frozen=True, slots=True)
class FailureModel:
    """How one provider behaves; rates are per request and must sum to at most 1.

    ``outages`` holds ``(start, end)`` windows (seconds on the caller's clock) in which every
    request fails with ``unavailable`` after ``timeout_s``.
    """

    latency_median_s: float = 0.1
    latency_sigma: float = 0.5
    timeout_rate: float = 0.0
    timeout_s: float = 10.0
    timeout_effect_rate: float = 0.5
    server_error_rate: float = 0.0
    throttle_rate: float = 0.0
    throttle_retry_after_s: float = 30.0
    invalid_address_rate: float = 0.0
    delivery_rate: float = 1.0
    receipt_delay_median_s: float = 1.0
    outages: tuple[tuple[float, float], ...] = ()

    def __post_init__(self) -> None:
        for name in ("latency_median_s", "timeout_s", "receipt_delay_median_s"):
            check_positive_seconds(name, getattr(self, name))
        if not is_finite(self.latency_sigma) or self.latency_sigma < 0:
            raise InvalidArgument.bad_value("latency_sigma", self.latency_sigma, "a number >= 0")
        if not is_finite(self.throttle_retry_after_s) or self.throttle_retry_after_s < 0:
            raise InvalidArgument.bad_value(
                "throttle_retry_after_s", self.throttle_retry_after_s, "a number >= 0"
            )
        for name in ("timeout_rate", "timeout_effect_rate", "server_error_rate",
                     "throttle_rate", "invalid_address_rate", "delivery_rate"):
            check_probability(name, getattr(self, name))
        total = (self.timeout_rate + self.server_error_rate + self.throttle_rate
                 + self.invalid_address_rate)
        if total > 1.0:
            raise InvalidArgument.bad_value("error rates", total, "a sum of at most 1")
        for window in self.outages:
            if (not isinstance(window, tuple) or len(window) != 2
                    or not all(is_finite(t) for t in window) or window[0] >= window[1]):
                raise InvalidArgument.bad_value("outages", window, "(start, end) with start < end")

    def with_outage(self, start: float, end: float) -> FailureModel:
        """A copy that is also down during ``[start, end)``."""
        return replace(self, outages=(*self.outages, (float(start), float(end))))

    def down_at(self, now: float) -> bool:
        return any(start <= now < end for start, end in self.outages)


NO_FAILURES = FailureModel(timeout_rate=0.0)
APNS_FAILURES = FailureModel(latency_median_s=0.08, timeout_rate=0.002, server_error_rate=0.003,
                             throttle_rate=0.001, invalid_address_rate=0.02, delivery_rate=0.9)
FCM_FAILURES = FailureModel(latency_median_s=0.1, timeout_rate=0.002, server_error_rate=0.005,
                            throttle_rate=0.002, invalid_address_rate=0.03, delivery_rate=0.85)
SMS_FAILURES = FailureModel(latency_median_s=0.3, timeout_rate=0.005, server_error_rate=0.01,
                            throttle_rate=0.005, invalid_address_rate=0.01, delivery_rate=0.95,
                            receipt_delay_median_s=5.0)
EMAIL_FAILURES = FailureModel(latency_median_s=0.2, timeout_rate=0.003, server_error_rate=0.01,
                              throttle_rate=0.003, invalid_address_rate=0.02, delivery_rate=0.97,
                              receipt_delay_median_s=10.0)

_DEFAULT_FAILURES: Mapping[Channel, FailureModel] = {
    Channel.IOS_PUSH: APNS_FAILURES,
    Channel.ANDROID_PUSH: FCM_FAILURES,
    Channel.SMS: SMS_FAILURES,
    Channel.EMAIL: EMAIL_FAILURES,
}


@dataclass(frozen=True, slots=True)
class ProviderResult:
    """The provider's answer to one send. ``code`` is one of ACCEPTED/TRANSIENT/PERMANENT_CODES.

    ``retry_after_s`` is the provider's own hint (429), else 0.0.
    """

    outcome: Outcome
    code: str
    retry_after_s: float
    latency_s: float
    provider: str


@dataclass(frozen=True, slots=True)
class Effect:
    """One message that actually reached a user (what the user would see)."""

    idempotency_key: str
    notification_id: str
    address: str
    title: str
    body: str
    provider: str
    at: float


@dataclass(frozen=True, slots=True)
class DeliveryReceipt:
    """The provider reports that the message for ``job`` was delivered at ``delivered_at``."""

    job: Job
    idempotency_key: str
    provider: str
    delivered_at: float


class Provider(Protocol):
    """What a worker needs from a provider (a simulated one here; a real client in production)."""

    @property
    def name(self) -> str: ...

    def send(self, job: Job, *, idempotency_key: str, now: float) -> ProviderResult: ...

    def collect_receipts(
        self, now: float, *, ready: Callable[[DeliveryReceipt], bool] | None = None
    ) -> list[DeliveryReceipt]: ...

    def pending_receipts(self) -> Iterator[DeliveryReceipt]:
        """The receipts still to report, **earliest due first**, none removed (the system's
        run loop stops at the first one that is ready, so the order is part of the
        contract)."""
        ...


@dataclass(frozen=True, slots=True)
class ProviderStatistics:
    requests: int
    accepted: int
    duplicates: int
    transient: int
    permanent: int
    effects: int
    receipts: int


@dataclass(slots=True)
class _Seen:
    key: str
    accepted_at: float
    answered: bool  # the caller got an "accepted" for this key
    delivered: bool  # the device will confirm
    receipt_delay_s: float
    job: Job = field(repr=False)


#: a receipt waiting to be reported, as kept sorted: (due at, idempotency key, arrival, receipt)
_Pending = tuple[float, str, int, DeliveryReceipt]


def _due_at(entry: _Pending) -> float:
    return entry[0]


def _receipt(entry: _Pending) -> DeliveryReceipt:
    return entry[-1]


def _payload_size(job: Job) -> int:
    return len(json.dumps({"title": job.title, "body": job.body}).encode("utf-8"))


#: ``{"title": "", "body": ""}``: the payload's bytes besides the escaped characters.
_PAYLOAD_OVERHEAD_BYTES = len('{"title": "", "body": ""}')
#: JSON escapes one character into at most 12 bytes (a surrogate pair: ``\ud83d\ude00``).
_MAX_BYTES_PER_CHAR = 12


def _payload_too_large(job: Job, limit_bytes: int) -> bool:
    """Whether the push payload of ``job`` exceeds ``limit_bytes``: a message short enough
    to fit even if every character were escaped is not encoded at all."""
    chars = len(job.title) + len(job.body)
    if _PAYLOAD_OVERHEAD_BYTES + _MAX_BYTES_PER_CHAR * chars <= limit_bytes:
        return False
    return _payload_size(job) > limit_bytes


class SimulatedProvider:
    """A seeded stand-in for APNs, FCM, an SMS gateway or an email service.

    Parameters
    ----------
    name : str
        Its name in the channel's fallback chain ("apns", "sms-backup", ...).
    channel : Channel
        The channel it serves; a job for another channel is an InvalidArgument.
    rng : Random
        Its own random stream (each provider draws the same numbers whatever others do).
    failures : FailureModel
        Rates and latency; default: the channel's preset.
    payload_limit_bytes : int | None
        Default: ``PAYLOAD_LIMIT_BYTES[channel]`` (SMS also checks ``SMS_BODY_LIMIT_CHARS``).
    idempotency_window_s : float
        How long an idempotency key is honoured (24 h).

    Notes
    -----
    Every send draws exactly four numbers (latency, outcome, delivery, receipt delay) whatever the
    outcome, so one provider's random stream does not shift when a scripted failure or an
    outage replaces a draw. ``sent`` grows by one per *effect*, never per request: the
    difference is what the idempotency key buys. Pending receipts are kept sorted by due
    time, so ``collect_receipts`` looks only at those due: O(log n + due).
    """

    __slots__ = ("_arrivals", "_counts", "_invalid", "_pending", "_rng", "_script", "_seen",
                 "channel", "failures", "idempotency_window_s", "name", "payload_limit_bytes",
                 "sent")

    def __init__(
        self,
        name: str,
        channel: Channel,
        *,
        rng: Random,
        failures: FailureModel | None = None,
        payload_limit_bytes: int | None = None,
        idempotency_window_s: float = IDEMPOTENCY_WINDOW_S,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise InvalidArgument.bad_value("name", name, "a non-empty string")
        if not isinstance(channel, Channel):
            raise InvalidArgument.bad_value("channel", channel, "a Channel")
        if not isinstance(rng, Random):
            raise InvalidArgument.bad_value("rng", rng, "a Random")
        if failures is not None and not isinstance(failures, FailureModel):
            raise InvalidArgument.bad_value("failures", failures, "a FailureModel")
        limit = PAYLOAD_LIMIT_BYTES[channel] if payload_limit_bytes is None else payload_limit_bytes
        check_int("payload_limit_bytes", limit, 1)
        check_positive_seconds(
            "idempotency_window_s", idempotency_window_s, expected="a number > 0"
        )
        self.name = name
        self.channel = channel
        self.failures = _DEFAULT_FAILURES[channel] if failures is None else failures
        self.payload_limit_bytes = limit
        self.idempotency_window_s = float(idempotency_window_s)
        self.sent: list[Effect] = []
        self._rng = rng
        self._seen: dict[str, _Seen] = {}
        self._script: deque[str] = deque()
        self._invalid: set[str] = set()
        self._pending: list[_Pending] = []  # sorted by due time
        self._arrivals = 0
        self._counts = dict.fromkeys(
            ("requests", "accepted", "duplicates", "transient", "permanent", "receipts"), 0
        )

    # ── test and scenario knobs ──────────────────────────────────────────────────────────
    def fail_next(self, *codes: str) -> None:
        """Answer the next requests with these error codes, in order (before any draw)."""
        for code in codes:
            if code not in TRANSIENT_CODES | PERMANENT_CODES:
                raise InvalidArgument.bad_value(
                    "code", code, f"one of {sorted(TRANSIENT_CODES | PERMANENT_CODES)}"
                )
        self._script.extend(codes)

    def invalidate(self, address: str) -> None:
        """From now on ``address`` is unregistered/invalid (an app uninstalled, a dead inbox)."""
        self._invalid.add(address)

    def set_failures(self, failures: FailureModel) -> None:
        """Change the failure model (a provider recovers, or starts failing)."""
        if not isinstance(failures, FailureModel):
            raise InvalidArgument.bad_value("failures", failures, "a FailureModel")
        self.failures = failures

    # ── the API ───────────────────────────────────────────────────────────────────────────
    def send(self, job: Job, *, idempotency_key: str, now: float) -> ProviderResult:
        """Send one message; the answer says accepted, transient or permanent.

        Raises
        ------
        InvalidArgument
            ``job`` is not a Job of this provider's channel, the key is empty, or ``now``
            is not a finite time. (Remote errors are *results*, not exceptions.)
        """
        if not isinstance(job, Job) or job.channel is not self.channel:
            raise InvalidArgument.bad_value("job", job, f"a Job for channel {self.channel}")
        if not isinstance(idempotency_key, str) or not idempotency_key:
            raise InvalidArgument.bad_value("idempotency_key", idempotency_key,
                                            "a non-empty string")
        check_time("now", now)
        f = self.failures
        latency = f.latency_median_s * math.exp(f.latency_sigma * self._rng.gauss(0.0, 1.0))
        draw = self._rng.random()
        delivered = self._rng.random() < f.delivery_rate
        receipt_delay = f.receipt_delay_median_s * math.exp(0.5 * self._rng.gauss(0.0, 1.0))
        self._counts["requests"] += 1
        if f.outages and f.down_at(now):
            return self._error("unavailable", f.timeout_s)
        seen = self._seen.get(idempotency_key)
        if seen is not None and now - seen.accepted_at >= self.idempotency_window_s:
            del self._seen[idempotency_key]  # the key expired: a new effect may happen
            seen = None
        if seen is not None:
            self._counts["duplicates"] += 1
            return self._accept(seen, now, latency, code="duplicate")
        if self._script:
            code = self._script.popleft()
            if code == "timeout":
                return self._timeout(job, idempotency_key, now, draw, delivered, receipt_delay)
            return self._error(code, f.timeout_s if code == "unavailable" else latency)
        if _payload_too_large(job, self.payload_limit_bytes) or (
            self.channel is Channel.SMS and len(job.body) > SMS_BODY_LIMIT_CHARS
        ):
            return self._error("payload_too_large", latency)
        if job.address in self._invalid:
            return self._error(self._address_code(), latency)
        edge = f.timeout_rate
        if draw < edge:
            return self._timeout(job, idempotency_key, now, draw / edge, delivered,
                                 receipt_delay)
        edge += f.server_error_rate
        if draw < edge:
            return self._error("server_error", latency)
        edge += f.throttle_rate
        if draw < edge:
            return self._error("throttled", latency)
        edge += f.invalid_address_rate
        if draw < edge:
            self._invalid.add(job.address)  # an invalid address stays invalid
            return self._error(self._address_code(), latency)
        seen = self._effect(job, idempotency_key, now + latency, delivered, receipt_delay)
        return self._accept(seen, now, latency, code="ok")

    def collect_receipts(
        self, now: float, *, ready: Callable[[DeliveryReceipt], bool] | None = None
    ) -> list[DeliveryReceipt]:
        """Remove and return the receipts due by ``now`` (oldest first) that are ``ready``.

        A receipt that is due but not ready (its sender has not recorded ``sent`` yet)
        stays pending for a later call.
        """
        check_time("now", now)
        end = bisect_right(self._pending, now, key=_due_at)  # the due ones are a prefix
        if not end:
            return []
        due: list[_Pending] = []
        keep: list[_Pending] = []
        for entry in self._pending[:end]:
            receipt = entry[-1]
            if ready is None or ready(receipt):
                due.append(entry)
            else:
                keep.append(entry)  # due, but its sender has not recorded it: stays
        if due:  # else nothing changed (a probe that refuses every receipt)
            self._pending[:end] = keep
        self._counts["receipts"] += len(due)
        return [receipt for _due_at, _key, _arrival, receipt in due]

    def pending_receipts(self) -> Iterator[DeliveryReceipt]:
        """The receipts still to report, earliest due first, none removed.

        For a monitor asking "when is the next receipt due?": it can stop at the first one
        that answers it, where ``collect_receipts`` with a ``ready`` that refuses everything
        walks them all. Lazy: do not send or collect while iterating.

        Examples
        --------
        >>> from reference.notification.model import Category, Job
        >>> push = SimulatedProvider("apns", Channel.IOS_PUSH, rng=Random(1),
        ...                          failures=NO_FAILURES)
        >>> for i in range(3):
        ...     job = Job(f"n{i}", f"e{i}", "u1", Channel.IOS_PUSH, f"tok{i}", "", "hi",
        ...               Category.SOCIAL, False, accepted_at=0.0)
        ...     _ = push.send(job, idempotency_key=job.dedupe_key, now=float(i))
        >>> due = [r.delivered_at for r in push.pending_receipts()]
        >>> len(due), due == sorted(due), push.statistics().receipts
        (3, True, 0)
        """
        return map(_receipt, self._pending)

    def statistics(self) -> ProviderStatistics:
        c = self._counts
        return ProviderStatistics(
            requests=c["requests"], accepted=c["accepted"], duplicates=c["duplicates"],
            transient=c["transient"], permanent=c["permanent"], effects=len(self.sent),
            receipts=c["receipts"],
        )

    def __repr__(self) -> str:
        return f"SimulatedProvider({self.name!r}, {self.channel.value!r})"

    # ── internals ─────────────────────────────────────────────────────────────────────────
    def _address_code(self) -> str:
        push = self.channel in (Channel.IOS_PUSH, Channel.ANDROID_PUSH)
        return "unregistered_token" if push else "invalid_address"

    def _error(self, code: str, latency: float) -> ProviderResult:
        if code in TRANSIENT_CODES:
            self._counts["transient"] += 1
            retry_after = self.failures.throttle_retry_after_s if code == "throttled" else 0.0
            return ProviderResult("transient", code, retry_after, latency, self.name)
        self._counts["permanent"] += 1
        return ProviderResult("permanent", code, 0.0, latency, self.name)

    def _effect(self, job: Job, key: str, at: float, delivered: bool,
                receipt_delay: float) -> _Seen:
        seen = _Seen(key, at, False, delivered, receipt_delay, job)  # not answered yet
        self._seen[key] = seen
        self.sent.append(Effect(key, job.notification_id, job.address, job.title, job.body,
                                self.name, at))
        return seen

    def _timeout(self, job: Job, key: str, now: float, u: float, delivered: bool,
                 receipt_delay: float) -> ProviderResult:
        if u < self.failures.timeout_effect_rate:
            self._effect(job, key, now + self.failures.timeout_s / 2, delivered, receipt_delay)
        return self._error("timeout", self.failures.timeout_s)

    def _accept(self, seen: _Seen, now: float, latency: float, *, code: str) -> ProviderResult:
        self._counts["accepted"] += 1
        if not seen.answered:
            seen.answered = True
            if seen.delivered:
                due_at = max(now, seen.accepted_at) + seen.receipt_delay_s
                insort(self._pending, (due_at, seen.key, self._arrivals,
                                       DeliveryReceipt(seen.job, seen.key, self.name, due_at)))
                self._arrivals += 1
        return ProviderResult("accepted", code, 0.0, latency, self.name)


def default_providers(
    seed: int | str,
    *,
    failures: Mapping[str, FailureModel] | None = None,
    chains: Mapping[Channel, Sequence[str]] = PROVIDER_CHAINS,
) -> dict[Channel, tuple[SimulatedProvider, ...]]:
    """Every channel's ordered provider chain, each provider with its own seeded stream.

    Parameters
    ----------
    seed : int | str
        The scenario seed; provider ``name`` draws from ``Random(f"{seed}:{name}")``.
    failures : Mapping[str, FailureModel] | None
        Per-provider overrides by name; others get their channel's preset.
    chains : Mapping[Channel, Sequence[str]]
        The fallback order per channel (default :data:`PROVIDER_CHAINS`).

    Examples
    --------
    >>> chains = default_providers(42, failures={"sms-primary": NO_FAILURES})
    >>> [p.name for p in chains[Channel.SMS]]
    ['sms-primary', 'sms-backup']
    """
    overrides = dict(failures or {})
    unknown = set(overrides) - {name for chain in chains.values() for name in chain}
    if unknown:
        raise InvalidArgument.bad_value("failures", sorted(unknown), "names of chain providers")
    return {
        channel: tuple(
            SimulatedProvider(name, channel, rng=Random(f"{seed}:{name}"),
                              failures=overrides.get(name))
            for name in names
        )
        for channel, names in chains.items()
    }
