"""Exercise ch10: templates (알림 템플릿) — placeholders checked, every variable filled.

Most notifications share a shape, "Hi ${name}, order ${order_id} has shipped", so chapter 10
keeps them as templates: consistent wording, fewer mistakes, and a new notification is a data
change, not a code change. Two things can go wrong, and you make both impossible:

* a **malformed template** (``"Hi ${name"``, ``"$5 off"``) must be rejected when it is
  published, not discovered when the first user's notification fails;
* a **missing variable** must be an error that names it; a notification never goes out
  as "Hi , your order  has shipped".

Syntax: :class:`string.Template`'s, i.e. ``${name}`` or ``$name`` where ``name`` is an
**ASCII** identifier (an ASCII letter or ``_``, then ASCII letters, digits or ``_``; not
every Python identifier: ``${café}`` is malformed, and in ``$café`` the placeholder is
``caf``), and ``$$`` for a literal dollar sign. Every other ``$`` is an error.

Every function below raises ``NotImplementedError``: replace each body with your code. The
docstrings are the contract; ``exercises/graders/test_ch10_templates.py`` checks it. Grade
yourself with ``make grade CHAPTER=10`` or, in a notebook, ``check("template-render")``.

The vocabulary is yours to use: the records :class:`Template` (one published version, with
its ``placeholders`` already parsed) and :class:`Rendered`, ``MAX_TEMPLATE_CHARS``,
``VariableValue`` and :class:`InvalidArgument`. The model answer is ``parse_placeholders``
and ``render_template`` in ``reference/notification/templates.py`` (whose ``TemplateStore``
calls them on publish and on render).

Exercises (name → what to implement):

===================== ====================================================================
template-placeholders :func:`parse_placeholders`: the names in a template, or an error
template-render       :func:`render_template`: fill title and body, or name what is missing
===================== ====================================================================
"""

from __future__ import annotations

from collections.abc import Mapping

from reference.core.errors import InvalidArgument  # noqa: F401  (yours to raise)
from reference.notification.model import Channel
from reference.notification.templates import (
    MAX_TEMPLATE_CHARS,
    Rendered,
    Template,
    VariableValue,
)

__all__ = [
    "MAX_TEMPLATE_CHARS",
    "Channel",
    "Rendered",
    "Template",
    "VariableValue",
    "parse_placeholders",
    "render_template",
]


def parse_placeholders(text: object, *, what: str = "text") -> frozenset[str]:
    """The placeholder names in ``text``; InvalidArgument if it is not a valid template.

    Exercise ``template-placeholders``.

    Parameters
    ----------
    text : str
        A title or body, at most ``MAX_TEMPLATE_CHARS`` characters.
    what : str
        What ``text`` is ("title", "body"): the error message names it, so a publisher
        learns *which* field is wrong.

    Returns
    -------
    frozenset of str
        Every name used as ``${name}`` or ``$name`` (an ASCII identifier), once each.
        ``$$`` is not a placeholder.

    Raises
    ------
    InvalidArgument
        If ``text`` is not a ``str``, is longer than ``MAX_TEMPLATE_CHARS``, or has a ``$``
        that starts neither a placeholder nor ``$$``: ``"Hi ${name"``, ``"50% off $"``,
        ``"$5 off"``, ``"${}"``, ``"${first name}"``, ``"${café}"`` (not ASCII). The
        message contains ``what``, e.g.
        ``InvalidArgument.bad_value(what, text, "${name} or $name placeholders ...")``.

    Hint
    ----
    ``string.Template(text)`` has ``is_valid()`` and ``get_identifiers()`` (Python 3.11+).

    Examples
    --------
    >>> sorted(parse_placeholders("Hi ${name}, $$5 off with code $code"))
    ['code', 'name']
    >>> parse_placeholders("50% off $", what="body")
    Traceback (most recent call last):
    ...
    reference.core.errors.InvalidArgument: body='50% off $' is invalid: expected ...
    """
    raise NotImplementedError(
        "exercise: parse_placeholders — validate the template and list its placeholder names"
    )


def render_template(template: Template, variables: Mapping[str, VariableValue]) -> Rendered:
    """Fill ``template``'s title and body with ``variables`` (pure: no storage).

    Exercise ``template-render``.

    Parameters
    ----------
    template : Template
        A published version; ``template.placeholders`` holds every name its title and body
        use.
    variables : Mapping[str, str | int | float | bool]
        A value for every placeholder. Extra names the template does not use are fine
        (callers may send a superset, so a new version that drops a placeholder breaks
        nobody).

    Returns
    -------
    Rendered
        ``Rendered(title, body, template=template.name, version=template.version)``.

    Raises
    ------
    InvalidArgument
        * ``variables`` is not a ``Mapping``;
        * a placeholder has no variable: the message lists **every** missing name
          (sorted), and nothing is rendered;
        * a used value is not a ``str``, ``int``, ``float`` or ``bool`` (``None``, a list,
          bytes): the message names the variable.

    Notes
    -----
    Values are inserted verbatim and never expanded again: a user whose name is
    ``"${order_id}"`` or ``"$$"`` sees exactly that. Numbers render with ``str``; a bool as
    ``true`` / ``false`` (not Python's ``True``). ``$$`` renders as ``$``.
    O(length of the template).

    Hint
    ----
    Find the missing names with set arithmetic first, convert the values to text, then let
    ``string.Template(text).substitute(values)`` do the replacing in one pass: chained
    ``str.replace`` calls would expand a value that looks like a placeholder, and would
    turn ``$ab`` into ``1b`` when ``a=1``.

    Examples
    --------
    >>> t = Template("hi", 1, "Hello", "Hi ${who}, you owe $$${amount}", (Channel.SMS,),
    ...              frozenset({"who", "amount"}))
    >>> render_template(t, {"who": "Ada", "amount": 5})
    Rendered(title='Hello', body='Hi Ada, you owe $5', template='hi', version=1)
    """
    raise NotImplementedError(
        "exercise: render_template — check every placeholder has a value, then substitute"
    )
