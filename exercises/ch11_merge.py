"""Exercise ch11: the pull model's merge (읽기 시점 팬아웃) — k newest-first lists into one page.

In the pull model nothing is written when someone posts: a read gathers the recent post ids
of everyone the reader follows and merges them. The hybrid model does the same for the few
celebrities whose posts were not pushed, and a page that scrolls past the cached feed (800
ids) reads the authors' lists directly. All three come down to one function: merge ``k``
lists of post ids, each newest first, into one list, newest first, without repeats, and stop
as soon as the page is full.

Post ids are Snowflake ids, so sorting by id sorts by time: "newest first" means "largest
id first".

Every body below raises ``NotImplementedError``: replace it with your code. The docstring
is the contract; ``exercises/graders/test_ch11_merge.py`` checks it. Grade yourself with
``make grade CHAPTER=11`` or, in a notebook, ``check("feed-merge")``.

The vocabulary is yours to use: the alias :data:`PostId` (an ``int``). The model answer is
``merge_newest`` in ``reference/feed/read.py``.

Exercises (name → what to implement):

================= =======================================================================
feed-merge        :func:`merge_newest`: newest first, no repeats, ``floor`` and
                  ``limit``; property-tested against ``sorted(set(...), reverse=True)``
feed-merge-lazy   the same, reading only what the page needs: a followee's list may be
                  long, and a page of 20 must not read all of it
================= =======================================================================

What it costs, and why it matters::

    k followees, a page of 20        sorted(set(all ids))      a k-way merge (a heap)
    each with 800 recent posts       reads k x 800 ids         reads about k + 20 ids
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from reference.feed.model import PostId

__all__ = ["PostId", "merge_newest"]


def merge_newest(lists: Iterable[Sequence[PostId]], *, floor: PostId = 0,
                 limit: int | None = None) -> list[PostId]:
    """Merge newest-first id lists into one, newest first, without repeats, keeping ids
    >= ``floor`` (at most ``limit``).

    Contract
    --------
    * ``feed-merge``: the answer is exactly
      ``[i for i in sorted(set(all ids), reverse=True) if i >= floor][:limit]``: every id
      of every list once, largest first; an id in several lists (a post two lists both
      hold) appears once; ids below ``floor`` are left out; at most ``limit`` ids
      (``None``: no limit). Empty lists, and no lists at all, are fine.
    * ``feed-merge-lazy``: read each list only as far as the answer needs. With a
      ``limit`` of 20 over ``k`` lists of a million ids each, read about ``k + 20`` ids,
      not ``k`` million; with a ``floor``, stop reading once every list is below it.

    Parameters
    ----------
    lists : iterable of sequences of PostId
        Each sequence is newest first (strictly decreasing). Do not modify them.
    floor : PostId
        Keep only ids ``>= floor`` (default 0: all).
    limit : int or None
        At most this many ids (None: all).

    Returns
    -------
    list of PostId
        A new list, strictly decreasing.

    Hint
    ----
    ``heapq.merge(*lists, reverse=True)`` walks all the lists at once, lazily: it keeps
    one cursor per list in a heap of ``k`` entries and yields the largest head each time,
    reading a list only when its head is taken (O(k) to start, O(log k) per id). Since the
    merged stream is sorted, a repeat is always right after its first copy: compare with
    the last id you kept. Stop (``break``) at the first id below ``floor``, or when you
    have ``limit`` ids; do not build the whole merge and then cut it.

    Examples
    --------
    >>> merge_newest([[9, 4, 1], [8, 4, 2], [7]], limit=5)
    [9, 8, 7, 4, 2]
    >>> merge_newest([[9, 4, 1], [8, 2]], floor=3)
    [9, 8, 4]
    >>> merge_newest([])
    []
    """
    raise NotImplementedError(
        "exercise: merge_newest — a lazy k-way merge, newest first, no repeats, floor, limit"
    )
