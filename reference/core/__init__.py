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
from reference.core.ids import LocalSequence, SnowflakeGenerator, decode, encode
from reference.core.sim import FaultPlan, Simulation

__all__ = [
    "BackendError",
    "Clock",
    "ClockMovedBackwards",
    "Conflict",
    "FakeClock",
    "FaultPlan",
    "InvalidArgument",
    "LabError",
    "LocalSequence",
    "NotFound",
    "PayloadTooLarge",
    "RateLimited",
    "Simulation",
    "SnowflakeGenerator",
    "SystemClock",
    "Unauthorized",
    "decode",
    "encode",
]
