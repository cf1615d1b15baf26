"""Chapter 10 vocabulary: channels, requests, notifications, statuses and the presets.

Read this first: every other module of :mod:`reference.notification` speaks in these types.

The flow (알림 시스템 흐름)::

    service ─HMAC─▶ Notification API ─ validate ─ contacts ─ settings ─ rate limit ─ render
                                                                           │ one job per
                                                                           ▼ (channel, address)
              per-channel work queues:  ios · android · sms · email
                                                                           │
                                   workers ─ dedupe ─ provider (APNs · FCM · SMS · email)
                                      │  transient error → retry queue (backoff + jitter)
                                      │  keeps failing   → next provider, then dead-letter + alert
                                      ▼
                           notification log + event tracking (opened, clicked)
"""

from __future__ import annotations

import enum
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol, TypeVar

from reference.blocks.idempotency import IDEMPOTENCY_WINDOW_S  # Knock: 24 h
from reference.core.errors import InvalidArgument

__all__ = [
    "APNS_PAYLOAD_LIMIT_BYTES",
    "CHANNEL_QUEUES",
    "EMAIL_BODY_LIMIT_BYTES",
    "FCM_PAYLOAD_LIMIT_BYTES",
    "FCM_QUOTA_PER_MINUTE",
    "IDEMPOTENCY_WINDOW_S",
    "JOB_FORMAT",
    "PAYLOAD_LIMIT_BYTES",
    "REPLAY_WINDOW_S",
    "RETRY_MAX_ATTEMPTS",
    "RETRY_TOTAL_BUDGET_S",
    "SMS_BODY_LIMIT_CHARS",
    "WORKER_GROUP",
    "Category",
    "Channel",
    "CrashPoint",
    "Job",
    "NotificationRequest",
    "Status",
    "StatusChange",
    "StatusRecorder",
    "UserId",
    "check_instant",
    "check_text",
    "invalid",
    "queue_name",
]

UserId = str
EventId = str
DeviceToken = str

# ── presets (sources in ../shared/FACTS.md: Knock, Novu, APNs, FCM) ─────────────────────────
APNS_PAYLOAD_LIMIT_BYTES = 4096  # APNs rejects a larger JSON payload
FCM_PAYLOAD_LIMIT_BYTES = 4096  # FCM data+notification payload limit
SMS_BODY_LIMIT_CHARS = 1600  # a gateway splits into <= 10 segments of 160 GSM-7 chars
EMAIL_BODY_LIMIT_BYTES = 102_400  # Gmail clips HTML bodies larger than ~102 KB
FCM_QUOTA_PER_MINUTE = 600_000  # default FCM project quota
RETRY_MAX_ATTEMPTS = 8  # Knock: up to 8 attempts ...
RETRY_TOTAL_BUDGET_S = 30 * 60  # ... over about 30 minutes
REPLAY_WINDOW_S = 300  # signed API requests older/newer than 5 min are rejected


class Channel(enum.StrEnum):
    """A delivery channel; each has its own queue and workers and scales on its own."""

    IOS_PUSH = "ios"
    ANDROID_PUSH = "android"
    SMS = "sms"
    EMAIL = "email"


PAYLOAD_LIMIT_BYTES: Mapping[Channel, int] = MappingProxyType({
    Channel.IOS_PUSH: APNS_PAYLOAD_LIMIT_BYTES,
    Channel.ANDROID_PUSH: FCM_PAYLOAD_LIMIT_BYTES,
    Channel.SMS: SMS_BODY_LIMIT_CHARS * 4,  # UTF-8 worst case; the char limit is checked too
    Channel.EMAIL: EMAIL_BODY_LIMIT_BYTES,
})


class Category(enum.StrEnum):
    """What a notification is about; users opt in or out per category."""

    SECURITY = "security"  # always critical-eligible: password reset, new login
    TRANSACTIONAL = "transactional"  # receipts, shipping
    SOCIAL = "social"  # likes, comments, follows
    MARKETING = "marketing"  # promotions


class CrashPoint(enum.StrEnum):
    """Where a worker can be told to die (:class:`~reference.core.faults.CrashPlan`); its
    unacked jobs are redelivered after the queue's visibility timeout, and the pipeline
    must still produce one effect per (event, channel, address)."""

    AFTER_CLAIM = "after_claim"  # claimed, nothing sent
    AFTER_SEND = "after_send"  # the provider accepted, nothing recorded
    BEFORE_ACK = "before_ack"  # everything done but the ack (or the dead-letter move)


class Status(enum.StrEnum):
    """A notification's delivery state (separate from engagement: opened, clicked)."""

    ACCEPTED = "accepted"
    QUEUED = "queued"
    DEFERRED = "deferred"  # quiet hours: queued when they end (unless opted out meanwhile)
    SENT = "sent"  # the provider accepted it
    DELIVERED = "delivered"  # the provider reported it reached the device/inbox
    FAILED = "failed"  # one attempt failed; a retry may follow
    DEAD_LETTERED = "dead_lettered"  # out of attempts or permanent failure; alert raised
    SUPPRESSED = "suppressed"  # deliberately not sent, always with a reason


@dataclass(frozen=True, slots=True)
class NotificationRequest:
    """What a calling service asks for: notify ``user_id`` about ``event_id``.

    ``event_id`` is the idempotency key: the same event sent twice has one effect per
    (event, channel, device), and takes one unit of the user's rate limit per channel.
    """

    event_id: EventId
    user_id: UserId
    template: str
    variables: Mapping[str, Any] = field(default_factory=dict)
    channels: tuple[Channel, ...] = (Channel.IOS_PUSH, Channel.ANDROID_PUSH, Channel.EMAIL)
    category: Category = Category.TRANSACTIONAL
    critical: bool = False


@dataclass(frozen=True, slots=True)
class Job:
    """One unit of delivery work on a channel queue: one rendered message to one address.

    ``address`` is a device token (push), a phone number (SMS) or an email address.
    ``dedupe_key`` names the effect that must happen at most once: (event, channel, address).
    """

    notification_id: str
    event_id: EventId
    user_id: UserId
    channel: Channel
    address: str
    title: str
    body: str
    category: Category
    critical: bool
    accepted_at: float
    template: str = ""
    attempt: int = 1  # 1 on the first try; the retry path re-schedules with attempt + 1
    provider_index: int = 0  # position in the channel's ordered provider fallback list
    ambiguous: bool = False  # an attempt on this provider timed out: it may have delivered
    first_attempt_at: float | None = None  # when this budget's first attempt was made

    @property
    def dedupe_key(self) -> str:
        return f"{self.event_id}|{self.channel}|{self.address}"

    def to_json(self) -> str:
        """Serialise for a work queue (the queue stores strings).

        The body is a JSON array, the fields in declaration order after a format tag
        (:data:`JOB_FORMAT`): about half the bytes of an object with named keys, and cheaper
        to write and read; the tag lets a reader refuse a body written in another layout.

        Examples
        --------
        >>> job = Job("n1", "e1", "u1", Channel.SMS, "+1555", "", "code 1234",
        ...           Category.SECURITY, True, accepted_at=0.0)
        >>> print(job.to_json())
        ["job/2","n1","e1","u1","sms","+1555","","code 1234","security",true,0.0,"",1,0,false,null]
        >>> Job.from_json(job.to_json()) == job
        True
        """
        return _ENCODE([
            JOB_FORMAT, self.notification_id, self.event_id, self.user_id, self.channel.value,
            self.address, self.title, self.body, self.category.value, self.critical,
            self.accepted_at, self.template, self.attempt, self.provider_index, self.ambiguous,
            self.first_attempt_at,
        ])

    @classmethod
    def from_json(cls, text: str) -> Job:
        """Inverse of :meth:`to_json`; a malformed body (or another layout) raises
        InvalidArgument."""
        try:
            raw = _decode(text)
            if not isinstance(raw, list) or not raw or raw[0] != JOB_FORMAT:
                raise ValueError(f"not a {JOB_FORMAT!r} array")
            (_, notification_id, event_id, user_id, channel, address, title, body, category,
             critical, accepted_at, template, attempt, provider_index, ambiguous,
             first_attempt_at) = raw
            return cls(
                str(notification_id), str(event_id), str(user_id),
                _member(Channel, _CHANNELS, channel), str(address), str(title), str(body),
                _member(Category, _CATEGORIES, category), bool(critical),
                float(accepted_at), str(template), int(attempt), int(provider_index),
                bool(ambiguous), None if first_attempt_at is None else float(first_attempt_at),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidArgument(f"job body is not a valid Job: {exc}") from exc


#: The tag that opens every queued job body (see :meth:`Job.to_json`).
JOB_FORMAT = "job/2"

_ENCODE = json.JSONEncoder(separators=(",", ":")).encode
_DECODE = json.JSONDecoder().decode
_RAW_DECODE = json.JSONDecoder().raw_decode


def _decode(text: str) -> Any:
    """``json.loads(text)``, cheaper for a body with nothing around the JSON value
    (every body :meth:`Job.to_json` writes).

    ``raw_decode`` parses the value at the start and says where it ended; when that is the
    end of the text, the full decoder (which also skips surrounding whitespace and says
    what is wrong with a bad body) would have returned the same value.
    """
    if type(text) is str:
        try:
            value, end = _RAW_DECODE(text)
        except ValueError:
            pass  # not a JSON value at the start: the full decoder says why
        else:
            if end == len(text):
                return value
    return _DECODE(text)


_CHANNELS: Mapping[str, Channel] = {c.value: c for c in Channel}
_CATEGORIES: Mapping[str, Category] = {c.value: c for c in Category}
_E = TypeVar("_E", bound=enum.Enum)


def _member(kind: type[_E], members: Mapping[str, _E], value: object) -> _E:
    """``kind(value)``: a table lookup for a known value, the enum's own (slower) lookup,
    with its error, for anything else."""
    found = members.get(value) if type(value) is str else None
    return kind(value) if found is None else found




WORKER_GROUP = "workers"  # the consumer group every channel's workers share


def queue_name(channel: Channel) -> str:
    """The work queue of one channel (each channel scales on its own)."""
    return f"notify.{channel.value}"


#: Every channel with its work queue, in declaration order (for loops that visit them all).
CHANNEL_QUEUES: tuple[tuple[Channel, str], ...] = tuple((c, queue_name(c)) for c in Channel)


@dataclass(frozen=True, slots=True)
class StatusChange:
    """One line of the notification log: ``notification_id`` entered ``status`` at ``at``.

    ``reason`` is required for SUPPRESSED, DEFERRED, FAILED and DEAD_LETTERED.
    """

    notification_id: str
    event_id: EventId
    user_id: UserId
    channel: Channel
    template: str
    status: Status
    at: float
    reason: str = ""

    @classmethod
    def for_job(cls, job: Job, status: Status, at: float, reason: str = "") -> StatusChange:
        """The log line for ``job`` entering ``status`` at ``at``."""
        return cls(job.notification_id, job.event_id, job.user_id, job.channel, job.template,
                   status, at, reason)


class StatusRecorder(Protocol):
    """Where state changes go (the notification log implements it)."""

    def record(self, change: StatusChange) -> None: ...


# ── boundary checks every intake module shares ──────────────────────────────────────────


def invalid(name: str, value: object, expected: str) -> InvalidArgument:
    """The standard ``name=value is invalid: expected ...`` error, with ``value`` shown short.

    Like :meth:`InvalidArgument.bad_value`, but safe for anything a caller may send: long
    text is cut, and an int too long to print (Python refuses ``repr`` beyond 4300 digits)
    is shown by its size.

    Examples
    --------
    >>> str(invalid("t", 10**5000, "a finite time"))
    't=<an int of 16610 bits> is invalid: expected a finite time'
    """
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        shown = f"<an int of {value.bit_length()} bits>"
    else:
        shown = repr(value)
        if len(shown) > 80:
            shown = shown[:79] + "…"
    return InvalidArgument(f"{name}={shown} is invalid: expected {expected}")


def check_text(name: str, value: object, expected: str = "a str") -> str:
    """Return ``value`` if it is a str that UTF-8 can encode, else InvalidArgument.

    A lone surrogate (``"\\ud800"``) is a Python str with no UTF-8 bytes: the memory backend
    would keep it, Redis refuses it (``UnicodeEncodeError``), hashing or signing it fails,
    and no provider could receive it. So every text that enters the system is checked here
    once, at the boundary, and every backend behaves the same.

    Notes
    -----
    O(len(value)); ASCII text (most of it) is decided by one ``isascii`` scan.

    Examples
    --------
    >>> check_text("body", "Hi Ada")
    'Hi Ada'
    >>> check_text("body", "Hi \\ud800")
    Traceback (most recent call last):
    ...
    reference.core.errors.InvalidArgument: body='Hi \\ud800' is invalid: expected a str ...
    """
    if not isinstance(value, str):
        raise invalid(name, value, expected)
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise invalid(name, value, f"{expected} that UTF-8 can encode (a lone surrogate "
                                       f"at index {exc.start})") from None
    return value


def check_instant(name: str, value: object, expected: str, *,
                  low: float = -math.inf, high: float = math.inf) -> float:
    """``value`` as a float if it is a finite number of seconds in ``low..high``.

    Unlike :func:`math.isfinite`, an int too large for a float (``10**400``) is refused with
    InvalidArgument, not an ``OverflowError``; bools are refused as everywhere.

    Examples
    --------
    >>> check_instant("now", 12, "a time")
    12.0
    >>> check_instant("now", 10**400, "a time")
    Traceback (most recent call last):
    ...
    reference.core.errors.InvalidArgument: now=<an int of 1329 bits> is invalid: expected a time
    """
    number = math.nan
    if isinstance(value, float) or (isinstance(value, int) and not isinstance(value, bool)
                                    and abs(value) < 2**1000):
        number = float(value)
    if not (math.isfinite(number) and low <= number <= high):
        raise invalid(name, value, expected)
    return number
