"""Graders for exercises/ch11_recommend.py: friends of friends, ranked by link prediction.

Each test reaches the code under test only through ``impl``. The expected answers come from
networkx itself: the grader builds the undirected projection as an ``nx.Graph``, takes the
candidates from its neighbourhoods as the contract says, and scores them with networkx's own
link-prediction functions, on hand-made graphs and on many small random ones.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import networkx as nx  # type: ignore[import-untyped]
import pytest
from hypothesis import given
from hypothesis import strategies as st

from exercises.graders.support import GRADER_SETTINGS
from reference.core.errors import InvalidArgument

SOLUTION = {"recommend_friends": "reference.feed.graph:recommend_friends"}

NETWORKX = {
    "adamic_adar": nx.adamic_adar_index,
    "jaccard": nx.jaccard_coefficient,
    "preferential_attachment": nx.preferential_attachment,
    "resource_allocation": nx.resource_allocation_index,
}
DECIMALS = 6


def projection(follows: Mapping[str, Iterable[str]]) -> Any:
    graph = nx.Graph()
    graph.add_nodes_from(follows)
    graph.add_edges_from((u, v) for u, vs in follows.items() for v in vs)
    return graph


def candidates(follows: Mapping[str, Iterable[str]], user: str,
               excluded: Iterable[str] = ()) -> set[str]:
    graph = projection(follows)
    followees = set(follows.get(user, ()))
    reached: set[str] = set()
    for pivot in followees:
        reached |= set(graph[pivot])
    return reached - followees - set(excluded) - {user}


def expected(follows: Mapping[str, Iterable[str]], user: str, *, limit: int = 5,
             measure: str = "adamic_adar", excluded: Iterable[str] = ()
             ) -> list[tuple[str, float]]:
    found = sorted(candidates(follows, user, excluded))
    if not found:
        return []
    scores = [(v, round(float(s), DECIMALS))
              for _, v, s in NETWORKX[measure](projection(follows), [(user, c) for c in found])]
    return sorted(scores, key=lambda pair: (-pair[1], pair[0]))[:limit]


def recommend(impl: Any, follows: dict[str, list[str]], user: str, **kwargs: Any
              ) -> list[tuple[str, float]]:
    frozen = {u: list(vs) for u, vs in follows.items()}
    got = impl.recommend_friends(follows, user, **kwargs)
    assert follows == frozen, "recommend_friends must not modify follows"
    assert isinstance(got, list), f"recommend_friends must return a list, got {got!r}"
    return got


def same_ranking(got: list[tuple[str, float]], want: list[tuple[str, float]]) -> bool:
    return [u for u, _ in got] == [u for u, _ in want] and all(
        math.isclose(g, w, abs_tol=2e-6) for (_, g), (_, w) in zip(got, want, strict=True))


#: ``me`` follows a and b; both reach several others, in both directions
HAND_MADE: dict[str, list[str]] = {
    "me": ["a", "b"], "a": ["c", "f"], "c": ["a", "d"], "b": ["c", "e"], "d": ["b"],
    "f": ["g"], "g": ["a"], "h": ["f"], "e": ["h"], "i": ["me"],
}


# -------------------------------------------------------------------------- friend-candidates

CANDIDATES_HINT = (
    "candidates: the neighbours (followees AND followers) of the accounts user follows, "
    "minus user, its followees and excluded; a follower of user is not one by itself"
)


@pytest.mark.exercise(name="friend-candidates", points=2, hint=CANDIDATES_HINT)
def test_friends_of_friends_are_reached_in_both_directions(impl: Any) -> None:
    got = {u for u, _ in recommend(impl, HAND_MADE, "me", limit=100)}
    assert got == {"c", "d", "e", "f", "g"}, (
        f"suggested {sorted(got)}; expected c, d, e, f, g: reached through a and b, whom "
        "me follows, in either direction (d and g follow them); not a and b (followed), "
        "not h (two steps away), not i (follows me, but is reached through nobody me follows)"
    )


@pytest.mark.exercise(name="friend-candidates", points=2, hint=CANDIDATES_HINT)
def test_the_excluded_are_never_suggested(impl: Any) -> None:
    got = {u for u, _ in recommend(impl, HAND_MADE, "me", limit=100, excluded={"c", "g", "zz"})}
    assert got == {"d", "e", "f"}, f"suggested {sorted(got)} with c and g excluded"


@pytest.mark.exercise(name="friend-candidates", points=2, hint=CANDIDATES_HINT)
@pytest.mark.parametrize(
    "follows",
    [{"me": [], "a": ["b"]}, {"a": ["b"], "b": ["me"]}, {}],
    ids=["follows-nobody", "not-a-key", "empty"],
)
def test_a_user_who_follows_nobody_gets_nothing(impl: Any, follows: dict[str, list[str]]) -> None:
    assert recommend(impl, follows, "me") == []


@st.composite
def graphs(draw: st.DrawFn) -> tuple[dict[str, list[str]], str, set[str]]:
    users = [f"u{i}" for i in range(draw(st.integers(2, 9)))]
    pairs = st.tuples(st.sampled_from(users), st.sampled_from(users)).filter(lambda p: p[0] != p[1])
    follows: dict[str, list[str]] = {}
    for u, v in draw(st.sets(pairs, max_size=24)):
        follows.setdefault(u, []).append(v)
    for u in draw(st.sets(st.sampled_from(users))):
        follows.setdefault(u, [])  # some users who follow nobody are keys, some are not
    user = draw(st.sampled_from(users))
    excluded = draw(st.sets(st.sampled_from(users), max_size=3))
    return follows, user, excluded


@pytest.mark.exercise(name="friend-candidates", points=2, hint=CANDIDATES_HINT)
@GRADER_SETTINGS
@given(case=graphs())
def test_on_any_small_graph_the_candidates_are_the_contracts(
    impl: Any, case: tuple[dict[str, list[str]], str, set[str]]
) -> None:
    follows, user, excluded = case
    got = {u for u, _ in recommend(impl, follows, user, limit=100, excluded=excluded)}
    want = candidates(follows, user, excluded)
    assert got == want, (
        f"follows={follows}, user={user!r}, excluded={sorted(excluded)}: suggested "
        f"{sorted(got)}, expected {sorted(want)}"
    )


# ---------------------------------------------------------------------- friend-recommendation

RANKING_HINT = (
    "score on the undirected projection of all follows (N = neighbours, deg = |N|); round "
    "to 6 decimals; sort by (-score, id); cut at limit"
)


@pytest.mark.exercise(name="friend-recommendation", points=3, hint=RANKING_HINT)
@pytest.mark.parametrize("measure", sorted(NETWORKX))
def test_the_hand_made_graph_is_ranked_as_networkx_ranks_it(impl: Any, measure: str) -> None:
    got = recommend(impl, HAND_MADE, "me", limit=100, measure=measure)
    want = expected(HAND_MADE, "me", limit=100, measure=measure)
    assert same_ranking(got, want), f"{measure}: got {got}, networkx says {want}"
    top = recommend(impl, HAND_MADE, "me", limit=2, measure=measure)
    assert same_ranking(top, want[:2]), f"{measure}, limit=2: got {top}, expected {want[:2]}"


@pytest.mark.exercise(name="friend-recommendation", points=3, hint=RANKING_HINT)
def test_adamic_adar_prefers_a_shared_small_account_to_a_shared_celebrity(impl: Any) -> None:
    follows = {"me": ["star", "niche"], "x": ["star"], "y": ["niche"],
               **{f"fan{i}": ["star"] for i in range(6)}}
    got = recommend(impl, follows, "me", limit=3)
    assert got and got[0][0] == "y", (
        f"got {got}: y shares niche (2 neighbours) with me, x shares star (8): 1/ln 2 "
        "beats 1/ln 8, so y comes first"
    )
    assert math.isclose(got[0][1], round(1 / math.log(2), DECIMALS), abs_tol=2e-6)


@pytest.mark.exercise(name="friend-recommendation", points=3, hint=RANKING_HINT)
def test_ties_are_broken_by_user_id(impl: Any) -> None:
    follows = {"me": ["a"], "a": ["zed", "kim", "bob"]}
    got = recommend(impl, follows, "me")
    assert [u for u, _ in got] == ["bob", "kim", "zed"], f"equal scores, sorted by id: {got}"


@pytest.mark.exercise(name="friend-recommendation", points=3, hint=RANKING_HINT)
@GRADER_SETTINGS
@given(case=graphs(), measure=st.sampled_from(sorted(NETWORKX)), limit=st.integers(1, 6))
def test_on_any_small_graph_the_ranking_is_networkxs(
    impl: Any, case: tuple[dict[str, list[str]], str, set[str]], measure: str, limit: int
) -> None:
    follows, user, excluded = case
    got = recommend(impl, follows, user, limit=limit, measure=measure, excluded=excluded)
    want = expected(follows, user, limit=limit, measure=measure, excluded=excluded)
    assert same_ranking(got, want), (
        f"follows={follows}, user={user!r}, excluded={sorted(excluded)}, {measure}, "
        f"limit={limit}: got {got}, networkx says {want}"
    )


@pytest.mark.exercise(name="friend-recommendation", points=3, hint=RANKING_HINT)
@pytest.mark.parametrize(
    "bad", [{"limit": 0}, {"limit": -1}, {"limit": True}, {"limit": 2.0}, {"limit": None},
            {"measure": "katz"}, {"measure": None}],
    ids=repr,
)
def test_a_bad_limit_or_measure_is_refused(impl: Any, bad: dict[str, Any]) -> None:
    with pytest.raises(InvalidArgument):
        impl.recommend_friends(HAND_MADE, "me", **bad)
