"""Contact info: registration, devices per platform, phone/email validation, token removal."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from reference.core.clock import FakeClock
from reference.core.errors import Conflict, InvalidArgument, NotFound
from reference.notification.contacts import ContactBook, Contacts
from reference.notification.model import Channel
from reference.storage import Store, connect
from reference.storage.ports import KeyValue

IOS, ANDROID = Channel.IOS_PUSH, Channel.ANDROID_PUSH


@pytest.fixture
def kv(store: Store) -> KeyValue:
    return store.kv


@pytest.fixture
def book(kv: KeyValue) -> ContactBook:
    book = ContactBook(kv)
    book.register_user("u1", phone="+821012345678", email="u1@example.com")
    book.register_user("u2")
    return book


def test_a_registered_user_has_the_phone_and_email_given_at_sign_up(book: ContactBook) -> None:
    assert book.get("u1") == Contacts("u1", (), (), "+821012345678", "u1@example.com")
    assert book.get("u2") == Contacts("u2", (), (), None, None)


def test_a_user_can_have_several_devices_per_platform(book: ContactBook) -> None:
    assert book.add_device("u1", IOS, "iphone-b") is True
    assert book.add_device("u1", IOS, "iphone-a") is True
    assert book.add_device("u1", "android", "pixel-1") is True
    assert book.add_device("u1", IOS, "iphone-a") is False  # already there
    assert book.addresses("u1", IOS) == ("iphone-a", "iphone-b")
    assert book.addresses("u1", ANDROID) == ("pixel-1",)


def test_addresses_per_channel_are_tokens_phone_or_email(book: ContactBook) -> None:
    book.add_device("u1", IOS, "iphone-a")
    assert book.addresses("u1", Channel.SMS) == ("+821012345678",)
    assert book.addresses("u1", "email") == ("u1@example.com",)  # type: ignore[arg-type]
    assert book.addresses("u2", Channel.SMS) == ()
    assert book.addresses("u2", IOS) == ()


@pytest.mark.parametrize(
    ("channel", "expected"),
    [("ios", ("iphone-a",)), ("android", ()), ("sms", ("+821012345678",)),
     ("email", ("u1@example.com",)), (Channel.SMS, ("+821012345678",))],
)
def test_contacts_give_addresses_for_a_channel_or_its_name(
    book: ContactBook, channel: Channel, expected: tuple[str, ...]
) -> None:
    book.add_device("u1", IOS, "iphone-a")
    assert book.get("u1").addresses(channel) == expected


@pytest.mark.parametrize("channel", ["fax", "SMS", "", None, 3, IOS.name])
def test_contacts_refuse_an_unknown_channel_instead_of_falling_back_to_email(
    book: ContactBook, channel: object
) -> None:
    with pytest.raises(InvalidArgument, match="channel="):
        book.get("u1").addresses(channel)  # type: ignore[arg-type]


def test_removing_a_device_detaches_only_that_device(book: ContactBook) -> None:
    book.add_device("u1", IOS, "iphone-a")
    book.add_device("u1", IOS, "iphone-b")
    assert book.remove_device("u1", IOS, "iphone-a") is True
    assert book.remove_device("u1", IOS, "iphone-a") is False
    assert book.addresses("u1", IOS) == ("iphone-b",)
    assert book.owner_of("iphone-a") is None


def test_an_invalid_token_reported_by_a_provider_is_removed_from_its_owner(
    book: ContactBook,
) -> None:
    book.add_device("u1", IOS, "iphone-a")
    book.add_device("u1", ANDROID, "pixel-1")
    assert book.remove_token("iphone-a") == "u1"
    assert book.addresses("u1", IOS) == ()
    assert book.addresses("u1", ANDROID) == ("pixel-1",)
    assert book.remove_token("iphone-a") is None  # idempotent
    assert book.remove_token("never-seen") is None


def test_a_token_signed_into_another_account_moves_to_the_new_user(book: ContactBook) -> None:
    book.add_device("u1", IOS, "shared-ipad")
    book.add_device("u2", IOS, "shared-ipad")
    assert book.addresses("u1", IOS) == ()
    assert book.addresses("u2", IOS) == ("shared-ipad",)
    assert book.owner_of("shared-ipad") == "u2"
    assert book.remove_token("shared-ipad") == "u2"


def test_removing_a_token_from_a_user_who_no_longer_owns_it_keeps_the_index(
    book: ContactBook,
) -> None:
    book.add_device("u1", IOS, "t1")
    book.add_device("u2", IOS, "t1")
    assert book.remove_device("u1", IOS, "t1") is False
    assert book.owner_of("t1") == "u2"


def test_phone_and_email_can_be_changed_and_cleared(book: ContactBook) -> None:
    book.set_phone("u2", "+14155550100")
    book.set_email("u2", "new@example.org")
    assert book.get("u2").phone == "+14155550100"
    book.set_phone("u2", None)
    book.set_email("u2", None)
    assert book.get("u2") == Contacts("u2", (), (), None, None)


@pytest.mark.parametrize(
    "phone", ["555-0100", "14155550100", "+0123456", "+1 415 555 0100", "+1234567890123456", ""]
)
def test_a_phone_that_is_not_e164_is_rejected(book: ContactBook, phone: str) -> None:
    with pytest.raises(InvalidArgument, match=r"E\.164"):
        book.set_phone("u1", phone)
    assert book.get("u1").phone == "+821012345678"


@pytest.mark.parametrize(
    "email", ["ada", "ada@", "@example.com", "ada@example", "Ada <ada@example.com>", "a b@x.io"]
)
def test_a_malformed_email_is_rejected(book: ContactBook, email: str) -> None:
    with pytest.raises(InvalidArgument, match="email="):
        book.set_email("u1", email)
    assert book.get("u1").email == "u1@example.com"


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda b: b.add_device("u1", Channel.SMS, "t1"), InvalidArgument, "platform"),
        (lambda b: b.add_device("u1", IOS, "has space"), InvalidArgument, "token="),
        (lambda b: b.add_device("u1", IOS, "tok{en}"), InvalidArgument, "token="),
        (lambda b: b.add_device("u1", IOS, ""), InvalidArgument, "token="),
        (lambda b: b.add_device("ghost", IOS, "t1"), NotFound, "user 'ghost' not found"),
        (lambda b: b.set_phone("ghost", "+14155550100"), NotFound, "ghost"),
        (lambda b: b.register_user("u1"), Conflict, "already registered"),
        (lambda b: b.register_user("u3", phone="bad"), InvalidArgument, "phone="),
        (lambda b: b.register_user("u{3}"), InvalidArgument, "user_id="),
        (lambda b: b.get("ghost"), NotFound, "ghost"),
        (lambda b: b.addresses("u1", "fax"), InvalidArgument, "channel="),
    ],
)
def test_bad_calls_raise_typed_errors_and_write_nothing(
    book: ContactBook, kv: KeyValue, call: object, error: type[Exception], match: str
) -> None:
    before = {u: book.get(u) for u in ("u1", "u2")}
    with pytest.raises(error, match=match):
        call(book)  # type: ignore[operator]
    assert {u: book.get(u) for u in ("u1", "u2")} == before
    assert not book.is_registered("u3") and not book.is_registered("ghost")
    assert book.owner_of("t1") is None


def test_a_store_that_is_not_a_key_value_port_is_rejected() -> None:
    with pytest.raises(InvalidArgument, match="KeyValue"):
        ContactBook({})  # type: ignore[arg-type]


# ── state machine against a plain dict model ────────────────────────────────────────────

USERS = ("u1", "u2", "u3")
TOKENS = ("t1", "t2", "t3", "t4")


class ContactBookMachine(RuleBasedStateMachine):
    """ContactBook vs {user: {platform: set(tokens)}} and {token: owner}."""

    def __init__(self) -> None:
        super().__init__()
        self.book = ContactBook(connect("memory", clock=FakeClock()).kv)
        self.devices: dict[str, dict[Channel, set[str]]] = {}
        self.phones: dict[str, str | None] = {}

    @rule(user=st.sampled_from(USERS))
    def register(self, user: str) -> None:
        if user in self.devices:
            with pytest.raises(Conflict):
                self.book.register_user(user)
        else:
            self.book.register_user(user)
            self.devices[user] = {IOS: set(), ANDROID: set()}
            self.phones[user] = None

    @rule(
        user=st.sampled_from(USERS),
        platform=st.sampled_from([IOS, ANDROID]),
        token=st.sampled_from(TOKENS),
    )
    def add(self, user: str, platform: Channel, token: str) -> None:
        if user not in self.devices:
            with pytest.raises(NotFound):
                self.book.add_device(user, platform, token)
            return
        new = token not in self.devices[user][platform]
        for platforms in self.devices.values():
            for tokens in platforms.values():
                tokens.discard(token)
        self.devices[user][platform].add(token)
        assert self.book.add_device(user, platform, token) is new

    @precondition(lambda self: self.devices)
    @rule(data=st.data())
    def remove(self, data: st.DataObject) -> None:
        user = data.draw(st.sampled_from(sorted(self.devices)))
        platform = data.draw(st.sampled_from([IOS, ANDROID]))
        token = data.draw(st.sampled_from(TOKENS))
        held = token in self.devices[user][platform]
        self.devices[user][platform].discard(token)
        assert self.book.remove_device(user, platform, token) is held

    @rule(token=st.sampled_from(TOKENS))
    def provider_says_unregistered(self, token: str) -> None:
        owner = next(
            (u for u, p in self.devices.items() if any(token in t for t in p.values())), None
        )
        for platforms in self.devices.values():
            for tokens in platforms.values():
                tokens.discard(token)
        assert self.book.remove_token(token) == owner

    @precondition(lambda self: self.devices)
    @rule(data=st.data(), phone=st.sampled_from([None, "+14155550100", "+821012345678"]))
    def set_phone(self, data: st.DataObject, phone: str | None) -> None:
        user = data.draw(st.sampled_from(sorted(self.devices)))
        self.book.set_phone(user, phone)
        self.phones[user] = phone

    @invariant()
    def contacts_match_the_model(self) -> None:
        for user, platforms in self.devices.items():
            got = self.book.get(user)
            assert got.ios_tokens == tuple(sorted(platforms[IOS]))
            assert got.android_tokens == tuple(sorted(platforms[ANDROID]))
            assert got.phone == self.phones[user]

    @invariant()
    def every_token_has_at_most_one_owner_and_the_index_agrees(self) -> None:
        for token in TOKENS:
            owners = [u for u, p in self.devices.items() if any(token in t for t in p.values())]
            assert len(owners) <= 1
            assert self.book.owner_of(token) == (owners[0] if owners else None)


TestContactBookMachine = ContactBookMachine.TestCase
TestContactBookMachine.settings = settings(max_examples=60, stateful_step_count=30, deadline=None)


# ── crashes and races while a token moves ───────────────────────────────────────────────

_WRITES = frozenset({"set", "compare_and_set", "delete", "hset", "hdel", "set_many"})


class Crash(Exception):
    """The process died here."""


class FaultyKV:
    """The key-value port as one process sees it, with two faults to inject.

    ``crash_at``: the process dies at its ``crash_at``-th write (counting from 0), before the
    write reaches the store or, with ``crash_after``, right after it did.
    ``pause_at``: before its ``pause_at``-th call (reads count too) the process stalls while
    ``meanwhile`` runs to completion: two calls interleaved, simulated sequentially.
    """

    def __init__(
        self,
        inner: KeyValue,
        *,
        crash_at: int | None = None,
        crash_after: bool = False,
        pause_at: int | None = None,
        meanwhile: Callable[[], object] | None = None,
    ) -> None:
        self.inner = inner
        self.crash_at, self.crash_after = crash_at, crash_after
        self.pause_at, self.meanwhile = pause_at, meanwhile
        self.calls = self.writes = 0
        self.paused = False

    def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        if self.calls == self.pause_at and self.meanwhile is not None:
            self.paused = True
            self.meanwhile()
        self.calls += 1
        crash_here = name in _WRITES and self.writes == self.crash_at
        self.writes += name in _WRITES
        if crash_here and not self.crash_after:
            raise Crash(f"before {name}{args}")
        result = getattr(self.inner, name)(*args, **kwargs)
        if crash_here:
            raise Crash(f"after {name}{args}")
        return result

    def get(self, key: str) -> str | None:
        return cast("str | None", self._call("get", key))

    def get_many(self, keys: Sequence[str]) -> list[str | None]:
        return cast("list[str | None]", self._call("get_many", keys))

    def set_many(self, mapping: Mapping[str, str]) -> None:
        self._call("set_many", mapping)

    def hgetall_many(self, keys: Sequence[str]) -> list[dict[str, str]]:
        return cast("list[dict[str, str]]", self._call("hgetall_many", keys))

    def set(self, key: str, value: str, *, if_absent: bool = False) -> bool:
        return cast(bool, self._call("set", key, value, if_absent=if_absent))

    def compare_and_set(self, key: str, expected: str | None, value: str) -> bool:
        return cast(bool, self._call("compare_and_set", key, expected, value))

    def delete(self, *keys: str) -> int:
        return cast(int, self._call("delete", *keys))

    def hset(self, key: str, mapping: Mapping[str, str]) -> int:
        return cast(int, self._call("hset", key, mapping))

    def hget(self, key: str, field: str) -> str | None:
        return cast("str | None", self._call("hget", key, field))

    def hgetall(self, key: str) -> dict[str, str]:
        return cast("dict[str, str]", self._call("hgetall", key))

    def hdel(self, key: str, *fields: str) -> int:
        return cast(int, self._call("hdel", key, *fields))


TOKEN = "moving-token"


def three_users() -> tuple[KeyValue, ContactBook]:
    kv = connect("memory", clock=FakeClock()).kv
    book = ContactBook(kv)
    for user in USERS:
        book.register_user(user)
    return kv, book


def holders(book: ContactBook, token: str = TOKEN) -> dict[str, tuple[Channel, ...]]:
    """Every user whose record lists ``token``, with the platforms it is listed under."""
    found = {u: tuple(p for p in (IOS, ANDROID) if token in book.addresses(u, p)) for u in USERS}
    return {u: platforms for u, platforms in found.items() if platforms}


def assert_only_the_indexed_owner_is_addressed(book: ContactBook, where: str) -> None:
    """No notification for one user can reach another: only the index's owner lists it."""
    held = holders(book)
    assert set(held) <= {book.owner_of(TOKEN)}, f"{where}: {held}, index {book.owner_of(TOKEN)}"


MOVES = [
    pytest.param(IOS, "u2", IOS, id="to-another-user"),
    pytest.param(IOS, "u2", ANDROID, id="to-another-user-and-platform"),
    pytest.param(IOS, "u1", ANDROID, id="to-the-owners-other-platform"),
]


@pytest.mark.parametrize("crash_after", [False, True], ids=["write-lost", "write-landed"])
@pytest.mark.parametrize("then", ["retry", "provider-says-unregistered"])
@pytest.mark.parametrize(("old_platform", "new_user", "new_platform"), MOVES)
def test_a_move_that_crashes_at_any_write_is_repaired_by_a_retry_or_a_removal(
    old_platform: Channel, new_user: str, new_platform: Channel, then: str, crash_after: bool
) -> None:
    crash_at = 0
    while True:
        kv, book = three_users()
        book.add_device("u1", old_platform, TOKEN)
        process = ContactBook(FaultyKV(kv, crash_at=crash_at, crash_after=crash_after))
        try:
            process.add_device(new_user, new_platform, TOKEN)
        except Crash as crash:
            where = f"crash at write {crash_at} ({crash})"
        else:
            break  # past the last write: every write of the move has been a crash point
        assert_only_the_indexed_owner_is_addressed(book, where)
        assert all(len(platforms) == 1 for platforms in holders(book).values()), where
        if then == "retry":
            book.add_device(new_user, new_platform, TOKEN)
            assert book.owner_of(TOKEN) == new_user, where
            assert holders(book) == {new_user: (new_platform,)}, where
            assert book.remove_token(TOKEN) == new_user, where
        else:
            book.remove_token(TOKEN)
        assert holders(book) == {}, where
        assert book.owner_of(TOKEN) is None, where
        crash_at += 1
    assert crash_at >= 2  # at least: out of the old place, into the new one


CALLS = [("u2", IOS), ("u3", ANDROID), ("u1", ANDROID), ("u1", IOS)]


@pytest.mark.parametrize(("second_user", "second_platform"), CALLS)
@pytest.mark.parametrize(("first_user", "first_platform"), CALLS)
def test_two_registrations_of_one_token_interleaved_never_leave_it_with_two_users(
    first_user: str, first_platform: Channel, second_user: str, second_platform: Channel
) -> None:
    pause_at = 0
    while True:
        kv, book = three_users()
        book.add_device("u1", IOS, TOKEN)

        def second(book: ContactBook = book) -> None:
            book.add_device(second_user, second_platform, TOKEN)

        first = FaultyKV(kv, pause_at=pause_at, meanwhile=second)
        ContactBook(first).add_device(first_user, first_platform, TOKEN)
        if not first.paused:
            second()  # past the first call's last step: plain sequential calls
        where = f"second call ran before the first call's step {pause_at}"
        owner = book.owner_of(TOKEN)
        assert owner in (first_user, second_user), where
        assert_only_the_indexed_owner_is_addressed(book, where)
        # one user signing in on both platforms at once may keep both (a later add or removal
        # tidies that up), but never a platform nobody asked for
        asked = {p for u, p in ((first_user, first_platform), (second_user, second_platform))
                 if u == owner}
        assert set(holders(book).get(owner, ())) <= asked, where
        if not first.paused:  # one after the other: the second call wins, as it should
            assert holders(book) == {second_user: (second_platform,)}
        assert book.remove_token(TOKEN) == owner
        assert holders(book) == {}, where
        if not first.paused:
            break
        pause_at += 1
