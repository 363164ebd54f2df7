"""Agreement validation: two cheap drafters agree -> their answer is accepted; they disagree -> escalation.

Run: python examples/agreement_validation.py [--live]

Offline (default) each model answers with LiteLLM's ``mock_response``, so the run is free and the two
cases are certain. ``--live`` calls OpenAI (needs OPENAI_API_KEY): gpt-4o-mini and gpt-4.1-nano draft,
gpt-4o verifies.
"""

from __future__ import annotations

import os
import sys

from cascadeflow_core import AgreementValidator, Cascade, CascadeError, ModelSpec, Tier

LIVE = "--live" in sys.argv
if LIVE and not os.environ.get("OPENAI_API_KEY"):
    print("--live calls OpenAI: set OPENAI_API_KEY, or run without --live (offline).", file=sys.stderr)
    sys.exit(2)

CASES = [  # (question, what the two drafters say offline, what the verifier says offline)
    (
        "A pen costs $3 and a notebook $4. What do 2 pens and 1 notebook cost?",
        ("2*3 + 4 = 10, so $10.", "The total is #### 10"),
        "$10",
    ),
    (
        "A train leaves at 14:10 and arrives at 16:55. How many minutes is the trip?",
        ("It takes 165 minutes.", "The trip is 2 h 45 min = 145 minutes."),
        "165 minutes",
    ),
]


def model(name: str, mock: str) -> ModelSpec:
    return ModelSpec(name) if LIVE else ModelSpec(name, params={"mock_response": mock})


def cascade_for(drafts: tuple[str, str], verifier: str) -> Cascade:
    return Cascade(
        [
            Tier(
                [model("openai/gpt-4o-mini", drafts[0]), model("openai/gpt-4.1-nano", drafts[1])],
                validator=AgreementValidator(min_agree=2),
                name="drafters",
            ),  # the final answers must match
            Tier([model("openai/gpt-4o", verifier)], name="verifier"),
        ]
    )


def main() -> int:
    for question, drafts, verifier in CASES:
        print(f"Q: {question}")
        try:
            result = cascade_for(drafts, verifier).complete(question, max_tokens=200)
        except CascadeError as e:  # every failure is typed: rate limit, auth, exhausted tiers ...
            print(f"  failed: {type(e).__name__}: {e}")
            return 1
        outcome = "escalated" if result.escalated else "accepted"
        print(f"A: {result.text!r}  ({outcome}: answered by {result.model})")
        for attempt in result.attempts:  # every call, with the validator's score and reasons
            score = "-" if attempt.score is None else f"{attempt.score:.2f}"
            print(
                f"   {attempt.tier:>9} {attempt.model:<22} {attempt.status:<10} score={score} "
                f"${attempt.cost:.6f}  {'; '.join(attempt.reasons)}"
            )
        print(f"   cost ${result.cost:.6f}; gpt-4o alone would cost ${result.verifier_cost or 0:.6f}\n")
    print("The full trace of the last request, result.explain():")
    print(result.explain())
    return 0


if __name__ == "__main__":
    sys.exit(main())
