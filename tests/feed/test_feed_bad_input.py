"""Chapter 11, the boundary: every public entry point of NewsFeedSystem refuses bad input
with a typed error from reference.core.errors, before it writes anything."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

import pytest

from reference.cache.tiers import TierSizes
from reference.core.clock import FakeClock, SystemClock
from reference.core.errors import Conflict, InvalidArgument, LabError, NotFound
from reference.feed.feeds import feed_key
from reference.feed.model import FANOUT_GROUP, FANOUT_QUEUE, PostId
from reference.feed.posts import MAX_POST_CHARS
from reference.feed.system import NewsFeedSystem
from reference.storage import Store, connect

USERS = ("ada", "bob", "cyd")
MISSING_POST = 1_724_000_000_000_000_000  # a well-formed post id nobody published
#: Redis commands that only read: a refused call may issue these, never anything else
READ_ONLY = {"GET", "MGET", "HGET", "HGETALL", "EXISTS", "ZCARD", "ZRANGE", "ZREVRANGE",
             "ZRANGEBYLEX", "ZREVRANGEBYLEX", "LRANGE", "LLEN", "XLEN", "XPENDING", "XINFO"}


class World:
    """ada posts, bob follows and reads her, cyd is there: one of everything to change."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.system = NewsFeedSystem.create(store, seed=1, mode="push")
        for user in USERS:
            self.system.register_user(user, name=user.title())
        self.system.follow("bob", "ada")
        self.post = self.system.publish("ada", "hello").post_id
        self.system.run_until_idle()
        self.system.feed("bob")
        self.system.like("bob", self.post)

    def state(self) -> dict[str, Any]:
        """Everything a refused call could have changed, as the stores and the graph say."""
        system, kv = self.system, self.store.kv
        return {
            "graph": system.graph.statistics(),
            "follows": {u: (system.graph.following(u), system.graph.muted(u)) for u in USERS},
            "profiles": system.users.profiles(USERS),
            "active": {u: kv.get(f"active:{{{u}}}") for u in USERS},
            "authored": {u: system.posts.recent(u, limit=100) for u in USERS},
            "feeds": {u: self.store.id_timeline.newest(feed_key(u), limit=100) for u in USERS},
            "counts": system.actions.store.counts([self.post]),
            "liked": {u: system.actions.store.done_by(u, [self.post], "like") for u in USERS},
            "queued": self.store.queue.statistics(FANOUT_QUEUE, FANOUT_GROUP).published,
            "created": system.posts.store.statistics().created,
            "deleted": system.posts.store.statistics().deleted,
        }


@contextmanager
def nothing_written(world: World) -> Iterator[None]:
    """The block may read the store, never write it (the Redis commands prove it)."""
    before = world.state()
    recording = (world.store.record_commands() if world.store.backend != "memory"
                 else nullcontext())
    with recording as recorder:
        yield
    if recorder is not None:
        assert set(recorder.counts()) <= READ_ONLY, recorder.commands
    assert world.state() == before


Call = Callable[[NewsFeedSystem, PostId], object]

REFUSED: list[tuple[str, Call, type[LabError]]] = [
    # users
    ("register: a bad id", lambda s, p: s.register_user("a b", name="X"), InvalidArgument),
    ("register: an empty id", lambda s, p: s.register_user("", name="X"), InvalidArgument),
    ("register: a non-str id", lambda s, p: s.register_user(7, name="X"),  # type: ignore[arg-type]
     InvalidArgument),
    ("register: a hash tag in the id", lambda s, p: s.register_user("a{b}", name="X"),
     InvalidArgument),
    ("register: taken", lambda s, p: s.register_user("ada", name="Again"), Conflict),
    ("register: an empty name", lambda s, p: s.register_user("dee", name=" "), InvalidArgument),
    ("register: a long name", lambda s, p: s.register_user("dee", name="x" * 51),
     InvalidArgument),
    ("register: a lone surrogate", lambda s, p: s.register_user("dee", name="D\ud800"),
     InvalidArgument),
    ("register: an empty photo", lambda s, p: s.register_user("dee", name="D", photo_url=""),
     InvalidArgument),
    # follows
    ("follow: unknown followee", lambda s, p: s.follow("bob", "nobody"), NotFound),
    ("follow: unknown follower", lambda s, p: s.follow("nobody", "ada"), NotFound),
    ("follow: oneself", lambda s, p: s.follow("cyd", "cyd"), InvalidArgument),
    ("follow: a bad id", lambda s, p: s.follow("cyd", "a b"), InvalidArgument),
    ("unfollow: unknown", lambda s, p: s.unfollow("bob", "nobody"), NotFound),
    ("mute: unknown", lambda s, p: s.mute("bob", "nobody"), NotFound),
    ("mute: oneself", lambda s, p: s.mute("bob", "bob"), InvalidArgument),
    ("unmute: unknown", lambda s, p: s.unmute("nobody", "ada"), NotFound),
    ("block: unknown", lambda s, p: s.block("bob", "nobody"), NotFound),
    ("block: oneself", lambda s, p: s.block("bob", "bob"), InvalidArgument),
    # posts
    ("publish: unknown author", lambda s, p: s.publish("nobody", "hi"), NotFound),
    ("publish: empty", lambda s, p: s.publish("ada", ""), InvalidArgument),
    ("publish: blank", lambda s, p: s.publish("ada", " \n\t"), InvalidArgument),
    ("publish: too long", lambda s, p: s.publish("ada", "x" * (MAX_POST_CHARS + 1)),
     InvalidArgument),
    ("publish: a lone surrogate", lambda s, p: s.publish("ada", "hi \udc00"),
     InvalidArgument),
    ("publish: bytes", lambda s, p: s.publish("ada", b"hi"),  # type: ignore[arg-type]
     InvalidArgument),
    ("publish: None", lambda s, p: s.publish("ada", None),  # type: ignore[arg-type]
     InvalidArgument),
    # actions
    ("like: unknown user", lambda s, p: s.like("nobody", p), NotFound),
    ("like: unknown post", lambda s, p: s.like("bob", MISSING_POST), NotFound),
    ("share: unknown post", lambda s, p: s.share("cyd", MISSING_POST), NotFound),
    ("unlike: unknown user", lambda s, p: s.unlike("nobody", p), NotFound),
    ("reply: unknown user", lambda s, p: s.reply("nobody", p, "hi"), NotFound),
    ("reply: unknown post", lambda s, p: s.reply("bob", MISSING_POST, "hi"), NotFound),
    ("reply: empty", lambda s, p: s.reply("bob", p, ""), InvalidArgument),
    ("reply: too long", lambda s, p: s.reply("bob", p, "x" * (MAX_POST_CHARS + 1)),
     InvalidArgument),
    ("reply: a lone surrogate", lambda s, p: s.reply("bob", p, "\ud83d"), InvalidArgument),
    # reads
    ("feed: unknown user", lambda s, p: s.feed("nobody"), NotFound),
    ("feed: a bad user id", lambda s, p: s.feed(""), InvalidArgument),
    ("feed: a negative cursor", lambda s, p: s.feed("bob", before=-1), InvalidArgument),
    ("feed: a str cursor", lambda s, p: s.feed("bob", before="10"),  # type: ignore[arg-type]
     InvalidArgument),
    ("feed: a float cursor", lambda s, p: s.feed("bob", before=1.5),  # type: ignore[arg-type]
     InvalidArgument),
    ("feed: a bool cursor", lambda s, p: s.feed("bob", before=True), InvalidArgument),
    ("feed: a cursor past 2**63", lambda s, p: s.feed("bob", before=2**63), InvalidArgument),
    ("feed: limit 0", lambda s, p: s.feed("bob", limit=0), InvalidArgument),
    ("feed: limit -1", lambda s, p: s.feed("bob", limit=-1), InvalidArgument),
    ("feed: limit 201", lambda s, p: s.feed("bob", limit=201), InvalidArgument),
    ("feed: a str limit", lambda s, p: s.feed("bob", limit="20"),  # type: ignore[arg-type]
     InvalidArgument),
    ("feed: a bool limit", lambda s, p: s.feed("bob", limit=True), InvalidArgument),
    # faults
    ("lose_feed_node: unknown", lambda s, p: s.lose_feed_node("feed-cache-9"),
     InvalidArgument),
]


@pytest.mark.parametrize(("call", "error"), [pytest.param(c, e, id=name)
                                             for name, c, e in REFUSED])
def test_every_entry_point_refuses_bad_input_with_a_typed_error_and_writes_nothing(
        store: Store, call: Call, error: type[LabError]) -> None:
    world = World(store)
    with nothing_written(world), pytest.raises(error):
        call(world.system, world.post)


@pytest.mark.parametrize("post_id", ["abc", None, True, -1, 2**64], ids=repr)
def test_delete_post_refuses_what_is_not_a_post_id(store: Store, post_id: object) -> None:
    world = World(store)
    with nothing_written(world), pytest.raises(InvalidArgument):
        world.system.delete_post(post_id)  # type: ignore[arg-type]


@pytest.mark.parametrize("post_id", ["abc", None, -1], ids=repr)
def test_unlike_refuses_what_is_not_a_post_id(store: Store, post_id: object) -> None:
    world = World(store)
    with nothing_written(world), pytest.raises(InvalidArgument):
        world.system.unlike("bob", post_id)  # type: ignore[arg-type]


def test_accepted_edge_values_are_not_refused(store: Store) -> None:
    world = World(store)
    system = world.system
    longest = system.publish("ada", "x" * MAX_POST_CHARS)
    assert system.feed("bob", limit=200, before=2**63 - 1).next_cursor is None
    assert system.feed("bob", limit=1, before=longest.post_id).post_ids == (world.post,)
    assert system.unfollow("bob", "bob") is False  # nobody follows themselves: nothing to do
    assert system.register_user("dee-2_x", name="D" * 50).name == "D" * 50


# ── the bootstrap ────────────────────────────────────────────────────────────────────────

BAD_OPTIONS: list[Any] = [
    pytest.param({"mode": "fanout"}, id="mode"),
    pytest.param({"shape": "tree"}, id="shape"),
    pytest.param({"threshold": -1}, id="hybrid threshold"),
    pytest.param({"threshold": True}, id="bool threshold"),
    pytest.param({"workers": 0}, id="workers"),
    pytest.param({"web_servers": 0}, id="web_servers"),
    pytest.param({"tick_s": 0.0}, id="tick_s"),
    pytest.param({"sizes": "big"}, id="sizes"),
    pytest.param({"sizes": TierSizes(content=0)}, id="sizes capacity"),
    pytest.param({"crash_plan": "often"}, id="crash_plan"),
    pytest.param({"seed": 1.5}, id="seed"),
    pytest.param({"mode": "pull", "threshold": -1}, id="pull threshold"),
    pytest.param({"feed_nodes": ["", "x"]}, id="empty node name"),
    pytest.param({"feed_nodes": ["a", "a"]}, id="duplicate nodes"),
    pytest.param({"feed_nodes": []}, id="no nodes"),
    pytest.param({"feed_nodes": "abc"}, id="nodes as a str"),
]


@pytest.mark.parametrize("options", BAD_OPTIONS)
def test_create_refuses_bad_options_with_a_typed_error_before_writing_to_the_store(
        store: Store, options: dict[str, Any]) -> None:
    with pytest.raises(InvalidArgument):
        NewsFeedSystem.create(store, **{"seed": 1, **options})
    with pytest.raises(NotFound):  # the fanout queue's group was never created
        store.queue.statistics(FANOUT_QUEUE, FANOUT_GROUP)
    if store.backend != "memory":
        assert store.redis_client.keys(f"{store.namespace}:*") == []


def test_create_refuses_a_store_that_is_not_on_a_fake_clock() -> None:
    with connect("memory", clock=SystemClock()) as live, pytest.raises(InvalidArgument):
        NewsFeedSystem.create(live, seed=1)
    with pytest.raises(InvalidArgument):
        NewsFeedSystem.create("memory", seed=1)  # type: ignore[arg-type]
    fake = connect("memory", clock=FakeClock(start=1_700_000_000.0))
    assert NewsFeedSystem.create(fake, seed=1).store is fake
