"""Exercise ch10: a retry (재시도) schedule — exponential backoff, capped, with full jitter.

When a provider fails for a moment (a timeout, a 5xx, a 429), the worker tries again later.
*How much* later decides whether the retries help: wait too little and a struggling provider
gets hammered; let every message that failed together wait the *same* time and they all come
back together and fail together again. The cure is **exponential backoff with jitter**:

    the k-th wait is at most   w(k) = min(cap_s, base_s * 2**(k - 1))     15, 30, 60, ... 600
    and is drawn from          uniform(0, w(k))                           ("full" jitter)

and the whole schedule must fit the budget: 8 attempts (Knock's preset, ``RETRY_MAX_ATTEMPTS``)
whose worst-case total wait, 15+30+60+120+240+480+600 = 1545 s, is within 30 minutes
(``RETRY_TOTAL_BUDGET_S``).

Every body below raises ``NotImplementedError``: replace each with your code. The docstrings
are the contract; ``exercises/graders/test_ch10_backoff.py`` checks it. Grade yourself with
``make grade CHAPTER=10`` or, in a notebook, ``check("backoff-jitter")``.

The vocabulary is yours to use: the presets ``RETRY_MAX_ATTEMPTS`` and
``RETRY_TOTAL_BUDGET_S``, the ``Jitter`` type and :class:`InvalidArgument`. The model answer
is ``RetryPolicy`` and ``backoff_s`` in ``reference/notification/retry.py``.

Exercises (name → what to implement):

====================== ===================================================================
backoff-schedule       :meth:`RetryPolicy.upper_bound_s` and
                       :meth:`RetryPolicy.worst_case_total_s`
backoff-policy-checks  :meth:`RetryPolicy.__post_init__`: reject a bad policy, including one
                       whose worst case does not fit its budget
backoff-jitter         :func:`backoff_s`: full, equal or no jitter, drawn from the rng
                       you are given (never the global ``random``)
====================== ===================================================================

Start with ``backoff-schedule``: every grader builds a ``RetryPolicy``, so first make
``__post_init__`` simply ``return`` (no checks yet), then fill it in for
``backoff-policy-checks``.
"""

from __future__ import annotations

from dataclasses import dataclass
from random import Random

from reference.core.errors import InvalidArgument  # noqa: F401  (yours to raise)
from reference.notification.model import RETRY_MAX_ATTEMPTS, RETRY_TOTAL_BUDGET_S
from reference.notification.retry import Jitter

__all__ = [
    "RETRY_MAX_ATTEMPTS",
    "RETRY_TOTAL_BUDGET_S",
    "Jitter",
    "RetryPolicy",
    "backoff_s",
]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try: attempts, the backoff curve, the jitter and the total budget.

    Parameters
    ----------
    max_attempts : int
        Attempts in all, the first included (Knock: 8). An ``int >= 1``.
    base_s, cap_s : float
        The backoff curve: the wait after failed attempt ``k`` is at most
        ``min(cap_s, base_s * 2**(k - 1))``. Finite numbers > 0 (a bool is not), with
        ``cap_s >= base_s``.
    jitter : "full" | "equal" | "none"
        How the wait is drawn below its bound ``w``: ``uniform(0, w)``,
        ``w/2 + uniform(0, w/2)``, or exactly ``w``.
    fallback_after : int
        Consecutive failures on one provider before the worker tries the next one (used by
        the retry decision, exercise ``ch10_retry``). An ``int >= 1``.
    budget_s : float
        The total wait the schedule must fit in: a finite number > 0 (a bool is not).

    Notes
    -----
    The fields are given (they are the vocabulary); you write the three methods. A policy
    is a frozen value: once built it is valid, so nothing downstream checks it again.

    In the last example only the exception type and ``budget_s`` in its message are the
    contract (the graders check those); the rest of the wording is yours. The reference
    says ``base_s/cap_s=(15.0, 600.0) is invalid: expected a schedule whose worst case
    (9345.0 s) fits budget_s=1800``.

    Examples
    --------
    >>> policy = RetryPolicy()
    >>> [policy.upper_bound_s(k) for k in range(1, 9)]
    [15.0, 30.0, 60.0, 120.0, 240.0, 480.0, 600.0, 600.0]
    >>> policy.worst_case_total_s()
    1545.0
    >>> RetryPolicy(max_attempts=20)      # 15+30+...+600*13 s cannot fit 30 minutes
    Traceback (most recent call last):
    ...
    reference.core.errors.InvalidArgument: ...budget_s...
    """

    max_attempts: int = RETRY_MAX_ATTEMPTS
    base_s: float = 15.0
    cap_s: float = 600.0
    jitter: Jitter = "full"
    fallback_after: int = 2
    budget_s: float = RETRY_TOTAL_BUDGET_S

    def __post_init__(self) -> None:
        """Reject a bad policy with InvalidArgument (exercise ``backoff-policy-checks``).

        Contract
        --------
        * ``max_attempts`` and ``fallback_after``: an ``int >= 1`` (a bool is not).
        * ``base_s``, ``cap_s`` and ``budget_s``: a finite ``int`` or ``float`` > 0 (a bool
          is not).
        * ``cap_s >= base_s`` (the error names ``cap_s``).
        * ``jitter`` is ``"full"``, ``"equal"`` or ``"none"``.
        * ``worst_case_total_s() <= budget_s``; otherwise the error says so and mentions
          ``budget_s``. A schedule that fits exactly is fine.

        Each message names the field, e.g. ``InvalidArgument.bad_value("base_s", 0, "a
        finite number > 0")``. What is checked is the type, ``InvalidArgument``, and that
        the message contains the field's name (``budget_s`` for the budget); the rest of the
        wording is yours.

        Hint
        ----
        Loop over field names with ``getattr(self, name)``. Check the budget last: it uses
        the other fields. Until you do this exercise, make the body ``return``.
        """
        raise NotImplementedError(
            "exercise: RetryPolicy.__post_init__ — validate every field and the budget"
        )

    def upper_bound_s(self, attempt: int) -> float:
        """The longest wait after failed attempt ``attempt`` (1-based): ``backoff-schedule``.

        Returns
        -------
        float
            ``min(cap_s, base_s * 2**(attempt - 1))``: doubling from ``base_s``, never above
            ``cap_s``, so non-decreasing in ``attempt``.

        Hint
        ----
        ``2.0 ** 10_000`` overflows a float: once the curve has reached the cap it stays
        there, so clamp the exponent (at 60, say) before raising 2 to it.
        """
        raise NotImplementedError(
            "exercise: RetryPolicy.upper_bound_s — min(cap_s, base_s * 2**(attempt - 1))"
        )

    def worst_case_total_s(self) -> float:
        """The sum of the longest waits between the first and the last attempt.

        (``backoff-schedule``.) ``max_attempts`` attempts have ``max_attempts - 1`` waits
        between them: after attempt 1, 2, ..., ``max_attempts - 1``. One attempt, no wait.

        Hint
        ----
        ``sum(self.upper_bound_s(k) for k in range(1, self.max_attempts))``, as a float.
        """
        raise NotImplementedError(
            "exercise: RetryPolicy.worst_case_total_s — sum the bounds of the waits"
        )


def backoff_s(attempt: int, policy: RetryPolicy, rng: Random) -> float:
    """The wait after failed attempt ``attempt`` (1-based), jittered with ``rng``.

    Exercise ``backoff-jitter``.

    Parameters
    ----------
    attempt : int
        The attempt that just failed: an ``int >= 1`` (a bool is not).
    policy : RetryPolicy
        Gives the bound ``w = policy.upper_bound_s(attempt)`` and the jitter mode.
    rng : Random
        The only source of chance: the same seed gives the same waits, so a seeded
        simulation replays a failure exactly.

    Returns
    -------
    float
        ``"full"``: ``rng.uniform(0, w)``; ``"equal"``: ``w/2 + rng.uniform(0, w/2)``;
        ``"none"``: ``w``, without drawing anything from ``rng``.

    Raises
    ------
    InvalidArgument
        For a bad ``attempt``.

    Notes
    -----
    Full jitter spreads a burst of retries that failed together evenly over ``[0, w]``, so
    they do not come back together; its average wait is only ``w / 2``. Equal jitter keeps
    at least half the backoff at the price of less spreading.

    Hint
    ----
    Never call ``random.random()`` or ``random.uniform``: those use the global generator.
    Call the methods of ``rng``.

    Examples
    --------
    >>> backoff_s(3, RetryPolicy(jitter="none"), Random(0))
    60.0
    >>> 0.0 <= backoff_s(3, RetryPolicy(), Random(0)) <= 60.0
    True
    """
    raise NotImplementedError("exercise: backoff_s — bound the wait, then jitter it with rng")
