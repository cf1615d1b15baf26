"""The deterministic core every chapter stands on: clock, ids, sim, errors."""

from reference.core.clock import Clock, FakeClock, SystemClock
from reference.core.errors import (
    BackendError,
    ClockMovedBackwards,
    Conflict,
    InvalidArgument,
    LabError,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    Unauthorized,
)

__all__ = [
    "BackendError",
    "Clock",
    "ClockMovedBackwards",
    "Conflict",
    "FakeClock",
    "InvalidArgument",
    "LabError",
    "NotFound",
    "PayloadTooLarge",
    "RateLimited",
    "SystemClock",
    "Unauthorized",
]
