"""Graders for exercises/ch10_templates.py: placeholder parsing and validated rendering.

Each test reaches the code under test only through ``impl``. Templates are built with the
vocabulary record :class:`~reference.notification.templates.Template`, its placeholders
written out by the grader, and the property tests assemble a template from pieces whose
rendering the grader knows in advance.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exercises.graders.support import GRADER_SETTINGS
from reference.core.errors import InvalidArgument
from reference.notification.model import Channel
from reference.notification.templates import MAX_TEMPLATE_CHARS, Rendered, Template

SOLUTION = {
    "parse_placeholders": "reference.notification.templates:parse_placeholders",
    "render_template": "reference.notification.templates:render_template",
}

SHIPPED = Template(
    name="order_shipped",
    version=3,
    title="Order ${order_id} shipped",
    body="Hi ${first_name}, order ${order_id} is on its way. $$${total_usd} paid.",
    channels=(Channel.EMAIL, Channel.IOS_PUSH),
    placeholders=frozenset({"first_name", "order_id", "total_usd"}),
)


def template(body: str, placeholders: set[str], title: str = "") -> Template:
    return Template("t", 1, title, body, (Channel.SMS,), frozenset(placeholders))


IDENTIFIERS = st.from_regex(r"[a-z_][a-z0-9_]{0,6}", fullmatch=True)
LITERALS = st.text(alphabet=st.characters(exclude_characters="$"), max_size=8)
VALUES = st.one_of(
    st.text(max_size=8),
    st.integers(),
    st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False),
)


def as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@st.composite
def templates(draw: st.DrawFn) -> tuple[str, dict[str, Any], str]:
    """(template text, variables, the expected rendering), built piece by piece."""
    names = draw(st.lists(IDENTIFIERS, min_size=0, max_size=4, unique=True))
    variables = {name: draw(VALUES) for name in names}
    text, expected = "", ""
    for _ in range(draw(st.integers(0, 8))):
        kind = draw(st.sampled_from(["literal", "dollar", "braced", "bare"]))
        if kind == "literal":
            piece = draw(LITERALS)
            text, expected = text + piece, expected + piece
        elif kind == "dollar":
            text, expected = text + "$$", expected + "$"
        elif names:
            name = draw(st.sampled_from(names))
            value = as_text(variables[name])
            if kind == "braced":
                text, expected = text + "${" + name + "}", expected + value
            else:  # a bare $name must be followed by a non-identifier character
                text, expected = text + "$" + name + " ", expected + value + " "
    return text, variables, expected


# --------------------------------------------------------------------- template-placeholders

PLACEHOLDER_CASES = {
    "Hi ${name}, $$5 off with code $code": {"name", "code"},
    "No placeholders at all.": set(),
    "": set(),
    "$a, $a and ${a} again": {"a"},
    "${x}${y}": {"x", "y"},
    "Dear $first_name.": {"first_name"},
    "$$${price} or $$$$": {"price"},
}


@pytest.mark.exercise(
    name="template-placeholders",
    points=2,
    hint="string.Template(text).get_identifiers() lists the ${name} and $name placeholders; "
    "return them as a frozenset",
)
@pytest.mark.parametrize("text", list(PLACEHOLDER_CASES), ids=repr)
def test_placeholders_are_found_in_both_syntaxes_and_dollar_dollar_is_not_one(
    impl: Any, text: str
) -> None:
    got = impl.parse_placeholders(text)
    assert isinstance(got, frozenset), f"parse_placeholders must return a frozenset, got {got!r}"
    assert got == PLACEHOLDER_CASES[text], f"parse_placeholders({text!r}) returned {set(got)}"


MALFORMED = ["Hi ${name", "50% off $", "$5 off", "${}", "${first name}", "${1abc}", "$ {x}"]


@pytest.mark.exercise(
    name="template-placeholders",
    points=2,
    hint="string.Template(text).is_valid() is False for a $ that starts neither a placeholder "
    "nor $$; raise InvalidArgument with `what` in the message",
)
@pytest.mark.parametrize("text", MALFORMED, ids=repr)
def test_a_malformed_template_is_rejected_naming_the_field(impl: Any, text: str) -> None:
    assert impl.parse_placeholders("Hi ${name}", what="body") == {"name"}
    for what in ("body", "title"):
        with pytest.raises(InvalidArgument) as caught:
            impl.parse_placeholders(text, what=what)
        assert what in str(caught.value), f"the error should name {what!r}: {caught.value}"


@pytest.mark.exercise(
    name="template-placeholders",
    points=2,
    hint="text must be a str of at most MAX_TEMPLATE_CHARS characters",
)
@pytest.mark.parametrize(
    "text",
    [None, 42, b"Hi $x", ["Hi"], "x" * (MAX_TEMPLATE_CHARS + 1)],
    ids=["None", "int", "bytes", "list", "too-long"],
)
def test_a_template_that_is_not_a_short_string_is_rejected(impl: Any, text: Any) -> None:
    assert impl.parse_placeholders("x" * MAX_TEMPLATE_CHARS) == frozenset()
    with pytest.raises(InvalidArgument):
        impl.parse_placeholders(text)


@pytest.mark.exercise(
    name="template-placeholders",
    points=2,
    hint="every ${name} and $name, anywhere in the text, and nothing else",
)
@GRADER_SETTINGS
@given(case=templates())
def test_parsing_finds_exactly_the_placeholders_a_template_was_built_from(
    impl: Any, case: tuple[str, dict[str, Any], str]
) -> None:
    text, _, _ = case
    used = identifiers_in(text)
    got = impl.parse_placeholders(text)
    assert got == used, f"parse_placeholders({text!r}) returned {set(got)}, expected {used}"


def identifiers_in(text: str) -> set[str]:
    """The grader's own scan: names after a single ``$`` (``$$`` pairs skipped)."""
    found: set[str] = set()
    i = 0
    while i < len(text):
        if text[i] != "$":
            i += 1
        elif text[i + 1] == "$":
            i += 2
        else:
            braced = text[i + 1] == "{"
            j = i + 2 if braced else i + 1
            k = j
            while k < len(text) and (text[k].isascii() and (text[k].isalnum() or text[k] == "_")):
                k += 1
            found.add(text[j:k])
            i = k + 1 if braced else k
    return found


# --------------------------------------------------------------------------- template-render


@pytest.mark.exercise(
    name="template-render",
    points=3,
    hint="substitute in title and body, $$ becomes $, and return "
    "Rendered(title, body, template=template.name, version=template.version)",
)
def test_rendering_fills_the_title_and_the_body(impl: Any) -> None:
    got = impl.render_template(SHIPPED, {"first_name": "Ada", "order_id": 42, "total_usd": 9.5})
    expected = Rendered(
        title="Order 42 shipped",
        body="Hi Ada, order 42 is on its way. $9.5 paid.",
        template="order_shipped",
        version=3,
    )
    assert isinstance(got, Rendered), "return reference.notification.templates.Rendered"
    assert got == expected, f"render_template returned {got!r}"


@pytest.mark.exercise(
    name="template-render",
    points=3,
    hint="compare template.placeholders with variables.keys() before rendering and list "
    "every missing name in the InvalidArgument",
)
@pytest.mark.parametrize(
    "given_",
    [{"first_name": "Ada", "total_usd": 1}, {"order_id": 1}, {}],
    ids=["one-missing", "two-missing", "all-missing"],
)
def test_every_missing_variable_is_named_and_nothing_is_rendered_blank(
    impl: Any, given_: dict[str, Any]
) -> None:
    missing = sorted(SHIPPED.placeholders - given_.keys())
    with pytest.raises(InvalidArgument) as caught:
        impl.render_template(SHIPPED, given_)
    for name in missing:
        assert name in str(caught.value), (
            f"the error should name the missing variable {name!r}: {caught.value}"
        )


@pytest.mark.exercise(
    name="template-render",
    points=3,
    hint="a placeholder used only in the title must have a value too",
)
def test_a_variable_missing_from_the_title_only_is_still_an_error(impl: Any) -> None:
    only_title = template("Your code is ready.", {"code"}, title="Code ${code}")
    with pytest.raises(InvalidArgument) as caught:
        impl.render_template(only_title, {})
    assert "code" in str(caught.value)


@pytest.mark.exercise(
    name="template-render",
    points=3,
    hint="ignore variables the template does not use",
)
def test_extra_variables_are_ignored(impl: Any) -> None:
    got = impl.render_template(template("Hi ${name}", {"name"}), {"name": "Ada", "unused": 1})
    assert got.body == "Hi Ada"


@pytest.mark.exercise(
    name="template-render",
    points=3,
    hint="substitute in one pass (string.Template.substitute): values are never expanded "
    "again, and $a is not a prefix of $ab",
)
@pytest.mark.parametrize(
    ("body", "placeholders", "variables", "expected"),
    [
        ("Hi ${name}!", {"name"}, {"name": "${order_id}"}, "Hi ${order_id}!"),
        ("Hi ${name}!", {"name"}, {"name": "$$"}, "Hi $$!"),
        ("Hi $name!", {"name"}, {"name": "$name"}, "Hi $name!"),
        ("$a and $ab", {"a", "ab"}, {"a": 1, "ab": 2}, "1 and 2"),
        ("${a}${b}", {"a", "b"}, {"a": "${b}", "b": "x"}, "${b}x"),
        ("Cost: $$${n}", {"n"}, {"n": 5}, "Cost: $5"),
    ],
    ids=["looks-like-a-placeholder", "dollars", "bare-self", "prefix", "chained", "price"],
)
def test_values_are_inserted_verbatim_and_never_expanded_again(
    impl: Any, body: str, placeholders: set[str], variables: dict[str, Any], expected: str
) -> None:
    got = impl.render_template(template(body, placeholders), variables)
    assert got.body == expected, f"rendering {body!r} with {variables} gave {got.body!r}"


@pytest.mark.exercise(
    name="template-render",
    points=3,
    hint="render a bool as true/false and numbers with str()",
)
def test_booleans_and_numbers_render_as_text(impl: Any) -> None:
    tpl = template("$flag $off $count $ratio", {"flag", "off", "count", "ratio"})
    got = impl.render_template(tpl, {"flag": True, "off": False, "count": 3, "ratio": 0.25})
    assert got.body == "true false 3 0.25"


@pytest.mark.exercise(
    name="template-render",
    points=3,
    hint="a used value must be a str, int, float or bool; raise InvalidArgument naming it",
)
@pytest.mark.parametrize("value", [None, [1], {"k": 1}, b"Ada"], ids=repr)
def test_a_value_that_is_not_a_scalar_is_rejected_naming_the_variable(
    impl: Any, value: Any
) -> None:
    with pytest.raises(InvalidArgument) as caught:
        impl.render_template(template("Hi ${who_else}", {"who_else"}), {"who_else": value})
    assert "who_else" in str(caught.value), f"the error should name 'who_else': {caught.value}"


@pytest.mark.exercise(
    name="template-render",
    points=3,
    hint="variables must be a Mapping (collections.abc.Mapping); raise InvalidArgument",
)
@pytest.mark.parametrize("variables", [[("name", "Ada")], None, "name=Ada"], ids=repr)
def test_variables_that_are_not_a_mapping_are_rejected(impl: Any, variables: Any) -> None:
    with pytest.raises(InvalidArgument):
        impl.render_template(template("Hi ${name}", {"name"}), variables)


@pytest.mark.exercise(
    name="template-render",
    points=3,
    hint="every placeholder replaced by its value as text, every $$ by $, the rest unchanged",
)
@GRADER_SETTINGS
@given(case=templates())
def test_rendering_any_valid_template_gives_exactly_the_expected_text(
    impl: Any, case: tuple[str, dict[str, Any], str]
) -> None:
    text, variables, expected = case
    tpl = Template("t", 1, "", text, (Channel.SMS,), frozenset(identifiers_in(text)))
    got = impl.render_template(tpl, variables)
    assert got.body == expected, f"rendering {text!r} with {variables} gave {got.body!r}"
