"""The web tier (웹 서버): a load balancer in front of stateless web servers (the notes' 6-7).

A feed request reaches a load balancer, which hands it to one of several web servers in
turn (round robin); the web server authenticates and rate-limits in a real system, and calls
the news feed service. The servers keep no state of their own, which is why any of them can
answer any request and why adding one is all it takes to serve more readers.

Examples
--------
>>> class Echo:
...     def page(self, user, *, before=None, limit=20):
...         return (user, before, limit)
>>> balancer = LoadBalancer([WebServer("web-1", Echo()), WebServer("web-2", Echo())])
>>> [balancer.get_feed("ada") for _ in range(3)]
[('ada', None, 20), ('ada', None, 20), ('ada', None, 20)]
>>> balancer.statistics()
{'web-1': 2, 'web-2': 1}
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from reference.core.errors import InvalidArgument
from reference.feed.model import PAGE_SIZE, PostId, UserId

__all__ = ["LoadBalancer", "WebServer"]


class FeedService(Protocol):
    def page(self, user: UserId, *, before: PostId | None = None, limit: int = PAGE_SIZE
             ) -> Any: ...


class WebServer:
    """A stateless web server: counts the requests it served and passes them on."""

    def __init__(self, name: str, service: FeedService) -> None:
        self.name = name
        self.service = service
        self.requests = 0

    def get_feed(self, user: UserId, *, before: PostId | None, limit: int) -> Any:
        self.requests += 1
        return self.service.page(user, before=before, limit=limit)


class LoadBalancer:
    """Round robin over ``servers`` (at least one)."""

    def __init__(self, servers: Sequence[WebServer]) -> None:
        if not servers:
            raise InvalidArgument.bad_value("servers", servers, "at least one WebServer")
        self.servers = tuple(servers)
        self._next = 0

    def get_feed(self, user: UserId, *, before: PostId | None = None,
                 limit: int = PAGE_SIZE) -> Any:
        server = self.servers[self._next]
        self._next = (self._next + 1) % len(self.servers)
        return server.get_feed(user, before=before, limit=limit)

    def statistics(self) -> dict[str, int]:
        """Requests served per web server."""
        return {server.name: server.requests for server in self.servers}
