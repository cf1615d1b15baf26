"""Actions on posts (행동): likes, replies and shares, and the counts a page shows (횟수).

The notes' cache table has two rows for them: the **action** tier (who liked, replied to or
shared what: 좋아요 / 답글 / 기타) and the **counter** tier (how many of each a post has:
좋아요 횟수 / 답글 횟수 / 기타). The database side is here. A like or a share is a key per
(post, user, kind) written only if absent, so a repeated like counts once, and a counter per
(post, kind) moves with it; a reply is stored and counted every time.

Examples
--------
>>> from reference.core.clock import FakeClock
>>> from reference.storage import connect
>>> actions = ActionStore(connect("memory", clock=FakeClock()))
>>> actions.act("bob", 7, "like"), actions.act("bob", 7, "like"), actions.act("cyd", 7, "like")
(True, False, True)
>>> actions.reply("bob", 7, "nice")
1
>>> actions.counts([7, 8])
{7: (2, 1, 0), 8: (0, 0, 0)}
>>> actions.undo("bob", 7, "like"), actions.done_by("bob", [7], "like"), actions.counts([7])
(True, {7: False}, {7: (1, 1, 0)})
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, Literal, Protocol

from reference.core.errors import InvalidArgument
from reference.feed.model import PostId, UserId
from reference.storage.ports import Counter, KeyValue

__all__ = ["ACTION_KINDS", "ActionStore", "Kind"]

Kind = Literal["like", "reply", "share"]
ACTION_KINDS: Final[tuple[Kind, ...]] = ("like", "reply", "share")


class _Store(Protocol):
    @property
    def kv(self) -> KeyValue: ...
    @property
    def counter(self) -> Counter: ...


def _done_key(post_id: PostId, user: UserId, kind: Kind) -> str:
    return f"{kind}d:{{{post_id}}}:{user}"


_PLURAL: Final = {"like": "likes", "reply": "replies", "share": "shares"}


def _count_key(post_id: PostId, kind: Kind) -> str:
    return f"{_PLURAL[kind]}:{{{post_id}}}"


def _check_kind(kind: object) -> Kind:
    if kind not in ACTION_KINDS:
        raise InvalidArgument.bad_value("kind", kind, f"one of {ACTION_KINDS}")
    return kind  # type: ignore[return-value,unused-ignore]  # narrowed by the test above


class ActionStore:
    """Likes, replies and shares, and their counts, on a store's ports."""

    def __init__(self, store: _Store) -> None:
        self._kv = store.kv
        self._counter = store.counter

    def act(self, user: UserId, post_id: PostId, kind: Kind) -> bool:
        """Record that ``user`` liked or shared (``kind``) ``post_id``; True if new."""
        if _check_kind(kind) == "reply":
            raise InvalidArgument.bad_value("kind", kind, "'like' or 'share' (use reply())")
        new = self._kv.set(_done_key(post_id, user, kind), "1", if_absent=True)
        if new:
            self._counter.incr(_count_key(post_id, kind))
        return new

    def undo(self, user: UserId, post_id: PostId, kind: Kind) -> bool:
        """Take back ``user``'s like or share; True if there was one."""
        gone = self._kv.delete(_done_key(post_id, user, _check_kind(kind))) == 1
        if gone:
            self._counter.incr(_count_key(post_id, kind), -1)
        return gone

    def reply(self, user: UserId, post_id: PostId, text: str) -> int:
        """Store a reply by ``user`` to ``post_id``; return the post's reply count."""
        count = self._counter.incr(_count_key(post_id, "reply"))
        self._kv.set(f"reply:{{{post_id}}}:{count}", f"{user}\n{text}")
        self._kv.set(_done_key(post_id, user, "reply"), "1")
        return count

    def done_by(self, user: UserId, post_ids: Sequence[PostId], kind: Kind
                ) -> dict[PostId, bool]:
        """Whether ``user`` did ``kind`` to each post (one multi-get)."""
        found = self._kv.get_many([_done_key(p, user, _check_kind(kind)) for p in post_ids])
        return {p: v is not None for p, v in zip(post_ids, found, strict=True)}

    def counts(self, post_ids: Sequence[PostId]) -> dict[PostId, tuple[int, int, int]]:
        """``(likes, replies, shares)`` of each post, in one multi-get."""
        values = self._counter.get_many([_count_key(p, k) for p in post_ids
                                         for k in ACTION_KINDS])  # one round trip
        return {p: (values[3 * i], values[3 * i + 1], values[3 * i + 2])
                for i, p in enumerate(post_ids)}

    def forget(self, post_id: PostId) -> None:
        """A deleted post's counts go with it (the users' action keys expire with no reader)."""
        self._kv.delete(*(_count_key(post_id, k) for k in ACTION_KINDS))
