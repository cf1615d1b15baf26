"""Exercise ch11: cursor pagination (커서 기반 페이지네이션) — pages that never skip or repeat.

A user scrolls their feed 20 posts at a time while the people they follow keep posting.
With an *offset* ("posts 20 to 39") every new post pushes the whole feed down by one, so the
next page starts one post too early and shows the last post of the previous page again; a
deleted post pulls it up, and a post is skipped. The news feed service pages by a *cursor*
instead: the id of the last post shown (GetStream's ``id_lt``). "The next 20 posts older
than this one" means the same posts however many arrived above it meanwhile::

    page 1 of [90 80 70 60 50 40]        → [90 80], cursor 80
    95 arrives: [95 90 80 70 60 50 40]
    offset 2:  [80 70]    80 again       cursor 80: [70 60]    nothing repeated, nothing skipped

Post ids are Snowflake ids, so "older" is "smaller id" and a cursor works even if the post
it names was deleted meanwhile.

Every body below raises ``NotImplementedError``: replace it with your code. The docstring
is the contract; ``exercises/graders/test_ch11_pagination.py`` checks it. Grade yourself
with ``make grade CHAPTER=11`` or, in a notebook, ``check("cursor-page")``.

The vocabulary is yours to use: the alias :data:`PostId` (an ``int``). The model answer is
``page_of`` in ``reference/feed/read.py``, where the news feed service uses it to walk its
candidate posts a page at a time.

Exercises (name → what to implement):

============== ============================================================================
cursor-page    :func:`page_of`: the ids below the cursor, at most ``limit``, and the next
               cursor (None once the page is not full)
cursor-scroll  scrolling page after page while posts arrive and others are deleted never
               repeats or skips one (property-tested)
cursor-seek    find where the page starts by binary search, not by reading the feed from
               the top: O(log n + limit) (stretch goal)
============== ============================================================================
"""

from __future__ import annotations

from collections.abc import Sequence

from reference.feed.model import PostId

__all__ = ["PostId", "page_of"]


def page_of(ids: Sequence[PostId], *, before: PostId | None, limit: int
            ) -> tuple[list[PostId], PostId | None]:
    """The first ``limit`` ids of a newest-first list below the cursor ``before``, and the
    cursor of the next page: the page's last id, or None when the page is not full.

    Contract
    --------
    * ``cursor-page``: ``page`` is the first ``limit`` ids of ``ids`` that are
      ``< before`` (all of them from the top when ``before`` is None), in the order of
      ``ids``. ``next_cursor`` is ``page[-1]`` when the page holds exactly ``limit`` ids
      (there may be more: pass it as ``before`` to get them), otherwise None (this was the
      last page). So a last page that happens to be full is followed by one empty page,
      ``([], None)``. ``before`` need not be in ``ids`` (its post may have been deleted).
    * ``cursor-scroll``: because the cut is by value, ids that arrive above the cursor or
      disappear anywhere between two calls never make a later page repeat or skip an id.
    * ``cursor-seek``: read O(log n + limit) items of ``ids``, not O(n).

    Parameters
    ----------
    ids : sequence of PostId
        Strictly decreasing (newest first): a feed. Do not modify it.
    before : PostId or None
        The previous page's ``next_cursor`` (None: the first page).
    limit : int
        The page size, an ``int >= 1``.

    Returns
    -------
    tuple of (list of PostId, PostId or None)
        ``(page, next_cursor)``; ``page`` is a new list.

    Hint
    ----
    Find ``start``, the index of the first id below ``before``, then slice
    ``ids[start:start + limit]``. A loop from the top finds ``start`` (enough for
    ``cursor-page`` and ``cursor-scroll``); for ``cursor-seek`` use
    ``bisect.bisect_right(ids, -before, key=operator.neg)``: bisect wants ascending keys,
    and negating a newest-first list makes it ascending.

    Examples
    --------
    >>> page_of([9, 7, 5, 3, 1], before=None, limit=2)
    ([9, 7], 7)
    >>> page_of([12, 9, 7, 5, 3, 1], before=7, limit=2)   # 12 arrived meanwhile: no repeat
    ([5, 3], 3)
    >>> page_of([9, 7, 5, 3, 1], before=3, limit=2)       # the last page
    ([1], None)
    >>> page_of([9, 7], before=None, limit=2), page_of([9, 7], before=7, limit=2)
    (([9, 7], 7), ([], None))
    """
    raise NotImplementedError(
        "exercise: page_of — the ids below the cursor, at most limit, and the next cursor"
    )
