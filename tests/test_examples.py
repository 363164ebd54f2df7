"""Every ``examples/*.py`` runs offline, in its own process, with no API key, and prints what it is about.

Each example is run the way a reader runs it (``python examples/x.py`` from the repository root) and its
output is checked for the figures and decisions it exists to show. An example without an entry in
``MARKERS`` fails ``test_every_example_is_checked``, so a new example cannot go untested.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = (
    pytest.mark.slow
)  # ~65 s on the shared 2-core machine: 13 interpreters importing LiteLLM and frameworks

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted(p.name for p in (ROOT / "examples").glob("*.py"))
NEEDS_REDIS = {"redis_fleet.py"}
OFFLINE_ONLY = {"benchmark_calibration.py"}  # replays recordings: no --live mode
KNOWN_BROKEN: dict[str, str] = {}

# Regular expressions that must all match the example's stdout.
MARKERS: dict[str, list[str]] = {
    "quickstart.py": [
        r"answered by openai/\S+ \(\w+\)",
        r"total \$0\.\d{6}",
        r"^async: openai/",
        r"-> openai/\S+, \$0\.\d{6}",
    ],
    "demo.py": [r"quality: 0\.\d{3} \(\d+/49 correct\)", r"savings \d+\.\d%", r"drafters gpt-4o-mini"],
    "langchain_chain.py": [
        r"answer: Paris",
        r"answered by openai/gpt-4o \(escalated: True\)",
        r"rejected \(openai/gpt-4o-mini: hedging\)",
        r"'alice': \{'cost'",
    ],
    "langchain_agent.py": [
        r"tool call names unknown tool 'calculator'",
        r"final answer: The sum is 5\.",
        r"total \$0\.\d{6}",
    ],
    "llamaindex_rag.py": [
        r"A: The Eiffel Tower is 330 metres tall",
        r"answered by openai/gpt-4o after escalation",
        r"cost \$0\.\d{6}",
    ],
    "dspy_program.py": [r"score 100% on 5 questions", r"escalated \d/5", r"8 \* 8 = 64"],
    "agreement_validation.py": [
        r"\(accepted: answered by openai/gpt-4o-mini\)",
        r"2/2 drafters agree on '10'",
        r"\(escalated: answered by openai/gpt-4o\)",
        r"drafters disagree: '165', '145'",
        r"score=0\.50",
        r"total \$0\.\d{6}, verifier alone \$0\.\d{6}",
    ],
    "routing.py": [
        r"route: domain=code .*\n.*route for code: coder -> strong",
        r"route for math: agree -> strong",
        r"skipping drafters 'coder', straight to tier 'strong'",
        r"answered by tier 'coder'",
        r"degrade: cheapest tier 'cheap' only, dropped 'strong'",
    ],
    "redis_fleet.py": [
        r"worker 3: \d+ admitted",
        r"refused with BudgetExceededError",
        r"team-a spent \$0\.\d{6} of its \$0\.001000 budget \(within budget\)",
        r"retention: exported and pruned [1-9]\d* ledger entries; 0 left; a team-a request for half the "
        r"budget is still refused",
    ],
    "opentelemetry_export.py": [
        r"invoke_workflow cascadeflow: user=bob answered_by=openai/gpt-4o escalated=True cost_usd=0\.\d{6}",
        r"\n +chat gpt-4o-mini: tier=tier1 status=rejected",
        r"gen_ai\.client\.token\.usage +op=chat",
        r"gen_ai\.client\.operation\.duration +op=chat model=gpt-4o ",
        r"cascadeflow\.request\.duration +outcome=ok",
        r"cascadeflow\.escalations +answered_by=openai/gpt-4o +value=1",
    ],
    "benchmark_calibration.py": [
        r"cascade +0\.959 +0\.018526 +23\.0%",
        r"oracle \(all 8 models\) +0\.980",
        r"claude-3-5-sonnet-20240620 +0\.959",
        r"held-out +n=25 +quality 0\.920 \(verifier 0\.960, -4\.0 pts\)",
        r"calibrated: gpt-4o-2024-08-06 alone",
        r"NOT certified: nothing cheaper than the verifier",
        r"- replay/gpt-4o-2024-08-06\nbuilt: Cascade\(replay/gpt-4o-2024-08-06\)",
    ],
    "guardrails.py": [
        r"the model received: Email the invoice to <EMAIL_1>, please\.",
        r"you get: +Done: the invoice goes to maria\.lopez@example\.com\.",
        r"'check': 'pii', 'entity': 'EMAIL', 'count': 1, 'action': 'redact'",
        r"from openai/large \(escalated\)",
        r"output guardrail: the answer contains EMAIL",
        r"blocked: the request looks like a prompt injection",
        r"'action': 'block'",
    ],
    "budgets.py": [
        r"^ana: allow",
        r"^ben: warn",
        r"^cem: degrade +answered by openai/gpt-4o-mini",
        r"^dia: BLOCKED +spent \$1\.00 of \$1\.00",
        r"^eve: allow .*\n +why: over budget, billed to prepaid",
        r"request 4: refused, retry after \d+ s",
        r"CascadeFlow ledger \(daily\): \$\d+\.\d{6}",
        r"exported \d+ ledger entries to .*ledger\.csv",
    ],
}


def _offline_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if "API_KEY" not in k and not k.startswith("PYTEST")}
    env["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def _run(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, f"examples/{name}", *args],
        cwd=ROOT,
        env=_offline_env(),
        capture_output=True,
        text=True,
        timeout=240,
    )


def _params() -> list[object]:
    params: list[object] = []
    for name in EXAMPLES:
        marks = [pytest.mark.redis] if name in NEEDS_REDIS else []
        if name in KNOWN_BROKEN:
            marks.append(pytest.mark.xfail(reason=KNOWN_BROKEN[name], strict=True))
        params.append(pytest.param(name, marks=marks, id=name))
    return params


def test_every_example_is_checked() -> None:
    assert EXAMPLES, "no examples found"
    assert sorted(MARKERS) == EXAMPLES


@pytest.mark.parametrize("name", _params())
def test_example_runs_offline(name: str) -> None:
    if name in NEEDS_REDIS and shutil.which("redis-server") is None:
        pytest.skip("redis-server binary not found: install it with `apt-get install -y redis-server`")
    proc = _run(name)
    assert proc.returncode == 0, (
        f"{name} exited {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    )
    missing = [m for m in MARKERS[name] if not re.search(m, proc.stdout, re.MULTILINE)]
    assert not missing, f"{name}: output lacks {missing}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_docstring_states_how_to_run(name: str) -> None:
    source = (ROOT / "examples" / name).read_text()
    run = f"Run: python examples/{name}"
    assert (run + "\n" in source) if name in OFFLINE_ONLY else (run + " [--live]" in source)


@pytest.mark.parametrize("name", EXAMPLES)
def test_live_without_key_exits_2_and_says_why(name: str) -> None:
    proc = _run(name, "--live")
    assert proc.returncode == 2, f"{name} --live exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    assert ("no --live mode" if name in OFFLINE_ONLY else "OPENAI_API_KEY") in proc.stderr
