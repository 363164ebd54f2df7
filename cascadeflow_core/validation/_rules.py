"""Rule checks on one answer: refusal, hedging, malformed requested format.

Pure functions over text, used by ``RuleValidator``. They never raise on what a model (or a user's tool
schema) hands them: a check that cannot decide passes the answer rather than crash the request.

- ``is_refusal(text)``: the answer *opens* with a refusal (judged on its first ~300 characters), in
  English, Spanish, French or German. An apology alone ("I'm sorry to hear that, here is ...") and a
  figure of speech ("I can't stress enough", "I can't help but notice") are not refusals.
- ``is_hedging(text)``: the writer is unsure of *its own* answer ("I'm not sure", "I might be wrong",
  "my best guess"). Uncertainty in the content ("scientists are not sure whether ...") is not hedging.
- ``malformed_format(...)``: the reason the requested format (JSON, JSON schema, tool calls,
  ``tool_choice``) is not met, or None.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

REFUSAL_WINDOW = 300
_HEDGE_HEAD, _HEDGE_TAIL = 4000, 1000

# Refusal patterns are matched (anchored) at each sentence start of the window: the start of the text
# and after end punctuation, a colon or a newline. Anchored matching keeps the check a few microseconds.
_SENTENCE_END = re.compile(r"[.!?:;\n]+\s*|,\s*(?:so|but|and|therefore)\s+")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u00b4": "'"})

_NEG = (
    r"(?:can'?t|cannot|can\s+not|won'?t|will\s+not|am\s+unable\s+to|'m\s+unable\s+to|am\s+not\s+able\s+to"
    r"|'m\s+not\s+able\s+to|am\s+not\s+allowed\s+to|'m\s+not\s+allowed\s+to|am\s+not\s+permitted\s+to"
    r"|'m\s+not\s+permitted\s+to|won'?t\s+be\s+able\s+to|will\s+not\s+be\s+able\s+to|must\s+not"
    r"|am\s+not\s+in\s+a\s+position\s+to|'m\s+not\s+in\s+a\s+position\s+to)"
)
_ACT = (
    r"(?:help(?!\s+but\b)|assist|comply|provide|fulfil+|do\s+(?:that|this|so)|answer\s+(?:that|this)"
    r"|share|give|generate|create|write|produce|engage|support|participate|discuss|offer|continue"
    r"|complete|process|access|browse|perform|carry\s+out|fulfill|accommodate|condone|encourage"
    r"|facilitate|recommend\s+(?:or|how|ways)|be\s+of\s+(?:help|assistance))"
)
_ADVERB = (
    r"(?:(?:really|actually|currently|directly|personally|legally|ethically|safely|fully|simply|just|yet"
    r"|possibly|in\s+good\s+conscience|be\s+able\s+to)\s+)?"
)
_APOLOGY = r"(?:(?:I'?m|I\s+am)\s+(?:so\s+|very\s+|really\s+|truly\s+)?sorry|(?:My\s+)?apologies|Sorry|Unfortunately|I\s+apologi[sz]e)"

_AS_AN_AI = (
    r"As\s+an?\s+(?:AI|artificial\s+intelligence|language\s+model|AI\s+language\s+model|AI\s+assistant"
    r"|large\s+language\s+model)\b[^.!?\n,]{0,40}"
)
# A disclaimer that goes on with "..., but <an answer>" is not a refusal.
_NO_BUT = r"(?![^.!?\n]{0,120}?\bbut\b)"

_REFUSAL_EN = [
    # "I can't help with that." / "Unfortunately, I cannot provide ..." / "As an AI, I cannot assist"
    rf"(?:{_APOLOGY}[^.!?\n]{{0,60}}?[,;:]?\s*(?:but\s+)?|{_AS_AN_AI},\s*)?(?:I|we)\s*{_NEG}\s+{_ADVERB}{_ACT}\b",
    # "I'm sorry, but I don't have access to real-time data" (apology + inability in one sentence)
    rf"{_APOLOGY}[^.!?\n]{{0,60}}?\bI\s*(?:don'?t|do\s+not)\s+have\s+(?:access|the\s+ability|the\s+means"
    r"|the\s+capability|permission)\b",
    # "I don't have access to real-time data", "I do not have personal opinions"
    r"I\s*(?:don'?t|do\s+not)\s+have\s+(?:access\s+to|the\s+ability\s+to|the\s+capability\s+to|real-time"
    r"|personal\s+(?:experiences|opinions|beliefs|feelings|preferences|views))\b" + _NO_BUT,
    r"(?:I'?m|I\s+am)\s+afraid\s+(?:that\s+)?I\s*(?:can'?t|cannot|won'?t|am\s+unable|'m\s+unable|must\s+decline)",
    _AS_AN_AI + r",\s*I\s*(?:can'?t|cannot|don'?t|do\s+not|am\s+not|'m\s+not|have\s+no|lack|am\s+unable"
    r"|'m\s+unable|won'?t|must)\b" + _NO_BUT,
    r"I\s+(?:must|have\s+to|need\s+to|will\s+have\s+to|'ll\s+have\s+to|'m\s+going\s+to\s+have\s+to"
    r"|am\s+going\s+to\s+have\s+to|respectfully|politely)\s+(?:respectfully\s+|politely\s+)?decline",
    r"(?:It'?s|It\s+is|That'?s|That\s+is|This\s+is|It\s+would\s+(?:not\s+)?be|That\s+would\s+(?:not\s+)?be)"
    r"\s+(?:not\s+appropriate|inappropriate|not\s+something\s+I\s+can|against\s+my)",
    r"I\s*(?:don'?t|do\s+not|am\s+not|'m\s+not)\s+(?:feel\s+)?comfortable\s+(?:with\s+)?"
    r"(?:providing|helping|assisting|answering|writing|generating|creating|sharing|doing|that|this)",
]
_REFUSAL_INTL = [
    # es
    r"(?:(?:Lo\s+)?siento(?:\s+mucho)?,?\s*(?:pero\s+)?|Lamentablemente,?\s*|Disculpa,?\s*(?:pero\s+)?)?"
    r"no\s+(?:puedo|podré|me\s+es\s+posible)\s+(?:\w+\s+){0,2}?(?:ayudar|asistir|proporcionar|cumplir|responder"
    r"|proveer|dar|generar|crear|escribir|compartir|hacer\s+eso|ofrecer|brindar|facilitar)",
    r"Como\s+(?:una?\s+)?(?:IA|inteligencia\s+artificial|modelo\s+de\s+lenguaje|asistente\s+de\s+IA)\b"
    r"[^.!?\n]{0,40}?,\s*no\s+(?:puedo|tengo|me\s+es)",
    # fr
    r"(?:(?:Je\s+suis\s+)?d[ée]sol[ée]e?,?\s*(?:mais\s+)?|Malheureusement,?\s*|Navr[ée]e?,?\s*(?:mais\s+)?)?"
    r"je\s+ne\s+(?:peux|pourrai|suis\s+pas\s+en\s+mesure\s+de|suis\s+pas\s+autoris[ée]e?\s+[àa])\s*(?:pas\s+)?"
    r"(?:\w+\s+){0,2}?(?:aider|assister|fournir|r[ée]pondre|accomplir|donner|g[ée]n[ée]rer|cr[ée]er|[ée]crire"
    r"|partager|faire\s+cela|proposer|satisfaire|acc[ée]der)",
    r"En\s+tant\s+qu[e']\s*(?:IA|intelligence\s+artificielle|mod[eè]le\s+de\s+langage|assistant)\b"
    r"[^.!?\n]{0,40}?,\s*je\s+ne\b",
    # de
    r"(?:Es\s+tut\s+mir\s+leid,?\s*(?:aber\s+)?|Entschuldigung,?\s*(?:aber\s+)?|Leider\s+|Tut\s+mir\s+leid,?"
    r"\s*(?:aber\s+)?)?(?:ich|wir)\s+(?:kann|können|darf|werde)\s+(?:\w+\s+){0,4}?(?:nicht|keine)\s+(?:\w+\s+){0,3}?"
    r"(?:helfen|behilflich|beantworten|erfüllen|bereitstellen|geben|unterstützen|erstellen|schreiben|liefern"
    r"|teilen|nachkommen|zugreifen)",
    r"(?:Leider\s+)?kann\s+ich\s+(?:\w+\s+){0,4}?(?:nicht|keine)\s+(?:\w+\s+){0,3}?(?:helfen|behilflich"
    r"|beantworten|erfüllen|bereitstellen|geben|unterstützen|erstellen|schreiben|liefern|teilen|nachkommen)",
    r"Als\s+(?:eine?\s+)?(?:KI|künstliche\s+Intelligenz|Sprachmodell|KI-Assistent|KI-Sprachmodell)\b"
    r"[^.!?\n]{0,40}?,?\s*(?:kann|darf|habe)\s+ich\s+(?:\w+\s+){0,3}?(?:nicht|keine)",
]
_REFUSAL_AT = re.compile(r"\W*(?:" + "|".join(f"(?:{p})" for p in _REFUSAL_EN + _REFUSAL_INTL) + ")", re.I)
# Policy refusals may come after a first clause ("Writing that would be against my guidelines").
_POLICY_WORDS = ("against", "violat", "allowed by")
_REFUSAL_POLICY = re.compile(
    "|".join(
        [
            r"\b(?:request|question|this|that)\s+(?:violates|goes\s+against|is\s+against|is\s+not\s+allowed\s+by)\s+"
            r"(?:my|our|the|OpenAI'?s|Anthropic'?s)\s+(?:\w+\s+){0,2}(?:polic(?:y|ies)|guidelines|terms|principles|rules)",
            r"\bagainst\s+my\s+(?:programming|guidelines|polic(?:y|ies)|principles|ethical\s+guidelines)\b",
        ]
    ),
    re.I,
)

# Hedging: each pattern runs (case-sensitive, on the lower-cased text, which keeps the regex engine on
# its fast literal scan) only when one of its keywords occurs at all.
_I = r"i(?<!\wi)"  # the word "i" (the lookbehind sits after the literal so the fast scan still applies)
_HEDGE_START = re.compile(r"\W*(?:not\s+(?:sure|certain)|no\s+idea|unsure|no\s+clue|hard\s+to\s+say)(?!\w)")
_HEDGES: tuple[tuple[tuple[str, ...], re.Pattern[str]], ...] = tuple(
    (words, re.compile(p))
    for words, p in [
        # "I'm not sure", "I am not entirely certain", "I'm unsure", "I'm not 100% confident"
        (
            ("sure", "certain", "confident", "positive", "100"),
            rf"{_I}(?:'?m|\s+am)\s+(?:not\s+(?:(?:entirely|completely|quite|really|totally|fully|100\s*%|absolutely|too"
            r"|very|that)\s+)?(?:sure|certain|confident|positive)(?!\w)(?!\s+(?:if\s+you|you|that\s+you))"
            r"|unsure|uncertain|not\s+100\s*%)",
        ),
        (
            ("sure", "certain", "verify", "confirm"),
            rf"{_I}\s*(?:can'?t|cannot|can\s+not)\s+(?:be\s+(?:\S+\s+)?(?:sure|certain)|say\s+(?:for\s+)?(?:sure|certain)"
            r"|(?:verify|confirm)\s+(?:this|that|it|my))",
        ),
        (
            ("know",),
            r"i(?<![\w\"\u201c']i)\s*(?:don'?t|do\s+not)\s+(?:really\s+|actually\s+)?know(?!\w)"
            r"(?!\s+(?:about\s+you|how\s+(?:many|often)\s+times|why\s+you))",
        ),
        (
            ("wrong", "mistaken", "misremember", "incorrect"),
            rf"{_I}\s+(?:might|could|may)\s+(?:well\s+)?be\s+(?:wrong|mistaken|misremembering|incorrect)(?!\w)"
            r"|correct\s+me\s+if\s+i'?m\s+wrong",
        ),
        (
            ("guess", "idea", "clue"),
            rf"my\s+best\s+guess|if\s+i\s+(?:had|have)\s+to\s+guess|{_I}(?:'d|\s+would)\s+guess|{_I}(?:'?m|\s+am)\s+guessing"
            rf"|{_I}\s+(?:have|'ve\s+got)\s+no\s+(?:idea|clue)",
        ),
        (
            ("might", "may", "could"),
            rf"{_I}\s+think\s+(?:it\s+|that\s+|the\s+answer\s+)?(?:might|may|could)\s+be(?!\w)",
        ),
        (
            ("hard for me", "say for"),
            rf"it'?s\s+hard\s+for\s+me\s+to\s+say|{_I}(?:'?m|\s+am)\s+not\s+able\s+to\s+say\s+for\s+(?:sure|certain)",
        ),
        (
            ("enough",),
            rf"{_I}\s*(?:don'?t|do\s+not)\s+have\s+enough\s+(?:information|context|data)\s+to\s+"
            r"(?:answer|say|be\s+sure|know)",
        ),
        # es / fr / de
        (
            ("segur", "convencid", "sé", "lo se"),
            r"(?<!\w)no\s+estoy\s+(?:\w+\s+)?(?:segur[oa]|convencid[oa])(?!\w)|(?<!\w)no\s+lo\s+s[ée](?!\w)|(?<!\w)no\s+sé(?!\w)",
        ),
        (
            ("pas s", "pas c", "sais pas"),
            r"(?<!\w)je\s+ne\s+suis\s+pas\s+(?:\w+\s+)?(?:s[ûu]re?|certaine?|convaincue?)(?!\w)"
            r"|(?<!\w)je\s+ne\s+(?:le\s+)?sais\s+pas(?!\w)",
        ),
        (
            ("sicher", "weiß"),
            r"(?<!\w)ich\s+bin\s+(?:mir\s+)?(?:\w+\s+)?nicht\s+(?:(?:ganz|so|völlig)\s+)?sicher(?!\w)"
            r"|(?<!\w)ich\s+weiß\s+(?:es\s+)?nicht(?!\w)",
        ),
    ]
)


# One scan for every hedging keyword: most answers contain none, and then no pattern needs to run. On
# short answers one regex scan is ~10x cheaper than the keyword tests below; past about a thousand
# characters the substring tests (C loops) win, so the gate applies to answers up to 1,000 characters.
_HEDGE_GATE_MAX = 1000
_HEDGE_GATE = re.compile(
    "|".join(sorted({re.escape(w) for words, _ in _HEDGES for w in words}, key=len, reverse=True))
)


def _plain(text: str) -> str:
    """Curly and modifier apostrophes as ``'``, so one pattern covers "can't" and "can’t"."""
    return text if text.isascii() else text.translate(_APOSTROPHES)


def is_refusal(text: str) -> bool:
    """Whether the answer opens with a refusal (looked for in its first ``REFUSAL_WINDOW`` characters)."""
    if not isinstance(text, str):
        return False
    window = _plain(text[:REFUSAL_WINDOW])
    if _REFUSAL_AT.match(window):
        return True
    if any(_REFUSAL_AT.match(window, m.end()) for m in _SENTENCE_END.finditer(window)):
        return True
    low = window.lower()
    return any(w in low for w in _POLICY_WORDS) and bool(_REFUSAL_POLICY.search(window))


def is_hedging(text: str) -> bool:
    """Whether the writer says it is unsure of its own answer (first 4000 and last 1000 characters)."""
    if not isinstance(text, str):
        return False
    if len(text) > _HEDGE_HEAD + _HEDGE_TAIL:
        text = text[:_HEDGE_HEAD] + "\n" + text[-_HEDGE_TAIL:]
    low = _plain(text).lower()
    if _HEDGE_START.match(low):
        return True
    if len(low) <= _HEDGE_GATE_MAX and _HEDGE_GATE.search(low) is None:
        return False
    return any(any(w in low for w in words) and rx.search(low) is not None for words, rx in _HEDGES)


# --- format -------------------------------------------------------------------------------------------

_FENCE = re.compile(r"^\s*```[ \t]*(?:json|JSON|json5)?[ \t]*\n?(.*?)\n?[ \t]*```\s*$", re.S)
_MISSING = object()


def _json_body(text: str) -> Any:
    """The JSON value of an answer (a ```json fence around it is allowed); ``_MISSING`` if it does not parse."""
    m = _FENCE.match(text)
    try:
        return json.loads(m.group(1) if m else text)
    except (ValueError, RecursionError):
        return _MISSING


def _short(message: str, limit: int = 120) -> str:
    return message if len(message) <= limit else message[: limit - 3] + "..."


@lru_cache(maxsize=256)
def _compiled(schema_json: str) -> Any:
    """A jsonschema validator for a schema (by its canonical JSON); None when the schema itself is broken."""
    import jsonschema

    try:
        schema = json.loads(schema_json)
        cls = jsonschema.validators.validator_for(schema)
        cls.check_schema(schema)
        return cls(schema)
    except Exception:  # a user's broken schema must not fail the request: the check is skipped
        return None


def _schema_problem(value: Any, schema: Any) -> str | None:
    """Why ``value`` does not fit ``schema`` (None when it fits, or the schema cannot be used)."""
    if not isinstance(schema, Mapping) or not schema:
        return None
    try:
        validator = _compiled(json.dumps(schema, sort_keys=True, default=str))
    except (TypeError, ValueError, RecursionError):
        return None
    if validator is None:
        return None
    try:
        error = next(iter(validator.iter_errors(value)), None)
    except Exception:  # $ref to nowhere, bad regex, ...: a broken schema is the user's, not the model's
        return None
    if error is None:
        return None
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    return _short(f"at ${where}: {error.message}" if where else error.message)


def _tool_index(tools: Any) -> dict[str, Any]:
    """Tool name -> its ``parameters`` schema (or None), from OpenAI tool definitions."""
    out: dict[str, Any] = {}
    if not isinstance(tools, Sequence) or isinstance(tools, (str, bytes)):
        return out
    for t in tools:
        fn = t.get("function", t) if isinstance(t, Mapping) else None
        if isinstance(fn, Mapping) and isinstance(fn.get("name"), str):
            out[fn["name"]] = fn.get("parameters")
    return out


def _required_tool(tool_choice: Any) -> str | None:
    """The tool a named ``tool_choice`` requires (``{"type": "function", "function": {"name": ...}}``)."""
    if isinstance(tool_choice, Mapping):
        fn = tool_choice.get("function", tool_choice)
        if isinstance(fn, Mapping) and isinstance(fn.get("name"), str):
            return fn["name"]
    return None


def _tool_call_problem(tool_calls: Sequence[Any], tools: Any, tool_choice: Any) -> str | None:
    if tool_choice == "none":
        return "tool call made although tool_choice='none'"
    known = _tool_index(tools)
    required = _required_tool(tool_choice)
    for c in tool_calls:
        name = getattr(c, "name", None)
        if not isinstance(name, str) or name not in known:
            bound = ", ".join(sorted(known)[:5]) or "none"
            return f"tool call names unknown tool {name!r} (bound: {bound})"
        if required and name != required:
            return f"tool_choice requires {required!r}, the call is to {name!r}"
        raw = getattr(c, "arguments", None)
        args = _json_body(raw) if isinstance(raw, str) and raw.strip() else ({} if not raw else _MISSING)
        if args is _MISSING:
            return f"tool call {name!r} arguments are not valid JSON"
        if not isinstance(args, dict):
            return f"tool call {name!r} arguments are not a JSON object"
        problem = _schema_problem(args, known[name])
        if problem:
            return f"tool call {name!r} arguments do not fit its parameters: {problem}"
    return None


def tool_call_problems(tool_calls: Sequence[Any], tools: Any, tool_choice: Any = None) -> list[str | None]:
    """Per tool call, why it is malformed (unknown tool, arguments not fitting its schema), or None."""
    return [_tool_call_problem((c,), tools, tool_choice) for c in tool_calls]


def malformed_format(
    text: str,
    tool_calls: Sequence[Any],
    response_format: Mapping[str, Any] | None,
    tools: Sequence[Mapping[str, Any]] | None,
    tool_choice: Any = None,
) -> str | None:
    """Why the answer does not meet the requested format, or None when it does (or nothing was requested).

    Tool calls must name a bound tool (the one a named ``tool_choice`` asks for), with arguments that
    parse as a JSON object fitting the tool's ``parameters`` schema; ``tool_choice="required"`` or a
    named tool needs a call, ``"none"`` forbids one. A ``json_object`` response format needs the text
    (optionally in a ```json fence) to parse as a JSON object; ``json_schema`` also needs it to fit the
    schema. A broken user schema skips the schema part of the check instead of failing the request.
    """
    if tool_calls:
        return _tool_call_problem(tool_calls, tools, tool_choice)
    if tools and (tool_choice == "required" or _required_tool(tool_choice)):
        wanted = _required_tool(tool_choice)
        return (
            f"no tool call although tool_choice requires {wanted!r}"
            if wanted
            else "no tool call although tool_choice='required'"
        )
    rf = response_format if isinstance(response_format, Mapping) else {}
    kind = rf.get("type")
    if kind not in ("json_object", "json_schema"):
        return None
    body = _json_body(text if isinstance(text, str) else "")
    if body is _MISSING:
        return "answer is not valid JSON"
    if kind == "json_object":
        return None if isinstance(body, dict) else "answer is JSON but not an object"
    spec = rf.get("json_schema")
    schema = spec.get("schema", spec) if isinstance(spec, Mapping) else None
    problem = _schema_problem(body, schema)
    return f"JSON does not fit the schema: {problem}" if problem else None
