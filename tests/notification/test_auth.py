"""Authentication: HMAC over the canonical request, replay window, nonces shared by instances."""

from __future__ import annotations

import dataclasses
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reference.core.clock import FakeClock
from reference.core.errors import Conflict, InvalidArgument, Unauthorized
from reference.notification.auth import (
    HEADER_APP_KEY,
    HEADER_NONCE,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    AppCredentials,
    AppRegistry,
    AuthStatistics,
    Caller,
    RequestVerifier,
    SignedRequest,
    canonical_string,
    new_nonce,
    sign,
)
from reference.notification.model import REPLAY_WINDOW_S
from reference.storage import Store, connect

NOW = 1_767_225_600.0
BODY = '{"event_id": "evt-1", "user_id": "u1", "template": "welcome"}'


@pytest.fixture
def registry(store: Store) -> AppRegistry:
    return AppRegistry(store.kv)


@pytest.fixture
def creds(registry: AppRegistry) -> AppCredentials:
    return registry.create_app("billing", random.Random(1))


@pytest.fixture
def verifier(registry: AppRegistry, store: Store) -> RequestVerifier:
    return RequestVerifier(registry, store.kv, store.timeline)


def signed(
    creds: AppCredentials,
    *,
    body: str = BODY,
    ts: float = NOW,
    nonce: str = "nonce-001",
    path: str = "/v1/notifications",
    method: str = "POST",
) -> SignedRequest:
    return sign(
        app_key=creds.app_key,
        app_secret=creds.app_secret,
        method=method,
        path=path,
        body=body,
        timestamp=ts,
        nonce=nonce,
    )


def with_header(request: SignedRequest, name: str, value: str | None) -> SignedRequest:
    headers = {k: v for k, v in request.headers.items() if k != name}
    if value is not None:
        headers[name] = value
    return dataclasses.replace(request, headers=headers)


def test_a_correctly_signed_request_is_verified_and_names_its_app(
    verifier: RequestVerifier, creds: AppCredentials
) -> None:
    caller = verifier.verify(signed(creds), now=NOW + 1)
    assert (caller.app_key, caller.app_name, caller.nonce) == (
        creds.app_key,
        "billing",
        "nonce-001",
    )
    assert verifier.statistics() == AuthStatistics(1, 0, 0, 0, 0, 0)


def test_create_app_is_deterministic_for_a_seed_and_distinct_across_apps(
    store: Store,
) -> None:
    one = AppRegistry(store.kv).create_app("a", random.Random(5))
    other_store = connect("memory", clock=FakeClock())
    assert AppRegistry(other_store.kv).create_app("a", random.Random(5)) == one
    two = AppRegistry(store.kv).create_app("b", random.Random(6))
    assert one.app_key != two.app_key and one.app_secret != two.app_secret
    assert one.app_key.startswith("ak_") and len(one.app_secret) == 64


def test_the_same_seed_twice_on_one_store_is_a_conflict(registry: AppRegistry) -> None:
    registry.create_app("a", random.Random(5))
    with pytest.raises(Conflict, match="fresh rng"):
        registry.create_app("b", random.Random(5))


def test_the_secret_never_appears_in_an_apps_repr(
    registry: AppRegistry, creds: AppCredentials
) -> None:
    app = registry.get(creds.app_key)
    assert app is not None and app.secret == creds.app_secret
    assert creds.app_secret not in repr(app)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda r: dataclasses.replace(r, body=r.body.replace("u1", "u2")),
        lambda r: dataclasses.replace(r, path="/v1/admin"),
        lambda r: dataclasses.replace(r, method="PUT"),
        lambda r: with_header(r, HEADER_NONCE, "nonce-002"),
        lambda r: with_header(r, HEADER_TIMESTAMP, str(int(NOW) + 1)),
        lambda r: with_header(r, HEADER_SIGNATURE, "0" * 64),
    ],
    ids=["body", "path", "method", "nonce", "timestamp", "signature"],
)
def test_any_tampering_breaks_the_signature(
    verifier: RequestVerifier, creds: AppCredentials, tamper: object
) -> None:
    with pytest.raises(Unauthorized, match="bad signature"):
        verifier.verify(tamper(signed(creds)), now=NOW)  # type: ignore[operator]
    assert verifier.statistics().bad_signature == 1


def test_a_request_signed_with_the_wrong_secret_is_rejected(
    verifier: RequestVerifier, creds: AppCredentials
) -> None:
    forged = sign(
        app_key=creds.app_key,
        app_secret="f" * 64,
        method="POST",
        path="/v1/notifications",
        body=BODY,
        timestamp=NOW,
        nonce="nonce-001",
    )
    with pytest.raises(Unauthorized, match="bad signature"):
        verifier.verify(forged, now=NOW)


def test_an_unknown_or_revoked_app_key_is_rejected(
    verifier: RequestVerifier, registry: AppRegistry, creds: AppCredentials
) -> None:
    unknown = creds._replace(app_key="ak_0000000000000000")
    with pytest.raises(Unauthorized, match="unknown app key 'ak_0000000000000000'"):
        verifier.verify(signed(unknown), now=NOW)
    assert registry.revoke(creds.app_key) is True
    assert registry.revoke(creds.app_key) is False
    with pytest.raises(Unauthorized, match="unknown app key"):
        verifier.verify(signed(creds), now=NOW)
    assert verifier.statistics().unknown_key == 2


@pytest.mark.parametrize(
    ("skew", "word"), [(REPLAY_WINDOW_S + 1, "old"), (-(REPLAY_WINDOW_S + 1), "in the future")]
)
def test_a_timestamp_outside_the_replay_window_is_rejected_either_way(
    verifier: RequestVerifier, creds: AppCredentials, skew: float, word: str
) -> None:
    with pytest.raises(Unauthorized, match=f"301 s {word}: expected within 300 s"):
        verifier.verify(signed(creds), now=NOW + skew)
    assert verifier.statistics().stale == 1


def test_the_window_edges_are_inclusive(verifier: RequestVerifier, creds: AppCredentials) -> None:
    old = verifier.verify(signed(creds, nonce="nonce-old"), now=NOW + REPLAY_WINDOW_S)
    new = verifier.verify(signed(creds, nonce="nonce-new"), now=NOW - REPLAY_WINDOW_S)
    assert (old, new) == (
        Caller(creds.app_key, "billing", int(NOW), "nonce-old"),
        Caller(creds.app_key, "billing", int(NOW), "nonce-new"),
    )
    assert verifier.statistics() == AuthStatistics(2, 0, 0, 0, 0, 0)


def test_a_replayed_request_is_rejected(verifier: RequestVerifier, creds: AppCredentials) -> None:
    request = signed(creds)
    verifier.verify(request, now=NOW)
    with pytest.raises(Unauthorized, match="replayed nonce 'nonce-001'"):
        verifier.verify(request, now=NOW + 5)
    assert verifier.statistics() == AuthStatistics(1, 0, 0, 0, 0, 1)


def test_a_replay_sent_to_another_stateless_instance_is_caught_through_the_shared_store(
    store: Store, creds: AppCredentials
) -> None:
    instance_a = RequestVerifier(AppRegistry(store.kv), store.kv, store.timeline)
    instance_b = RequestVerifier(AppRegistry(store.kv), store.kv, store.timeline)
    request = signed(creds)
    instance_a.verify(request, now=NOW)
    with pytest.raises(Unauthorized, match="replayed"):
        instance_b.verify(request, now=NOW + 1)


def test_nonces_are_per_app(
    store: Store, registry: AppRegistry, verifier: RequestVerifier, creds: AppCredentials
) -> None:
    other = registry.create_app("shipping", random.Random(2))
    billing = verifier.verify(signed(creds, nonce="same-nonce"), now=NOW)
    shipping = verifier.verify(signed(other, nonce="same-nonce"), now=NOW)
    assert (billing, shipping) == (
        Caller(creds.app_key, "billing", int(NOW), "same-nonce"),
        Caller(other.app_key, "shipping", int(NOW), "same-nonce"),
    )
    assert other.app_key != creds.app_key
    assert verifier.statistics() == AuthStatistics(2, 0, 0, 0, 0, 0)


def test_check_writes_nothing_so_the_nonce_is_still_usable(
    verifier: RequestVerifier, creds: AppCredentials
) -> None:
    request = signed(creds)
    caller = verifier.check(request, now=NOW)
    assert verifier.check(request, now=NOW) == caller
    verifier.claim_nonce(caller, now=NOW)
    with pytest.raises(Unauthorized, match="replayed"):
        verifier.claim_nonce(caller, now=NOW)


def test_a_forged_request_does_not_burn_the_real_clients_nonce(
    verifier: RequestVerifier, creds: AppCredentials
) -> None:
    forged = dataclasses.replace(signed(creds, nonce="nonce-777"), body='{"evil": true}')
    with pytest.raises(Unauthorized, match="bad signature"):
        verifier.verify(forged, now=NOW)
    verifier.verify(signed(creds, nonce="nonce-777"), now=NOW)


def test_old_nonces_are_forgotten_after_two_windows_and_stay_rejected_by_time(
    store: Store, verifier: RequestVerifier, creds: AppCredentials
) -> None:
    old = signed(creds, nonce="nonce-old")
    verifier.verify(old, now=NOW)
    later = NOW + 2 * REPLAY_WINDOW_S + 1
    verifier.verify(signed(creds, ts=later, nonce="nonce-later"), now=later)
    assert store.kv.get(f"nonce:{{{creds.app_key}}}:nonce-old") is None
    assert store.timeline.size(f"nonces:{{{creds.app_key}}}") == 1
    with pytest.raises(Unauthorized, match="old"):
        verifier.verify(old, now=later)


@pytest.mark.parametrize(
    ("header", "value", "match"),
    [
        (HEADER_APP_KEY, None, "missing header X-App-Key"),
        (HEADER_SIGNATURE, "", "missing header X-Signature"),
        (HEADER_TIMESTAMP, "yesterday", "malformed X-Timestamp"),
        (HEADER_TIMESTAMP, "1.5e9", "malformed X-Timestamp"),
        (HEADER_NONCE, "short", "malformed X-Nonce"),
    ],
)
def test_missing_or_malformed_headers_are_rejected(
    verifier: RequestVerifier, creds: AppCredentials, header: str, value: str | None, match: str
) -> None:
    with pytest.raises(Unauthorized, match=match):
        verifier.verify(with_header(signed(creds), header, value), now=NOW)
    assert verifier.statistics().malformed == 1


def test_header_names_match_case_insensitively(
    verifier: RequestVerifier, creds: AppCredentials
) -> None:
    request = signed(creds)
    lowered = dataclasses.replace(
        request, headers={k.lower(): v for k, v in request.headers.items()}
    )
    assert verifier.verify(lowered, now=NOW).app_name == "billing"


def test_the_canonical_string_covers_method_path_time_nonce_and_body_hash() -> None:
    lines = canonical_string("post", "/p", "12", "nonce-001", "{}").split("\n")
    assert lines[:4] == ["POST", "/p", "12", "nonce-001"]
    assert lines[4] == "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"method": "PO ST"}, "method="),
        ({"path": "v1"}, "path="),
        ({"timestamp": float("nan")}, "timestamp="),
        ({"nonce": "no"}, "nonce="),
        ({"body": b"{}"}, "body="),
    ],
)
def test_sign_rejects_malformed_arguments(kwargs: dict[str, object], match: str) -> None:
    args: dict[str, object] = {
        "app_key": "ak_0",
        "app_secret": "s",
        "method": "POST",
        "path": "/v1",
        "body": "",
        "timestamp": NOW,
        "nonce": "nonce-001",
    }
    args.update(kwargs)
    with pytest.raises(InvalidArgument, match=match):
        sign(**args)  # type: ignore[arg-type]


def test_new_nonce_comes_from_the_injected_rng() -> None:
    assert new_nonce(random.Random(3)) == new_nonce(random.Random(3))
    assert len(new_nonce(random.Random(3))) == 32


def test_create_app_rejects_a_missing_rng_and_bad_names(registry: AppRegistry) -> None:
    with pytest.raises(InvalidArgument, match="rng="):
        registry.create_app("a", None)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="name="):
        registry.create_app("", random.Random(1))


@settings(max_examples=60, deadline=None)
@given(body=st.text(max_size=200), flip=st.integers(0, 199))
def test_changing_any_character_of_the_body_invalidates_the_signature(body: str, flip: int) -> None:
    store = connect("memory", clock=FakeClock(start=NOW))
    registry = AppRegistry(store.kv)
    creds = registry.create_app("svc", random.Random(9))
    verifier = RequestVerifier(registry, store.kv)
    request = signed(creds, body=body)
    verifier.check(request, now=NOW)
    if body:
        i = flip % len(body)
        changed = body[:i] + ("a" if body[i] != "a" else "b") + body[i + 1 :]
        with pytest.raises(Unauthorized, match="bad signature"):
            verifier.check(dataclasses.replace(request, body=changed), now=NOW)
