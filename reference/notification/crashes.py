"""Deterministic crash injection: tell a worker exactly where, and on which arrival, to die.

Reliability (안정성) is only shown by breaking things on purpose. A worker can die at three
points of handling a job (:class:`CrashPoint`): after it claimed the job's dedupe key, after
the provider accepted the send, or just before the ack. A :class:`CrashPlan` says which
arrival at a point is fatal, counted over every worker (or over one notification), so the
same plan replays the same crashes on every run and every backend. A crashed worker's unacked
jobs come back after the queue's visibility timeout, and the rest of the pipeline must still
produce one effect per (event, channel, address).

:mod:`reference.notification.worker` consults the plan at each point;
:mod:`reference.notification.scenario` draws a plan from a seed.
"""

from __future__ import annotations

import enum

from reference.core.checks import check_int
from reference.core.errors import InvalidArgument

__all__ = ["CrashPlan", "CrashPoint"]


class CrashPoint(enum.StrEnum):
    """Where a worker can be told to die (its unacked jobs are redelivered later)."""

    AFTER_CLAIM = "after_claim"  # claimed, nothing sent
    AFTER_SEND = "after_send"  # the provider accepted, nothing recorded
    BEFORE_ACK = "before_ack"  # everything done but the ack (or the dead-letter move)


class CrashPlan:
    """A deterministic crash schedule: die the n-th time any worker reaches a point.

    Examples
    --------
    >>> plan = CrashPlan().crash(CrashPoint.AFTER_SEND, nth=2)
    >>> [plan.should_crash(CrashPoint.AFTER_SEND, "n") for _ in range(3)]
    [False, True, False]

    Notes
    -----
    The rules are kept by (point, notification) as sets of arrival numbers, so asking costs
    O(1) however many rules a scenario drew (thousands, for a long run).
    """

    __slots__ = ("_rules", "_seen", "fired")

    def __init__(self) -> None:
        self._rules: dict[tuple[CrashPoint, str | None], set[int]] = {}  # fatal arrivals
        self._seen: dict[tuple[CrashPoint, str | None], int] = {}
        self.fired: list[tuple[CrashPoint, str]] = []

    def crash(
        self, point: CrashPoint, *, nth: int = 1, notification_id: str | None = None
    ) -> CrashPlan:
        """Crash the ``nth`` time ``point`` is reached (for one notification, or any)."""
        if not isinstance(point, CrashPoint):
            raise InvalidArgument.bad_value("point", point, "a CrashPoint")
        check_int("nth", nth, 1)
        self._rules.setdefault((point, notification_id), set()).add(nth)
        return self

    def should_crash(self, point: CrashPoint, notification_id: str) -> bool:
        """Count this arrival; True if a rule says to die here."""
        hit = False
        for scope in (None, notification_id):
            count = self._seen.get((point, scope), 0) + 1
            self._seen[(point, scope)] = count
            if not hit and type(point) is CrashPoint:  # only a CrashPoint has rules
                hit = count in self._rules.get((point, scope), ())
        if hit:
            self.fired.append((point, notification_id))
        return hit
