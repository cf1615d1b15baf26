"""The deterministic simulation: same seed, same history; timers in order; honest faults."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from reference.core.clock import Clock, FakeClock
from reference.core.errors import InvalidArgument, LabError
from reference.core.faults import CrashPlan
from reference.core.ids import SnowflakeGenerator
from reference.core.sim import (
    Event,
    FaultPlan,
    Simulation,
    SimulationRunaway,
    SimulationStatistics,
    Timer,
)

ALL_FAULTS = FaultPlan(
    drop_rate=0.2,
    duplicate_rate=0.2,
    delay_rate=0.3,
    max_extra_delay_s=0.5,
    base_delay_s=0.01,
    crash_rate=0.1,
    clock_skew_s=0.05,
)


@dataclass(frozen=True, slots=True)
class Ping:
    src: str
    dst: str
    n: int


def gossip(seed: int, faults: FaultPlan = ALL_FAULTS, rounds: int = 20) -> Simulation:
    """Three nodes ping each other every second and answer pings; any may crash a round."""
    sim = Simulation(seed, start=1_700_000_000.0, faults=faults)
    nodes = ["a", "b", "c"]
    ids = {
        node: SnowflakeGenerator(sim.skewed_clock(), worker_id=i) for i, node in enumerate(nodes)
    }

    def receive(ping: Ping) -> None:
        sim.log("recv", at=ping.dst, src=ping.src, n=ping.n, id=ids[ping.dst].next_id())
        if ping.n % 2 == 0:
            sim.send(receive, Ping(ping.dst, ping.src, ping.n + 1), label=ping.src)

    def tick(node: str, n: int) -> None:
        if sim.should_crash(node):
            return
        dst = sim.rng.choice([other for other in nodes if other != node])
        sim.send(receive, Ping(node, dst, n), label=dst)

    for round_no in range(rounds):
        for node in nodes:
            sim.call_later(round_no * 1.0 + sim.rng.random() * 0.1, tick, node, 2 * round_no)
    sim.run()
    return sim


# --------------------------------------------------------------------------- determinism


def test_the_same_seed_replays_the_same_history_with_every_fault_on() -> None:
    first, second = gossip(seed=42), gossip(seed=42)
    assert first.history == second.history
    assert first.statistics() == second.statistics()
    kinds = {event.kind for event in first.history}
    assert {"drop", "duplicate", "delay", "crash", "skew", "recv"} <= kinds


def test_different_seeds_give_different_histories() -> None:
    histories = {tuple(gossip(seed=seed).history) for seed in range(5)}
    assert len(histories) == 5


def test_a_fault_free_run_loses_nothing_and_duplicates_nothing() -> None:
    sim = gossip(seed=3, faults=FaultPlan.none())
    stats = sim.statistics()
    assert stats.messages_dropped == stats.messages_duplicated == stats.messages_delayed == 0
    assert stats.crashes == 0
    assert stats.messages_delivered == stats.messages_sent == 60 + 60  # pings + pongs
    assert {event.kind for event in sim.history} == {"skew", "recv"}


# --------------------------------------------------------------------------- timers


def test_timers_fire_in_time_order_and_ties_in_insertion_order() -> None:
    sim = Simulation(seed=0)
    fired: list[str] = []
    sim.call_later(2.0, fired.append, "late")
    sim.call_later(1.0, fired.append, "tie-1")
    sim.call_at(0.5, fired.append, "early")
    sim.call_later(1.0, fired.append, "tie-2")
    sim.call_at(1.0, fired.append, "tie-3")
    sim.call_later(0.1 + 0.2, fired.append, "float-sum")  # 0.30000000000000004 s
    sim.call_at(0.3, fired.append, "exact")  # same microsecond: inserted later, fires later
    sim.run()
    assert fired == ["float-sum", "exact", "early", "tie-1", "tie-2", "tie-3", "late"]


def test_each_timer_sees_the_clock_at_its_due_time() -> None:
    sim = Simulation(seed=0, start=100.0)
    seen: list[float] = []
    for delay in (3.0, 0.25, 1.5):
        sim.call_later(delay, lambda: seen.append(sim.clock.now()))
    sim.run()
    assert seen == [100.25, 101.5, 103.0]


def test_timers_scheduled_by_timers_run_in_the_same_run() -> None:
    sim = Simulation(seed=0)
    fired: list[tuple[float, int]] = []

    def hop(n: int) -> None:
        fired.append((sim.clock.now(), n))
        if n < 3:
            sim.call_later(0.5, hop, n + 1)

    sim.call_later(0.0, hop, 0)
    sim.run()
    assert fired == [(0.0, 0), (0.5, 1), (1.0, 2), (1.5, 3)]


def test_a_cancelled_timer_never_fires_and_leaves_pending() -> None:
    sim = Simulation(seed=0)
    fired: list[str] = []
    keep = sim.call_later(1.0, fired.append, "keep")
    drop = sim.call_later(0.5, fired.append, "drop")
    assert sim.pending == 2
    assert drop.cancel() is True
    assert drop.cancel() is False  # already cancelled
    assert (sim.pending, drop.state) == (1, "cancelled")
    sim.run()
    assert fired == ["keep"]
    assert keep.state == "fired"
    assert keep.cancel() is False  # too late
    assert sim.pending == 0
    assert sim.statistics().events_run == 1


def test_cancelling_the_only_timer_makes_step_return_false_without_moving_time() -> None:
    sim = Simulation(seed=0, start=5.0)
    sim.call_later(1.0, print).cancel()
    assert sim.step() is False
    assert sim.clock.now() == 5.0


def test_run_until_fires_due_timers_and_leaves_the_clock_at_t() -> None:
    sim = Simulation(seed=0, start=10.0)
    fired: list[str] = []
    sim.call_at(11.0, fired.append, "a")
    sim.call_at(12.0, fired.append, "at-t")  # due exactly at t: runs
    sim.call_at(12.000001, fired.append, "after")
    sim.run_until(12.0)
    assert fired == ["a", "at-t"]
    assert sim.clock.now() == 12.0
    assert sim.pending == 1
    sim.run_until(12.0)  # t == now is allowed and changes nothing
    assert fired == ["a", "at-t"]


def test_run_until_with_no_timers_just_moves_the_clock() -> None:
    sim = Simulation(seed=0)
    sim.run_until(3600.0)
    assert sim.clock.now() == 3600.0


def test_step_runs_exactly_one_timer() -> None:
    sim = Simulation(seed=0)
    fired: list[int] = []
    for n in range(3):
        sim.call_later(float(n), fired.append, n)
    assert sim.step() is True
    assert fired == [0]
    assert sim.pending == 2


def test_time_never_goes_back_when_a_component_sleeps_past_a_timer() -> None:
    sim = Simulation(seed=0)
    seen: list[float] = []
    sim.call_at(1.0, lambda: sim.clock.sleep(5.0))  # a blocking fake sleep
    sim.call_at(2.0, lambda: seen.append(sim.clock.now()))
    sim.run()
    assert seen == [6.0]  # fired late, at the current time, not back at 2.0
    sim.run_until(6.0)
    assert sim.clock.now() == 6.0


def test_an_exception_in_a_timer_propagates_and_the_rest_can_still_run() -> None:
    sim = Simulation(seed=0)
    fired: list[str] = []

    def boom() -> None:
        raise RuntimeError("handler failed")

    sim.call_later(1.0, boom)
    sim.call_later(2.0, fired.append, "after")
    with pytest.raises(RuntimeError, match="handler failed"):
        sim.run()
    sim.run()
    assert fired == ["after"]


@pytest.mark.parametrize("delay", [-0.001, float("nan"), float("inf"), "1", None])
def test_call_later_rejects_negative_or_non_finite_delays(delay: object) -> None:
    sim = Simulation(seed=0)
    with pytest.raises(InvalidArgument, match=r"^delay_s=.* expected a finite number of seconds"):
        sim.call_later(delay, print)  # type: ignore[arg-type]
    assert sim.pending == 0


def test_call_at_rejects_a_time_in_the_past_and_says_what_now_is() -> None:
    sim = Simulation(seed=0, start=10.0)
    expected = r"^when=9\.5 is invalid: expected .*>= now \(10\.0\)"
    with pytest.raises(InvalidArgument, match=expected):
        sim.call_at(9.5, print)
    sim.call_at(10.0, print)  # now itself is fine
    assert sim.pending == 1


def test_scheduling_something_that_is_not_callable_is_rejected() -> None:
    sim = Simulation(seed=0)
    with pytest.raises(InvalidArgument, match=r"^fn=.* expected a callable"):
        sim.call_later(1.0, "not a function")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match=r"^fn="):
        sim.send(42)  # type: ignore[arg-type]
    assert sim.pending == 0


def test_run_until_rejects_a_time_before_now() -> None:
    sim = Simulation(seed=0, start=10.0)
    with pytest.raises(InvalidArgument, match=r"^t=9\.0 is invalid"):
        sim.run_until(9.0)
    assert sim.clock.now() == 10.0


def test_max_events_stops_a_timer_that_reschedules_itself_forever() -> None:
    sim = Simulation(seed=11)
    ticks: list[float] = []

    def heartbeat() -> None:
        ticks.append(sim.clock.now())
        sim.call_later(1.0, heartbeat)

    sim.call_later(0.0, heartbeat)
    with pytest.raises(SimulationRunaway, match=r"max_events=50 .*seed=11.*run_until") as caught:
        sim.run(max_events=50)
    assert isinstance(caught.value, LabError)
    assert len(ticks) == 50
    sim.run_until(59.5)  # a bounded run of the same loop is fine
    assert len(ticks) == 60
    with pytest.raises(SimulationRunaway):
        sim.run_until(1000.0, max_events=10)
    assert len(ticks) == 70  # exactly max_events more, then the guard


def test_max_events_equal_to_the_work_is_not_a_runaway() -> None:
    sim = Simulation(seed=0)
    for n in range(5):
        sim.call_later(float(n), int)
    sim.run(max_events=5)
    assert sim.pending == 0


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_max_events_must_be_a_positive_int(bad: object) -> None:
    with pytest.raises(InvalidArgument, match=r"^max_events="):
        Simulation(seed=0).run(max_events=bad)  # type: ignore[arg-type]


class TimerHeapVersusASortedList(RuleBasedStateMachine):
    """The heap fires exactly what a sorted list of (due, insertion order) says it should."""

    def __init__(self) -> None:
        super().__init__()
        self.sim = Simulation(seed=0)
        self.fired: list[int] = []
        self.model: list[tuple[int, int]] = []  # (due µs, id) of live timers
        self.timers: dict[int, Timer] = {}
        self.next_id = 0

    def _now_us(self) -> int:
        return round(self.sim.clock.now() * 1_000_000)

    @rule(delay_us=st.integers(min_value=0, max_value=2_000))
    def schedule(self, delay_us: int) -> None:
        timer_id = self.next_id
        self.next_id += 1
        self.timers[timer_id] = self.sim.call_later(delay_us / 1e6, self.fired.append, timer_id)
        self.model.append((self._now_us() + delay_us, timer_id))

    @precondition(lambda self: self.model)
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        due, timer_id = data.draw(st.sampled_from(self.model))
        assert self.timers[timer_id].cancel()
        self.model.remove((due, timer_id))

    @rule()
    def step(self) -> None:
        expected = min(self.model) if self.model else None
        assert self.sim.step() is (expected is not None)
        if expected is not None:
            self.model.remove(expected)
            assert self.fired[-1] == expected[1]
            assert self._now_us() == expected[0]

    @rule(ahead_us=st.integers(min_value=0, max_value=1_500))
    def run_until(self, ahead_us: int) -> None:
        t_us = self._now_us() + ahead_us
        due = sorted(entry for entry in self.model if entry[0] <= t_us)
        before = len(self.fired)
        self.sim.run_until(t_us / 1e6)
        assert self.fired[before:] == [timer_id for _, timer_id in due]
        self.model = [entry for entry in self.model if entry[0] > t_us]
        assert self._now_us() == t_us

    @invariant()
    def pending_matches_the_model(self) -> None:
        assert self.sim.pending == len(self.model)


TestTimerHeapVersusASortedList = TimerHeapVersusASortedList.TestCase
TestTimerHeapVersusASortedList.settings = settings(max_examples=40, stateful_step_count=40)


# --------------------------------------------------------------------------- the network


def test_a_perfect_network_delivers_each_message_once_after_the_base_delay() -> None:
    sim = Simulation(seed=0, faults=FaultPlan(base_delay_s=0.02))
    got: list[tuple[float, str]] = []
    sim.send(lambda m: got.append((sim.clock.now(), m)), "hello", label="b")
    sim.run()
    assert got == [(0.02, "hello")]
    assert sim.history == []  # nothing went wrong, so nothing to report


def test_drop_and_duplicate_rates_are_honoured_over_many_sends() -> None:
    plan = FaultPlan(drop_rate=0.2, duplicate_rate=0.1, delay_rate=0.3, max_extra_delay_s=1.0)
    sim = Simulation(seed=2024, faults=plan)
    received: list[int] = []
    for n in range(10_000):
        sim.send(received.append, n, label="sink")
    sim.run()
    stats = sim.statistics()
    # Expected 2000 drops (sd 40), 800 duplicates of 8000 survivors (sd 27), 30% of copies
    # delayed; bounds are 5 standard deviations wide.
    assert 1_800 <= stats.messages_dropped <= 2_200
    assert 665 <= stats.messages_duplicated <= 935
    survivors = stats.messages_sent - stats.messages_dropped
    copies = survivors + stats.messages_duplicated
    assert 0.25 * copies <= stats.messages_delayed <= 0.35 * copies
    assert stats.messages_delivered == copies == len(received)
    assert len(set(received)) == survivors
    assert len(sim.events("drop")) == stats.messages_dropped
    assert len(sim.events("duplicate")) == stats.messages_duplicated
    assert len(sim.events("delay")) == stats.messages_delayed


def test_drop_rate_one_loses_everything_and_logs_each_loss() -> None:
    sim = Simulation(seed=5, faults=FaultPlan(drop_rate=1.0))
    got: list[str] = []
    sim.send(got.append, "x", label="worker-1")
    sim.run()
    assert got == []
    assert sim.history == [Event(0.0, 0, "drop", (("msg", "'x'"), ("to", "worker-1")))]
    assert sim.format_history() == "   0.000s  drop  msg='x' to=worker-1"


def test_a_duplicated_message_arrives_twice() -> None:
    sim = Simulation(seed=5, faults=FaultPlan(duplicate_rate=1.0, base_delay_s=0.1))
    got: list[str] = []
    sim.send(got.append, "x")
    sim.run()
    assert got == ["x", "x"]
    assert [event.kind for event in sim.history] == ["duplicate"]
    assert sim.statistics().messages_delivered == 2


def test_extra_delay_stays_within_the_plan_and_can_reorder_messages() -> None:
    plan = FaultPlan(delay_rate=0.5, max_extra_delay_s=0.2, base_delay_s=0.01)
    sim = Simulation(seed=9, faults=plan)
    arrivals: list[tuple[int, float]] = []
    for n in range(200):
        sim.send(lambda m: arrivals.append((m, sim.clock.now())), n)
    sim.run()
    assert all(0.01 <= when <= 0.21 + 1e-9 for _, when in arrivals)
    order = [n for n, _ in arrivals]
    assert sorted(order) == list(range(200))
    assert order != sorted(order)  # delays reorder: no knob needed
    assert all(0.0 <= event.get("extra_s") <= 0.2 for event in sim.events("delay"))


def test_send_uses_the_function_name_when_no_label_is_given() -> None:
    sim = Simulation(seed=0, faults=FaultPlan(drop_rate=1.0))

    def inbox(message: str) -> None:
        raise AssertionError("dropped messages are never delivered")

    sim.send(inbox, "m")
    assert sim.history[0].get("to").endswith("inbox")
    with pytest.raises(InvalidArgument, match=r"^label="):
        sim.send(inbox, "m", label="")


def test_long_messages_are_shortened_in_the_log() -> None:
    sim = Simulation(seed=0, faults=FaultPlan(drop_rate=1.0))
    sim.send(print, "x" * 500)
    msg = sim.history[0].get("msg")
    assert len(msg) == 60
    assert msg.endswith("...")


# --------------------------------------------------------------------------- crashes, skew


def test_should_crash_follows_the_crash_rate_and_logs_each_crash() -> None:
    sim = Simulation(seed=8, faults=FaultPlan(crash_rate=0.25))
    crashes = sum(sim.should_crash("worker") for _ in range(4_000))
    assert 850 <= crashes <= 1_150  # expected 1000, sd 27
    assert sim.statistics().crashes == crashes
    assert [event.as_dict() for event in sim.events("crash")] == [{"component": "worker"}] * crashes


def test_without_a_crash_rate_nothing_crashes() -> None:
    sim = Simulation(seed=8)
    assert not any(sim.should_crash("worker") for _ in range(1_000))
    assert sim.history == []


def test_should_crash_needs_a_component_name() -> None:
    with pytest.raises(InvalidArgument, match=r"^component="):
        Simulation(seed=0).should_crash("")


def test_a_skewed_clock_reads_the_sim_clock_plus_its_offset() -> None:
    sim = Simulation(seed=0, start=1_000.0)
    ahead, behind = sim.skewed_clock(0.25), sim.skewed_clock(-1.5)
    assert isinstance(ahead, Clock)
    assert (ahead.now(), behind.now()) == (1_000.25, 998.5)
    assert ahead.now_ms() == 1_000_250
    sim.run_until(1_010.0)
    assert (ahead.now(), behind.now()) == (1_010.25, 1_008.5)
    assert not hasattr(ahead, "advance")
    assert not hasattr(ahead, "set_to")


def test_random_skews_stay_within_the_plan_and_are_logged() -> None:
    sim = Simulation(seed=4, start=500.0, faults=FaultPlan(clock_skew_s=0.05))
    skews = [sim.skewed_clock().skew_s for _ in range(200)]
    assert all(-0.05 <= skew <= 0.05 for skew in skews)
    assert len(set(skews)) > 100
    assert [event.get("skew_s") for event in sim.events("skew")] == skews


def test_sleeping_on_a_skewed_clock_advances_the_shared_time() -> None:
    sim = Simulation(seed=0)
    sim.skewed_clock(3.0).sleep(2.0)
    assert sim.clock.now() == 2.0


def test_a_skew_must_be_a_finite_number() -> None:
    with pytest.raises(InvalidArgument, match=r"^skew_s="):
        Simulation(seed=0).skewed_clock(float("nan"))


# --------------------------------------------------------------------------- log, statistics


def test_log_stamps_events_with_simulated_time_and_sequence() -> None:
    sim = Simulation(seed=0, start=100.0)
    first = sim.log("boot", node="a")
    sim.run_until(101.5)
    second = sim.log("ready", node="a", port=80)
    assert first == Event(100.0, 0, "boot", (("node", "a"),))
    assert second == Event(101.5, 1, "ready", (("node", "a"), ("port", 80)))
    assert second.as_dict() == {"node": "a", "port": 80}
    assert second.get("missing", "x") == "x"
    assert sim.history == [first, second]


def test_events_are_values_fields_in_any_order_compare_equal_and_hash() -> None:
    sim = Simulation(seed=0)
    one = sim.log("x", b=2, a=1)
    assert one.fields == (("a", 1), ("b", 2))
    assert hash(one) == hash(Event(0.0, 0, "x", (("a", 1), ("b", 2))))
    assert one < sim.log("x", a=1)  # ordered by time, then sequence


def test_log_rejects_unhashable_fields_and_bad_kinds_before_writing() -> None:
    sim = Simulation(seed=0)
    with pytest.raises(InvalidArgument, match=r"^ids=\[1, 2\] is invalid: expected a hashable"):
        sim.log("batch", ids=[1, 2])
    for bad in ("", "two words", 7):
        with pytest.raises(InvalidArgument, match=r"^kind="):
            sim.log(bad)  # type: ignore[arg-type]
    assert sim.history == []


def test_a_field_may_be_called_kind() -> None:
    event = Simulation(seed=0).log("notify", kind="email")
    assert (event.kind, event.get("kind")) == ("notify", "email")


def test_events_filters_by_kind() -> None:
    sim = Simulation(seed=0)
    for kind in ("a", "b", "a"):
        sim.log(kind)
    assert [event.seq for event in sim.events("a")] == [0, 2]
    assert len(sim.events()) == 3
    assert sim.events("none") == []


def test_format_history_shows_time_since_start_kind_and_fields() -> None:
    sim = Simulation(seed=0, start=1_700_000_000.0)
    sim.log("send", to="worker-1", delay_s=0.1 + 0.2)
    sim.run_until(1_700_000_012.345)
    sim.log("crash", component="worker-1")
    sim.log("tick")
    assert sim.format_history().splitlines() == [
        "   0.000s  send  delay_s=0.3 to=worker-1",
        "  12.345s  crash  component=worker-1",
        "  12.345s  tick",
    ]
    assert sim.format_history(limit=1).splitlines() == [
        "   0.000s  send  delay_s=0.3 to=worker-1",
        "... (2 more)",
    ]
    assert sim.format_history(kind="tick") == "  12.345s  tick"
    assert sim.format_history(limit=0) == "... (3 more)"
    with pytest.raises(InvalidArgument, match=r"^limit="):
        sim.format_history(limit=-1)


def test_statistics_count_what_happened() -> None:
    sim = gossip(seed=42)
    stats = sim.statistics()
    assert isinstance(stats, SimulationStatistics)
    assert stats.events_run == 60 + stats.messages_delivered  # ticks + deliveries
    assert stats.messages_dropped == len(sim.events("drop"))
    assert stats.crashes == len(sim.events("crash"))
    assert stats.messages_delivered == len(sim.events("recv"))
    with pytest.raises(AttributeError):
        stats.crashes = 0  # type: ignore[misc]


def test_repr_shows_seed_time_and_queue() -> None:
    sim = Simulation(seed=9, start=2.0)
    sim.call_later(1.0, int)
    assert repr(sim) == "Simulation(seed=9, now=2.0, pending=1, events=0)"


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("drop_rate", 1.01, "a probability in [0, 1]"),
        ("duplicate_rate", -0.1, "a probability in [0, 1]"),
        ("delay_rate", float("nan"), "a probability in [0, 1]"),
        ("crash_rate", True, "a probability in [0, 1]"),
        ("max_extra_delay_s", -1.0, "a finite number of seconds >= 0"),
        ("base_delay_s", float("inf"), "a finite number of seconds >= 0"),
        ("clock_skew_s", "0.1", "a finite number of seconds >= 0"),
    ],
)
def test_bad_fault_plans_are_rejected_naming_the_knob(
    field: str, value: object, expected: str
) -> None:
    with pytest.raises(InvalidArgument) as caught:
        FaultPlan(**{field: value})  # type: ignore[arg-type]
    assert str(caught.value) == f"{field}={value!r} is invalid: expected {expected}"


def test_fault_plan_none_is_all_zero_and_plans_are_frozen() -> None:
    plan = FaultPlan.none()
    assert plan == FaultPlan(0, 0, 0, 0, 0, 0, 0)
    with pytest.raises(AttributeError):
        plan.drop_rate = 0.5  # type: ignore[misc]


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"seed": b"42"}, "seed"),
        ({"seed": 0, "clock": 5.0}, "clock"),
        ({"seed": 0, "start": 1.0, "clock": FakeClock(start=1.0)}, "start"),
        ({"seed": 0, "crash_plan": "after_send"}, "crash_plan"),
        ({"seed": 1.0}, "seed"),
        ({"seed": 0, "start": float("nan")}, "start"),
        ({"seed": 0, "faults": {"drop_rate": 0.1}}, "faults"),
    ],
)
def test_simulation_rejects_bad_arguments(kwargs: dict[str, object], name: str) -> None:
    with pytest.raises(InvalidArgument, match=f"^{name}="):
        Simulation(**kwargs)  # type: ignore[arg-type]


def test_a_simulation_moves_the_fake_clock_it_is_given() -> None:
    clock = FakeClock(start=500.0)
    sim = Simulation(seed="scenario-7", clock=clock)
    fired: list[float] = []
    sim.call_later(2.5, lambda: fired.append(clock.now()))
    sim.run()
    assert fired == [502.5] and clock.now() == 502.5 and sim.clock is clock


def test_a_str_seed_replays_like_an_int_seed() -> None:
    def draws(seed: int | str) -> list[float]:
        sim = Simulation(seed=seed)
        return [sim.rng.random() for _ in range(3)]

    assert draws("abc") == draws("abc") != draws("abd")


def test_the_crash_plan_given_is_the_one_components_consult_and_its_crashes_are_counted() -> None:
    plan = CrashPlan().crash("after_send", nth=2)
    sim = Simulation(seed=0, crash_plan=plan)
    assert sim.crash_plan is plan
    assert [sim.crash_plan.should_crash("after_send", "n1") for _ in range(3)] == [
        False, True, False]
    assert sim.statistics().crashes == 1


def test_next_due_at_names_the_earliest_pending_timer_and_skips_cancelled_ones() -> None:
    sim = Simulation(seed=0, start=10.0)
    assert sim.next_due_at is None
    first = sim.call_later(1.0, lambda: None)
    sim.call_later(2.5, lambda: None)
    assert sim.next_due_at == 11.0
    first.cancel()
    assert sim.next_due_at == 12.5
