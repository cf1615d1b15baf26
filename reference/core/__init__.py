"""The deterministic core every chapter stands on: clock, ids, sim, errors."""

from reference.core.checking import Anomaly, CheckerSpec, CheckReport
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
from reference.core.faults import CrashPlan, FaultInjector, FaultPlan
from reference.core.ids import LocalSequence, SnowflakeGenerator, decode, encode
from reference.core.sim import Simulation

__all__ = [
    "Anomaly",
    "BackendError",
    "CheckReport",
    "CheckerSpec",
    "Clock",
    "ClockMovedBackwards",
    "Conflict",
    "CrashPlan",
    "FakeClock",
    "FaultInjector",
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
