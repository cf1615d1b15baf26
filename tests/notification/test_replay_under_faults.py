"""Dead-letter replays in the middle of a stormy day: no loss, no duplicate, no illegal step.

An operator replays every channel's dead letters every 50 steps while the queue buries
messages after two deliveries (``max_deliveries=2``), workers crash, the broker loses
messages and duplicate events arrive. Each seed below once broke one of these: a replayed
record the broker then lost was never recovered (its row still said settled); a replay of a
letter whose notification had settled otherwise (``delivered -> queued``); a replay that
dropped an in-doubt pin and let a retry fall back to a second provider (a duplicate effect);
a duplicate event's copy let through while a replay had the key reopened; a replay made
after a step that the run loop, reading the step's cached queue figures, never saw (226, 263).
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from reference.blocks.idempotency import IdempotencyRecord, IdempotencyStore
from reference.core.clock import FakeClock
from reference.notification.checker import check
from reference.notification.delivery import DeliveryService
from reference.notification.model import Category, Channel, Job, NotificationRequest, Status
from reference.notification.providers import NO_FAILURES, FailureModel
from reference.notification.retry import RetryPolicy
from reference.notification.scenario import ScenarioConfig, build_system, run_scenario
from reference.notification.system import NotificationSystem
from reference.notification.tracking import NotificationLog
from reference.storage import Store, connect

HARSH = replace(ScenarioConfig.stormy(), queue_loss_rate=0.35, crash_rate=0.08,
                transient_rate=0.4, permanent_rate=0.05, queue_duplicate_rate=0.4,
                settings_change_rate=1.0, quiet_hours_rate=0.7, duplicate_event_rate=0.3)
REPLAY_EVERY_S = 50.0  # an operator replays every channel's dead letters this often


def replaying(**overrides: object):  # type: ignore[no-untyped-def]
    """A scenario builder whose operator replays the dead letters every ``REPLAY_EVERY_S``
    simulated seconds, a timer on the system's simulator, for as long as anything else is
    still to happen there."""

    def build(store: Store, config: ScenarioConfig, seed: int) -> NotificationSystem:
        system = build_system(store, config, seed, max_deliveries=2, **overrides)

        def replay() -> None:
            if sum(system.delivery.replay_dead_letters(channel) for channel in Channel):
                system.wake()
            if system.sim.pending:
                system.sim.call_later(REPLAY_EVERY_S, replay)

        system.sim.call_later(REPLAY_EVERY_S, replay)
        return system
    return build


@pytest.mark.parametrize("seed", [0, 24, 52, 53, 68, *range(100, 110)])
def test_replays_during_a_harsh_day_break_no_promise(seed: int) -> None:
    result = run_scenario(HARSH, seed, build=replaying())
    report = check(result)
    assert report.ok, f"seed {seed}: {report.summary()}"
    assert result.statistics.records is not None and result.statistics.records.open == 0


@pytest.mark.parametrize("seed", [24, 53, 68, 226, 263])
def test_replays_without_broker_loss_or_the_db_break_no_promise(seed: int) -> None:
    result = run_scenario(replace(HARSH, queue_loss_rate=0.0), seed,
                          build=replaying(stall_after_s=None))
    report = check(result)
    assert report.ok, f"seed {seed}: {report.summary()}"


def test_the_harsh_day_really_replays_and_loses_messages() -> None:
    results = [run_scenario(HARSH, seed, build=replaying()) for seed in (0, 52, 53)]
    replays = 0
    for result in results:
        last: dict[str, str] = {}
        for change in result.changes:
            before = last.get(change.notification_id)
            if before == "dead_lettered" and change.status.value == "queued":
                replays += 1
            last[change.notification_id] = change.status.value
    assert replays >= 3
    assert sum(r.broker_losses for r in results) >= 30


# ── single replays, by hand ─────────────────────────────────────────────────────────────

def test_a_replay_that_dies_midway_leaves_the_letter_replayable(
        monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock(start=1_767_646_800.0)
    system = NotificationSystem.create(connect("memory", clock=clock), seed=1,
                                       failures="none")
    system.register_user("u1", phone="+14155550100")
    system.publish_template("otp", title="Code", body="code ${code}")
    [entry] = system.client().send(NotificationRequest(
        "evt-1", "u1", "otp", {"code": "1"}, channels=(Channel.SMS,))).entries
    primary, backup = system.providers[Channel.SMS]
    primary.fail_next("payload_too_large")  # permanent, not an address: a dead letter
    system.run_until_idle()
    nid = entry.notification_id

    def dies(*args: object, **kwargs: object) -> bool:
        raise RuntimeError("the operator's process died")

    with monkeypatch.context() as patch:
        patch.setattr(IdempotencyStore, "reopen", dies)
        with pytest.raises(RuntimeError):
            system.delivery.replay_dead_letters(Channel.SMS)
    system.run_until_idle()
    assert system.log.status(nid) is Status.DEAD_LETTERED  # still what it was
    assert system.delivery.replay_dead_letters(Channel.SMS) == 1  # ... and replayable
    system.run_until_idle()
    assert system.log.status(nid) in (Status.SENT, Status.DELIVERED)
    assert len(primary.sent) + len(backup.sent) == 1


def test_a_replay_taken_in_the_same_instant_keeps_the_in_doubt_pin() -> None:
    """The backup timed out but delivered; the job dead-letters; the operator replays at
    once and the replay fails for certain in the same instant. Its unpin must not lift the
    pin of the request in doubt, or a later copy goes to the other provider."""
    clock = FakeClock(start=0.0)
    store = connect("memory", clock=clock)
    service = DeliveryService.from_store(
        store, clock=clock, recorder=NotificationLog(), seed=1,
        failures={"sms-primary": NO_FAILURES,
                  "sms-backup": FailureModel(timeout_rate=0.0, timeout_effect_rate=1.0)},
        policy=RetryPolicy(max_attempts=2, fallback_after=1), pool_sizes={Channel.SMS: 1})
    primary, backup = service.providers[Channel.SMS]
    job = Job("n1", "evt-1", "u1", Channel.SMS, "+14155550100", "", "code 1234",
              Category.SECURITY, False, accepted_at=0.0)
    service.submit(job)
    primary.fail_next("server_error")  # attempt 1 fails for certain: fall back
    service.step(0.0)
    clock.advance(1.0)
    backup.fail_next("timeout")  # attempt 2 times out at the backup, which delivered
    service.step(1.0)
    dedupe = service.deps.dedupe
    before = dedupe.get(job.dedupe_key, 1.0)
    assert isinstance(before, IdempotencyRecord) and before.pinned_to == "sms-backup"
    service.replay_dead_letters(Channel.SMS)
    backup.set_failures(FailureModel(outages=((1.0, 1e9),)))  # the backup goes down
    service.step(1.0)  # the replay, taken in the same instant, fails for certain
    record = dedupe.get(job.dedupe_key, 1.0)
    assert record is not None and record.pinned_to == "sms-backup"
    clock.advance(10.0)
    service.replay_dead_letters(Channel.SMS)
    service.step()
    service.publish(job)  # an at-least-once producer's copy
    for _ in range(40):
        clock.advance(1.0)
        service.step()
    assert [e.provider for p in (primary, backup) for e in p.sent] == ["sms-backup"]
