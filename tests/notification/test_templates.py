"""Templates: versions, placeholder parsing at publish, strict rendering."""

from __future__ import annotations

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reference.core.errors import InvalidArgument, NotFound
from reference.notification.model import Channel
from reference.notification.templates import (
    MAX_EXACT_INT,
    Rendered,
    Template,
    TemplateStore,
    parse_placeholders,
    render_template,
)
from reference.storage import Store

ALL = list(Channel)


@pytest.fixture
def templates(store: Store) -> TemplateStore:
    return TemplateStore(store.kv)


def test_publishing_numbers_versions_one_two_three(templates: TemplateStore) -> None:
    versions = [
        templates.publish("promo", title="Sale", body=f"v{i}: ${{pct}}% off", channels=ALL)
        for i in range(1, 4)
    ]
    assert versions == [1, 2, 3]
    assert templates.latest_version("promo") == 3
    assert templates.publish("other", title="t", body="b", channels=ALL) == 1


def test_get_returns_the_latest_or_a_pinned_version(templates: TemplateStore) -> None:
    templates.publish("promo", title="Old", body="old ${x}", channels=[Channel.EMAIL])
    templates.publish("promo", title="New", body="new ${y}", channels=[Channel.SMS])
    assert templates.get("promo") == Template(
        "promo", 2, "New", "new ${y}", (Channel.SMS,), frozenset({"y"})
    )
    old = templates.get("promo", version=1)
    assert (old.title, old.channels, old.placeholders) == ("Old", (Channel.EMAIL,), {"x"})


def test_rendering_a_pinned_version_is_unaffected_by_newer_versions(
    templates: TemplateStore,
) -> None:
    templates.publish("greet", title="Hi", body="Hello ${name}", channels=ALL)
    templates.publish("greet", title="Hi", body="Yo ${name}!", channels=ALL)
    assert templates.render("greet", {"name": "Ada"}, version=1).body == "Hello Ada"
    assert templates.render("greet", {"name": "Ada"}) == Rendered("Hi", "Yo Ada!", "greet", 2)


def test_placeholders_in_the_title_are_rendered_too(templates: TemplateStore) -> None:
    templates.publish("t", title="${n} new likes", body="See who", channels=ALL)
    assert templates.render("t", {"n": 3}).title == "3 new likes"


def test_a_missing_variable_is_named_and_never_rendered_blank(templates: TemplateStore) -> None:
    templates.publish("ship", title="${who}", body="Order ${order} via ${carrier}", channels=ALL)
    with pytest.raises(InvalidArgument, match=r"missing \['carrier', 'order'\]"):
        templates.render("ship", {"who": "Ada"})


def test_extra_unused_variables_are_accepted(templates: TemplateStore) -> None:
    templates.publish("t", title="Hi", body="Hi ${name}", channels=ALL)
    assert templates.render("t", {"name": "Ada", "coupon": "X1"}).body == "Hi Ada"


def test_dollar_dollar_renders_a_literal_dollar_sign(templates: TemplateStore) -> None:
    templates.publish("price", title="Price", body="Now $$${amount}", channels=ALL)
    assert templates.render("price", {"amount": 5}).body == "Now $5"


def test_booleans_and_numbers_render_as_text(templates: TemplateStore) -> None:
    templates.publish("t", title="T", body="${a} ${b} ${c}", channels=ALL)
    assert templates.render("t", {"a": True, "b": 2, "c": 0.5}).body == "true 2 0.5"


@pytest.mark.parametrize("value", [None, [1], {"x": 1}, b"bytes"])
def test_a_variable_that_is_not_a_scalar_is_rejected(
    templates: TemplateStore, value: object
) -> None:
    templates.publish("t", title="T", body="${a}", channels=ALL)
    with pytest.raises(InvalidArgument, match=r"variables\['a'\]"):
        templates.render("t", {"a": value})  # type: ignore[dict-item]


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ("Hi ${name", "body="),
        ("50% off $", "body="),
        ("cost $5", "body="),
        ("${1abc}", "body="),
        ("   ", "non-empty body"),
    ],
)
def test_a_malformed_template_is_rejected_at_publish_and_not_stored(
    templates: TemplateStore, body: str, match: str
) -> None:
    with pytest.raises(InvalidArgument, match=match):
        templates.publish("bad", title="T", body=body, channels=ALL)
    assert templates.latest_version("bad") == 0
    with pytest.raises(NotFound):
        templates.get("bad")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"name": "Bad Name"}, "template="),
        ({"name": ""}, "template="),
        ({"channels": []}, "channels="),
        ({"channels": ["ios", "ios"]}, "channels="),
        ({"channels": ["fax"]}, "channels="),
        ({"channels": "sms"}, "channels="),
        ({"title": ""}, "non-empty title"),
        ({"title": "${x"}, "title="),
    ],
)
def test_bad_publish_arguments_are_rejected_and_nothing_is_written(
    templates: TemplateStore, kwargs: dict[str, object], match: str
) -> None:
    args: dict[str, object] = {
        "name": "ok",
        "title": "T",
        "body": "B",
        "channels": [Channel.IOS_PUSH],
        **kwargs,
    }
    with pytest.raises(InvalidArgument, match=match):
        templates.publish(**args)  # type: ignore[arg-type]
    assert templates.latest_version("ok") == 0


def test_an_sms_only_template_may_have_no_title(templates: TemplateStore) -> None:
    assert templates.publish("otp", title="", body="Code ${code}", channels=["sms"]) == 1
    assert templates.render("otp", {"code": "123456"}).title == ""


def test_unknown_templates_and_versions_are_not_found(templates: TemplateStore) -> None:
    with pytest.raises(NotFound, match="template 'nope' not found"):
        templates.render("nope", {})
    templates.publish("t", title="T", body="B", channels=ALL)
    with pytest.raises(NotFound, match="t v2"):
        templates.get("t", version=2)
    with pytest.raises(InvalidArgument, match="version=0"):
        templates.get("t", version=0)


def test_a_publisher_that_lost_a_race_takes_the_next_version(store: Store) -> None:
    kv = store.kv
    templates = TemplateStore(kv)
    templates.publish("t", title="T", body="one", channels=ALL)
    # another instance claimed v2 but crashed before moving the latest pointer
    kv.set("template:{t}:v2", '{"title": "T", "body": "two", "channels": ["sms"]}')
    assert templates.get("t").body == "two"
    assert templates.publish("t", title="T", body="three", channels=ALL) == 3
    assert templates.get("t", 2).body == "two" and templates.get("t").body == "three"


# ── properties ──────────────────────────────────────────────────────────────────────────

names = st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True)
literal = st.text(
    st.characters(blacklist_characters="$", blacklist_categories=("Cs",)), max_size=12
)
values = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12) | st.integers(
    -MAX_EXACT_INT, MAX_EXACT_INT)  # any variable a request may carry (JSON's exact ints)


@st.composite
def template_texts(draw: st.DrawFn) -> tuple[str, list[str]]:
    """A template body: literal text and ${placeholder}s interleaved, and the names used."""
    parts, used = [], []
    for _ in range(draw(st.integers(0, 6))):
        parts.append(draw(literal))
        name = draw(names)
        used.append(name)
        parts.append(draw(st.sampled_from([f"${{{name}}}", f"${name} "])))
    parts.append(draw(literal))
    return "".join(parts), used


@settings(max_examples=150, deadline=None)
@given(text=template_texts(), data=st.data())
def test_rendering_fills_every_placeholder_and_leaves_none_behind(
    text: tuple[str, list[str]], data: st.DataObject
) -> None:
    body, used = text
    assert parse_placeholders(body) == frozenset(used)
    variables = {name: data.draw(values, label=name) for name in used}
    tpl = Template("t", 1, "", body, (Channel.SMS,), frozenset(used))
    rendered = render_template(tpl, variables).body
    expected = string.Template(body).substitute({k: str(v) for k, v in variables.items()})
    assert rendered == expected
    # no placeholder survives unless a value itself brought a '$' in
    if not any("$" in str(v) for v in variables.values()):
        assert "$" not in rendered


@settings(max_examples=100, deadline=None)
@given(text=template_texts(), data=st.data())
def test_rendering_without_one_of_the_variables_always_fails_naming_it(
    text: tuple[str, list[str]], data: st.DataObject
) -> None:
    body, used = text
    if not used:
        return
    dropped = data.draw(st.sampled_from(used), label="dropped")
    variables = {name: "v" for name in used if name != dropped}
    tpl = Template("t", 1, "", body, (Channel.SMS,), frozenset(used))
    with pytest.raises(InvalidArgument, match=f"'{dropped}'"):
        render_template(tpl, variables)


@settings(max_examples=50, deadline=None)
@given(value=st.text(max_size=20))
def test_values_are_inserted_verbatim_and_never_expanded_again(value: str) -> None:
    tpl = Template("t", 1, "", "[${v}]", (Channel.SMS,), frozenset({"v"}))
    assert render_template(tpl, {"v": value, "x": "EXPANDED"}).body == f"[{value}]"


def test_a_value_that_looks_like_a_placeholder_stays_literal() -> None:
    tpl = Template("t", 1, "", "Hi ${name}", (Channel.SMS,), frozenset({"name"}))
    assert render_template(tpl, {"name": "${secret}", "secret": "x"}).body == "Hi ${secret}"


# rendering compiles a template once to a str.format pattern: it must agree with
# string.Template.substitute on every valid template, braces and "$$" included
_TEXT_PIECES = st.one_of(
    st.text(alphabet="ab {}}{,.!", max_size=6),
    st.sampled_from(["${who}", "$who", "${n}", "$n", "$$", "{", "}", "{who}", "$${who}"]),
)


@settings(max_examples=300)
@given(pieces=st.lists(_TEXT_PIECES, max_size=8), who=st.text(max_size=5),
       n=st.integers(-5, 5))
def test_rendering_agrees_with_string_template_substitute(
    pieces: list[str], who: str, n: int
) -> None:
    text = "".join(pieces)
    names = parse_placeholders(text)  # "$whoa" is a placeholder too
    template = Template("t", 1, "", text, (Channel.SMS,), names)
    values: dict[str, str | int] = {name: f"{who}{i}" for i, name in enumerate(sorted(names))}
    values["n"] = n
    expected = string.Template(text).substitute({k: str(v) for k, v in values.items()})
    assert render_template(template, values).body == expected
