"""Templates (알림 템플릿): named, versioned message formats filled in per notification.

Most notifications share a shape ("Your order ${order_id} has shipped"); a template keeps
the wording consistent, reduces mistakes and makes a new notification a data change rather
than a code change. Each publish creates a new immutable **version** (1, 2, 3, ...); callers
render the latest or pin one, so rewording a template never changes a notification already
being rendered from an older version.

Placeholder syntax: :class:`string.Template`, that is ``${name}`` (or ``$name``), with
``$$`` for a literal dollar sign. Placeholders are parsed when a template is **published**:
a malformed one (``${unclosed``, a lone ``$``) is rejected there, not discovered when the
first user's notification fails. Rendering then insists on every placeholder having a value
(a missing variable raises :class:`~reference.core.errors.InvalidArgument` naming it; a
notification never goes out with a blank where a name should be). Extra variables that the
template does not use are accepted: callers may send a superset, so a new version that drops
a placeholder does not break them. Values are inserted verbatim and never expanded again, so
a user-supplied ``${x}`` in a value stays literal text.

Storage: each version is its own string key, claimed with ``SET NX`` (two publishers racing
cannot both get version 3), plus a "latest" pointer that readers probe forward from::

    template:{order_shipped}:v1      {"title": ..., "body": ..., "channels": [...]}
    template:{order_shipped}:v2      ...
    template:{order_shipped}:latest  2

Examples
--------
>>> from reference.core.clock import FakeClock
>>> from reference.storage import connect
>>> templates = TemplateStore(connect("memory", clock=FakeClock()).kv)
>>> templates.publish("order_shipped", title="Shipped!", channels=[Channel.EMAIL],
...                   body="Hi ${name}, order ${order_id} is on its way.")
1
>>> templates.render("order_shipped", {"name": "Ada", "order_id": 42, "unused": 1})
Rendered(title='Shipped!', body='Hi Ada, order 42 is on its way.', template='order_shipped', \
version=1)
>>> templates.render("order_shipped", {"name": "Ada"})
Traceback (most recent call last):
...
reference.core.errors.InvalidArgument: variables for template 'order_shipped' v1 are missing \
['order_id']: ...
>>> templates.publish("broken", title="", body="Hi ${name", channels=[Channel.SMS])
Traceback (most recent call last):
...
reference.core.errors.InvalidArgument: body='Hi ${name' is invalid: expected ...
"""

from __future__ import annotations

import functools
import json
import math
import re
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from reference.core.errors import InvalidArgument, NotFound
from reference.notification.model import Channel, check_text, invalid
from reference.storage.ports import KeyValue

__all__ = [
    "MAX_EXACT_INT",
    "MAX_TEMPLATE_CHARS",
    "Rendered",
    "Template",
    "TemplateStore",
    "VariableValue",
    "check_variable",
    "parse_placeholders",
    "render_template",
    "validate_template_name",
]

MAX_TEMPLATE_CHARS = 65_536  # a template is wording, not a document
MAX_EXACT_INT = 2**53 - 1  # the largest int every JSON parser reads exactly (I-JSON, RFC 7493)
DECODED_TEMPLATES_CACHED = 256  # parsed versions kept per process (see ``_decode``)
_NAME = re.compile(r"[a-z0-9][a-z0-9_.\-]{0,63}")
_TITLED = frozenset({Channel.IOS_PUSH, Channel.ANDROID_PUSH, Channel.EMAIL})

VariableValue = str | int | float | bool


def validate_template_name(name: object) -> str:
    """Return ``name`` if it is 1..64 characters of ``a-z 0-9 _ . -`` starting alphanumeric."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InvalidArgument.bad_value(
            "template", name, "1..64 characters of a-z, 0-9, _ . - (starting with a-z or 0-9)"
        )
    return name


def parse_placeholders(text: object, *, what: str = "text") -> frozenset[str]:
    """The placeholder names in ``text``; InvalidArgument if it is not a valid template.

    Examples
    --------
    >>> sorted(parse_placeholders("Hi ${name}, $$5 off with code $code"))
    ['code', 'name']
    >>> parse_placeholders("50% off $", what="body")
    Traceback (most recent call last):
    ...
    reference.core.errors.InvalidArgument: body='50% off $' is invalid: expected ...
    """
    expected = f"a string of <= {MAX_TEMPLATE_CHARS} chars"
    checked = check_text(what, text, expected)
    if len(checked) > MAX_TEMPLATE_CHARS:
        raise invalid(what, text, expected)
    tpl = string.Template(checked)
    if not tpl.is_valid():
        raise InvalidArgument.bad_value(
            what, text, "${name} or $name placeholders (identifiers) and $$ for a literal '$'"
        )
    return frozenset(tpl.get_identifiers())


@dataclass(frozen=True, slots=True)
class Template:
    """One published version of a template: immutable once published."""

    name: str
    version: int
    title: str
    body: str
    channels: tuple[Channel, ...]
    placeholders: frozenset[str]

    def to_json(self) -> str:
        return json.dumps(
            {"title": self.title, "body": self.body, "channels": [c.value for c in self.channels]},
            sort_keys=True,
        )


@dataclass(frozen=True, slots=True)
class Rendered:
    """A template filled in: the title and body a notification carries."""

    title: str
    body: str
    template: str
    version: int


def _channels(channels: object) -> tuple[Channel, ...]:
    expected = f"a non-empty list of distinct channels from {[c.value for c in Channel]}"
    if isinstance(channels, (str, bytes)) or not isinstance(channels, Iterable):
        raise InvalidArgument.bad_value("channels", channels, expected)
    items = list(channels)
    try:
        parsed = tuple(Channel(c) for c in items)
    except ValueError:
        raise InvalidArgument.bad_value("channels", items, expected) from None
    if not parsed or len(set(parsed)) != len(parsed):
        raise InvalidArgument.bad_value("channels", items, expected)
    return parsed


_VARIABLE_EXPECTED = (f"a str of <= {MAX_TEMPLATE_CHARS} chars, an int within "
                      f"+-{MAX_EXACT_INT} (2**53 - 1), a finite float or a bool")


def check_variable(name: str, value: object) -> VariableValue:
    """Return ``value`` if it can fill a placeholder, else InvalidArgument naming it.

    A str (<= :data:`MAX_TEMPLATE_CHARS` characters that UTF-8 can encode), an int within
    +-:data:`MAX_EXACT_INT`, a finite float or a bool. The int range is JSON's exact one: a
    calling service in JavaScript would silently round a larger id, and an int with
    thousands of digits cannot even be printed. One rule for the API's validation and for
    rendering.

    Examples
    --------
    >>> check_variable("order", 42)
    42
    >>> check_variable("order", 2**53)
    Traceback (most recent call last):
    ...
    reference.core.errors.InvalidArgument: variables['order']=9007199254740992 is invalid: ...
    """
    what = f"variables[{name!r}]"
    if isinstance(value, str):
        ok = len(check_text(what, value, _VARIABLE_EXPECTED)) <= MAX_TEMPLATE_CHARS
    elif isinstance(value, float):
        ok = math.isfinite(value)
    else:  # a bool is an int to Python, and always fine
        ok = isinstance(value, int) and -MAX_EXACT_INT <= value <= MAX_EXACT_INT
    if not ok:
        raise invalid(what, value, _VARIABLE_EXPECTED)
    return value  # type: ignore[return-value]  # one of the four kinds, checked above


def _render_value(name: str, value: object) -> str:
    checked = check_variable(name, value)
    if isinstance(checked, bool):
        return "true" if checked else "false"
    return str(checked)


class TemplateStore:
    """Publish, fetch and render versioned templates kept in the key-value port.

    Parameters
    ----------
    kv : KeyValue
        The key-value port (``store.kv``).

    Notes
    -----
    ``publish`` is one ``SET NX`` per version attempted (one, unless racing) plus a pointer
    write; ``get`` of a pinned version is one ``GET``; ``get`` of the latest is a ``GET`` of
    the pointer and one more to confirm no newer version exists. ``render`` is O(length).
    The trade-off taught: immutable versions cost a little storage and buy safe edits —
    and, being immutable, a version's text is parsed once per process, however often it
    is read.
    """

    __slots__ = ("_kv",)

    def __init__(self, kv: KeyValue) -> None:
        if not isinstance(kv, KeyValue):
            raise InvalidArgument.bad_value("kv", kv, "a KeyValue port (store.kv)")
        self._kv = kv

    @staticmethod
    def _key(name: str, suffix: str) -> str:
        return f"template:{{{name}}}:{suffix}"

    def publish(self, name: str, *, title: str, body: str, channels: Iterable[Channel]) -> int:
        """Store a new version of ``name`` and return its number (1 for a new name).

        Parameters
        ----------
        name : str
            The template name (1..64 of ``a-z 0-9 _ . -``).
        title : str
            The push title / email subject; may be empty only if no channel needs one
            (push and email do, SMS does not).
        body : str
            The message body; never empty.
        channels : iterable of Channel
            The channels this template may be sent on.

        Raises
        ------
        InvalidArgument
            If the name, a placeholder, the channels or an empty title/body is invalid, or
            the text has a lone surrogate (no UTF-8 bytes: Redis could not store it, no
            provider could send it); nothing is written.
        """
        validate_template_name(name)
        chans = _channels(channels)
        placeholders = parse_placeholders(title, what="title") | parse_placeholders(
            body, what="body"
        )
        if not body.strip():
            raise InvalidArgument.bad_value("body", body, "a non-empty body")
        titled = sorted(c.value for c in chans if c in _TITLED)
        if titled and not title.strip():
            raise InvalidArgument.bad_value(
                "title", title, f"a non-empty title (channels {titled} show one)"
            )
        version = self._latest(name) + 1
        while True:
            record = Template(name, version, title, body, chans, placeholders)
            if self._kv.set(self._key(name, f"v{version}"), record.to_json(), if_absent=True):
                break
            version += 1  # another publisher took this number
        self._kv.set(self._key(name, "latest"), str(version))
        return version

    def _latest(self, name: str) -> int:
        pointer = self._kv.get(self._key(name, "latest"))
        latest = int(pointer) if pointer is not None else 0
        while self._kv.get(self._key(name, f"v{latest + 1}")) is not None:
            latest += 1  # a racing publisher claimed a version but has not moved the pointer
        return latest

    def latest_version(self, name: str) -> int:
        """The newest version number of ``name`` (0 if never published)."""
        return self._latest(validate_template_name(name))

    def get(self, name: str, version: int | None = None) -> Template:
        """Fetch a version of a template (the latest if ``version`` is None).

        Raises
        ------
        InvalidArgument
            If the name or version is malformed.
        NotFound
            If the template or that version does not exist.
        """
        validate_template_name(name)
        if version is None:
            version = self._latest(name)
            if version == 0:
                raise NotFound("template", name, "publish() it first")
        elif (isinstance(version, bool) or not isinstance(version, int)
              or not 1 <= version <= MAX_EXACT_INT):
            raise invalid("version", version, "an integer >= 1 or None")
        raw = self._kv.get(self._key(name, f"v{version}"))
        if raw is None:
            raise NotFound("template", f"{name} v{version}")
        return _decode(name, version, raw)

    def render(
        self,
        name: str,
        variables: Mapping[str, VariableValue],
        version: int | None = None,
    ) -> Rendered:
        """Fill in a template version (the latest by default).

        Raises
        ------
        NotFound
            If the template or version does not exist.
        InvalidArgument
            If a placeholder has no variable (all missing names are listed) or a value
            cannot fill one (:func:`check_variable`).
        """
        return render_template(self.get(name, version), variables)

    def __repr__(self) -> str:
        return "TemplateStore()"


@functools.lru_cache(maxsize=DECODED_TEMPLATES_CACHED)
def _decode(name: str, version: int, raw: str) -> Template:
    """The :class:`Template` stored as ``raw`` (JSON), placeholders parsed.

    Memoised on the stored text itself: the store is still read on every ``get`` (a newer
    version, or another instance's publish, is always seen), only the parsing of text
    already parsed once is skipped. A version is immutable, so this is a cache of a pure
    function, not of shared state.
    """
    data = json.loads(raw)
    title, body = str(data["title"]), str(data["body"])
    return Template(
        name=name,
        version=version,
        title=title,
        body=body,
        channels=tuple(Channel(c) for c in data["channels"]),
        placeholders=parse_placeholders(title) | parse_placeholders(body),
    )


@functools.lru_cache(maxsize=2 * DECODED_TEMPLATES_CACHED)
def _compiled(text: str) -> str:
    """``text`` as a ``str.format`` pattern, built once per distinct text (a pure cache).

    ``${name}`` and ``$name`` become ``{name}``, ``$$`` becomes ``$``, literal braces are
    doubled: rendering is then one C-level ``format_map`` instead of a regex callback per
    placeholder. ``text`` was checked by :func:`parse_placeholders` when it was published.
    """
    parts: list[str] = []
    position = 0
    for match in string.Template.pattern.finditer(text):
        parts.append(text[position:match.start()].replace("{", "{{").replace("}", "}}"))
        name = match.group("named") or match.group("braced")
        if name is not None:
            parts.append("{" + name + "}")
        elif match.group("escaped") is not None:
            parts.append("$")
        else:
            raise InvalidArgument.bad_value("template text", text, "a valid template")
        position = match.end()
    parts.append(text[position:].replace("{", "{{").replace("}", "}}"))
    return "".join(parts)


def render_template(template: Template, variables: Mapping[str, VariableValue]) -> Rendered:
    """Fill ``template`` with ``variables`` (pure: no storage).

    Examples
    --------
    >>> t = Template("hi", 1, "", "Hi ${who}, you owe $$${amount}", (Channel.SMS,),
    ...              frozenset({"who", "amount"}))
    >>> render_template(t, {"who": "Ada", "amount": 5}).body
    'Hi Ada, you owe $5'
    """
    if not isinstance(variables, Mapping):
        raise InvalidArgument.bad_value("variables", variables, "a mapping of name -> value")
    missing = template.placeholders - variables.keys()
    if missing:
        raise InvalidArgument(
            f"variables for template {template.name!r} v{template.version} are missing "
            f"{sorted(missing)}: expected a value for every placeholder "
            f"{sorted(template.placeholders)}"
        )
    values = {k: _render_value(k, variables[k]) for k in template.placeholders}
    return Rendered(
        title=_compiled(template.title).format_map(values),
        body=_compiled(template.body).format_map(values),
        template=template.name,
        version=template.version,
    )
