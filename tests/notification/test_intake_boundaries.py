"""Every public intake entry point answers bad input with a typed error, before any write.

Lone surrogates (``"\\ud800"``) are Python strings without UTF-8 bytes: the memory backend
would store them and Redis would refuse them, so the lab refuses them at the boundary and
every backend behaves the same. Huge integers, ``None`` and ``bytes`` fields get the same
treatment.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from reference.core.clock import FakeClock
from reference.core.errors import InvalidArgument, LabError
from reference.notification.api import API_PATH
from reference.notification.auth import HEADER_NONCE, HEADER_SIGNATURE, SignedRequest, sign
from reference.notification.model import Category, Channel, NotificationRequest
from reference.notification.settings import Preferences, decide
from reference.notification.templates import TemplateStore, render_template
from reference.notification.validation import encode_request
from reference.storage import Store
from tests.notification.test_api import EMAIL, SMS, World, build_world, signed_raw

LONE = "\ud800"  # a lone surrogate: a str, but no UTF-8 bytes exist for it
HUGE = 10**400


@pytest.fixture
def world(store: Store, clock: FakeClock) -> World:
    return build_world(store, clock)


def everything(world: World) -> tuple[object, ...]:
    """What a submit may write (the world's snapshot), plus the templates' versions."""
    return (world.snapshot(), world.api.templates.latest_version("welcome"))


# ── the signed request: headers, body, None and bytes fields ────────────────────────────


SIGNED_TAMPERS: dict[str, Any] = {
    "surrogate in a header": lambda s: dataclasses.replace(
        s, headers={**s.headers, HEADER_SIGNATURE: LONE * 64}),
    "surrogate in a header name": lambda s: dataclasses.replace(
        s, headers={**s.headers, f"X-{LONE}": "1"}),
    "surrogate in the body": lambda s: dataclasses.replace(s, body=s.body + LONE),
    "surrogate in the path": lambda s: dataclasses.replace(s, path=API_PATH + LONE),
    "None body": lambda s: dataclasses.replace(s, body=None),
    "bytes body": lambda s: dataclasses.replace(s, body=s.body.encode()),
    "None headers": lambda s: dataclasses.replace(s, headers=None),
    "bytes header value": lambda s: dataclasses.replace(
        s, headers={**s.headers, HEADER_NONCE: s.headers[HEADER_NONCE].encode()}),
    "None method": lambda s: dataclasses.replace(s, method=None),
    "bytes path": lambda s: dataclasses.replace(s, path=API_PATH.encode()),
}


@pytest.mark.parametrize("case", sorted(SIGNED_TAMPERS))
def test_a_malformed_signed_request_is_refused_with_a_typed_error_and_nothing_written(
    world: World, case: str,
) -> None:
    signed = world.client.sign(world.request(channels=(EMAIL,)))
    before = everything(world)
    with pytest.raises(InvalidArgument):  # refused as it is built: it never reaches submit
        world.api.submit(SIGNED_TAMPERS[case](signed))
    assert everything(world) == before
    assert world.api.submit(signed).entries[0].status.value == "queued"  # the nonce is unspent


def test_an_object_posing_as_a_signed_request_is_still_refused_as_malformed(
    world: World,
) -> None:
    before = everything(world)
    with pytest.raises(LabError, match="expected a SignedRequest"):
        world.api.submit({"body": None})  # type: ignore[arg-type]
    assert everything(world) == before


@pytest.mark.parametrize("field", ["method", "path", "body"])
def test_a_signed_request_cannot_be_built_with_a_field_that_is_not_text(field: str) -> None:
    fields: dict[str, object] = {"method": "POST", "path": API_PATH, "headers": {}, "body": ""}
    for bad in (None, b"x", LONE):
        with pytest.raises(InvalidArgument, match=f"{field}="):
            SignedRequest(**{**fields, field: bad})  # type: ignore[arg-type]


def test_sign_refuses_a_body_with_a_lone_surrogate() -> None:
    with pytest.raises(InvalidArgument, match="body="):
        sign(app_key="ak_0", app_secret="s", method="POST", path=API_PATH,
             body='{"x": "' + LONE + '"}', timestamp=1_000.0, nonce="nonce-0001")


def test_sign_refuses_a_timestamp_too_large_for_the_header() -> None:
    for timestamp in (HUGE, 10**12, float("inf")):
        with pytest.raises(InvalidArgument, match="timestamp="):
            sign(app_key="ak_0", app_secret="s", method="POST", path=API_PATH, body="",
                 timestamp=timestamp, nonce="nonce-0001")


def test_the_verifier_refuses_a_huge_now_with_a_typed_error(world: World) -> None:
    signed = world.client.sign(world.request())
    with pytest.raises(InvalidArgument, match="now="):
        world.api.verifier.check(signed, HUGE)


# ── the request: variables, None and bytes fields ───────────────────────────────────────


BAD_REQUESTS: dict[str, dict[str, object]] = {
    "surrogate in a variable": {"variables": {"name": LONE}},
    "surrogate inside a longer variable": {"variables": {"name": "Ada " + LONE + "!"}},
    "huge int variable": {"variables": {"name": HUGE}},
    "int variable beyond JSON's exact range": {"variables": {"name": 2**53}},
    "negative huge int variable": {"variables": {"name": -HUGE}},
    "None event id": {"event_id": None},
    "bytes event id": {"event_id": b"evt-1"},
    "None user id": {"user_id": None},
    "bytes template": {"template": b"welcome"},
    "None variables": {"variables": None},
    "None variable value": {"variables": {"name": None}},
    "bytes variable value": {"variables": {"name": b"Ada"}},
    "None channels": {"channels": None},
    "bytes channel": {"channels": (b"sms",)},
    "None category": {"category": None},
    "None critical": {"critical": None},
}


@pytest.mark.parametrize("case", sorted(BAD_REQUESTS))
def test_a_request_with_a_bad_field_is_refused_by_the_client_before_anything_is_written(
    world: World, case: str,
) -> None:
    before = everything(world)
    with pytest.raises(InvalidArgument):
        world.client.send(world.request(**BAD_REQUESTS[case]))
    assert everything(world) == before


@pytest.mark.parametrize("value", [LONE, "x" + LONE, HUGE, 2**53, -(2**53)],
                         ids=["surrogate", "surrogate inside", "10**400", "2**53", "-2**53"])
def test_a_raw_body_whose_variable_is_unusable_is_refused_by_the_api(
    world: World, value: object,
) -> None:
    before = everything(world)
    signed = signed_raw(world, variables={"name": value})  # json escapes it: ASCII on the wire
    with pytest.raises(InvalidArgument, match="variables"):
        world.api.submit(signed)
    assert everything(world) == before


def test_the_largest_exact_json_integer_is_still_a_valid_variable(world: World) -> None:
    receipt = world.client.send(world.request(variables={"name": 2**53 - 1}, channels=(EMAIL,)))
    assert [j.body for j in world.jobs(EMAIL)] == [f"Hi {2**53 - 1}!"]
    assert len(receipt.entries) == 1


def test_encode_request_refuses_a_huge_int_before_json_would_fail() -> None:
    with pytest.raises(InvalidArgument, match="variables"):
        encode_request(NotificationRequest("evt-1", "u1", "t", {"n": 10**5000}))


def test_rendering_refuses_a_variable_it_could_not_send(store: Store) -> None:
    templates = TemplateStore(store.kv)
    templates.publish("hi", title="", body="Hi ${who}", channels=[Channel.SMS])
    template = templates.get("hi")
    for value in (LONE, 10**5000):
        with pytest.raises(InvalidArgument, match="who"):
            render_template(template, {"who": value})


# ── templates ───────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("part", ["title", "body"])
def test_a_template_with_a_lone_surrogate_is_refused_at_publish_on_every_backend(
    world: World, part: str,
) -> None:
    text = {"title": "Hello", "body": "Hi ${name}", part: "Oops " + LONE}
    with pytest.raises(InvalidArgument, match=f"{part}="):
        world.api.templates.publish("broken", channels=[EMAIL], **text)
    assert world.api.templates.latest_version("broken") == 0
    world.client.send(world.request(event_id="evt-2", channels=(EMAIL,)))  # later sends work


# ── the settings decision ───────────────────────────────────────────────────────────────


def test_decide_refuses_a_huge_now_with_a_typed_error() -> None:
    with pytest.raises(InvalidArgument, match="now="):
        decide(Preferences(), channel=Channel.SMS, category=Category.SOCIAL, critical=False,
               now=HUGE)


def test_json_of_a_surrogate_stays_ascii_so_only_the_check_can_catch_it() -> None:
    assert json.dumps({"v": LONE}).isascii()  # why a signed raw body carries it unnoticed


def test_an_sms_request_still_works_after_every_refusal(world: World) -> None:
    for case in sorted(BAD_REQUESTS):
        with pytest.raises(InvalidArgument):
            world.client.send(world.request(**BAD_REQUESTS[case]))
    receipt = world.client.send(world.request(channels=(SMS,)))
    assert [e.address for e in receipt.entries] == ["+14155550100"]


def test_a_template_version_too_large_to_name_is_refused(world: World) -> None:
    for version in (HUGE, 10**5000):
        with pytest.raises(InvalidArgument, match="version="):
            world.api.templates.get("welcome", version)


def test_event_grants_refuse_a_window_they_could_not_measure(store: Store) -> None:
    from reference.notification.api import EventGrants

    for window_s in (0, 1e-9, HUGE, float("inf"), True):
        with pytest.raises(InvalidArgument, match="window_s="):
            EventGrants(store.kv, window_s=window_s)
