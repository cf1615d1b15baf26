"""Consistent hashing: every key has a node, few keys move when nodes come and go, fair shares."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from reference.blocks.hash_ring import RING_SIZE, HashRing, HashRingStatistics, ring_position
from reference.core.errors import Conflict, InvalidArgument, NotFound

KEYS = [f"feed:{{{user}}}" for user in range(10_000)]
# With 100 vnodes each node owns within 25% of a fair share of the ring (3 to 50 nodes; the
# spread shrinks like 1/sqrt(vnodes)); a sample of 10,000 keys adds its own noise on top.
SHARE_TOLERANCE = 0.25
LOAD_TOLERANCE = 0.30


def nodes(n: int) -> list[str]:
    return [f"cache-{i}" for i in range(n)]


def brute_force_node_for(names: list[str], vnodes: int, key: str) -> str:
    """The definition, spelled out: the first point clockwise from the key, by linear scan."""
    points = sorted((ring_position(f"{name}#{i}"), name) for name in names for i in range(vnodes))
    position = ring_position(key)
    after = [point for point in points if point[0] >= position]
    return (after or points)[0][1]


def test_every_key_maps_to_a_node_on_the_ring() -> None:
    ring = HashRing(nodes(5))
    assert {ring.node_for(key) for key in KEYS} == set(ring.nodes)


def test_positions_are_blake2b_so_every_process_agrees_on_them() -> None:
    expected = int.from_bytes(hashlib.blake2b(b"feed:{42}", digest_size=8).digest(), "big")
    assert ring_position("feed:{42}") == expected
    assert 0 <= expected < RING_SIZE


def test_the_same_nodes_in_any_order_give_the_same_mapping() -> None:
    a, b = HashRing(nodes(6)), HashRing(reversed(nodes(6)))
    assert all(a.node_for(key) == b.node_for(key) for key in KEYS[:2_000])
    assert a.nodes == b.nodes == tuple(sorted(nodes(6)))


@pytest.mark.parametrize("n", [3, 5, 10])
def test_removing_a_node_moves_only_its_keys_about_one_nth(n: int) -> None:
    ring = HashRing(nodes(n))
    before = {key: ring.node_for(key) for key in KEYS}
    ring.remove_node("cache-1")
    moved = {key for key in KEYS if ring.node_for(key) != before[key]}
    assert moved == {key for key in KEYS if before[key] == "cache-1"}
    assert 0.7 / n <= len(moved) / len(KEYS) <= 1.3 / n
    assert len({ring.node_for(key) for key in moved}) > 1  # scattered, not one heir


@pytest.mark.parametrize("n", [3, 5, 10])
def test_adding_a_node_moves_about_one_over_n_plus_one_of_keys_all_to_it(n: int) -> None:
    ring = HashRing(nodes(n))
    before = {key: ring.node_for(key) for key in KEYS}
    ring.add_node("cache-new")
    moved = [key for key in KEYS if ring.node_for(key) != before[key]]
    assert all(ring.node_for(key) == "cache-new" for key in moved)
    assert 0.7 / (n + 1) <= len(moved) / len(KEYS) <= 1.3 / (n + 1)


def test_a_node_removed_and_added_back_gets_exactly_its_keys_back() -> None:
    ring = HashRing(nodes(4))
    before = {key: ring.node_for(key) for key in KEYS}
    ring.remove_node("cache-2")
    ring.add_node("cache-2")
    assert {key: ring.node_for(key) for key in KEYS} == before


@pytest.mark.parametrize("n", [3, 5, 10, 20, 50])
def test_with_100_vnodes_every_node_owns_within_25_percent_of_a_fair_share_of_the_ring(
    n: int,
) -> None:
    stats = HashRing(nodes(n), vnodes=100).statistics()
    assert all(abs(share * n - 1) <= SHARE_TOLERANCE for _, share in stats.ownership)
    assert stats.imbalance <= 1 + SHARE_TOLERANCE


@pytest.mark.parametrize("n", [3, 5, 10])
def test_with_100_vnodes_every_node_holds_within_30_percent_of_a_fair_share_of_keys(
    n: int,
) -> None:
    load = HashRing(nodes(n), vnodes=100).load(KEYS)
    fair = len(KEYS) / n
    assert all(abs(count - fair) <= LOAD_TOLERANCE * fair for count in load.values()), load


def test_more_virtual_nodes_split_the_ring_more_evenly() -> None:
    imbalance = [HashRing(nodes(10), vnodes=v).statistics().imbalance for v in (1, 10, 100, 400)]
    assert imbalance == sorted(imbalance, reverse=True)
    assert imbalance[0] > 2.0 and imbalance[-1] < 1.2


def test_statistics_give_each_nodes_share_of_the_ring_which_predicts_its_load() -> None:
    ring = HashRing(nodes(4), vnodes=50)
    stats = ring.statistics()
    assert (stats.nodes, stats.vnodes, stats.points) == (4, 50, 200)
    assert [name for name, _ in stats.ownership] == list(ring.nodes)
    assert sum(share for _, share in stats.ownership) == pytest.approx(1.0)
    load = ring.load(KEYS)
    for name, share in stats.ownership:
        assert load[name] / len(KEYS) == pytest.approx(share, abs=0.02)
    assert stats.imbalance == pytest.approx(max(s for _, s in stats.ownership) * 4)


def test_an_empty_ring_has_empty_statistics_and_no_node_for_a_key() -> None:
    ring = HashRing()
    assert ring.statistics() == HashRingStatistics(0, 100, 0, (), 0.0)
    with pytest.raises(NotFound, match="no nodes"):
        ring.node_for("feed:{1}")
    ring.add_node("only")
    assert ring.node_for("feed:{1}") == "only" and len(ring) == 1 and "only" in ring


def test_load_lists_every_node_even_those_with_no_keys() -> None:
    assert HashRing(["a", "b"], vnodes=1).load([]) == {"a": 0, "b": 0}


@given(names=st.lists(st.text(min_size=1, max_size=6), min_size=1, max_size=5, unique=True),
       vnodes=st.integers(1, 8), key=st.text(max_size=12))
@settings(max_examples=200, deadline=None)
def test_node_for_agrees_with_a_linear_scan_of_the_ring(names: list[str], vnodes: int,
                                                        key: str) -> None:
    assert HashRing(names, vnodes=vnodes).node_for(key) == brute_force_node_for(
        names, vnodes, key)


# ── bad input ───────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("names", "vnodes"),
    [(["a"], 0), (["a"], True), (["a"], 1.5), ([""], 10), (["a", "a"], 10), ([3], 10)],
)
def test_a_bad_ring_is_refused(names: list[Any], vnodes: Any) -> None:
    with pytest.raises(InvalidArgument):
        HashRing(names, vnodes=vnodes)


def test_bad_node_changes_and_keys_are_refused_and_change_nothing() -> None:
    ring = HashRing(["a", "b"])
    with pytest.raises(Conflict):
        ring.add_node("a")
    with pytest.raises(NotFound):
        ring.remove_node("zz")
    with pytest.raises(InvalidArgument):
        ring.add_node("")
    with pytest.raises(InvalidArgument):
        ring.node_for(42)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument):
        ring.load(["ok", 42])  # type: ignore[list-item]
    assert ring.nodes == ("a", "b") and ring.statistics().points == 200


# ── nodes come and go: the ring vs the linear scan ──────────────────────────────────────

NAMES = st.sampled_from(["n1", "n2", "n3", "n4", "n5"])
PROBES = [f"user:{{{u}}}" for u in range(40)]


class RingMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.ring = HashRing(vnodes=5)
        self.names: set[str] = set()

    @rule(name=NAMES)
    def add(self, name: str) -> None:
        if name in self.names:
            with pytest.raises(Conflict):
                self.ring.add_node(name)
        else:
            self.ring.add_node(name)
            self.names.add(name)

    @rule(name=NAMES)
    def remove(self, name: str) -> None:
        if name not in self.names:
            with pytest.raises(NotFound):
                self.ring.remove_node(name)
        else:
            before = {key: self.ring.node_for(key) for key in PROBES}
            self.ring.remove_node(name)
            self.names.remove(name)
            if self.names:
                assert all(self.ring.node_for(key) == before[key]
                           for key in PROBES if before[key] != name)

    @invariant()
    def every_key_lands_where_the_linear_scan_says(self) -> None:
        assert self.ring.nodes == tuple(sorted(self.names))
        if self.names:
            names = sorted(self.names)
            assert all(self.ring.node_for(key) == brute_force_node_for(names, 5, key)
                       for key in PROBES)


TestRingAgainstLinearScan = RingMachine.TestCase
TestRingAgainstLinearScan.settings = settings(max_examples=50, stateful_step_count=20,
                                              deadline=None)
