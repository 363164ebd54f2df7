"""Agent runs: caps on cost, model calls and tool calls for one agent run or conversation, and stickiness.

``CostTracker.run(run_id, max_cost=, max_model_calls=, max_tool_calls=, sticky=)`` returns an
``AgentRun``; inside ``with run:`` (a context variable, so threads and tasks started inside inherit it)
every request of a cascade on that tracker is admitted against the run's caps with the tracker's usual
reserve-then-settle, in the same atomic store step as the user's budgets and rate limits:

* cost: the request's estimate is reserved on the run's counter (``run:<id>|cost``) and the real cost
  of every attempt is charged at settlement; a request whose estimate would cross ``max_cost`` is refused;
* model calls: a request is admitted while fewer than ``max_model_calls`` calls were made; every call it
  makes (rejected drafts, retries) is counted at settlement;
* tool calls: the framework glue (or ``run.guard(fn)``) calls ``run.tool_call(name)`` before each tool.

A refusal raises ``RunBudgetExceededError`` (a ``BudgetExceededError``), and from then on the run
refuses every model and tool call, so an agent loop ends instead of trying again. With ``sticky=True``,
once a request of the run escalated, later requests start at the tier that answered (a route reason
says so, and the OpenTelemetry span carries ``cascadeflow.sticky_tier``).
"""

from __future__ import annotations

import functools
import inspect
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .._errors import ConfigError, RunBudgetExceededError
from .._types import Attempt, CascadeResult
from ._stores import BudgetCheck, LimitCheck, ReserveOp, ReserveOutcome

if TYPE_CHECKING:
    from ._tracker import CostTracker

__all__ = ["AgentRun", "RunLimits", "RunRegistry", "counted_tool", "current_run", "run_details"]

_CURRENT: ContextVar[AgentRun | None] = ContextVar("cascadeflow_run", default=None)
_FOREVER = 100 * 365 * 86400.0  # a run's counters are windows that never slide


def current_run() -> AgentRun | None:
    """The ``AgentRun`` active in this context (``with run:``), or None."""
    return _CURRENT.get()


def counted_tool(fn: Callable[..., Any], name: str | None = None) -> Callable[..., Any]:
    """``fn`` (sync or async) counted against the ``max_tool_calls`` of the run active when it is called.

    Define tools once; whichever ``AgentRun`` is active (``with run:``) counts them; outside a run they
    run uncounted. Name, docstring and signature are kept, so frameworks build the same tool schema.

    Example:
        >>> def search(query: str) -> str:
        ...     "Search the web."
        ...     return "Paris"
        >>> counted_tool(search).__name__
        'search'
    """
    label = name or getattr(fn, "__name__", "tool")

    def count() -> None:
        run = _CURRENT.get()
        if run is not None:
            run.tool_call(label)

    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def acounted(*args: Any, **kwargs: Any) -> Any:
            count()
            return await fn(*args, **kwargs)

        return acounted

    @functools.wraps(fn)
    def counted(*args: Any, **kwargs: Any) -> Any:
        count()
        return fn(*args, **kwargs)

    return counted


def _check_cap(name: str, value: Any, integer: bool) -> None:
    if value is None:
        return
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or value < 0:
        kind = "an int" if integer else "a number of dollars"
        raise ConfigError(name, f"must be {kind} >= 0, got {value!r}", "or None for no cap")


@dataclass(frozen=True)
class RunLimits:
    """Caps of one agent run; ``None`` means no cap. ``sticky``: after an escalation, start later
    requests at the tier that answered.

    Example:
        >>> RunLimits(max_cost=0.05, max_tool_calls=10).max_model_calls is None
        True
    """

    max_cost: float | None = None
    max_model_calls: int | None = None
    max_tool_calls: int | None = None
    sticky: bool = False

    def __post_init__(self) -> None:
        _check_cap("max_cost", self.max_cost, integer=False)
        _check_cap("max_model_calls", self.max_model_calls, integer=True)
        _check_cap("max_tool_calls", self.max_tool_calls, integer=True)


class AgentRun:
    """One agent run (or conversation) on a ``CostTracker``: its caps, counts and sticky tier.

    Made by ``CostTracker.run(...)``; activate it with ``with run:`` / ``async with run:``.

    Example:
        >>> run = CostTracker().run("r1", max_tool_calls=1)  # doctest: +SKIP
        >>> with run:  # doctest: +SKIP
        ...     cascade.complete("...")
    """

    def __init__(self, tracker: CostTracker, run_id: str, limits: RunLimits) -> None:
        self.tracker = tracker
        self.run_id = run_id
        self.limits = limits
        self.sticky_tier: str | None = None
        self.model_calls = 0
        self.tool_calls = 0
        self.unpriced_calls = 0
        self.exceeded: RunBudgetExceededError | None = None
        self._lock = threading.Lock()
        self._tokens: list[Token[AgentRun | None]] = []
        self.cost_key = f"run:{run_id}|cost"
        self.calls_key = f"run:{run_id}|model_calls"
        self.tools_key = f"run:{run_id}|tool_calls"

    def __repr__(self) -> str:
        return (
            f"AgentRun({self.run_id!r}, cost=${self.cost:.6f}, model_calls={self.model_calls}, "
            f"tool_calls={self.tool_calls}, limits={self.limits})"
        )

    # --- scope ---------------------------------------------------------------------------------------
    def __enter__(self) -> AgentRun:
        self._tokens.append(_CURRENT.set(self))
        return self

    def __exit__(self, *exc: object) -> None:
        _CURRENT.reset(self._tokens.pop())

    async def __aenter__(self) -> AgentRun:
        return self.__enter__()

    async def __aexit__(self, *exc: object) -> None:
        self.__exit__()

    # --- reading back ------------------------------------------------------------------------------------
    @property
    def cost(self) -> float:
        """Dollars charged to this run so far (calls of unpriced models count $0: see ``unpriced_calls``)."""
        return self.tracker.store.usage([self.cost_key], self.tracker.clock())[self.cost_key][0]

    def summary(self) -> dict[str, Any]:
        """JSON-ready counts, caps and state of the run."""
        return {
            "run_id": self.run_id,
            "cost": self.cost,
            "model_calls": self.model_calls,
            "tool_calls": self.tool_calls,
            "unpriced_calls": self.unpriced_calls,
            "sticky_tier": self.sticky_tier,
            "exceeded": None if self.exceeded is None else self.exceeded.limit_kind,
            "limits": {
                "max_cost": self.limits.max_cost,
                "max_model_calls": self.limits.max_model_calls,
                "max_tool_calls": self.limits.max_tool_calls,
                "sticky": self.limits.sticky,
            },
        }

    # --- tools ------------------------------------------------------------------------------------------
    def tool_call(self, name: str = "") -> None:
        """Count one tool call against ``max_tool_calls`` (atomically in the store), before the tool runs.

        Raises:
            RunBudgetExceededError: the cap is reached (or the run already exceeded a cap).
        """
        self._raise_if_exceeded()
        cap = self.limits.max_tool_calls
        if cap is not None:
            now = self.tracker.clock()
            check = LimitCheck(self.tools_key, float(cap), _FOREVER, 1.0)
            outcome = self.tracker.store.reserve(ReserveOp(os.urandom(8).hex(), 0.0, (), (check,), now, now))
            if not outcome.ok:
                raise self._exceed("tool_calls", cap, cap, f"tool call {name!r} refused")
        with self._lock:
            self.tool_calls += 1

    def guard(self, fn: Callable[..., Any], name: str | None = None) -> Callable[..., Any]:
        """``fn`` (sync or async) counted by ``tool_call`` before each call; name and signature kept."""
        label = name or getattr(fn, "__name__", "tool")
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def aguarded(*args: Any, **kwargs: Any) -> Any:
                self.tool_call(label)
                return await fn(*args, **kwargs)

            return aguarded

        @functools.wraps(fn)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            self.tool_call(label)
            return fn(*args, **kwargs)

        return guarded

    # --- used by CostTracker.admit / settle --------------------------------------------------------------
    def checks(
        self, budgets: tuple[BudgetCheck, ...], rates: tuple[LimitCheck, ...]
    ) -> tuple[tuple[BudgetCheck, ...], tuple[LimitCheck, ...]]:
        """A request's reservation checks plus the run's (raises once the run exceeded a cap)."""
        self._raise_if_exceeded()
        lim = self.limits
        if lim.max_cost is not None:
            budgets = (*budgets, BudgetCheck(self.cost_key, lim.max_cost))
        if lim.max_model_calls is not None:
            rates = (*rates, LimitCheck(self.calls_key, float(lim.max_model_calls), _FOREVER, 1.0))
        return budgets, rates

    def owns(self, key: str | None) -> bool:
        return key in (self.cost_key, self.calls_key, self.tools_key)

    def refused(self, outcome: ReserveOutcome, estimate: float) -> RunBudgetExceededError:
        """The error for a reservation the store refused on one of this run's keys."""
        if outcome.key == self.calls_key:
            cap = self.limits.max_model_calls
            return self._exceed("model_calls", self.model_calls, cap, "model call refused")
        used = outcome.spent + outcome.reserved
        return self._exceed(
            "cost", used, self.limits.max_cost, f"request refused: its estimate ${estimate:.6f} would cross"
        )

    def start_tier(self) -> str | None:
        """The tier later requests start at (``sticky`` runs that escalated), else None."""
        return self.sticky_tier if self.limits.sticky else None

    def settle(
        self,
        charges: Mapping[str, float],
        rates: tuple[LimitCheck, ...],
        attempts: Sequence[Attempt],
        result: CascadeResult | None,
    ) -> tuple[dict[str, float], tuple[LimitCheck, ...]]:
        """A settlement's charges and counts plus the run's; remembers the tier a sticky run escalated to."""
        calls = sum(1 for a in attempts if not a.cached)
        with self._lock:
            self.model_calls += calls
            self.unpriced_calls += sum(1 for a in attempts if a.cost is None)
            if result is not None and result.escalated and self.limits.sticky:
                self.sticky_tier = result.tier
        cost = sum(a.cost for a in attempts if a.cost is not None)
        cap = self.limits.max_model_calls
        if cap is not None and calls > 1:  # admission counted one call
            rates = (*rates, LimitCheck(self.calls_key, float(cap), _FOREVER, float(calls - 1)))
        return {**charges, self.cost_key: charges.get(self.cost_key, 0.0) + cost}, rates

    # --- internals -----------------------------------------------------------------------------------------
    def _raise_if_exceeded(self) -> None:
        if self.exceeded is not None:
            e = self.exceeded
            raise RunBudgetExceededError(
                f"run {self.run_id!r} already reached its {e.limit_kind} cap; it takes no more calls",
                run_id=self.run_id,
                limit_kind=e.limit_kind,
                used=e.used,
                limit=e.limit,
            )

    def _exceed(self, kind: str, used: float | None, cap: float | None, what: str) -> RunBudgetExceededError:
        shown = f"${cap:g}" if kind == "cost" and cap is not None else f"{cap}"
        err = RunBudgetExceededError(
            f"run {self.run_id!r}: {what}: {kind} cap {shown} reached (used {used})",
            run_id=self.run_id,
            limit_kind=kind,
            used=used,
            limit=cap,
        )
        self.exceeded = err
        return err


class RunRegistry:
    """A tracker's agent runs by id (``CostTracker.runs``).

    Example:
        >>> from cascadeflow_core import CostTracker
        >>> with CostTracker().run("r1", max_cost=0.05, max_tool_calls=8) as run:
        ...     run.tool_call("search")
        >>> run.tool_calls
        1
    """

    def __init__(self, tracker: CostTracker) -> None:
        self.tracker = tracker
        self._runs: dict[str, AgentRun] = {}
        self._lock = threading.Lock()

    def get(self, run_id: str, limits: Mapping[str, Any]) -> AgentRun:
        """The run ``run_id``, made on first use with ``limits`` (``RunLimits`` fields).

        Inside ``with run:``, every request a cascade on this tracker admits is held to the caps (cost,
        model calls; tools call ``run.tool_call(name)``); a refusal raises ``RunBudgetExceededError``.
        ``sticky``: once a request escalated, later ones start at the tier that answered. Asking again for
        a known ``run_id`` returns the same run (a conversation across invocations); other caps for it
        are a ``ConfigError``.
        """
        unknown = sorted(set(limits) - set(RunLimits.__dataclass_fields__))
        if unknown:
            raise ConfigError(
                ", ".join(unknown), "not a run limit", "use max_cost, max_model_calls, max_tool_calls, sticky"
            )
        wanted = RunLimits(**limits)
        if not isinstance(run_id, str) or not run_id:
            raise ConfigError("run_id", f"must be a non-empty string, got {run_id!r}")
        with self._lock:
            found = self._runs.get(run_id)
            if found is None:
                found = self._runs[run_id] = AgentRun(self.tracker, run_id, wanted)
            elif found.limits != wanted:
                raise ConfigError(
                    "run_id",
                    f"run {run_id!r} exists with other limits ({found.limits})",
                    "use a new run_id, or the same limits to continue the run",
                )
        return found

    def end(self, run_id: str) -> None:
        """Forget the run ``run_id`` (its spend stays in the store under ``run:<id>|cost``)."""
        with self._lock:
            self._runs.pop(run_id, None)

    def settle(
        self,
        reservation: Any,
        charges: Mapping[str, float],
        rates: tuple[LimitCheck, ...],
        attempts: Sequence[Attempt],
        result: CascadeResult | None,
    ) -> tuple[Mapping[str, float], tuple[LimitCheck, ...]]:
        """A settlement's charges and counts, plus the run's when the request was admitted in one."""
        run = getattr(reservation, "run", None)
        return (charges, rates) if run is None else run.settle(charges, rates, attempts, result)

    def active(self) -> AgentRun | None:
        """The run active in this context, if it belongs to this tracker."""
        run = _CURRENT.get()
        return run if run is not None and run.tracker is self.tracker else None


def run_details(details: dict[str, Any], run: AgentRun | None) -> dict[str, Any]:
    """Admission details, plus the run id and the tier a sticky run starts at (read by the engine)."""
    if run is not None:
        details["run_id"] = run.run_id
        start = run.start_tier()
        if start is not None:
            details["start_tier"] = start
    return details
