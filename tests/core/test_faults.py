"""Fault decisions: the seeded injector and the crash plan, with and without the timer heap."""

from __future__ import annotations

from random import Random
from typing import Any

import pytest
import trio
import trio.testing

from reference.core.errors import InvalidArgument
from reference.core.faults import CrashPlan, FaultInjector, FaultPlan
from reference.core.sim import Simulation

STORMY = FaultPlan(drop_rate=0.2, duplicate_rate=0.2, delay_rate=0.5, max_extra_delay_s=0.3,
                   base_delay_s=0.01)


def test_the_same_seed_gives_the_same_decisions() -> None:
    first, second = FaultInjector(11, STORMY), FaultInjector(11, STORMY)
    assert [first.copies() for _ in range(200)] == [second.copies() for _ in range(200)]
    assert [first.copies() for _ in range(50)] != [
        FaultInjector(12, STORMY).copies() for _ in range(50)]


def test_copies_follow_the_plan_drops_duplicates_and_delays() -> None:
    faults = FaultInjector(3, STORMY)
    outcomes = [faults.copies() for _ in range(5_000)]
    stats = faults.statistics()
    assert stats.messages == 5_000
    assert sum(1 for o in outcomes if not o) == stats.dropped
    assert sum(1 for o in outcomes if len(o) == 2) == stats.duplicated
    assert 0.17 < stats.dropped / 5_000 < 0.23
    assert all(0.01 <= delay <= 0.31 for o in outcomes for delay in o)
    assert all(abs(delay * 1e6 - round(delay * 1e6)) < 1e-6 for o in outcomes for delay in o)


def test_a_perfect_plan_delivers_every_message_once_after_the_base_delay() -> None:
    faults = FaultInjector(0, FaultPlan(base_delay_s=0.25))
    assert {faults.copies() for _ in range(100)} == {(0.25,)}


def test_the_injector_reports_each_fault_to_its_log() -> None:
    seen: list[tuple[str, dict[str, Any]]] = []
    faults = FaultInjector(5, FaultPlan(drop_rate=1.0, crash_rate=1.0),
                           log=lambda kind, **fields: seen.append((kind, fields)))
    faults.copies(to="b", msg="'hello'")
    faults.should_crash("cache-1")
    assert seen == [("drop", {"to": "b", "msg": "'hello'"}),
                    ("crash", {"component": "cache-1"})]


def test_a_simulations_network_takes_the_same_decisions_as_a_bare_injector() -> None:
    sim = Simulation(seed=21, faults=STORMY)
    arrivals: list[tuple[float, int]] = []
    for n in range(100):
        sim.send(lambda n: arrivals.append((round(sim.clock.now(), 6), n)), n, label="b")
    sim.run()
    faults = FaultInjector(21, STORMY)
    expected = sorted((round(delay, 6), n) for n in range(100) for delay in faults.copies())
    assert sorted(arrivals) == expected


def test_trio_code_gets_the_same_arrivals_from_an_injector_without_the_heap() -> None:
    """The claim of the kit: fault decisions work in trio code, where trio keeps time."""
    sim = Simulation(seed=8, faults=STORMY)
    on_the_heap: list[tuple[float, int]] = []
    for n in range(60):
        sim.send(lambda n: on_the_heap.append((round(sim.clock.now(), 6), n)), n, label="b")
    sim.run()

    in_trio: list[tuple[float, int]] = []

    async def deliver(n: int, delay: float) -> None:
        await trio.sleep(delay)
        in_trio.append((round(trio.current_time(), 6), n))

    async def main() -> None:
        faults = FaultInjector(8, STORMY)
        async with trio.open_nursery() as nursery:
            for n in range(60):
                for delay in faults.copies(to="b"):
                    nursery.start_soon(deliver, n, delay)

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    assert sorted(in_trio) == sorted(on_the_heap)


def test_a_crash_plan_crashes_exactly_at_the_arrivals_it_names() -> None:
    plan = CrashPlan().crash("after_claim", nth=1).crash("after_claim", nth=3)
    hits = [plan.should_crash("after_claim", f"n{i}") for i in range(5)]
    assert hits == [True, False, True, False, False]
    assert plan.fired == [("after_claim", "n0"), ("after_claim", "n2")]


def test_a_rule_for_one_item_counts_only_that_items_arrivals() -> None:
    plan = CrashPlan().crash("before_ack", nth=2, item="n7")
    hits = [plan.should_crash("before_ack", n) for n in ["n7", "n1", "n7", "n7"]]
    assert hits == [False, False, True, False]


def test_a_plan_without_rules_never_crashes() -> None:
    plan = CrashPlan()
    assert not any(plan.should_crash("after_send", f"n{i}") for i in range(1_000))


def test_a_drawn_plan_is_a_function_of_its_rng() -> None:
    def fired(seed: int) -> list[tuple[str, str]]:
        plan = CrashPlan.drawn(["a", "b"], rate=0.1, arrivals=200, rng=Random(seed))
        for i in range(200):
            plan.should_crash("a", f"n{i}")
            plan.should_crash("b", f"n{i}")
        return plan.fired

    assert fired(4) == fired(4) != fired(5)
    assert 20 < len(fired(4)) < 60


def test_planned_crashes_are_logged_and_counted_by_the_injector() -> None:
    seen: list[str] = []
    faults = FaultInjector(0, crash_plan=CrashPlan().crash("after_send", nth=2),
                           log=lambda kind, **fields: seen.append(f"{kind}:{fields['item']}"))
    assert [faults.crashes_at("after_send", f"n{i}") for i in range(3)] == [False, True, False]
    assert seen == ["crash:n1"]
    assert faults.statistics().planned_crashes == 1


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: CrashPlan().crash("", nth=1), "point"),
        (lambda: CrashPlan().crash("after_send", nth=0), "nth"),
        (lambda: CrashPlan().crash("after_send", item=""), "item"),
        (lambda: CrashPlan.drawn(["a"], rate=1.5, arrivals=3, rng=Random(0)), "rate"),
        (lambda: FaultInjector(1.5), "seed"),  # type: ignore[arg-type]
        (lambda: FaultInjector(1, {"drop_rate": 0.5}), "plan"),  # type: ignore[arg-type]
        (lambda: FaultInjector(1, crash_plan="after_send"), "crash_plan"),  # type: ignore[arg-type]
        (lambda: FaultInjector(1, log="stdout"), "log"),  # type: ignore[arg-type]
        (lambda: FaultInjector(1).should_crash(""), "component"),
    ],
)
def test_bad_arguments_are_refused_with_the_argument_named(call: Any, name: str) -> None:
    with pytest.raises(InvalidArgument, match=f"^{name}="):
        call()
