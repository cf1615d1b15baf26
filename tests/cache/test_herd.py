"""The thundering herd experiment: leases cut a hot key's database loads; deterministic per seed."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from reference.cache.herd import (
    DEFAULT_HERD,
    STRATEGIES,
    HerdResult,
    HerdSettings,
    compare_strategies,
    run_herd,
)
from reference.core.errors import InvalidArgument

SEEDS = [0, 1, 2, "herd"]


def by_strategy(results: tuple[HerdResult, ...]) -> dict[str, HerdResult]:
    return {result.strategy: result for result in results}


@pytest.mark.parametrize("seed", SEEDS)
def test_leases_need_at_least_20x_fewer_database_loads_than_plain_for_a_hot_key(
    seed: int | str,
) -> None:
    runs = by_strategy(compare_strategies(seed=seed))
    plain, lease = runs["plain"], runs["lease"]
    assert lease.db_loads == 1  # one expiry, one refill
    assert plain.db_loads >= 20 * lease.db_loads
    assert plain.peak_db_loads_per_s >= 20 * lease.peak_db_loads_per_s


@pytest.mark.parametrize("seed", SEEDS)
def test_plain_loads_about_reads_per_s_times_db_latency_on_expiry(seed: int | str) -> None:
    # 2,000 reads/s x 50 ms = 100 reads miss before the first refill lands
    plain = run_herd("plain", seed=seed)
    assert 70 <= plain.db_loads <= 130
    assert plain.p99_latency_s == pytest.approx(DEFAULT_HERD.db_latency_s)


@pytest.mark.parametrize("seed", SEEDS)
def test_single_flight_loads_at_most_once_per_app_server(seed: int | str) -> None:
    runs = by_strategy(compare_strategies(seed=seed))
    flights = runs["single_flight"]
    assert runs["lease"].db_loads < flights.db_loads <= DEFAULT_HERD.clients
    assert flights.db_loads < runs["plain"].db_loads


def test_every_read_is_served_whatever_the_strategy() -> None:
    runs = compare_strategies(seed=3)
    expected = DEFAULT_HERD.reads_per_s * DEFAULT_HERD.duration_s
    assert len({result.reads for result in runs}) == 1  # the same arrivals for each
    assert 0.9 * expected <= runs[0].reads <= 1.1 * expected


def test_waiting_readers_wait_at_most_a_load_plus_a_retry() -> None:
    s = DEFAULT_HERD
    for result in compare_strategies(seed=4):
        assert 0 < result.mean_latency_s < result.p99_latency_s
        assert result.p99_latency_s <= s.db_latency_s + s.retry_s
    assert run_herd("lease", seed=4).hot_misses > 0
    assert run_herd("plain", seed=4).hot_misses == 0


def test_the_peak_is_the_busiest_bin_over_its_width() -> None:
    result = run_herd("plain", seed=5)
    assert sum(result.db_loads_per_bin) == result.db_loads
    assert result.peak_db_loads_per_s == max(result.db_loads_per_bin) / result.bin_s
    busiest = result.db_loads_per_bin.index(max(result.db_loads_per_bin))
    assert busiest == 10  # the bin [1.0 s, 1.1 s): the entry expired at 1.0 s
    assert len(result.db_loads_per_bin) == 21


def test_the_same_seed_gives_the_same_result_and_another_seed_another() -> None:
    assert compare_strategies(seed=7) == compare_strategies(seed=7)
    assert run_herd("plain", seed=7) != run_herd("plain", seed=8)


def test_an_invalidation_without_expiry_starts_a_herd_too() -> None:
    written = HerdSettings(ttl_s=None, invalidate_at_s=1.0)
    runs = by_strategy(compare_strategies(written, seed=0))
    assert runs["lease"].db_loads == 1
    assert runs["plain"].db_loads >= 20 * runs["lease"].db_loads
    assert all(result.stale_sets == 0 for result in runs.values())


def test_a_write_during_the_refill_leaves_stale_values_except_with_leases() -> None:
    racing = HerdSettings(invalidate_at_s=1.02)  # the entry expired at 1.0 s
    runs = by_strategy(compare_strategies(racing, seed=0))
    assert runs["plain"].stale_sets > 0 and runs["single_flight"].stale_sets > 0
    assert runs["lease"].stale_sets == 0
    assert runs["lease"].db_loads == 2  # the voided refill, then the fresh one


def test_a_key_that_never_goes_missing_never_reaches_the_database() -> None:
    calm = HerdSettings(ttl_s=None)
    for result in compare_strategies(calm, seed=0):
        assert (result.db_loads, result.peak_db_loads_per_s, result.p99_latency_s) == (
            0, 0.0, 0.0)


def test_a_short_ttl_makes_a_herd_every_time_it_expires() -> None:
    often = replace(DEFAULT_HERD, ttl_s=0.25, duration_s=2.0)
    plain, lease = run_herd("plain", often), run_herd("lease", often)
    assert 6 <= lease.db_loads <= 7  # expires 0.25 s after each 50 ms refill: ~6 times in 2 s
    assert plain.db_loads >= 20 * lease.db_loads


@pytest.mark.parametrize(
    "field",
    [{"clients": 0}, {"clients": 2.0}, {"reads_per_s": 0}, {"duration_s": -1.0},
     {"ttl_s": 0}, {"invalidate_at_s": -0.5}, {"invalidate_at_s": 5.0},
     {"db_latency_s": float("nan")}, {"retry_s": 0}, {"lease_s": True}, {"bin_s": "0.1"},
     {"reads_per_s": 1e6}],
)
def test_bad_settings_are_refused(field: dict[str, Any]) -> None:
    with pytest.raises(InvalidArgument, match=next(iter(field))):
        HerdSettings(**field)


@pytest.mark.parametrize(
    ("strategy", "settings", "seed"),
    [("memo", DEFAULT_HERD, 0), ("plain", {}, 0), ("plain", DEFAULT_HERD, 1.5),
     ("plain", DEFAULT_HERD, True)],
)
def test_a_bad_run_is_refused(strategy: Any, settings: Any, seed: Any) -> None:
    with pytest.raises(InvalidArgument):
        run_herd(strategy, settings, seed=seed)


def test_every_strategy_is_compared_in_order() -> None:
    assert tuple(r.strategy for r in compare_strategies(seed=0)) == STRATEGIES
