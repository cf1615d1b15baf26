"""User settings (알림 설정): opt-in per channel and category, and quiet hours in local time.

Users who get too much, or get it at 3 a.m., turn notifications off altogether; fine-grained
settings keep them reachable. Three rules, applied in this order by :func:`decide`:

1. **critical** notifications (password reset, new sign-in) bypass everything below;
2. **opt-in** per channel and per category — the defaults opt users in to everything except
   marketing, which needs an explicit opt-in; an opted-out pair is *suppressed* with a reason;
3. **quiet hours** (a send window seen from the other side) in the user's IANA time zone:
   a notification that falls inside them is *deferred* to the end of the window, not
   dropped for being quiet. The opt-ins are read again when it is released
   (:meth:`~reference.notification.api.NotificationAPI.release_deferred`): a user who opts
   out while it waits does not get it.

The end of a quiet window is "the first instant after now at which the user's wall clock
shows a time outside the window". Across midnight that is tomorrow's end time. A DST change
makes the clock jump, and a jump can leave the window too: on a spring-forward night whose
end time does not exist (02:30 on 2026-03-08 in New York) the window ends when the clock
jumps past it (03:00 EDT); on a fall-back night the clock can jump back out past the
*start* (quiet 01:15-02:00 in New York on 2026-11-01: at 02:00 EDT the clock reads 01:00
EST, outside, until 01:15 EST starts the window again); an end time that happens twice ends
the window at its first occurrence outside it.

Examples
--------
>>> from datetime import datetime, time, timezone
>>> prefs = Preferences(time_zone="Asia/Seoul", quiet_hours=QuietHours(time(22), time(7)))
>>> late = datetime(2026, 1, 5, 14, 30, tzinfo=timezone.utc).timestamp()   # 23:30 in Seoul
>>> decision = decide(prefs, channel=Channel.SMS, category=Category.SOCIAL, critical=False,
...                   now=late)
>>> decision.reason, datetime.fromtimestamp(decision.until, timezone.utc).isoformat()
('quiet_hours:22:00-07:00 Asia/Seoul', '2026-01-05T22:00:00+00:00')
>>> decide(prefs, channel=Channel.SMS, category=Category.MARKETING, critical=False, now=late)
Suppress(reason='opted_out:category=marketing')
>>> decide(prefs, channel=Channel.SMS, category=Category.SECURITY, critical=True, now=late)
Send()
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from reference.core.errors import InvalidArgument
from reference.notification.contacts import validate_user_id
from reference.notification.model import Category, Channel, UserId, check_instant
from reference.storage.ports import KeyValue

__all__ = [
    "DEFAULT_CATEGORIES",
    "DEFAULT_CHANNELS",
    "EARLIEST_NOW",
    "LATEST_NOW",
    "SEND",
    "Decision",
    "Defer",
    "Preferences",
    "QuietHours",
    "Send",
    "SettingsStore",
    "Suppress",
    "decide",
    "quiet_window_end",
]

DEFAULT_CHANNELS: frozenset[Channel] = frozenset(Channel)
DEFAULT_CATEGORIES: frozenset[Category] = frozenset(Category) - {Category.MARKETING}

_CLOCK = r"([0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?)"
_WINDOW = re.compile(rf"{_CLOCK}\s*-\s*{_CLOCK}")

#: (channel, its hash field, the value of a user who never set it), and the same per category
_CHANNEL_FIELDS = tuple(
    (c, f"channel:{c.value}", "1" if c in DEFAULT_CHANNELS else "0") for c in Channel
)
_CATEGORY_FIELDS = tuple(
    (c, f"category:{c.value}", "1" if c in DEFAULT_CATEGORIES else "0") for c in Category
)


def _fmt(t: time) -> str:
    return t.strftime("%H:%M") if not (t.second or t.microsecond) else t.isoformat()


@dataclass(frozen=True, slots=True)
class QuietHours:
    """A daily window ``[start, end)`` of local wall-clock time; ``start > end`` wraps midnight.

    A send window of 09:00-21:00 is quiet hours of 21:00-09:00.
    """

    start: time
    end: time

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            value = getattr(self, name)
            if not isinstance(value, time) or value.tzinfo is not None:
                raise InvalidArgument.bad_value(name, value, "a naive datetime.time (local)")
        if self.start == self.end:
            raise InvalidArgument.bad_value(
                "end", self.end, f"a time different from start={_fmt(self.start)}"
            )

    @classmethod
    def parse(cls, text: str) -> QuietHours:
        """Build from ``"22:00-07:00"``.

        Examples
        --------
        >>> QuietHours.parse("22:00-07:30").contains(time(7, 29))
        True
        """
        try:
            match = _WINDOW.fullmatch(text.strip())
            if match is None:
                raise ValueError(text)
            return cls(time.fromisoformat(match[1]), time.fromisoformat(match[2]))
        except (AttributeError, ValueError):
            raise InvalidArgument.bad_value("quiet_hours", text, "'HH:MM-HH:MM'") from None

    def contains(self, local: time) -> bool:
        """True if the wall-clock time ``local`` is inside the window."""
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def __str__(self) -> str:
        return f"{_fmt(self.start)}-{_fmt(self.end)}"


def _zone(name: object) -> ZoneInfo:
    if not isinstance(name, str) or not name:
        raise InvalidArgument.bad_value("time_zone", name, "an IANA zone like 'Europe/Berlin'")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidArgument.bad_value(
            "time_zone", name, "an IANA zone like 'Europe/Berlin'"
        ) from None


@dataclass(frozen=True, slots=True)
class Preferences:
    """One user's settings: the channels and categories opted in, the zone, quiet hours."""

    channels: frozenset[Channel] = DEFAULT_CHANNELS
    categories: frozenset[Category] = DEFAULT_CATEGORIES
    time_zone: str = "UTC"
    quiet_hours: QuietHours | None = field(default=None)

    def __post_init__(self) -> None:
        if not isinstance(self.channels, frozenset) or not all(
            isinstance(c, Channel) for c in self.channels
        ):
            raise InvalidArgument.bad_value("channels", self.channels, "a frozenset of Channel")
        if not isinstance(self.categories, frozenset) or not all(
            isinstance(c, Category) for c in self.categories
        ):
            raise InvalidArgument.bad_value(
                "categories", self.categories, "a frozenset of Category"
            )
        _zone(self.time_zone)
        if self.quiet_hours is not None and not isinstance(self.quiet_hours, QuietHours):
            raise InvalidArgument.bad_value("quiet_hours", self.quiet_hours, "QuietHours or None")

    @property
    def zone(self) -> ZoneInfo:
        return _zone(self.time_zone)

    def with_channel(self, channel: Channel, opted_in: bool) -> Preferences:
        """A copy with ``channel`` opted in or out."""
        ch = _enum(Channel, channel, "channel")
        return replace(self, channels=self.channels | {ch} if opted_in else self.channels - {ch})

    def with_category(self, category: Category, opted_in: bool) -> Preferences:
        """A copy with ``category`` opted in or out."""
        cat = _enum(Category, category, "category")
        chosen = self.categories | {cat} if opted_in else self.categories - {cat}
        return replace(self, categories=chosen)


_DEFAULT_PREFERENCES = Preferences()


# ── decisions ────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True, slots=True)
class Send:
    """Send now."""


@dataclass(frozen=True, slots=True)
class Defer:
    """Hold until ``until`` (seconds since the epoch), then send; ``reason`` says why."""

    until: float
    reason: str


@dataclass(frozen=True, slots=True)
class Suppress:
    """Do not send, for ``reason`` (``"opted_out:channel=sms"``)."""

    reason: str


Decision = Send | Defer | Suppress
SEND = Send()


#: the instants quiet hours can be computed for, in any zone: a day of margin at the start
#: of year 1 (a local clock up to a day behind UTC) and three at the end of year 9999 (a
#: clock up to a day ahead, plus the two days after today that a window may end on)
EARLIEST_NOW = datetime(1, 1, 2, tzinfo=UTC).timestamp()
LATEST_NOW = datetime(9999, 12, 28, tzinfo=UTC).timestamp()
_NOW_RANGE = "a finite time in seconds from 0001-01-02T00:00Z to 9999-12-28T00:00Z"


def _check_now(now: object) -> float:
    """``now`` as a float if quiet hours can be computed for it, else InvalidArgument."""
    return check_instant("now", now, _NOW_RANGE, low=EARLIEST_NOW, high=LATEST_NOW)


def _wall(zone: ZoneInfo, ts: float) -> time:
    return datetime.fromtimestamp(ts, zone).time()


def _first_offset_change(zone: ZoneInfo, lo: float, hi: float) -> float:
    """The first whole second in ``(lo, hi]`` whose UTC offset differs from ``lo``'s."""
    before = datetime.fromtimestamp(lo, zone).utcoffset()
    low, high = math.floor(lo), math.ceil(hi)
    while high - low > 1:
        mid = (low + high) // 2
        if datetime.fromtimestamp(mid, zone).utcoffset() == before:
            low = mid
        else:
            high = mid
    return float(high)


def _instants(day: date, wall: time, zone: ZoneInfo) -> set[float]:
    """The instants PEP 495 maps the wall time ``wall`` on ``day`` to (fold 0 and 1).

    One instant normally, two in a fall-back overlap; in a spring-forward gap, where the
    clock never reads ``wall``, two instants on either side of the jump.
    """
    early = datetime.combine(day, wall, tzinfo=zone)
    return {early.timestamp(), early.replace(fold=1).timestamp()}


def quiet_window_end(quiet: QuietHours, zone: ZoneInfo, now: float) -> float | None:
    """When the quiet window containing ``now`` ends, or None if ``now`` is outside it.

    Returns the first instant after ``now`` whose wall-clock time in ``zone`` is outside the
    window.

    Notes
    -----
    O(1): a few candidate instants (the end time today, tomorrow and the day after, each
    mapped with fold 0 and 1) plus, if the UTC offset changes before the earliest, a
    bisection (about 20 steps) for the instant of the jump. Assumes at most one offset
    change within two days, as in every real zone.

    The deferral is at most the window's wall-clock length, plus one hour if a fall-back
    happens inside it (so under 25 h) — with one exception: if the *open* part of the day
    is shorter than a spring-forward gap and falls inside it (quiet 02:15-02:00 in Berlin
    on 2026-03-29), that day has no open time at all and the deferral runs to the next
    day's.

    Raises
    ------
    InvalidArgument
        If ``now`` is not a finite time between :data:`EARLIEST_NOW` and
        :data:`LATEST_NOW` (0001-01-02 to 9999-12-28 UTC), where no calendar date exists
        for the window to end on.

    Examples
    --------
    >>> from datetime import timezone
    >>> ny = ZoneInfo("America/New_York")
    >>> before_jump = datetime(2026, 3, 8, 1, 30, tzinfo=ny).timestamp()   # 01:30 EST
    >>> end = quiet_window_end(QuietHours(time(22), time(2, 30)), ny, before_jump)
    >>> datetime.fromtimestamp(end, ny).isoformat()    # 02:30 never happens that night
    '2026-03-08T03:00:00-04:00'
    """
    now = _check_now(now)
    try:
        return _window_end(quiet, zone, now)
    except (OverflowError, OSError):  # on a platform whose time_t is narrower than that
        raise InvalidArgument.bad_value("now", now, _NOW_RANGE) from None


def _window_end(quiet: QuietHours, zone: ZoneInfo, now: float) -> float | None:
    local = datetime.fromtimestamp(now, zone)
    if not quiet.contains(local.time()):
        return None

    def outside(ts: float) -> bool:
        return not quiet.contains(_wall(zone, ts))

    # the clock leaves the window either by running past its end ...
    end = min(
        ts
        for days in (0, 1, 2)
        for ts in _instants(local.date() + timedelta(days=days), quiet.end, zone)
        if ts > now and outside(ts)
    )
    # ... or by jumping out of it at a DST change before that
    if local.utcoffset() != datetime.fromtimestamp(end, zone).utcoffset():
        jump = _first_offset_change(zone, now, end)
        if outside(jump):
            return min(jump, end)
    return end


def decide(
    prefs: Preferences,
    *,
    channel: Channel,
    category: Category,
    critical: bool,
    now: float,
) -> Decision:
    """Whether to send a notification now, later, or not at all (pure: reads no storage).

    Parameters
    ----------
    prefs : Preferences
        The recipient's settings.
    channel, category : Channel, Category
        Where and what.
    critical : bool
        Critical notifications bypass opt-outs and quiet hours.
    now : float
        Seconds since the epoch on the injected clock, from :data:`EARLIEST_NOW` to
        :data:`LATEST_NOW` (0001-01-02 to 9999-12-28 UTC).

    Returns
    -------
    Send, Defer or Suppress
        ``Suppress("opted_out:channel=sms")`` or ``Suppress("opted_out:category=marketing")``
        for an opt-out (the channel is checked first); ``Defer(until, "quiet_hours:...")``
        inside quiet hours; otherwise :data:`SEND`.

    Raises
    ------
    InvalidArgument
        If an argument has the wrong type, or ``now`` is outside the range above.
    """
    if not isinstance(prefs, Preferences):
        raise InvalidArgument.bad_value("prefs", prefs, "Preferences")
    if not isinstance(channel, Channel):
        raise InvalidArgument.bad_value("channel", channel, "a Channel")
    if not isinstance(category, Category):
        raise InvalidArgument.bad_value("category", category, "a Category")
    if not isinstance(critical, bool):
        raise InvalidArgument.bad_value("critical", critical, "True or False")
    now = _check_now(now)
    if critical:
        return SEND
    if channel not in prefs.channels:
        return Suppress(f"opted_out:channel={channel.value}")
    if category not in prefs.categories:
        return Suppress(f"opted_out:category={category.value}")
    if prefs.quiet_hours is not None:
        until = quiet_window_end(prefs.quiet_hours, prefs.zone, now)
        if until is not None:
            return Defer(until, f"quiet_hours:{prefs.quiet_hours} {prefs.time_zone}")
    return SEND


# ── persistence ──────────────────────────────────────────────────────────────────────────


class SettingsStore:
    """Per-user :class:`Preferences` in the key-value port, one hash field per setting.

    Parameters
    ----------
    kv : KeyValue
        The key-value port (``store.kv``); the key is ``settings:{<user_id>}``.

    Notes
    -----
    One field per setting (``channel:sms=0``, ``category:marketing=1``, ``time_zone``,
    ``quiet_hours``) makes each toggle a single atomic ``HSET``: two toggles from two
    devices cannot undo each other as a read-modify-write of one JSON blob could. A user who
    never changed anything has no key at all and gets the defaults. ``get`` is one
    ``HGETALL``.

    Examples
    --------
    >>> from reference.core.clock import FakeClock
    >>> from reference.storage import connect
    >>> settings = SettingsStore(connect("memory", clock=FakeClock()).kv)
    >>> settings.set_channel("u42", Channel.SMS, opted_in=False)
    >>> settings.set_quiet_hours("u42", QuietHours.parse("22:00-07:00"), time_zone="Europe/Berlin")
    >>> prefs = settings.get("u42")
    >>> Channel.SMS in prefs.channels, str(prefs.quiet_hours), prefs.time_zone
    (False, '22:00-07:00', 'Europe/Berlin')
    """

    __slots__ = ("_kv",)

    def __init__(self, kv: KeyValue) -> None:
        if not isinstance(kv, KeyValue):
            raise InvalidArgument.bad_value("kv", kv, "a KeyValue port (store.kv)")
        self._kv = kv

    @staticmethod
    def _key(user_id: UserId) -> str:
        return f"settings:{{{validate_user_id(user_id)}}}"

    def get(self, user_id: UserId) -> Preferences:
        """The user's preferences (the defaults for anything never set)."""
        fields = self._kv.hgetall(self._key(user_id))
        if not fields:
            return _DEFAULT_PREFERENCES  # never set: most users (an immutable shared value)
        channels = frozenset(c for c, name, default in _CHANNEL_FIELDS
                             if fields.get(name, default) == "1")
        categories = frozenset(c for c, name, default in _CATEGORY_FIELDS
                               if fields.get(name, default) == "1")
        quiet = fields.get("quiet_hours")
        return Preferences(
            channels=channels,
            categories=categories,
            time_zone=fields.get("time_zone", "UTC"),
            quiet_hours=QuietHours.parse(quiet) if quiet else None,
        )

    def save(self, user_id: UserId, prefs: Preferences) -> None:
        """Store every setting of ``prefs`` for the user."""
        if not isinstance(prefs, Preferences):
            raise InvalidArgument.bad_value("prefs", prefs, "Preferences")
        key = self._key(user_id)
        mapping = {f"channel:{c.value}": "1" if c in prefs.channels else "0" for c in Channel}
        mapping.update(
            {f"category:{c.value}": "1" if c in prefs.categories else "0" for c in Category}
        )
        mapping["time_zone"] = prefs.time_zone
        if prefs.quiet_hours is not None:
            mapping["quiet_hours"] = str(prefs.quiet_hours)
        self._kv.hset(key, mapping)
        if prefs.quiet_hours is None:
            self._kv.hdel(key, "quiet_hours")

    def set_channel(self, user_id: UserId, channel: Channel, *, opted_in: bool) -> None:
        """Opt the user in to or out of a channel."""
        ch = _enum(Channel, channel, "channel")
        self._kv.hset(self._key(user_id), {f"channel:{ch.value}": _flag(opted_in)})

    def set_category(self, user_id: UserId, category: Category, *, opted_in: bool) -> None:
        """Opt the user in to or out of a category."""
        cat = _enum(Category, category, "category")
        self._kv.hset(self._key(user_id), {f"category:{cat.value}": _flag(opted_in)})

    def set_quiet_hours(
        self, user_id: UserId, quiet: QuietHours | None, *, time_zone: str | None = None
    ) -> None:
        """Set (or with None, clear) the user's quiet hours, and optionally their zone."""
        key = self._key(user_id)
        if quiet is not None and not isinstance(quiet, QuietHours):
            raise InvalidArgument.bad_value("quiet", quiet, "QuietHours or None")
        mapping: dict[str, str] = {}
        if time_zone is not None:
            mapping["time_zone"] = _zone(time_zone).key
        if quiet is not None:
            mapping["quiet_hours"] = str(quiet)
        if mapping:
            self._kv.hset(key, mapping)
        if quiet is None:
            self._kv.hdel(key, "quiet_hours")

    def __repr__(self) -> str:
        return "SettingsStore()"


def _flag(opted_in: object) -> str:
    if not isinstance(opted_in, bool):
        raise InvalidArgument.bad_value("opted_in", opted_in, "True or False")
    return "1" if opted_in else "0"


_E = TypeVar("_E", Channel, Category)


def _enum(kind: type[_E], value: object, name: str) -> _E:
    try:
        if not isinstance(value, str):
            raise ValueError(value)
        return kind(value)
    except ValueError:
        raise InvalidArgument.bad_value(name, value, f"one of {[v.value for v in kind]}") from None
