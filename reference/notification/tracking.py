"""The notification log and event tracking (이벤트 추적): every status change, checked.

Each notification (one job: one rendered message to one address) walks a small state
machine. The log refuses an illegal step with :class:`~reference.core.errors.Conflict`, so a
bug in the pipeline shows up as an error at the line that caused it, not as a strange number
in a dashboard a week later::

    accepted      → queued | deferred | suppressed
    deferred      → queued | suppressed                 (quiet hours end, or dropped)
    queued        → sent | failed | dead_lettered | suppressed | deferred
    failed        → queued (retry, fallback) | dead_lettered | suppressed | sent (*)
    dead_lettered → queued | delivered                  (an operator's replay; or (**))
    sent          → delivered                           (the provider's receipt)

(*) the queue redelivered the failed attempt itself (its worker crashed before the ack) and
that copy went through. (**) a receipt proves that an attempt whose answer was lost (a
worker crashed after sending) reached the user after all, although the retries that followed
ran out and dead-lettered it. ``suppressed`` and ``failed`` always carry a reason (opted out,
duplicate, invalid token removed, ...), as do ``deferred`` and ``dead_lettered``.

Delivery status (queued, sent, delivered, ...) is separate from **engagement** (opened,
clicked), as Knock keeps them: engagement is accepted only once a notification was sent.
:meth:`NotificationLog.funnel` turns the log into the numbers the chapter asks for: of the
notifications accepted per channel or per template, how many were sent, delivered, opened
and clicked.

Storage choice: plain in-memory structures. The log is an append-only history that only this
process reads back (the checker, the funnel, the notebook plots); a production system would
stream it to an analytics pipeline. What must survive a crash, each queued job and whether it
settled, is kept in the store by the notification DB (:mod:`.records`), which sits in front of
this log and forwards every change to it. Keeping the history in memory keeps simulations of
tens of thousands of notifications fast.

At-least-once tolerance: workers consume an at-least-once queue, so the same status can
arrive twice (a worker crashed after recording ``sent`` but before its ack, and the
redelivered copy records ``sent`` again). Recording the status a notification is already in
is therefore a no-op, counted in :attr:`LogStatistics.ignored_repeats`; likewise ``sent``
after ``delivered`` (the receipt overtook a redelivered attempt). Every other step must be
in :data:`ALLOWED_TRANSITIONS`.

Examples
--------
>>> from reference.notification.model import Channel, Status, StatusChange
>>> log = NotificationLog()
>>> def change(status, at, reason=""):
...     return StatusChange("n1", "evt-1", "u1", Channel.EMAIL, "welcome", status, at, reason)
>>> for status, at in [(Status.ACCEPTED, 0.0), (Status.QUEUED, 0.1), (Status.SENT, 0.5)]:
...     log.record(change(status, at))
>>> log.record_engagement("n1", Engagement.OPENED, at=60.0)
>>> log.status("n1")
<Status.SENT: 'sent'>
>>> [c.status.value for c in log.history("n1")]
['accepted', 'queued', 'sent']
>>> log.funnel(channel=Channel.EMAIL)
Funnel(accepted=1, sent=1, delivered=0, opened=1, clicked=0, failed=0, suppressed=0, \
dead_lettered=0)
>>> log.record(change(Status.QUEUED, 61.0))
Traceback (most recent call last):
...
reference.core.errors.Conflict: notification 'n1': illegal transition sent -> queued ...
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from reference.core.checks import check_time
from reference.core.errors import Conflict, InvalidArgument, NotFound
from reference.notification.model import Channel, Status, StatusChange

__all__ = [
    "ALLOWED_TRANSITIONS",
    "REASON_REQUIRED",
    "Engagement",
    "EngagementEvent",
    "Funnel",
    "LogStatistics",
    "NotificationLog",
]

S = Status

#: Every legal step of the delivery state machine. A first record must be ``accepted``.
ALLOWED_TRANSITIONS: Mapping[Status, frozenset[Status]] = MappingProxyType({
    S.ACCEPTED: frozenset({S.QUEUED, S.DEFERRED, S.SUPPRESSED}),
    # deferred (quiet hours, provider quota) is released to the queue, or dropped with a reason
    S.DEFERRED: frozenset({S.QUEUED, S.SUPPRESSED}),
    S.QUEUED: frozenset({S.SENT, S.FAILED, S.DEAD_LETTERED, S.SUPPRESSED, S.DEFERRED}),
    # failed -> sent: the queue redelivered the failed attempt itself (its worker crashed
    # before the ack) and that copy went through
    S.FAILED: frozenset({S.QUEUED, S.DEAD_LETTERED, S.SUPPRESSED, S.SENT}),
    # replay from the dead-letter queue; or a receipt for an attempt whose answer was lost
    S.DEAD_LETTERED: frozenset({S.QUEUED, S.DELIVERED}),
    S.SENT: frozenset({S.DELIVERED}),
    S.DELIVERED: frozenset(),
    S.SUPPRESSED: frozenset(),
})

#: Statuses that must say why (a silent drop is a lost notification).
REASON_REQUIRED: frozenset[Status] = frozenset(
    {S.SUPPRESSED, S.DEFERRED, S.FAILED, S.DEAD_LETTERED}
)

_ALLOWED = dict(ALLOWED_TRANSITIONS)  # the same steps, as a plain dict (a faster lookup)

# A late record of a status already passed: harmless under at-least-once delivery.
_STALE: Mapping[Status, frozenset[Status]] = {S.DELIVERED: frozenset({S.SENT})}

_SENT_OR_LATER = frozenset({S.SENT, S.DELIVERED})
_NONE: frozenset[Status] = frozenset()


def _identity(change: StatusChange) -> tuple[str, str, Channel, str]:
    """What every change of one notification must repeat from its first record."""
    return change.event_id, change.user_id, change.channel, change.template


class Engagement(enum.StrEnum):
    """What the recipient did with a notification (tracked apart from delivery)."""

    OPENED = "opened"
    CLICKED = "clicked"


@dataclass(frozen=True, slots=True)
class EngagementEvent:
    """The recipient ``kind``-ed notification ``notification_id`` at ``at``."""

    notification_id: str
    kind: Engagement
    at: float


@dataclass(frozen=True, slots=True)
class Funnel:
    """How many notifications ever reached each stage (a notification counts once per stage).

    ``opened`` counts a notification opened or clicked (a click implies an open).
    """

    accepted: int
    sent: int
    delivered: int
    opened: int
    clicked: int
    failed: int
    suppressed: int
    dead_lettered: int

    @property
    def delivery_rate(self) -> float:
        """delivered / sent (0.0 when nothing was sent)."""
        return self.delivered / self.sent if self.sent else 0.0

    @property
    def open_rate(self) -> float:
        """opened / sent (0.0 when nothing was sent)."""
        return self.opened / self.sent if self.sent else 0.0

    @property
    def click_rate(self) -> float:
        """clicked / opened (0.0 when nothing was opened)."""
        return self.clicked / self.opened if self.opened else 0.0


@dataclass(frozen=True, slots=True)
class LogStatistics:
    """Counters of the log itself."""

    notifications: int
    changes: int
    ignored_repeats: int
    engagements: int


@dataclass(slots=True)
class _Entry:
    first: StatusChange
    identity: tuple[str, str, Channel, str]  # (event, user, channel, template) of ``first``
    status: Status
    history: list[StatusChange]
    reached: set[Status]
    engagement: list[EngagementEvent]


class NotificationLog:
    """The notification log: a checked state machine per notification, plus engagement.

    Implements :class:`reference.notification.model.StatusRecorder`.

    Notes
    -----
    ``record`` and ``record_engagement`` are O(1); ``funnel`` is O(notifications).
    The trade-off taught: a strict log costs a dictionary lookup per change and turns silent
    pipeline bugs (a job sent twice, a retry after a success) into loud errors.
    """

    __slots__ = ("_changes", "_engagements", "_entries", "_ignored")

    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}
        self._changes = 0
        self._ignored = 0
        self._engagements = 0

    # ── writing ────────────────────────────────────────────────────────────────────────────
    def record(self, change: StatusChange) -> None:
        """Append one status change after checking it is a legal step.

        Parameters
        ----------
        change : StatusChange
            The new status of one notification.

        Raises
        ------
        InvalidArgument
            Not a StatusChange, a non-finite time, an empty id, or a missing reason for
            suppressed/deferred/failed/dead_lettered.
        Conflict
            An illegal transition (including a first record that is not ``accepted``), or a
            change whose event, user, channel or template differ from the notification's
            first record.
        """
        if not isinstance(change, StatusChange):
            raise InvalidArgument.bad_value("change", change, "a StatusChange")
        nid, status = change.notification_id, change.status
        if not isinstance(nid, str) or not nid:
            raise InvalidArgument.bad_value("notification_id", nid, "a non-empty string")
        if not isinstance(status, Status):
            raise InvalidArgument.bad_value("status", status, "a Status")
        check_time("at", change.at)
        if status in REASON_REQUIRED and not change.reason:
            raise InvalidArgument.bad_value(
                "reason", change.reason, f"a non-empty reason for status {status.value}"
            )
        entry = self._entries.get(nid)
        if entry is None:
            if status is not Status.ACCEPTED:
                raise Conflict(
                    f"notification {nid!r}: illegal transition (none) -> "
                    f"{status.value}: the first record must be accepted"
                )
            self._entries[nid] = _Entry(
                first=change, identity=_identity(change), status=status,
                history=[change], reached={status}, engagement=[],
            )
            self._changes += 1
            return
        got = _identity(change)
        if got != entry.identity:
            raise Conflict(
                f"notification {nid!r}: (event, user, channel, template) {got!r} differs "
                f"from its first record {entry.identity!r}"
            )
        current = entry.status
        if status is current or status in _STALE.get(current, _NONE):
            self._ignored += 1
            return
        if status not in _ALLOWED[current]:
            allowed = ", ".join(sorted(s.value for s in ALLOWED_TRANSITIONS[current])) or "none"
            raise Conflict(
                f"notification {nid!r}: illegal transition {current.value} -> "
                f"{status.value} (allowed from {current.value}: {allowed})"
            )
        entry.status = status
        entry.history.append(change)
        entry.reached.add(status)
        self._changes += 1

    def record_engagement(self, notification_id: str, kind: Engagement, *, at: float) -> None:
        """Record that the recipient opened or clicked a notification that was sent.

        Raises
        ------
        InvalidArgument
            ``kind`` is not an :class:`Engagement`, or ``at`` is not a finite time.
        NotFound
            The notification is not in the log.
        Conflict
            The notification was never sent (engagement needs sent or delivered).
        """
        if not isinstance(kind, Engagement):
            raise InvalidArgument.bad_value("kind", kind, "Engagement.OPENED or CLICKED")
        when = check_time("at", at)
        entry = self._entry(notification_id)
        if not entry.reached & _SENT_OR_LATER:
            raise Conflict(
                f"notification {notification_id!r} is {entry.status.value}: "
                f"{kind.value} needs it sent or delivered first"
            )
        entry.engagement.append(EngagementEvent(notification_id, kind, when))
        self._engagements += 1

    # ── reading ────────────────────────────────────────────────────────────────────────────
    def _entry(self, notification_id: str) -> _Entry:
        entry = self._entries.get(notification_id)
        if entry is None:
            raise NotFound("notification", notification_id, "nothing was recorded for it")
        return entry

    def __contains__(self, notification_id: object) -> bool:
        return notification_id in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[str]:
        """Notification ids in the order they were first recorded."""
        return iter(list(self._entries))

    def status(self, notification_id: str) -> Status:
        """The current status (NotFound if never recorded)."""
        return self._entry(notification_id).status

    def history(self, notification_id: str) -> tuple[StatusChange, ...]:
        """Every accepted status change of one notification, oldest first."""
        return tuple(self._entry(notification_id).history)

    def engagements(self, notification_id: str) -> tuple[EngagementEvent, ...]:
        """Opened/clicked events of one notification, in recording order."""
        return tuple(self._entry(notification_id).engagement)

    def counts_by_status(self) -> dict[Status, int]:
        """How many notifications are currently in each status (every status present)."""
        counts = dict.fromkeys(Status, 0)
        for entry in self._entries.values():
            counts[entry.status] += 1
        return counts

    def funnel(self, *, channel: Channel | None = None, template: str | None = None) -> Funnel:
        """Stage counts over the notifications matching ``channel`` and/or ``template``.

        Examples
        --------
        >>> NotificationLog().funnel(template="welcome")
        Funnel(accepted=0, sent=0, delivered=0, opened=0, clicked=0, failed=0, suppressed=0, \
dead_lettered=0)
        """
        if channel is not None and not isinstance(channel, Channel):
            raise InvalidArgument.bad_value("channel", channel, "a Channel or None")
        counts = dict.fromkeys(
            ("accepted", "sent", "delivered", "opened", "clicked", "failed", "suppressed",
             "dead_lettered"), 0,
        )
        for entry in self._entries.values():
            if channel is not None and entry.first.channel is not channel:
                continue
            if template is not None and entry.first.template != template:
                continue
            reached = entry.reached
            kinds = {e.kind for e in entry.engagement}
            counts["accepted"] += 1
            counts["sent"] += bool(reached & _SENT_OR_LATER)
            counts["delivered"] += S.DELIVERED in reached
            counts["opened"] += bool(kinds)
            counts["clicked"] += Engagement.CLICKED in kinds
            counts["failed"] += S.FAILED in reached
            counts["suppressed"] += S.SUPPRESSED in reached
            counts["dead_lettered"] += S.DEAD_LETTERED in reached
        return Funnel(**counts)

    def statistics(self) -> LogStatistics:
        return LogStatistics(
            notifications=len(self._entries),
            changes=self._changes,
            ignored_repeats=self._ignored,
            engagements=self._engagements,
        )
