"""Semantic agreement: drafts agree when their answers mean the same, by embedding similarity (extra ``ml``).

Exact agreement (``AgreementValidator``) needs a final answer it can extract and compare; free text (a
paragraph, a summary, "the Thames" against "River Thames") rarely gives one, so two-drafter tiers always
escalate on prose. ``SemanticAgreementValidator`` embeds each draft (the local all-MiniLM-L6-v2 of
``MiniLMEmbedder`` by default, or any ``text -> vector`` function) and accepts when at least
``min_agree`` drafts are within ``threshold`` cosine similarity of one another. The threshold must be
calibrated per task: ``docs/validators.md`` gives the measured accuracy and cost on TriviaQA and
TruthfulQA.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from .._errors import ConfigError
from .._types import Draft, Request, Verdict

__all__ = ["SemanticAgreementValidator"]


class SemanticAgreementValidator:
    """Accept when ``min_agree`` drafts are within ``threshold`` cosine similarity of each other.

    Tool-call drafts agree only on the same calls with the same canonical arguments (as in
    ``AgreementValidator``). The score is the best similarity found, so it can be calibrated like any
    other score. The embedding runs on the CPU; ``offload`` lets async drivers run it in a thread.

    Args:
        threshold: cosine similarity at or above which two drafts agree (calibrate it: see
            ``docs/validators.md``).
        embed: ``text -> vector``; an object with ``encode(texts) -> rows`` is used in one batch.
            Default: ``MiniLMEmbedder()`` (extra ``ml``), loaded on first use.
        min_agree: how many drafts must agree (default 2).

    Example:
        >>> v = SemanticAgreementValidator(0.8, embed=lambda t: [1.0, 0.0] if "Thames" in t else [0.0, 1.0])
        >>> v([Draft("a", "the Thames"), Draft("b", "River Thames")], Request("q")).accept
        True
    """

    offload = True

    def __init__(
        self,
        threshold: float = 0.9,
        embed: Callable[[str], Sequence[float]] | None = None,
        min_agree: int = 2,
        name: str = "semantic",
    ) -> None:
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not -1 <= threshold <= 1:
            raise ConfigError(
                "SemanticAgreementValidator.threshold",
                f"must be a cosine similarity in [-1, 1], got {threshold!r}",
                "calibrate it on your task; e.g. 0.9",
            )
        if isinstance(min_agree, bool) or not isinstance(min_agree, int) or min_agree < 2:
            raise ConfigError(
                "SemanticAgreementValidator.min_agree", f"must be an int >= 2, got {min_agree!r}", "use 2"
            )
        if embed is not None and not callable(embed):
            raise ConfigError(
                "SemanticAgreementValidator.embed", f"{embed!r} is not callable", "text -> vector"
            )
        self.threshold = float(threshold)
        self.min_agree = min_agree
        self.name = name
        self._embed = embed

    def __repr__(self) -> str:
        return f"SemanticAgreementValidator(threshold={self.threshold}, min_agree={self.min_agree})"

    @property
    def embed(self) -> Callable[[str], Sequence[float]]:
        if self._embed is None:
            from ..providers import MiniLMEmbedder

            self._embed = MiniLMEmbedder()
        return self._embed

    def vectors(self, texts: list[str]) -> list[list[float]]:
        """Unit vectors of ``texts`` (one batch when the embedder has ``encode``)."""
        batch = getattr(self.embed, "encode", None)
        rows = batch(texts) if callable(batch) else [self.embed(t) for t in texts]
        out = []
        for row in rows:
            v = [float(x) for x in row]
            norm = math.sqrt(sum(x * x for x in v)) or 1.0
            out.append([x / norm for x in v])
        return out

    def similarity(self, a: str, b: str) -> float:
        """Cosine similarity of two texts."""
        va, vb = self.vectors([a, b])
        return sum(x * y for x, y in zip(va, vb, strict=True))

    def __call__(self, drafts: Sequence[Draft], request: Request) -> Verdict:
        if len(drafts) < self.min_agree:
            why = f"only {len(drafts)} draft(s): agreement needs {self.min_agree}"
            return Verdict(False, 0.0, (why,), self.name)
        keys = [_calls_key(d) if d.tool_calls else d.text.strip() for d in drafts]
        usable = [i for i, k in enumerate(keys) if k]
        if len(usable) < self.min_agree:
            return Verdict(False, 0.0, ("fewer than two drafts with an answer",), self.name)
        sims = self._matrix(drafts, keys, usable)
        best_i, best_n, best_sim = usable[0], 0, -1.0
        for i in usable:
            close = [j for j in usable if j != i and sims[(min(i, j), max(i, j))] >= self.threshold]
            top = max((sims[(min(i, j), max(i, j))] for j in usable if j != i), default=-1.0)
            if len(close) + 1 > best_n or (len(close) + 1 == best_n and top > best_sim):
                best_i, best_n, best_sim = i, len(close) + 1, top
        score = max(0.0, best_sim)
        if best_n >= self.min_agree:
            why = (
                f"{best_n}/{len(drafts)} drafts agree in meaning (cosine {best_sim:.3f} >= {self.threshold})"
            )
            return Verdict(True, score, (why,), self.name, chosen=best_i)
        why = f"drafts differ in meaning (best cosine {best_sim:.3f} < {self.threshold})"
        return Verdict(False, score, (why,), self.name, chosen=best_i)

    def _matrix(
        self, drafts: Sequence[Draft], keys: list[str], usable: list[int]
    ) -> dict[tuple[int, int], float]:
        texts = [i for i in usable if not drafts[i].tool_calls]
        vecs = dict(zip(texts, self.vectors([keys[i] for i in texts]), strict=True)) if texts else {}
        sims: dict[tuple[int, int], float] = {}
        for a in usable:
            for b in usable:
                if a < b:
                    if a in vecs and b in vecs:
                        sims[(a, b)] = sum(x * y for x, y in zip(vecs[a], vecs[b], strict=True))
                    else:  # tool calls (or a call against text): the same calls or nothing
                        sims[(a, b)] = 1.0 if keys[a] == keys[b] else 0.0
        return sims


def _calls_key(d: Draft) -> str:
    import json

    def canon(s: str) -> str:
        try:
            return json.dumps(json.loads(s), sort_keys=True, separators=(",", ":"))
        except (ValueError, TypeError):
            return s.strip()

    return "tools:" + "|".join(f"{c.name}({canon(c.arguments)})" for c in d.tool_calls)
