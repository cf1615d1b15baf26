"""Consistent hashing (안정 해시, the book's chapter 5): which node holds a key.

A building block any chapter can use; chapter 11 decides with it which feed cache node a
user's feed key lives on, so losing a node wipes the feeds of one shard, not all of them.

Why not ``hash(key) % N``? Because when N changes (a node dies, one is added) almost every
key changes node: going from 4 to 5 nodes moves about 80% of the keys, and a cache fleet
that just lost a node would also lose most of its hits. Consistent hashing puts nodes and
keys on one ring of positions ``0 .. 2**64 - 1``; a key belongs to the first node point at
or after its position, clockwise (wrapping round). Then

- **removing a node moves only that node's keys** (to the next points clockwise): about
  1/N of them;
- **adding a node moves only the keys it takes over**: about 1/(N+1) of them, all to it.

One point per node gives very uneven arcs, so each node gets ``vnodes`` **virtual nodes**
(가상 노드): points at ``hash("name#0")``, ``hash("name#1")``, ... With 100 of them each node
owns close to 1/N of the ring (the spread shrinks like ``1/sqrt(vnodes)``), and the keys of
a lost node scatter over all the others instead of doubling one neighbour's load.

Positions come from BLAKE2b (:mod:`hashlib`), never from Python's ``hash()``, which is
salted per process: every process, notebook and test run agrees on where a key lives.

Examples
--------
>>> ring = HashRing(["cache-a", "cache-b", "cache-c"], vnodes=100)
>>> ring.node_for("feed:{42}")
'cache-a'
>>> keys = [f"feed:{{{user}}}" for user in range(3_000)]
>>> ring.load(keys)
{'cache-a': 937, 'cache-b': 1033, 'cache-c': 1030}
>>> before = {key: ring.node_for(key) for key in keys}
>>> ring.remove_node("cache-b")
>>> moved = [key for key in keys if ring.node_for(key) != before[key]]
>>> len(moved), all(before[key] == "cache-b" for key in moved)   # only cache-b's keys
(1033, True)
>>> ring.load(keys)                  # ... spread over both survivors by the virtual nodes
{'cache-a': 1346, 'cache-c': 1654}
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from reference.core.checks import check_int
from reference.core.errors import Conflict, InvalidArgument, NotFound

__all__ = [
    "DEFAULT_VNODES",
    "RING_SIZE",
    "HashRing",
    "HashRingStatistics",
    "ring_position",
]

RING_SIZE: Final = 2**64  # positions 0 .. 2**64 - 1
DEFAULT_VNODES: Final = 100  # virtual nodes per node


def ring_position(text: str) -> int:
    """The ring position of ``text``: the first 8 bytes of its BLAKE2b digest, as an int.

    Stable across processes and machines (unlike the salted built-in ``hash``).

    Examples
    --------
    >>> ring_position("feed:{42}") == ring_position("feed:{42}")
    True
    >>> 0 <= ring_position("cache-a#0") < RING_SIZE
    True
    """
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big")


@dataclass(frozen=True, slots=True)
class HashRingStatistics:
    """How the ring is shared out.

    ``ownership`` pairs each node (sorted by name) with the fraction of the ring it owns,
    which is the fraction of uniformly spread keys it will hold; ``imbalance`` is the
    largest share over the mean share (1.0 is a perfect split; 1.2 means the busiest node
    gets 20% more keys than its fair share). Both are 0.0 / empty for an empty ring.
    """

    nodes: int
    vnodes: int
    points: int
    ownership: tuple[tuple[str, float], ...]
    imbalance: float


def _check_node(name: object) -> str:
    if not isinstance(name, str) or not name:
        raise InvalidArgument.bad_value("name", name, "a non-empty string (a node's name)")
    return name


class HashRing:
    """Map keys to nodes by consistent hashing with ``vnodes`` virtual nodes per node.

    Parameters
    ----------
    nodes : iterable of str
        The starting nodes: distinct, non-empty names (may be empty; add nodes later).
    vnodes : int
        Points on the ring per node (>= 1, default 100).

    Raises
    ------
    InvalidArgument
        A node name that is not a non-empty string, a repeated name, or a bad ``vnodes``.

    Notes
    -----
    The ring is two parallel sorted lists (positions, owners). :meth:`node_for` is one
    binary search, O(log(N * vnodes)); adding or removing a node rebuilds the lists,
    O(N * vnodes * log(N * vnodes)), which is rare. Deterministic: the same names and
    ``vnodes`` give the same ring in every process. The trade-off taught: more virtual
    nodes give a fairer split and spread a lost node's keys wider, for more memory and a
    slightly slower lookup.
    """

    __slots__ = ("_nodes", "_owners", "_points", "_vnodes")

    def __init__(self, nodes: Iterable[str] = (), *, vnodes: int = DEFAULT_VNODES) -> None:
        check_int("vnodes", vnodes, 1)
        names = [_check_node(name) for name in nodes]
        if len(set(names)) != len(names):
            raise InvalidArgument.bad_value("nodes", names, "distinct node names")
        self._vnodes = vnodes
        self._nodes: set[str] = set(names)
        self._points: list[int] = []
        self._owners: list[str] = []
        self._rebuild()

    @property
    def nodes(self) -> tuple[str, ...]:
        """The nodes on the ring, sorted by name."""
        return tuple(sorted(self._nodes))

    @property
    def vnodes(self) -> int:
        return self._vnodes

    def __len__(self) -> int:
        return len(self._nodes)

    def __contains__(self, name: object) -> bool:
        return name in self._nodes

    def node_for(self, key: str) -> str:
        """The node that holds ``key``: the owner of the first point at or after its position.

        Raises
        ------
        InvalidArgument
            If ``key`` is not a string.
        NotFound
            If the ring has no nodes.
        """
        if not isinstance(key, str):
            raise InvalidArgument.bad_value("key", key, "a string")
        if not self._points:
            raise NotFound("node for key", key, "the ring has no nodes: add_node first")
        i = bisect_left(self._points, ring_position(key))
        return self._owners[i % len(self._points)]  # past the last point: wrap to the first

    def add_node(self, name: str) -> None:
        """Put ``name``'s ``vnodes`` points on the ring; it takes over about 1/(N+1) of keys.

        Raises
        ------
        InvalidArgument
            If ``name`` is not a non-empty string.
        Conflict
            If ``name`` is already on the ring.
        """
        _check_node(name)
        if name in self._nodes:
            raise Conflict(f"node {name!r} is already on the ring")
        self._nodes.add(name)
        self._rebuild()

    def remove_node(self, name: str) -> None:
        """Take ``name``'s points off the ring; only its keys move (to the next points).

        Raises
        ------
        InvalidArgument
            If ``name`` is not a non-empty string.
        NotFound
            If ``name`` is not on the ring.
        """
        _check_node(name)
        if name not in self._nodes:
            raise NotFound("node", name, f"the ring holds {list(self.nodes)}")
        self._nodes.remove(name)
        self._rebuild()

    def load(self, keys: Iterable[str]) -> dict[str, int]:
        """How many of ``keys`` each node holds, every node listed (sorted by name).

        Raises
        ------
        InvalidArgument
            If a key is not a string (checked before anything is counted).
        NotFound
            If the ring has no nodes.
        """
        asked = list(keys)
        for key in asked:
            if not isinstance(key, str):
                raise InvalidArgument.bad_value("key", key, "a string")
        counts = dict.fromkeys(self.nodes, 0)
        for key in asked:
            counts[self.node_for(key)] += 1
        return counts

    def statistics(self) -> HashRingStatistics:
        """Each node's share of the ring, and the imbalance (see :class:`HashRingStatistics`).

        Examples
        --------
        >>> HashRing(["a", "b"], vnodes=1).statistics().imbalance > HashRing(
        ...     ["a", "b"], vnodes=200).statistics().imbalance
        True
        """
        owned = dict.fromkeys(self.nodes, 0)
        previous = self._points[-1] - RING_SIZE if self._points else 0  # wraps round
        for point, owner in zip(self._points, self._owners, strict=True):
            owned[owner] += point - previous  # the arc (previous, point] is owner's
            previous = point
        shares = tuple((node, arc / RING_SIZE) for node, arc in owned.items())
        mean = 1 / len(shares) if shares else 0.0
        imbalance = max(share for _, share in shares) / mean if shares else 0.0
        return HashRingStatistics(nodes=len(self._nodes), vnodes=self._vnodes,
                                  points=len(self._points), ownership=shares,
                                  imbalance=imbalance)

    def __repr__(self) -> str:
        return f"HashRing(nodes={list(self.nodes)!r}, vnodes={self._vnodes})"

    def _rebuild(self) -> None:
        ring = sorted(
            (ring_position(f"{node}#{i}"), node)
            for node in self._nodes
            for i in range(self._vnodes)
        )
        self._points = [point for point, _ in ring]
        self._owners = [node for _, node in ring]
