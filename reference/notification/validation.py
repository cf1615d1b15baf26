"""Validation (요청 검증): a notification request is checked completely before anything moves.

A notification that is malformed fails *somewhere*: better at the API, with a clear error
for the calling service, than in a worker an hour later, as a provider rejection nobody
reads. This module holds the pure checks (no storage, no clock):

- :func:`parse_request` / :func:`validate_request` — the request's own fields: event id,
  user id, template name, variables, known channels, category, critical flag;
- :func:`parse_batch` / :func:`encode_batch` — the body of a batch call: up to
  :data:`MAX_BATCH_REQUESTS` requests under one signature, each checked as above;
- :func:`check_message` — one rendered message for one address on one channel:

  ======= =============================== =============================================
  channel address                         content and limit
  ======= =============================== =============================================
  ios     a device token                  title and body; the APNs JSON <= 4096 bytes
  android a device token                  title and body; FCM notification <= 4096 bytes
  sms     an E.164 phone number           body <= 1600 characters (10 segments)
  email   an email address                subject and body; body <= 102,400 bytes
  ======= =============================== =============================================

Push limits are measured on the JSON the provider would receive (:func:`provider_payload`),
compact and UTF-8 encoded, because that is what APNs and FCM count: a 3,000-character body
of Korean text is ~9 KB, far over the limit, although it "looks" short.

Examples
--------
>>> check_message(Channel.IOS_PUSH, "apns-token-1", "Hi", "Your order shipped")
78
>>> check_message(Channel.IOS_PUSH, "apns-token-1", "Hi", "배송" * 1000)
Traceback (most recent call last):
...
reference.core.errors.PayloadTooLarge: ios push payload is 6060 bytes: expected at most 4096 bytes
>>> check_message(Channel.SMS, "+14155550100", "", "x" * 1601)
Traceback (most recent call last):
...
reference.notification.validation.MessageTooLong: sms body is 1601 characters: expected at \
most 1600 characters (10 segments of 160)
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from reference.core.errors import InvalidArgument, PayloadTooLarge
from reference.notification.contacts import (
    PUSH_CHANNELS,
    validate_device_token,
    validate_email,
    validate_phone,
    validate_user_id,
)
from reference.notification.model import (
    PAYLOAD_LIMIT_BYTES,
    SMS_BODY_LIMIT_CHARS,
    Category,
    Channel,
    NotificationRequest,
)
from reference.notification.templates import (
    Template,
    VariableValue,
    check_variable,
    validate_template_name,
)

__all__ = [
    "MAX_BATCH_BODY_BYTES",
    "MAX_BATCH_REQUESTS",
    "MAX_EMAIL_SUBJECT_CHARS",
    "MAX_EVENT_ID_CHARS",
    "MAX_REQUEST_BODY_BYTES",
    "MAX_VARIABLES",
    "MessageTooLong",
    "batch_items",
    "check_address",
    "check_content",
    "check_message",
    "encode_batch",
    "encode_request",
    "note_request",
    "parse_batch",
    "parse_request",
    "provider_payload",
    "request_from_fields",
    "require_template_channels",
    "validate_event_id",
    "validate_request",
]

MAX_REQUEST_BODY_BYTES = 65_536  # an API request body; templates keep requests small
MAX_BATCH_REQUESTS = 500  # per batch call, as FCM's sendEach allows
MAX_BATCH_BODY_BYTES = 4 * 1_048_576  # a batch call's body
MAX_EVENT_ID_CHARS = 128
MAX_VARIABLES = 64
MAX_EMAIL_SUBJECT_CHARS = 998  # RFC 5322 line length

_EVENT_ID = re.compile(r"[A-Za-z0-9_:.\-]+")  # no '|': it separates the parts of a dedupe key
_CHANNEL_BY_VALUE: Mapping[str, Channel] = {c.value: c for c in Channel}
_CATEGORY_BY_VALUE: Mapping[str, Category] = {c.value: c for c in Category}
_CHANNEL_NAMES = str([c.value for c in Channel])  # "['ios', 'android', 'sms', 'email']"
_CHANNELS_EXPECTED = f"a non-empty list of distinct channels from {_CHANNEL_NAMES}"
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_FIELDS = frozenset(
    {"event_id", "user_id", "template", "variables", "channels", "category", "critical"}
)
_REQUIRED_FIELDS = frozenset({"event_id", "user_id", "template"})
_NO_VARIABLES: Mapping[str, Any] = {}
_DEFAULTS = NotificationRequest("e", "u", "t")
#: what a body that leaves out an optional field means (a request's own defaults)
_DEFAULT_BODY: Mapping[str, Any] = {
    "channels": tuple(c.value for c in _DEFAULTS.channels),
    "category": _DEFAULTS.category.value,
    "critical": _DEFAULTS.critical,
}


class MessageTooLong(PayloadTooLarge):
    """An SMS body over the character limit (a payload limit counted in characters)."""

    def __init__(self, what: str, length_chars: int, limit_chars: int, size_bytes: int) -> None:
        InvalidArgument.__init__(
            self,
            f"{what} is {length_chars} characters: expected at most {limit_chars} characters "
            f"({limit_chars // 160} segments of 160)",
        )
        self.length_chars = length_chars
        self.limit_chars = limit_chars
        self.size_bytes = size_bytes
        self.limit_bytes = PAYLOAD_LIMIT_BYTES[Channel.SMS]


def validate_event_id(event_id: object) -> str:
    """Return ``event_id`` if it is 1..128 characters of letters, digits and ``_:.-``."""
    if (
        not isinstance(event_id, str)
        or len(event_id) > MAX_EVENT_ID_CHARS
        or not _EVENT_ID.fullmatch(event_id)
    ):
        raise InvalidArgument.bad_value(
            "event_id", event_id, f"1..{MAX_EVENT_ID_CHARS} characters of letters, digits, _:.-"
        )
    return event_id


def _variables(variables: object) -> dict[str, VariableValue]:
    if not isinstance(variables, Mapping):
        raise InvalidArgument.bad_value("variables", variables, "a mapping of name -> value")
    if len(variables) > MAX_VARIABLES:
        raise InvalidArgument.bad_value(
            "variables", f"<{len(variables)} entries>", f"at most {MAX_VARIABLES} entries"
        )
    checked: dict[str, VariableValue] = {}
    for name, value in variables.items():
        if not isinstance(name, str) or not _IDENTIFIER.fullmatch(name):
            raise InvalidArgument.bad_value("variable name", name, "an identifier")
        checked[name] = check_variable(name, value)  # the rule rendering applies too
    return checked


def _channels(channels: object) -> tuple[Channel, ...]:
    if isinstance(channels, (str, bytes)) or not isinstance(channels, (list, tuple)):
        raise InvalidArgument.bad_value("channels", channels, _CHANNELS_EXPECTED)
    parsed: list[Channel] = []
    for item in channels:
        if not isinstance(item, str) or item not in _CHANNEL_BY_VALUE:
            raise InvalidArgument.bad_value("channel", item, f"one of {_CHANNEL_NAMES}")
        parsed.append(_CHANNEL_BY_VALUE[item])
    if not parsed or len(set(parsed)) != len(parsed):
        raise InvalidArgument.bad_value("channels", list(channels), _CHANNELS_EXPECTED)
    return tuple(parsed)


def validate_request(request: NotificationRequest) -> NotificationRequest:
    """Check every field of a request; return it normalised (channels as a tuple of Channel).

    Raises
    ------
    InvalidArgument
        Naming the first bad field.

    Examples
    --------
    >>> validate_request(NotificationRequest("evt-1", "u42", "welcome", channels=("sms",)))
    NotificationRequest(event_id='evt-1', user_id='u42', template='welcome', variables={}, \
channels=(<Channel.SMS: 'sms'>,), category=<Category.TRANSACTIONAL: 'transactional'>, \
critical=False)
    >>> validate_request(NotificationRequest("evt-1", "u42", "welcome", channels=("fax",)))
    Traceback (most recent call last):
    ...
    reference.core.errors.InvalidArgument: channel='fax' is invalid: expected one of ['ios', ...
    """
    if not isinstance(request, NotificationRequest):
        raise InvalidArgument.bad_value("request", request, "a NotificationRequest")
    return _validated(request.event_id, request.user_id, request.template, request.variables,
                      request.channels, request.category, request.critical)


def _validated(
    event_id: object,
    user_id: object,
    template: object,
    variables: object,
    channels: object,
    category: object,
    critical: object,
) -> NotificationRequest:
    """One request from its fields, each checked (the first bad one raises)."""
    if not isinstance(category, str) or category not in _CATEGORY_BY_VALUE:
        raise InvalidArgument.bad_value(
            "category", category, f"one of {[c.value for c in Category]}"
        )
    if not isinstance(critical, bool):
        raise InvalidArgument.bad_value("critical", critical, "true or false")
    return NotificationRequest(
        event_id=validate_event_id(event_id),
        user_id=validate_user_id(user_id),
        template=validate_template_name(template),
        variables=_variables(variables),
        channels=_channels(channels),
        category=_CATEGORY_BY_VALUE[category],
        critical=critical,
    )


def _request_fields(request: NotificationRequest) -> dict[str, Any]:
    """The JSON object of one request (validated first)."""
    req = validate_request(request)
    return {
        "event_id": req.event_id,
        "user_id": req.user_id,
        "template": req.template,
        "variables": dict(req.variables),
        "channels": [c.value for c in req.channels],
        "category": req.category.value,
        "critical": req.critical,
    }


def encode_request(request: NotificationRequest) -> str:
    """The JSON body a client sends for ``request`` (the inverse of :func:`parse_request`)."""
    return json.dumps(_request_fields(request), sort_keys=True, ensure_ascii=False)


def encode_batch(requests: Sequence[NotificationRequest]) -> str:
    """The JSON body of a batch call: ``{"requests": [...]}`` (inverse of :func:`parse_batch`).

    Raises
    ------
    InvalidArgument
        If there are no requests, more than :data:`MAX_BATCH_REQUESTS`, or one is invalid
        (the message says which).
    """
    if isinstance(requests, (str, bytes)) or not isinstance(requests, Sequence):
        raise InvalidArgument.bad_value("requests", requests, "a sequence of requests")
    _check_batch_size(len(requests))
    fields = _each_request(requests, _request_fields)
    return json.dumps({"requests": fields}, sort_keys=True, ensure_ascii=False)


def _loads_object(body: object, limit_bytes: int, what: str) -> tuple[dict[str, Any], int]:
    """``body`` (a JSON string of at most ``limit_bytes``) decoded to a dict, and its size."""
    if not isinstance(body, str):
        raise InvalidArgument.bad_value("body", body, "a JSON string")
    size = len(body.encode("utf-8"))
    if size > limit_bytes:
        raise PayloadTooLarge(what, size, limit_bytes)
    try:
        raw = json.loads(body)
    except ValueError as exc:
        raise InvalidArgument(f"{what} is not valid JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise InvalidArgument.bad_value("body", body[:80], "a JSON object")
    return raw, size


def request_from_fields(raw: object) -> NotificationRequest:
    """Validate one decoded request object, as :func:`parse_request` does after decoding.

    Unknown fields are rejected; see :func:`parse_request` for the fields.
    """
    if not isinstance(raw, dict):
        raise InvalidArgument.bad_value("request", raw, "a JSON object")
    if not _FIELDS.issuperset(raw):
        unknown = sorted(set(raw) - _FIELDS)
        raise InvalidArgument(f"unknown fields {unknown}: expected only {sorted(_FIELDS)}")
    if not _REQUIRED_FIELDS.issubset(raw):
        raise InvalidArgument(f"missing required fields {sorted(_REQUIRED_FIELDS - set(raw))}")
    return _validated(
        raw["event_id"],
        raw["user_id"],
        raw["template"],
        raw.get("variables", _NO_VARIABLES),
        raw.get("channels", _DEFAULT_BODY["channels"]),
        raw.get("category", _DEFAULT_BODY["category"]),
        raw.get("critical", _DEFAULT_BODY["critical"]),
    )


def parse_request(body: str) -> NotificationRequest:
    """Parse and validate an API request body.

    Required: ``event_id``, ``user_id``, ``template``. Optional: ``variables`` (``{}``),
    ``channels`` (ios, android, email), ``category`` (transactional), ``critical`` (false).
    Unknown fields are rejected: a typo (``"critcal": true``) must not pass silently.

    Raises
    ------
    PayloadTooLarge
        If the body is over :data:`MAX_REQUEST_BODY_BYTES`.
    InvalidArgument
        If it is not a JSON object, misses a required field, has an unknown one, or a field
        is invalid.
    """
    raw, _ = _loads_object(body, MAX_REQUEST_BODY_BYTES, "request body")
    return request_from_fields(raw)


_In = TypeVar("_In")
_Out = TypeVar("_Out")


def note_request(error: BaseException, index: int, request: object) -> None:
    """Add to ``error`` which request of a batch it is about (index, and event id if known)."""
    event_id = (request.get("event_id") if isinstance(request, dict)
                else getattr(request, "event_id", None))
    known = f" (event_id={event_id!r})" if isinstance(event_id, str) else ""
    error.add_note(f"in requests[{index}]{known}")


def _each_request(items: Sequence[_In], convert: Callable[[_In], _Out]) -> list[_Out]:
    """``convert`` applied to every request of a batch; the first error says which one."""
    converted = []
    for index, item in enumerate(items):
        try:
            converted.append(convert(item))
        except InvalidArgument as exc:
            note_request(exc, index, item)
            raise
    return converted


def _check_batch_size(count: int) -> None:
    if not 1 <= count <= MAX_BATCH_REQUESTS:
        raise InvalidArgument.bad_value(
            "requests", f"<{count} requests>", f"1..{MAX_BATCH_REQUESTS} requests per batch"
        )


def batch_items(body: str) -> list[Any]:
    """The request objects of a batch body ``{"requests": [...]}``, decoded, not yet checked.

    Checks what belongs to the body: its size, its shape, how many requests it holds, and
    that no request on its own is over :data:`MAX_REQUEST_BODY_BYTES` (measured as compact
    JSON), so a batch lets nothing through that a single call would refuse for its size.

    Raises
    ------
    PayloadTooLarge
        If the body is over :data:`MAX_BATCH_BODY_BYTES`, or one request over
        :data:`MAX_REQUEST_BODY_BYTES`.
    InvalidArgument
        If the body is not ``{"requests": [...]}`` with 1..:data:`MAX_BATCH_REQUESTS`
        requests.
    """
    raw, size = _loads_object(body, MAX_BATCH_BODY_BYTES, "batch body")
    if set(raw) != {"requests"} or not isinstance(raw["requests"], list):
        raise InvalidArgument.bad_value("body", body[:80], '{"requests": [...]}')
    items: list[Any] = raw["requests"]
    _check_batch_size(len(items))
    if size > MAX_REQUEST_BODY_BYTES:  # else no request in it can be over the limit
        for index, item in enumerate(items):
            item_size = _json_bytes(item)
            if item_size > MAX_REQUEST_BODY_BYTES:
                error = PayloadTooLarge("request body", item_size, MAX_REQUEST_BODY_BYTES)
                note_request(error, index, item)
                raise error
    return items


def parse_batch(body: str) -> tuple[NotificationRequest, ...]:
    """Parse and validate a batch body: ``{"requests": [<request>, ...]}``, in order.

    :func:`batch_items`, then each request checked by :func:`request_from_fields`, as
    :func:`parse_request` checks one; the first bad one rejects the whole batch, with a
    note naming it (``in requests[3] (event_id='evt-9')``).

    Raises
    ------
    PayloadTooLarge
        If the body is over :data:`MAX_BATCH_BODY_BYTES`, or a request over
        :data:`MAX_REQUEST_BODY_BYTES`.
    InvalidArgument
        If the body is not ``{"requests": [...]}`` with 1..:data:`MAX_BATCH_REQUESTS`
        requests, or a request is invalid.

    Examples
    --------
    >>> body = encode_batch([NotificationRequest("evt-1", "u1", "welcome"),
    ...                      NotificationRequest("evt-2", "u2", "welcome", channels=("sms",))])
    >>> [(r.event_id, [c.value for c in r.channels]) for r in parse_batch(body)]
    [('evt-1', ['ios', 'android', 'email']), ('evt-2', ['sms'])]
    >>> parse_batch('{"requests": [{"event_id": "evt-1", "user_id": "u1"}]}')
    Traceback (most recent call last):
    ...
    reference.core.errors.InvalidArgument: missing required fields ['template']
    in requests[0] (event_id='evt-1')
    """
    return tuple(_each_request(batch_items(body), request_from_fields))


def require_template_channels(template: Template, channels: tuple[Channel, ...]) -> None:
    """Raise InvalidArgument if ``template`` is not published for one of ``channels``."""
    absent = [c.value for c in channels if c not in template.channels]
    if absent:
        raise InvalidArgument(
            f"template {template.name!r} v{template.version} has no variant for channels "
            f"{absent}: expected channels within {[c.value for c in template.channels]}"
        )


def provider_payload(channel: Channel, address: str, title: str, body: str) -> dict[str, Any]:
    """The request body the channel's provider would receive for one message.

    APNs gets the device token in the URL, so its payload is only the ``aps`` dictionary;
    FCM gets the token inside ``message``.

    Examples
    --------
    >>> provider_payload(Channel.IOS_PUSH, "tok", "Hi", "Shipped")
    {'aps': {'alert': {'title': 'Hi', 'body': 'Shipped'}, 'sound': 'default'}}
    """
    if channel is Channel.IOS_PUSH:
        return {"aps": {"alert": {"title": title, "body": body}, "sound": "default"}}
    if channel is Channel.ANDROID_PUSH:
        return {"message": {"token": address, "notification": {"title": title, "body": body}}}
    if channel is Channel.SMS:
        return {"to": address, "body": body}
    return {"to": address, "subject": title, "body": body}


_COMPACT_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def _json_bytes(value: object) -> int:
    return len(_COMPACT_JSON.encode(value).encode("utf-8"))


def check_address(channel: Channel, address: object) -> str:
    """Return ``address`` if it has the right shape for ``channel``, else InvalidArgument.

    A device token for push, an E.164 number for SMS, an email address for email.
    """
    if not isinstance(channel, Channel):
        raise InvalidArgument.bad_value("channel", channel, "a Channel")
    if channel in PUSH_CHANNELS:
        return validate_device_token(address)
    if channel is Channel.SMS:
        return validate_phone(address)
    return validate_email(address)


def check_content(channel: Channel, title: str, body: str) -> int:
    """Check a rendered title and body against ``channel``'s rules; return the bytes counted.

    Returns
    -------
    int
        The measured size: the APNs payload, the FCM ``notification`` object, the SMS body
        or the email body, in UTF-8 bytes.

    Raises
    ------
    InvalidArgument
        For a missing title (push, email) or body.
    PayloadTooLarge
        If the message is over the channel's limit (:class:`MessageTooLong` for SMS
        characters).

    Notes
    -----
    O(size of the message): one JSON encoding. Pure, so it runs before any write. The
    address is not part of any limit (APNs carries the token in the URL; FCM counts only the
    ``notification`` and ``data`` objects), so content can be checked once per channel.
    """
    if not isinstance(channel, Channel):
        raise InvalidArgument.bad_value("channel", channel, "a Channel")
    if not isinstance(title, str) or not isinstance(body, str):
        raise InvalidArgument.bad_value("title/body", (title, body), "strings")
    if not body.strip():
        raise InvalidArgument.bad_value("body", body, f"a non-empty {channel.value} body")
    limit = PAYLOAD_LIMIT_BYTES[channel]
    if channel in PUSH_CHANNELS:
        if not title.strip():
            raise InvalidArgument.bad_value("title", title, "a non-empty push title")
        payload = provider_payload(channel, "", title, body)
        if channel is Channel.ANDROID_PUSH:
            payload = {"notification": payload["message"]["notification"]}
        size = _json_bytes(payload)
        if size > limit:
            raise PayloadTooLarge(f"{channel.value} push payload", size, limit)
        return size
    size = len(body.encode("utf-8"))
    if channel is Channel.SMS and len(body) > SMS_BODY_LIMIT_CHARS:
        raise MessageTooLong("sms body", len(body), SMS_BODY_LIMIT_CHARS, size)
    if channel is Channel.EMAIL and (not title.strip() or len(title) > MAX_EMAIL_SUBJECT_CHARS):
        raise InvalidArgument.bad_value(
            "subject", title, f"a non-empty subject of <= {MAX_EMAIL_SUBJECT_CHARS} chars"
        )
    if size > limit:
        raise PayloadTooLarge(f"{channel.value} body", size, limit)
    return size


def check_message(channel: Channel, address: str, title: str, body: str) -> int:
    """Check one rendered message for one address: :func:`check_address` + :func:`check_content`.

    Returns the bytes the channel's limit counts (see :func:`check_content`).
    """
    check_address(channel, address)
    return check_content(channel, title, body)
