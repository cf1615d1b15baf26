"""The seeded scenario and its checker: many stormy seeds break no promise, the same seed
replays the same history on every backend, and the checker names each injected anomaly —
in hand-edited histories and in runs with a deliberately broken component."""

from __future__ import annotations

import os
import random
import uuid
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime, time, timedelta
from functools import cache

import pytest

from reference.core import checking as core_checking
from reference.core.errors import InvalidArgument
from reference.notification.api import NotificationAPI, ReceiptEntry
from reference.notification.checker import (
    ANOMALY_KINDS,
    CHECKER_SPEC,
    Anomaly,
    CheckReport,
    check,
)
from reference.notification.model import Channel, Status, StatusChange
from reference.notification.mutants import (
    AlwaysAllows,
    ForgetfulProvider,
    ForgetsOptOuts,
    ForgetsQuietHours,
)
from reference.notification.providers import (
    PROVIDER_CHAINS,
    Effect,
    SimulatedProvider,
)
from reference.notification.retry import Alert
from reference.notification.scenario import (
    Outage,
    ProviderEffect,
    RequestRecord,
    ScenarioConfig,
    ScenarioResult,
    build_system,
    run_scenario,
)
from reference.notification.settings import Preferences, QuietHours
from reference.notification.system import NotificationSystem
from reference.storage import Store

S = Status
STORMY = ScenarioConfig.stormy()
SMALL = ScenarioConfig.calm().scaled(users=8, events=16)
MEMORY_SEEDS = range(40)
CLEAN_SEED = 0
_NO_REDIS = "REDIS_URL is not set: the real-Redis leg runs in CI"


@cache
def stormy(seed: int) -> ScenarioResult:
    """One stormy run per seed, shared by the tests of this module."""
    return run_scenario(STORMY, seed)


def failure_message(result: ScenarioResult, report: CheckReport) -> str:
    return (f"seed={result.seed} backend={result.backend} "
            f"fingerprint={result.fingerprint()}\n{report.summary(limit=20)}")


# ── many seeds, every backend ────────────────────────────────────────────────────────────


@pytest.mark.parametrize("seed", MEMORY_SEEDS)
def test_a_stormy_day_breaks_no_promise_on_the_memory_backend(seed: int) -> None:
    result = stormy(seed)
    report = check(result)
    assert report.ok, failure_message(result, report)


def test_the_stormy_seeds_really_exercise_every_fault() -> None:
    results = [stormy(seed) for seed in MEMORY_SEEDS]
    changes = [c for r in results for c in r.changes]
    reasons = [c.reason for c in changes]
    assert sum(len(r.crashes) for r in results) >= 20
    assert sum(len(r.queue_duplicates) for r in results) >= 100
    assert sum(len(r.settings_changes) for r in results) >= 40
    assert sum(r.statistics.workers.fallbacks for r in results) >= 20
    assert sum(r.broker_losses for r in results) >= 40
    assert sum(r.statistics.records.recovered for r in results if r.statistics.records) >= 20
    assert sum(r.statistics.api.opted_out_while_deferred for r in results) >= 1
    assert sum(r.startswith("duplicate:") for r in reasons) >= 50  # duplicate events
    assert sum(r.startswith("released:quiet_hours") for r in reasons) >= 50
    assert sum(r.startswith("rate_limited:") for rec in (x for r in results for x in r.requests)
               for r in (e.reason for e in rec.entries)) >= 20
    assert any("device token removed" in r for r in reasons)
    assert any(c.status is S.DELIVERED for c in changes)


@pytest.mark.parametrize(
    ("backend", "seed"),
    [pytest.param("fakeredis", seed, id=f"fakeredis-{seed}") for seed in (0, 1, 2)]
    + [pytest.param("redis", seed, id=f"redis-{seed}",
                    marks=pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason=_NO_REDIS))
       for seed in (0, 1)],
)
def test_a_stormy_day_replays_identically_and_cleanly_on_redis_backends(
    backend: str, seed: int,
) -> None:
    namespace = f"test-scenario-{uuid.uuid4().hex[:12]}"  # private keys on a shared server
    result = run_scenario(STORMY, seed, backend=backend,  # type: ignore[arg-type]
                          namespace=namespace)
    report = check(result)
    assert report.ok, failure_message(result, report)
    assert result.fingerprint() == stormy(seed).fingerprint(), f"seed={seed}"


def test_the_same_seed_gives_the_same_history_and_another_seed_does_not() -> None:
    again = run_scenario(STORMY, 3)
    assert again == stormy(3)
    assert again.fingerprint() == stormy(3).fingerprint()
    assert again.fingerprint() != stormy(4).fingerprint()


def test_a_progress_bar_changes_nothing_but_the_screen(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_scenario(SMALL, 5, progress=True) == run_scenario(SMALL, 5)
    assert "events" in capsys.readouterr().err


@pytest.mark.parametrize(
    "changes",
    [{"users": 0}, {"crash_rate": 1.5}, {"rate_limit": (0, 60.0)}, {"time_zones": ("Mars/Base",)},
     {"transient_rate": 0.7, "permanent_rate": 0.7}, {"horizon_s": float("nan")}],
)
def test_a_bad_config_is_rejected_with_a_clear_error(changes: Mapping[str, object]) -> None:
    with pytest.raises(ValueError, match="is invalid"):
        replace(STORMY, **changes)  # type: ignore[arg-type]


def test_an_outage_must_name_a_provider_and_a_window() -> None:
    with pytest.raises(ValueError, match="provider"):
        Outage("pigeon-post", 0.0, 10.0)
    with pytest.raises(ValueError, match="start_s < end_s"):
        Outage("apns", 10.0, 10.0)


# ── the checker against hand-edited histories ────────────────────────────────────────────


@pytest.fixture(scope="module")
def clean() -> ScenarioResult:
    result = stormy(CLEAN_SEED)
    assert check(result).ok
    return result


def kinds_of(report: CheckReport) -> dict[str, int]:
    return {kind: n for kind, n in report.counts.items() if n}


def kinds(result: ScenarioResult) -> dict[str, int]:
    return kinds_of(check(result))


def history(result: ScenarioResult, nid: str) -> list[StatusChange]:
    return [c for c in result.changes if c.notification_id == nid]


def records(result: ScenarioResult) -> dict[str, tuple[RequestRecord, ReceiptEntry]]:
    return {e.notification_id: (r, e) for r in result.requests for e in r.entries}


def sent_effect(result: ScenarioResult) -> ProviderEffect:
    """An effect of a non-critical notification that was queued at once (not deferred)."""
    by_nid = records(result)
    for pe in result.effects:
        record, entry = by_nid[pe.effect.notification_id]
        if not record.request.critical and entry.status is S.QUEUED:
            return pe
    raise AssertionError("the clean history has no non-critical effect")


def with_record(result: ScenarioResult, nid: str, **changes: object) -> ScenarioResult:
    requests = tuple(
        replace(r, **changes) if any(e.notification_id == nid for e in r.entries) else r
        for r in result.requests
    )
    return replace(result, requests=requests)


def test_a_notification_stuck_in_the_queue_is_lost(clean: ScenarioResult) -> None:
    nid = sent_effect(clean).effect.notification_id
    stuck = tuple(c for c in clean.changes
                  if not (c.notification_id == nid and c.status in (S.SENT, S.DELIVERED)))
    edited = replace(clean, changes=stuck)
    assert kinds(edited) == {"lost": 1}
    [anomaly] = check(edited).anomalies
    assert anomaly.subject == nid and "ended queued" in anomaly.detail


def test_a_deferred_notification_never_released_is_lost(clean: ScenarioResult) -> None:
    released = next(c.notification_id for c in clean.changes
                    if c.reason == "released:quiet_hours_ended")
    kept = tuple(c for c in clean.changes if c.notification_id != released
                 or c.status in (S.ACCEPTED, S.DEFERRED))
    edited = replace(clean, changes=kept,
                     effects=tuple(pe for pe in clean.effects
                                   if pe.effect.notification_id != released))
    report = check(edited)
    assert report.counts["lost"] == 1, report.summary()
    assert "never released" in report.of_kind("lost")[0].detail


def test_a_notification_missing_from_the_log_is_lost(clean: ScenarioResult) -> None:
    nid = sent_effect(clean).effect.notification_id
    edited = replace(clean, changes=tuple(c for c in clean.changes if c.notification_id != nid))
    assert check(edited).of_kind("lost")[0].detail.endswith("never recorded in the log")


def test_a_send_the_providers_never_made_is_phantom(clean: ScenarioResult) -> None:
    pe = sent_effect(clean)
    edited = replace(clean, effects=tuple(e for e in clean.effects if e is not pe))
    assert kinds(edited) == {"phantom_sent": 1}


def test_a_second_effect_for_the_same_event_channel_and_address_is_a_duplicate(
    clean: ScenarioResult,
) -> None:
    pe = sent_effect(clean)
    copy = replace(pe, effect=replace(pe.effect, provider="late-copy", at=pe.effect.at + 60))
    edited = replace(clean, effects=(*clean.effects, copy))
    assert kinds(edited) == {"duplicate_effect": 1}
    assert "late-copy" in check(edited).anomalies[0].detail


def test_an_effect_nobody_asked_for_is_unexplained(clean: ScenarioResult) -> None:
    stray = ProviderEffect(Channel.SMS, Effect("evt-x|sms|+15550000", "999", "+15550000",
                                               "t", "b", "sms-primary", clean.started_at))
    assert kinds(replace(clean, effects=(*clean.effects, stray))) == {"unexplained_effect": 1}


def test_an_effect_on_an_opted_out_channel_or_category_violates_the_opt_out(
    clean: ScenarioResult,
) -> None:
    pe = sent_effect(clean)
    record, _ = records(clean)[pe.effect.notification_id]
    no_channel = record.preferences.with_channel(pe.channel, False)
    no_category = record.preferences.with_category(record.request.category, False)
    for prefs in (no_channel, no_category):
        report = check(with_record(clean, pe.effect.notification_id, preferences=prefs))
        assert set(kinds_of(report)) == {"opt_out_violated"}  # its siblings' effects too
        assert pe.effect.notification_id in {a.subject for a in report.anomalies}


def quiet_around(prefs: Preferences, at: float, *, before_h: int, after_h: int) -> Preferences:
    local = datetime.fromtimestamp(at, prefs.zone)
    start, end = local - timedelta(hours=before_h), local + timedelta(hours=after_h)
    return replace(prefs, quiet_hours=QuietHours(time(start.hour), time(end.hour)))


def test_an_effect_inside_quiet_hours_queued_in_the_same_window_is_a_violation(
    clean: ScenarioResult,
) -> None:
    pe = sent_effect(clean)
    record, _ = records(clean)[pe.effect.notification_id]
    quiet = quiet_around(record.preferences, pe.effect.at, before_h=2, after_h=2)
    report = check(with_record(clean, pe.effect.notification_id, preferences=quiet))
    assert set(kinds_of(report)) == {"quiet_hours_violated"}
    assert pe.effect.notification_id in {a.subject for a in report.anomalies}


def test_a_retry_that_slips_into_a_quiet_window_started_after_queueing_is_allowed(
    clean: ScenarioResult,
) -> None:
    pe = sent_effect(clean)
    nid = pe.effect.notification_id
    record, _ = records(clean)[nid]
    queued_at = next(c.at for c in history(clean, nid) if c.status is S.QUEUED)
    slipped = replace(pe, effect=replace(pe.effect, at=queued_at + 3 * 3600))
    quiet = quiet_around(record.preferences, slipped.effect.at, before_h=1, after_h=2)
    edited = with_record(replace(clean, effects=tuple(
        slipped if e is pe else e for e in clean.effects)), nid, preferences=quiet)
    assert check(edited).counts["quiet_hours_violated"] == 0


def test_more_than_the_limit_in_any_sliding_window_is_caught(clean: ScenarioResult) -> None:
    limit, window_s = clean.config.rate_limit  # 3 per 600 s
    pe = sent_effect(clean)
    record, entry = records(clean)[pe.effect.notification_id]

    def burst(*offsets: float) -> ScenarioResult:
        extra = tuple(replace(record, seq=1000 + i, at=record.at + dt,  # new events each
                              request=replace(record.request, event_id=f"burst-{i}"),
                              entries=(replace(entry, notification_id=f"x{i}"),))
                      for i, dt in enumerate(offsets))
        return replace(clean, requests=(*clean.requests, *extra))

    user_records = [r for r in clean.requests if r.request.user_id == record.request.user_id]
    assert len(user_records) < 20  # the user's own traffic stays far from the burst below
    far = 100 * window_s
    # limit + 1 spread over two fixed windows, but inside one sliding window: caught
    assert check(burst(*(far + i * window_s / (limit + 1) for i in range(limit + 1)))
                 ).counts["rate_limit_exceeded"] == 1
    # exactly one window apart: the limiter's window is half-open, so this is allowed
    assert check(burst(*(far + i * window_s / limit for i in range(limit + 1)))
                 ).counts["rate_limit_exceeded"] == 0


def test_a_quiet_hours_request_suppressed_instead_of_deferred_is_a_drop(
    clean: ScenarioResult,
) -> None:
    pe = sent_effect(clean)
    nid = pe.effect.notification_id
    record, entry = records(clean)[nid]
    quiet = quiet_around(record.preferences, record.at, before_h=1, after_h=3)
    dropped = replace(entry, status=S.SUPPRESSED, reason="dropped:too_late")
    edited = replace(with_record(clean, nid, preferences=quiet), requests=tuple(
        replace(r, entries=tuple(dropped if e is entry else e for e in r.entries))
        for r in with_record(clean, nid, preferences=quiet).requests
    ))
    assert check(edited).counts["quiet_hours_dropped"] == 1
    throttled = replace(dropped, reason="rate_limited:channel=sms")  # legitimately suppressed
    allowed = replace(edited, requests=tuple(
        replace(r, entries=tuple(throttled if e.notification_id == nid else e
                                 for e in r.entries)) for r in edited.requests))
    assert check(allowed).counts["quiet_hours_dropped"] == 0


def test_a_deferred_notification_later_suppressed_is_a_drop(clean: ScenarioResult) -> None:
    deferred = next(c for c in clean.changes if c.status is S.DEFERRED)
    nid = deferred.notification_id
    kept = [c for c in clean.changes if c.notification_id != nid]
    kept += [c for c in history(clean, nid) if c.status in (S.ACCEPTED, S.DEFERRED)]
    kept.append(replace(deferred, status=S.SUPPRESSED, reason="dropped"))
    edited = replace(clean, changes=tuple(kept), effects=tuple(
        e for e in clean.effects if e.effect.notification_id != nid))
    assert kinds(edited) == {"quiet_hours_dropped": 1}


def release_suppression(seed: int) -> tuple[ScenarioResult, StatusChange]:
    """A stormy run in which a deferred notification was suppressed at its release (its
    user opted out while it waited), and that suppression."""
    result = stormy(seed)
    found = next(c for c in result.changes if c.reason.endswith("(while deferred)"))
    return result, found


def test_an_opt_out_made_while_deferred_may_suppress_at_release() -> None:
    result, _ = release_suppression(6)
    assert check(result).ok


def test_a_release_suppression_the_recorded_settings_do_not_explain_is_a_drop_or_false() -> None:
    result, dropped = release_suppression(6)
    user = next(r.request.user_id for r in result.requests for e in r.entries
                if e.notification_id == dropped.notification_id)
    no_change = replace(result, settings_changes=tuple(
        c for c in result.settings_changes if c.user_id != user))
    assert kinds(no_change).get("quiet_hours_dropped") == 1
    other = "opted_out:category=marketing (while deferred)"
    wrong_reason = replace(result, changes=tuple(
        replace(c, reason=other) if c is dropped else c for c in result.changes))
    assert kinds(wrong_reason) == {"false_suppression": 1}


def test_a_settings_change_at_the_instant_of_the_release_comes_after_it() -> None:
    """The system releases at a step, and a step runs before the scenario's actions at the
    same time: an opt-out stamped with the release's instant cannot explain it."""
    result, dropped = release_suppression(6)
    user = next(r.request.user_id for r in result.requests for e in r.entries
                if e.notification_id == dropped.notification_id)
    last_before = max((c for c in result.settings_changes
                       if c.user_id == user and c.at < dropped.at), key=lambda c: c.at)
    at_release = replace(result, settings_changes=tuple(
        replace(c, at=dropped.at) if c is last_before else c for c in result.settings_changes))
    assert "quiet_hours_dropped" in kinds(at_release)


@pytest.mark.parametrize("seed", [6, 7])
def test_releasing_a_job_its_user_opted_out_of_while_it_waited_is_caught(
        seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(NotificationAPI, "opted_out_since", lambda self, job, prefs=None: None)
    report = check(run_scenario(STORMY, seed))
    assert report.counts["opt_out_violated"] >= 1, report.summary()
    assert all("after its deferral" in a.detail for a in report.of_kind("opt_out_violated"))


def test_a_suppression_without_a_reason_is_named(clean: ScenarioResult) -> None:
    target = next(c for c in clean.changes if c.status is S.SUPPRESSED)
    edited = replace(clean, changes=tuple(replace(c, reason="") if c is target else c
                                          for c in clean.changes))
    assert kinds(edited) == {"suppressed_without_reason": 1}


def test_a_dead_letter_needs_an_alert(clean: ScenarioResult) -> None:
    failed = next(c for c in clean.changes if c.status is S.FAILED)
    dead = replace(failed, status=S.DEAD_LETTERED, at=failed.at + 1, reason="out of attempts")
    nid = failed.notification_id
    trail = history(clean, nid)
    kept = [c for c in clean.changes if c.notification_id != nid]
    kept += [*trail[:trail.index(failed) + 1], dead]  # its retries ran out after that failure
    edited = replace(clean, changes=tuple(kept))
    assert kinds(edited) == {"dead_letter_unalerted": 1}
    alert = Alert(dead.at, dead.channel, dead.notification_id, dead.reason)
    assert kinds(replace(edited, alerts=(*edited.alerts, alert))) == {}


def test_the_summary_is_deterministic_text_listing_counts_and_anomalies(
    clean: ScenarioResult,
) -> None:
    effects = tuple(e for e in clean.effects if e.channel is not Channel.EMAIL)
    report = check(replace(clean, effects=effects))
    text = report.summary(limit=2)
    assert text.splitlines()[0].endswith(f"{len(report.anomalies)} anomalies")
    assert f"phantom_sent              {report.counts['phantom_sent']}" in text
    assert text.splitlines()[-1] == f"  ... ({len(report.anomalies) - 2} more)"
    assert text == check(replace(clean, effects=effects)).summary(limit=2)
    assert set(report.counts) == set(ANOMALY_KINDS)


def test_chapter_10_reports_are_core_reports_with_the_summary_text_unchanged() -> None:
    assert CheckReport is core_checking.CheckReport and Anomaly is core_checking.Anomaly
    assert CHECKER_SPEC.kinds == ANOMALY_KINDS
    checked = {"requests": 8, "notifications": 18, "effects": 10, "acquisitions": 8}
    clean = CheckReport(CHECKER_SPEC, (), checked)
    assert clean.summary() == ("checked 8 requests, 18 notifications, 10 effects, "
                               "8 rate-limit acquisitions: no anomaly")
    found = (Anomaly("suppressed_without_reason", "n2", "log at 3.000"),
             Anomaly("lost", "n9", "email to a@example.com: ended queued at 1.000"),
             Anomaly("lost", "n1", "email to b@example.com: ended queued at 2.000"))
    assert CheckReport(CHECKER_SPEC, found, checked).summary(limit=2).splitlines() == [
        "checked 8 requests, 18 notifications, 10 effects, 8 rate-limit acquisitions: "
        "3 anomalies",
        "  lost                      2",
        "  suppressed_without_reason 1",
        "  - lost n1: email to b@example.com: ended queued at 2.000",
        "  - lost n9: email to a@example.com: ended queued at 1.000",
        "  ... (1 more)",
    ]


# ── the checker against deliberately broken components (dependency injection) ─────────────


def broken_run(config: ScenarioConfig, seed: int,
               overrides: Callable[[Store], dict[str, object]]) -> CheckReport:
    """Run the scenario on a system with one component replaced, and check it."""
    def build(store: Store, cfg: ScenarioConfig, s: int) -> NotificationSystem:
        return build_system(store, cfg, s, **overrides(store))

    return check(run_scenario(config, seed, build=build))


def test_a_settings_store_that_ignores_opt_outs_is_caught() -> None:
    config = replace(SMALL, opt_out_rate=1.0, critical_rate=0.0)
    report = broken_run(config, 1, lambda store: {"settings": ForgetsOptOuts(store.kv)})
    assert report.counts["opt_out_violated"] > 0, report.summary()
    assert check(run_scenario(config, 1)).ok


def test_a_settings_store_that_ignores_quiet_hours_is_caught() -> None:
    config = replace(SMALL, quiet_hours_rate=1.0, critical_rate=0.0)
    report = broken_run(config, 2, lambda store: {"settings": ForgetsQuietHours(store.kv)})
    assert report.counts["quiet_hours_violated"] > 0, report.summary()
    assert check(run_scenario(config, 2)).ok


def test_a_rate_limiter_that_always_allows_is_caught() -> None:
    config = replace(SMALL, users=2, rate_limit=(1, 3600.0), critical_rate=0.0)
    report = broken_run(config, 3, lambda store: {"limiter": AlwaysAllows()})
    assert report.counts["rate_limit_exceeded"] > 0, report.summary()
    assert check(run_scenario(config, 3)).ok


def test_providers_without_idempotency_keys_deliver_duplicates_under_crashes() -> None:
    config = replace(SMALL, crash_rate=0.05, transient_rate=0.2)

    def forgetful(seed: int) -> dict[Channel, tuple[SimulatedProvider, ...]]:
        models = config.failure_models()
        return {channel: tuple(ForgetfulProvider(name, channel, rng=random.Random(f"{seed}:{name}"),
                                                 failures=models[name]) for name in names)
                for channel, names in PROVIDER_CHAINS.items()}

    report = broken_run(config, 4, lambda store: {"providers": forgetful(4)})
    assert report.counts["duplicate_effect"] > 0, report.summary()
    assert check(run_scenario(config, 4)).ok


def test_a_broker_that_loses_messages_loses_notifications_without_the_notification_db() -> None:
    lossy = replace(SMALL, queue_loss_rate=0.25)
    report = broken_run(lossy, 5, lambda store: {"stall_after_s": None})
    assert report.counts["lost"] > 0, report.summary()
    assert all("ended queued" in a.detail for a in report.of_kind("lost"))


@pytest.mark.parametrize("seed", range(12))
def test_the_notification_db_recovers_every_message_the_broker_loses(seed: int) -> None:
    result = run_scenario(replace(ScenarioConfig.stormy(), queue_loss_rate=0.25), seed)
    report = check(result)
    assert report.ok, f"seed {seed}: {report.summary()}"
    records = result.statistics.records
    assert records is not None and records.open == 0
    assert result.broker_losses > 0 and records.recovered > 0


def with_entry(result: ScenarioResult, nid: str, **changes: object) -> ScenarioResult:
    """``result`` with the receipt entry of ``nid`` changed."""
    requests = tuple(
        replace(r, entries=tuple(replace(e, **changes) if e.notification_id == nid else e
                                 for e in r.entries))  # type: ignore[arg-type]
        for r in result.requests
    )
    return replace(result, requests=requests)


def with_history(result: ScenarioResult, nid: str, *trail: StatusChange) -> ScenarioResult:
    """``result`` with the log of ``nid`` replaced by ``trail`` and its effects gone."""
    return replace(
        result,
        changes=(*(c for c in result.changes if c.notification_id != nid), *trail),
        effects=tuple(pe for pe in result.effects if pe.effect.notification_id != nid),
    )


def dropped_at_intake(result: ScenarioResult, reason: str) -> tuple[ScenarioResult, str]:
    """A queued, non-critical notification rewritten as suppressed at intake for ``reason``
    (``{channel}`` filled in): its receipt, its log and its effects agree."""
    pe = sent_effect(result)
    nid = pe.effect.notification_id
    accepted = history(result, nid)[0]
    why = reason.format(channel=pe.channel.value)
    edited = with_entry(result, nid, status=S.SUPPRESSED, reason=why)
    return with_history(edited, nid, accepted,
                        replace(accepted, status=S.SUPPRESSED, reason=why)), nid


@pytest.mark.parametrize("reason", ["rate_limited:channel={channel}",
                                    "opted_out:channel={channel}", "no_contact:channel={channel}",
                                    "lost_in_the_mail"])
def test_a_suppression_whose_reason_the_history_contradicts_is_false(
    clean: ScenarioResult, reason: str
) -> None:
    edited, nid = dropped_at_intake(clean, reason)
    assert kinds(edited) == {"false_suppression": 1}
    assert check(edited).anomalies[0].subject == nid


def test_a_rate_limited_suppression_holds_when_the_window_is_full() -> None:
    tight = run_scenario(replace(SMALL, rate_limit=(1, 3600.0)), CLEAN_SEED)
    limited = [e for r in tight.requests for e in r.entries
               if e.reason.startswith("rate_limited:")]
    assert limited, "a limit of 1 per hour must suppress some requests"
    assert check(tight).ok, check(tight).summary()
    looser = replace(tight, config=replace(tight.config, rate_limit=(2, 3600.0)))
    false = check(looser).of_kind("false_suppression")  # the recorded window was not full
    assert 0 < len(false) <= len(limited)


def test_an_effect_of_a_notification_suppressed_at_intake_is_named(
    clean: ScenarioResult,
) -> None:
    edited, nid = dropped_at_intake(clean, "no_contact:channel={channel}")
    pe = sent_effect(clean)
    edited = with_entry(edited, nid, address="")  # the reason holds: no address then
    edited = replace(edited, effects=(*edited.effects, pe))
    assert kinds(edited) == {"suppressed_but_sent": 1}


def test_a_log_that_skips_the_state_machine_or_contradicts_the_receipt_is_illegal(
    clean: ScenarioResult,
) -> None:
    deferred = next(c for c in clean.changes if c.status is S.DEFERRED)
    nid = deferred.notification_id
    accepted = history(clean, nid)[0]
    dead = replace(deferred, status=S.DEAD_LETTERED, at=deferred.at + 1, reason="gave up")
    alert = Alert(dead.at, dead.channel, nid, dead.reason)
    skipped = replace(with_history(clean, nid, accepted, deferred, dead),
                      alerts=(*clean.alerts, alert))
    assert kinds(skipped) == {"illegal_transition": 1}
    assert "deferred -> dead_lettered" in check(skipped).anomalies[0].detail
    queued = replace(deferred, status=S.QUEUED, reason="")
    sent = replace(deferred, status=S.SENT, at=deferred.at + 1, reason="via nowhere")
    contradicts = with_history(clean, nid, accepted, queued, sent)
    report = check(contradicts)
    assert report.counts["illegal_transition"] == 1
    assert "the receipt said deferred, the log says queued" in report.summary()


def test_the_checker_refuses_something_that_is_not_a_history() -> None:
    with pytest.raises(InvalidArgument, match=r"exercises\.check"):
        check("dedupe-claim")  # type: ignore[arg-type]


def test_a_log_whose_times_go_backwards_is_illegal(clean: ScenarioResult) -> None:
    delivered = next(c for c in clean.changes if c.status is S.DELIVERED)
    nid = delivered.notification_id
    trail = history(clean, nid)
    sent = next(c for c in trail if c.status is S.SENT)
    early = replace(delivered, at=sent.at - 5.0)
    backwards = replace(clean, changes=tuple(early if c == delivered else c
                                             for c in clean.changes))
    report = check(backwards)
    assert kinds(backwards) == {"illegal_transition": 1}
    assert f"delivered at {early.at!r} is logged after sent at {sent.at!r}" in report.summary()
