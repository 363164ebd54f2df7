"""Complexity estimation: how hard is this query (trivial / simple / moderate / hard / expert)?

Only the latest user turn counts, plus code it refers back to ("fix it", "why does this fail?"):
a long system prompt or a long chat history must not make every query hard. Code in the query is
analysed with Python's ``ast`` (functions, classes, branches, loops, nesting) or, for other languages,
by lines and brace nesting; prose by length, reasoning markers, multi-step structure and constraints.
Points add up to a level; ``signals`` say which ones counted, for the route trace.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .._errors import ConfigError
from .._types import Request, content_text

__all__ = ["LEVELS", "ComplexityResult", "estimate_complexity", "level_index", "relevant_text"]

LEVELS: tuple[str, ...] = ("trivial", "simple", "moderate", "hard", "expert")
_BOUNDS = (1.0, 3.5, 6.5, 9.5)  # points <= bound -> level; above the last -> expert
_MAX_CHARS = 8000

_FENCE = re.compile(r"```[\w+#.-]*[ \t]*\n(.*?)(?:```|\Z)", re.DOTALL)
_REASONING = re.compile(
    r"\b(?:why|explain|justify|derive|analy[sz]e|compare|contrast|evaluate|trade-?offs?|pros and cons|"
    r"step[- ]by[- ]step|reason(?:ing)?|critique|assess|design|architect\w*|optimi[sz]e|debug|diagnose|"
    r"implications?|what would happen|how would you)\b",
    re.IGNORECASE,
)
_EXPERT = re.compile(
    r"\b(?:prove|proof|rigorous\w*|formal(?:ly)?|theorem|lemma|derivation|asymptotic\w*|np-hard|"
    r"complexity class|lock-free|linearizab\w+|consensus|byzantine|distributed (?:system|transaction)s?|"
    r"formal verification|differential equations?|measure theory|topolog\w+|manifold\w*|eigen\w*|"
    r"stochastic|bayesian|variational|cryptograph\w*|zero-knowledge|compiler (?:pass|backend)|"
    r"kernel (?:module|driver)|research[- ]level|state of the art|novel (?:approach|algorithm)|"
    r"production-grade|at scale|scalab\w+|fault[- ]toleran\w+|differential diagnosis|case law|"
    r"precedent|multi-jurisdiction\w*|tax implications|derivatives pricing|black-scholes)\b",
    re.IGNORECASE,
)
_CONSTRAINT = re.compile(
    r"\b(?:must(?: not)?|should(?: not)?|without (?:using|changing)|at most|at least|no more than|"
    r"exactly|only use|don't use|do not use|in under|within \d+|constraint\w*|requirement\w*|"
    r"edge cases?|o\([^)]{1,12}\)|thread-safe|backwards?[- ]compatible|idempotent)\b",
    re.IGNORECASE,
)
_TRIVIAL = re.compile(
    r"^\s*(?:hi|hello|hey|thanks|thank you|ok(?:ay)?|good (?:morning|night)|bye|yes|no|cool|great)\b|"
    r"^\s*(?:what|who|where|when) (?:is|was|are) (?:the )?(?:capital|author|date|population|meaning)\b|"
    r"^\s*(?:translate|define|spell)\b",
    re.IGNORECASE,
)
_STEP = re.compile(r"(?m)^\s*(?:\d+[.)]|[-*•]|step \d+)\s+\S")
_SEQUENCE = re.compile(r"\b(?:first|then|after that|next|finally|and also|additionally)\b", re.IGNORECASE)
_ANAPHORA = re.compile(r"\b(?:it|this|that|these|those|above|previous|same|again|instead)\b", re.IGNORECASE)
_CALC = re.compile(r"\d\s*[-+*/^=×÷]\s*\(?\s*\d|\b\d*[a-z]\s*[-+*/^=]\s*\d|\\frac|\\int|\\sum")
_LENGTH_POINTS = ((6, 0.0), (15, 1.5), (40, 2.5), (100, 3.5), (250, 4.5))
_CODE_LINE = re.compile(
    r"[;{}]\s*$|^\s*(?:def|class|if|for|while|return|import|from|function|const|let|var)\b"
)


def level_index(level: str, field: str = "complexity") -> int:
    """Position of a level in ``LEVELS``; ``ConfigError`` naming ``field`` when unknown."""
    try:
        return LEVELS.index(level)
    except ValueError:
        raise ConfigError(
            field, f"unknown complexity level {level!r}", f"use one of {list(LEVELS)}"
        ) from None


@dataclass(frozen=True)
class ComplexityResult:
    """The estimated complexity of a query.

    Attributes:
        level: one of ``LEVELS``.
        points: the raw score behind the level.
        signals: what counted, e.g. ``("62 words", "2 reasoning markers", "code: 3 functions, depth 4")``.
    """

    level: str
    points: float
    signals: tuple[str, ...] = ()

    def at_least(self, level: str) -> bool:
        return LEVELS.index(self.level) >= level_index(level)

    def describe(self) -> str:
        """One line for the route trace: ``complexity=hard (7.5): 120 words, proof``."""
        why = ", ".join(self.signals[:4]) if self.signals else "short plain query"
        return f"complexity={self.level} ({self.points:g}): {why}"


def relevant_text(request: Request | Sequence[Mapping[str, Any]] | str) -> tuple[str, str]:
    """The latest user turn, and code it refers back to (``(turn, context_code)``).

    System prompts and older turns are ignored, except that a short latest turn that points back
    ("fix it", "why does this fail?") brings in the code blocks of the message just before it.
    """
    if isinstance(request, str):
        return request, ""
    messages = request.messages if isinstance(request, Request) else request
    idx = next((i for i in range(len(messages) - 1, -1, -1) if messages[i].get("role") == "user"), None)
    if idx is None:
        return "", ""
    turn = content_text(messages[idx].get("content"))
    context = ""
    if idx > 0 and len(turn.split()) <= 25 and _ANAPHORA.search(turn) and not _FENCE.search(turn):
        prev = content_text(messages[idx - 1].get("content"))
        if messages[idx - 1].get("role") != "system":
            context = "\n".join(_FENCE.findall(prev))
    return turn, context


def estimate_complexity(text: str, context_code: str = "") -> ComplexityResult:
    """Estimate the complexity of one query text (use ``relevant_text`` to pick it from a request).

    Example:
        >>> estimate_complexity("What is the capital of France?").level
        'trivial'
    """
    text = text[:_MAX_CHARS]
    code_blocks = _FENCE.findall(text)
    prose = _FENCE.sub(" ", text)
    if not code_blocks and _looks_like_code(text):
        code_blocks, prose = [text], ""
    if context_code:
        code_blocks.append(context_code[:_MAX_CHARS])
    points, signals = _prose_points(prose)
    if code_blocks:
        cp, csig = _code_points("\n".join(code_blocks))
        points += cp
        signals.append(csig)
    level = next((lv for lv, bound in zip(LEVELS, _BOUNDS, strict=False) if points <= bound), LEVELS[-1])
    return ComplexityResult(level, round(points, 2), tuple(signals))


def _prose_points(prose: str) -> tuple[float, list[str]]:
    words = len(prose.split())
    points = next((p for bound, p in _LENGTH_POINTS if words < bound), 5.5)
    signals = [f"{words} words"] if words >= 25 else []
    reasoning = {m.lower() for m in _REASONING.findall(prose)}
    if reasoning:
        points += min(3.0, 1.0 * len(reasoning))
        signals.append("reasoning: " + ", ".join(sorted(reasoning)[:3]))
    expert = {m.lower() for m in _EXPERT.findall(prose)}
    if expert:
        points += min(9.0, 3.0 * len(expert))
        signals.append("expert: " + ", ".join(sorted(expert)[:3]))
    if _CALC.search(prose):
        points += 1.0
        signals.append("calculation")
    constraints = len(_CONSTRAINT.findall(prose))
    if constraints:
        points += min(3.0, 1.0 * constraints)
        signals.append(f"{constraints} constraint(s)")
    steps = len(_STEP.findall(prose)) + len(_SEQUENCE.findall(prose))
    questions = prose.count("?")
    if steps >= 3 or questions >= 3:
        points += 2.0
        signals.append(f"multi-step ({steps} steps, {questions} questions)")
    elif steps >= 2 or questions == 2:
        points += 1.0
        signals.append("two parts")
    if _TRIVIAL.search(prose) and words < 15 and not expert:
        points = max(0.0, points - 2.0)
        signals.append("trivial form")
    return points, signals


def _looks_like_code(text: str) -> bool:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if len(lines) < 3:
        return False
    return sum(bool(_CODE_LINE.search(ln)) for ln in lines) >= max(2, len(lines) // 2)


def _code_points(code: str) -> tuple[float, str]:
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError):
        return _generic_code_points(code)
    funcs = classes = branches = 0
    nodes = 0
    for node in ast.walk(tree):
        nodes += 1
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            funcs += 1
        elif isinstance(node, ast.ClassDef):
            classes += 1
        elif isinstance(
            node,
            (
                ast.If,
                ast.For,
                ast.While,
                ast.Try,
                ast.With,
                ast.AsyncFor,
                ast.AsyncWith,
                ast.comprehension,
                ast.Match if hasattr(ast, "Match") else ast.If,
            ),
        ):
            branches += 1
    depth = _ast_depth(tree)
    points = 1.0 if nodes < 25 else 2.0 if nodes < 100 else 3.0 if nodes < 300 else 4.0
    points += min(2.0, 0.25 * branches) + (1.0 if depth >= 4 else 0.0) + (1.0 if classes else 0.0)
    return (
        points,
        f"python AST: {nodes} nodes, {funcs} functions, {classes} classes, {branches} branches, "
        f"depth {depth}",
    )


def _ast_depth(tree: ast.AST) -> int:
    block = (
        ast.FunctionDef,
        ast.AsyncFunctionDef,
        ast.ClassDef,
        ast.If,
        ast.For,
        ast.While,
        ast.Try,
        ast.With,
        ast.AsyncFor,
        ast.AsyncWith,
    )
    best = 0
    stack: list[tuple[ast.AST, int]] = [(tree, 0)]
    while stack:
        node, d = stack.pop()
        best = max(best, d)
        for child in ast.iter_child_nodes(node):
            stack.append((child, d + 1 if isinstance(child, block) else d))
    return best


def _generic_code_points(code: str) -> tuple[float, str]:
    lines = [ln for ln in code.splitlines() if ln.strip()]
    depth = cur = 0
    for ch in code:
        if ch in "{(":
            cur += 1
            depth = max(depth, cur)
        elif ch in "})":
            cur = max(0, cur - 1)
    n = len(lines)
    points = 1.0 if n < 8 else 2.0 if n < 30 else 3.0 if n < 100 else 4.0
    points += 1.0 if depth >= 4 else 0.0
    return points, f"code: {n} lines, nesting {depth}"
