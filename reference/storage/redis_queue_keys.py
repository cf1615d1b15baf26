"""Where one Redis work queue keeps its state: the key layout, all under one hash tag.

Redis Streams already have consumer groups (XGROUP, XREADGROUP, XACK), but their idle
times and XAUTOCLAIM run on the *server's* clock, which a test or a notebook cannot move.
So the Stream is the log and hands each new message to one consumer of a group, and a
few keys of our own track the rest on our clock. All keys of a queue share its hash tag,
so the whole queue lives on one Redis Cluster slot:

===================================== ====== ============================================
key (namespace ``lab``, queue ``jobs``) type   holds
===================================== ====== ============================================
``lab:q:{jobs}:log``                  STREAM the messages: ``body``, ``published_at``
``lab:q:{jobs}:groups``               HASH   group -> settings (JSON)
``lab:q:{jobs}:g:<group>:inflight``   ZSET   handed-out message id -> visibility deadline
``lab:q:{jobs}:g:<group>:deliveries`` HASH   message id -> times handed out
``lab:q:{jobs}:g:<group>:dead``       LIST   dead-letter ids, oldest first
``lab:q:{jobs}:g:<group>:dead:data``  HASH   message id -> dead letter (JSON)
``lab:q:{jobs}:g:<group>:stats``      HASH   counters, and the log length at creation
===================================== ====== ============================================

Examples
--------
>>> keys = QueueKeys.of("lab", "notify.ios", "senders")
>>> keys.log, keys.inflight
('lab:q:{notify.ios}:log', 'lab:q:{notify.ios}:g:senders:inflight')
"""

from __future__ import annotations

from dataclasses import dataclass

from reference.storage.checks import check_name

__all__ = ["QueueKeys", "log_key"]


def log_key(namespace: str, queue: str) -> str:
    """The Stream holding ``queue``'s messages."""
    return f"{namespace}:q:{{{check_name('queue', queue)}}}:log"


@dataclass(frozen=True, slots=True)
class QueueKeys:
    """The keys of one (queue, consumer group) pair."""

    log: str
    groups: str
    inflight: str
    deliveries: str
    dead: str
    dead_data: str
    stats: str

    @classmethod
    def of(cls, namespace: str, queue: str, group: str) -> QueueKeys:
        """Validate the names (no braces) and build the keys."""
        base = f"{namespace}:q:{{{check_name('queue', queue)}}}"
        per_group = f"{base}:g:{check_name('group', group)}"
        return cls(
            log=f"{base}:log",
            groups=f"{base}:groups",
            inflight=f"{per_group}:inflight",
            deliveries=f"{per_group}:deliveries",
            dead=f"{per_group}:dead",
            dead_data=f"{per_group}:dead:data",
            stats=f"{per_group}:stats",
        )
