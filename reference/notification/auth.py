"""Authentication (인증) of the Notification API with an app key and secret (appKey/appSecret).

Only verified clients — our own services — may send notifications; an open endpoint would
let anyone push to our users. Each calling service gets an **app key** (public, names the
caller) and an **app secret** (shared, never sent). Every request carries::

    X-App-Key    ak_3f2a...                 who is calling
    X-Timestamp  1767225600                 when it was signed (Unix seconds)
    X-Nonce      9c41...                    a random one-time value
    X-Signature  hex HMAC-SHA256(secret, canonical string)

over the canonical string ``METHOD \\n path \\n timestamp \\n nonce \\n sha256(body)``. The
server recomputes the signature from its copy of the secret and compares in constant time
(:func:`hmac.compare_digest`). The API stays **stateless**: any instance can verify any
request, because the secrets and the used nonces live in the shared store.

Why each part is there:

- the body hash: a captured request cannot be edited (another user, another message);
- the timestamp: a captured request is useless after ``REPLAY_WINDOW_S`` (5 min), either way:
  a clock far in the future is rejected too;
- the nonce: inside the window, the same request cannot be replayed. Nonces are claimed with
  ``SET NX`` in the shared store, so a replay sent to a *different* API instance is caught.

Examples
--------
>>> from random import Random
>>> from reference.core.clock import FakeClock
>>> from reference.storage import connect
>>> store = connect("memory", clock=FakeClock())
>>> registry = AppRegistry(store.kv)
>>> app_key, app_secret = registry.create_app("billing-service", Random(7))
>>> request = sign(app_key=app_key, app_secret=app_secret, method="POST",
...                path="/v1/notifications", body='{"event_id": "e1"}',
...                timestamp=1_000.0, nonce="nonce-0001")
>>> verifier = RequestVerifier(registry, store.kv, store.timeline)
>>> verifier.verify(request, now=1_010.0).app_name
'billing-service'
>>> verifier.verify(request, now=1_011.0)
Traceback (most recent call last):
...
reference.core.errors.Unauthorized: replayed nonce 'nonce-0001' for app ...
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from random import Random
from typing import NamedTuple

from reference.core.checks import check_positive_seconds
from reference.core.errors import Conflict, InvalidArgument, Unauthorized
from reference.notification.model import REPLAY_WINDOW_S, check_instant, check_text, invalid
from reference.storage.ports import KeyValue, Timeline

__all__ = [
    "HEADER_APP_KEY",
    "HEADER_NONCE",
    "HEADER_SIGNATURE",
    "HEADER_TIMESTAMP",
    "App",
    "AppCredentials",
    "AppRegistry",
    "AuthStatistics",
    "Caller",
    "RequestVerifier",
    "SignedRequest",
    "canonical_string",
    "new_nonce",
    "sign",
]

HEADER_APP_KEY = "X-App-Key"
HEADER_TIMESTAMP = "X-Timestamp"
HEADER_NONCE = "X-Nonce"
HEADER_SIGNATURE = "X-Signature"
NONCE_PRUNE_BATCH = 100  # nonces forgotten per verified request, at most

_NONCE = re.compile(r"[A-Za-z0-9_\-]{8,64}")
_APP_KEY = re.compile(r"ak_[0-9a-f]{16}")
_SIGNATURE = re.compile(r"[0-9a-f]{64}")
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_LATEST_TIMESTAMP_S = 10**12 - 1  # the largest X-Timestamp the header's 12 digits can carry


class AppCredentials(NamedTuple):
    """What a new calling service is given once: its public key and its shared secret."""

    app_key: str
    app_secret: str


@dataclass(frozen=True, slots=True)
class App:
    """A registered calling service (the secret is kept out of ``repr``)."""

    app_key: str
    name: str
    secret: str = field(repr=False)


class AppRegistry:
    """The app keys and secrets of the services allowed to call the API.

    Parameters
    ----------
    kv : KeyValue
        The key-value port; one hash per app at ``app:{<app_key>}``.

    Notes
    -----
    :meth:`create_app` draws the key and secret from the injected ``rng`` so that tests and
    notebooks are reproducible; **production must use** :mod:`secrets` (a seeded
    ``Random`` is predictable, so its secrets are not secret). HMAC needs the secret
    itself on the server (unlike a password, it cannot be stored as a hash): in production it
    is encrypted at rest (a KMS), here it is a plain hash field.
    """

    __slots__ = ("_kv",)

    def __init__(self, kv: KeyValue) -> None:
        if not isinstance(kv, KeyValue):
            raise InvalidArgument.bad_value("kv", kv, "a KeyValue port (store.kv)")
        self._kv = kv

    @staticmethod
    def _key(app_key: str) -> str:
        return f"app:{{{app_key}}}"

    def create_app(self, name: str, rng: Random) -> AppCredentials:
        """Register a calling service; return its ``(app_key, app_secret)``.

        Raises
        ------
        InvalidArgument
            If ``name`` is not 1..64 printable characters or ``rng`` is not a Random.
        Conflict
            If the drawn key already exists (the same seed used twice on one store).
        """
        if not isinstance(name, str) or not 1 <= len(name) <= 64 or not name.isprintable():
            raise InvalidArgument.bad_value("name", name, "1..64 printable characters")
        if not isinstance(rng, Random):
            raise InvalidArgument.bad_value("rng", rng, "a Random (seeded)")
        app_key = f"ak_{rng.getrandbits(64):016x}"
        app_secret = f"{rng.getrandbits(256):064x}"
        if self._kv.hget(self._key(app_key), "name") is not None:
            raise Conflict(f"app key {app_key!r} already exists: use a fresh rng/seed")
        self._kv.hset(self._key(app_key), {"name": name, "secret": app_secret})
        return AppCredentials(app_key, app_secret)

    def get(self, app_key: str) -> App | None:
        """The app registered under ``app_key``, or None (unknown or revoked)."""
        if not isinstance(app_key, str) or not _APP_KEY.fullmatch(app_key):
            return None
        fields = self._kv.hgetall(self._key(app_key))
        if "name" not in fields or "secret" not in fields:
            return None
        return App(app_key=app_key, name=fields["name"], secret=fields["secret"])

    def revoke(self, app_key: str) -> bool:
        """Remove an app; its requests are rejected from now on. True if it existed."""
        if not isinstance(app_key, str) or not _APP_KEY.fullmatch(app_key):
            return False
        return self._kv.delete(self._key(app_key)) == 1

    def __repr__(self) -> str:
        return "AppRegistry()"


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """An API call as it arrives: method, path, header-like dict and the raw body.

    Every field is text that UTF-8 can encode (the bytes that would cross a network), so
    ``None``, ``bytes`` or a lone surrogate is refused here, when the request is built,
    with :class:`~reference.core.errors.InvalidArgument`: nothing downstream (the
    signature's hash, the store) ever meets one. What the text *says* (a known app key, a
    fresh timestamp, a valid signature) is the verifier's business.
    """

    method: str
    path: str
    headers: Mapping[str, str]
    body: str

    def __post_init__(self) -> None:
        check_text("method", self.method, "an HTTP method such as 'POST'")
        check_text("path", self.path, "a path such as '/v1/notifications'")
        check_text("body", self.body, "the body as a str")
        if not isinstance(self.headers, Mapping):
            raise invalid("headers", self.headers, "a mapping of header name -> str")
        for name, value in self.headers.items():
            check_text("header name", name, "a str")
            check_text(f"headers[{name!r}]", value, "a str")

    def header(self, name: str) -> str | None:
        """A header's value, matched case-insensitively as HTTP does, or None."""
        wanted = name.lower()
        for key, value in self.headers.items():
            if isinstance(key, str) and key.lower() == wanted:
                return value
        return None


def canonical_string(method: str, path: str, timestamp: str, nonce: str, body: str) -> str:
    """The exact text that is signed: method, path, timestamp, nonce, sha256(body).

    Examples
    --------
    >>> canonical_string("post", "/v1/notifications", "1000", "n0nce-01", "").splitlines()
    ['POST', '/v1/notifications', '1000', 'n0nce-01', 'e3b0c44298fc1c149afbf4c8996fb924...']
    """
    digest = hashlib.sha256(body.encode("utf-8")).hexdigest()
    return "\n".join((method.upper(), path, timestamp, nonce, digest))


def _hmac_hex(secret: str, message: str) -> str:
    return hmac.new(secret.encode("utf-8"), message.encode("utf-8"), hashlib.sha256).hexdigest()


def new_nonce(rng: Random) -> str:
    """A 128-bit nonce as 32 hex characters, drawn from the injected ``rng``."""
    return f"{rng.getrandbits(128):032x}"


def sign(
    *,
    app_key: str,
    app_secret: str,
    method: str,
    path: str,
    body: str,
    timestamp: float,
    nonce: str,
) -> SignedRequest:
    """Build a signed request the way a client does (the timestamp is floored to seconds).

    Raises
    ------
    InvalidArgument
        If the method, path, body, timestamp (>= 0, and below 10**12 s: what the header's
        12 digits carry), nonce or credentials are malformed.
    """
    check_text("app_key", app_key, "the app key (a str)")
    try:
        check_text("app_secret", app_secret)
    except InvalidArgument:
        raise InvalidArgument("app_secret (not shown) is invalid: expected the app's secret, "
                              "a str that UTF-8 can encode") from None
    if not isinstance(method, str) or not method.isalpha():
        raise InvalidArgument.bad_value("method", method, "an HTTP method such as 'POST'")
    if not isinstance(path, str) or not path.startswith("/") or not path.isprintable():
        raise InvalidArgument.bad_value("path", path, "a path starting with '/'")
    check_text("body", body)
    check_instant("timestamp", timestamp, "seconds since the epoch", low=0,
                  high=_LATEST_TIMESTAMP_S)
    if not isinstance(nonce, str) or not _NONCE.fullmatch(nonce):
        raise InvalidArgument.bad_value("nonce", nonce, "8..64 characters of A-Z a-z 0-9 _ -")
    ts = str(math.floor(timestamp))
    signature = _hmac_hex(app_secret, canonical_string(method, path, ts, nonce, body))
    headers = {
        HEADER_APP_KEY: app_key,
        HEADER_TIMESTAMP: ts,
        HEADER_NONCE: nonce,
        HEADER_SIGNATURE: signature,
    }
    return SignedRequest(method=method.upper(), path=path, headers=headers, body=body)


@dataclass(frozen=True, slots=True)
class Caller:
    """Who a verified request came from, and the nonce it used."""

    app_key: str
    app_name: str
    timestamp: int
    nonce: str


@dataclass(frozen=True, slots=True)
class AuthStatistics:
    """Requests verified, and rejected per reason, by this verifier instance."""

    verified: int
    malformed: int
    unknown_key: int
    stale: int
    bad_signature: int
    replayed: int


class RequestVerifier:
    """Check signed requests: known app, fresh timestamp, valid signature, unused nonce.

    Parameters
    ----------
    registry : AppRegistry
        Where the app secrets are.
    kv : KeyValue
        Where used nonces are claimed (``nonce:{<app_key>}:<nonce>``, ``SET NX``).
    timeline : Timeline or None
        An index of claimed nonces by timestamp (``nonces:{<app_key>}``) used to forget
        those older than two windows. The key-value port has no TTL; without a timeline the
        nonce keys are never cleaned up.
    replay_window_s : float
        How far a request's timestamp may be from ``now``, either way.

    Notes
    -----
    :meth:`check` only reads (the app's secret; it does not look at the nonce);
    :meth:`claim_nonce` is the one write, so a caller can run every other validation between
    the two and leave the store untouched when a request is rejected. :meth:`verify` does
    both. Checks run cheapest first, and the nonce is claimed only after the signature is
    proven, so a forger cannot burn other clients' nonces. A nonce must be remembered only
    while its timestamp is inside the window: older requests are rejected by time already.
    """

    __slots__ = (
        "_counts",
        "_kv",
        "_registry",
        "_timeline",
        "replay_window_s",
    )

    def __init__(
        self,
        registry: AppRegistry,
        kv: KeyValue,
        timeline: Timeline | None = None,
        *,
        replay_window_s: float = REPLAY_WINDOW_S,
    ) -> None:
        if not isinstance(registry, AppRegistry):
            raise InvalidArgument.bad_value("registry", registry, "an AppRegistry")
        if not isinstance(kv, KeyValue):
            raise InvalidArgument.bad_value("kv", kv, "a KeyValue port (store.kv)")
        if timeline is not None and not isinstance(timeline, Timeline):
            raise InvalidArgument.bad_value("timeline", timeline, "a Timeline port or None")
        check_positive_seconds("replay_window_s", replay_window_s, expected="seconds > 0")
        self._registry = registry
        self._kv = kv
        self._timeline = timeline
        self.replay_window_s = float(replay_window_s)
        self._counts = dict.fromkeys(AuthStatistics.__dataclass_fields__, 0)

    @property
    def registry(self) -> AppRegistry:
        """The app registry this verifier reads secrets from."""
        return self._registry

    def _reject(self, reason: str, message: str) -> Unauthorized:
        self._counts[reason] += 1
        return Unauthorized(message)

    def check(self, request: SignedRequest, now: float) -> Caller:
        """Verify everything except the nonce's freshness; writes nothing.

        Raises
        ------
        Unauthorized
            Missing or malformed headers, an unknown app key, a timestamp outside the
            replay window, or a signature that does not match.
        """
        check_instant("now", now, "a finite time in seconds")
        if not isinstance(request, SignedRequest):
            raise self._reject("malformed", f"expected a SignedRequest, got {request!r}")
        values = {}
        for name in (HEADER_APP_KEY, HEADER_TIMESTAMP, HEADER_NONCE, HEADER_SIGNATURE):
            value = request.header(name)
            if not isinstance(value, str) or not value:
                raise self._reject("malformed", f"missing header {name}")
            values[name] = value
        app_key, ts_text = values[HEADER_APP_KEY], values[HEADER_TIMESTAMP]
        nonce, given = values[HEADER_NONCE], values[HEADER_SIGNATURE]
        if not _TIMESTAMP.fullmatch(ts_text):
            raise self._reject(
                "malformed",
                f"malformed {HEADER_TIMESTAMP} {ts_text!r}: expected whole Unix seconds",
            )
        if not _NONCE.fullmatch(nonce):
            raise self._reject(
                "malformed",
                f"malformed {HEADER_NONCE} {nonce!r}: expected 8..64 characters of A-Z a-z 0-9 _ -",
            )
        app = self._registry.get(app_key)
        if app is None:
            raise self._reject("unknown_key", f"unknown app key {app_key!r}")
        timestamp = int(ts_text)
        skew = float(now) - timestamp
        if abs(skew) > self.replay_window_s:
            when = "old" if skew > 0 else "in the future"
            raise self._reject(
                "stale",
                f"request timestamp {timestamp} is {abs(skew):.0f} s {when}: expected within "
                f"{self.replay_window_s:.0f} s of now (replay window)",
            )
        canonical = canonical_string(request.method, request.path, ts_text, nonce, request.body)
        expected = _hmac_hex(app.secret, canonical)
        if not hmac.compare_digest(expected.encode(), given.encode("utf-8")):
            raise self._reject(
                "bad_signature",
                f"bad signature for app {app_key!r}: the body, path, method, timestamp or "
                "nonce was altered, or the wrong secret was used",
            )
        return Caller(app_key=app_key, app_name=app.name, timestamp=timestamp, nonce=nonce)

    def claim_nonce(self, caller: Caller, now: float) -> None:
        """Mark the caller's nonce used (``SET NX``); the one write of authentication.

        Raises
        ------
        Unauthorized
            If the nonce was already used by this app inside the window.
        """
        now = check_instant("now", now, "a finite time in seconds")
        if not isinstance(caller, Caller):
            raise InvalidArgument.bad_value("caller", caller, "a Caller from check()")
        key = f"nonce:{{{caller.app_key}}}:{caller.nonce}"
        if not self._kv.set(key, str(caller.timestamp), if_absent=True):
            raise self._reject(
                "replayed",
                f"replayed nonce {caller.nonce!r} for app {caller.app_key!r}: "
                "each signed request may be used once",
            )
        self._counts["verified"] += 1
        if self._timeline is not None:
            index = f"nonces:{{{caller.app_key}}}"
            self._timeline.add(index, {caller.nonce: float(caller.timestamp)})
            horizon = float(now) - 2 * self.replay_window_s
            expired = self._timeline.range_by_score(
                index, float("-inf"), horizon, limit=NONCE_PRUNE_BATCH
            )
            if expired:
                names = [n for n, _ in expired]
                self._kv.delete(*(f"nonce:{{{caller.app_key}}}:{n}" for n in names))
                self._timeline.remove(index, *names)

    def verify(self, request: SignedRequest, now: float) -> Caller:
        """:meth:`check`, then :meth:`claim_nonce`: the whole authentication.

        Raises
        ------
        Unauthorized
            For an unknown key, a bad signature, a timestamp outside the window, a replayed
            nonce or missing headers; the message says which.
        """
        caller = self.check(request, now)
        self.claim_nonce(caller, now)
        return caller

    def statistics(self) -> AuthStatistics:
        return AuthStatistics(**self._counts)

    def __repr__(self) -> str:
        return f"RequestVerifier(replay_window_s={self.replay_window_s})"
