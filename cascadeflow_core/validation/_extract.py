"""Answer extraction: the comparable final answer of a model's text, for agreement and scoring.

Two drafts agree when their *final answers* are equal, however differently they were written:
``"#### 1,248"``, ``"The answer is $1248."``, ``"\\boxed{1248}"`` and ``{"answer": "1248"}`` all give
``"1248"``; ``"The answer is (C)."``, ``"C"`` and ``"**C)** Paris"`` all give ``"C"``.

``extract_answer(text, kind)`` returns that key, or None when no final answer can be told apart (two
``None`` never agree). Kinds:

- ``"auto"`` (default): in order, the last ``\\boxed{...}``; a JSON ``answer`` / ``final_answer``
  field; the text after the last answer marker (``####``, ``Final answer:``, ``the answer is`` ...);
  a bare choice letter; a short answer (a number with its unit dropped, else normalised text); for
  long text, the last number of the final sentence. Else None.
- ``"number"``: the marked or last number, as an exact canonical decimal (``"1,248.50"`` ->
  ``"1248.5"``, ``"3/4"`` and ``"\\frac{3}{4}"`` -> ``"0.75"``, ``"1/3"`` -> ``"1/3"``).
- ``"choice"``: a multiple-choice letter A-J (``"(c)"``, ``"Answer: C"``, ``"Option C"``).
- ``"boxed"``: the last ``\\boxed{}`` content, normalised.
- ``"json"`` or ``"json:<field>"``: that field of the JSON object in the text (dotted paths allowed).
- ``"text"``: the marked answer (or whole text) as normalised text: lower case, no accents,
  punctuation or articles, single spaces.

Keys are plain strings: numbers and choice letters canonical, text normalised. Extraction is linear in
the text and never raises on any input.
"""

from __future__ import annotations

import json
import re
import unicodedata
from fractions import Fraction
from typing import Any

__all__ = ["EXTRACT_KINDS", "check_kind", "extract_answer", "normalize_number", "normalize_text"]

EXTRACT_KINDS = ("auto", "number", "choice", "boxed", "json", "text")
_JSON_FIELDS = ("answer", "final_answer", "finalAnswer", "result")
_SHORT_WORDS = 12  # at most this many words is a "short answer", compared whole
_TAIL = 4000  # markers and final sentences are searched in the last characters only

# A number: optional sign, thousands groups or plain digits, decimals, exponent; or a fraction a/b.
_NUM_BODY = (
    r"(?:\d{1,3}(?:,\d{3})+|\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?![\d/])|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?|\.\d+"
)
_NUMBER = re.compile(rf"(?<![\w.])([-+−]?)\s?[$€£¥]?\s?({_NUM_BODY})(?:\s?/\s?({_NUM_BODY}))?(?![\d.,]\d)")
_FRAC = re.compile(r"\\[dt]?frac\s*\{\s*([-+]?[\d.,]+)\s*\}\s*\{\s*([-+]?[\d.,]+)\s*\}")
_MIXED = re.compile(r"^([-+]?\d+)\s+(\d+)\s*/\s*(\d+)$")
_MARKER = re.compile(
    r"(?:####|\bfinal\s+answer\s*(?:is\b\s*:?|[:=\-]|[*_#]{0,4}\s*\n)|\b(?:the\s+)?(?:correct\s+)?answer\s*(?:is\b|:|=)"
    r"|\bthe\s+(?:correct\s+)?(?:option|choice)\s+is\b|\banswer\s*-\s)",
    re.I,
)
_CHOICE_ALONE = re.compile(r"^\W{0,3}(?:option\s+|choice\s+)?\(?([A-Ja-j])\)?(?:[.:)\]]|\s*$)(?!\w)", re.I)
_CHOICE_MARKED = re.compile(
    r"^\W{0,3}(?:option\s+|choice\s+|letter\s+)?(?:\(([A-Ja-j])\)|\[([A-Ja-j])\]|([A-J])(?=$|[\s.:;,)\]!*]))",
    re.I,
)
_CHOICE_LAST = re.compile(r"\(([A-J])\)|\b(?:option|choice)\s+([A-J])\b", re.I)
# A short sentence stating a result: its last number is the answer. Dates and clock times are not.
_STATEMENT = re.compile(
    r"=|\b(?:so|is|are|was|were|equals?|makes?|gives?|totals?|takes?|costs?|gets?|has|have|had)\b", re.I
)
_DATE_OR_TIME = re.compile(
    r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+\d|\d\s+"
    r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\b|\d:\d\d|\d[/.-]\d+[/.-]\d",
    re.I,
)
_PAREN_TAIL = re.compile(r"\s*\([^()]{0,200}\)$")
_MD = re.compile(r"[*_`]+")
_ARTICLES = re.compile(r"\b(?:a|an|the)\b")
_NON_WORD = re.compile(r"[^\w\s]")
_SENTENCE_END = re.compile(r"[.!?\n](?=\s|$)")


def check_kind(kind: str) -> str | None:
    """The problem with an extraction kind, or None when it is valid."""
    if not isinstance(kind, str):
        return f"extract kind must be a string, got {type(kind).__name__}"
    base, _, field = kind.partition(":")
    if (
        base not in EXTRACT_KINDS
        or (field and base != "json")
        or (base == "json" and ":" in kind and not field)
    ):
        return f"unknown extract kind {kind!r}; choose from {list(EXTRACT_KINDS)} or 'json:<field>'"
    return None


def extract_answer(text: str, kind: str = "auto") -> str | None:
    """The comparable final answer of ``text`` (see the module doc), or None."""
    if not isinstance(text, str) or not text.strip():
        return None
    base, _, field = kind.partition(":")
    if base == "number":
        return _number_of(_marked(text) or text, last=True) or _number_of(text, last=True)
    if base == "choice":
        return _choice(text)
    if base == "boxed":
        boxed = _boxed(text)
        return None if boxed is None else _short(boxed)
    if base == "json":
        value = _json_field(text, tuple(field.split(",")) if field else _JSON_FIELDS)
        return None if value is None else _short(value)
    if base == "text":
        return normalize_text(_marked(text) or text) or None
    if base != "auto":
        raise ValueError(check_kind(kind) or f"unknown extract kind {kind!r}")
    return _auto(text)


def _auto(text: str) -> str | None:
    boxed = _boxed(text)
    if boxed is not None:
        return _short(boxed)
    if "{" in text:
        value = _json_field(text, _JSON_FIELDS)
        if value is not None:
            return _short(value)
    marked = _marked(text)
    if marked is not None:
        return _choice_at_start(marked) or _short(marked, allow_long=True)
    if len(text) <= 200 and len(text.split()) <= _SHORT_WORDS:
        return _short(text)
    return _number_of(_final_sentence(text), last=True)


def _short(answer: str, allow_long: bool = False) -> str | None:
    """Key of a short answer: a choice letter alone, a number with an optional unit, else normalised text."""
    a = _MD.sub("", answer).strip()
    if not a:
        return None
    if len(a) <= 4 or a[:1] in "([" or re.match(r"^[A-J]\)", a):  # "C", "(C)", "C.", "C) Paris"
        m = _CHOICE_ALONE.match(a) if len(a) <= 4 else _CHOICE_MARKED.match(a)
        if m:
            return next(g for g in m.groups() if g).upper()
    number = _leading_number(a)
    if number is not None:
        return number
    if _STATEMENT.search(a) and not _DATE_OR_TIME.search(
        a
    ):  # "So the result is 18.", "2*3 + 4 = 10, so $10."
        return _number_of(a, last=True) or normalize_text(a) or None
    words = a.split()
    if allow_long and len(words) > _SHORT_WORDS:
        return _number_of(_first_sentence(a), last=True) or normalize_text(_first_sentence(a)) or None
    return normalize_text(a) or None


def _leading_number(a: str) -> str | None:
    """A number that is the whole answer, give or take a currency sign, a unit and final punctuation."""
    a = _PAREN_TAIL.sub("", a.strip().rstrip(".!;,")).strip()  # "4 (3 onions and 1 potato)"
    mixed = _MIXED.match(a)
    if mixed:
        whole, num, den = (int(g) for g in mixed.groups())
        if den:
            sign = -1 if whole < 0 or mixed.group(1).startswith("-") else 1
            return _canonical(sign * (abs(whole) + Fraction(num, den)))
    frac = _FRAC.fullmatch(a)
    if frac:
        return _fraction_key(frac.group(1), frac.group(2))
    m = _NUMBER.match(a)
    if not m:
        return None
    rest = a[m.end() :].strip()
    # A unit or a short noun phrase may follow ("55 meters per second", "12%", "$30 per hour")
    if rest and (len(rest.split()) > 4 or not re.fullmatch(r"[%°]?\s*/?\s*[^\W\d][\w/.\s'-]*|[%°]", rest)):
        return None
    return _key_from_match(m)


def _number_of(text: str, last: bool) -> str | None:
    """The last (or first) number in the text, canonical."""
    text = _FRAC.sub(lambda f: _fraction_key(f.group(1), f.group(2)) or f.group(0), _MD.sub("", text))
    found = _last_match(_NUMBER, text) if last else _NUMBER.search(text)
    return None if found is None else _key_from_match(found)


def _key_from_match(m: re.Match[str]) -> str | None:
    sign = "-" if m.group(1) in ("-", "−") else ""
    if m.group(3):
        return _fraction_key(sign + m.group(2), m.group(3))
    return _canonical_str(sign + m.group(2))


def _fraction_key(num: str, den: str) -> str | None:
    try:
        d = _to_fraction(den)
        return None if d == 0 else _canonical(_to_fraction(num) / d)
    except (ValueError, ZeroDivisionError):
        return None


def _to_fraction(s: str) -> Fraction:
    s = re.sub(r"[,\s\u00a0\u202f]", "", s).replace("−", "-")
    if len(s) > 400:
        raise ValueError("number too long")
    return Fraction(s)


def _canonical_str(s: str) -> str | None:
    try:
        return _canonical(_to_fraction(s))
    except (ValueError, ZeroDivisionError):
        return None


def _canonical(v: Fraction) -> str:
    """Exact canonical form: ``18``, ``2.5``, ``-0.75``; a non-terminating fraction stays ``1/3``."""
    if v.denominator == 1:
        return str(v.numerator)
    d, places = v.denominator, 0
    while d % 10 == 0 or d % 2 == 0 or d % 5 == 0:  # a terminating decimal needs places = max(k2, k5)
        d //= 10 if d % 10 == 0 else (2 if d % 2 == 0 else 5)
        places += 1
    if d != 1 or places > 12:
        return f"{v.numerator}/{v.denominator}"
    scaled = abs(v.numerator) * 10**places // v.denominator
    body = f"{scaled:0{places + 1}d}"
    text = (body[:-places] + "." + body[-places:]).rstrip("0").rstrip(".")
    return ("-" if v < 0 else "") + text


def normalize_number(s: str) -> str | None:
    """The first number in ``s`` in canonical form (``"$1,248.50"`` -> ``"1248.5"``), or None."""
    return _number_of(s, last=False) if isinstance(s, str) else None


def normalize_text(s: str) -> str:
    """Lower case, accents and punctuation removed, articles dropped, whitespace collapsed."""
    if not isinstance(s, str):
        return ""
    s = unicodedata.normalize("NFKD", s)
    s = "".join(ch for ch in s if not unicodedata.combining(ch)).casefold()
    return " ".join(_ARTICLES.sub(" ", _NON_WORD.sub(" ", s)).split())


def _marked(text: str) -> str | None:
    """What follows the last answer marker, up to the end of its line, or None."""
    tail = text[-_TAIL:]
    last = _last_match(_MARKER, tail)
    if last is None:
        return None
    rest = tail[last.end() :].lstrip(" \t:*_`")
    line = rest.split("\n", 1)[0].strip()
    if not line and "\n" in rest:  # "Final answer:\n42"
        line = rest.lstrip().split("\n", 1)[0].strip()
    return line or None


def _choice(text: str) -> str | None:
    marked = _marked(text)
    if marked is not None:
        letter = _choice_at_start(marked)
        if letter:
            return letter
    m = _CHOICE_ALONE.match(_MD.sub("", text).strip())
    if m and len(text.strip()) <= 80:
        return m.group(1).upper()
    last = _last_match(_CHOICE_LAST, text[-_TAIL:])
    return None if last is None else (last.group(1) or last.group(2)).upper()


def _last_match(pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
    found = None
    for found in pattern.finditer(text):  # noqa: B007 - keep the last one
        pass
    return found


def _choice_at_start(answer: str) -> str | None:
    """A choice letter opening the marked answer ("(C)", "C.", "C) Paris", "Option C"), not "A dog"."""
    a = _MD.sub("", answer).strip()
    m = _CHOICE_MARKED.match(a)
    if not m:
        return None
    letter = m.group(1) or m.group(2) or m.group(3)
    if m.group(3):
        after = a[m.end() :].lstrip()
        if after[:1].isalpha():  # "A dog", "I think", "C Paris": prose or ambiguous, not a choice
            return None
    return letter.upper()


def _boxed(text: str) -> str | None:
    """Content of the last ``\\boxed{...}`` (or ``\\fbox``), braces balanced, or None."""
    start = max(text.rfind("\\boxed"), text.rfind("\\fbox"))
    if start < 0:
        return None
    i = text.find("{", start)
    if i < 0 or i - start > 8:
        return None
    depth = 0
    for j in range(i, min(len(text), i + 2000)):
        ch = text[j]
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                inner = text[i + 1 : j].strip()
                return re.sub(r"\\text\s*\{([^{}]*)\}", r"\1", inner).replace("\\!", "").replace("\\,", "")
    return None


def _json_field(text: str, fields: tuple[str, ...]) -> str | None:
    """The first of ``fields`` (dotted paths allowed) in the JSON object the text holds, as text."""
    obj = _json_object(text)
    if obj is not None:
        for f in fields:
            value = _lookup(obj, f)
            if value is not None:
                return _as_text(value)
        return None
    # Truncated or invalid JSON: a flat `"answer": value` still names the answer.
    for f in fields:
        name = f.rsplit(".", 1)[-1]
        m = re.search(rf'"{re.escape(name)}"\s*:\s*("(?:[^"\\]|\\.){{0,500}}"|[-+\w.]{{1,60}})', text)
        if m:
            raw = m.group(1)
            try:
                return _as_text(json.loads(raw))
            except ValueError:
                return raw.strip('"')
    return None


def _json_object(text: str) -> Any:
    t = text.strip()
    fence = re.search(r"```(?:json|JSON)?\s*\n?(.*?)```", t, re.S) if "```" in t else None
    candidates = [fence.group(1)] if fence else []
    first = t.find("{")
    if first >= 0:
        candidates.append(t[first : t.rfind("}") + 1])
    for c in candidates:
        try:
            obj = json.loads(c)
        except (ValueError, RecursionError):
            continue
        if isinstance(obj, dict):
            return obj
    return None


def _lookup(obj: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(obj, dict) or part not in obj:
            return None
        obj = obj[part]
    return obj


def _as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        return repr(value) if isinstance(value, float) else str(value)
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _final_sentence(text: str) -> str:
    """The last sentence (or line) holding a number, within the last paragraph."""
    tail = text[-_TAIL:].rstrip()
    para = tail.rsplit("\n\n", 1)[-1]
    pieces = [p for p in _SENTENCE_END.split(para) if p.strip()]
    for piece in reversed(pieces[-2:]):
        if _NUMBER.search(piece):
            return piece
    return ""


def _first_sentence(text: str) -> str:
    return _SENTENCE_END.split(text.strip(), 1)[0]
