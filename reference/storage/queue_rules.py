"""What both work-queue backends agree on: message ids, group settings, dead-letter reasons.

Message ids are Redis Stream ids, ``"<ms>-<seq>"``: the publish time in milliseconds on the
injected clock, then a sequence number within that millisecond. The memory backend issues
exactly the ids a Redis Stream would, so a run prints the same ids on every backend.

Ids order messages by the pair ``(ms, seq)``, which :func:`message_order` returns; as plain
strings they sort correctly only while the sequence stays below 10, so compare with it.

Examples
--------
>>> next_message_id(None, now_ms=1_700_000_000_000)
'1700000000000-0'
>>> next_message_id(None, now_ms=0)                                  # 0-0 is not a valid id
'0-1'
>>> next_message_id("1700000000000-0", now_ms=1_700_000_000_000)
'1700000000000-1'
>>> next_message_id("1700000000005-3", now_ms=1_700_000_000_000)   # clock went backwards
'1700000000005-4'
>>> next_message_order((1_700_000_000_005, 3), now_ms=1_700_000_000_000)   # the same, as pairs
(1700000000005, 4)
>>> sorted(["5-10", "5-9", "4-99"], key=message_order)
['4-99', '5-9', '5-10']
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from reference.core.checks import check_positive_seconds
from reference.core.errors import InvalidArgument
from reference.storage.checks import check_int

__all__ = [
    "EXHAUSTED",
    "GroupSettings",
    "check_message_id",
    "check_message_ids",
    "exhausted_reason",
    "message_order",
    "next_message_id",
    "next_message_order",
]

_MESSAGE_ID = re.compile(r"(0|[1-9][0-9]{0,19})-(0|[1-9][0-9]{0,19})")


def check_message_id(value: object, name: str = "message_id") -> str:
    """A stream id ``"<ms>-<seq>"`` of two non-negative integers."""
    if not isinstance(value, str) or not _MESSAGE_ID.fullmatch(value):
        raise InvalidArgument.bad_value(name, value, "a message id like '1700000000000-0'")
    return value


def check_message_ids(message_ids: object) -> set[str] | None:
    """None (meaning all), or a sequence of ids as a set; a lone str is refused."""
    if message_ids is None:
        return None
    if isinstance(message_ids, str) or not isinstance(message_ids, Sequence):
        raise InvalidArgument.bad_value(
            "message_ids", message_ids, "None or a sequence of message ids"
        )
    return {check_message_id(mid, "message_ids[]") for mid in message_ids}


def message_order(message_id: str) -> tuple[int, int]:
    """The ``(ms, seq)`` pair ids are ordered by."""
    ms, _, seq = message_id.partition("-")
    return int(ms), int(seq)


def next_message_order(last: tuple[int, int], *, now_ms: int) -> tuple[int, int]:
    """The ``(ms, seq)`` of the next entry after ``last`` (``(0, 0)`` for an empty stream).

    A backend that keeps the last pair (the memory queue) saves parsing its last id back.
    """
    last_ms, last_seq = last
    if now_ms > last_ms:
        return now_ms, 0
    return last_ms, last_seq + 1


def next_message_id(last_id: str | None, *, now_ms: int) -> str:
    """The id a Stream gives the next entry: above the last one (and above ``0-0``)."""
    last = (0, 0) if last_id is None else message_order(last_id)
    ms, seq = next_message_order(last, now_ms=now_ms)
    return f"{ms}-{seq}"


#: how the reason of a dead letter the queue made itself begins (see :func:`exhausted_reason`)
EXHAUSTED = "visibility timeout expired"


def exhausted_reason(deliveries: int, max_deliveries: int) -> str:
    """The reason recorded when a message times out after its last allowed delivery."""
    return f"{EXHAUSTED} after {deliveries} deliveries (max_deliveries={max_deliveries})"


@dataclass(frozen=True, slots=True)
class GroupSettings:
    """A consumer group's fixed settings; re-creating a group must repeat them exactly."""

    visibility_timeout_s: float
    max_deliveries: int

    @classmethod
    def checked(cls, visibility_timeout_s: object, max_deliveries: object) -> GroupSettings:
        """Validate and build (InvalidArgument on a bad value)."""
        return cls(
            visibility_timeout_s=check_positive_seconds(
                "visibility_timeout_s", visibility_timeout_s,
                expected="a finite number of seconds > 0",
            ),
            max_deliveries=check_int("max_deliveries", max_deliveries, 1),
        )
