"""TrioClock: a ``core`` clock on trio's virtual time (MockClock via pytest-trio's
``autojump_clock``). No test asserts on task interleaving: results are sorted first."""

from __future__ import annotations

import math

import pytest
import trio
import trio.testing

from reference.core.clock import Clock
from reference.core.errors import InvalidArgument, LabError, RateLimited
from reference.core.ids import IDS_PER_MS, SnowflakeGenerator
from reference.core.trio_clock import NotInTrioRun, TrioClock

START_S = 1_700_000_000.0  # 2023-11-14T22:13:20Z, as in tests/conftest.py
START_MS = 1_700_000_000_000


# ── time follows trio ───────────────────────────────────────────────────────────────────


@pytest.mark.trio
async def test_now_is_the_epoch_plus_trios_virtual_time(
    autojump_clock: trio.testing.MockClock,
) -> None:
    clock = TrioClock(epoch=START_S)
    assert clock.now() == START_S
    assert clock.now_ms() == START_MS
    await trio.sleep(3600)  # an hour of virtual time
    assert trio.current_time() == 3600
    assert clock.now() == START_S + 3600
    assert clock.now_ms() == START_MS + 3_600_000


@pytest.mark.trio
async def test_time_does_not_move_while_a_task_runs_without_awaiting(
    autojump_clock: trio.testing.MockClock,
) -> None:
    clock = TrioClock(epoch=START_S)
    before = clock.now()
    sum(range(100_000))  # real work takes real time, virtual time stays put
    assert clock.now() == before


@pytest.mark.trio
async def test_every_task_reads_the_same_virtual_time_at_its_deadline(
    autojump_clock: trio.testing.MockClock,
) -> None:
    clock = TrioClock(epoch=START_S)
    woke: list[tuple[float, str]] = []

    async def heartbeat(name: str, every_s: float, beats: int) -> None:
        for _ in range(beats):
            await trio.sleep(every_s)
            woke.append((clock.now() - START_S, name))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(heartbeat, "ada", 5.0, 720)  # an hour at one beat per 5 s
        nursery.start_soon(heartbeat, "bob", 600.0, 6)
    assert clock.now() == START_S + 3600
    assert sorted(t for t, name in woke if name == "bob") == [600, 1200, 1800, 2400, 3000, 3600]
    assert max(t for t, name in woke if name == "ada") == 3600
    assert len(woke) == 726


@pytest.mark.trio
async def test_now_ms_is_the_floor_in_whole_milliseconds(
    autojump_clock: trio.testing.MockClock,
) -> None:
    clock = TrioClock(epoch=START_S)
    await trio.sleep(0.0015)
    assert clock.now_ms() == START_MS + 1
    await trio.sleep(0.0004)
    assert clock.now_ms() == START_MS + 1  # 1.9 ms: still the first millisecond
    await trio.sleep(0.0001)
    assert clock.now_ms() == START_MS + 2


@pytest.mark.trio
async def test_now_ms_counts_in_exact_microseconds_not_floats(
    autojump_clock: trio.testing.MockClock,
) -> None:
    clock = TrioClock(epoch=0.0)
    await trio.sleep(1.001)
    assert math.floor(trio.current_time() * 1000) == 1000  # the float floor is a ms short
    assert clock.now_ms() == 1001
    await trio.sleep(0.1)
    await trio.sleep(0.2)
    assert clock.now_ms() == 1301


@pytest.mark.trio
async def test_a_fractional_epoch_is_kept_to_the_microsecond(
    autojump_clock: trio.testing.MockClock,
) -> None:
    clock = TrioClock(epoch=START_S + 0.0009)
    assert clock.now_ms() == START_MS
    assert clock.epoch == START_S + 0.0009
    await trio.sleep(0.0001)
    assert clock.now_ms() == START_MS + 1


def test_a_trio_clock_is_a_core_clock() -> None:
    clock = TrioClock(epoch=START_S)
    assert isinstance(clock, Clock)
    assert repr(clock) == "TrioClock(epoch=1700000000.0)"


# ── ids on trio's time ──────────────────────────────────────────────────────────────────


@pytest.mark.trio
async def test_snowflake_ids_increase_across_sleeps_and_carry_trios_time(
    autojump_clock: trio.testing.MockClock,
) -> None:
    clock = TrioClock(epoch=START_S)
    ids = SnowflakeGenerator(clock, worker_id=3)
    issued: list[tuple[int, int]] = []
    for pause_s in (0, 0, 0.0005, 0.0005, 0.001, 1, 0, 3600):
        await trio.sleep(pause_s)
        issued.append((ids.next_id(), clock.now_ms()))
    numbers = [n for n, _ in issued]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
    assert [ids.decode(n).timestamp_ms for n, _ in issued] == [ms for _, ms in issued]
    assert ids.decode(numbers[-1]).timestamp_ms - ids.decode(numbers[0]).timestamp_ms == (
        3_601_002)


@pytest.mark.trio
async def test_ids_from_concurrent_tasks_are_unique_and_k_sorted_by_time(
    autojump_clock: trio.testing.MockClock,
) -> None:
    clock = TrioClock(epoch=START_S)
    ids = SnowflakeGenerator(clock)
    issued: list[int] = []

    async def sender(every_s: float) -> None:
        for _ in range(50):
            await trio.sleep(every_s)
            issued.append(ids.next_id())

    async with trio.open_nursery() as nursery:
        for every_s in (0.001, 0.0025, 0.01):
            nursery.start_soon(sender, every_s)
    assert len(set(issued)) == 150
    stamps = [ids.decode(n).timestamp_ms for n in sorted(issued)]
    assert stamps == sorted(stamps)
    assert stamps[-1] == START_MS + 500


# ── the sleep decision: refuse with how long to await ───────────────────────────────────


@pytest.mark.trio
async def test_sleep_refuses_to_block_a_trio_task_and_says_how_long_to_await(
    autojump_clock: trio.testing.MockClock,
) -> None:
    clock = TrioClock(epoch=START_S)
    with pytest.raises(RateLimited, match=r"cannot block a trio task.*await trio\.sleep") as got:
        clock.sleep(0.25)
    assert got.value.retry_after_s == 0.25
    assert clock.now() == START_S  # time has not moved
    await trio.sleep(got.value.retry_after_s)
    assert clock.now() == START_S + 0.25


@pytest.mark.trio
async def test_sleep_of_zero_returns_at_once(autojump_clock: trio.testing.MockClock) -> None:
    clock = TrioClock(epoch=START_S)
    clock.sleep(0)
    assert clock.now() == START_S


@pytest.mark.trio
@pytest.mark.parametrize("seconds", [-0.001, math.nan, math.inf, "1", True, None])
async def test_sleep_refuses_a_negative_or_non_finite_duration(
    autojump_clock: trio.testing.MockClock, seconds: object
) -> None:
    with pytest.raises(InvalidArgument, match="seconds="):
        TrioClock(epoch=START_S).sleep(seconds)  # type: ignore[arg-type]


@pytest.mark.trio
async def test_the_4097th_id_in_one_millisecond_is_refused_until_the_task_awaits(
    autojump_clock: trio.testing.MockClock,
) -> None:
    clock = TrioClock(epoch=START_S)
    ids = SnowflakeGenerator(clock)
    burst = [ids.next_id() for _ in range(IDS_PER_MS)]  # all in one virtual millisecond
    with pytest.raises(RateLimited) as full:
        ids.next_id()
    assert full.value.retry_after_s == 0.001
    assert ids.statistics().issued == IDS_PER_MS  # nothing issued by the refused call
    with pytest.raises(RateLimited):
        ids.next_id()  # still refused: time has not moved
    await trio.sleep(full.value.retry_after_s)
    after = ids.next_id()
    assert after > burst[-1] and after not in burst
    assert ids.decode(after).timestamp_ms == START_MS + 1
    assert ids.decode(after).sequence == 0


# ── outside trio.run ────────────────────────────────────────────────────────────────────


def test_reading_the_clock_outside_trio_run_raises_a_lab_error_saying_so() -> None:
    clock = TrioClock(epoch=START_S)
    for read in (clock.now, clock.now_ms, lambda: clock.sleep(0.001)):
        with pytest.raises(NotInTrioRun, match=r"exists only inside trio\.run") as got:
            read()
        assert isinstance(got.value, LabError) and isinstance(got.value, RuntimeError)


def test_a_snowflake_generator_cannot_start_on_a_trio_clock_outside_trio_run() -> None:
    with pytest.raises(NotInTrioRun):
        SnowflakeGenerator(TrioClock(epoch=START_S))


# ── the constructor's boundary ──────────────────────────────────────────────────────────


@pytest.mark.parametrize("epoch", [0, -1.5, START_S, 1_700_000_000])
def test_the_epoch_may_be_any_finite_number_of_seconds(epoch: float) -> None:
    assert TrioClock(epoch).epoch == epoch


@pytest.mark.parametrize("epoch", [math.nan, math.inf, -math.inf, "0", None, True, 10**400])
def test_the_constructor_refuses_an_epoch_that_is_not_a_finite_number(epoch: object) -> None:
    with pytest.raises(InvalidArgument, match=r"epoch=.*finite number of seconds"):
        TrioClock(epoch)  # type: ignore[arg-type]
