"""A judge: a (cheap or mid) model grades a draft against the question and returns a score.

The fallback signal where no final answer can be extracted (open-ended prose: a summary, a paragraph,
a poem) and a tier has a single drafter. Every grading call is booked: the verdict carries the judge's
``Draft`` in ``charges`` and the engine records it as a ``judge`` attempt, so the trace, the result's
cost and the tracker's ledger include it. The score (0-10 from the judge, scaled to [0, 1]) is
calibrated like any other score: pick ``threshold`` on recorded outputs (``docs/validators.md``).
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence

from .._errors import ConfigError, ProviderError
from .._types import Draft, ModelSpec, Request, Verdict
from ..providers import LiteLLMBackend

__all__ = ["JUDGE_PROMPT", "JUDGE_SYSTEM", "JudgeValidator"]

JUDGE_SYSTEM = (
    "You grade answers. Given a question and a candidate answer, rate how likely the answer is correct, "
    "complete and helpful: 0 means wrong or unhelpful, 10 means certainly correct. Reply with the number only."
)
JUDGE_PROMPT = "Question:\n{question}\n\nCandidate answer:\n{answer}\n\nScore (0-10):"
_NUMBER = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)")
_LIMIT = 6000  # characters of question and of answer shown to the judge


class JudgeValidator:
    """Accept a draft a judge model scores at or above ``threshold`` (on a 0-1 scale).

    Drafts are graded in order until one passes (a two-drafter tier pays for a second grading only when
    the first draft fails). The judge's calls are booked as ``judge`` attempts.

    Args:
        model: the judge: a model string or a ``ModelSpec`` (prices, ``api_base``, a backend).
        threshold: the lowest accepted score in [0, 1] (the judge's 0-10 divided by 10).
        prompt: the user message, with ``{question}`` and ``{answer}`` placeholders.
        system: the judge's system message (the rubric).
        max_tokens: the longest judge reply.

    Example:
        >>> judge = JudgeValidator(ModelSpec("openai/gpt-4o-mini", params={"mock_response": "9"}))
        >>> judge([Draft("m", "Paris")], Request("Capital of France?")).score
        0.9
    """

    offload = True

    def __init__(
        self,
        model: str | ModelSpec,
        threshold: float = 0.7,
        prompt: str = JUDGE_PROMPT,
        system: str = JUDGE_SYSTEM,
        max_tokens: int = 8,
        name: str = "judge",
    ) -> None:
        self.spec = ModelSpec.coerce(model, "JudgeValidator.model")
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 <= threshold <= 1:
            raise ConfigError("JudgeValidator.threshold", f"must be in [0, 1], got {threshold!r}", "e.g. 0.7")
        if not isinstance(prompt, str) or "{answer}" not in prompt or "{question}" not in prompt:
            raise ConfigError(
                "JudgeValidator.prompt",
                "must be a string with {question} and {answer} placeholders",
                'e.g. "Q: {question}\\nA: {answer}\\nScore 0-10:"',
            )
        try:
            prompt.format(question="", answer="")
        except (KeyError, IndexError, ValueError) as e:
            raise ConfigError(
                "JudgeValidator.prompt", f"cannot be formatted ({e})", "escape other braces as {{ }}"
            ) from e
        self.threshold = float(threshold)
        self.prompt = prompt
        self.system = system
        self.max_tokens = max_tokens
        self.name = name
        self.backend = self.spec.backend or LiteLLMBackend()

    def __repr__(self) -> str:
        return f"JudgeValidator({self.spec.label!r}, threshold={self.threshold})"

    def grade(self, question: str, answer: str) -> tuple[float | None, Draft | None, str]:
        """The judge's score in [0, 1] (None: unreadable or failed), its paid ``Draft``, and a reason."""
        messages = [
            {"role": "system", "content": self.system},
            {
                "role": "user",
                "content": self.prompt.format(question=question[-_LIMIT:], answer=answer[:_LIMIT]),
            },
        ]
        req = Request(messages, temperature=0.0, max_tokens=self.max_tokens)
        t0 = time.perf_counter()
        try:
            draft = self.backend.complete(self.spec, req)
        except ProviderError as e:
            return None, None, f"judge {self.spec.label} failed: {e.kind}"
        if not draft.latency_s:
            draft = _with_latency(draft, time.perf_counter() - t0)
        m = _NUMBER.search(draft.text)
        if m is None:
            return None, draft, f"judge reply unreadable: {draft.text[:40]!r}"
        score = min(10.0, float(m.group(1))) / 10.0
        return score, draft, f"judge {self.spec.label} scored {score * 10:g}/10"

    def __call__(self, drafts: Sequence[Draft], request: Request) -> Verdict:
        question = request.last_user_text
        charges: list[Draft] = []
        reasons: list[str] = []
        best, best_i = 0.0, 0
        for i, d in enumerate(drafts):
            answer = d.text.strip() or "; ".join(f"{c.name}({c.arguments})" for c in d.tool_calls)
            if not answer:
                reasons.append(f"{d.model}: empty answer")
                continue
            score, paid, why = self.grade(question, answer)
            if paid is not None:
                charges.append(paid)
            reasons.append(f"{d.model}: {why}")
            if score is not None and score > best:
                best, best_i = score, i
            if score is not None and score >= self.threshold:
                return Verdict(True, score, (reasons[-1],), self.name, i, tuple(charges))
        reasons.append(f"no draft reached {self.threshold:g}")
        return Verdict(False, best, tuple(reasons), self.name, best_i, tuple(charges))


def _with_latency(draft: Draft, seconds: float) -> Draft:
    from dataclasses import replace

    return replace(draft, latency_s=seconds)
