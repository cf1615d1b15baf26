"""Cheaper steps decide what the full questions decided.

The run loop reuses the queue statistics the dead-letter sweep read at the end of a step, an
empty poll answers a shared result, and a crash plan finds its rules by lookup: checked here
against the long way, step by step, under the stormy scenario's faults.
"""

from __future__ import annotations

from random import Random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reference.core.clock import FakeClock
from reference.core.faults import CrashPlan
from reference.notification.model import (
    WORKER_GROUP,
    Category,
    Channel,
    CrashPoint,
    Job,
    queue_name,
)
from reference.notification.scenario import ScenarioConfig, build_system, run_scenario
from reference.notification.system import NotificationSystem
from reference.storage import Store, connect

STORMY = ScenarioConfig.stormy()


def checked_build(checks: list[int]) -> Any:
    """A scenario builder whose system checks the shortcuts that choose its next round, at
    the end of every round."""

    def build(store: Store, config: ScenarioConfig, seed: int) -> NotificationSystem:
        system = build_system(store, config, seed)
        plain_end = system._end_round

        def end_round(tally: Any) -> None:
            plain_end(tally)  # sweeps, then decides on the statistics it read: check them
            swept = system.delivery.queue_statistics
            for channel in Channel:
                assert swept[channel] == store.queue.statistics(queue_name(channel),
                                                                WORKER_GROUP)
            outlook, pending = system._outlook(), system.pending()
            assert (outlook.idle, outlook.busy_now) == (pending.idle, pending.busy_now)
            if not outlook.busy_now:
                assert outlook.next_due_at == pending.next_due_at
            checks.append(1)

        system._end_round = end_round  # type: ignore[method-assign]
        return system

    return build


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_the_run_loop_decides_on_statistics_as_fresh_as_asking_again(seed: int) -> None:
    checks: list[int] = []
    checked = run_scenario(STORMY, seed, build=checked_build(checks))
    assert len(checks) == checked.steps > 0
    plain = run_scenario(STORMY, seed)  # the checks read, never write: the same history
    assert checked.fingerprint() == plain.fingerprint()
    assert (checked.steps, checked.finished_at) == (plain.steps, plain.finished_at)


def test_statistics_are_not_reused_from_a_delivery_side_on_another_queue() -> None:
    clock = FakeClock(start=1_767_225_600.0)
    store, other = connect("memory", clock=clock), connect("memory", clock=clock)
    system = NotificationSystem.create(store, seed=1, failures="none")
    elsewhere = NotificationSystem.create(other, seed=1, failures="none")
    system.delivery = elsewhere.delivery  # a mis-wired system: the run loop must ask
    system.delivery.step()
    job = Job("n1", "evt-1", "u1", Channel.SMS, "+14155550100", "", "hi",
              Category.SECURITY, True, accepted_at=clock.now())
    store.queue.publish(queue_name(Channel.SMS), job.to_json())
    assert system._outlook().busy_now  # seen on its own queue, not the other side's


def test_an_empty_poll_is_still_counted() -> None:
    clock = FakeClock(start=1_767_225_600.0)
    system = NotificationSystem.create(connect("memory", clock=clock), seed=1,
                                       failures="none")
    worker = system.delivery.pools[Channel.EMAIL][0]
    results = [worker.poll(float(t)) for t in range(3)]
    assert [(r.consumed, r.sent, r.crashed, r.busy_s) for r in results] == [(0, 0, False, 0.0)] * 3
    assert worker.statistics().polls == 3


# ── crash plans: a lookup finds what a scan over every rule found ───────────────────────


class ScanningPlan:
    """The crash plan as it was: every rule looked at on every arrival."""

    def __init__(self) -> None:
        self.rules: list[tuple[CrashPoint, int, str | None]] = []
        self.seen: dict[tuple[CrashPoint, str | None], int] = {}
        self.fired: list[tuple[CrashPoint, str]] = []

    def should_crash(self, point: CrashPoint, notification_id: str) -> bool:
        hit = False
        for scope in (None, notification_id):
            count = self.seen.get((point, scope), 0) + 1
            self.seen[(point, scope)] = count
            hit = hit or any(p == point and n == count and nid == scope
                             for p, n, nid in self.rules)
        if hit:
            self.fired.append((point, notification_id))
        return hit


rules = st.lists(st.tuples(st.sampled_from(CrashPoint), st.integers(1, 12),
                           st.sampled_from([None, "n1", "n2"])), max_size=12)
arrivals = st.lists(st.tuples(st.sampled_from([*CrashPoint, "after_claim"]),
                              st.sampled_from(["n1", "n2", "n3"])), max_size=40)


@settings(max_examples=200, deadline=None)
@given(rules=rules, arrivals=arrivals)
def test_a_crash_plan_fires_where_scanning_every_rule_would(
    rules: list[tuple[CrashPoint, int, str | None]], arrivals: list[tuple[Any, str]]
) -> None:
    plan, scanning = CrashPlan(), ScanningPlan()
    for point, nth, nid in rules:
        plan.crash(point, nth=nth, item=nid)
        scanning.rules.append((point, nth, nid))
    for point, nid in arrivals:  # a point is its name: "after_claim" is CrashPoint.AFTER_CLAIM
        assert plan.should_crash(point, nid) == scanning.should_crash(point, nid)
    assert plan.fired == scanning.fired


def test_a_long_crash_plan_is_asked_in_constant_time() -> None:
    plan = CrashPlan()
    rng = Random(5)
    for nth in range(1, 200_001):
        if rng.random() < 0.05:
            plan.crash(CrashPoint.AFTER_SEND, nth=nth)
    fired = sum(plan.should_crash(CrashPoint.AFTER_SEND, f"n{i}") for i in range(20_000))
    assert 800 < fired < 1200  # 20,000 arrivals against ~10,000 rules: instant, not minutes


def _receipt_run(tick_s: float) -> tuple[int, list[tuple[str, str, float]], float]:
    from reference.core.clock import FakeClock
    from reference.notification.model import Channel, NotificationRequest
    from reference.notification.system import NotificationSystem
    from reference.storage import connect

    clock = FakeClock(start=1_767_225_600.0)
    system = NotificationSystem.create(connect("memory", clock=clock), seed=5,
                                       failures="none", batch_size=50)
    system.publish_template("t", title="T", body="Hi ${name}")
    for i in range(30):
        system.register_user(f"u{i}", email=f"u{i}@example.com")
    system.client().send_batch([
        NotificationRequest(f"evt-{i}", f"u{i}", "t", {"name": str(i)}, channels=(Channel.EMAIL,))
        for i in range(30)])
    steps = system.run_until_idle(tick_s=tick_s)
    history = [(nid, change.status.value, change.at)
               for nid in system.log for change in system.log.history(nid)]
    return steps, history, clock.now()


def test_receipts_due_within_a_tick_are_reported_in_one_step_each_at_its_own_time() -> None:
    fine_steps, fine, fine_end = _receipt_run(tick_s=1e-3)  # about one step per receipt
    steps, coarse, end = _receipt_run(tick_s=1.0)
    assert coarse == fine  # every status, each at its own time
    assert [status for _, status, _ in coarse].count("delivered") == 30
    assert abs(end - fine_end) <= 1e-6  # the clock ends on the last receipt either way
    assert steps < fine_steps / 5
