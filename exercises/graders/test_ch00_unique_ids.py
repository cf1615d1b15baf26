"""Graders for exercises/ch00_unique_ids.py: Snowflake ids and the per-channel local sequence.

Each test reaches the code under test only through ``impl``. Ids are checked with the
grader's own bit arithmetic (:func:`fields`), never with the learner's ``decode``, so one
broken function costs one exercise.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exercises.graders.support import GRADER_SETTINGS, GuardedClock
from reference.core.clock import FakeClock
from reference.core.errors import ClockMovedBackwards, InvalidArgument
from reference.core.ids import (
    DISCORD_EPOCH_MS,
    MAX_TIMESTAMP_MS,
    TWITTER_EPOCH_MS,
    SnowflakeParts,
    SnowflakeStatistics,
)
from reference.storage import connect

SOLUTION = "reference.core.ids"

T0_S = 1_700_000_000.0004  # 2023-11-14, 0.4 ms into a millisecond
T0_MS = 1_700_000_000_000
DISCORD_ID = 175928847299117063  # Discord's documented example id
DISCORD_PARTS = SnowflakeParts(
    timestamp_ms=1_462_015_105_796, datacenter_id=1, worker_id=0, sequence=7
)


def fields(snowflake: int, epoch_ms: int = TWITTER_EPOCH_MS) -> tuple[int, int, int, int]:
    """(timestamp_ms, datacenter_id, worker_id, sequence) by plain bit arithmetic."""
    return (
        (snowflake >> 22) + epoch_ms,
        (snowflake >> 17) & 0x1F,
        (snowflake >> 12) & 0x1F,
        snowflake & 0xFFF,
    )


def make_clock() -> GuardedClock:
    return GuardedClock(start=T0_S)


def assert_record(got: Any, expected: Any, call: str) -> None:
    """``got == expected``, failing clearly when ``got`` is a look-alike of another class."""
    kind = type(expected)
    assert isinstance(got, kind), (
        f"{call} must return reference.core.ids.{kind.__name__} (import it; do not define "
        f"your own), got {type(got).__module__}.{type(got).__qualname__}"
    )
    assert got == expected, f"{call} returned {got!r}, expected {expected!r}"


# --------------------------------------------------------------------------- snowflake-encode

ENCODE_CASES = {
    "timestamp": (dict(timestamp_ms=TWITTER_EPOCH_MS + 1), 1 << 22),
    "datacenter": (dict(datacenter_id=31), 31 << 17),
    "worker": (dict(worker_id=31), 31 << 12),
    "sequence": (dict(sequence=4095), 4095),
    "all-fields-at-max": (
        dict(
            timestamp_ms=TWITTER_EPOCH_MS + MAX_TIMESTAMP_MS,
            datacenter_id=31,
            worker_id=31,
            sequence=4095,
        ),
        2**63 - 1,
    ),
    "discord-id": (
        dict(
            timestamp_ms=1_462_015_105_796,
            datacenter_id=1,
            worker_id=0,
            sequence=7,
            epoch_ms=DISCORD_EPOCH_MS,
        ),
        DISCORD_ID,
    ),
}


@pytest.mark.exercise(
    name="snowflake-encode",
    points=2,
    hint="shift the elapsed ms left by 22, the datacenter by 17, the worker by 12; OR them",
)
@pytest.mark.parametrize("case", list(ENCODE_CASES))
def test_encode_puts_each_field_in_its_bits(impl: Any, case: str) -> None:
    given_fields, expected = ENCODE_CASES[case]
    arguments: dict[str, int] = dict(
        timestamp_ms=TWITTER_EPOCH_MS, datacenter_id=0, worker_id=0, sequence=0
    )
    arguments.update(given_fields)
    got = impl.encode(**arguments)
    assert got == expected, f"encode({arguments}) returned {got}, expected {expected}"


ENCODE_REJECTS = [
    ("timestamp_ms", TWITTER_EPOCH_MS - 1),
    ("timestamp_ms", TWITTER_EPOCH_MS + MAX_TIMESTAMP_MS + 1),
    ("datacenter_id", -1),
    ("datacenter_id", 32),
    ("worker_id", -1),
    ("worker_id", 32),
    ("worker_id", "3"),
    ("sequence", -1),
    ("sequence", 4096),
    ("sequence", 1.5),
]


@pytest.mark.exercise(
    name="snowflake-encode",
    points=2,
    hint="check each field before packing and raise InvalidArgument.bad_value(name, got, ...)",
)
@pytest.mark.parametrize(
    ("field", "value"), ENCODE_REJECTS, ids=[f"{f}={v!r}" for f, v in ENCODE_REJECTS]
)
def test_encode_rejects_a_field_out_of_range_naming_it(impl: Any, field: str, value: Any) -> None:
    arguments: dict[str, Any] = dict(
        timestamp_ms=TWITTER_EPOCH_MS + 5, datacenter_id=1, worker_id=2, sequence=3
    )
    assert impl.encode(**arguments) == (5 << 22) | (1 << 17) | (2 << 12) | 3, (
        "encode must accept valid fields before its rejections count"
    )
    arguments[field] = value
    with pytest.raises(InvalidArgument) as caught:
        impl.encode(**arguments)
    assert field in str(caught.value), f"the error should name {field!r}: {caught.value}"


# --------------------------------------------------------------------------- snowflake-decode


@pytest.mark.exercise(
    name="snowflake-decode",
    points=2,
    hint="timestamp_ms = (x >> 22) + epoch_ms; each other field is shifted down, then masked",
)
def test_decode_reads_a_real_discord_id(impl: Any) -> None:
    got = impl.decode(DISCORD_ID, epoch_ms=DISCORD_EPOCH_MS)
    assert_record(got, DISCORD_PARTS, f"decode({DISCORD_ID}, epoch_ms=DISCORD_EPOCH_MS)")


@pytest.mark.exercise(
    name="snowflake-decode",
    points=2,
    hint="return reference.core.ids.SnowflakeParts; mask each field after shifting it down",
)
def test_decode_splits_each_field_with_the_twitter_epoch_by_default(impl: Any) -> None:
    cases = {
        0: SnowflakeParts(TWITTER_EPOCH_MS, 0, 0, 0),
        2**63 - 1: SnowflakeParts(TWITTER_EPOCH_MS + MAX_TIMESTAMP_MS, 31, 31, 4095),
        (5 << 22) | (3 << 17) | (7 << 12) | 9: SnowflakeParts(TWITTER_EPOCH_MS + 5, 3, 7, 9),
    }
    for snowflake, expected in cases.items():
        assert_record(impl.decode(snowflake), expected, f"decode({snowflake})")


@pytest.mark.exercise(
    name="snowflake-decode",
    points=2,
    hint="decode must undo encode for every in-range combination of the four fields",
)
@GRADER_SETTINGS
@given(
    elapsed_ms=st.integers(0, MAX_TIMESTAMP_MS),
    datacenter_id=st.integers(0, 31),
    worker_id=st.integers(0, 31),
    sequence=st.integers(0, 4095),
    epoch_ms=st.sampled_from([0, TWITTER_EPOCH_MS, DISCORD_EPOCH_MS]),
)
def test_decode_inverts_encode_for_every_field_combination(
    impl: Any, elapsed_ms: int, datacenter_id: int, worker_id: int, sequence: int, epoch_ms: int
) -> None:
    snowflake = impl.encode(
        timestamp_ms=epoch_ms + elapsed_ms,
        datacenter_id=datacenter_id,
        worker_id=worker_id,
        sequence=sequence,
        epoch_ms=epoch_ms,
    )
    expected = SnowflakeParts(epoch_ms + elapsed_ms, datacenter_id, worker_id, sequence)
    got = impl.decode(snowflake, epoch_ms=epoch_ms)
    assert_record(got, expected, f"decode({snowflake}, epoch_ms={epoch_ms})")


@pytest.mark.exercise(
    name="snowflake-decode",
    points=2,
    hint="every 63-bit integer is some id: decode it, encode the parts, get it back",
)
@GRADER_SETTINGS
@given(snowflake=st.integers(0, 2**63 - 1))
def test_decode_splits_every_63_bit_id_into_fields_encode_puts_back(
    impl: Any, snowflake: int
) -> None:
    assert_record(
        impl.decode(snowflake), SnowflakeParts(*fields(snowflake)), f"decode({snowflake})"
    )


@pytest.mark.exercise(
    name="snowflake-decode",
    points=2,
    hint="an id is an int in 0 .. 2**63 - 1; anything else is InvalidArgument",
)
@pytest.mark.parametrize("bad", [-1, 2**63, "5", 1.0], ids=["-1", "2**63", "str", "float"])
def test_decode_rejects_anything_but_a_63_bit_integer(impl: Any, bad: Any) -> None:
    valid = SnowflakeParts(TWITTER_EPOCH_MS + 1, 0, 0, 0)
    assert_record(impl.decode(1 << 22), valid, "decode(1 << 22)")
    with pytest.raises(InvalidArgument):
        impl.decode(bad)


# ------------------------------------------------------------------------ snowflake-generator


@pytest.mark.exercise(
    name="snowflake-generator",
    points=2,
    hint="stamp each id with clock.now_ms(); sequence 0, 1, 2 ... within one millisecond",
)
def test_generator_stamps_ids_with_clock_time_machine_ids_and_a_sequence(impl: Any) -> None:
    clock = make_clock()
    gen = impl.SnowflakeGenerator(clock, datacenter_id=3, worker_id=7, epoch_ms=DISCORD_EPOCH_MS)
    assert (gen.datacenter_id, gen.worker_id, gen.epoch_ms) == (3, 7, DISCORD_EPOCH_MS)
    first, second = gen.next_id(), gen.next_id()
    assert fields(first, DISCORD_EPOCH_MS) == (T0_MS, 3, 7, 0), "the first id of a millisecond"
    assert fields(second, DISCORD_EPOCH_MS) == (T0_MS, 3, 7, 1), "the second id, same ms"
    clock.advance(0.001)
    third = gen.next_id()
    assert fields(third, DISCORD_EPOCH_MS) == (T0_MS + 1, 3, 7, 0), "a new ms restarts at 0"
    assert_record(gen.decode(third), SnowflakeParts(T0_MS + 1, 3, 7, 0), "gen.decode(id)")


@pytest.mark.exercise(
    name="snowflake-generator",
    points=2,
    hint="defaults: datacenter_id=0, worker_id=0, epoch_ms=TWITTER_EPOCH_MS",
)
def test_generator_defaults_to_machine_zero_and_the_twitter_epoch(impl: Any) -> None:
    gen = impl.SnowflakeGenerator(make_clock())
    assert fields(gen.next_id()) == (T0_MS, 0, 0, 0)
    assert gen.epoch_ms == TWITTER_EPOCH_MS


@pytest.mark.exercise(
    name="snowflake-generator",
    points=2,
    hint="an epoch equal to the clock's current millisecond is allowed (elapsed = 0)",
)
def test_generator_accepts_an_epoch_equal_to_now(impl: Any) -> None:
    gen = impl.SnowflakeGenerator(make_clock(), worker_id=1, epoch_ms=T0_MS)
    assert gen.next_id() == 1 << 12


GENERATOR_REJECTS: dict[str, dict[str, Any]] = {
    "datacenter_id=32": dict(datacenter_id=32),
    "datacenter_id=-1": dict(datacenter_id=-1),
    "worker_id=32": dict(worker_id=32),
    "worker_id=-1": dict(worker_id=-1),
    "epoch-in-the-future": dict(epoch_ms=T0_MS + 1),
    "epoch_ms=-1": dict(epoch_ms=-1),
    "unknown-policy": dict(on_clock_rollback="ignore"),
    "max_rollback_wait_ms=-1": dict(max_rollback_wait_ms=-1),
}


@pytest.mark.exercise(
    name="snowflake-generator",
    points=2,
    hint="validate every constructor argument and raise InvalidArgument for a bad one",
)
@pytest.mark.parametrize("case", [*GENERATOR_REJECTS, "not-a-clock"])
def test_generator_rejects_bad_settings_with_invalid_argument(impl: Any, case: str) -> None:
    clock = make_clock()
    assert isinstance(impl.SnowflakeGenerator(clock).next_id(), int), "valid settings must work"
    with pytest.raises(InvalidArgument):
        if case == "not-a-clock":
            impl.SnowflakeGenerator(object())
        else:
            impl.SnowflakeGenerator(clock, **GENERATOR_REJECTS[case])


# ------------------------------------------------------------------------- snowflake-sequence


@pytest.mark.exercise(
    name="snowflake-sequence",
    points=2,
    hint="within one millisecond the sequence runs 0..4095 without waiting",
)
def test_generator_issues_4096_ids_in_one_millisecond_without_waiting(impl: Any) -> None:
    clock = make_clock()
    gen = impl.SnowflakeGenerator(clock, worker_id=5)
    got = [fields(gen.next_id()) for _ in range(4096)]
    assert got == [(T0_MS, 0, 5, s) for s in range(4096)], "4096 ids: ms T0, sequence 0..4095"
    assert clock.now_ms() == T0_MS, "the first 4096 ids of a millisecond need no wait"


@pytest.mark.exercise(
    name="snowflake-sequence",
    points=2,
    hint="after sequence 4095, clock.sleep() until now_ms() passes the last ms, then use 0",
)
def test_the_4097th_id_in_a_millisecond_waits_for_the_next_one(impl: Any) -> None:
    clock = make_clock()
    gen = impl.SnowflakeGenerator(clock)
    ids = [gen.next_id() for _ in range(4096)]
    overflow = gen.next_id()
    assert fields(overflow) == (T0_MS + 1, 0, 0, 0), "the 4097th id: next ms, sequence 0"
    assert overflow > ids[-1]
    assert clock.now_ms() == T0_MS + 1, "wait on the clock until the next millisecond, no longer"


@pytest.mark.exercise(
    name="snowflake-sequence",
    points=2,
    hint="each new millisecond restarts the sequence at 0, however many ms were skipped",
)
def test_a_burst_of_10000_ids_fills_two_milliseconds_and_spills_into_a_third(impl: Any) -> None:
    clock = make_clock()
    gen = impl.SnowflakeGenerator(clock)
    ids = [gen.next_id() for _ in range(10_000)]
    assert ids == sorted(set(ids)), "ids must be unique and increasing"
    stamps = [fields(i)[0] - T0_MS for i in ids]
    assert [stamps.count(ms) for ms in range(3)] == [4096, 4096, 1808]
    assert clock.now_ms() == T0_MS + 2
    clock.advance(0.005)
    assert fields(gen.next_id()) == (T0_MS + 7, 0, 0, 0)


# ------------------------------------------------------------------- snowflake-clock-rollback


@pytest.mark.exercise(
    name="snowflake-clock-rollback",
    points=3,
    hint="if now_ms < the last issued ms, raise ClockMovedBackwards(last_ms, now_ms) before "
    "changing any state",
)
def test_refuse_policy_raises_clock_moved_backwards_and_issues_nothing(impl: Any) -> None:
    clock = make_clock()
    gen = impl.SnowflakeGenerator(clock)
    gen.next_id()
    last = gen.next_id()
    clock.set_to_ms(T0_MS - 5)
    for _ in range(2):
        with pytest.raises(ClockMovedBackwards) as caught:
            gen.next_id()
        assert (caught.value.last_ms, caught.value.now_ms) == (T0_MS, T0_MS - 5)
    assert clock.now_ms() == T0_MS - 5, "the refuse policy must not wait"
    clock.set_to_ms(T0_MS)
    assert gen.next_id() == last + 1, "after a refusal, carry on exactly where you left off"


@pytest.mark.exercise(
    name="snowflake-clock-rollback",
    points=3,
    hint="any rollback counts, even one millisecond",
)
def test_refuse_policy_refuses_even_a_one_millisecond_rollback(impl: Any) -> None:
    clock = make_clock()
    gen = impl.SnowflakeGenerator(clock, on_clock_rollback="refuse")
    clock.advance(0.001)
    gen.next_id()
    clock.set_to_ms(T0_MS)
    with pytest.raises(ClockMovedBackwards):
        gen.next_id()


@pytest.mark.exercise(
    name="snowflake-clock-rollback",
    points=3,
    hint="policy 'wait': clock.sleep() until the clock is back at the last issued ms",
)
def test_wait_policy_sits_out_a_rollback_up_to_its_limit(impl: Any) -> None:
    clock = make_clock()
    gen = impl.SnowflakeGenerator(clock, on_clock_rollback="wait", max_rollback_wait_ms=20)
    last = gen.next_id()
    clock.set_to_ms(T0_MS - 20)
    after = gen.next_id()
    assert after > last, "an id issued after a rollback must still be larger"
    assert fields(after)[0] >= T0_MS
    assert T0_MS <= clock.now_ms() <= T0_MS + 1, "wait on the clock for the rollback, no longer"


@pytest.mark.exercise(
    name="snowflake-clock-rollback",
    points=3,
    hint="policy 'wait' refuses at once (no sleep) a rollback longer than max_rollback_wait_ms",
)
def test_wait_policy_refuses_a_longer_rollback_without_waiting(impl: Any) -> None:
    clock = make_clock()
    gen = impl.SnowflakeGenerator(clock, on_clock_rollback="wait", max_rollback_wait_ms=20)
    last = gen.next_id()
    clock.set_to_ms(T0_MS - 21)
    with pytest.raises(ClockMovedBackwards):
        gen.next_id()
    assert clock.now_ms() == T0_MS - 21, "a refused rollback must not wait"
    clock.set_to_ms(T0_MS)
    assert gen.next_id() == last + 1, "after a refusal, carry on exactly where you left off"


# ------------------------------------------------------------------ snowflake-unique-k-sorted

STEP = st.tuples(st.sampled_from([0, 0, 0, 100, 1_000, 13_700]), st.integers(1, 40))


@pytest.mark.exercise(
    name="snowflake-unique-k-sorted",
    points=2,
    hint="one worker's ids must strictly increase, each stamped with the ms it was issued in",
)
@GRADER_SETTINGS
@given(steps=st.lists(STEP, max_size=40))
def test_one_workers_ids_are_unique_increasing_and_stamped_when_issued(
    impl: Any, steps: list[tuple[int, int]]
) -> None:
    clock = make_clock()
    gen = impl.SnowflakeGenerator(clock, datacenter_id=2, worker_id=9)
    previous = -1
    for advance_us, count in steps:
        clock.advance(advance_us / 1_000_000)
        for _ in range(count):
            before = clock.now_ms()
            snowflake = gen.next_id()
            assert snowflake > previous, "ids from one worker must strictly increase"
            assert before <= fields(snowflake)[0] <= clock.now_ms(), "stamped when issued"
            previous = snowflake


WORKERS = [(0, 0), (0, 1), (1, 0), (31, 31)]


@pytest.mark.exercise(
    name="snowflake-unique-k-sorted",
    points=2,
    hint="ids from different workers differ in the machine bits; sorting them sorts by time",
)
@GRADER_SETTINGS
@given(
    steps=st.lists(
        st.tuples(st.integers(0, len(WORKERS) - 1), st.sampled_from([0, 0, 300, 1_000, 2_500])),
        min_size=1,
        max_size=200,
    )
)
def test_ids_from_many_workers_are_unique_and_k_sorted_by_time(
    impl: Any, steps: list[tuple[int, int]]
) -> None:
    clock = make_clock()
    gens = [impl.SnowflakeGenerator(clock, datacenter_id=d, worker_id=w) for d, w in WORKERS]
    issued: list[tuple[int, int]] = []  # (id, ms it was issued in)
    for worker, advance_us in steps:
        clock.advance(advance_us / 1_000_000)
        issued.append((gens[worker].next_id(), clock.now_ms()))
    ids = [snowflake for snowflake, _ in issued]
    assert len(set(ids)) == len(ids), "ids from different workers must never collide"
    by_id = [ms for _, ms in sorted(issued)]
    assert by_id == sorted(by_id), "sorting ids must sort them by the ms they were issued in"


@pytest.mark.exercise(
    name="snowflake-unique-k-sorted",
    points=2,
    hint="no repeats even in a burst of more than 4096 ids in one millisecond: wait, never wrap",
)
def test_twenty_thousand_ids_in_bursts_and_under_an_irregular_clock_are_unique(
    impl: Any,
) -> None:
    rng = random.Random(2010)
    clock = make_clock()
    gen = impl.SnowflakeGenerator(clock, datacenter_id=1, worker_id=1)
    ids = [gen.next_id() for _ in range(6_000)]  # a burst: the clock never moves on its own
    for _ in range(14_000):
        clock.advance(rng.choice([0.0] * 12 + [0.0002, 0.001, 0.003]))
        ids.append(gen.next_id())
    assert len(set(ids)) == len(ids), "an id repeated: never reuse a (ms, sequence) pair"
    assert ids == sorted(ids), "one worker's ids must always increase"


# ----------------------------------------------------------------------- snowflake-statistics


@pytest.mark.exercise(
    name="snowflake-statistics",
    points=1,
    hint="return SnowflakeStatistics(issued=..., sequence_exhausted_waits=..., "
    "rollbacks_refused=..., rollback_waits=...)",
)
def test_statistics_count_ids_overflow_waits_and_refusals(impl: Any) -> None:
    clock = make_clock()
    gen = impl.SnowflakeGenerator(clock)
    assert_record(
        gen.statistics(), SnowflakeStatistics(0, 0, 0, 0), "a new generator's statistics()"
    )
    for _ in range(4097):
        gen.next_id()
    snapshot = gen.statistics()
    assert_record(snapshot, SnowflakeStatistics(4097, 1, 0, 0), "statistics() after 4097 ids")
    clock.set_to_ms(T0_MS - 3)
    with pytest.raises(ClockMovedBackwards):
        gen.next_id()
    expected = SnowflakeStatistics(4097, 1, 1, 0)
    assert_record(gen.statistics(), expected, "statistics() after a refused rollback")
    assert snapshot == SnowflakeStatistics(4097, 1, 0, 0), "an earlier snapshot never changes"


@pytest.mark.exercise(
    name="snowflake-statistics",
    points=1,
    hint="count a rollback sat out under 'wait' in rollback_waits, a refused one separately",
)
def test_statistics_count_rollbacks_sat_out_and_refused_under_wait(impl: Any) -> None:
    clock = make_clock()
    gen = impl.SnowflakeGenerator(clock, on_clock_rollback="wait", max_rollback_wait_ms=10)
    gen.next_id()
    clock.set_to_ms(T0_MS - 10)
    gen.next_id()
    clock.set_to_ms(T0_MS - 50)
    with pytest.raises(ClockMovedBackwards):
        gen.next_id()
    expected = SnowflakeStatistics(2, 0, 1, 1)
    assert_record(
        gen.statistics(), expected, "statistics() after one rollback sat out, one refused"
    )


# --------------------------------------------------------------------------- local-sequence


class RecordingCounter:
    """An in-memory atomic counter that records every call made to it."""

    def __init__(self) -> None:
        self.values: dict[str, int] = {}
        self.calls: list[tuple[str, ...]] = []

    def incr(self, key: str, amount: int = 1) -> int:
        self.calls.append(("incr", key, str(amount)))
        self.values[key] = self.values.get(key, 0) + amount
        return self.values[key]

    def get(self, key: str) -> int:
        self.calls.append(("get", key))
        return self.values.get(key, 0)


@pytest.mark.exercise(
    name="local-sequence",
    points=2,
    hint="next_id returns counter.incr(key, 1) for the channel's own key",
)
def test_local_sequence_numbers_each_channel_1_2_3_independently(impl: Any) -> None:
    seq = impl.LocalSequence(RecordingCounter())
    got = [seq.next_id(c) for c in ["general", "general", "random", "general", 42, 42]]
    assert got == [1, 2, 1, 3, 1, 2]
    assert (seq.current("general"), seq.current("random"), seq.current(42)) == (3, 1, 2)
    assert seq.current("never-used") == 0


@pytest.mark.exercise(
    name="local-sequence",
    points=2,
    hint="the key is f'{namespace}:{{{channel_id}}}', e.g. seq:{42}, and next_id makes one "
    "incr call",
)
def test_local_sequence_uses_one_atomic_incr_on_a_hash_tagged_key_per_id(impl: Any) -> None:
    counter = RecordingCounter()
    seq = impl.LocalSequence(counter)
    seq.next_id(42)
    assert counter.calls == [("incr", "seq:{42}", "1")], f"calls made: {counter.calls}"
    chat = impl.LocalSequence(counter, namespace="chat")
    chat.next_id("room")
    assert counter.calls[1:] == [("incr", "chat:{room}", "1")], f"calls made: {counter.calls}"


@pytest.mark.exercise(
    name="local-sequence",
    points=2,
    hint="keep no numbers in the object: the counter is the only state",
)
def test_two_local_sequences_over_one_counter_continue_each_other(impl: Any) -> None:
    counter = RecordingCounter()
    server_a, server_b = impl.LocalSequence(counter), impl.LocalSequence(counter)
    assert [server_a.next_id(7), server_b.next_id(7), server_a.next_id(7)] == [1, 2, 3]
    assert server_b.current(7) == 3


@pytest.mark.exercise(
    name="local-sequence",
    points=2,
    hint="use only the port's incr(key, amount) and get(key): then any backend's counter works",
)
@pytest.mark.parametrize("backend", ["memory", "fakeredis"])
def test_local_sequence_runs_on_a_storage_backends_counter_port(impl: Any, backend: str) -> None:
    with connect(backend, clock=FakeClock(start=T0_S)) as opened:
        seq = impl.LocalSequence(opened.counter)
        assert [seq.next_id("general"), seq.next_id("general"), seq.next_id(7)] == [1, 2, 1]
        assert (opened.counter.get("seq:{general}"), seq.current(7)) == (2, 1)


BAD_CHANNELS = ["", None, True, -1, 1.5, "a}b"]


@pytest.mark.exercise(
    name="local-sequence",
    points=2,
    hint="a channel id is a non-empty str without '}' or an int >= 0 (not a bool); check it "
    "before calling the counter",
)
@pytest.mark.parametrize("bad", BAD_CHANNELS, ids=[repr(b) for b in BAD_CHANNELS])
def test_local_sequence_rejects_a_bad_channel_id_before_touching_the_counter(
    impl: Any, bad: Any
) -> None:
    counter = RecordingCounter()
    seq = impl.LocalSequence(counter)
    for call in (seq.next_id, seq.current):
        with pytest.raises(InvalidArgument):
            call(bad)
    assert counter.calls == [], f"a rejected call must not reach the counter: {counter.calls}"
    assert seq.next_id("ok") == 1, "valid channel ids must still work"


@pytest.mark.exercise(
    name="local-sequence",
    points=2,
    hint="reject a counter without callable incr/get, and a namespace that is empty or has '{'",
)
@pytest.mark.parametrize("case", ["no-counter", "empty-namespace", "brace-namespace"])
def test_local_sequence_rejects_a_bad_counter_or_namespace(impl: Any, case: str) -> None:
    assert impl.LocalSequence(RecordingCounter(), namespace="ok").next_id(1) == 1
    with pytest.raises(InvalidArgument):
        if case == "no-counter":
            impl.LocalSequence(object())
        elif case == "empty-namespace":
            impl.LocalSequence(RecordingCounter(), namespace="")
        else:
            impl.LocalSequence(RecordingCounter(), namespace="a{b")
