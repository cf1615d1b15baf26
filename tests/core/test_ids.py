"""Snowflake ids and per-channel local sequences."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from reference.core.clock import FakeClock
from reference.core.errors import ClockMovedBackwards, InvalidArgument
from reference.core.ids import (
    DISCORD_EPOCH_MS,
    IDS_PER_MS,
    MAX_DATACENTER_ID,
    MAX_SEQUENCE,
    MAX_TIMESTAMP_MS,
    MAX_WORKER_ID,
    TWITTER_EPOCH_MS,
    LocalSequence,
    SnowflakeGenerator,
    SnowflakeParts,
    SnowflakeStatistics,
    decode,
    encode,
)

NOW_S = 1_700_000_000.0  # 2023-11-14, well after both epochs


def make_generator(
    clock: FakeClock | None = None, **kwargs: object
) -> tuple[FakeClock, SnowflakeGenerator]:
    clock = clock or FakeClock(start=NOW_S)
    return clock, SnowflakeGenerator(clock, **kwargs)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- encode / decode


@settings(max_examples=100)
@given(
    elapsed_ms=st.integers(min_value=0, max_value=MAX_TIMESTAMP_MS),
    datacenter_id=st.integers(min_value=0, max_value=MAX_DATACENTER_ID),
    worker_id=st.integers(min_value=0, max_value=MAX_WORKER_ID),
    sequence=st.integers(min_value=0, max_value=MAX_SEQUENCE),
    epoch_ms=st.sampled_from([TWITTER_EPOCH_MS, DISCORD_EPOCH_MS, 0]),
)
def test_decode_inverts_encode_for_every_field_in_range(
    elapsed_ms: int, datacenter_id: int, worker_id: int, sequence: int, epoch_ms: int
) -> None:
    parts = SnowflakeParts(epoch_ms + elapsed_ms, datacenter_id, worker_id, sequence)
    snowflake = encode(
        timestamp_ms=parts.timestamp_ms,
        datacenter_id=datacenter_id,
        worker_id=worker_id,
        sequence=sequence,
        epoch_ms=epoch_ms,
    )
    assert 0 <= snowflake < 2**63
    assert decode(snowflake, epoch_ms=epoch_ms) == parts


def test_encode_packs_fields_in_snowflake_bit_layout() -> None:
    snowflake = encode(
        timestamp_ms=TWITTER_EPOCH_MS + 5, datacenter_id=3, worker_id=7, sequence=9
    )
    assert snowflake == (5 << 22) | (3 << 17) | (7 << 12) | 9


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("datacenter_id", 32, "an integer in 0..31"),
        ("datacenter_id", -1, "an integer in 0..31"),
        ("worker_id", 32, "an integer in 0..31"),
        ("sequence", 4096, "an integer in 0..4095"),
        ("sequence", 1.0, "an integer in 0..4095"),
        ("sequence", True, "an integer in 0..4095"),
        (
            "timestamp_ms",
            TWITTER_EPOCH_MS - 1,
            f"an integer in {TWITTER_EPOCH_MS}..{TWITTER_EPOCH_MS + MAX_TIMESTAMP_MS}",
        ),
    ],
)
def test_encode_rejects_out_of_range_fields_naming_the_field_and_range(
    field: str, value: object, expected: str
) -> None:
    fields: dict[str, object] = {
        "timestamp_ms": TWITTER_EPOCH_MS,
        "datacenter_id": 0,
        "worker_id": 0,
        "sequence": 0,
    }
    fields[field] = value
    with pytest.raises(InvalidArgument) as caught:
        encode(**fields)  # type: ignore[arg-type]
    assert str(caught.value) == f"{field}={value!r} is invalid: expected {expected}"


@pytest.mark.parametrize("bad", [-1, 2**63, "12", None])
def test_decode_rejects_values_that_are_not_63_bit_ids(bad: object) -> None:
    with pytest.raises(InvalidArgument, match=r"snowflake=.* is invalid: expected an integer"):
        decode(bad)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- the generator


def test_first_ids_carry_the_clock_time_and_the_machine_fields() -> None:
    clock, gen = make_generator(datacenter_id=4, worker_id=21)
    parts = gen.decode(gen.next_id())
    assert parts == SnowflakeParts(clock.now_ms(), 4, 21, 0)


def test_4096_ids_fit_in_one_ms_and_the_next_waits_for_the_next_ms() -> None:
    clock, gen = make_generator()
    start_ms = clock.now_ms()
    batch = [gen.next_id() for _ in range(IDS_PER_MS)]
    assert clock.now_ms() == start_ms  # no waiting yet
    assert [gen.decode(i).sequence for i in batch] == list(range(IDS_PER_MS))
    overflow = gen.next_id()
    assert clock.now_ms() == start_ms + 1  # FakeClock.sleep moved time on
    assert gen.decode(overflow) == SnowflakeParts(start_ms + 1, 0, 0, 0)
    assert overflow > batch[-1]
    assert gen.statistics() == SnowflakeStatistics(
        issued=IDS_PER_MS + 1, sequence_exhausted_waits=1, rollbacks_refused=0, rollback_waits=0
    )


def test_ids_are_unique_and_strictly_increasing_while_the_clock_advances_randomly() -> None:
    rng = random.Random(20240501)
    clock, gen = make_generator()
    previous = -1
    seen: set[int] = set()
    for _ in range(20_000):
        if rng.random() < 0.05:
            clock.advance(rng.choice([0.0001, 0.0009, 0.001, 0.0123, 1.5]))
        snowflake = gen.next_id()
        assert snowflake > previous
        seen.add(snowflake)
        previous = snowflake
    assert len(seen) == 20_000


def test_ids_of_two_workers_are_k_sorted_by_time() -> None:
    rng = random.Random(7)
    clock = FakeClock(start=NOW_S)
    workers = [SnowflakeGenerator(clock, worker_id=w) for w in (1, 2)]
    issued: list[tuple[int, int]] = []  # (creation ms, id)
    for _ in range(2_000):
        clock.advance(rng.choice([0.0, 0.0004, 0.002]))
        issued.append((clock.now_ms(), rng.choice(workers).next_id()))
    by_id = sorted(issued, key=lambda pair: pair[1])
    created_ms = [ms for ms, _ in by_id]
    assert created_ms == sorted(created_ms)  # sorting by id sorts by time (to the ms)
    assert len({snowflake for _, snowflake in issued}) == len(issued)
    assert {decode(s).worker_id for _, s in issued} == {1, 2}


def test_a_clock_rollback_is_refused_nothing_is_issued_and_it_is_counted() -> None:
    clock, gen = make_generator()
    last = gen.next_id()
    clock.set_to(NOW_S - 0.005)
    with pytest.raises(ClockMovedBackwards, match="backwards by 5 ms") as caught:
        gen.next_id()
    assert caught.value.last_ms == gen.decode(last).timestamp_ms
    stats = gen.statistics()
    assert (stats.issued, stats.rollbacks_refused) == (1, 1)
    clock.set_to(NOW_S)  # caught up: the same millisecond continues its sequence
    assert gen.decode(gen.next_id()).sequence == 1


def test_wait_policy_sits_out_a_short_rollback() -> None:
    clock, gen = make_generator(on_clock_rollback="wait", max_rollback_wait_ms=50)
    first = gen.next_id()
    clock.set_to(NOW_S - 0.020)
    second = gen.next_id()
    assert second > first
    assert clock.now_ms() >= gen.decode(first).timestamp_ms  # it slept until caught up
    stats = gen.statistics()
    assert (stats.rollback_waits, stats.rollbacks_refused, stats.issued) == (1, 0, 2)


def test_wait_policy_refuses_a_rollback_longer_than_its_limit() -> None:
    clock, gen = make_generator(on_clock_rollback="wait", max_rollback_wait_ms=50)
    gen.next_id()
    clock.set_to(NOW_S - 0.051)
    with pytest.raises(ClockMovedBackwards, match="backwards by 51 ms"):
        gen.next_id()
    assert clock.now() == NOW_S - 0.051  # refused without sleeping
    assert gen.statistics().rollbacks_refused == 1


def test_an_epoch_after_now_is_rejected() -> None:
    clock = FakeClock(start=NOW_S)
    expected = r"epoch_ms=.* is invalid: expected an integer in 0\.\."
    with pytest.raises(InvalidArgument, match=expected):
        SnowflakeGenerator(clock, epoch_ms=clock.now_ms() + 1)
    SnowflakeGenerator(clock, epoch_ms=clock.now_ms())  # exactly now is fine


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"worker_id": 32}, "worker_id"),
        ({"datacenter_id": -1}, "datacenter_id"),
        ({"on_clock_rollback": "ignore"}, "on_clock_rollback"),
        ({"max_rollback_wait_ms": -5}, "max_rollback_wait_ms"),
    ],
)
def test_generator_rejects_bad_settings_by_name(kwargs: dict[str, object], name: str) -> None:
    with pytest.raises(InvalidArgument, match=f"^{name}="):
        make_generator(**kwargs)  # type: ignore[arg-type]


def test_generator_rejects_something_that_is_not_a_clock() -> None:
    with pytest.raises(InvalidArgument, match="expected a Clock"):
        SnowflakeGenerator(object())  # type: ignore[arg-type]


def test_the_41_bit_timestamp_running_out_raises_and_issues_nothing() -> None:
    last_ms = TWITTER_EPOCH_MS + MAX_TIMESTAMP_MS
    clock = FakeClock(start=last_ms / 1000)
    gen = SnowflakeGenerator(clock)
    issued = [gen.next_id(), gen.next_id()]
    clock.advance(0.001)
    with pytest.raises(InvalidArgument, match="41 bits"):
        gen.next_id()
    assert gen.statistics().issued == 2
    clock.set_to(last_ms / 1000)  # back in the last valid millisecond: no id may repeat
    assert gen.next_id() not in issued


def test_a_clock_before_the_epoch_is_refused_rather_than_issuing_a_negative_id() -> None:
    clock, gen = make_generator(epoch_ms=DISCORD_EPOCH_MS)
    clock.set_to(DISCORD_EPOCH_MS / 1000 - 1)
    with pytest.raises(InvalidArgument, match="before epoch_ms"):
        gen.next_id()
    assert gen.statistics().issued == 0


def test_repr_names_the_machine() -> None:
    _, gen = make_generator(datacenter_id=1, worker_id=2)
    assert repr(gen) == (
        f"SnowflakeGenerator(datacenter_id=1, worker_id=2, epoch_ms={TWITTER_EPOCH_MS})"
    )


class SnowflakeVersusASet(RuleBasedStateMachine):
    """Whatever the clock does, issued ids never repeat and never go down."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock(start=NOW_S)
        self.gen = SnowflakeGenerator(self.clock, on_clock_rollback="wait", max_rollback_wait_ms=3)
        self.issued: list[int] = []
        self.refused = 0

    @rule(count=st.integers(min_value=1, max_value=300))
    def issue(self, count: int) -> None:
        for _ in range(count):
            try:
                self.issued.append(self.gen.next_id())
            except ClockMovedBackwards:
                self.refused += 1
                return

    @rule(us=st.integers(min_value=0, max_value=3_000))
    def advance(self, us: int) -> None:
        self.clock.advance(us / 1_000_000)

    @rule(us=st.integers(min_value=1, max_value=8_000))
    def roll_back(self, us: int) -> None:
        self.clock.set_to(self.clock.now() - us / 1_000_000)

    @invariant()
    def ids_are_unique_and_increasing(self) -> None:
        assert self.issued == sorted(set(self.issued))

    @invariant()
    def statistics_match_what_happened(self) -> None:
        stats = self.gen.statistics()
        assert stats.issued == len(self.issued)
        assert stats.rollbacks_refused == self.refused


TestSnowflakeVersusASet = SnowflakeVersusASet.TestCase
TestSnowflakeVersusASet.settings = settings(max_examples=40, stateful_step_count=30)


# --------------------------------------------------------------------------- local sequence


class DictCounter:
    """A recording in-memory counter with the port's incr/get."""

    def __init__(self) -> None:
        self.values: dict[str, int] = {}

    def incr(self, key: str, amount: int = 1) -> int:
        self.values[key] = self.values.get(key, 0) + amount
        return self.values[key]

    def get(self, key: str) -> int:
        return self.values.get(key, 0)


def test_local_sequence_counts_1_2_3_per_channel() -> None:
    seq = LocalSequence(DictCounter())
    assert [seq.next_id("general") for _ in range(5)] == [1, 2, 3, 4, 5]
    assert seq.current("general") == 5


def test_local_sequence_channels_are_independent() -> None:
    counter = DictCounter()
    seq = LocalSequence(counter)
    assert [seq.next_id("a"), seq.next_id("b"), seq.next_id("a"), seq.next_id(7)] == [1, 1, 2, 1]
    assert seq.current("never-used") == 0
    assert counter.values == {"seq:{a}": 2, "seq:{b}": 1, "seq:{7}": 1}


def test_local_sequence_keys_use_the_namespace_and_a_hash_tag() -> None:
    counter = DictCounter()
    LocalSequence(counter, namespace="chat:msgseq").next_id(42)
    assert list(counter.values) == ["chat:msgseq:{42}"]


@pytest.mark.parametrize("bad", ["", "a}b", -1, True, 1.5, None, ("a",)])
def test_local_sequence_rejects_bad_channel_ids_without_touching_the_counter(bad: object) -> None:
    counter = DictCounter()
    seq = LocalSequence(counter)
    with pytest.raises(InvalidArgument, match=r"^channel_id=.* is invalid: expected"):
        seq.next_id(bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match=r"^channel_id="):
        seq.current(bad)  # type: ignore[arg-type]
    assert counter.values == {}


@pytest.mark.parametrize("bad", ["", "seq{", 5, None])
def test_local_sequence_rejects_a_bad_namespace(bad: object) -> None:
    with pytest.raises(InvalidArgument, match=r"^namespace=.* expected a non-empty string"):
        LocalSequence(DictCounter(), namespace=bad)  # type: ignore[arg-type]


def test_local_sequence_rejects_something_that_is_not_a_counter() -> None:
    with pytest.raises(InvalidArgument, match=r"^counter=.*incr"):
        LocalSequence(object())  # type: ignore[arg-type]


def test_describe_groups_the_bits_by_field_and_names_each_value() -> None:
    from reference.core.ids import FIELDS, describe

    snowflake = encode(
        timestamp_ms=DISCORD_EPOCH_MS + 1234, datacenter_id=31, worker_id=0, sequence=4095,
        epoch_ms=DISCORD_EPOCH_MS,
    )
    first, *rest = describe(snowflake, epoch_ms=DISCORD_EPOCH_MS).splitlines()
    groups = first.split("0b ")[1].split()
    assert [len(g) for g in groups] == [width for _, width in FIELDS]
    assert int("".join(groups), 2) == snowflake
    assert rest == [
        "  timestamp   1234 ms after the epoch = 2015-01-01T00:00:01.234Z",
        "  datacenter  31",
        "  worker      0",
        "  sequence    4095",
    ]
