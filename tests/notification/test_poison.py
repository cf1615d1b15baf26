"""Poison messages: dead letters the queue makes by itself are logged and alerted, never lost."""

from __future__ import annotations

from reference.blocks.delayed_queue import DelayedQueue
from reference.blocks.idempotency import IdempotencyStore
from reference.core.clock import FakeClock
from reference.core.faults import CrashPlan
from reference.notification.model import (
    WORKER_GROUP,
    Category,
    Channel,
    CrashPoint,
    Job,
    NotificationRequest,
    Status,
    StatusChange,
    queue_name,
)
from reference.notification.poison import PoisonWatch
from reference.notification.providers import FailureModel
from reference.notification.pump import MAX_DELIVERIES, DeliveryDeps, ReplayMarks, ensure_groups
from reference.notification.system import NotificationSystem
from reference.notification.tracking import NotificationLog
from reference.storage import Store


def _system_crashing_at(point: CrashPoint, store: Store) -> tuple[NotificationSystem, str]:
    plan = CrashPlan()
    for nth in range(1, MAX_DELIVERIES + 1):  # every delivery the queue allows kills a worker
        plan.crash(point, nth=nth)
    system = NotificationSystem.create(store, seed=3, failures="none", crash_plan=plan)
    system.register_user("u1", email="u1@example.com")
    system.publish_template("hello", title="Hello", body="Hi there")
    receipt = system.client().send(
        NotificationRequest("evt-1", "u1", "hello", channels=(Channel.EMAIL,)))
    system.run_until_idle()
    return system, receipt.entries[0].notification_id


def test_a_message_that_kills_every_worker_is_logged_dead_lettered_and_alerted(
    store: Store, clock: FakeClock
) -> None:
    system, nid = _system_crashing_at(CrashPoint.AFTER_CLAIM, store)
    assert system.log.status(nid) is Status.DEAD_LETTERED
    last = system.log.history(nid)[-1]
    assert last.reason == (f"poison message: visibility timeout expired after {MAX_DELIVERIES} "
                           f"deliveries (max_deliveries={MAX_DELIVERIES})")
    assert [(a.notification_id, a.severity) for a in system.delivery.alerts.alerts] == [
        (nid, "error")]
    assert system.delivery.poison.found == 1
    assert [p.statistics().requests for p in system.providers[Channel.EMAIL]] == [0, 0]


def test_a_replayed_poison_message_is_delivered_once_the_workers_survive(
    store: Store, clock: FakeClock
) -> None:
    system, nid = _system_crashing_at(CrashPoint.AFTER_CLAIM, store)
    assert system.delivery.replay_dead_letters(Channel.EMAIL) == 1  # the crash plan is spent
    system.run_until_idle()
    assert system.log.status(nid) is Status.DELIVERED
    assert len(system.delivery.alerts.alerts) == 1  # no second alert for the same letter


def test_a_poison_message_sent_before_each_crash_is_dead_lettered_then_delivered_once(
    store: Store, clock: FakeClock
) -> None:
    # every worker dies right after the provider accepted: the same idempotency key each
    # time, so the provider keeps one effect, and its receipt arrives after the dead letter
    system, nid = _system_crashing_at(CrashPoint.AFTER_SEND, store)
    assert [c.status for c in system.log.history(nid)][-2:] == [Status.DEAD_LETTERED,
                                                                 Status.DELIVERED]
    assert [len(p.sent) for p in system.providers[Channel.EMAIL]] == [1, 0]
    assert [a.notification_id for a in system.delivery.alerts.alerts] == [nid]


def _deps(store: Store, clock: FakeClock) -> DeliveryDeps:
    return DeliveryDeps(queue=store.queue, dedupe=IdempotencyStore(store.kv),
                        recorder=NotificationLog(), retry_queue=DelayedQueue(store.timeline,
                                                                             name="retry"),
                        replays=ReplayMarks(store.kv), clock=clock)


def _email_job(clock: FakeClock) -> Job:
    return Job("n1", "evt-1", "u1", Channel.EMAIL, "u1@example.com", "Hi", "Hello",
               Category.TRANSACTIONAL, False, accepted_at=clock.now())


def _bury(store: Store, clock: FakeClock, body: str) -> None:
    """Publish ``body`` and let it time out after its only allowed delivery."""
    qname = queue_name(Channel.EMAIL)
    store.queue.publish(qname, body)
    store.queue.consume(qname, WORKER_GROUP, "w1")
    clock.advance(2.0)
    assert store.queue.consume(qname, WORKER_GROUP, "w1") == []  # buried, not handed out


def test_a_poison_message_whose_effect_was_settled_only_warns(store: Store,
                                                               clock: FakeClock) -> None:
    deps = _deps(store, clock)
    ensure_groups(store.queue, visibility_timeout_s=1.0, max_deliveries=1)
    job = _email_job(clock)
    deps.dedupe.mark_done(job.dedupe_key, clock.now(), by="n1")  # sent before the crashes
    _bury(store, clock, job.to_json())
    watch = PoisonWatch(deps)
    assert watch.sweep(clock.now()) == 1
    assert watch.sweep(clock.now()) == 0  # seen once
    assert [(a.notification_id, a.severity) for a in deps.alerts.alerts] == [("n1", "warning")]
    assert sum(deps.recorder.counts_by_status().values()) == 0  # type: ignore[attr-defined]


def test_a_poison_message_that_is_not_a_job_is_alerted_as_malformed(
    store: Store, clock: FakeClock
) -> None:
    deps = _deps(store, clock)
    ensure_groups(store.queue, visibility_timeout_s=1.0, max_deliveries=1)
    _bury(store, clock, "not a job")
    assert PoisonWatch(deps).sweep(clock.now()) == 1
    (alert,) = deps.alerts.alerts
    assert alert.reason.startswith("malformed poison message")


def test_dead_letters_a_worker_made_are_not_logged_twice(store: Store, clock: FakeClock) -> None:
    always_down = FailureModel(outages=((0.0, 1e12),))
    system = NotificationSystem.create(
        store, seed=4, failures={"email-primary": always_down, "email-backup": always_down})
    system.register_user("u1", email="u1@example.com")
    system.publish_template("hello", title="Hello", body="Hi there")
    receipt = system.client().send(
        NotificationRequest("evt-1", "u1", "hello", channels=(Channel.EMAIL,)))
    system.run_until_idle()
    nid = receipt.entries[0].notification_id
    statuses = [c.status for c in system.log.history(nid)]
    assert statuses.count(Status.DEAD_LETTERED) + statuses.count(Status.SUPPRESSED) == 1
    assert system.delivery.poison.found == 0


def test_a_replayed_poison_message_that_dies_again_is_logged_and_alerted_again(
    store: Store, clock: FakeClock
) -> None:
    plan = CrashPlan()
    for nth in range(1, 2 * MAX_DELIVERIES + 1):  # outlives the operator's replay too
        plan.crash(CrashPoint.AFTER_CLAIM, nth=nth)
    system = NotificationSystem.create(store, seed=3, failures="none", crash_plan=plan)
    system.register_user("u1", email="u1@example.com")
    system.publish_template("hello", title="Hello", body="Hi there")
    receipt = system.client().send(
        NotificationRequest("evt-1", "u1", "hello", channels=(Channel.EMAIL,)))
    nid = receipt.entries[0].notification_id
    system.run_until_idle()
    assert system.delivery.replay_dead_letters(Channel.EMAIL) == 1
    system.run_until_idle()
    assert [c.status for c in system.log.history(nid)][2:] == [
        Status.DEAD_LETTERED, Status.QUEUED, Status.DEAD_LETTERED]
    assert [a.notification_id for a in system.delivery.alerts.alerts] == [nid, nid]
    assert system.delivery.poison.found == 2


def test_a_poisoned_duplicate_copy_leaves_the_log_as_suppressed(store: Store,
                                                                 clock: FakeClock) -> None:
    deps = _deps(store, clock)
    ensure_groups(store.queue, visibility_timeout_s=1.0, max_deliveries=1)
    copy = _email_job(clock)
    for status in (Status.ACCEPTED, Status.QUEUED):
        deps.recorder.record(StatusChange.for_job(copy, status, clock.now()))
    deps.dedupe.mark_done(copy.dedupe_key, clock.now(), by="n2")  # its sibling was sent
    _bury(store, clock, copy.to_json())
    assert PoisonWatch(deps).sweep(clock.now()) == 1
    last = deps.recorder.history("n1")[-1]  # type: ignore[attr-defined]
    assert (last.status, last.reason) == (
        Status.SUPPRESSED, "duplicate: evt-1|email|u1@example.com already settled by n2")
    assert [a.severity for a in deps.alerts.alerts] == ["warning"]
