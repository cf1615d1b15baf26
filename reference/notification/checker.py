"""The invariant checker (불변식 검사기) of chapter 10: judge a recorded history, name anomalies.

A scenario (:mod:`.scenario`) records what was asked, what the user had set at that moment,
what every provider actually produced and every status change. :func:`check` reads only that
history — never the system's own counters — and names each broken promise:

========================= ============================================================
anomaly                   the promise broken
========================= ============================================================
``lost``                  an accepted notification ends sent (or delivered),
                          dead-lettered, or suppressed with a reason — never stuck in
                          queued, failed, accepted or deferred (deferred, never released)
``phantom_sent``          the log says sent, yet no provider produced that message
``duplicate_effect``      at most one effect per (event, channel, address)
``unexplained_effect``    every effect belongs to a notification the API accepted
``opt_out_violated``      no non-critical effect on a channel or category the user had
                          opted out of when the request was made, or, for a deferred
                          notification, when it was released
``rate_limit_exceeded``   at most ``limit`` non-critical notifications accepted per (user,
                          channel) in *any* window of ``window_s`` (a sliding check); a
                          repeated event counts only if it reaches an address its earlier
                          acceptances on that channel did not (within the idempotency window)
``quiet_hours_dropped``   a non-critical request inside the user's quiet hours (opted in,
                          reachable, under the limit) is deferred, never dropped (at its
                          release only an opt-out made meanwhile may suppress it)
``quiet_hours_violated``  no non-critical effect inside the user's quiet hours, when it
                          was queued inside that same quiet window
``suppressed_without_reason`` every suppression says why
``false_suppression``     an intake suppression's reason holds: ``opted_out`` only when
                          the user had opted out of that channel or category (at the
                          request; at the release, for a deferred one),
                          ``no_contact`` only without an address, ``rate_limited`` only
                          when ``limit`` grants already lie in the window
``suppressed_but_sent``   a notification the API suppressed at intake produces no effect
``illegal_transition``    each notification's log is in time order, starts ``accepted``,
                          then says what the API's receipt said, and takes only the
                          state machine's steps
``dead_letter_unalerted`` every dead letter raises an alert for a developer
========================= ============================================================

Quiet hours are decided at intake, as Knock does (the send window is a step before enqueue):
a notification queued *before* a quiet window that is still being retried when the window
starts may be sent inside it. The checker allows exactly that, and nothing else: an effect
inside a quiet window is a violation when the notification was first queued inside that
same window (the intake ignored the window, or the deferral released it early).

Examples
--------
>>> from reference.notification.scenario import ScenarioConfig, run_scenario
>>> result = run_scenario(ScenarioConfig.calm().scaled(users=5, events=8), seed=1)
>>> report = check(result)
>>> report.ok, report.counts["lost"]
(True, 0)
>>> print(report.summary())
checked 8 requests, 18 notifications, 10 effects, 8 rate-limit acquisitions: no anomaly
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from typing import Protocol

from reference.blocks.ratelimit import Acquisition
from reference.core.checking import Anomaly, CheckerSpec, CheckReport
from reference.core.clock import US_PER_S
from reference.core.errors import InvalidArgument
from reference.notification.api import ReceiptEntry
from reference.notification.model import IDEMPOTENCY_WINDOW_S, Channel, Status, StatusChange
from reference.notification.retry import Alert
from reference.notification.scenario import (
    ProviderEffect,
    RequestRecord,
    ScenarioConfig,
    SettingsChange,
)
from reference.notification.settings import Preferences, quiet_window_end
from reference.notification.tracking import ALLOWED_TRANSITIONS

__all__ = ["ANOMALY_KINDS", "CHECKER_SPEC", "Anomaly", "CheckReport", "History", "check"]

ANOMALY_KINDS = (
    "lost",
    "phantom_sent",
    "duplicate_effect",
    "unexplained_effect",
    "opt_out_violated",
    "rate_limit_exceeded",
    "quiet_hours_dropped",
    "quiet_hours_violated",
    "suppressed_without_reason",
    "false_suppression",
    "suppressed_but_sent",
    "illegal_transition",
    "dead_letter_unalerted",
)

CHECKER_SPEC = CheckerSpec(
    kinds=ANOMALY_KINDS,
    counted=(
        ("requests", "requests"),
        ("notifications", "notifications"),
        ("effects", "effects"),
        ("acquisitions", "rate-limit acquisitions"),
    ),
)
"""What chapter 10's checker names (:data:`ANOMALY_KINDS`) and counts; its verdicts are the
core :class:`~reference.core.checking.CheckReport`, re-exported here with
:class:`~reference.core.checking.Anomaly`."""

_SETTLED = frozenset({Status.SENT, Status.DELIVERED, Status.DEAD_LETTERED, Status.SUPPRESSED})
_COUNTED = frozenset({Status.QUEUED, Status.DEFERRED})  # got past the rate limiter
_NOT_A_DROP = ("no_contact:", "rate_limited:")  # legitimate suppressions inside quiet hours


class History(Protocol):
    """What the checker reads (a :class:`~.scenario.ScenarioResult` is one)."""

    @property
    def config(self) -> ScenarioConfig: ...

    @property
    def requests(self) -> tuple[RequestRecord, ...]: ...

    @property
    def effects(self) -> tuple[ProviderEffect, ...]: ...

    @property
    def changes(self) -> tuple[StatusChange, ...]: ...

    @property
    def acquisitions(self) -> tuple[Acquisition, ...]: ...

    @property
    def alerts(self) -> tuple[Alert, ...]: ...

    @property
    def settings_changes(self) -> tuple[SettingsChange, ...]: ...


@dataclass(frozen=True, slots=True)
class _Accepted:
    """One accepted notification: the request it came from and its receipt entry."""

    record: RequestRecord
    entry: ReceiptEntry


class _SettingsTimeline:
    """What each user had set at any moment: the settings recorded with a request, then every
    change recorded after it.

    Ties are broken as the scenario runs them: a settings change at the very instant of a
    request comes after it (the request's own record already says what held before), and
    a change at the instant of a release comes after the release (each step of the system
    runs before the scenario's actions at the same time)."""

    def __init__(self, changes: Iterable[SettingsChange]) -> None:
        self._by_user: dict[str, list[SettingsChange]] = defaultdict(list)
        for change in sorted(changes, key=lambda c: c.at):
            self._by_user[change.user_id].append(change)

    def at(self, acc: _Accepted, t: float) -> Preferences:
        """The settings of ``acc``'s user when the system acted at ``t`` (no earlier than
        its request)."""
        prefs = acc.record.preferences
        for change in self._by_user.get(acc.record.request.user_id, ()):
            if change.at >= t:
                break
            if change.at >= acc.record.at:
                prefs = change.preferences
        return prefs


def _released_at(changes: Sequence[StatusChange]) -> float | None:
    """When a deferred notification left the quiet-hours queue (queued or suppressed right
    after ``deferred``); None if it never was deferred or never left."""
    for before, after in pairwise(changes):
        if before.status is Status.DEFERRED and after.status in (Status.QUEUED,
                                                                  Status.SUPPRESSED):
            return after.at
    return None


def _opted_out(prefs: Preferences, acc: _Accepted) -> str | None:
    """What ``acc``'s user opted out of under ``prefs`` (None: neither its channel nor its
    category; and a critical request ignores opt-outs)."""
    request, channel = acc.record.request, acc.entry.channel
    if request.critical:
        return None
    if channel not in prefs.channels:
        return f"channel={channel.value}"
    if request.category not in prefs.categories:
        return f"category={request.category.value}"
    return None


def _local(prefs: Preferences, at: float) -> str:
    return datetime.fromtimestamp(at, prefs.zone).strftime("%H:%M:%S")


def check(result: History) -> CheckReport:
    """Judge a recorded history and name every anomaly (see the module table).

    Parameters
    ----------
    result : ScenarioResult or any :class:`History`
        The recorded requests (with settings at request time), effects, status changes,
        rate-limit acquisitions and alerts.

    Returns
    -------
    CheckReport

    Notes
    -----
    O(n log n) in the size of the history (the rate-limit pass sorts each (user, channel)'s
    times, then slides a window of ``limit + 1`` grants over them). The checker never trusts
    the system's own counters: it recomputes every verdict from the recorded events.

    Raises
    ------
    InvalidArgument
        ``result`` is not a recorded history (to grade an exercise, use
        ``exercises.check(name)``).
    """
    if not all(hasattr(result, part) for part in
               ("config", "requests", "effects", "changes", "acquisitions", "alerts",
                "settings_changes")):
        raise InvalidArgument.bad_value(
            "result", result, "a recorded history such as run_scenario(...)'s result "
            "(to grade an exercise, use exercises.check(name))")
    accepted: dict[str, _Accepted] = {}
    for record in result.requests:
        for entry in record.entries:
            accepted[entry.notification_id] = _Accepted(record, entry)
    history: dict[str, list[StatusChange]] = defaultdict(list)
    for change in result.changes:
        history[change.notification_id].append(change)
    settings = _SettingsTimeline(result.settings_changes)
    anomalies: list[Anomaly] = []
    anomalies += _reasons(result.requests, result.changes)
    anomalies += _lost(accepted, history)
    anomalies += _effects(accepted, history, result.effects, settings)
    anomalies += _rate_limit(result.requests, result.config.rate_limit)
    anomalies += _quiet_hours_dropped(accepted, history, settings)
    anomalies += _false_suppressions(result.requests, result.config.rate_limit)
    anomalies += _transitions(accepted, history)
    anomalies += _dead_letters(history, result.alerts)
    checked = {
        "requests": len(result.requests),
        "notifications": len(accepted),
        "effects": len(result.effects),
        "acquisitions": len(result.acquisitions),
    }
    return CheckReport(CHECKER_SPEC, tuple(anomalies), checked)  # sorts them by kind


def _reasons(requests: Sequence[RequestRecord],
             changes: Iterable[StatusChange]) -> list[Anomaly]:
    found = [
        Anomaly("suppressed_without_reason", e.notification_id, "the API's receipt gives none")
        for r in requests for e in r.entries
        if e.status is Status.SUPPRESSED and not e.reason.strip()
    ]
    found += [
        Anomaly("suppressed_without_reason", c.notification_id, f"log at {c.at:.3f}")
        for c in changes if c.status is Status.SUPPRESSED and not c.reason.strip()
    ]
    return found


def _lost(accepted: dict[str, _Accepted],
          history: dict[str, list[StatusChange]]) -> list[Anomaly]:
    found = []
    for nid, acc in accepted.items():
        changes = history.get(nid)
        if not changes:
            found.append(Anomaly("lost", nid, "accepted, but never recorded in the log"))
            continue
        final = changes[-1]
        if final.status in _SETTLED:
            continue  # a suppression without a reason is reported as such
        if final.status is Status.DEFERRED:
            detail = f"deferred ({final.reason}) but never released"
        else:
            detail = (f"ended {final.status.value} at {final.at:.3f}"
                      + (f" ({final.reason})" if final.reason else ""))
        found.append(Anomaly("lost", nid, f"{acc.entry.channel.value} to "
                                          f"{acc.entry.address or '-'}: {detail}"))
    return found


def _effects(accepted: dict[str, _Accepted], history: dict[str, list[StatusChange]],
             effects: Sequence[ProviderEffect], settings: _SettingsTimeline) -> list[Anomaly]:
    found = []
    groups: dict[tuple[str, Channel, str], list[ProviderEffect]] = defaultdict(list)
    for pe in effects:
        effect = pe.effect
        acc = accepted.get(effect.notification_id)
        if acc is None:
            found.append(Anomaly("unexplained_effect", effect.notification_id,
                                 f"{effect.provider} sent to {effect.address} at "
                                 f"{effect.at:.3f}, but no request was accepted for it"))
            event = effect.idempotency_key.split("|", 1)[0]
            groups[(event, pe.channel, effect.address)].append(pe)
            continue
        groups[(acc.record.request.event_id, pe.channel, effect.address)].append(pe)
        if acc.entry.status is Status.SUPPRESSED:
            found.append(Anomaly("suppressed_but_sent", effect.notification_id,
                                 f"suppressed at intake ({acc.entry.reason or 'no reason'}), "
                                 f"yet {effect.provider} sent it at {effect.at:.3f}"))
        found += _settings_violations(pe, acc, history.get(effect.notification_id, []),
                                      settings)
    for (event, channel, address), group in groups.items():
        if len(group) > 1:
            via = ", ".join(f"{g.effect.provider}@{g.effect.at:.3f} ({g.effect.notification_id})"
                            for g in group)
            found.append(Anomaly("duplicate_effect", event,
                                 f"{len(group)} effects on {channel.value} to {address}: {via}"))
    for nid, changes in history.items():
        acc = accepted.get(nid)
        if acc is None or not any(c.status is Status.SENT for c in changes):
            continue
        entry = acc.entry
        if (acc.record.request.event_id, entry.channel, entry.address) not in groups:
            found.append(Anomaly("phantom_sent", nid,
                                 f"logged sent, but no provider produced it ({entry.channel.value}"
                                 f" to {entry.address})"))
    return found


def _settings_violations(pe: ProviderEffect, acc: _Accepted,
                         changes: Sequence[StatusChange],
                         settings: _SettingsTimeline) -> list[Anomaly]:
    request, prefs = acc.record.request, acc.record.preferences
    if request.critical:
        return []
    found = []
    nid, channel, at = pe.effect.notification_id, pe.channel, pe.effect.at
    if channel not in prefs.channels:
        found.append(Anomaly("opt_out_violated", nid,
                             f"sent on {channel.value}, opted out of the channel"))
    elif request.category not in prefs.categories:
        found.append(Anomaly("opt_out_violated", nid,
                             f"{request.category.value} sent on {channel.value}, opted out "
                             "of the category"))
    elif (released := _released_at(changes)) is not None and (
            what := _opted_out(settings.at(acc, released), acc)) is not None:
        found.append(Anomaly("opt_out_violated", nid,
                             f"sent on {channel.value} after its deferral, though the user "
                             f"had opted out ({what}) before its release at {released:.3f}"))
    quiet = prefs.quiet_hours
    if quiet is not None:
        ends = quiet_window_end(quiet, prefs.zone, at)
        queued = next((c.at for c in changes if c.status is Status.QUEUED), acc.record.at)
        if ends is not None and quiet_window_end(quiet, prefs.zone, queued) == ends:
            found.append(Anomaly(
                "quiet_hours_violated", nid,
                f"sent on {channel.value} at {_local(prefs, at)} {prefs.time_zone}, inside "
                f"quiet hours {quiet} (queued at {_local(prefs, queued)}, same window)",
            ))
    return found


def _charged(record: RequestRecord,
             granted: dict[tuple[str, str, Channel, str], float]) -> list[Channel]:
    """The channels on which ``record`` took a unit of its user's rate limit: once per
    (user, channel) per non-critical request that passed the limit (queued or deferred),
    however many devices, unless every address it reached there was already granted for
    this event within the idempotency window (a repeated event is not charged again).
    ``granted`` remembers each (user, event, channel, address) grant's time, in request
    order."""
    request = record.request
    if request.critical:
        return []
    charged = []
    for channel in dict.fromkeys(e.channel for e in record.entries if e.status in _COUNTED):
        keys = [(request.user_id, request.event_id, channel, e.address)
                for e in record.entries if e.channel is channel]
        new = [k for k in keys if record.at >= granted.get(k, -math.inf) + IDEMPOTENCY_WINDOW_S]
        if new:
            granted.update(dict.fromkeys(new, record.at))
            charged.append(channel)
    return charged


def _rate_limit(requests: Sequence[RequestRecord],
                rate_limit: tuple[int, float]) -> list[Anomaly]:
    limit, window_s = rate_limit
    window_us = round(window_s * US_PER_S)
    times: dict[tuple[str, Channel], list[int]] = defaultdict(list)
    granted: dict[tuple[str, str, Channel, str], float] = {}
    for record in requests:
        for channel in _charged(record, granted):
            times[(record.request.user_id, channel)].append(round(record.at * US_PER_S))
    found = []
    for (user, channel), stamps in sorted(times.items()):
        stamps.sort()
        for i in range(len(stamps) - limit):
            span_us = stamps[i + limit] - stamps[i]
            if span_us < window_us:
                found.append(Anomaly(
                    "rate_limit_exceeded", f"{user}|{channel.value}",
                    f"{limit + 1} accepted within {span_us / US_PER_S:.3f} s "
                    f"(limit {limit} per {window_s:g} s), from t={stamps[i] / US_PER_S:.3f}",
                ))
                break  # one report per (user, channel)
    return found


def _quiet_hours_dropped(accepted: dict[str, _Accepted],
                         history: dict[str, list[StatusChange]],
                         settings: _SettingsTimeline) -> list[Anomaly]:
    found = []
    for nid, acc in accepted.items():
        request, prefs, entry = acc.record.request, acc.record.preferences, acc.entry
        changes = history.get(nid, [])
        dropped = next((after for before, after in pairwise(changes)
                        if before.status is Status.DEFERRED
                        and after.status is Status.SUPPRESSED), None)
        if dropped is not None:
            what = _opted_out(settings.at(acc, dropped.at), acc)
            if what is None:
                found.append(Anomaly("quiet_hours_dropped", nid,
                                     "deferred, then suppressed instead of released"))
            elif not dropped.reason.startswith(f"opted_out:{what}"):
                found.append(Anomaly("false_suppression", nid,
                                     f"suppressed at its release for {dropped.reason!r}; the "
                                     f"user had opted out of {what}"))
            continue
        quiet = prefs.quiet_hours
        if (request.critical or quiet is None or entry.status is not Status.SUPPRESSED
                or entry.channel not in prefs.channels
                or request.category not in prefs.categories
                or entry.reason.startswith(_NOT_A_DROP)):
            continue
        if quiet_window_end(quiet, prefs.zone, acc.record.at) is not None:
            found.append(Anomaly(
                "quiet_hours_dropped", nid,
                f"requested at {_local(prefs, acc.record.at)} {prefs.time_zone} inside quiet "
                f"hours {quiet}, suppressed ({entry.reason or 'no reason'}) instead of deferred",
            ))
    return found


def _dead_letters(history: dict[str, list[StatusChange]],
                  alerts: Sequence[Alert]) -> list[Anomaly]:
    alerted = {a.notification_id for a in alerts}
    return [
        Anomaly("dead_letter_unalerted", nid, "dead-lettered without an alert")
        for nid, changes in history.items()
        if any(c.status is Status.DEAD_LETTERED for c in changes) and nid not in alerted
    ]


def _false_suppressions(requests: Sequence[RequestRecord],
                        rate_limit: tuple[int, float]) -> list[Anomaly]:
    """Check each intake suppression's reason against the recorded settings, address and
    grants (a notification dropped for a reason that does not hold is dropped for none)."""
    limit, window_s = rate_limit
    window_us = round(window_s * US_PER_S)
    grants: dict[tuple[str, Channel], list[int]] = defaultdict(list)  # in request order
    granted: dict[tuple[str, str, Channel, str], float] = {}
    found = []
    for record in requests:
        request, prefs = record.request, record.preferences
        now_us = round(record.at * US_PER_S)
        for entry in record.entries:
            if entry.status is not Status.SUPPRESSED:
                continue
            reason, channel = entry.reason, entry.channel
            if reason == f"opted_out:channel={channel.value}":
                holds = not request.critical and channel not in prefs.channels
            elif reason == f"opted_out:category={request.category.value}":
                holds = (not request.critical and channel in prefs.channels
                         and request.category not in prefs.categories)
            elif reason == f"no_contact:channel={channel.value}":
                holds = not entry.address
            elif reason == f"rate_limited:channel={channel.value}":
                recent = [t for t in grants[(request.user_id, channel)]
                          if now_us - window_us < t <= now_us]
                holds = not request.critical and len(recent) >= limit
            else:
                holds = not reason.strip()  # reported as suppressed_without_reason
            if not holds:
                found.append(Anomaly("false_suppression", entry.notification_id,
                                     f"{channel.value} suppressed at {record.at:.3f} for "
                                     f"{reason!r}, which the recorded history contradicts"))
        for channel in _charged(record, granted):
            grants[(request.user_id, channel)].append(now_us)
    return found


def _transitions(accepted: dict[str, _Accepted],
                 history: dict[str, list[StatusChange]]) -> list[Anomaly]:
    """Each log: ``accepted`` first, then the receipt's status, then only legal steps."""
    found = []
    for nid, changes in history.items():
        statuses = [c.status for c in changes]
        acc = accepted.get(nid)
        expected = acc.entry.status if acc is not None else None
        if statuses[0] is not Status.ACCEPTED:
            problem = f"starts {statuses[0].value}, not accepted"
        elif expected is not None and statuses[1:2] != [expected]:
            said = statuses[1].value if len(statuses) > 1 else "nothing"
            problem = f"the receipt said {expected.value}, the log says {said}"
        else:
            problem = next((f"{a.value} -> {b.value}" for a, b in pairwise(statuses)
                            if b not in ALLOWED_TRANSITIONS[a]), "") or next(
                (f"{b.status.value} at {b.at!r} is logged after {a.status.value} at {a.at!r}"
                 for a, b in pairwise(changes) if b.at < a.at), "")
        if problem:
            found.append(Anomaly("illegal_transition", nid, problem))
    return found
