"""Contact info (연락처 정보): where each user can be reached, collected at sign-up.

To notify anyone the system needs an address per channel: a device token per app install
(several phones and tablets per user, on iOS and Android), a phone number for SMS and an
email address. The chapter stores them in the user database when the account is created and
updates them as devices come and go.

Layout in the key-value port (everything about one user shares the hash tag ``{u42}``, so
it sits on one Redis Cluster slot)::

    contacts:{u42}    HASH   user_id=u42  phone=+14155550100  email=ada@example.com
                             ios:<token>=1  ios:<token2>=1  android:<token>=1
    token:{<token>}   STRING u42          (reverse index: which user holds a token)

One hash field per device makes adding or removing a device a single atomic ``HSET`` /
``HDEL``: two devices registering at once cannot overwrite each other, as a read-modify-
write of a JSON list could. The reverse index exists for the provider's answer
"unregistered token" (APNs 410, FCM ``UNREGISTERED``): that answer names a token, not a
user, and the token must be removed or every later notification will fail on it again.

Examples
--------
>>> from reference.core.clock import FakeClock
>>> from reference.storage import connect
>>> book = ContactBook(connect("memory", clock=FakeClock()).kv)
>>> book.register_user("u42", email="ada@example.com")
>>> book.add_device("u42", Channel.IOS_PUSH, "apns-token-1")
True
>>> book.set_phone("u42", "+14155550100")
>>> book.addresses("u42", Channel.IOS_PUSH), book.addresses("u42", Channel.SMS)
(('apns-token-1',), ('+14155550100',))
>>> book.remove_token("apns-token-1")           # APNs said: this token is gone
'u42'
>>> book.get("u42")
Contacts(user_id='u42', ios_tokens=(), android_tokens=(), phone='+14155550100', \
email='ada@example.com')
>>> book.set_phone("u42", "555-0100")
Traceback (most recent call last):
...
reference.core.errors.InvalidArgument: phone='555-0100' is invalid: expected an E.164 number ...
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from reference.core.errors import Conflict, InvalidArgument, NotFound
from reference.notification.model import Channel, DeviceToken, UserId
from reference.storage.ports import KeyValue

__all__ = [
    "MAX_DEVICE_TOKEN_CHARS",
    "MAX_USER_ID_CHARS",
    "PUSH_CHANNELS",
    "ContactBook",
    "Contacts",
    "validate_device_token",
    "validate_device_tokens",
    "validate_email",
    "validate_phone",
    "validate_user_id",
]

MAX_USER_ID_CHARS = 128
MAX_DEVICE_TOKEN_CHARS = 4096  # APNs tokens are 64 hex chars, FCM tokens ~160; leave room
MAX_EMAIL_CHARS = 254  # RFC 5321 path limit

PUSH_CHANNELS: frozenset[Channel] = frozenset({Channel.IOS_PUSH, Channel.ANDROID_PUSH})
_IOS_PREFIX = f"{Channel.IOS_PUSH.value}:"  # device fields are "<channel>:<token>"
_ANDROID_PREFIX = f"{Channel.ANDROID_PUSH.value}:"

_E164 = re.compile(r"\+[1-9][0-9]{1,14}")  # '+', country code, at most 15 digits in all
_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")
_TOKEN = re.compile(r"[A-Za-z0-9_:.\-]+")
_USER_ID = re.compile(r"[A-Za-z0-9_:.@\-]+")

_FIELD_USER = "user_id"
_FIELD_PHONE = "phone"
_FIELD_EMAIL = "email"


def validate_user_id(user_id: object) -> UserId:
    """Return ``user_id`` if it is a usable user id, else raise InvalidArgument.

    A user id is 1..128 characters of letters, digits and ``_:.@-`` (no braces, so it can
    sit inside a Redis Cluster hash tag).

    Examples
    --------
    >>> validate_user_id("u42")
    'u42'
    >>> validate_user_id("u{42}")
    Traceback (most recent call last):
    ...
    reference.core.errors.InvalidArgument: user_id='u{42}' is invalid: expected 1..128 ...
    """
    if (
        not isinstance(user_id, str)
        or len(user_id) > MAX_USER_ID_CHARS
        or not _USER_ID.fullmatch(user_id)
    ):
        raise InvalidArgument.bad_value(
            "user_id", user_id, f"1..{MAX_USER_ID_CHARS} characters of letters, digits, _:.@-"
        )
    return user_id


def validate_phone(phone: object) -> str:
    """Return ``phone`` if it is an E.164 number (``+`` country code, <= 15 digits).

    Examples
    --------
    >>> validate_phone("+821012345678")
    '+821012345678'
    """
    if not isinstance(phone, str) or not _E164.fullmatch(phone):
        raise InvalidArgument.bad_value(
            "phone", phone, "an E.164 number such as '+14155550100' (no spaces or dashes)"
        )
    return phone


def validate_email(email: object) -> str:
    """Return ``email`` if it looks deliverable (``local@domain.tld``, <= 254 characters).

    Notes
    -----
    A syntax check only: the real proof is the provider's bounce, which the delivery side
    reports. Display names (``Ada <ada@example.com>``) are not addresses and are rejected.

    Examples
    --------
    >>> validate_email("ada@example.com")
    'ada@example.com'
    """
    if not isinstance(email, str) or len(email) > MAX_EMAIL_CHARS or not _EMAIL.fullmatch(email):
        raise InvalidArgument.bad_value("email", email, "an address like 'ada@example.com'")
    return email


def validate_device_token(token: object) -> DeviceToken:
    """Return ``token`` if it is a plausible APNs/FCM device token.

    1..4096 characters of letters, digits and ``_:.-`` (APNs: 64 hex characters; FCM:
    ~160 characters with ``:`` ``-`` ``_``).

    Examples
    --------
    >>> validate_device_token("fcm:APA91b-xyz")
    'fcm:APA91b-xyz'
    """
    if (
        not isinstance(token, str)
        or len(token) > MAX_DEVICE_TOKEN_CHARS
        or not _TOKEN.fullmatch(token)
    ):
        raise InvalidArgument.bad_value(
            "token", token, f"1..{MAX_DEVICE_TOKEN_CHARS} characters of letters, digits, _:.-"
        )
    return token


def validate_device_tokens(tokens: object, what: str = "tokens") -> tuple[DeviceToken, ...]:
    """Return the tokens of ``tokens`` (a list, tuple, set or any other iterable), each
    checked by :func:`validate_device_token`; InvalidArgument names ``what`` otherwise.

    One token on its own is refused, not iterated: ``"apns-abc"`` would otherwise register
    seven one-letter tokens. So are ``bytes`` and ``None``.

    Examples
    --------
    >>> validate_device_tokens(["apns-1", "apns-2"], "ios")
    ('apns-1', 'apns-2')
    >>> validate_device_tokens("apns-abc", "ios")
    Traceback (most recent call last):
    ...
    reference.core.errors.InvalidArgument: ios='apns-abc' is invalid: expected an iterable ...
    """
    if isinstance(tokens, (str, bytes)) or not isinstance(tokens, Iterable):
        raise InvalidArgument.bad_value(
            what, tokens, "an iterable of device tokens, such as ['apns-abc'] (not one str)")
    return tuple(validate_device_token(token) for token in tokens)


def _push_channel(platform: object) -> Channel:
    for channel in PUSH_CHANNELS:
        if platform == channel:
            return channel
    raise InvalidArgument.bad_value(
        "platform", platform, "a push channel: Channel.IOS_PUSH or Channel.ANDROID_PUSH"
    )


def _channel(channel: object) -> Channel:
    try:
        if not isinstance(channel, str):
            raise ValueError(channel)
        return Channel(channel)
    except ValueError:
        raise InvalidArgument.bad_value(
            "channel", channel, f"one of {[c.value for c in Channel]}"
        ) from None


@dataclass(frozen=True, slots=True)
class Contacts:
    """Everything one user can be reached at; tokens are sorted, absent fields are None."""

    user_id: UserId
    ios_tokens: tuple[DeviceToken, ...]
    android_tokens: tuple[DeviceToken, ...]
    phone: str | None
    email: str | None

    def addresses(self, channel: Channel) -> tuple[str, ...]:
        """The addresses for ``channel``: device tokens, the phone, or the email (maybe none).

        ``channel`` is a :class:`Channel` or its value (``"sms"``); anything else is an
        InvalidArgument, never a fall-back to some other channel's address.

        Examples
        --------
        >>> ada = Contacts("u42", ("apns-1",), (), "+14155550100", "ada@example.com")
        >>> ada.addresses(Channel.IOS_PUSH), ada.addresses("sms")
        (('apns-1',), ('+14155550100',))
        >>> ada.addresses("fax")
        Traceback (most recent call last):
        ...
        reference.core.errors.InvalidArgument: channel='fax' is invalid: expected one of ...
        """
        chosen = _channel(channel)
        if chosen is Channel.IOS_PUSH:
            return self.ios_tokens
        if chosen is Channel.ANDROID_PUSH:
            return self.android_tokens
        value = self.phone if chosen is Channel.SMS else self.email
        return (value,) if value is not None else ()


class ContactBook:
    """Per-user contact info in the key-value port, with a token → user index.

    Parameters
    ----------
    kv : KeyValue
        The key-value port (``store.kv``).

    Notes
    -----
    Every method is O(1) round trips except :meth:`get`, one ``HGETALL`` (O(fields)). A
    device token belongs to one user at a time: adding a token another user holds moves it
    (the phone changed hands, or the app was signed into another account), so a notification
    for the old owner can never reach the new one.

    The index and the hash are two keys on two cluster slots, so they cannot change
    atomically together. The rule that keeps them safe: a token sits in a user's hash only
    while the index names that user. So a move takes the token out of the old owner's hash
    first, then points the index at the new owner (``compare_and_set`` against what it
    read: of two moves only one wins, the other reads again), and only then adds it to the
    new owner's hash; a removal takes it out of the hash before it deletes the index entry.
    A crash at any step leaves at worst an index entry for a token no hash lists, which is
    harmless (the retry, or any later add or removal, clears it), never a token in a hash
    that the index cannot find, nor in two users' hashes.

    Two registrations racing for one token are settled by the index. The old owner's hash is
    swept a second time once the index has moved (its owner may have re-added the token in
    between), and a registration whose ``HSET`` lands after the index moved on takes its
    field back out. In a narrow race that second sweep can also remove a fresh field of the
    winner, leaving the token in no hash: harmless, and repaired when the app registers
    again. Removals racing with a move are not covered: deleting the index entry only while
    it still names the holder needs a compare-and-delete, which the port does not offer.
    """

    __slots__ = ("_kv",)

    def __init__(self, kv: KeyValue) -> None:
        if not isinstance(kv, KeyValue):
            raise InvalidArgument.bad_value("kv", kv, "a KeyValue port (store.kv)")
        self._kv = kv

    @staticmethod
    def _key(user_id: UserId) -> str:
        return f"contacts:{{{user_id}}}"

    @staticmethod
    def _token_key(token: DeviceToken) -> str:
        return f"token:{{{token}}}"

    def _require_user(self, user_id: object) -> UserId:
        uid = validate_user_id(user_id)
        if self._kv.hget(self._key(uid), _FIELD_USER) is None:
            raise NotFound("user", uid, "register_user() first")
        return uid

    def register_user(
        self, user_id: UserId, *, phone: str | None = None, email: str | None = None
    ) -> None:
        """Create the contact record for a new account, with its optional phone and email.

        Raises
        ------
        InvalidArgument
            If the user id, phone or email is malformed (nothing is written).
        Conflict
            If the user is already registered.
        """
        uid = validate_user_id(user_id)
        fields = {_FIELD_USER: uid}
        if phone is not None:
            fields[_FIELD_PHONE] = validate_phone(phone)
        if email is not None:
            fields[_FIELD_EMAIL] = validate_email(email)
        if self._kv.hget(self._key(uid), _FIELD_USER) is not None:
            raise Conflict(f"user {uid!r} is already registered")
        self._kv.hset(self._key(uid), fields)

    def is_registered(self, user_id: UserId) -> bool:
        """True if ``register_user`` created this user."""
        return self._kv.hget(self._key(validate_user_id(user_id)), _FIELD_USER) is not None

    def add_device(self, user_id: UserId, platform: Channel, token: DeviceToken) -> bool:
        """Attach a device token; return True if it was new for this user on this platform.

        A token held by another user (or on the other platform) is moved here: out of the
        old owner's hash, then the index, then into this user's hash (see the class Notes).
        Five round trips for a new token or one the user already holds, seven for a move
        (which starts over only if another registration moved the same token in between).

        Raises
        ------
        InvalidArgument
            If ``platform`` is not a push channel or the token is malformed.
        NotFound
            If the user is not registered.
        """
        channel = _push_channel(platform)
        tok = validate_device_token(token)
        uid = self._require_user(user_id)
        index, field = self._token_key(tok), f"{channel.value}:{tok}"
        every_field = [f"{c.value}:{tok}" for c in PUSH_CHANNELS]
        while True:  # one owner and one platform per token: move it here
            previous = self._kv.get(index)
            if previous == uid:  # ours already: drop it from the other platform, if there
                self._kv.hdel(self._key(uid), *(f for f in every_field if f != field))
                break
            if previous is not None:  # 1. out of the old owner's hash first, ...
                self._kv.hdel(self._key(previous), *every_field)
            if self._kv.compare_and_set(index, previous, uid):  # 2. ... then the index, ...
                if previous is not None:  # sweep again: the old owner may have re-added it
                    self._kv.hdel(self._key(previous), *every_field)  # since step 1
                break
            # another registration moved the token in between: read again, decide again
        added = self._kv.hset(self._key(uid), {field: "1"}) == 1  # 3. ... then our hash
        if self._kv.get(index) != uid:  # a later registration took the token meanwhile and
            self._kv.hdel(self._key(uid), field)  # may have swept before our 3.: undo ours
        return added

    def remove_device(self, user_id: UserId, platform: Channel, token: DeviceToken) -> bool:
        """Detach a device token from a user (sign-out); return True if it was attached."""
        channel = _push_channel(platform)
        tok = validate_device_token(token)
        uid = self._require_user(user_id)
        removed = self._kv.hdel(self._key(uid), f"{channel.value}:{tok}") == 1
        if removed and self._kv.get(self._token_key(tok)) == uid:
            self._kv.delete(self._token_key(tok))
        return removed

    def remove_token(self, token: DeviceToken) -> UserId | None:
        """Forget a token a provider reported as invalid; return the user who held it.

        Returns None if no user holds the token (already removed: the call is idempotent).
        """
        tok = validate_device_token(token)
        holder = self._kv.get(self._token_key(tok))
        if holder is None:
            return None
        self._kv.hdel(self._key(holder), *(f"{c.value}:{tok}" for c in PUSH_CHANNELS))
        self._kv.delete(self._token_key(tok))
        return holder

    def owner_of(self, token: DeviceToken) -> UserId | None:
        """The user a token is registered to, or None."""
        return self._kv.get(self._token_key(validate_device_token(token)))

    def set_phone(self, user_id: UserId, phone: str | None) -> None:
        """Set (or with None, clear) the user's SMS number."""
        self._set_field(user_id, _FIELD_PHONE, None if phone is None else validate_phone(phone))

    def set_email(self, user_id: UserId, email: str | None) -> None:
        """Set (or with None, clear) the user's email address."""
        self._set_field(user_id, _FIELD_EMAIL, None if email is None else validate_email(email))

    def _set_field(self, user_id: UserId, field: str, value: str | None) -> None:
        uid = self._require_user(user_id)
        if value is None:
            self._kv.hdel(self._key(uid), field)
        else:
            self._kv.hset(self._key(uid), {field: value})

    def get(self, user_id: UserId) -> Contacts:
        """Everything the user can be reached at.

        Raises
        ------
        NotFound
            If the user is not registered.
        """
        uid = validate_user_id(user_id)
        fields = self._kv.hgetall(self._key(uid))
        if _FIELD_USER not in fields:
            raise NotFound("user", uid, "register_user() first")
        ios: list[str] = []
        android: list[str] = []
        for name in fields:  # device fields are "<channel>:<token>"
            if name.startswith(_IOS_PREFIX):
                ios.append(name[len(_IOS_PREFIX):])
            elif name.startswith(_ANDROID_PREFIX):
                android.append(name[len(_ANDROID_PREFIX):])
        ios.sort()
        android.sort()
        return Contacts(uid, tuple(ios), tuple(android), fields.get(_FIELD_PHONE),
                        fields.get(_FIELD_EMAIL))

    def addresses(self, user_id: UserId, channel: Channel) -> tuple[str, ...]:
        """The user's addresses on ``channel`` (empty if none; NotFound if no such user)."""
        return self.get(user_id).addresses(_channel(channel))

    def __repr__(self) -> str:
        return "ContactBook()"
