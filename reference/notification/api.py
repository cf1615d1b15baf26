"""The Notification API (알림 API): from a service's signed request to jobs on channel queues.

The intake side of chapter 10, stateless (every piece of state lives in the store, so any
number of API instances can run behind a load balancer). :meth:`NotificationAPI.submit` runs
two phases:

**Check** (reads only; any failure raises and leaves the store exactly as it was)

1. authenticate: app key, timestamp, HMAC signature (:mod:`.auth`; a malformed request,
   such as a ``None`` body or text with a lone surrogate, cannot even be built);
2. validate the request fields (:mod:`.validation`);
3. load the user's contact info (:mod:`.contacts`) — an unknown user is NotFound;
4. load the template, check it covers the requested channels, render it (:mod:`.templates`)
   and check every channel's payload limit;
5. decide per channel from the user's settings (:mod:`.settings`): send, defer, suppress.

**Commit** (writes)

6. claim the request's nonce (a replay stops here, still with nothing else written);
7. per channel, in Knock's order: no contact info → suppressed; opted out → suppressed;
   over the per-user rate limit (전송률 제한), asked only for an address this event was
   never granted (:class:`EventGrants`) → suppressed; else one :class:`~.model.Job`
   per (channel, address) with a Snowflake ``notification_id``, published on the channel's
   queue — or, inside quiet hours, scheduled on the ``deferred`` delayed queue;
8. record ``accepted`` then ``queued`` / ``deferred`` / ``suppressed`` on the notification
   log (every suppression with its reason).

Knock renders after the rate limit; here rendering moves into the check phase because a
missing template variable or an oversized payload must be found before the first write. The
order in which *reasons* win is still Knock's.

Choices worth knowing:

- **Critical** notifications bypass opt-outs, quiet hours *and* the per-user rate limit: a
  password-reset code must never wait or be throttled. (They still need contact info.)
- The rate limit is counted once per (user, channel) per request, however many devices the
  user has, for sends and deferrals alike; over the limit the channel is suppressed with
  reason ``rate_limited:channel=...`` (throttle: drop), not queued for later.
- **Duplicate event ids are not rejected here, and not charged twice.** Two submissions of
  ``event_id`` produce two sets of jobs with the same :attr:`~.model.Job.dedupe_key`; the
  workers' dedupe makes the *effect* (the message on the phone) happen once. The intake
  cannot be the place for exactly-once anyway: a job can still be redelivered by the queue
  after this point. But a repeat must not spend the user's budget, or ten retries of one
  event would throttle the user's next real notification: the store remembers which
  (channel, address) of each event the limit granted (:class:`EventGrants`, for the
  workers' 24 h dedupe window), and a channel with nothing new is not charged again.
- Work-queue consumer groups must exist before the first submit (a group sees only
  messages published after it is created):
  :func:`reference.notification.pump.ensure_groups` creates them.
- A deferred job is released by :meth:`NotificationAPI.release_deferred` (the pump), which
  reads the user's opt-outs again first: a user who opts out of its channel or category
  during their quiet hours does not get it (it is suppressed, reason
  ``opted_out:... (while deferred)``). Quiet hours are not decided again: the job leaves at
  the time it was promised.

Examples
--------
>>> from random import Random
>>> from reference.core.clock import FakeClock
>>> from reference.core.ids import SnowflakeGenerator
>>> from reference.storage import connect
>>> from reference.notification.tracking import NotificationLog
>>> from reference.notification.pump import ensure_groups
>>> from reference.notification.model import WORKER_GROUP
>>> clock = FakeClock(start=1_767_225_600.0)                  # 2026-01-01 00:00 UTC
>>> store = connect("memory", clock=clock)
>>> log = NotificationLog()
>>> api = NotificationAPI.from_store(store, clock=clock, log=log,
...                                  ids=SnowflakeGenerator(clock, worker_id=1))
>>> ensure_groups(store.queue)
>>> api.contacts.register_user("u42", phone="+14155550100", email="ada@example.com")
>>> api.templates.publish("welcome", title="Welcome", body="Hi ${name}!",
...                       channels=[Channel.SMS, Channel.EMAIL])
1
>>> app_key, app_secret = api.registry.create_app("signup-service", Random(1))
>>> from reference.notification.client import NotificationClient
>>> client = NotificationClient(api, app_key=app_key, app_secret=app_secret, clock=clock,
...                             rng=Random(2))
>>> receipt = client.send(NotificationRequest("evt-1", "u42", "welcome", {"name": "Ada"},
...                                           channels=(Channel.SMS, Channel.EMAIL)))
>>> [(e.channel.value, e.address, e.status.value) for e in receipt.entries]
[('sms', '+14155550100', 'queued'), ('email', 'ada@example.com', 'queued')]
>>> store.queue.statistics(queue_name(Channel.SMS), WORKER_GROUP).depth
1
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from reference.blocks.delayed_queue import DelayedQueue
from reference.blocks.ratelimit import RateLimiterLike
from reference.core.clock import US_PER_S, Clock
from reference.core.errors import InvalidArgument, LabError
from reference.core.ids import SnowflakeGenerator
from reference.notification.auth import AppRegistry, RequestVerifier, SignedRequest
from reference.notification.contacts import ContactBook
from reference.notification.model import (
    IDEMPOTENCY_WINDOW_S,
    Channel,
    Job,
    NotificationRequest,
    Status,
    StatusChange,
    StatusRecorder,
    check_instant,
    queue_name,
)
from reference.notification.records import NotificationRecords
from reference.notification.settings import (
    Decision,
    Defer,
    Preferences,
    SettingsStore,
    Suppress,
    decide,
)
from reference.notification.templates import Rendered, Template, TemplateStore, render_template
from reference.notification.validation import (
    batch_items,
    check_content,
    note_request,
    parse_request,
    request_from_fields,
    require_template_channels,
)
from reference.storage.ports import KeyValue, Timeline, WorkQueue

__all__ = [
    "API_PATH",
    "BATCH_API_PATH",
    "DEFERRED_QUEUE",
    "APIStatistics",
    "EventGrants",
    "NotificationAPI",
    "Receipt",
    "ReceiptEntry",
    "StoreLike",
]

API_PATH = "/v1/notifications"
BATCH_API_PATH = "/v1/notifications:batch"  # signed like API_PATH: a signature names its path
DEFERRED_QUEUE = "deferred"  # the DelayedQueue name for quiet-hours deferrals


class StoreLike(Protocol):
    """The parts of a connected store (``reference.storage.connect``) the API uses."""

    @property
    def kv(self) -> KeyValue: ...

    @property
    def timeline(self) -> Timeline: ...

    @property
    def queue(self) -> WorkQueue: ...


@dataclass(frozen=True, slots=True)
class ReceiptEntry:
    """The outcome for one (channel, address); ``address`` is "" when the user has none.

    ``status`` is QUEUED, DEFERRED (``due_at`` says until when) or SUPPRESSED (``reason``
    says why: ``no_contact:...``, ``opted_out:...``, ``rate_limited:...``).
    """

    channel: Channel
    address: str
    notification_id: str
    status: Status
    reason: str = ""
    due_at: float | None = None


@dataclass(frozen=True, slots=True)
class Receipt:
    """What ``submit`` answers: the request's identity and one entry per (channel, address)."""

    event_id: str
    user_id: str
    app_name: str
    accepted_at: float
    entries: tuple[ReceiptEntry, ...]

    def with_status(self, status: Status) -> tuple[ReceiptEntry, ...]:
        """The entries that ended in ``status``."""
        return tuple(e for e in self.entries if e.status is status)


@dataclass(frozen=True, slots=True)
class APIStatistics:
    """What this API instance has done (entries count (channel, address) outcomes).

    A batch counts each of its requests; a batch whose body cannot be parsed or
    authenticated counts as one rejected request (how many it held is unknown).
    ``opted_out_while_deferred`` counts deferred jobs suppressed at release because the user
    had opted out of their channel or category in the meantime.
    """

    requests: int
    rejected: int
    accepted: int
    queued: int
    deferred: int
    suppressed: int
    rate_limited: int
    released: int
    opted_out_while_deferred: int


class EventGrants:
    """Which (channel, address) of a user's event already passed the per-user rate limit.

    A calling service may send an event again: a retry after a timeout, an at-least-once
    producer. The repeat's jobs carry the same dedupe key (event, channel, address) as the
    first ones, and the workers let at most one of them take effect, so the repeat must not
    spend the user's budget a second time. Each grant is therefore remembered, and a channel
    whose every address was granted for this event before is not charged again. Only grants
    are remembered: a channel suppressed at intake (no contact, opted out, over the limit)
    took nothing, so a repeat decides it afresh.

    Parameters
    ----------
    kv : KeyValue
        One hash per (user, event), ``grants:{<user_id>}:<event_id>``, one field per
        ``<channel>|<address>`` holding the grant's time in whole microseconds.
    window_s : float
        How long a grant counts: the workers' dedupe window (24 h). Past it a repeat has an
        effect of its own again, and pays for it.

    Notes
    -----
    One HGETALL per non-critical request that reaches the limiter, one HSET per request
    that was granted something. The store, not the API instance, holds the grants, so a
    repeat sent to another API server is recognised too. Reading and writing are two
    steps: two servers handling the same event at the same instant may both be charged, so
    the limit errs on the strict side, never the loose one. The hashes have no TTL (the
    key-value port has none); production would add one beyond the window, as hygiene only.

    Examples
    --------
    >>> from reference.core.clock import FakeClock
    >>> from reference.storage import connect
    >>> grants = EventGrants(connect("memory", clock=FakeClock()).kv, window_s=60.0)
    >>> grants.remember("u1", "evt-1", ["sms|+14155550100"], now=0.0)
    >>> sorted(grants.granted("u1", "evt-1", now=59.0)), grants.granted("u1", "evt-1", now=60.0)
    (['sms|+14155550100'], frozenset())
    """

    __slots__ = ("_kv", "_window_us")

    def __init__(self, kv: KeyValue, *, window_s: float = IDEMPOTENCY_WINDOW_S) -> None:
        if not isinstance(kv, KeyValue):
            raise InvalidArgument.bad_value("kv", kv, "a KeyValue port (store.kv)")
        self._kv = kv
        window = check_instant("window_s", window_s, "at least a microsecond, finite",
                               low=1 / US_PER_S)
        self._window_us = round(window * US_PER_S)

    @staticmethod
    def _key(user_id: str, event_id: str) -> str:
        return f"grants:{{{user_id}}}:{event_id}"

    def granted(self, user_id: str, event_id: str, *, now: float) -> frozenset[str]:
        """The ``<channel>|<address>`` fields of the event granted within the window."""
        now_us = round(now * US_PER_S)
        fields = self._kv.hgetall(self._key(user_id, event_id))
        return frozenset(f for f, at in fields.items() if now_us < int(at) + self._window_us)

    def remember(self, user_id: str, event_id: str, fields: list[str], *, now: float) -> None:
        """Record that ``fields`` of the event were granted at ``now``."""
        at = str(round(now * US_PER_S))
        self._kv.hset(self._key(user_id, event_id), dict.fromkeys(fields, at))

    def __repr__(self) -> str:
        return f"EventGrants(window_s={self._window_us / US_PER_S!r})"


def _check_route(signed: SignedRequest, path: str) -> None:
    """Refuse a request signed for another method or path than this endpoint's."""
    if signed.method != "POST" or signed.path != path:
        raise InvalidArgument(
            f"{signed.method} {signed.path} is not this endpoint: expected POST {path}"
        )


@dataclass(frozen=True, slots=True)
class _Plan:
    channel: Channel
    addresses: tuple[str, ...]
    decision: Decision
    ids: tuple[str, ...]  # one notification id per address (one for "no address")


class NotificationAPI:
    """Accept signed notification requests and turn them into per-channel jobs.

    Parameters
    ----------
    clock : Clock
        The injected clock (``accepted_at``, quiet hours, the replay window).
    verifier : RequestVerifier
        Authentication.
    contacts, templates, settings : ContactBook, TemplateStore, SettingsStore
        Where addresses, wording and preferences come from.
    queue : WorkQueue
        The work-queue port; jobs go to ``queue_name(channel)``.
    deferred : DelayedQueue
        Where quiet-hours jobs wait (name :data:`DEFERRED_QUEUE`).
    log : StatusRecorder
        The notification log (``reference.notification.tracking.NotificationLog``), or the
        notification DB in front of it (:class:`NotificationRecords`): then each job is
        also saved there before it is queued or deferred, so a job the broker loses is
        found again.
    ids : SnowflakeGenerator
        Issues ``notification_id`` values (one per (channel, address) outcome).
    grants : EventGrants
        Which (event, channel, address) already passed the limit: a repeated event is not
        charged again (see :class:`EventGrants`).
    limiter : RateLimiterLike or None
        Per-user limit, asked with key ``"<user_id>|<channel>"``; None means no limit.

    Notes
    -----
    ``submit`` costs: a handful of reads (app, contacts, template, settings), then per
    channel one limiter call and per address one publish (or one ZADD) and two log records,
    plus an HSET and a ZADD when the log is the notification DB. With a limiter, a
    non-critical request also reads its event's grants (one HGETALL) and, when granted,
    records them (one HSET).
    Nothing is cached between requests: that is what makes the instance stateless.
    """

    __slots__ = (
        "_clock",
        "_counts",
        "_deferred",
        "_grants",
        "_ids",
        "_limiter",
        "_log",
        "_queue",
        "_records",
        "contacts",
        "registry",
        "settings",
        "templates",
        "verifier",
    )

    def __init__(
        self,
        *,
        clock: Clock,
        verifier: RequestVerifier,
        contacts: ContactBook,
        templates: TemplateStore,
        settings: SettingsStore,
        queue: WorkQueue,
        deferred: DelayedQueue,
        log: StatusRecorder,
        ids: SnowflakeGenerator,
        grants: EventGrants,
        limiter: RateLimiterLike | None = None,
    ) -> None:
        checks: list[tuple[str, object, type | tuple[type, ...]]] = [
            ("clock", clock, Clock),
            ("verifier", verifier, RequestVerifier),
            ("contacts", contacts, ContactBook),
            ("templates", templates, TemplateStore),
            ("settings", settings, SettingsStore),
            ("queue", queue, WorkQueue),
            ("deferred", deferred, DelayedQueue),
            ("ids", ids, SnowflakeGenerator),
            ("grants", grants, EventGrants),
        ]
        for name, value, kind in checks:
            if not isinstance(value, kind):
                raise InvalidArgument.bad_value(name, value, f"a {getattr(kind, '__name__', kind)}")
        if not callable(getattr(log, "record", None)):
            raise InvalidArgument.bad_value("log", log, "a StatusRecorder with record(change)")
        if limiter is not None and not callable(getattr(limiter, "acquire", None)):
            raise InvalidArgument.bad_value("limiter", limiter, "a limiter with acquire(key)")
        self._clock = clock
        self.verifier = verifier
        self.registry = verifier.registry
        self.contacts = contacts
        self.templates = templates
        self.settings = settings
        self._queue = queue
        self._deferred = deferred
        self._log = log
        self._ids = ids
        self._grants = grants
        self._limiter = limiter
        self._records = log if isinstance(log, NotificationRecords) else None
        self._counts = dict.fromkeys(APIStatistics.__dataclass_fields__, 0)

    @classmethod
    def from_store(
        cls,
        store: StoreLike,
        *,
        clock: Clock,
        log: StatusRecorder,
        ids: SnowflakeGenerator,
        limiter: RateLimiterLike | None = None,
    ) -> NotificationAPI:
        """Wire every intake component onto one connected store."""
        registry = AppRegistry(store.kv)
        return cls(
            clock=clock,
            verifier=RequestVerifier(registry, store.kv, store.timeline),
            contacts=ContactBook(store.kv),
            templates=TemplateStore(store.kv),
            settings=SettingsStore(store.kv),
            queue=store.queue,
            deferred=DelayedQueue(store.timeline, name=DEFERRED_QUEUE),
            log=log,
            ids=ids,
            grants=EventGrants(store.kv),
            limiter=limiter,
        )

    # ── submit ──────────────────────────────────────────────────────────────────────────

    def submit(self, signed: SignedRequest) -> Receipt:
        """Authenticate, validate, decide and enqueue one notification request.

        Returns
        -------
        Receipt
            One entry per (channel, address), in the request's channel order.

        Raises
        ------
        Unauthorized
            Bad credentials, signature, timestamp, or a replayed nonce.
        InvalidArgument
            A malformed request, a template without a requested channel, a missing template
            variable; :class:`~reference.core.errors.PayloadTooLarge` for an oversized one.
        NotFound
            An unknown user or template.
        ClockMovedBackwards
            The id generator refuses a clock that went backwards (ids are drawn before the
            first write, so this too leaves the request unspent).

        In every case nothing is queued, scheduled, rate-counted or logged.
        """
        return self._submit(signed, batch=False)[0]

    def submit_batch(self, signed: SignedRequest) -> tuple[Receipt, ...]:
        """Like :meth:`submit`, for a batch body of up to ``MAX_BATCH_REQUESTS`` requests.

        One signature, one timestamp and one nonce cover the whole batch (that is what makes
        a batch cheap: authentication and parsing are paid once); every request is then
        checked exactly as :meth:`submit` checks one, and only when *all* pass is anything
        written. Requests are committed in order, so two requests for the same user share
        that user's rate limit as two separate calls would.

        Returns
        -------
        tuple of Receipt
            One per request, in the batch's order.

        Raises
        ------
        The same errors as :meth:`submit`; a request's own error carries a note naming its
        index and event id (``in requests[3] (event_id='evt-9')``). One bad request rejects the
        batch: nothing is written.
        """
        return self._submit(signed, batch=True)

    def _submit(self, signed: SignedRequest, *, batch: bool) -> tuple[Receipt, ...]:
        now = self._clock.now()
        try:
            caller = self.verifier.check(signed, now)
            _check_route(signed, BATCH_API_PATH if batch else API_PATH)
            items = batch_items(signed.body) if batch else [parse_request(signed.body)]
        except Exception:
            self._counts["requests"] += 1  # a body that cannot be read is one request
            self._counts["rejected"] += 1
            raise
        self._counts["requests"] += len(items)
        templates: dict[str, Template] = {}  # one read per template name per call
        checked = []
        try:
            for index, item in enumerate(items):
                try:
                    request = item if not batch else request_from_fields(item)
                    checked.append((request, *self._check(request, now, templates)))
                except LabError as exc:
                    if batch:
                        note_request(exc, index, item)
                    raise
            self.verifier.claim_nonce(caller, now)  # the first write
        except Exception:
            self._counts["rejected"] += len(items)
            raise
        self._counts["accepted"] += len(items)
        receipts = []
        for request, rendered, plans in checked:
            entries = self._commit_request(request, rendered, plans, now)
            receipts.append(Receipt(
                event_id=request.event_id,
                user_id=request.user_id,
                app_name=caller.app_name,
                accepted_at=now,
                entries=tuple(entries),
            ))
        return tuple(receipts)

    def _check(
        self, request: NotificationRequest, now: float, templates: dict[str, Template]
    ) -> tuple[Rendered, list[_Plan]]:
        """Every read and check for one request, and its ids; writes nothing."""
        contacts = self.contacts.get(request.user_id)
        template = templates.get(request.template)
        if template is None:
            template = templates[request.template] = self.templates.get(request.template)
        require_template_channels(template, request.channels)
        rendered = render_template(template, request.variables)
        prefs = self.settings.get(request.user_id)
        plans = []
        for channel in request.channels:
            check_content(channel, rendered.title, rendered.body)
            decision = decide(
                prefs,
                channel=channel,
                category=request.category,
                critical=request.critical,
                now=now,
            )
            addresses = contacts.addresses(channel)
            # ids are drawn before any write: a clock rollback refuses here, not halfway
            ids = tuple(str(self._ids.next_id()) for _ in addresses or ("",))
            plans.append(_Plan(channel, addresses, decision, ids))
        return rendered, plans

    def _commit_request(self, request: NotificationRequest, rendered: Rendered,
                        plans: list[_Plan], now: float) -> list[ReceiptEntry]:
        """Every write of one checked request, channel by channel in its order; the event's
        grants are read once before and the new ones written once after."""
        charged = self._limiter is not None and not request.critical and any(
            p.addresses and not isinstance(p.decision, Suppress) for p in plans)
        granted = (self._grants.granted(request.user_id, request.event_id, now=now)
                   if charged else frozenset())
        fresh: list[str] = []
        entries: list[ReceiptEntry] = []
        for plan in plans:
            reason = self._suppression(plan, request, granted, fresh)
            entries.extend(self._commit(plan, request, rendered.title, rendered.body, now,
                                        reason))
        if fresh:
            self._grants.remember(request.user_id, request.event_id, fresh, now=now)
        return entries

    def _suppression(self, plan: _Plan, request: NotificationRequest,
                     granted: frozenset[str], fresh: list[str]) -> str | None:
        """Why ``plan``'s channel is suppressed at intake (None: it goes), in Knock's order.

        The per-user limit is asked once per channel, and only if the channel reaches an
        address this event was never granted (a repeated event is not charged again); the
        fields it is granted are appended to ``fresh``."""
        channel = plan.channel.value
        if not plan.addresses:
            return f"no_contact:channel={channel}"
        if isinstance(plan.decision, Suppress):
            return plan.decision.reason
        if self._limiter is not None and not request.critical:
            new = [f for a in plan.addresses if (f := f"{channel}|{a}") not in granted]
            if new:
                verdict = self._limiter.acquire(f"{request.user_id}|{channel}")
                if not verdict.allowed:
                    self._counts["rate_limited"] += 1
                    return f"rate_limited:channel={channel}"
                fresh.extend(new)
        return None

    def _commit(self, plan: _Plan, request: NotificationRequest, title: str, body: str,
                now: float, reason: str | None) -> list[ReceiptEntry]:
        entries = []
        for address, notification_id in zip(plan.addresses or ("",), plan.ids, strict=True):
            job = Job(
                notification_id=notification_id,
                event_id=request.event_id,
                user_id=request.user_id,
                channel=plan.channel,
                address=address,
                title=title,
                body=body,
                category=request.category,
                critical=request.critical,
                accepted_at=now,
                template=request.template,
            )
            self._record(job, Status.ACCEPTED, now)
            if reason is not None:
                entry = ReceiptEntry(
                    plan.channel, address, job.notification_id, Status.SUPPRESSED, reason
                )
                self._counts["suppressed"] += 1
            elif isinstance(plan.decision, Defer):
                item = job.to_json()
                if self._records is not None:
                    self._records.save(job, item, waiting_in="deferred",
                                       due_at=plan.decision.until)
                self._deferred.schedule(item, due_at=plan.decision.until)
                entry = ReceiptEntry(
                    plan.channel,
                    address,
                    job.notification_id,
                    Status.DEFERRED,
                    plan.decision.reason,
                    plan.decision.until,
                )
                self._counts["deferred"] += 1
            else:
                item = job.to_json()
                if self._records is not None:
                    self._records.save(job, item, waiting_in="queue", due_at=now)
                self._queue.publish(queue_name(plan.channel), item)
                entry = ReceiptEntry(plan.channel, address, job.notification_id, Status.QUEUED)
                self._counts["queued"] += 1
            self._record(job, entry.status, now, entry.reason)
            entries.append(entry)
        return entries

    def _record(self, job: Job, status: Status, at: float, reason: str = "") -> None:
        self._log.record(StatusChange.for_job(job, status, at, reason))

    # ── the deferral pump ───────────────────────────────────────────────────────────────

    def release_deferred(self, *, limit: int | None = None) -> tuple[Job, ...]:
        """Queue every deferred job that is due on the clock; record ``queued`` for each.

        The user's opt-outs are read again first: a non-critical job whose channel or
        category the user opted out of while it waited is suppressed instead (reason
        ``opted_out:...``, "while deferred"), since the preference check belongs to the
        moment of sending. Quiet hours are not decided again: the job waited for the window
        it was deferred for, and leaves at the time it was promised.

        Returns
        -------
        tuple of Job
            The jobs released, earliest due first.

        Notes
        -----
        One range scan plus, per job, one ZREM, one settings read (one per user and call;
        none for a critical job), one publish and one log record. The job is removed from
        the delayed queue before it is published: two pumps racing cannot both release it.
        A crash between the two would lose it but for the notification DB (when the log is
        one), whose recovery sweep publishes it again after its deadline.
        """
        now = self._clock.now()
        released = []
        preferences: dict[str, Preferences] = {}
        for item in self._deferred.pop_due(now=now, limit=limit):
            job = Job.from_json(item)
            reason = self.opted_out_since(job, preferences)
            if reason is not None:
                self._record(job, Status.SUPPRESSED, now, reason)
                self._counts["opted_out_while_deferred"] += 1
                continue
            if self._records is not None:
                self._records.save(job, item, waiting_in="queue", due_at=now,
                                   moved_from="deferred")
            self._queue.publish(queue_name(job.channel), item)
            self._record(job, Status.QUEUED, now, "released:quiet_hours_ended")
            released.append(job)
        self._counts["released"] += len(released)
        return tuple(released)

    def opted_out_since(self, job: Job,
                        preferences: dict[str, Preferences] | None = None) -> str | None:
        """Why deferred ``job`` must not leave after all: its user opted out of its channel
        or category while it waited (None: it may go; a critical job always may).
        ``preferences`` caches settings already read, by user id."""
        if job.critical:
            return None
        prefs = None if preferences is None else preferences.get(job.user_id)
        if prefs is None:
            prefs = self.settings.get(job.user_id)
            if preferences is not None:
                preferences[job.user_id] = prefs
        decision = decide(prefs, channel=job.channel, category=job.category, critical=False,
                          now=self._clock.now())  # the intake's rule; quiet hours ignored
        return f"{decision.reason} (while deferred)" if isinstance(decision, Suppress) else None

    def next_release_at(self) -> float | None:
        """When the earliest deferred job falls due (None if none is waiting)."""
        return self._deferred.next_due_at()

    def statistics(self) -> APIStatistics:
        return APIStatistics(**self._counts)

    def __repr__(self) -> str:
        return "NotificationAPI()"
