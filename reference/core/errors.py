"""A small typed error hierarchy whose messages say what was wrong and what was expected.

Every component raises one of these *before* it writes anything, so a caller that catches
:class:`LabError` knows nothing was half-applied.

Examples
--------
>>> from reference.core.errors import InvalidArgument
>>> err = InvalidArgument.bad_value("worker_id", 40, "an integer in 0..31")
>>> str(err)
'worker_id=40 is invalid: expected an integer in 0..31'
>>> isinstance(err, ValueError)
True
"""

from __future__ import annotations

__all__ = [
    "BackendError",
    "ClockMovedBackwards",
    "Conflict",
    "InvalidArgument",
    "LabError",
    "NotFound",
    "PayloadTooLarge",
    "RateLimited",
    "Unauthorized",
]


_LONGEST_SHOWN = 80  # longer reprs of a bad value are cut in error messages


class LabError(Exception):
    """Base of every error the lab raises on purpose."""


class InvalidArgument(LabError, ValueError):
    """An argument has the wrong type, range or shape."""

    @classmethod
    def bad_value(cls, name: str, got: object, expected: str) -> InvalidArgument:
        """Build the standard message: ``name=got is invalid: expected ...`` (a value whose
        repr is longer than 80 characters is shown by its start and its length)."""
        shown = repr(got)
        if len(shown) > _LONGEST_SHOWN:
            shown = f"{shown[:60]}... ({len(shown)} characters)"
        return cls(f"{name}={shown} is invalid: expected {expected}")


class PayloadTooLarge(InvalidArgument):
    """A payload exceeds a size limit (for example APNs' 4 KB)."""

    def __init__(self, what: str, size_bytes: int, limit_bytes: int) -> None:
        super().__init__(
            f"{what} is {size_bytes} bytes: expected at most {limit_bytes} bytes"
        )
        self.size_bytes = size_bytes
        self.limit_bytes = limit_bytes


class NotFound(LabError, LookupError):
    """A named thing (user, template, channel, key) does not exist."""

    def __init__(self, kind: str, key: object, hint: str = "") -> None:
        message = f"{kind} {key!r} not found"
        if hint:
            message += f": {hint}"
        super().__init__(message)
        self.kind = kind
        self.key = key


class Conflict(LabError):
    """The request contradicts current state (already exists, wrong version, ...)."""


class Unauthorized(LabError):
    """Credentials are missing, wrong, expired or replayed."""


class RateLimited(LabError):
    """Too many requests in a window; ``retry_after_s`` says when to try again."""

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(f"{message} (retry after {retry_after_s:.3f} s)")
        self.retry_after_s = retry_after_s


class ClockMovedBackwards(LabError):
    """The clock went backwards; issuing an id now could duplicate an earlier one."""

    def __init__(self, last_ms: int, now_ms: int) -> None:
        super().__init__(
            f"clock moved backwards by {last_ms - now_ms} ms (last id at {last_ms} ms, "
            f"clock now at {now_ms} ms): refusing to issue ids until the clock passes "
            f"{last_ms} ms, or use on_clock_rollback='wait'"
        )
        self.last_ms = last_ms
        self.now_ms = now_ms


class BackendError(LabError):
    """A storage backend cannot be chosen or reached (bad URL, unknown name, server down)."""
