"""Build the tutorial notebooks from the cell lists below and execute them, writing outputs in place.

    python notebooks/build.py              # rebuild and execute every notebook
    python notebooks/build.py 02           # only the notebooks whose file name contains "02"

The notebooks are committed with their outputs; ``tests/test_notebooks.py`` executes them again and checks
that their sources still equal the cell lists here, so edit this file, not the ``.ipynb`` files. Everything
runs offline: LiteLLM's ``mock_response`` and the replay provider over the in-repo GSM8K sample.

Execution uses a temporary kernelspec named ``python3`` that runs ``sys.executable``, so the notebooks run
in whatever environment runs this script (a venv, CI), never in a kernel installed elsewhere.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CELL_TIMEOUT_S = 120
KERNEL_ENV = {
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # LiteLLM's bundled price map: no network at import
    "PYTHONHASHSEED": "0",
    "TQDM_MININTERVAL": "1000",  # a progress bar draws its first and last state only: stable output
    "TQDM_BAR_FORMAT": "{l_bar}{bar:30}| {n_fmt}/{total_fmt}",  # no rates or timings in committed outputs
    "MPLBACKEND": "module://matplotlib_inline.backend_inline",
    # tqdm.auto asks for ipywidgets in a kernel and falls back to a text bar; the text bar is what we commit
    "PYTHONWARNINGS": "ignore:IProgress not found",
}


def md(text: str) -> tuple[str, str]:
    return ("markdown", textwrap.dedent(text).strip("\n"))


def code(text: str) -> tuple[str, str]:
    return ("code", textwrap.dedent(text).strip("\n"))


# --- 01: a tour ---------------------------------------------------------------------------------------------

TOUR = [
    md("""
    # A tour of CascadeFlow

    CascadeFlow answers each request with the cheapest model that is good enough: cheap **drafters**
    answer first, a **validator** checks their answer, and the request **escalates** to a stronger tier
    only when the check fails. Every answer comes with its trace: who answered, who was rejected and
    why, what it cost, and what the strongest model alone would have cost.

    This notebook runs **offline**: each model answers with LiteLLM's `mock_response`, a fixed text we
    choose, so you can see every path of the cascade without an API key. Calls still go through LiteLLM
    and the real engine; prices come from LiteLLM's price map. Drop the `mock_response` and set your
    provider keys to run the same code live.
    """),
    code("""
    from cascadeflow_core import (AgreementValidator, AllOf, Cascade, CascadeOptions, CostTracker,
                                  ModelSpec, RuleValidator, Tier)

    def model(name, answer):
        \"\"\"A model that always gives `answer`: a text, or a tool call (a dict in OpenAI format).\"\"\"
        if isinstance(answer, dict):
            return ModelSpec(name, params={"mock_tool_calls": [answer]})
        return ModelSpec(name, params={"mock_response": answer})

    def three_tiers(drafter_a, drafter_b, middle, verifier):
        \"\"\"Two cheap drafters that must agree, a mid-price model, then the verifier.\"\"\"
        return [
            Tier([model("openai/gpt-4o-mini", drafter_a), model("openai/gpt-4.1-nano", drafter_b)],
                 validator=AllOf(RuleValidator(), AgreementValidator()), name="drafters"),
            Tier([model("openai/gpt-4.1-mini", middle)], name="middle"),   # default validator: rule checks
            Tier([model("openai/gpt-4o", verifier)], name="verifier"),     # the last tier always answers
        ]

    tracker = CostTracker()          # one ledger for every cascade of this notebook
    QUESTION = ("Janet's ducks lay 16 eggs per day. She eats three for breakfast and bakes muffins with "
                "four. She sells the rest for $2 each. How much does she make every day?")
    """),
    md("""
    ## 1. Accepted: the drafters agree

    Both drafters run concurrently. The `AgreementValidator` extracts each one's *final answer* (here the
    number 18 from two differently worded texts) and accepts when they match, so the verifier is never
    called. A `CascadeResult` shows itself as an HTML table in a notebook: leave it as the last expression
    of a cell.
    """),
    code("""
    cascade = Cascade(three_tiers("16 - 3 - 4 = 9 eggs, 9 * $2 = $18.", "#### 18",
                                  "18", "She makes $18 every day."), tracker=tracker)
    result = cascade.complete(QUESTION, user="alice")
    result
    """),
    md("""
    `result.text` is the answer; `result.explain()` is the same trace as plain text (for logs), and
    `result.attempts` holds every model call as data. (The first request's latency includes importing
    LiteLLM, which `import cascadeflow_core` defers to the first call: about two seconds.)
    """),
    code("""
    print(result.text)
    print(result.explain())
    """),
    md("""
    ## 2. Escalated: disagreement, then a hedging answer

    Now the drafters disagree (18 against 19), so the request goes to the middle tier. Its answer hedges
    ("I'm not sure"), which the rule checks reject, so the verifier answers. Every call is paid for,
    rejected drafts included, and the trace says why each was rejected.
    """),
    code("""
    escalating = Cascade(three_tiers("The answer is 18.", "#### 19", "I'm not sure, maybe 18?",
                                     "She makes $18 every day."), tracker=tracker)
    result = escalating.complete(QUESTION, user="bob")
    result
    """),
    md("The attempts as a table (one row per model call):"),
    code("""
    from IPython.display import Markdown

    def attempts_table(result):
        rows = ["| tier | model | status | score | tokens in/out | cost | reasons |", "|---|---|---|---|---|---|---|"]
        for a in result.attempts:
            score = "" if a.score is None else f"{a.score:.2f}"
            why = a.error if a.status == "error" else "; ".join(a.reasons)
            rows.append(f"| {a.tier} | `{a.model}` | {a.status} | {score} | {a.input_tokens}/{a.output_tokens} "
                        f"| ${a.cost:.6f} | {why} |")
        return Markdown("\\n".join(rows))

    attempts_table(result)
    """),
    md("""
    ## 3. Cost against the verifier alone

    `result.verifier_cost` is what the strongest tier alone would have cost for the same tokens, so
    `result.savings` is what the cascade saved (negative when it cost more: an escalated request pays for
    the rejected drafts too). The bet of a cascade is that most requests stop at the first tier.
    """),
    code("""
    for name, c in [("agreement", cascade), ("escalation", escalating)]:
        r = c.complete(QUESTION, user="carol")
        print(f"{name:<10} answered by {r.model:<20} cost ${r.cost:.6f}   verifier alone ${r.verifier_cost:.6f}"
              f"   saved ${r.savings:+.6f} ({100 * r.savings / r.verifier_cost:+.0f}%)")
    """),
    md("""
    ## 4. Tool calls are validated too

    With `tools=`, a draft's tool calls are checked like text: a call to a tool that was not offered, or
    arguments that are not valid JSON, is rejected, so an agent only ever executes a validated call. Here
    one drafter misspells the tool and the other sends broken JSON; the middle tier's call is accepted.
    """),
    code("""
    TOOLS = [{"type": "function", "function": {
        "name": "get_weather", "description": "Current weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]

    def call(name, arguments):
        return {"id": "call_1", "type": "function", "function": {"name": name, "arguments": arguments}}

    agent_model = Cascade(three_tiers(call("get_wether", '{"city": "Paris"}'),
                                      call("get_weather", '{"city": Paris}'),
                                      call("get_weather", '{"city": "Paris"}'),
                                      call("get_weather", '{"city": "Paris"}')), tracker=tracker)
    result = agent_model.complete("What's the weather in Paris?", tools=TOOLS, user="alice")
    print(result.tool_calls)
    attempts_table(result)
    """),
    md("""
    ## 5. Streaming

    `cascade.stream(...)` yields `StreamEvent`s. By default drafts are *buffered*: a draft is held until
    its validator accepts it, so a rejected draft never reaches the user; the last tier streams live. The
    final event carries the `CascadeResult`.
    """),
    code("""
    for event in escalating.stream(QUESTION, user="bob"):
        if event.type == "delta":
            print(f"delta from {event.model}: {event.text!r}")
        elif event.type == "final":
            print(f"final: {event.result.model}, ${event.result.cost:.6f}, escalated={event.result.escalated}")
    """),
    md("""
    ## 6. A batch, with a progress bar

    `batch` answers many requests concurrently, in input order. The progress bar shows on a terminal and
    is off in CI and non-interactive runs; `CascadeOptions(progress=True)` forces it (here in a notebook).
    """),
    code("""
    questions = [f"What is {a} + {b}?" for a, b in [(2, 2), (3, 4), (10, 5), (7, 8), (6, 6), (9, 1)]]
    batcher = Cascade(three_tiers("4", "4", "4", "4"), tracker=tracker, options=CascadeOptions(progress=True))
    results = batcher.batch(questions, user="dave", tags=("batch",))
    print(len(results), "answers;", sum(r.escalated for r in results), "escalated;",
          f"total ${sum(r.cost for r in results):.6f} vs verifier alone ${sum(r.verifier_cost for r in results):.6f}")
    """),
    md("""
    ## 7. The books

    The tracker has recorded every call of this notebook, per user and per model. In a notebook it shows
    itself as HTML tables; `tracker.report()` is the text version, `tracker.to_csv()` the raw ledger.
    Budgets, rate limits and forecasts are in notebook 03.
    """),
    code("""
    tracker
    """),
]


# --- 02: what would a cascade save me ------------------------------------------------------------------------

SAVE = [
    md("""
    # What would a cascade save me?

    Before paying for a single call, measure a cascade on **recorded real outputs**. A replay set holds,
    for a list of queries, the answer each model gave, whether it was correct, and its token counts and
    cost. The replay provider serves those answers through LiteLLM, so the **real engine** runs the
    cascade exactly as it would live, and every query is scored by the label of the answer it returned.

    This notebook uses the sample shipped with the library: 49 GSM8K math problems (every 27th of the
    1,319) answered by 8 models. It runs offline, with no API key.
    """),
    code("""
    from cascadeflow_core import ReplaySet, calibrate, run_benchmark
    from cascadeflow_core.replay import default_config

    rs = ReplaySet.load(ReplaySet.sample_path())
    print(rs)
    print("models:", ", ".join(rs.models))
    print()
    print(rs.query(rs.ids[0]).messages[-1]["content"][:400], "...")
    """),
    md("""
    ## The default cascade

    Two cheap drafters (gpt-4o-mini and gemma-2-9b) answer each problem concurrently; when their final
    numbers agree the answer is returned, otherwise gpt-4o answers. `run_benchmark` runs it through the
    engine (64 requests in flight) and sets it beside the verifier alone, every single model and the
    *oracle*, the cheapest correct model per query in hindsight (a bound no real cascade reaches).
    """),
    code("""
    cascade = default_config(rs)
    print(cascade)
    report = run_benchmark(cascade, rs, progress=False)
    """),
    code("""
    from IPython.display import Markdown

    def pct(cost):
        return f"{100 * cost / report.verifier_cost:.1f}%"

    rows = ["| | quality | cost ($) | cost vs gpt-4o alone |", "|---|---|---|---|",
            f"| **cascade** | **{report.quality:.3f}** | **{report.cost:.4f}** | **{pct(report.cost)}** |",
            f"| verifier alone ({report.verifier}) | {report.verifier_quality:.3f} | {report.verifier_cost:.4f} | 100.0% |"]
    rows += [f"| {m.model} | {m.quality:.3f} | {m.cost:.4f} | {pct(m.cost)} |"
             for m in report.models if m.model != report.verifier]
    rows += [f"| {o.model} | {o.quality:.3f} | {o.cost:.4f} | {pct(o.cost)} |" for o in (report.oracle, report.oracle_all)]
    Markdown("\\n".join(rows))
    """),
    code("""
    print(f"savings: {100 * report.savings:.1f}% of gpt-4o's cost, "
          f"quality {report.quality_delta_points:+.1f} points against gpt-4o alone")
    for t in report.tiers:
        print(f"  {t.name:<9} reached {100 * t.reached:5.1f}% of queries, answered {100 * t.answered:5.1f}%")
    """),
    md("""
    `print(report)` shows the same report as the command line (`cascadeflow bench --data DIR`), with
    the wall time; `report.to_json()` is for machines.

    ## The cost-quality curve

    The drafters and the rule are choices. `calibrate(..., method="point")` scores every configuration it
    can build from the models cheaper than the verifier: one or two drafters; accepted on agreement, on the
    drafter's own logprob confidence, or after rule checks only. Its `evaluated` list is that whole search
    space, with each configuration's quality and cost on the set: the frontier is what a cascade *can*
    reach here, in hindsight.
    """),
    code("""
    %matplotlib inline
    import re

    import matplotlib.pyplot as plt

    everything = calibrate(rs, report.verifier, split=None, method="point", progress=False)  # the whole space
    points = everything.evaluated
    ref = report.verifier_cost

    frontier = []
    for e in sorted(points, key=lambda e: (e.cost, -e.quality)):
        if not frontier or e.quality > frontier[-1].quality:
            frontier.append(e)

    fig, ax = plt.subplots(figsize=(8, 5))
    ax.scatter([100 * e.cost / ref for e in points], [e.quality for e in points], s=12, color="tab:gray",
               alpha=0.5, label=f"cascade configurations ({len(points)})")
    ax.plot([100 * e.cost / ref for e in frontier], [e.quality for e in frontier], "-o", ms=4,
            color="tab:blue", label="frontier")
    for i, m in enumerate(sorted(report.models, key=lambda m: m.cost)):    # labels alternate above / below
        name = re.sub(r"-(Instruct|Turbo|it|\\d{4}-?\\d{2}-?\\d{2})\\b", "", m.model)
        ax.scatter([100 * m.cost / ref], [m.quality], marker="s", s=28, color="tab:orange")
        ax.annotate(name, (100 * m.cost / ref, m.quality), fontsize=7, xytext=(4, 4 if i % 2 else -10),
                    textcoords="offset points")
    ax.scatter([100 * report.cost / ref], [report.quality], marker="D", s=60, color="tab:red",
               label="default cascade", zorder=3)
    ax.scatter([100 * report.oracle.cost / ref], [report.oracle.quality], marker="*", s=150,
               color="tab:green", label="oracle (hindsight)")
    ax.axhline(report.verifier_quality, ls=":", lw=0.8, color="tab:red")
    ax.set_xscale("log")
    ax.set_xlabel("cost, % of gpt-4o alone (log scale)")
    ax.set_ylabel("quality (fraction correct)")
    ax.set_title("GSM8K sample (49 problems): cost vs quality")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    plt.show()
    """),
    md("""
    ## Calibrate to a quality target

    `calibrate` picks the **cheapest** configuration *certified* to lose at most `target_drop` points
    against the verifier at 90% confidence (a finite-sample bound on the share of queries where the
    cascade is wrong and the verifier right, tested along each threshold path: docs/calibration.md),
    fitted on one half of the set and reported on the other.

    On 24 fitting problems nothing cheaper than gpt-4o can be certified within half a point, so
    calibration says so, keeps gpt-4o alone, and says how many labelled examples would certify more:
    """),
    code("""
    careful = calibrate(rs, report.verifier, target_drop=0.5, split=0.5, progress=False)
    print(careful.summary())
    """),
    md("""
    The former point estimate without a margin (`method="point", safety=0`) picks the cheapest
    configuration that merely *looked* good on the fitting half, and the held-out half shows the price:
    quality drops. The cure is more data, not a looser test.
    """),
    code("""
    reckless = calibrate(rs, report.verifier, target_drop=0.5, split=0.5, safety=0, method="point", progress=False)
    print(reckless.summary())
    print()
    print("as configuration:", reckless.to_config())
    """),
    md("""
    ## On the full sets

    The full recordings (1,319 GSM8K problems, 41 models; and the `zellinger-*` sets with real logprobs)
    live outside the repository, in `../shared/data/replay/` (see its README for provenance and licences).
    The same calls run on them; on the whole GSM8K set the default cascade keeps gpt-4o's quality
    (0.965 against 0.962) at 24.1% of its cost; on 660 problems, certified calibration at a 2-point target
    chose agreeing drafter pairs at about 29% of the verifier's cost (the most accurate model on the
    calibration half) in the calibration prototype. From a terminal:

    ```bash
    cascadeflow bench --data ../shared/data/replay/gsm8k-zeroeval
    cascadeflow bench --data ../shared/data/replay/gsm8k-zeroeval --sweep --plot curve.png
    cascadeflow bench --data ../shared/data/replay/gsm8k-zeroeval --calibrate --verifier gpt-4o-2024-08-06 \\
        --target-drop 2 --split 0.5 --save chosen.yaml
    ```

    or in Python: `run_benchmark(default_config(rs), rs)` with
    `rs = ReplaySet.load("../shared/data/replay/gsm8k-zeroeval")` (about 10 seconds). To measure your own
    task, record your models' answers with labels in the same format (docs/replay-and-benchmarks.md).
    """),
]


# --- 03: budgets for a SaaS app ------------------------------------------------------------------------------

BUDGETS = [
    md("""
    # Budgets for a SaaS app

    A SaaS app pays for its users' LLM calls, so each user needs a ceiling that depends on their plan.
    `CostTracker` keeps the books of every call and enforces budgets at admission, before any model is
    called: **warn** at 80% of a budget, **degrade** (drop the expensive tier) at 90%, **block** at 100%.
    A developer callback can override any decision, e.g. to let a paying customer through.

    We simulate one month of traffic for five users on two plans, with a **fake clock** so the month
    passes in seconds. Offline: the users ask GSM8K questions and the models' answers, token counts and
    costs are **recorded real outputs** served by the replay provider (LiteLLM's `mock_response` reports
    a fixed 10 + 20 tokens per call, which would make every request cost the same).
    """),
    code("""
    import json
    import random
    from datetime import datetime, timezone

    from cascadeflow_core import (AgreementValidator, Budget, BudgetExceededError, Cascade, CascadeOptions,
                                  CostTracker, EnforcementDecision, ReplaySet, Tier, register_replay)

    class FakeClock:
        \"\"\"The tracker asks `clock()` for the time: budget periods, forecasts and the ledger follow it.\"\"\"
        def __init__(self, start):
            self.now = start.timestamp()
        def __call__(self):
            return self.now

    clock = FakeClock(datetime(2026, 3, 1, tzinfo=timezone.utc))
    PLAN = {"ana": "free", "ben": "free", "chen": "free", "dara": "pro", "eli": "pro"}
    """),
    md("""
    ## Budgets by plan

    `Budget(limit, period, plan=...)` applies to each user whose request carries that plan
    (`metadata={"plan": "free"}`). Free users get 1 cent a day and 10 cents a month; pro users 10 cents
    a day. The thresholds are the defaults, spelled out on the first one. A decision counts the request's
    estimated cost, and admission *reserves* it, so concurrent requests cannot overspend together.
    """),
    code("""
    budgets = [
        Budget(0.01, "daily", plan="free", warn_at=0.8, degrade_at=0.9, block_at=1.0),
        Budget(0.10, "monthly", plan="free"),
        Budget(0.10, "daily", plan="pro"),
    ]
    """),
    md("""
    ## The enforcement callback

    `on_enforce` sees each admission (user, plan, estimate, spend, limit, forecast and the thresholds'
    decision with its reasons) and returns the decision. Here: a pro user over the daily budget is
    degraded to the cheap tier instead of blocked (they pay; serve them something); everyone else gets
    the thresholds' decision.
    """),
    code("""
    def billing(ctx):
        if ctx.plan == "pro" and ctx.decision == "block":
            return EnforcementDecision("degrade", "pro plan over its daily budget: cheap models only")
        return ctx.decision, "; ".join(ctx.reasons)          # the thresholds' decision

    tracker = CostTracker(budgets=budgets, on_enforce=billing, clock=clock)
    """),
    md("""
    The cascade: gpt-4o-mini and gemma-2-9b must agree, else gpt-4o answers. Budgets need every model
    priced, so the recorded list prices are given on each `ModelSpec`. `degrade` drops the last tier,
    so a degraded request is answered by the drafters alone.
    """),
    code("""
    rs = ReplaySet.load(ReplaySet.sample_path())
    prices = json.loads((ReplaySet.sample_path() / "models.json").read_text())["models"]

    def spec(name):
        p = prices[name]
        return rs.spec(name, input_cost_per_token=p["input_per_mtok"] / 1e6,
                       output_cost_per_token=p["output_per_mtok"] / 1e6)

    cascade = Cascade([
        Tier([spec("gpt-4o-mini-2024-07-18"), spec("gemma-2-9b-it")], AgreementValidator(), name="drafters"),
        Tier([spec("gpt-4o-2024-08-06")], name="verifier"),
    ], tracker=tracker, options=CascadeOptions(verifier_cost=rs.verifier_cost))
    replay = register_replay(rs)       # serve "replay/<model>" through LiteLLM until replay.close()

    def ask(user, rng):
        question = rs.query(rng.choice(rs.ids))
        return cascade.complete(list(question.messages), user=user, metadata={"plan": PLAN[user]},
                                max_tokens=300)    # caps the admission estimate

    r = ask("ana", random.Random(0))
    print(r.model, f"${r.cost:.6f}", {k: r.admission[k] for k in ("decision", "message")})
    """),
    md("""
    ## A month of traffic

    Every simulated hour each user sends a random number of requests around their rate: `ana` a few,
    `ben` more, `chen` (free) far more than the free plan covers, `dara` (pro) a steady stream with a
    16x burst on March 15-16, `eli` (pro) a few. The seed is fixed, so the month is the same every run.
    """),
    code("""
    rng = random.Random(7)
    RATE = {"ana": 0.15, "ben": 0.5, "chen": 1.6, "dara": 1.0, "eli": 0.3}    # requests per hour
    outcomes = {u: {"allow": 0, "warn": 0, "degrade": 0, "blocked": 0} for u in PLAN}
    first_block = {}
    start = clock.now
    SNAPSHOT = 14 * 24 + 18                  # March 15, 18:00: the forecasts and anomalies below look from here

    for hour in range(31 * 24):
        clock.now = start + hour * 3600
        if hour == SNAPSHOT:
            forecasts = tracker.forecast(lookback_s=6 * 3600)
            anomalies = tracker.anomalies(by="user", window_s=6 * 3600)
        for user, rate in RATE.items():
            if user == "dara" and 14 * 24 <= hour < 16 * 24:
                rate *= 16
            n = int(rate) + (rng.random() < rate - int(rate))
            for _ in range(n):
                try:
                    outcomes[user][ask(user, rng).admission["decision"]] += 1
                except BudgetExceededError as e:
                    outcomes[user]["blocked"] += 1
                    first_block.setdefault(user, e)

    print(f"{'user':<6}{'plan':<6}{'allow':>7}{'warn':>6}{'degrade':>8}{'blocked':>8}")
    for u, o in outcomes.items():
        print(f"{u:<6}{PLAN[u]:<6}{o['allow']:>7}{o['warn']:>6}{o['degrade']:>8}{o['blocked']:>8}")
    print()
    print("chen's first refusal:", first_block["chen"])
    """),
    md("""
    The free users were warned, degraded, then blocked, day after day (`chen`) or at the monthly cap
    (`ben`); `ana` stayed inside the plan. `dara`'s burst hit the pro daily budget and the callback
    turned those blocks into degrades, so `dara` got the cheap tier instead of an error. A callback that
    lifts a block lifts the hard cap with it, so `dara` ends those two days a few cents over the budget
    (see the chart below): that is the callback's call to make.

    ## The books

    The tracker shows itself as HTML in a notebook: spend by user and by model.
    """),
    code("""
    tracker
    """),
    md("## Spend over time"),
    code("""
    %matplotlib inline
    from collections import defaultdict

    import matplotlib.pyplot as plt

    daily = defaultdict(lambda: [0.0] * 31)
    for e in tracker.entries():
        daily[e.user][datetime.fromtimestamp(e.ts, timezone.utc).day - 1] += e.cost

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
    days = range(1, 32)
    for user in PLAN:
        cumulative = [sum(daily[user][:d]) for d in days]
        a1.plot(days, daily[user], label=f"{user} ({PLAN[user]})")
        a2.plot(days, cumulative, label=f"{user} ({PLAN[user]})")
    a1.axhline(0.01, ls=":", color="gray")
    a1.axhline(0.10, ls=":", color="gray")
    a1.text(31, 0.011, "free daily", ha="right", fontsize=8)
    a1.text(31, 0.101, "pro daily", ha="right", fontsize=8)
    a2.axhline(0.10, ls=":", color="gray")
    a2.text(1, 0.105, "free monthly", fontsize=8)
    a1.set_title("spend per day ($)")
    a2.set_title("cumulative spend in March ($)")
    for a in (a1, a2):
        a.set_xlabel("day of March")
        a.grid(alpha=0.3)
    a2.legend(fontsize=8)
    fig.tight_layout()
    plt.show()
    """),
    md("""
    ## Forecasts and anomalies

    `tracker.forecast(user=...)` projects each budget's end-of-period spend from the recent rate
    (admission also warns when the projection exceeds a budget); without `user=` it covers every user of
    every budget. `tracker.anomalies()` flags users whose spend in the last window is far above their own
    baseline. Both read the tracker's clock; the simulation called them on March 15 at 18:00, in the
    middle of `dara`'s burst.
    """),
    code("""
    print(f"{len(forecasts)} budget forecasts on March 15, 18:00; projected over budget:")
    for f in forecasts:
        if f.exceeds:
            print(" ", f.describe())
    print()
    for a in anomalies:
        print("anomaly:", a.describe())
    """),
    md("""
    ## Export

    `to_csv()`, `to_json()` and `to_sqlite(path)` export the ledger: one row per model call, rejected
    drafts included, for billing or a warehouse. With a path they write a file; without, `to_csv` and
    `to_json` return the text.
    """),
    code("""
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(tracker.to_csv())))
    print(len(rows), "ledger rows with columns:", ", ".join(rows[0]))
    for row in rows[:3]:
        print({k: row[k] for k in ("time", "user", "plan", "model", "status", "input_tokens", "output_tokens", "cost")})
    replay.close()
    """),
]


# --- 04: adapters side by side -------------------------------------------------------------------------------

ADAPTERS = [
    md("""
    # Adapters side by side: LangChain, LlamaIndex, DSPy

    The same cascade, presented as a LangChain chat model (`ChatCascade`), a LlamaIndex LLM (`CascadeLLM`)
    and a DSPy LM (`CascadeLM`). Each adapter drives the core `Cascade`, so the decisions, the trace and
    the cost are the same whichever framework asks, and **one tracker** books all of them.

    Offline: LiteLLM `mock_response`. The cheap model hedges, so every answer escalates to gpt-4o and the
    trace has something to show.
    """),
    code("""
    from cascadeflow_core import Cascade, CostTracker, ModelSpec, Tier

    tracker = CostTracker()
    cascade = Cascade([
        Tier([ModelSpec("openai/gpt-4o-mini", params={"mock_response": "I'm not sure, maybe 330 metres?"})],
             name="cheap"),
        Tier([ModelSpec("openai/gpt-4o", params={"mock_response": "The Eiffel Tower is 330 metres tall."})],
             name="strong"),
    ], tracker=tracker)
    QUESTION = "How tall is the Eiffel Tower?"

    def show(framework, trace):
        \"\"\"One line per framework from the JSON-ready trace every adapter exposes.\"\"\"
        calls = "; ".join(f"{a['model']} {a['status']}" + (f" ({a['reasons'][-1]})" if a["status"] == "rejected" else "")
                          for a in trace["attempts"])
        print(f"{framework:<10} answer={trace['text']!r}")
        print(f"{'':<10} by {trace['model']}, cost ${trace['cost']:.6f} (gpt-4o alone ${trace['verifier_cost']:.6f})")
        print(f"{'':<10} calls: {calls}")
    """),
    md("""
    ## LangChain: `ChatCascade`

    A `BaseChatModel`: LCEL chains, agents, `with_structured_output`, streaming. The user id comes from
    the run config's metadata, the way LangChain apps label runs. The trace is in
    `response_metadata["cascade"]` (`ChatCascade.trace(msg)`).
    """),
    code("""
    from langchain_core.prompts import ChatPromptTemplate
    from cascadeflow_langchain import ChatCascade

    llm = ChatCascade(cascade)
    chain = ChatPromptTemplate.from_messages([("user", "{question}")]) | llm
    msg = chain.invoke({"question": QUESTION}, config={"metadata": {"user_id": "langchain-user"}})
    print(msg.response_metadata["model_name"], msg.response_metadata["escalated"], msg.usage_metadata)
    show("LangChain", ChatCascade.trace(msg))
    """),
    md("""
    ## LlamaIndex: `CascadeLLM`

    A `FunctionCallingLLM`: query and chat engines, agents, `structured_predict`. The trace is in
    `response.raw["trace"]` and the `CascadeResult` itself in `response.raw["result"]`.
    """),
    code("""
    from llama_index.core.llms import ChatMessage
    from cascadeflow_llamaindex import CascadeLLM

    li_llm = CascadeLLM(cascade, user="llamaindex-user")
    response = li_llm.chat([ChatMessage(role="user", content=QUESTION)])
    print(response.additional_kwargs["model"], response.additional_kwargs["escalated"])
    show("LlamaIndex", response.raw["trace"])
    """),
    md("The `CascadeResult` that LlamaIndex carries renders as in the tour:"),
    code("""
    response.raw["result"]
    """),
    md("""
    ## DSPy: `CascadeLM`

    A `dspy.LM`: every module, `Evaluate` and the optimizers. Called directly with a prompt it returns the
    completions, like any DSPy LM; `lm.history[-1]["cascade"]` holds the trace and `cost` the dollars.
    """),
    code("""
    import dspy
    from cascadeflow_dspy import CascadeLM

    lm = CascadeLM(cascade, user="dspy-user", cache=False)
    print(lm(QUESTION))
    entry = lm.history[-1]
    print("history cost:", f"${entry['cost']:.6f}")
    show("DSPy", entry["cascade"])
    """),
    md("""
    Inside a DSPy program the model sees DSPy's prompt and must answer in DSPy's field format, so this
    cascade's drafter is mocked in that format. Same tracker; `get_lm_usage()` shows the cost per LM.
    """),
    code("""
    program_cascade = Cascade([
        ModelSpec("openai/gpt-4o-mini", params={"mock_response": "[[ ## answer ## ]]\\nI don't know\\n\\n[[ ## completed ## ]]"}),
        ModelSpec("openai/gpt-4o", params={"mock_response": "[[ ## answer ## ]]\\n330 metres\\n\\n[[ ## completed ## ]]"}),
    ], tracker=tracker)
    dspy.configure(lm=CascadeLM(program_cascade, user="dspy-user", cache=False), track_usage=True)
    prediction = dspy.Predict("question -> answer")(question=QUESTION)
    print("answer:", prediction.answer)
    for name, usage in prediction.get_lm_usage().items():
        print(name, {k: usage[k] for k in ("prompt_tokens", "completion_tokens")}, f"cost ${usage['cost']:.6f}")
    show("DSPy prog", dspy.settings.lm.history[-1]["cascade"])
    """),
    md("""
    ## One tracker, three frameworks

    Every call above went through the same `CostTracker`, whichever framework made it: one ledger, one
    set of budgets, per user.
    """),
    code("""
    for user, t in sorted(tracker.totals(by="user").items()):
        print(f"{user:<16} ${t['cost']:.6f}  {int(t['requests'])} requests  {int(t['calls'])} model calls")
    """),
]


NOTEBOOKS: dict[str, list[tuple[str, str]]] = {
    "01_tour.ipynb": TOUR,
    "02_what_would_a_cascade_save_me.ipynb": SAVE,
    "03_budgets_for_a_saas_app.ipynb": BUDGETS,
    "04_adapters_side_by_side.ipynb": ADAPTERS,
}


# --- building and executing -----------------------------------------------------------------------------------


def build(name: str) -> Any:
    """The notebook ``name`` (without outputs) from its cell list; cell ids are stable for small diffs."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    stem = name.split("_", 1)[0]
    for i, (kind, source) in enumerate(NOTEBOOKS[name]):
        cell = (
            nbformat.v4.new_markdown_cell(source) if kind == "markdown" else nbformat.v4.new_code_cell(source)
        )
        cell["id"] = f"nb{stem}-{i:02d}"
        nb.cells.append(cell)
    return nb


@contextlib.contextmanager
def kernel_dir() -> Iterator[Path]:
    """A temporary kernelspec ``python3`` running ``sys.executable`` with ``KERNEL_ENV``; yields its parent."""
    with tempfile.TemporaryDirectory(prefix="cascadeflow-kernels-") as tmp:
        spec = Path(tmp) / "python3"
        spec.mkdir()
        env = {**KERNEL_ENV, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        (spec / "kernel.json").write_text(
            json.dumps(
                {
                    "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                    "display_name": "Python 3 (cascadeflow build)",
                    "language": "python",
                    "env": env,
                }
            ),
            encoding="utf-8",
        )
        yield Path(tmp)


def execute(nb: Any, cwd: Path, kernels: Path, timeout: int = CELL_TIMEOUT_S) -> Any:
    """Run every cell of ``nb`` in a fresh kernel from ``kernels`` with working directory ``cwd``."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    km = KernelManager(
        kernel_name="python3", kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernels)])
    )
    client = NotebookClient(
        nb,
        km=km,
        timeout=timeout,
        record_timing=False,
        allow_errors=False,
        resources={"metadata": {"path": str(cwd)}},
    )
    client.execute()
    return nb


def main(argv: list[str]) -> int:
    import nbformat

    names = [n for n in NOTEBOOKS if not argv or any(a in n for a in argv)]
    with kernel_dir() as kernels:
        for name in names:
            nb = execute(build(name), HERE, kernels)
            nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
            nbformat.write(nb, HERE / name)
            print(f"wrote {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
