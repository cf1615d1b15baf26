"""The user store (사용자 정보): profiles for hydrating pages, and who is still active.

A feed page shows each post's author by name and photo: the page's authors come from here in
one multi-get (``profiles``), through the user cache. Activity decides the fanout: Twitter
fanned out only to users active in the last 30 days, so a post by a popular account is not
written into millions of feeds nobody reads. An inactive user's feed is not kept up to date,
so when they come back (:meth:`UserStore.touch` answers True) their feed is dropped and
rebuilt on the next read.

Layout: ``user:{<id>}`` a hash (name, photo); ``active:{<id>}`` the last activity time.

Examples
--------
>>> from reference.core.clock import FakeClock
>>> from reference.storage import connect
>>> clock = FakeClock(start=1_767_225_600.0)
>>> users = UserStore(connect("memory", clock=clock))
>>> users.register("ada", name="Ada")
Profile(user_id='ada', name='Ada', photo_url='https://photos.example/ada.jpg')
>>> users.touch("ada")          # never active before: a feed, if any, is out of date
True
>>> clock.advance(86_400)
>>> users.touch("ada"), users.active_among(["ada"])
(False, {'ada'})
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from reference.core.clock import Clock
from reference.core.errors import Conflict, InvalidArgument, NotFound
from reference.feed.model import ACTIVE_WINDOW_S, Profile, UserId
from reference.feed.posts import check_text
from reference.storage.ports import KeyValue

__all__ = ["UserStore", "check_user_id"]


class _Store(Protocol):
    @property
    def clock(self) -> Clock: ...
    @property
    def kv(self) -> KeyValue: ...


def check_user_id(name: str, value: object) -> UserId:
    """A user id: a short non-empty str of letters, digits, ``-`` and ``_``."""
    if not (isinstance(value, str) and 0 < len(value) <= 64
            and value.replace("-", "").replace("_", "").isalnum() and value.isascii()):
        raise InvalidArgument.bad_value(name, value, "a user id: letters, digits, - and _")
    return value


def _profile_key(user_id: UserId) -> str:
    return f"user:{{{user_id}}}"


def _active_key(user_id: UserId) -> str:
    return f"active:{{{user_id}}}"


class UserStore:
    """Profiles and last activity of every user, on a store's key-value port.

    Parameters
    ----------
    store : Store
        Its ``kv`` and ``clock``.
    active_window_s : float
        A user is active if seen within this long (default 30 days).
    """

    __slots__ = ("_kv", "active_window_s", "clock")

    def __init__(self, store: _Store, *, active_window_s: float = ACTIVE_WINDOW_S) -> None:
        self._kv = store.kv
        self.clock = store.clock
        self.active_window_s = float(active_window_s)

    def register(self, user_id: UserId, *, name: str, photo_url: str | None = None) -> Profile:
        """Create ``user_id``'s profile; Conflict if it exists."""
        check_user_id("user_id", user_id)
        check_text("name", name, max_chars=50)
        photo = f"https://photos.example/{user_id}.jpg" if photo_url is None else check_text(
            "photo_url", photo_url, max_chars=500)
        if self._kv.hgetall(_profile_key(user_id)):
            raise Conflict(f"user {user_id!r} is already registered")
        self._kv.hset(_profile_key(user_id), {"name": name, "photo": photo})
        return Profile(user_id, name, photo)

    def exists(self, user_id: UserId) -> bool:
        return bool(self._kv.hgetall(_profile_key(user_id)))

    def profile(self, user_id: UserId) -> Profile:
        """``user_id``'s profile; NotFound if unknown."""
        found = self.profiles([user_id]).get(user_id)
        if found is None:
            raise NotFound("user", user_id)
        return found

    def profiles(self, user_ids: Sequence[UserId]) -> dict[UserId, Profile]:
        """The profiles of the known users among ``user_ids``, in one multi-get."""
        found = self._kv.hgetall_many([_profile_key(u) for u in user_ids])
        return {u: Profile(u, fields["name"], fields["photo"])
                for u, fields in zip(user_ids, found, strict=True) if fields}

    def touch(self, user_id: UserId) -> bool:
        """Record activity now; True if the user had not been active within the window
        (their feed was not kept up to date meanwhile: drop it and rebuild)."""
        now = self.clock.now()
        last = self._kv.get(_active_key(user_id))
        self._kv.set(_active_key(user_id), repr(now))
        return last is None or now - float(last) > self.active_window_s

    def active_among(self, user_ids: Iterable[UserId]) -> set[UserId]:
        """Which of ``user_ids`` were active within the window (one multi-get)."""
        ids = list(user_ids)
        now = self.clock.now()
        seen = self._kv.get_many([_active_key(u) for u in ids])
        return {u for u, last in zip(ids, seen, strict=True)
                if last is not None and now - float(last) <= self.active_window_s}
