"""Exercise ch10: user settings (알림 설정) — opt-in, critical bypass and quiet hours.

Users who get too much, or get it at 3 a.m., turn notifications off altogether; fine-grained
settings keep them reachable. Before a notification is queued, one pure function decides,
in this order:

1. **critical** notifications (password reset, a new sign-in) are sent now, whatever the
   settings say;
2. **opt-in** per channel and per category: an opted-out channel or category is
   *suppressed*, with a reason (the channel is checked first);
3. **quiet hours** in the user's own time zone: a notification inside them is *deferred* to
   the moment they end, **never dropped**.

Every function below raises ``NotImplementedError``: replace each body with your code. The
docstrings are the contract; ``exercises/graders/test_ch10_settings.py`` checks it. Grade
yourself with ``make grade CHAPTER=10`` or, in a notebook, ``check("settings-decide")``.

The vocabulary is yours to use, not to rebuild: :class:`Preferences` (the opted-in
``channels`` and ``categories``, ``time_zone`` and its ``zone``, ``quiet_hours``),
:class:`QuietHours` (``start``, ``end``, ``contains(local_time)``, ``str()`` gives
``"22:00-07:00"``), the decisions :class:`Send` (and its one instance :data:`SEND`),
:class:`Defer` and :class:`Suppress`, the enums :class:`Channel` and :class:`Category`,
:class:`~zoneinfo.ZoneInfo` and :class:`InvalidArgument`. The model answer is
``quiet_window_end`` and ``decide`` in ``reference/notification/settings.py``.

Exercises (name → what to implement):

================= =========================================================================
quiet-hours-end   :func:`quiet_window_end` in the user's zone, across midnight included
quiet-hours-dst   :func:`quiet_window_end` on the nights the clocks change (a stretch goal)
settings-decide   :func:`decide`: critical bypass, opt-outs with reasons, defer never drop
================= =========================================================================

Times are seconds since the Unix epoch (``float``), as the injected clock gives them; wall
clock times are what the user's clock on the wall shows::

    >>> from datetime import datetime
    >>> datetime.fromtimestamp(1_767_623_400.0, ZoneInfo("Asia/Seoul")).isoformat()
    '2026-01-05T23:30:00+09:00'
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from reference.core.errors import InvalidArgument  # noqa: F401  (yours to raise)
from reference.notification.model import Category, Channel
from reference.notification.settings import (
    DEFAULT_CATEGORIES,
    DEFAULT_CHANNELS,
    SEND,
    Decision,
    Defer,
    Preferences,
    QuietHours,
    Send,
    Suppress,
)

__all__ = [
    "DEFAULT_CATEGORIES",
    "DEFAULT_CHANNELS",
    "SEND",
    "Category",
    "Channel",
    "Decision",
    "Defer",
    "Preferences",
    "QuietHours",
    "Send",
    "Suppress",
    "ZoneInfo",
    "decide",
    "quiet_window_end",
]


def quiet_window_end(quiet: QuietHours, zone: ZoneInfo, now: float) -> float | None:
    """When the quiet window containing ``now`` ends, or None if ``now`` is outside it.

    Contract
    --------
    The window is ``[start, end)`` of *local wall-clock time* in ``zone``, every day; if
    ``start > end`` it wraps midnight (22:00-07:00). The result is **the first instant after
    now at which the wall clock in zone shows a time outside the window**.

    ``quiet-hours-end`` (zones without daylight saving time):

    * 23:15 with quiet hours 22:00-07:00 → 07:00 *tomorrow*; 03:00 → 07:00 *today*;
    * 12:00 with 12:00-17:30 → 17:30 the same day (``start`` is inside the window);
    * 07:00 with 22:00-07:00 → None (``end`` is outside), as is any time outside;
    * the same instant is 23:00 in Seoul but 14:00 in UTC: read the wall clock in ``zone``.

    ``quiet-hours-dst`` (the nights the clocks change; the definition above decides):

    * a night across a change is an hour shorter or longer in *real* time, but still ends at
      07:00 on the wall;
    * if the end time does not exist that night (New York, 2026-03-08: the clock jumps from
      02:00 EST to 03:00 EDT, so quiet hours ending 02:30 never reach 02:30), the window
      ends at the jump, 03:00 EDT;
    * if the end time happens twice (Berlin, 2026-10-25: 02:00-03:00 runs twice), the
      window ends at the first occurrence after ``now``;
    * a fall-back can jump the clock out of the window *backwards*, past its start (New
      York, 2026-11-01, quiet 01:15-02:00: at 02:00 EDT the clock reads 01:00 EST, which is
      outside), and then that jump is the end.

    Parameters
    ----------
    quiet : QuietHours
        The window (naive ``datetime.time`` start and end).
    zone : ZoneInfo
        The user's time zone.
    now : float
        Seconds since the epoch.

    Returns
    -------
    float or None
        Seconds since the epoch, ``> now``; None if ``now`` is outside the window.

    Hint
    ----
    ``datetime.fromtimestamp(now, zone)`` gives the local wall clock; ``quiet.contains(t)``
    says whether a wall time is inside. Candidates for the end are the end time on today's
    and tomorrow's date: ``datetime.combine(day, quiet.end, tzinfo=zone).timestamp()``
    (``timestamp()`` knows each day's UTC offset). Keep the smallest candidate ``> now``.
    For ``quiet-hours-dst``, also try ``.replace(fold=1)`` of each candidate (the second
    02:30 of a fall-back night; in a spring-forward gap fold 0 and 1 land on either side of
    the jump) and keep only candidates whose wall time is outside; then, if the UTC offset
    at ``now`` differs from the one at your answer, find the instant of the jump (bisect on
    whole seconds) and end there if the wall clock is outside right at the jump.

    Examples
    --------
    >>> from datetime import datetime, time, timezone
    >>> late = datetime(2026, 1, 5, 14, 30, tzinfo=timezone.utc).timestamp()  # 23:30 Seoul
    >>> end = quiet_window_end(QuietHours(time(22), time(7)), ZoneInfo("Asia/Seoul"), late)
    >>> datetime.fromtimestamp(end, ZoneInfo("Asia/Seoul")).isoformat()
    '2026-01-06T07:00:00+09:00'
    """
    raise NotImplementedError(
        "exercise: quiet_window_end — the first instant after now outside the quiet window"
    )


def decide(
    prefs: Preferences,
    *,
    channel: Channel,
    category: Category,
    critical: bool,
    now: float,
) -> Decision:
    """Whether to send a notification now, later, or not at all (exercise ``settings-decide``).

    Contract, in this order
    -----------------------
    1. ``critical`` → :data:`SEND`, even if opted out, even in quiet hours.
    2. ``channel`` not in ``prefs.channels`` → ``Suppress("opted_out:channel=sms")`` (the
       channel's value after ``=``).
    3. ``category`` not in ``prefs.categories`` → ``Suppress("opted_out:category=marketing")``.
       The defaults (``Preferences()``) opt in to every channel and every category except
       marketing, which needs an explicit opt-in.
    4. ``prefs.quiet_hours`` set and ``now`` inside them (in ``prefs.zone``) →
       ``Defer(until, f"quiet_hours:{prefs.quiet_hours} {prefs.time_zone}")``, e.g.
       ``Defer(1767650400.0, "quiet_hours:22:00-07:00 Asia/Seoul")``, where ``until`` is
       :func:`quiet_window_end`. Deferred, never dropped.
    5. Otherwise :data:`SEND`.

    Parameters
    ----------
    prefs : Preferences
        The recipient's settings.
    channel : Channel
    category : Category
    critical : bool
    now : float
        Seconds since the epoch (the injected clock's ``now()``).

    Returns
    -------
    Send, Defer or Suppress

    Raises
    ------
    InvalidArgument
        Before deciding anything, if ``prefs`` is not a :class:`Preferences`, ``channel``
        not a :class:`Channel`, ``category`` not a :class:`Category`, ``critical`` not a
        ``bool``, or ``now`` not a finite number (a bool is not a time).

    Hint
    ----
    Validate every argument first, then follow the rules top to bottom, returning at the
    first that applies. Step 4 calls your :func:`quiet_window_end`.

    Examples
    --------
    >>> from datetime import datetime, time, timezone
    >>> prefs = Preferences(time_zone="Asia/Seoul", quiet_hours=QuietHours(time(22), time(7)))
    >>> late = datetime(2026, 1, 5, 14, 30, tzinfo=timezone.utc).timestamp()  # 23:30 Seoul
    >>> decide(prefs, channel=Channel.SMS, category=Category.SOCIAL, critical=False, now=late)
    Defer(until=1767650400.0, reason='quiet_hours:22:00-07:00 Asia/Seoul')
    >>> decide(prefs, channel=Channel.SMS, category=Category.MARKETING, critical=False, now=late)
    Suppress(reason='opted_out:category=marketing')
    >>> decide(prefs, channel=Channel.SMS, category=Category.SECURITY, critical=True, now=late)
    Send()
    """
    raise NotImplementedError(
        "exercise: decide — critical bypass, then opt-outs, then quiet hours, else send"
    )
