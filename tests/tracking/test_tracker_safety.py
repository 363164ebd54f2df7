"""Issue 25: nothing lost, nothing leaked, nothing overspent (tracker side).

Each test here failed before its fix; the docstring of each names the item and the figure.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from cascadeflow_core import (
    Budget,
    BudgetExceededError,
    Cascade,
    CostTracker,
    Draft,
    InputError,
    MemoryStore,
    ModelSpec,
    Request,
    ServiceUnavailableError,
    SQLiteStore,
    StorageError,
    Tier,
    TrackerPolicy,
)
from tests.support.tracker_stores import Clock


class Backend:
    """Per-model replies: a Draft cost, or an error; optional hook run inside each call."""

    def __init__(self, costs: dict[str, float | Exception], hook: Any = None) -> None:
        self.costs, self.hook = costs, hook
        self.calls: list[str] = []
        self.lock = threading.Lock()

    def complete(self, spec: ModelSpec, request: Request) -> Draft:
        with self.lock:
            self.calls.append(spec.label)
        if self.hook is not None:
            self.hook(spec)
        cost = self.costs[spec.label]
        if isinstance(cost, Exception):
            raise cost
        return Draft(spec.label, "42", finish_reason="stop", input_tokens=10, output_tokens=5, cost=cost)

    async def acomplete(self, spec: ModelSpec, request: Request) -> Draft:
        return self.complete(spec, request)


def spec(name: str, backend: Backend, per_token: float) -> ModelSpec:
    return ModelSpec(name, per_token, per_token, backend=backend)


def test_reservation_covers_the_fallbacks() -> None:
    """Item 2: a dear fallback answered for a failed primary: $0.10 charged on a $0.05 budget -> blocked."""
    backend = Backend({"m/cheap": ServiceUnavailableError("down", model="m/cheap"), "m/dear": 0.10})
    tracker = CostTracker(budgets=[Budget(0.05, "total", scope="user")])
    tier = Tier([spec("m/cheap", backend, 1e-7)], fallbacks=[spec("m/dear", backend, 1e-3)])
    cascade = Cascade([tier], tracker=tracker)
    with pytest.raises(BudgetExceededError):
        cascade.complete("hi", user="u", max_tokens=100)
    assert tracker.spent(user="u") == 0.0 and backend.calls == []
    roomy = CostTracker(budgets=[Budget(1.0, "total", scope="user")])
    r = Cascade([tier], tracker=roomy).complete("hi", user="u", max_tokens=100)
    assert r.admission["reserved"] >= 100 * 1e-3  # the fallback's output alone


def test_model_budget_of_a_fallback_is_reserved_too() -> None:
    """Item 2: a budget on the fallback model applies at admission."""
    backend = Backend({"m/cheap": ServiceUnavailableError("down", model="m/cheap"), "m/dear": 0.10})
    tracker = CostTracker(budgets=[Budget(0.05, "total", scope="model", match="m/dear")])
    tier = Tier([spec("m/cheap", backend, 1e-7)], fallbacks=[spec("m/dear", backend, 1e-3)])
    with pytest.raises(BudgetExceededError):
        Cascade([tier], tracker=tracker).complete("hi", user="u", max_tokens=100)
