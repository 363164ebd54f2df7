"""Domain detection and complexity estimation."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

from cascadeflow_core import ConfigError, Request
from cascadeflow_core.routing._complexity import LEVELS, estimate_complexity, relevant_text
from cascadeflow_core.routing._domain import DOMAINS, DomainDetector, EmbeddingDomainDetector

DATA = Path(__file__).resolve().parents[1] / "data" / "routing"


def accuracy(name: str) -> tuple[float, dict[str, float]]:
    det = DomainDetector()
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for line in (DATA / name).read_text().splitlines():
        row = json.loads(line)
        per[row["domain"]][0] += det.detect(row["text"]).domain == row["domain"]
        per[row["domain"]][1] += 1
    total = sum(a for a, _ in per.values()) / sum(n for _, n in per.values())
    return total, {d: a / n for d, (a, n) in per.items()}


def test_labelled_sets_cover_every_domain() -> None:
    for name, per_domain in (
        ("dev.jsonl", 40),
        ("holdout.jsonl", 20),
        ("holdout2.jsonl", 20),
        ("holdout3.jsonl", 20),
    ):
        rows = [json.loads(line) for line in (DATA / name).read_text().splitlines()]
        counts = defaultdict(int)
        for r in rows:
            counts[r["domain"]] += 1
        assert dict(counts) == dict.fromkeys(DOMAINS, per_domain)


def test_accuracy_floors() -> None:
    # Regression floors, well below the measured figures (dev 97.5%, untouched holdout3 90.6%).
    dev, _ = accuracy("dev.jsonl")
    held, per = accuracy("holdout3.jsonl")
    assert dev >= 0.93
    assert held >= 0.85
    assert per["general"] >= 0.9  # a miss should fall back to general, not to a wrong specialist


@pytest.mark.parametrize(
    "text,domain",
    [
        ("```python\ndef f(x):\n    return x[0]\n```\nWhy IndexError?", "code"),
        ("SELECT user_id, COUNT(*) FROM events GROUP BY user_id", "data"),
        ("Compute $\\int_0^1 x^2 dx$", "math"),
        ("Is it safe to take ibuprofen with high blood pressure?", "medical"),
        ("Can my landlord keep the deposit if the lease says so?", "legal"),
        ("Should I put my bonus into my Roth IRA or pay down my mortgage?", "finance"),
        ("Write a haiku about the first snow", "creative"),
        ("hello there", "general"),
    ],
)
def test_examples(text: str, domain: str) -> None:
    result = DomainDetector().detect(text)
    assert result.domain == domain
    assert 0.0 <= result.confidence <= 1.0
    assert result.describe().startswith(f"domain={domain} (")


def test_signals_name_what_decided() -> None:
    r = DomainDetector().detect("Solve for x: 3x + 7 = 22")
    assert r.domain == "math" and "formula" in r.signals and "keyword 'solve'" in r.signals
    assert r.confidence > 0.7


def test_clear_queries_are_more_confident_than_ambiguous_ones() -> None:
    det = DomainDetector()
    clear = det.detect("```python\nimport os\nprint(os.getcwd())\n```\nWhy does this python script fail?")
    mixed = det.detect("What is the difference between a recession and a depression?")
    assert clear.confidence > mixed.confidence


def test_extra_keywords_and_custom_domain() -> None:
    det = DomainDetector(extra_keywords={"chemistry": [r"molecule\w*", r"reagent\w*"]})
    assert "chemistry" in det.domains
    assert det.detect("Which reagent breaks this molecule apart?").domain == "chemistry"


@pytest.mark.parametrize(
    "kwargs", [{"min_score": 0}, {"margin": 0.5}, {"extra_keywords": {"x": ["(unclosed"]}}]
)
def test_bad_detector_config(kwargs: dict) -> None:
    with pytest.raises(ConfigError):
        DomainDetector(**kwargs)


def _bag_of_words(text: str) -> list[float]:
    vocab = ("python", "function", "error", "solve", "equation", "integral", "poem", "story", "write")
    words = text.lower().replace("?", " ").replace(".", " ").split()
    return [float(sum(w.startswith(v) for w in words)) for v in vocab]


def test_embedding_detector_with_an_injected_embedder() -> None:
    det = EmbeddingDomainDetector(
        {
            "code": ["python function error", "fix this python function"],
            "math": ["solve the equation", "compute the integral"],
            "creative": ["write a poem", "write a story"],
        },
        embed=_bag_of_words,
        min_similarity=0.3,
    )
    assert det.detect("my python function throws an error").domain == "code"
    assert det.detect("solve this equation please").domain == "math"
    assert det.detect("write me a short story").domain == "creative"
    assert det.detect("what time is it in Tokyo").domain == "general"


def test_embedding_detector_config_errors() -> None:
    with pytest.raises(ConfigError, match="examples"):
        EmbeddingDomainDetector({"code": []}, embed=_bag_of_words)
    with pytest.raises(ConfigError, match="min_similarity"):
        EmbeddingDomainDetector({"code": ["x"]}, embed=_bag_of_words, min_similarity=2)


# --- complexity -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text,level",
    [
        ("hi", "trivial"),
        ("What is the capital of France?", "trivial"),
        ("How do I reverse a linked list in Python?", "simple"),
        (
            "Compare the trade-offs between optimistic and pessimistic locking for a payments service. "
            "Which would you choose and why?",
            "moderate",
        ),
        ("Prove rigorously that every bounded monotone sequence of real numbers converges.", "hard"),
        (
            "Design a lock-free, linearizable multi-producer queue in C++ and prove its progress guarantee formally. "
            "It must not allocate on the hot path, must handle ABA, and should scale to 64 cores.",
            "expert",
        ),
    ],
)
def test_complexity_levels(text: str, level: str) -> None:
    assert estimate_complexity(text).level == level


def test_complexity_grows_with_code_size() -> None:
    small = "```python\nx = 1\n```\nwhat does this do"
    big = (
        "```python\n"
        + "\n".join(
            f"class C{i}:\n    def m(self, xs):\n        for x in xs:\n            if x:\n                while x:\n"
            f"                    x -= 1\n        return xs"
            for i in range(15)
        )
        + "\n```\nwhat does this do"
    )
    s, b = estimate_complexity(small), estimate_complexity(big)
    assert LEVELS.index(b.level) > LEVELS.index(s.level)
    assert any("python AST" in sig for sig in b.signals)


def test_non_python_code_is_measured_by_lines_and_nesting() -> None:
    js = (
        "```js\n"
        + "\n".join("function f" + str(i) + "(a) { if (a) { for (;;) { g(a); } } }" for i in range(40))
        + "\n```"
    )
    result = estimate_complexity(js)
    assert any(sig.startswith("code:") for sig in result.signals)


def test_relevant_text_ignores_system_and_history() -> None:
    req = Request(
        [
            {"role": "system", "content": "prove " * 1000},
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "answer"},
            {"role": "user", "content": "second question"},
        ]
    )
    assert relevant_text(req) == ("second question", "")
    assert relevant_text("plain") == ("plain", "")


def test_at_least_and_unknown_level() -> None:
    r = estimate_complexity("hi")
    assert r.at_least("trivial") and not r.at_least("simple")
    with pytest.raises(ConfigError, match="unknown complexity level"):
        r.at_least("legendary")
