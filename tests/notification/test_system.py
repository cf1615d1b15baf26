"""The bootstrap end to end: a signed request through the API, the queues, the workers and the
providers to the log, on every storage backend — plus the regressions the checker found."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from reference.blocks.idempotency import IdempotencyStore
from reference.core.clock import FakeClock, SystemClock
from reference.core.errors import InvalidArgument, NotFound
from reference.core.faults import CrashPlan
from reference.notification.model import Category, Channel, CrashPoint, NotificationRequest, Status
from reference.notification.providers import NO_FAILURES, PROVIDER_CHAINS, FailureModel
from reference.notification.retry import RetryPolicy
from reference.notification.settings import Preferences, QuietHours
from reference.notification.system import NotIdle, NotificationSystem
from reference.storage import Store, connect

S = Status
PERFECT = {name: NO_FAILURES for chain in PROVIDER_CHAINS.values() for name in chain}
TEMPLATE = ("order_shipped", "Shipped", "Order ${order} is on its way")


def make_system(store: Store, **kwargs: object) -> NotificationSystem:
    kwargs.setdefault("failures", "none")
    system = NotificationSystem.create(store, seed=3, **kwargs)  # type: ignore[arg-type]
    name, title, body = TEMPLATE
    system.publish_template(name, title=title, body=body)
    return system


def request(event: str, user: str, *channels: Channel, **changes: object) -> NotificationRequest:
    return NotificationRequest(event, user, TEMPLATE[0], {"order": 42},
                               channels=channels or tuple(Channel), **changes)  # type: ignore[arg-type]


def statuses(system: NotificationSystem, nid: str) -> list[Status]:
    return [c.status for c in system.log.history(nid)]


def effects(system: NotificationSystem, channel: Channel) -> list[tuple[str, str]]:
    return [(e.provider, e.address) for p in system.providers[channel]
            for e in p.sent]  # type: ignore[attr-defined]


# ── the happy path on every backend ──────────────────────────────────────────────────────


def test_a_signed_request_reaches_every_device_phone_and_email_and_is_logged_delivered(
    store: Store,
) -> None:
    system = make_system(store)
    system.register_user("ada", ios=["ios-tok-1"], android=["fcm-tok-1"],
                         phone="+14155550100", email="ada@example.com")
    receipt = system.client().send(request("evt-1", "ada"))
    assert [(e.channel, e.address, e.status) for e in receipt.entries] == [
        (Channel.IOS_PUSH, "ios-tok-1", S.QUEUED),
        (Channel.ANDROID_PUSH, "fcm-tok-1", S.QUEUED),
        (Channel.SMS, "+14155550100", S.QUEUED),
        (Channel.EMAIL, "ada@example.com", S.QUEUED),
    ]
    system.run_until_idle()
    assert {c: effects(system, c) for c in Channel} == {
        Channel.IOS_PUSH: [("apns", "ios-tok-1")],
        Channel.ANDROID_PUSH: [("fcm", "fcm-tok-1")],
        Channel.SMS: [("sms-primary", "+14155550100")],
        Channel.EMAIL: [("email-primary", "ada@example.com")],
    }
    for entry in receipt.entries:
        assert statuses(system, entry.notification_id) == [S.ACCEPTED, S.QUEUED, S.SENT,
                                                           S.DELIVERED]
    assert system.pending().idle


def test_statistics_gather_every_component_after_a_run(store: Store) -> None:
    system = make_system(store)
    system.register_user("ada", ios=["ios-tok-1"], email="ada@example.com")
    system.client().send(request("evt-1", "ada", Channel.IOS_PUSH, Channel.EMAIL))
    system.run_until_idle()
    stats = system.statistics()
    assert (stats.api.accepted, stats.auth.verified, stats.workers.sent) == (1, 1, 2)
    assert stats.rate_limiter is not None and stats.rate_limiter.allowed == 2
    assert stats.acquisitions == 2 and stats.log.notifications == 2
    assert all(q.lag == 0 and q.acked == 1 for c, q in stats.queues
               if c in (Channel.IOS_PUSH, Channel.EMAIL))
    assert [name for name, _ in stats.providers] == [n for c in Channel
                                                     for n in PROVIDER_CHAINS[c]]
    assert stats.monitor.samples >= 4 and stats.steps >= 1 and stats.alerts == 0


# ── settings, duplicates, rate limits ────────────────────────────────────────────────────


def test_quiet_hours_defer_a_notification_until_the_window_ends_then_release_it(
    store: Store, clock: FakeClock,
) -> None:
    system = make_system(store)  # the clock starts at 22:13 UTC
    system.register_user("bo", email="bo@example.com", preferences=Preferences(
        time_zone="UTC", quiet_hours=QuietHours.parse("22:00-07:00")))
    [entry] = system.client().send(request("evt-1", "bo", Channel.EMAIL,
                                           category=Category.SOCIAL)).entries
    window_ends = datetime(2023, 11, 15, 7, 0, tzinfo=UTC).timestamp()
    assert (entry.status, entry.due_at) == (S.DEFERRED, window_ends)
    system.run_until(window_ends - 1.0)
    assert effects(system, Channel.EMAIL) == []
    steps = system.run_until_idle()
    [effect] = system.providers[Channel.EMAIL][0].sent  # type: ignore[attr-defined]
    assert effect.at >= window_ends
    assert statuses(system, entry.notification_id) == [S.ACCEPTED, S.DEFERRED, S.QUEUED,
                                                       S.SENT, S.DELIVERED]
    assert steps < 20  # the idle night is one jump, not 31,000 one-second ticks


def test_a_critical_notification_ignores_quiet_hours_and_opt_outs(store: Store) -> None:
    system = make_system(store)
    prefs = Preferences(time_zone="UTC", quiet_hours=QuietHours.parse("22:00-07:00"))
    system.register_user("bo", phone="+14155550101",
                         preferences=prefs.with_channel(Channel.SMS, False))
    [entry] = system.client().send(request("evt-1", "bo", Channel.SMS, critical=True,
                                           category=Category.SECURITY)).entries
    system.run_until_idle()
    assert entry.status is S.QUEUED
    assert effects(system, Channel.SMS) == [("sms-primary", "+14155550101")]


def test_a_duplicate_event_has_one_effect_and_its_copy_is_suppressed_as_a_duplicate(
    store: Store,
) -> None:
    system = make_system(store)
    system.register_user("cy", phone="+14155550102", email="cy@example.com")
    client = system.client()
    first = client.send(request("evt-7", "cy", Channel.SMS, Channel.EMAIL))
    second = client.send(request("evt-7", "cy", Channel.SMS, Channel.EMAIL))  # a new nonce
    system.run_until_idle()
    assert effects(system, Channel.SMS) == [("sms-primary", "+14155550102")]
    assert effects(system, Channel.EMAIL) == [("email-primary", "cy@example.com")]
    for entry in first.entries:
        assert statuses(system, entry.notification_id)[-1] is S.DELIVERED
    for entry in second.entries:  # not left "queued" forever: suppressed, saying why
        last = system.log.history(entry.notification_id)[-1]
        assert last.status is S.SUPPRESSED and last.reason.startswith("duplicate:")


def test_the_per_user_rate_limit_suppresses_the_third_request_and_records_each_question(
    store: Store,
) -> None:
    system = make_system(store, rate_limit=(2, 60.0))
    system.register_user("dee", phone="+14155550103")
    client = system.client()
    outcomes = [client.send(request(f"evt-{i}", "dee", Channel.SMS)).entries[0]
                for i in range(3)]
    critical = client.send(request("evt-9", "dee", Channel.SMS, critical=True)).entries[0]
    assert [e.status for e in outcomes] == [S.QUEUED, S.QUEUED, S.SUPPRESSED]
    assert outcomes[2].reason == "rate_limited:channel=sms" and critical.status is S.QUEUED
    assert system.limiter is not None
    assert [(a.key, a.allowed) for a in system.limiter.acquisitions] == [
        ("dee|sms", True), ("dee|sms", True), ("dee|sms", False)]  # critical: never asked


# ── failures ─────────────────────────────────────────────────────────────────────────────


def test_an_email_provider_outage_falls_back_to_the_backup_provider(
    store: Store, clock: FakeClock,
) -> None:
    now = clock.now()
    failures = PERFECT | {"email-primary": NO_FAILURES.with_outage(now, now + 3600)}
    system = make_system(store, failures=failures)
    system.register_user("eve", email="eve@example.com")
    [entry] = system.client().send(request("evt-1", "eve", Channel.EMAIL)).entries
    system.run_until_idle()
    assert effects(system, Channel.EMAIL) == [("email-backup", "eve@example.com")]
    history = system.log.history(entry.notification_id)
    assert any("falling back" in c.reason for c in history if c.status is S.FAILED)
    assert [c.reason for c in history if c.status is S.SENT] == ["via email-backup"]
    assert system.statistics().workers.fallbacks == 1


def test_a_permanently_invalid_device_token_is_removed_from_the_contact_book(
    store: Store,
) -> None:
    system = make_system(store)
    system.register_user("fay", ios=["ios-old", "ios-new"])
    system.providers[Channel.IOS_PUSH][0].invalidate("ios-old")  # type: ignore[attr-defined]
    receipt = system.client().send(request("evt-1", "fay", Channel.IOS_PUSH))
    system.run_until_idle()
    assert system.contacts.get("fay").ios_tokens == ("ios-new",)
    assert system.contacts.owner_of("ios-old") is None
    old, new = sorted(receipt.entries, key=lambda e: e.address != "ios-old")
    last = system.log.history(old.notification_id)[-1]
    assert last.status is S.SUPPRESSED and "device token removed" in last.reason
    assert statuses(system, new.notification_id)[-1] is S.DELIVERED


def test_run_until_idle_names_the_work_left_when_a_channel_has_no_workers(store: Store) -> None:
    system = make_system(store, pool_sizes={Channel.SMS: 0})
    system.register_user("gus", phone="+14155550104")
    system.client().send(request("evt-1", "gus", Channel.SMS))
    with pytest.raises(NotIdle, match="queued=1"):
        system.run_until_idle(max_steps=5)


def test_a_channel_without_workers_makes_the_monitor_advise_adding_one(
    store: Store, clock: FakeClock,
) -> None:
    system = make_system(store, pool_sizes={Channel.SMS: 0})
    system.register_user("gus", phone="+14155550104")
    system.client().send(request("evt-1", "gus", Channel.SMS))
    first = system.step()
    assert (first.released, first.consumed, first.sent, first.crashes) == (0, 0, 0, 0)
    assert system.advise() == []
    system.run_until(clock.now() + 120.0)
    [advice] = system.advise()
    assert (advice.channel, advice.add_workers) == (Channel.SMS, 1)
    assert "oldest message 120 s old" in advice.reason


# ── the bootstrap's own contract ─────────────────────────────────────────────────────────


def test_the_system_needs_a_fake_clock_for_its_simulator_to_move() -> None:
    with connect("memory", clock=SystemClock()) as store:
        with pytest.raises(InvalidArgument, match="FakeClock"):
            NotificationSystem.create(store, seed=1)
        with pytest.raises(NotFound):  # refused before any consumer group was created
            store.queue.statistics("notify.sms", "workers")


def test_bad_arguments_are_rejected_before_anything_is_written(store: Store) -> None:
    with pytest.raises(InvalidArgument, match="limit"):
        NotificationSystem.create(store, seed=1, rate_limit=(0, 60.0))
    with pytest.raises(InvalidArgument, match="seed"):
        NotificationSystem.create(store, seed=1.5)  # type: ignore[arg-type]
    system = make_system(store)
    with pytest.raises(InvalidArgument, match="token"):
        system.register_user("hal", ios=["ok-token", "bad token"], email="hal@example.com")
    assert not system.contacts.is_registered("hal")


def test_each_calling_service_gets_its_own_credentials_once(store: Store) -> None:
    system = make_system(store)
    billing, again, signup = system.client("billing"), system.client("billing"), system.client()
    assert billing.app_key == again.app_key != signup.app_key
    assert system.registry.get(billing.app_key) is not None


# ── regressions: duplicate effects and log conflicts the scenario checker found ───────────


def test_a_timed_out_send_pins_its_key_so_an_outage_cannot_push_a_copy_to_the_backup(
    store: Store, clock: FakeClock,
) -> None:
    now = clock.now()  # the first request times out but delivered; then the provider is down
    flaky = FailureModel(timeout_effect_rate=1.0, outages=((now + 0.001, now + 60.0),))
    system = make_system(store, failures=PERFECT | {"email-primary": flaky})
    system.providers[Channel.EMAIL][0].fail_next("timeout")  # type: ignore[attr-defined]
    system.register_user("ida", email="ida@example.com")
    [entry] = system.client().send(request("evt-1", "ida", Channel.EMAIL)).entries
    system.run_until_idle()
    assert effects(system, Channel.EMAIL) == [("email-primary", "ida@example.com")]
    assert system.statistics().workers.fallbacks == 0
    assert statuses(system, entry.notification_id)[-1] in (S.SENT, S.DELIVERED)


def test_a_crash_after_sending_keeps_the_redelivered_copy_on_the_same_provider(
    store: Store, clock: FakeClock,
) -> None:
    now = clock.now()  # delivered, the worker dies before recording; the provider goes down
    down = NO_FAILURES.with_outage(now + 10.0, now + 100.0)
    system = make_system(store, failures=PERFECT | {"sms-primary": down},
                         crash_plan=CrashPlan().crash(CrashPoint.AFTER_SEND, nth=1))
    system.register_user("jo", phone="+14155550105")
    [entry] = system.client().send(request("evt-1", "jo", Channel.SMS)).entries
    system.run_until_idle()
    assert effects(system, Channel.SMS) == [("sms-primary", "+14155550105")]
    assert statuses(system, entry.notification_id)[-1] in (S.SENT, S.DELIVERED)


def test_a_duplicate_event_follows_its_twin_to_the_provider_that_holds_it_in_doubt(
    store: Store,
) -> None:
    flaky_backup = FailureModel(timeout_effect_rate=1.0)
    system = make_system(store, failures=PERFECT | {"email-backup": flaky_backup},
                         policy=RetryPolicy(fallback_after=1))
    primary, backup = system.providers[Channel.EMAIL]
    primary.fail_next("server_error")  # type: ignore[attr-defined]
    backup.fail_next("timeout")  # type: ignore[attr-defined]
    system.register_user("kim", email="kim@example.com")
    client = system.client()
    client.send(request("evt-1", "kim", Channel.EMAIL))
    system.step()  # primary: 5xx, fall back
    system.step()  # backup: timed out, but delivered
    client.send(request("evt-1", "kim", Channel.EMAIL))  # the same event again
    system.run_until_idle()
    assert effects(system, Channel.EMAIL) == [("email-backup", "kim@example.com")]


def test_a_receipt_after_an_ambiguous_dead_letter_is_logged_delivered(
    store: Store, clock: FakeClock,
) -> None:
    now = clock.now()  # APNs delivered, the worker died, then APNs was down for hours
    down = NO_FAILURES.with_outage(now + 10.0, now + 10_000.0)
    system = make_system(store, failures=PERFECT | {"apns": down},
                         crash_plan=CrashPlan().crash(CrashPoint.AFTER_SEND, nth=1))
    system.register_user("lu", ios=["ios-tok-9"])
    [entry] = system.client().send(request("evt-1", "lu", Channel.IOS_PUSH)).entries
    system.run_until_idle()
    history = statuses(system, entry.notification_id)
    assert history[-2:] == [S.DEAD_LETTERED, S.DELIVERED]
    assert [a.notification_id for a in system.alerts.alerts] == [entry.notification_id]
    assert "ambiguous" in system.alerts.alerts[0].reason


def test_a_pin_is_first_come_and_only_its_own_request_may_lift_it(store: Store) -> None:
    seen = IdempotencyStore(store.kv)
    assert seen.pin("k", 1.0, provider="apns", token="m1#1") == "apns"
    assert seen.pin("k", 2.0, provider="fcm", token="m2#1") == "apns"
    assert not seen.unpin("k", 3.0, token="m2#1")
    assert seen.unpin("k", 3.0, token="m1#1")
    record = seen.get("k", 4.0)
    assert record is not None and record.pinned_to is None
    seen.mark_done("k", 5.0, by="n1")
    assert seen.pin("k", 6.0, provider="apns", token="m3#1") is None
    done = seen.get("k", 7.0)
    assert done is not None and (done.done_at, done.done_by) == (5.0, "n1")


# ── rounds are timers on the lab's simulator ─────────────────────────────────────────────


def test_a_round_is_a_timer_and_each_workers_poll_is_a_timer_of_its_own(store: Store) -> None:
    system = make_system(store, pool_sizes={Channel.SMS: 3})
    workers = sum(len(pool) for pool in system.delivery.pools.values())
    assert workers == 6
    before = system.sim.statistics().events_run
    system.step()
    assert system.sim.statistics().events_run - before == 1 + workers + 1  # round, polls, end


def test_an_idle_system_leaves_nothing_on_the_simulator(store: Store, clock: FakeClock) -> None:
    system = make_system(store)
    system.register_user("ada", phone="+14155550100")
    system.client().send(request("evt-1", "ada", Channel.SMS))
    assert system.run_until_idle() > 0
    assert system.sim.pending == 0 and system.pending().idle
    later = clock.now() + 3600.0
    assert system.run_until(later) == 1  # woken once, found nothing, went back to sleep
    assert clock.now() == later and system.sim.pending == 0


def test_a_request_made_while_a_round_waits_hours_ahead_is_handled_now(
    store: Store, clock: FakeClock,
) -> None:
    system = make_system(store)
    night = Preferences(time_zone="UTC", quiet_hours=QuietHours(
        datetime.fromtimestamp(clock.now() - 60, UTC).time(),
        datetime.fromtimestamp(clock.now() + 8 * 3600, UTC).time()))
    system.register_user("ada", phone="+14155550100", preferences=night)
    system.register_user("bob", phone="+14155550101")
    client = system.client()
    [deferred] = client.send(request("evt-1", "ada", Channel.SMS)).entries
    system.step()  # ada's job waits in the deferred queue: the next round is hours away
    assert system.sim.pending == 1  # the next round, at the end of ada's quiet hours
    assert system.sim.next_due_at is not None and system.sim.next_due_at > clock.now() + 7 * 3600
    [entry] = client.send(request("evt-2", "bob", Channel.SMS)).entries
    system.run_until(clock.now() + 5.0)
    assert system.log.status(entry.notification_id) in (S.SENT, S.DELIVERED)
    assert system.log.status(deferred.notification_id) is S.DEFERRED


def test_one_simulator_runs_a_scenarios_events_and_the_systems_rounds() -> None:
    from reference.notification.scenario import ScenarioConfig, build_system, run_scenario

    systems: list[NotificationSystem] = []

    def build(store: Store, config: ScenarioConfig, seed: int) -> NotificationSystem:
        systems.append(build_system(store, config, seed))
        return systems[-1]

    config = ScenarioConfig.stormy().scaled(users=8, events=20)
    result = run_scenario(config, seed=4, build=build)
    [system] = systems
    workers = sum(len(pool) for pool in system.delivery.pools.values())
    actions = len(result.requests) + len(result.settings_changes) + len(result.queue_duplicates)
    assert system.sim.pending == 0
    assert system.sim.statistics().events_run == result.steps * (workers + 2) + actions


def test_a_provider_asking_to_wait_an_hour_again_and_again_cannot_stretch_the_budget(
    store: Store, clock: FakeClock,
) -> None:
    """Every SMS provider answers 429 with retry_after one hour: before, a sign-in code was
    retried for hours. Attempts and time are both bounds: it falls back at once, then
    dead-letters inside the 30-minute budget, with the reason."""
    throttling = FailureModel(throttle_rate=1.0, throttle_retry_after_s=3600.0)
    system = make_system(store, failures=PERFECT | {"sms-primary": throttling,
                                                    "sms-backup": throttling})
    system.register_user("gus", phone="+14155550104")
    [entry] = system.client().send(request("evt-1", "gus", Channel.SMS, critical=True,
                                           category=Category.SECURITY)).entries
    start = clock.now()
    system.run_until_idle()
    history = system.log.history(entry.notification_id)
    assert history[-1].status is S.DEAD_LETTERED
    assert "would pass the retry budget" in history[-1].reason
    assert history[-1].at - start <= RetryPolicy().budget_s
    assert [a.reason for a in system.alerts.alerts] == [history[-1].reason]


def test_a_receipt_for_a_send_recorded_late_is_logged_no_earlier_than_that_send(
    store: Store, clock: FakeClock,
) -> None:
    """The worker dies after the provider accepted, before logging ``sent``; the provider
    delivers within seconds, the redelivered copy logs ``sent`` half a minute later. The
    log is a history: its times never go backwards."""
    system = make_system(store, crash_plan=CrashPlan().crash(CrashPoint.AFTER_SEND, nth=1))
    system.register_user("jo", phone="+14155550105")
    [entry] = system.client().send(request("evt-1", "jo", Channel.SMS)).entries
    system.run_until_idle()
    history = system.log.history(entry.notification_id)
    assert [c.status for c in history] == [S.ACCEPTED, S.QUEUED, S.SENT, S.DELIVERED]
    assert [c.at for c in history] == sorted(c.at for c in history)
    [receipt] = [c for c in history if c.status is S.DELIVERED]
    assert receipt.at == history[2].at  # the provider delivered before the log knew it sent
