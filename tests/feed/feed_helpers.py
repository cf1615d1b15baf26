"""What chapter 11's behaviour tests share: a system on the test's store, named users, a post
a second after the last, a scroll through every page, and what a feed holds as stored."""

from __future__ import annotations

from reference.core.clock import FakeClock
from reference.feed.feeds import BOTTOM, feed_key
from reference.feed.model import PostId
from reference.feed.system import NewsFeedSystem
from reference.storage import Store

MODES = ("push", "pull", "hybrid")


def feed_system(store: Store, **options: object) -> NewsFeedSystem:
    return NewsFeedSystem.create(store, seed=1, **options)  # type: ignore[arg-type]


def add_users(system: NewsFeedSystem, *names: str) -> None:
    for name in names:
        system.register_user(name, name=name.title())


def fake_clock(system: NewsFeedSystem) -> FakeClock:
    clock = system.clock
    assert isinstance(clock, FakeClock)
    return clock


def post(system: NewsFeedSystem, author: str, text: str | None = None) -> PostId:
    """``author`` posts one second after the clock's last step."""
    clock = fake_clock(system)
    clock.advance(1.0)
    return system.publish(author, text or f"{author} at {clock.now():.0f}").post_id


def scroll(system: NewsFeedSystem, user: str, *, limit: int = 30) -> list[PostId]:
    """Every post of ``user``'s feed, page by page from the top."""
    shown: list[PostId] = []
    before: PostId | None = None
    while True:
        page = system.feed(user, before=before, limit=limit)
        shown += page.post_ids
        if page.next_cursor is None:
            return shown
        before = page.next_cursor


def cached(system: NewsFeedSystem, user: str) -> list[PostId]:
    """The post ids ``user``'s feed holds in the feed cache, as stored."""
    key = feed_key(user)
    if system.feeds.shape == "sorted":
        held = system.store.id_timeline.newest(key, limit=10_000)
    else:
        held = [int(entry) for entry in system.store.lists.range(key, 0, -1)]
    return [i for i in held if i != BOTTOM]  # the bottom mark of a rebuilt feed aside
