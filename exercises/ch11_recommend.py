"""Exercise ch11: friend recommendation (친구 추천) — friends of friends, ranked by link prediction.

The notes pick a graph database for the social graph because it is "good at friend
relations and friend recommendation". A recommendation has two steps:

1. **candidates**: the people reached through the accounts a user follows — whom they
   follow and who follows them ("friends of friends") — minus the user, the accounts the
   user already follows, and the excluded (muted, blocked);
2. **ranking**: a *link-prediction* measure scores how likely a follow between the user
   and each candidate is, from the neighbourhoods the two share.

Both steps look at the **undirected projection** of the follows: ``u — v`` when either
follows the other (a mutual follow is one edge). ``N(x)`` is the set of ``x``'s neighbours
there and ``deg(x) = |N(x)|``. For the user ``u`` and a candidate ``v``, with
``C = N(u) ∩ N(v)`` (their common neighbours):

=========================== ====================================== ===========================
measure                     score                                  networkx, to compare with
=========================== ====================================== ===========================
``adamic_adar``             sum of ``1 / ln(deg(w))`` for w in C   ``adamic_adar_index``
``resource_allocation``     sum of ``1 / deg(w)`` for w in C       ``resource_allocation_index``
``jaccard``                 ``|C| / |N(u) ∪ N(v)|``                ``jaccard_coefficient``
``preferential_attachment`` ``deg(u) * deg(v)``                    ``preferential_attachment``
=========================== ====================================== ===========================

Adamic–Adar is the default: a shared obscure account says more than a shared celebrity
everyone follows (the celebrity's large degree makes its ``1 / ln(deg)`` small).

Every body below raises ``NotImplementedError``: replace it with your code. The docstring
is the contract; ``exercises/graders/test_ch11_recommend.py`` checks it against networkx's
own functions on many small graphs. Grade yourself with ``make grade CHAPTER=11`` or, in a
notebook, ``check("friend-candidates")``.

The vocabulary is yours to use: :data:`MEASURES` (the measures' names, mapped to the
networkx functions the reference calls), :data:`SCORE_DECIMALS`, :data:`UserId` and
:class:`InvalidArgument`. Compute the scores yourself from the neighbour sets: that is the
exercise. The model answer is ``recommend_friends`` in ``reference/feed/graph.py``, which
``SocialGraph.recommend`` calls with the graph's follows and the user's mutes and blocks.

Exercises (name → what to implement):

===================== =====================================================================
friend-candidates     who is suggested at all: friends of friends in both directions,
                      without the user, whom they follow and the excluded
friend-recommendation the scores of the four measures, rounded, ranked (ties by id), cut at
                      ``limit``; bad ``limit`` and ``measure`` rejected
===================== =====================================================================
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from reference.core.errors import InvalidArgument  # noqa: F401  (yours to raise)
from reference.feed.graph import MEASURES, SCORE_DECIMALS, UserId

__all__ = ["MEASURES", "SCORE_DECIMALS", "UserId", "recommend_friends"]


def recommend_friends(
    follows: Mapping[UserId, Iterable[UserId]],
    user: UserId,
    *,
    limit: int = 5,
    measure: str = "adamic_adar",
    excluded: Iterable[UserId] = (),
) -> list[tuple[UserId, float]]:
    """Whom ``user`` might follow, over plain data: friends of friends, best first.

    Contract
    --------
    * ``friend-candidates``: the candidates are the neighbours, in the undirected
      projection, of the accounts ``user`` follows (whom those accounts follow *and* who
      follows them), minus ``user`` itself, the accounts ``user`` follows, and
      ``excluded``. Someone who follows ``user`` is *not* a candidate for that reason
      alone (only if reached through an account ``user`` follows). A user who follows
      nobody, or who is not a key of ``follows``, gets ``[]``.
    * ``friend-recommendation``: each candidate's score by ``measure`` (table in the
      module docstring), computed on the projection of *all* the follows, then
      ``round(score, SCORE_DECIMALS)``; the list is sorted by descending score, ties by
      ascending user id, and cut at ``limit``.

    Parameters
    ----------
    follows : mapping of UserId to iterable of UserId
        ``follows[u]``: the accounts ``u`` follows. A user who follows nobody may be
        missing; a followee need not be a key. Nobody follows themselves. Read it, do not
        modify it.
    user : UserId
        Whose suggestions.
    limit : int
        At most this many: an ``int >= 1`` (a bool is not).
    measure : str
        A key of :data:`MEASURES`.
    excluded : iterable of UserId
        Never suggested (whom ``user`` muted, anyone in a block with them).

    Returns
    -------
    list of (UserId, float)

    Raises
    ------
    InvalidArgument
        A bad ``limit``, or a ``measure`` that is not a key of :data:`MEASURES` (say which
        ones are), before any work.

    Hint
    ----
    Build the projection as a dict of sets: for every ``u`` and every ``v`` in
    ``follows[u]``, add ``v`` to ``neighbours[u]`` and ``u`` to ``neighbours[v]``. Then the
    candidates are ``set().union(*(neighbours[p] for p in followees))`` minus the rest, and
    every measure is a line of set arithmetic: ``common = neighbours[user] &
    neighbours[v]``, ``math.log`` for Adamic–Adar. Sort with
    ``key=lambda pair: (-pair[1], pair[0])``.

    Examples
    --------
    >>> follows = {"ada": ["bob", "cy"], "bob": ["dee"], "cy": ["dee"], "eve": ["cy"]}
    >>> recommend_friends(follows, "ada")       # dee shares bob and cy with ada; eve cy
    [('dee', 2.352934), ('eve', 0.910239)]
    >>> recommend_friends(follows, "ada", measure="jaccard", excluded={"eve"})
    [('dee', 1.0)]
    """
    raise NotImplementedError(
        "exercise: recommend_friends — friends of friends, scored on the undirected projection"
    )
