"""The cheap encodings of the delivery path say exactly what the expensive ones said.

Jobs travel as a tagged JSON array, dedupe records are compact JSON arrays built by hand,
a worker reads and claims a dedupe record in one GET, and a provider skips encoding a
payload that cannot exceed its limit: each must agree with the plain version it replaced.
"""

from __future__ import annotations

import json
from random import Random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reference.blocks.idempotency import IdempotencyRecord, IdempotencyStore, _encode
from reference.core.clock import FakeClock
from reference.core.errors import InvalidArgument
from reference.notification.model import JOB_FORMAT, Category, Channel, Job
from reference.notification.providers import NO_FAILURES, SimulatedProvider
from reference.storage import connect

KEY = "evt-1|email|a@example.com"
FAST = settings(max_examples=60, deadline=None)

jobs = st.builds(
    Job,
    notification_id=st.text(min_size=1),
    event_id=st.text(min_size=1),
    user_id=st.text(),
    channel=st.sampled_from(Channel),
    address=st.text(),
    title=st.text(),
    body=st.text(),
    category=st.sampled_from(Category),
    critical=st.booleans(),
    accepted_at=st.floats(allow_nan=False, allow_infinity=False),
    template=st.text(),
    attempt=st.integers(1, 20),
    provider_index=st.integers(0, 5),
    ambiguous=st.booleans(),
    first_attempt_at=st.none() | st.floats(0.0, 2e9),
)


@FAST
@given(job=jobs)
def test_a_job_survives_the_queue_encoding_whatever_its_text(job: Job) -> None:
    body = job.to_json()
    assert json.loads(body)[0] == JOB_FORMAT
    assert Job.from_json(body) == job


@pytest.mark.parametrize("body", [
    "", "not json", "null", "[]", "{}", '"job/2"', '["job/0"]', '["job/2", "n1"]',
    '["job/1","n","e","u","sms","a","t","b","security",true,0.0,"",1,0,false]',
    '["job/2","n","e","u","fax","a","t","b","security",true,0.0,"",1,0,false,null]',
    '["job/2","n","e","u","sms","a","t","b","gossip",true,0.0,"",1,0,false,null]',
    '["job/2","n","e","u","sms","a","t","b","security",true,"soon","",1,0,false,null]',
    '["job/2","n","e","u","sms","a","t","b","security",true,0.0,"",1,0,false,"soon"]',
    '["job/2","n","e","u","sms","a","t","b","security",true,0.0,"",1,0,false,null,"extra"]',
    '["job/2","n","e","u","sms","a","t","b","security",true,0.0,"",1,0,false,null] trailing',
])
def test_a_malformed_job_body_is_invalid(body: str) -> None:
    with pytest.raises(InvalidArgument, match="not a valid Job"):
        Job.from_json(body)


texts = st.text(min_size=1)
optional_texts = st.none() | texts
micros = st.integers(0, 2**62)


@FAST
@given(first=micros, done_at=st.none() | micros, done_by=optional_texts,
       pinned_to=optional_texts, pin_token=optional_texts)
def test_a_dedupe_record_is_written_as_json_dumps_would_write_it(
    first: int, done_at: int | None, done_by: str | None, pinned_to: str | None,
    pin_token: str | None,
) -> None:
    fields: list[int | str | None] = [first, done_at, done_by, pinned_to, pin_token]
    assert _encode(fields) == json.dumps(fields, separators=(",", ":"))


@FAST
@given(provider=texts, token=texts, by=texts)
def test_any_provider_token_and_settler_name_survive_the_record_encoding(
    provider: str, token: str, by: str
) -> None:
    seen = IdempotencyStore(connect("memory", clock=FakeClock()).kv)
    assert seen.pin(KEY, 1.0, provider=provider, token=token) == provider
    assert seen.unpin(KEY, 2.0, token=token)
    assert seen.pin(KEY, 3.0, provider=provider, token=token) == provider
    seen.mark_done(KEY, 4.0, by=by)
    assert seen.get(KEY, 5.0) == IdempotencyRecord(KEY, 1.0, 4.0, done_by=by,
                                                   pinned_to=provider)


@pytest.mark.parametrize("state", ["absent", "claimed", "pinned", "done", "expired"])
def test_check_and_claim_answers_as_get_then_claim_unless_done(
    state: str, clock: FakeClock
) -> None:
    def prepared() -> tuple[IdempotencyStore, float]:
        seen = IdempotencyStore(connect("memory", clock=clock).kv, window_s=60.0)
        t0 = clock.now()
        if state != "absent":
            seen.claim(KEY, t0)
        if state == "pinned":
            seen.pin(KEY, t0, provider="apns", token="m1#1")
        if state == "done":
            seen.mark_done(KEY, t0, by="n1")
        return seen, t0 + (60.0 if state == "expired" else 1.0)

    one, now = prepared()
    two, _ = prepared()
    expected = two.get(KEY, now)
    first = False if expected is not None and expected.done_at is not None else two.claim(
        KEY, now)
    assert one.check_and_claim(KEY, now) == (expected, first)
    assert one.get(KEY, now) == two.get(KEY, now)
    assert one.statistics() == two.statistics()


@pytest.mark.parametrize(("call", "match"), [("key", "key="), ("now", "now=")])
def test_check_and_claim_refuses_bad_arguments_and_writes_nothing(
    call: str, match: str, clock: FakeClock
) -> None:
    seen = IdempotencyStore(connect("memory", clock=clock).kv)
    with pytest.raises(InvalidArgument, match=match):
        if call == "key":
            seen.check_and_claim("", clock.now())
        else:
            seen.check_and_claim(KEY, float("inf"))
    assert seen.get(KEY, clock.now()) is None
    assert seen.statistics().claims == 0


@settings(max_examples=150, deadline=None)
@given(title=st.text(max_size=40), body=st.text(max_size=60), limit=st.integers(1, 1200))
def test_a_payload_is_refused_exactly_when_its_json_exceeds_the_limit(
    title: str, body: str, limit: int
) -> None:
    job = Job("n1", "evt-1", "u1", Channel.IOS_PUSH, "tok", title, body,
              Category.SOCIAL, False, accepted_at=0.0)
    apns = SimulatedProvider("apns", Channel.IOS_PUSH, rng=Random(1), failures=NO_FAILURES,
                             payload_limit_bytes=limit)
    size = len(json.dumps({"title": title, "body": body}).encode("utf-8"))
    result = apns.send(job, idempotency_key=job.dedupe_key, now=1.0)
    assert (result.code == "payload_too_large") == (size > limit)
