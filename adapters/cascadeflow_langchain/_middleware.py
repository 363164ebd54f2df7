"""``CascadeRunMiddleware``: an agent run's caps (cost, model calls, tool calls) for ``create_agent``.

Each agent invocation (or each conversation thread, ``per="thread"``) is one ``AgentRun`` of the
tracker: every model call of the agent goes through the cascade inside ``with run:``, so the tracker
admits it against the run's caps in its usual atomic reserve-then-settle; every tool call is counted
before the tool runs. Reaching a cap raises ``RunBudgetExceededError`` out of ``agent.invoke`` /
``ainvoke`` (a ``BudgetExceededError``, so existing handlers catch it too).
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

from langchain.agents.middleware import AgentMiddleware, AgentState, ModelRequest, ToolCallRequest
from langchain.agents.middleware.types import PrivateStateAttr
from langgraph.channels.untracked_value import UntrackedValue
from typing_extensions import NotRequired

from cascadeflow_core import AgentRun, ConfigError, CostTracker

__all__ = ["CascadeRunMiddleware", "CascadeRunState"]

_KEY = "cascadeflow_run_id"


class CascadeRunState(AgentState[Any]):
    """Agent state with the id of the cascade run of this invocation (private to the middleware)."""

    cascadeflow_run_id: NotRequired[Annotated[str, UntrackedValue, PrivateStateAttr]]


class CascadeRunMiddleware(AgentMiddleware[CascadeRunState, Any, Any]):
    """Caps one agent run's cost, model calls and tool calls with the tracker of a ``ChatCascade``.

    Args:
        tracker: the ``CostTracker`` of the agent's ``ChatCascade`` (``llm.cascade.tracker``).
        max_cost, max_model_calls, max_tool_calls: the caps (``None``: no cap). Model calls count every
            call the cascade makes (rejected drafts and retries too).
        sticky: once a model call escalated, the agent's later calls start at the tier that answered.
        per: ``"invocation"`` (default: a run per ``invoke``) or ``"thread"`` (a run per conversation
            ``thread_id``, kept across invocations: caps and stickiness span the conversation).

    Example:
        >>> from langchain.agents import create_agent
        >>> llm = ChatCascade(["openai/gpt-4o-mini", "openai/gpt-4o"], tracker=CostTracker())  # doctest: +SKIP
        >>> agent = create_agent(llm, tools=[search, calculator], middleware=[  # doctest: +SKIP
        ...     CascadeRunMiddleware(llm.cascade.tracker, max_cost=0.05, max_tool_calls=6)])
    """

    state_schema = CascadeRunState

    def __init__(
        self,
        tracker: CostTracker,
        *,
        max_cost: float | None = None,
        max_model_calls: int | None = None,
        max_tool_calls: int | None = None,
        sticky: bool = False,
        per: Literal["invocation", "thread"] = "invocation",
    ) -> None:
        super().__init__()
        if not isinstance(tracker, CostTracker):
            raise ConfigError(
                "tracker",
                f"expected a CostTracker, got {type(tracker).__name__}",
                "build the ChatCascade with tracker=CostTracker() and pass llm.cascade.tracker",
            )
        if per not in ("invocation", "thread"):
            raise ConfigError("per", f"unknown scope {per!r}", 'use "invocation" or "thread"')
        self.tracker = tracker
        self.limits: dict[str, Any] = {
            "max_cost": max_cost,
            "max_model_calls": max_model_calls,
            "max_tool_calls": max_tool_calls,
            "sticky": sticky,
        }
        self.per = per
        tracker.run("cascadeflow-middleware-check", **self.limits)  # bad caps fail here, not mid-run
        tracker.runs.end("cascadeflow-middleware-check")

    def _run_id(self, state: Any, runtime: Any) -> str:
        if self.per == "thread":
            info = getattr(runtime, "execution_info", None)
            thread = getattr(info, "thread_id", None)
            if not thread:
                raise ConfigError(
                    "per",
                    '"thread" needs a thread_id',
                    'compile the agent with a checkpointer and pass config={"configurable": {"thread_id": ...}}',
                )
            return f"thread:{thread}"
        rid = state.get(_KEY) if isinstance(state, dict) else None
        if not rid:
            raise ConfigError(
                "CascadeRunMiddleware", "no run id in the agent state", "add it to create_agent"
            )
        return str(rid)

    def _run(self, state: Any, runtime: Any) -> AgentRun:
        return self.tracker.run(self._run_id(state, runtime), **self.limits)

    # --- hooks ---------------------------------------------------------------------------------------
    def before_agent(self, state: Any, runtime: Any) -> dict[str, Any] | None:
        if self.per == "invocation":
            return {_KEY: os.urandom(12).hex()}
        return None

    async def abefore_agent(self, state: Any, runtime: Any) -> dict[str, Any] | None:
        return self.before_agent(state, runtime)

    def after_agent(self, state: Any, runtime: Any) -> dict[str, Any] | None:
        if self.per == "invocation" and isinstance(state, dict) and state.get(_KEY):
            self.tracker.runs.end(str(state[_KEY]))
        return None

    async def aafter_agent(self, state: Any, runtime: Any) -> dict[str, Any] | None:
        return self.after_agent(state, runtime)

    def wrap_model_call(self, request: ModelRequest, handler: Callable[[ModelRequest], Any]) -> Any:
        with self._run(request.state, request.runtime):
            return handler(request)

    async def awrap_model_call(
        self, request: ModelRequest, handler: Callable[[ModelRequest], Awaitable[Any]]
    ) -> Any:
        async with self._run(request.state, request.runtime):
            return await handler(request)

    def wrap_tool_call(self, request: ToolCallRequest, handler: Callable[[ToolCallRequest], Any]) -> Any:
        run = self._run(request.state, request.runtime)
        run.tool_call(str(request.tool_call.get("name", "")))
        with run:
            return handler(request)

    async def awrap_tool_call(
        self, request: ToolCallRequest, handler: Callable[[ToolCallRequest], Awaitable[Any]]
    ) -> Any:
        run = self._run(request.state, request.runtime)
        run.tool_call(str(request.tool_call.get("name", "")))
        async with run:
            return await handler(request)
