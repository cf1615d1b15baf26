"""Exercise ch10: the worker's retry (재시도) decision — retry, fall back, stop or dead-letter.

A worker hands a job to a provider (APNs, FCM, an SMS gateway, an email service) and gets an
answer. What next? That is one pure function, :func:`decide`, and you write it:

================================ =========================================================
the provider answered            decision
================================ =========================================================
accepted (``ok``, ``duplicate``) ``DONE``
transient (timeout, 5xx, 429)    ``RETRY`` after a backoff, and never sooner than the
                                 provider's own ``retry_after_s``
transient, ``fallback_after``    ``FALLBACK`` to the next provider of the channel's chain,
times in a row on one provider   right away (never straight after a timeout, see below)
transient, out of attempts       ``DEAD_LETTER``: park the job and alert a developer
permanent, the address is bad    ``STOP``: retrying cannot help; for push, ask the worker
(``ADDRESS_CODES``)              to remove the device token
permanent, anything else         ``DEAD_LETTER`` (e.g. ``payload_too_large``: our bug)
================================ =========================================================

**Never fall back while a request is in doubt.** A timeout is ambiguous: the provider may
have delivered and only its answer was lost. Idempotency keys are per provider, so the
backup would deliver a second copy; retrying the *same* provider with the same key settles
it. The doubt outlives the timeout: if a later attempt on that provider fails for a clear
reason (a 5xx, an outage), that proves nothing about the first request, so the worker marks
the job ``ambiguous`` and it stays on its provider until that provider answers.

Every function below raises ``NotImplementedError``: replace the body with your code. The
docstring is the contract; ``exercises/graders/test_ch10_retry.py`` checks it. Grade
yourself with ``make grade CHAPTER=10`` or, in a notebook, ``check("retry-fallback")``.

The vocabulary is yours to use, not to rebuild: :class:`Action`, :class:`RetryDecision`,
:class:`RetryPolicy` and :func:`backoff_s` (the reference's; exercise ``ch10_backoff``
rebuilds those two), :class:`Job`, :class:`Channel`, :class:`Category`,
:class:`ProviderResult`, the code sets ``ACCEPTED_CODES``, ``TRANSIENT_CODES``,
``ADDRESS_CODES`` and :class:`InvalidArgument`. The model answer is ``decide`` in
``reference/notification/retry.py``.

Exercises (name → what :func:`decide` must get right):

================== ========================================================================
retry-outcomes     accepted → DONE; permanent → STOP (bad address) or DEAD_LETTER
retry-backoff      transient → RETRY at ``now + max(backoff, retry_after_s)``
retry-fallback     ``fallback_after`` failures in a row → the next provider, except while in
                   doubt (a timeout) or on the last provider
retry-dead-letter  out of attempts → DEAD_LETTER, saying so when it may have been delivered
retry-arguments    bad arguments → InvalidArgument
================== ========================================================================
"""

from __future__ import annotations

from random import Random

from reference.core.errors import InvalidArgument  # noqa: F401  (yours to raise)
from reference.notification.model import Category, Channel, Job
from reference.notification.providers import (
    ACCEPTED_CODES,
    ADDRESS_CODES,
    TRANSIENT_CODES,
    ProviderResult,
)
from reference.notification.retry import Action, RetryDecision, RetryPolicy, backoff_s

__all__ = [
    "ACCEPTED_CODES",
    "ADDRESS_CODES",
    "TRANSIENT_CODES",
    "Action",
    "Category",
    "Channel",
    "Job",
    "ProviderResult",
    "RetryDecision",
    "RetryPolicy",
    "backoff_s",
    "decide",
]


def decide(
    job: Job,
    result: ProviderResult,
    policy: RetryPolicy,
    rng: Random,
    *,
    now: float,
    providers: int = 1,
) -> RetryDecision:
    """Decide the next step for ``job`` after the provider answered ``result``.

    Contract
    --------
    Let ``attempt, index = job.attempt, job.provider_index`` (the try that just ran, 1-based,
    and its provider's position in the chain). Return a ``RetryDecision(action, at, attempt,
    provider_index, reason, remove_address=False)``, where ``reason`` is a short non-empty
    explanation for the notification log:

    * ``retry-outcomes``

      - ``result.outcome == "accepted"`` → ``DONE``, ``at=None``, attempt and index
        unchanged.
      - ``"permanent"`` with ``result.code`` in ``ADDRESS_CODES`` → ``STOP``, ``at=None``,
        unchanged; ``remove_address=True`` only on a push channel (``Channel.IOS_PUSH``,
        ``Channel.ANDROID_PUSH``: the device token is dead); an SMS number or an email
        address is not removed.
      - any other ``"permanent"`` → ``DEAD_LETTER``, ``at=None``, unchanged.

    * ``"transient"``: the job is *in doubt* if ``result.code == "timeout"`` or
      ``job.ambiguous`` (an earlier attempt on this provider timed out). Checked in this
      order:

      - ``retry-dead-letter``: ``attempt >= policy.max_attempts`` → ``DEAD_LETTER``,
        ``at=None``, unchanged; if the job is in doubt the reason contains the word
        ``"ambiguous"`` (it may have been delivered: a replay will find out).
      - ``retry-fallback``: provider ``p`` owns attempts ``p*N + 1 .. (p+1)*N`` (``N =
        policy.fallback_after``). If ``attempt - index*N >= N`` (this provider has failed
        N times in a row), a next provider exists (``index + 1 < providers``) and the job
        is **not** in doubt → ``FALLBACK`` at ``now`` (no wait), ``attempt + 1``,
        ``index + 1``. The last provider keeps all remaining attempts.
      - ``retry-backoff``: otherwise → ``RETRY`` at ``now + max(backoff_s(attempt, policy,
        rng), result.retry_after_s)``, ``attempt + 1``, same ``index``.

    Only a ``RETRY`` draws from ``rng``, exactly once (through ``backoff_s``): the same
    inputs and rng state give the same decision, so a seeded simulation replays a failure.

    Parameters
    ----------
    job : Job
        The job as sent: ``attempt``, ``provider_index``, ``channel`` and ``ambiguous``.
    result : ProviderResult
        The provider's answer: ``outcome`` ("accepted", "transient", "permanent"), ``code``,
        ``retry_after_s`` (a 429's hint, else 0.0), ``provider``.
    policy : RetryPolicy
        ``max_attempts``, the backoff curve and ``fallback_after``.
    rng : Random
        The jitter's only source of chance.
    now : float
        When the answer came (seconds on the injected clock).
    providers : int
        The length of the channel's fallback chain (SMS and email have 2, push 1).

    Returns
    -------
    RetryDecision

    Raises
    ------
    InvalidArgument
        ``retry-arguments``: before deciding, if ``job`` is not a :class:`Job`, ``result``
        not a :class:`ProviderResult`, ``policy`` not a :class:`RetryPolicy`, ``now`` not a
        finite number (a bool is not a time), ``providers`` not an ``int >= 1``, or
        ``result.outcome`` is none of the three.

    Hint
    ----
    Validate, then handle "accepted" and "permanent" (both return at once), then the
    transient cases top to bottom. Count "failures in a row on this provider" from the job
    alone: ``attempt - index * policy.fallback_after``.

    Examples
    --------
    >>> job = Job("n1", "evt-1", "u1", Channel.SMS, "+15550100", "", "code 1234",
    ...           Category.SECURITY, True, accepted_at=0.0)
    >>> error_5xx = ProviderResult("transient", "server_error", 0.0, 0.3, "sms-primary")
    >>> first = decide(job, error_5xx, RetryPolicy(), Random(1), now=100.0, providers=2)
    >>> first.action, first.attempt, first.provider_index, 100.0 <= first.at <= 115.0
    (<Action.RETRY: 'retry'>, 2, 0, True)
    >>> from dataclasses import replace
    >>> second = decide(replace(job, attempt=2), error_5xx, RetryPolicy(), Random(1),
    ...                 now=200.0, providers=2)
    >>> second.action, second.provider_index, second.at
    (<Action.FALLBACK: 'fallback'>, 1, 200.0)
    """
    raise NotImplementedError(
        "exercise: decide — done / stop / dead-letter / fall back / retry with backoff"
    )
