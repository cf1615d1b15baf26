"""Validation: request fields, per-channel required content, payload limits in real bytes."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reference.core.errors import InvalidArgument, PayloadTooLarge
from reference.notification.model import (
    APNS_PAYLOAD_LIMIT_BYTES,
    EMAIL_BODY_LIMIT_BYTES,
    FCM_PAYLOAD_LIMIT_BYTES,
    SMS_BODY_LIMIT_CHARS,
    Category,
    Channel,
    NotificationRequest,
)
from reference.notification.templates import Template
from reference.notification.validation import (
    MAX_REQUEST_BODY_BYTES,
    MessageTooLong,
    check_address,
    check_content,
    check_message,
    encode_request,
    parse_request,
    provider_payload,
    require_template_channels,
    validate_request,
)

VALID = {"event_id": "evt-1", "user_id": "u1", "template": "welcome"}


def body(**fields: object) -> str:
    return json.dumps({**VALID, **fields})


# ── the request ─────────────────────────────────────────────────────────────────────────


def test_a_minimal_request_gets_the_documented_defaults() -> None:
    assert parse_request(json.dumps(VALID)) == NotificationRequest(
        "evt-1",
        "u1",
        "welcome",
        {},
        (Channel.IOS_PUSH, Channel.ANDROID_PUSH, Channel.EMAIL),
        Category.TRANSACTIONAL,
        False,
    )


def test_a_full_request_is_parsed_into_typed_fields() -> None:
    request = parse_request(
        body(
            variables={"name": "Ada", "n": 3},
            channels=["sms", "email"],
            category="security",
            critical=True,
        )
    )
    assert request.channels == (Channel.SMS, Channel.EMAIL)
    assert request.category is Category.SECURITY and request.critical is True
    assert dict(request.variables) == {"name": "Ada", "n": 3}


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("not json", "not valid JSON"),
        ("[1, 2]", "a JSON object"),
        (json.dumps({"user_id": "u1"}), r"missing required fields \['event_id', 'template'\]"),
        (body(critcal=True), r"unknown fields \['critcal'\]"),
        (body(channels=["fax"]), "channel='fax'"),
        (body(channels=[]), "channels="),
        (body(channels=["sms", "sms"]), "channels="),
        (body(channels="sms"), "channels="),
        (body(category="spam"), "category='spam'"),
        (body(critical="true"), "critical='true'"),
        (body(event_id="a|b"), "event_id="),
        (body(event_id=""), "event_id="),
        (body(user_id="u{1}"), "user_id="),
        (body(user_id=42), "user_id="),
        (body(template="Welcome Mail"), "template="),
        (body(variables=[1]), "variables="),
        (body(variables={"a": None}), r"variables\['a'\]"),
        (body(variables={"a": {"nested": 1}}), r"variables\['a'\]"),
        (body(variables={"not-an-identifier": 1}), "variable name"),
        (body(variables={f"v{i}": i for i in range(65)}), "at most 64"),
    ],
)
def test_a_malformed_request_is_rejected_naming_the_problem(text: str, match: str) -> None:
    with pytest.raises(InvalidArgument, match=match):
        parse_request(text)


def test_a_request_body_over_the_limit_is_payload_too_large() -> None:
    big = body(variables={"blob": "x" * MAX_REQUEST_BODY_BYTES})
    with pytest.raises(PayloadTooLarge, match=f"expected at most {MAX_REQUEST_BODY_BYTES}"):
        parse_request(big)


def test_a_nan_variable_is_rejected() -> None:
    with pytest.raises(InvalidArgument, match="finite"):
        validate_request(NotificationRequest("e1", "u1", "t", {"x": float("nan")}))


requests = st.builds(
    NotificationRequest,
    event_id=st.from_regex(r"[A-Za-z0-9_:.\-]{1,20}", fullmatch=True),
    user_id=st.from_regex(r"[A-Za-z0-9_]{1,12}", fullmatch=True),
    template=st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True),
    variables=st.dictionaries(
        st.from_regex(r"[a-z_][a-z0-9_]{0,6}", fullmatch=True),
        st.text(max_size=10) | st.integers(-(10**6), 10**6) | st.booleans(),
        max_size=5,
    ),
    channels=st.lists(st.sampled_from(list(Channel)), min_size=1, max_size=4, unique=True).map(
        tuple
    ),
    category=st.sampled_from(list(Category)),
    critical=st.booleans(),
)


@settings(max_examples=100, deadline=None)
@given(request=requests)
def test_encode_then_parse_returns_the_same_request(request: NotificationRequest) -> None:
    assert parse_request(encode_request(request)) == request


# ── content per channel ─────────────────────────────────────────────────────────────────


def _ios_size(body: str) -> int:
    payload = provider_payload(Channel.IOS_PUSH, "t", "T", body)
    return len(json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode())


def test_apns_limit_is_measured_in_bytes_of_the_json_payload() -> None:
    overhead = _ios_size("")
    exact = "x" * (APNS_PAYLOAD_LIMIT_BYTES - overhead)
    assert check_content(Channel.IOS_PUSH, "T", exact) == APNS_PAYLOAD_LIMIT_BYTES
    with pytest.raises(PayloadTooLarge, match="ios push payload is 4097 bytes") as err:
        check_content(Channel.IOS_PUSH, "T", exact + "x")
    assert (err.value.size_bytes, err.value.limit_bytes) == (4097, 4096)


def test_korean_text_that_looks_short_can_exceed_the_apns_limit() -> None:
    text = "알림" * 700  # 1,400 characters, 4,200 bytes in UTF-8
    assert len(text) < APNS_PAYLOAD_LIMIT_BYTES
    with pytest.raises(PayloadTooLarge):
        check_content(Channel.IOS_PUSH, "제목", text)


def test_json_escaping_counts_towards_the_push_limit() -> None:
    quotes = '"' * 2100  # each quote is escaped to two bytes
    with pytest.raises(PayloadTooLarge):
        check_content(Channel.ANDROID_PUSH, "T", quotes)


def test_fcm_counts_the_notification_object_not_the_token() -> None:
    size = check_content(Channel.ANDROID_PUSH, "T", "x" * 4000)
    assert size <= FCM_PAYLOAD_LIMIT_BYTES
    assert check_message(Channel.ANDROID_PUSH, "t" * 3000, "T", "x" * 4000) == size


def test_an_sms_body_is_limited_in_characters_not_bytes() -> None:
    assert check_content(Channel.SMS, "", "가" * SMS_BODY_LIMIT_CHARS) == 3 * SMS_BODY_LIMIT_CHARS
    with pytest.raises(MessageTooLong, match="1601 characters") as err:
        check_content(Channel.SMS, "", "a" * (SMS_BODY_LIMIT_CHARS + 1))
    assert isinstance(err.value, PayloadTooLarge)


def test_an_email_body_over_the_clipping_limit_is_too_large() -> None:
    assert check_content(Channel.EMAIL, "S", "x" * EMAIL_BODY_LIMIT_BYTES) == EMAIL_BODY_LIMIT_BYTES
    with pytest.raises(PayloadTooLarge, match="email body"):
        check_content(Channel.EMAIL, "S", "x" * (EMAIL_BODY_LIMIT_BYTES + 1))


@pytest.mark.parametrize(
    ("channel", "title", "body", "match"),
    [
        (Channel.IOS_PUSH, "", "body", "push title"),
        (Channel.ANDROID_PUSH, "  ", "body", "push title"),
        (Channel.IOS_PUSH, "T", "", "ios body"),
        (Channel.SMS, "", " ", "sms body"),
        (Channel.EMAIL, "", "body", "subject"),
        (Channel.EMAIL, "s" * 999, "body", "subject"),
    ],
)
def test_required_content_per_channel(channel: Channel, title: str, body: str, match: str) -> None:
    with pytest.raises(InvalidArgument, match=match):
        check_content(channel, title, body)


def test_an_sms_needs_no_title() -> None:
    assert check_content(Channel.SMS, "", "Your code is 123456") == 19


@pytest.mark.parametrize(
    ("channel", "good", "bad"),
    [
        (Channel.IOS_PUSH, "a1b2c3", "has space"),
        (Channel.ANDROID_PUSH, "fcm:APA91b_x-y", ""),
        (Channel.SMS, "+14155550100", "4155550100"),
        (Channel.EMAIL, "ada@example.com", "ada"),
    ],
)
def test_each_channel_requires_its_kind_of_address(channel: Channel, good: str, bad: str) -> None:
    assert check_address(channel, good) == good
    with pytest.raises(InvalidArgument):
        check_address(channel, bad)
    with pytest.raises(InvalidArgument):
        check_message(channel, bad, "T", "B")


def test_provider_payloads_have_each_providers_shape() -> None:
    assert provider_payload(Channel.ANDROID_PUSH, "tok", "T", "B") == {
        "message": {"token": "tok", "notification": {"title": "T", "body": "B"}}
    }
    assert provider_payload(Channel.SMS, "+1555", "", "B") == {"to": "+1555", "body": "B"}
    assert provider_payload(Channel.EMAIL, "a@b.c", "S", "B") == {
        "to": "a@b.c",
        "subject": "S",
        "body": "B",
    }


def test_a_template_must_cover_every_requested_channel() -> None:
    template = Template("otp", 2, "", "Code ${c}", (Channel.SMS,), frozenset({"c"}))
    require_template_channels(template, (Channel.SMS,))
    with pytest.raises(InvalidArgument, match=r"'otp' v2 has no variant for channels \['ios'\]"):
        require_template_channels(template, (Channel.SMS, Channel.IOS_PUSH))
