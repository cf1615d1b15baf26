"""The delivery path's shortcuts answer exactly what the long way answered.

A time check decided inline for a finite float, a job body parsed with ``raw_decode`` and
enum tables, a dedupe store that does not decode the record it has just written, and a
one-read ``settlement``: each must agree with the plain version, errors included.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reference.blocks.idempotency import IdempotencyStore
from reference.core.checks import check_time, is_finite
from reference.core.clock import FakeClock
from reference.core.errors import InvalidArgument
from reference.notification.model import Category, Channel, Job
from reference.storage import Store, connect

KEY = "evt-1|sms|+14155550100"
FAST = settings(max_examples=200, deadline=None)


def outcome(check: Any, value: object) -> tuple[str, object]:
    try:
        result = check("at", value)
    except InvalidArgument as exc:
        return "error", str(exc)
    return "ok", (type(result), result)


times = (st.floats() | st.integers(-(2**60), 2**60) | st.booleans() | st.none()
         | st.text(max_size=3) | st.just(float("nan")) | st.just(float("-inf")))


def plain_check_time(name: str, value: object) -> float:
    """``check_time`` without its shortcut for a finite float."""
    if not is_finite(value):
        raise InvalidArgument.bad_value(name, value, "a finite time in seconds")
    return float(value)


@FAST
@given(value=times)
def test_the_time_checks_shortcut_agrees_with_the_plain_check(value: object) -> None:
    if isinstance(value, float) and value != value:  # nan: compare the messages only
        assert outcome(check_time, value)[0] == outcome(plain_check_time, value)[0] == "error"
        return
    assert outcome(check_time, value) == outcome(plain_check_time, value)


def reference_from_json(text: str) -> Job:
    """``Job.from_json`` written plainly: ``JSONDecoder().decode``, the enums' own lookups."""
    try:
        raw = json.JSONDecoder().decode(text)
        if not isinstance(raw, list) or not raw or raw[0] != "job/2":
            raise ValueError("not a 'job/2' array")
        (_, nid, event, user, channel, address, title, body, category, critical, accepted,
         template, attempt, provider, ambiguous, first_attempt) = raw
        return Job(str(nid), str(event), str(user), Channel(channel), str(address), str(title),
                   str(body), Category(category), bool(critical), float(accepted),
                   str(template), int(attempt), int(provider), bool(ambiguous),
                   None if first_attempt is None else float(first_attempt))
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidArgument(f"job body is not a valid Job: {exc}") from exc


def parsed(text: Any, parse: Any) -> tuple[str, object]:
    try:
        return "ok", parse(text)
    except InvalidArgument as exc:
        return "error", str(exc)


JOB = Job("n1", "evt-1", "u1", Channel.SMS, "+14155550100", "Hi", "code 1234",
          Category.SECURITY, True, accepted_at=12.5, template="otp", attempt=2)
BODY = JOB.to_json()


@pytest.mark.parametrize("text", [
    BODY, f" {BODY}", f"{BODY}\n", f"\t{BODY} \r\n", f"{BODY} x", f"{BODY}{BODY}", BODY[:-1],
    f"x{BODY}", "", " ", "[]", '["job/2"]', BODY.replace('"sms"', '"fax"'),
    BODY.replace('"security"', '"gossip"'), BODY.replace('"sms"', "7"),
    BODY.replace('"sms"', '["sms"]'), BODY.replace('"security"', "null"),
    BODY.replace('"sms"', '"SMS"'), BODY.replace("12.5", '"soon"'),
    b"not text", None, 42,
])
def test_a_job_body_parses_or_fails_exactly_as_before(text: Any) -> None:
    assert parsed(text, Job.from_json) == parsed(text, reference_from_json)


@settings(max_examples=100, deadline=None)
@given(pad_left=st.sampled_from(["", " ", "\n"]), pad_right=st.sampled_from(["", " ", "\n"]),
       channel=st.text(max_size=8) | st.sampled_from([c.value for c in Channel]),
       category=st.text(max_size=14) | st.sampled_from([c.value for c in Category]))
def test_any_channel_and_category_text_parses_or_fails_as_before(
    pad_left: str, pad_right: str, channel: str, category: str
) -> None:
    fields = json.loads(BODY)
    fields[4], fields[8] = channel, category
    text = pad_left + json.dumps(fields, separators=(",", ":")) + pad_right
    assert parsed(text, Job.from_json) == parsed(text, reference_from_json)


# ── dedupe: what a store wrote, read back without decoding ──────────────────────────────


def test_a_store_sees_what_another_store_on_the_same_kv_wrote(store: Store,
                                                              clock: FakeClock) -> None:
    mine, theirs = IdempotencyStore(store.kv), IdempotencyStore(store.kv)
    now = clock.now()
    assert mine.check_and_claim(KEY, now) == (None, True)
    assert theirs.pin(KEY, now, provider="sms-backup", token="m-1#1") == "sms-backup"
    # ``mine`` wrote the claim last; the record changed since: its pin must be seen
    assert mine.pin(KEY, now, provider="sms-primary", token="m-2#1") == "sms-backup"
    record = mine.get(KEY, now)
    assert record is not None and record.pinned_to == "sms-backup"
    theirs.mark_done(KEY, now + 1.0, by="n-theirs")
    mine.mark_done(KEY, now + 2.0, by="n-mine")  # already done: the first completion stays
    assert mine.settlement(KEY, now + 3.0) == (True, "n-theirs")
    assert theirs.get(KEY, now + 3.0) == mine.get(KEY, now + 3.0)


def test_a_record_replaced_behind_the_stores_back_is_read_as_stored(clock: FakeClock) -> None:
    kv = connect("memory", clock=clock).kv
    seen = IdempotencyStore(kv)
    now = clock.now()
    seen.claim(KEY, now)
    kv.set(f"idem:delivery:{{{KEY}}}", json.dumps([round(now * 1e6), None, None, "apns", "t"]))
    record = seen.get(KEY, now)
    assert record is not None and record.pinned_to == "apns"
    kv.set(f"idem:delivery:{{{KEY}}}", "")  # a corrupt record is an error, as before
    with pytest.raises(ValueError):
        seen.get(KEY, now)


operations = st.lists(st.tuples(
    st.sampled_from(["claim", "check_and_claim", "pin", "unpin", "mark_done", "release"]),
    st.sampled_from(["k1", "k2"]),
    st.integers(0, 3),  # seconds on from the start (the window is 2 s: some records expire)
    st.sampled_from(["a", "b"]),
), max_size=25)


def apply(seen: IdempotencyStore, op: str, key: str, at: float, who: str) -> object:
    if op == "claim":
        return seen.claim(key, at)
    if op == "check_and_claim":
        return seen.check_and_claim(key, at)
    if op == "pin":
        return seen.pin(key, at, provider=f"p-{who}", token=f"t-{who}")
    if op == "unpin":
        return seen.unpin(key, at, token=f"t-{who}")
    if op == "mark_done":
        seen.mark_done(key, at, by=f"n-{who}")
        return None
    return seen.release(key)


def forget(seen: IdempotencyStore) -> IdempotencyStore:
    """``seen`` as a store that never recognises its last write: it decodes every read."""
    seen._written = None
    return seen


@settings(max_examples=150, deadline=None)
@given(ops=operations)
def test_remembering_the_last_write_changes_no_answer(
    ops: list[tuple[str, str, int, str]],
) -> None:
    """Two stores on one KeyValue, interleaved, answer as two stores that always decode."""
    clock = FakeClock(start=100.0)
    kv, plain_kv = connect("memory", clock=clock).kv, connect("memory", clock=clock).kv
    stores = [IdempotencyStore(kv, window_s=2.0), IdempotencyStore(kv, window_s=2.0)]
    plain = [IdempotencyStore(plain_kv, window_s=2.0), IdempotencyStore(plain_kv, window_s=2.0)]
    for i, (op, key, dt, who) in enumerate(ops):
        at = 100.0 + dt + i * 0.25
        got = apply(stores[i % 2], op, key, at, who)
        assert got == apply(forget(plain[i % 2]), op, key, at, who), (op, key, at, who)
        for k in ("k1", "k2"):
            assert stores[0].get(k, at) == forget(plain[0]).get(k, at)
            assert stores[1].settlement(k, at) == forget(plain[1]).settlement(k, at)
            record = plain[1].get(k, at)
            assert stores[1].settlement(k, at) == (
                (False, None) if record is None or record.done_at is None
                else (True, record.done_by))
    assert [s.statistics() for s in stores] == [s.statistics() for s in plain]
