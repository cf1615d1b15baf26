"""The calling service's side of the Notification API: sign requests, send them.

A service holds an app key and secret (from :meth:`~.auth.AppRegistry.create_app`); every
call is a JSON body signed with HMAC-SHA256 over the method, path, timestamp, nonce and body
(:func:`~.auth.sign`). :meth:`NotificationClient.send` makes one call per request;
:meth:`NotificationClient.send_batch` puts up to
:data:`~reference.notification.validation.MAX_BATCH_REQUESTS` requests under one signature.
In the lab the "network" is a method call on a :class:`~.api.NotificationAPI` in the same
process.

Examples
--------
>>> from random import Random
>>> from reference.core.clock import FakeClock
>>> from reference.notification.system import NotificationSystem
>>> from reference.storage import connect
>>> clock = FakeClock(start=1_767_225_600.0)                  # 2026-01-01 00:00 UTC
>>> system = NotificationSystem.create(connect("memory", clock=clock), seed=1)
>>> key, secret = system.registry.create_app("billing", Random(3))
>>> client = NotificationClient(system.api, app_key=key, app_secret=secret, clock=clock,
...                             rng=Random(4))
>>> signed = client.sign(NotificationRequest("evt-1", "u1", "invoice"))
>>> signed.method, signed.path, sorted(signed.headers)
('POST', '/v1/notifications', ['X-App-Key', 'X-Nonce', 'X-Signature', 'X-Timestamp'])
"""

from __future__ import annotations

from collections.abc import Sequence
from random import Random

from reference.core.clock import Clock
from reference.core.errors import InvalidArgument
from reference.notification.api import API_PATH, BATCH_API_PATH, NotificationAPI, Receipt
from reference.notification.auth import SignedRequest, new_nonce, sign
from reference.notification.model import NotificationRequest
from reference.notification.validation import encode_batch, encode_request

__all__ = ["NotificationClient"]


class NotificationClient:
    """What a calling service uses: ``client.send(request)`` signs and submits it.

    Parameters
    ----------
    api : NotificationAPI
        The API to call (in-process: there is no network in the lab).
    app_key, app_secret : str
        The credentials :meth:`~.auth.AppRegistry.create_app` returned.
    clock : Clock
        Stamps each request.
    rng : Random
        Draws each request's nonce (seeded, for reproducible runs).
    """

    __slots__ = ("_api", "_clock", "_rng", "app_key", "app_secret")

    def __init__(
        self,
        api: NotificationAPI,
        *,
        app_key: str,
        app_secret: str,
        clock: Clock,
        rng: Random,
    ) -> None:
        if not isinstance(api, NotificationAPI):
            raise InvalidArgument.bad_value("api", api, "a NotificationAPI")
        if not isinstance(rng, Random):
            raise InvalidArgument.bad_value("rng", rng, "a Random (seeded)")
        self._api = api
        self._clock = clock
        self._rng = rng
        self.app_key = app_key
        self.app_secret = app_secret

    def sign(self, request: NotificationRequest) -> SignedRequest:
        """The signed request ``send`` would submit (to inspect, tamper with or replay)."""
        return self._signed(API_PATH, encode_request(request))

    def sign_batch(self, requests: Sequence[NotificationRequest]) -> SignedRequest:
        """The signed batch call ``send_batch`` would submit: one signature for all."""
        return self._signed(BATCH_API_PATH, encode_batch(requests))

    def _signed(self, path: str, body: str) -> SignedRequest:
        return sign(
            app_key=self.app_key,
            app_secret=self.app_secret,
            method="POST",
            path=path,
            body=body,
            timestamp=self._clock.now(),
            nonce=new_nonce(self._rng),
        )

    def send(self, request: NotificationRequest) -> Receipt:
        """Sign ``request`` and submit it; the API's errors propagate unchanged."""
        return self._api.submit(self.sign(request))

    def send_batch(self, requests: Sequence[NotificationRequest]) -> tuple[Receipt, ...]:
        """Sign ``requests`` as one batch call and submit it (all or nothing).

        Examples
        --------
        >>> from reference.core.clock import FakeClock
        >>> from reference.notification.system import NotificationSystem
        >>> from reference.storage import connect
        >>> clock = FakeClock(start=1_767_225_600.0)                  # 2026-01-01 00:00 UTC
        >>> system = NotificationSystem.create(connect("memory", clock=clock), seed=1)
        >>> for user in ("u1", "u2"):
        ...     _ = system.register_user(user, email=f"{user}@example.com")
        >>> system.publish_template("news", title="News", body="Hello ${name}")
        1
        >>> receipts = system.client().send_batch([
        ...     NotificationRequest(f"evt-{u}", u, "news", {"name": u}, channels=("email",))
        ...     for u in ("u1", "u2")])
        >>> [(r.user_id, r.entries[0].status.value) for r in receipts]
        [('u1', 'queued'), ('u2', 'queued')]
        """
        return self._api.submit_batch(self.sign_batch(requests))

    def __repr__(self) -> str:
        return f"NotificationClient(app_key={self.app_key!r})"
