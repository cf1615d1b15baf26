"""Storage: seven small ports and the backends behind them (memory, fakeredis, real Redis).

Services depend on the ports in :mod:`reference.storage.ports`, never on a client library;
:func:`connect` picks the backend and returns a :class:`Store` holding one of each port.

Examples
--------
>>> from reference.core.clock import FakeClock
>>> with connect("memory", clock=FakeClock(start=1_700_000_000.0)) as store:
...     store.counter.incr("seq:{general}")
1
"""

from reference.storage.client import CommandRecorder
from reference.storage.ports import (
    ID_WIDTH,
    MAX_EXACT_SCORE,
    CappedList,
    Counter,
    DeadLetter,
    Delivery,
    IdTimeline,
    KeyValue,
    PubSub,
    QueueStatistics,
    Subscription,
    Timeline,
    WindowAdd,
    WorkQueue,
)
from reference.storage.store import BACKENDS, Store, connect

__all__ = [
    "BACKENDS",
    "ID_WIDTH",
    "MAX_EXACT_SCORE",
    "CappedList",
    "CommandRecorder",
    "Counter",
    "DeadLetter",
    "Delivery",
    "IdTimeline",
    "KeyValue",
    "PubSub",
    "QueueStatistics",
    "Store",
    "Subscription",
    "Timeline",
    "WindowAdd",
    "WorkQueue",
    "connect",
]
