"""Input and output guardrails: PII, secrets, prompt injection, moderation and user checks.

``Guardrails`` implements the engine's ``GuardrailPipeline``. Input checks run before any model sees
the request; output checks run on each chosen answer, where a violation counts as a failed validation
(the cascade escalates), or redacts, or blocks. Every decision is a JSON-ready record naming entity
types and rules, never a raw value; the records land in ``CascadeResult.guardrails`` and, as short
labels, in the tracker's ledger.

PII redaction replaces each value with a typed placeholder (``<EMAIL_1>``) that is stable within one
request; the mapping lives only in memory (``Request.private``) and is used to restore the values in
the answer the caller receives (also in tool-call arguments and in a live stream).

The checks are written once as generators that yield awaitables (moderation calls, async user
callables); ``_resolve`` runs them inline when nothing is awaited, else hands the engine a coroutine,
which its sync and async drivers both know how to wait for.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Awaitable, Callable, Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from .._errors import ConfigError, GuardrailError
from .._protocols import OutputCheck
from .._types import PII_ROUTE_KEY, Draft, Request, ToolCall

__all__ = ["Guardrails", "StreamRestorer", "from_config"]

PIIAction = Literal["detect", "redact", "block", "route"]
InjectionAction = Literal["flag", "block"]
OutputAction = Literal["escalate", "redact", "block"]
Check = Callable[[str], Any]
Record = dict[str, Any]

_PII_ACTIONS = ("detect", "redact", "block", "route")
_INJECTION_ACTIONS = ("flag", "block")
_OUTPUT_ACTIONS = ("escalate", "redact", "block")
_PRIVATE_KEY = "pii_mapping"
_MAX_NODES = 200_000  # values scanned per message, at any depth; past it the configured action applies
_TEXT_KEYS = frozenset(("text", "content", "arguments", "function", "input", "output"))
_PLACEHOLDER = re.compile(r"<([A-Z_]+_\d+)>")


@dataclass(frozen=True)
class _Moderation:
    flagged: bool
    categories: tuple[str, ...]
    reason: str


class Guardrails:
    """Local, fast, free guardrails by default; moderation and Presidio are opt-in.

    Args:
        pii: what to do with PII in the input: ``"detect"`` (record only), ``"redact"`` (typed
            placeholders such as ``<EMAIL_1>`` before any model sees it), ``"block"`` (raise
            ``GuardrailError``), ``"route"`` (send it unredacted, but only to tiers marked
            ``Tier(..., pii_allowed=True)`` or whose models all are ``ModelSpec(..., pii_allowed=True)``,
            e.g. a local model; ``GuardrailError`` when the plan has none); ``None`` turns input PII
            checks off. Nothing too large or cyclic to scan whole is passed silently: ``redact``,
            ``block`` and ``route`` block it, ``detect`` records it.
        entities: PII entity types to look for (default all of ``ENTITIES``: EMAIL, PHONE, SSN,
            CREDIT_CARD, IBAN, IP_ADDRESS, DATE_OF_BIRTH, STREET_ADDRESS, SECRET).
        restore_pii: with ``redact``, put the original values back into the answer the caller gets.
        pii_engine: ``"regex"`` (default: patterns and checksums), ``"presidio"`` (extra ``ml``), or
            any object with ``find(text) -> list[PIIFinding]``.
        allow: literal values never treated as PII (a support address you publish, say).
        injection: ``"flag"`` (record the score) or ``"block"`` prompt injection and jailbreaks.
        injection_threshold: score in (0, 1] from which a message counts as an injection.
        injection_model: a learned classifier as a second opinion next to the patterns (extra
            ``ml``): ``"ml"`` for the bundled one, a ``.npz`` path or an ``InjectionClassifier``; a
            message is flagged when either flags it. ``None`` (default): patterns only, no NumPy.
        moderation: a LiteLLM moderation model (``"omni-moderation-latest"``; needs the provider's
            key) or a callable ``text -> bool | str | None`` (sync or async; truthy means flagged).
        moderation_params: extra LiteLLM kwargs for the moderation call (``api_base``, ``api_key``).
        output: what to do when an answer leaks PII or secrets, fails moderation or ``output_check``:
            ``"escalate"`` (count it as a failed validation; the last tier's answer is redacted),
            ``"redact"`` (accept a redacted copy), ``"block"`` (raise ``GuardrailError``).
        output_entities: entity types checked in answers (default: ``entities`` when ``pii`` is on,
            else none). Values the user supplied themselves are not leaks.
        input_check, output_check: your own checks, ``text -> bool | str | None`` (sync or async);
            a truthy result blocks the input / fails the answer, a string is the reason.
        roles: message roles scanned on input (default user, assistant and tool; the system prompt
            is yours and is left alone).

    Example:
        >>> from cascadeflow_core import Cascade, Guardrails
        >>> guard = Guardrails(pii="redact", injection="block")
        >>> cascade = Cascade(["openai/gpt-4o-mini", "openai/gpt-4o"], guardrails=guard)  # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        pii: PIIAction | None = None,
        entities: Iterable[str] | None = None,
        restore_pii: bool = True,
        pii_engine: Any = "regex",
        allow: Iterable[str] = (),
        injection: InjectionAction | None = None,
        injection_threshold: float = 0.4,
        injection_model: Any = None,
        moderation: str | Check | None = None,
        moderation_params: Mapping[str, Any] | None = None,
        output: OutputAction = "escalate",
        output_entities: Iterable[str] | None = None,
        input_check: Check | None = None,
        output_check: Check | None = None,
        roles: Sequence[str] = ("user", "assistant", "tool"),
    ) -> None:
        _choice("pii", pii, _PII_ACTIONS, optional=True)
        _choice("injection", injection, _INJECTION_ACTIONS, optional=True)
        _choice("output", output, _OUTPUT_ACTIONS)
        for name, fn in (("input_check", input_check), ("output_check", output_check)):
            if fn is not None and not callable(fn):
                raise ConfigError(
                    f"guardrails.{name}",
                    f"expected a callable, got {type(fn).__name__}",
                    "pass a function text -> bool | str | None",
                )
        if moderation is not None and not (callable(moderation) or isinstance(moderation, str)):
            raise ConfigError(
                "guardrails.moderation",
                f"expected a model name or a callable, got {type(moderation).__name__}",
                'use e.g. moderation="omni-moderation-latest"',
            )
        self.pii, self.injection, self.output = pii, injection, output
        self.restore_pii, self.roles = restore_pii, tuple(roles)
        self.moderation, self.input_check, self.output_check = moderation, input_check, output_check
        self.moderation_params = dict(moderation_params or {})
        self.allow = frozenset(allow)
        self.entities = _entities(entities)
        if output_entities is not None:
            self.output_entities = _entities(output_entities)
        else:
            self.output_entities = self.entities if pii is not None else ()
        self._detector = _pii_detector(pii_engine, self.entities, self.allow) if pii is not None else None
        self._out_detector = (
            _pii_detector(pii_engine, self.output_entities, self.allow) if self.output_entities else None
        )
        if injection_model is not None and injection is None:
            raise ConfigError(
                "guardrails.injection_model",
                "has no effect with injection=None",
                'set injection="flag" or "block"',
            )
        self.injection_model = injection_model
        self._injection = (
            _injection_detector(injection_threshold, injection_model) if injection is not None else None
        )

    def __repr__(self) -> str:
        on = [f"pii={self.pii!r}"] if self.pii else []
        on += [f"injection={self.injection!r}"] if self.injection else []
        on += [f"injection_model={self.injection_model!r}"] if isinstance(self.injection_model, str) else []
        on += (
            ["injection_model"]
            if self.injection_model is not None and not isinstance(self.injection_model, str)
            else []
        )
        on += ["moderation"] if self.moderation else []
        on += (
            [f"output={self.output!r}"]
            if self.output_entities or self.moderation or self.output_check
            else []
        )
        return f"Guardrails({', '.join(on) or 'nothing enabled'})"

    # --- input -------------------------------------------------------------------------------------
    def check_input(self, request: Request) -> Any:
        """Return ``(request, records)``, the request possibly redacted; raise ``GuardrailError``.

        Returns a coroutine instead when a moderation call or an async user check must be awaited.
        """
        return _resolve(self._input(request))

    def _input(self, request: Request) -> Generator[Awaitable[Any], Any, tuple[Request, tuple[Record, ...]]]:
        records: list[Record] = []
        messages = list(request.messages)
        if self._detector is not None:
            messages, mapping, kinds = self._pii_input(messages, records)
            if mapping:
                request = replace(
                    request, messages=messages, private={**request.private, _PRIVATE_KEY: mapping}
                )
            elif kinds and self.pii == "route":  # the engine keeps only tiers marked pii_allowed
                request = replace(request, private={**request.private, PII_ROUTE_KEY: kinds})
        text = "\n".join(t for m in messages if m.get("role") in self.roles for t in _strings(m))
        if self._injection is not None:
            self._check_injection(messages, records)
        if self.moderation is not None:
            mod = yield from _moderate(self.moderation, text, self.moderation_params)
            if mod.flagged:
                records.append(
                    {
                        "stage": "input",
                        "check": "moderation",
                        "categories": list(mod.categories),
                        "action": "block",
                    }
                )
                raise GuardrailError(
                    f"the request was flagged by moderation ({mod.reason}); it was not sent to any model",
                    tuple(records),
                )
        if self.input_check is not None:
            reason = yield from _user_check(self.input_check, text)
            if reason:
                records.append(
                    {"stage": "input", "check": _name(self.input_check), "reason": reason, "action": "block"}
                )
                raise GuardrailError(
                    f"the request was blocked by {_name(self.input_check)}: {reason}", tuple(records)
                )
        return request, tuple(records)

    def _pii_input(
        self, messages: list[Any], records: list[Record]
    ) -> tuple[list[Any], dict[str, str], tuple[str, ...]]:
        """The messages (redacted with ``redact``), the placeholder mapping and the entity types found."""
        from ._pii import Redactor

        assert self._detector is not None
        redactor = Redactor(self._detector)
        counts: dict[str, int] = {}
        over = [False]

        def scan(s: str) -> str:
            if self.pii == "redact":
                new, found = redactor.redact(s)
            else:
                new, found = s, self._detector.find(s)  # type: ignore[union-attr]
            for f in found:
                counts[f.entity] = counts.get(f.entity, 0) + 1
            return new

        out = [_map_message(m, scan, over) if m.get("role") in self.roles else m for m in messages]
        for entity, n in sorted(counts.items()):
            records.append(
                {"stage": "input", "check": "pii", "entity": entity, "count": n, "action": self.pii}
            )
        if over[0]:
            self._unscanned("pii", "block" if self.pii in ("redact", "block", "route") else "skip", records)
        if counts and self.pii == "block":
            kinds = ", ".join(sorted(counts))
            raise GuardrailError(
                f"the request contains personal data ({kinds}); it was not sent to any model. "
                "Remove it, or use Guardrails(pii='redact') to send placeholders instead",
                tuple(records),
            )
        return out, (dict(redactor.mapping) if self.pii == "redact" else {}), tuple(sorted(counts))

    @staticmethod
    def _unscanned(check: str, action: str, records: list[Record]) -> None:
        """A message too large or cyclic to scan whole: recorded, and blocked when the action says so."""
        records.append(
            {
                "stage": "input",
                "check": check,
                "note": f"a message holds more than {_MAX_NODES} values (or a cycle); the rest was not scanned",
                "action": action,
            }
        )
        if action == "block":
            raise GuardrailError(
                f"a message is too large or deeply self-referencing to check for {check}; it was not sent "
                "to any model. Send it flatter or smaller",
                tuple(records),
            )

    def _check_injection(self, messages: Sequence[Any], records: list[Record]) -> None:
        assert self._injection is not None
        worst = None
        over = [False]
        for m in messages:
            if m.get("role") not in ("user", "tool"):
                continue
            for s in _strings(m, over):
                score = self._injection.score(s)
                if worst is None or _rank(score) > _rank(worst):
                    worst = score
        if over[0]:
            self._unscanned("injection", str(self.injection), records)
        if worst is None or not worst.flagged:
            return
        record: Record = {
            "stage": "input",
            "check": "injection",
            "score": round(worst.score, 3),
            "categories": list(worst.categories),
            "reasons": list(worst.reasons),
            "action": self.injection,
        }
        if worst.model_score is not None:
            record["model_score"] = round(worst.model_score, 3)
        records.append(record)
        if self.injection == "block":
            model = f", classifier {worst.model_score:.2f}" if worst.model_score is not None else ""
            raise GuardrailError(
                f"the request looks like a prompt injection ({', '.join(worst.categories)}; "
                f"score {worst.score:.2f}{model}); it was not sent to any model. If this is a false "
                "positive, raise injection_threshold or use injection='flag'",
                tuple(records),
            )

    # --- output ------------------------------------------------------------------------------------
    def check_output(self, draft: Draft, request: Request) -> Any:
        """Judge one answer: ``OutputCheck`` (a coroutine when something must be awaited)."""
        return _resolve(self._output(draft, request))

    def _output(self, draft: Draft, request: Request) -> Generator[Awaitable[Any], Any, OutputCheck]:
        records: list[Record] = []
        problems: list[str] = []
        texts = [draft.text, *(c.arguments for c in draft.tool_calls)]
        if self._out_detector is not None:
            own = _user_values(request, self._out_detector)
            counts: dict[str, int] = {}
            for t in texts:
                for f in self._out_detector.find(t):
                    if t[f.start : f.end] not in own:
                        counts[f.entity] = counts.get(f.entity, 0) + 1
            for entity, n in sorted(counts.items()):
                records.append(
                    {
                        "stage": "output",
                        "model": draft.model,
                        "check": "pii",
                        "entity": entity,
                        "count": n,
                        "action": self.output,
                    }
                )
            if counts:
                problems.append("the answer contains " + ", ".join(sorted(counts)))
        if self.moderation is not None:
            mod = yield from _moderate(self.moderation, "\n".join(texts), self.moderation_params)
            if mod.flagged:
                records.append(
                    {
                        "stage": "output",
                        "model": draft.model,
                        "check": "moderation",
                        "categories": list(mod.categories),
                        "action": self.output,
                    }
                )
                problems.append(f"moderation flagged the answer ({mod.reason})")
        if self.output_check is not None:
            reason = yield from _user_check(self.output_check, "\n".join(texts))
            if reason:
                records.append(
                    {
                        "stage": "output",
                        "model": draft.model,
                        "check": _name(self.output_check),
                        "reason": reason,
                        "action": self.output,
                    }
                )
                problems.append(f"{_name(self.output_check)}: {reason}")
        if not problems:
            return OutputCheck(True, draft, tuple(records))
        reason = "; ".join(problems)
        safe = self._redact_output(draft, request)
        if self.output == "redact":
            return OutputCheck(True, safe, tuple(records), reason=reason)
        return OutputCheck(False, safe, tuple(records), block=self.output == "block", reason=reason)

    def _redact_output(self, draft: Draft, request: Request) -> Draft:
        """A copy of the answer with leaked values replaced by ``[EMAIL REDACTED]`` (never restored)."""
        if self._out_detector is None:
            return draft
        own = _user_values(request, self._out_detector)

        def clean(text: str) -> str:
            for f in sorted(self._out_detector.find(text), key=lambda f: -f.start):  # type: ignore[union-attr]
                if text[f.start : f.end] not in own:
                    text = f"{text[: f.start]}[{f.entity} REDACTED]{text[f.end :]}"
            return text

        calls = tuple(replace(c, arguments=clean(c.arguments)) for c in draft.tool_calls)
        return replace(draft, text=clean(draft.text), tool_calls=calls)

    # --- restoring placeholders --------------------------------------------------------------------
    def restore(self, draft: Draft, request: Request) -> Draft:
        """Put the request's original PII values back into the answer (text and tool-call arguments)."""
        mapping = request.private.get(_PRIVATE_KEY) if self.restore_pii else None
        if not mapping:
            return draft
        from ._pii import restore

        calls = tuple(ToolCall(c.id, c.name, _restore_json(c.arguments, mapping)) for c in draft.tool_calls)
        return replace(draft, text=restore(draft.text, mapping), tool_calls=calls)

    def stream_filter(self, request: Request) -> StreamRestorer | None:
        """A filter for live-streamed deltas that restores placeholders split across chunks."""
        mapping = request.private.get(_PRIVATE_KEY) if self.restore_pii else None
        return StreamRestorer(mapping) if mapping else None


class StreamRestorer:
    """Restore ``<ENTITY_n>`` placeholders in a stream of text chunks.

    Text after a ``<`` that could still become a placeholder is held back until it completes (or
    clearly is not one), so a placeholder split across chunks is restored whole.

    Example:
        >>> r = StreamRestorer({"<EMAIL_1>": "ann@example.com"})
        >>> r.feed("Write to <EMA") + r.feed("IL_1> today") + r.flush()
        'Write to ann@example.com today'
    """

    _PARTIAL = re.compile(r"<[A-Z_]*(?:_\d*)?$")

    def __init__(self, mapping: Mapping[str, str]) -> None:
        self.mapping = mapping
        self._held = ""

    def feed(self, chunk: str) -> str:
        text = self._held + chunk
        cut = text.rfind("<")
        if cut >= 0 and self._PARTIAL.match(text, cut) and len(text) - cut <= 40:
            text, self._held = text[:cut], text[cut:]
        else:
            self._held = ""
        return _PLACEHOLDER.sub(lambda m: self.mapping.get(m.group(0), m.group(0)), text)

    def flush(self) -> str:
        text, self._held = self._held, ""
        return _PLACEHOLDER.sub(lambda m: self.mapping.get(m.group(0), m.group(0)), text)


# --- helpers ---------------------------------------------------------------------------------------
def _resolve(gen: Generator[Awaitable[Any], Any, Any]) -> Any:
    """Run a check generator inline; at the first awaitable, return a coroutine that finishes it."""
    try:
        pending = next(gen)
    except StopIteration as stop:
        return stop.value

    async def finish(aw: Awaitable[Any]) -> Any:
        while True:
            try:
                value, error = await aw, None
            except Exception as e:  # handed back to the check, which decides
                value, error = None, e
            try:
                aw = gen.throw(error) if error is not None else gen.send(value)
            except StopIteration as stop:
                return stop.value

    return finish(pending)


def _user_check(fn: Check, text: str) -> Generator[Awaitable[Any], Any, str | None]:
    out = fn(text)
    if inspect.isawaitable(out):
        out = yield out
    if not out:
        return None
    return out if isinstance(out, str) else "flagged"


def _moderate(
    moderation: str | Check, text: str, params: Mapping[str, Any]
) -> Generator[Awaitable[Any], Any, _Moderation]:
    if callable(moderation):
        reason = yield from _user_check(moderation, text)
        return _Moderation(bool(reason), (_name(moderation),) if reason else (), reason or "")
    from ..providers._litellm import amoderation

    try:
        resp = yield amoderation(moderation, text, **params)
    except Exception as e:
        raise GuardrailError(
            f"the moderation call to {moderation!r} failed ({type(e).__name__}: {e}); "
            "check the provider key, or remove moderation="
        ) from e
    flagged, cats = resp
    return _Moderation(flagged, cats, ", ".join(cats) or "flagged")


def _user_values(request: Request, detector: Any) -> frozenset[str]:
    """PII the user supplied (original values, also those behind placeholders): not a leak."""
    mapping = request.private.get(_PRIVATE_KEY) or {}
    found = {
        s[f.start : f.end]
        for m in request.messages
        if m.get("role") != "system"
        for s in _strings(m)
        for f in detector.find(s)
    }
    return frozenset(found | set(mapping.values()) | set(mapping))


def _strings(message: Mapping[str, Any], over: list[bool] | None = None) -> list[str]:
    out: list[str] = []

    def keep(s: str) -> str:
        out.append(s)
        return s

    _map_message(message, keep, [False] if over is None else over)
    return out


def _map_message(message: Mapping[str, Any], fn: Callable[[str], str], over: list[bool]) -> dict[str, Any]:
    """A copy of one message with ``fn`` applied to every text it carries (content parts, tool args)."""
    m = dict(message)
    if m.get("content") is not None:
        m["content"] = _map_value(m["content"], fn, over)
    if m.get("tool_calls"):
        m["tool_calls"] = _map_value(m["tool_calls"], fn, over)
    return m


def _map_value(root: Any, fn: Callable[[str], str], over: list[bool]) -> Any:
    """A copy of ``root`` with ``fn`` applied to every text in it, at any depth.

    Iterative (an explicit stack, not recursion), so no nesting depth escapes the scan; texts are
    visited in document order (placeholders are numbered in reading order). Past ``_MAX_NODES``
    values (a cyclic or absurd structure) the rest is left as it is and ``over[0]`` is set: the
    caller then applies its action and records it, never passing it silently.
    """
    if isinstance(root, str):
        return fn(root)
    holder: list[Any] = [root]
    stack: list[tuple[Any, Any, Any]] = [(root, holder, 0)]  # (value, where the copy goes, key)
    nodes = 0
    while stack:
        value, parent, key = stack.pop()
        nodes += 1
        if nodes > _MAX_NODES:
            over[0] = True
            break
        if isinstance(value, str):
            parent[key] = fn(value)
        elif isinstance(value, Mapping):
            # Only text-bearing fields; ids, types, URLs of images and roles stay as they are.
            copy = dict(value)
            parent[key] = copy
            stack.extend((copy[k], copy, k) for k in reversed(list(copy)) if k in _TEXT_KEYS)
        elif isinstance(value, (list, tuple)):
            items = list(value)
            parent[key] = items
            stack.extend((items[i], items, i) for i in range(len(items) - 1, -1, -1))
    return holder[0]


def _restore_json(arguments: str, mapping: Mapping[str, str]) -> str:
    """Restore placeholders inside JSON-encoded tool arguments, escaping the values for JSON."""
    from ._pii import restore

    if not _PLACEHOLDER.search(arguments):
        return arguments
    escaped = {k: json.dumps(v)[1:-1] for k, v in mapping.items()}
    return restore(arguments, escaped)


def _name(fn: Any) -> str:
    return getattr(fn, "__name__", None) or type(fn).__name__


def _choice(field_name: str, value: Any, options: Sequence[str], optional: bool = False) -> None:
    if (value is None and optional) or value in options:
        return
    allowed = ", ".join(repr(o) for o in options) + (" or None" if optional else "")
    raise ConfigError(f"guardrails.{field_name}", f"unknown action {value!r}", f"use one of {allowed}")


def _entities(entities: Iterable[str] | None) -> tuple[str, ...]:
    from ._pii import ENTITIES

    if entities is None:
        return tuple(ENTITIES)
    if isinstance(entities, str):
        entities = [entities]
    out = tuple(str(e).upper() for e in entities)
    bad = [e for e in out if e not in ENTITIES]
    if bad:
        raise ConfigError(
            "guardrails.entities", f"unknown entity type(s) {bad}", f"use some of {list(ENTITIES)}"
        )
    return out


def _pii_detector(engine: Any, entities: Sequence[str], allow: frozenset[str]) -> Any:
    from ._pii import PIIDetector, PresidioDetector

    if engine == "regex":
        return PIIDetector(entities, allow=allow)
    if engine == "presidio":
        return PresidioDetector(entities)
    if hasattr(engine, "find"):
        return engine
    raise ConfigError(
        "guardrails.pii_engine",
        f"unknown PII engine {engine!r}",
        'use "regex", "presidio", or an object with find(text) -> list[PIIFinding]',
    )


def _rank(score: Any) -> tuple[bool, float, float]:
    """Which of two injection scores is worse: flagged first, then the pattern score, then the model's."""
    return (score.flagged, score.score, score.model_score or 0.0)


def _injection_detector(threshold: float, model: Any) -> Any:
    from ._injection import InjectionDetector

    return InjectionDetector(threshold, model=model)


_KEYS = (
    "pii",
    "entities",
    "restore_pii",
    "pii_engine",
    "allow",
    "injection",
    "injection_threshold",
    "injection_model",
    "moderation",
    "moderation_params",
    "output",
    "output_entities",
    "roles",
)


def from_config(data: Mapping[str, Any]) -> Guardrails:
    """Build ``Guardrails`` from the ``guardrails:`` section of a YAML config (callables are code-only)."""
    unknown = sorted(set(data) - set(_KEYS))
    if unknown:
        raise ConfigError(
            unknown[0],
            "unknown guardrails setting",
            f"use some of {list(_KEYS)}; input_check/output_check are passed in code",
        )
    if "moderation" in data and not isinstance(data["moderation"], str):
        raise ConfigError(
            "moderation",
            "must be a moderation model name in a config file",
            "e.g. moderation: omni-moderation-latest",
        )
    return Guardrails(**dict(data))
