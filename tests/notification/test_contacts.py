"""Contact info: registration, devices per platform, phone/email validation, token removal."""

from __future__ import annotations

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
