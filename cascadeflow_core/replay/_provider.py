"""Replay: recorded multi-model outputs served as a LiteLLM custom provider.

A replay set is a folder in the format of ``shared/data/replay/README.md``: ``queries.jsonl`` (one query
a line), ``responses.jsonl.gz`` (one recorded answer of one model to one query a line, with its
correctness label, token counts, cost and optional logprob) and ``models.json``. ``register_replay``
makes the models of a set callable as ``"replay/<model name>"`` through ``litellm.completion`` /
``acompletion`` / streaming, so a replayed cascade goes through LiteLLM, the engine, the tracker and the
adapters exactly like a live one; each call returns the recorded text, usage, cost and logprob.

The query of a call is found from its messages (a hash of the normalised messages, else the text of the
last user message when that is unique in the set), or given explicitly: ``replay_id="<query id>"`` as a
provider kwarg, or ``metadata={"replay_id": ...}`` on a direct ``litellm.completion`` call. A (model,
query) pair that was not recorded raises ``ReplayError`` (inside LiteLLM: a ``NotFoundError``, which the
engine records as a non-retried ``bad_request`` attempt): never an invented answer.
"""

from __future__ import annotations

import contextlib
import difflib
import gzip
import hashlib
import json
import math
import os
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._errors import ConfigError, ReplayError
from .._types import Draft, ModelSpec, Request, content_text

__all__ = ["PROVIDER", "Query", "Record", "ReplayRegistration", "ReplaySet", "register_replay"]

PROVIDER = "replay"
_RESPONSE_FILES = ("responses.jsonl.gz", "responses.jsonl")


@dataclass(frozen=True)
class Query:
    """One recorded query: its id, OpenAI-format messages, reference answer (may be None) and task."""

    id: str
    messages: tuple[Mapping[str, Any], ...]
    reference: Any = None
    task: str = ""


@dataclass(frozen=True)
class Record:
    """One model's recorded answer to one query."""

    model: str
    query_id: str
    text: str
    correct: bool
    input_tokens: int
    output_tokens: int
    cost: float
    logprob: float | None = None


def _norm(text: str) -> str:
    return " ".join(text.split())


def messages_key(messages: Iterable[Mapping[str, Any]]) -> str:
    """Hash of the normalised (role, text) of system/user/assistant messages: the query's address."""
    parts = [
        f"{m.get('role')}:{_norm(content_text(m.get('content')))}"
        for m in messages
        if m.get("role") in ("system", "user", "assistant", "developer")
    ]
    return hashlib.sha1("\x1e".join(parts).encode()).hexdigest()


def _last_user(messages: Iterable[Mapping[str, Any]]) -> str:
    text = ""
    for m in messages:
        if m.get("role") == "user":
            text = content_text(m.get("content"))
    return _norm(text)


def _bad(path: Path, line: int | None, problem: str, fix: str = "") -> ConfigError:
    where = f"{path.name}:{line}" if line is not None else path.name
    return ConfigError(
        f"replay {path.parent.name}/{where}",
        problem,
        fix or "see the replay format in docs/replay-and-benchmarks.md",
    )


def _read_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as e:
                    raise _bad(path, n, f"not valid JSON ({e.msg})") from e
                if not isinstance(obj, dict):
                    raise _bad(path, n, f"expected a JSON object, got {type(obj).__name__}")
                yield n, obj
    except (OSError, EOFError) as e:
        raise _bad(path, None, f"cannot read: {e}") from e


def _parse_query(path: Path, n: int, obj: Mapping[str, Any]) -> Query:
    qid, messages = obj.get("id"), obj.get("messages")
    if not isinstance(qid, str) or not qid:
        raise _bad(path, n, f"'id' must be a non-empty string, got {qid!r}")
    if (
        not isinstance(messages, list)
        or not messages
        or not all(isinstance(m, dict) and isinstance(m.get("role"), str) for m in messages)
    ):
        raise _bad(path, n, "'messages' must be a non-empty list of {role, content} objects")
    return Query(qid, tuple(messages), obj.get("reference"), str(obj.get("task") or ""))


def _num(path: Path, n: int, obj: Mapping[str, Any], key: str, kind: type, optional: bool = False) -> Any:
    v = obj.get(key)
    if v is None and optional:
        return None
    finite = (
        math.isfinite(v) or (key == "logprob" and v == -math.inf) if isinstance(v, (int, float)) else False
    )
    if (
        isinstance(v, bool)
        or not isinstance(v, (int, float))
        or not finite
        or (kind is int and v != int(v))
        or (key != "logprob" and v < 0)
    ):
        raise _bad(
            path,
            n,
            f"'{key}' must be a {'non-negative ' if key != 'logprob' else ''}"
            f"{kind.__name__}{' or null' if optional else ''}, got {v!r}",
        )
    return kind(v)


def _parse_record(path: Path, n: int, obj: Mapping[str, Any]) -> Record:
    qid, model, text = obj.get("id"), obj.get("model"), obj.get("text")
    if not isinstance(qid, str) or not isinstance(model, str) or not model:
        raise _bad(path, n, "'id' and 'model' must be non-empty strings")
    if not isinstance(text, str):
        raise _bad(path, n, f"'text' must be a string, got {type(text).__name__}")
    if obj.get("correct") not in (0, 1, True, False):
        raise _bad(path, n, f"'correct' must be 0 or 1, got {obj.get('correct')!r}")
    return Record(
        model,
        qid,
        text,
        bool(obj["correct"]),
        _num(path, n, obj, "input_tokens", int),
        _num(path, n, obj, "output_tokens", int),
        _num(path, n, obj, "cost_usd", float),
        _num(path, n, obj, "logprob", float, optional=True),
    )


@dataclass(frozen=True, eq=False)
class ReplaySet:
    """Recorded outputs of several models on the same queries, with correctness labels and costs.

    Example:
        >>> from cascadeflow_core import ReplaySet
        >>> rs = ReplaySet.load(ReplaySet.sample_path())
        >>> rec = rs.answer("gpt-4o-mini-2024-07-18", rs.ids[0])
        >>> rec.correct in (True, False)
        True
    """

    name: str
    queries: tuple[Query, ...] = field(repr=False)
    records: Mapping[tuple[str, str], Record] = field(repr=False)
    models: tuple[str, ...] = ()
    prices: Mapping[str, Mapping[str, float]] = field(default_factory=dict, repr=False)
    note: str = ""
    _index: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    # --- loading -------------------------------------------------------------------------------------
    @classmethod
    def load(cls, folder: str | os.PathLike[str]) -> ReplaySet:
        """Read and check a replay folder; raise ``ConfigError`` naming the file and line of bad data."""
        path = Path(folder).expanduser()
        if not path.is_dir():
            raise ConfigError(
                "replay folder",
                f"{str(path)!r} is not a directory",
                "give a folder holding queries.jsonl, responses.jsonl.gz and models.json",
            )
        qpath = path / "queries.jsonl"
        rpath = next((path / f for f in _RESPONSE_FILES if (path / f).exists()), None)
        if not qpath.exists() or rpath is None:
            missing = "queries.jsonl" if not qpath.exists() else "responses.jsonl.gz"
            raise ConfigError(
                "replay folder",
                f"{path.name}/ has no {missing}",
                "a replay folder holds queries.jsonl, responses.jsonl.gz and models.json",
            )
        queries, seen = [], set()
        for n, obj in _read_jsonl(qpath):
            q = _parse_query(qpath, n, obj)
            if q.id in seen:
                raise _bad(qpath, n, f"duplicate query id {q.id!r}")
            seen.add(q.id)
            queries.append(q)
        records: dict[tuple[str, str], Record] = {}
        order: dict[str, None] = {}
        for n, obj in _read_jsonl(rpath):
            r = _parse_record(rpath, n, obj)
            if r.query_id not in seen:
                raise _bad(
                    rpath,
                    n,
                    f"answer to unknown query id {r.query_id!r}",
                    "every id must be in queries.jsonl",
                )
            records[(r.model, r.query_id)] = r
            order.setdefault(r.model)
        prices, note, listed = cls._read_models(path / "models.json")
        models = tuple(m for m in listed if m in order) + tuple(m for m in order if m not in listed)
        return cls(path.name, tuple(queries), records, models, prices, note)

    @staticmethod
    def _read_models(path: Path) -> tuple[dict[str, dict[str, float]], str, list[str]]:
        if not path.exists():
            return {}, "", []
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as e:
            raise _bad(path, None, f"not valid JSON: {e}") from e
        models = data.get("models") if isinstance(data, dict) else None
        if not isinstance(models, dict):
            raise _bad(
                path, None, 'expected {"note": str, "models": {name: {input_per_mtok, output_per_mtok}}}'
            )
        prices = {
            m: {k: float(v) for k, v in (p or {}).items() if isinstance(v, (int, float))}
            for m, p in models.items()
        }
        return prices, str(data.get("note") or ""), list(models)

    @staticmethod
    def sample_path() -> Path:
        """The small GSM8K sample shipped with the package (see its PROVENANCE.md)."""
        return Path(__file__).parent / "data" / "gsm8k_sample"

    def __repr__(self) -> str:
        return f"ReplaySet({self.name!r}, {len(self.queries)} queries, {len(self.models)} models)"

    # --- lookups -------------------------------------------------------------------------------------
    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(q.id for q in self.queries)

    def __len__(self) -> int:
        return len(self.queries)

    def query(self, qid: str) -> Query:
        q = self._lookup().get("by_id", {}).get(qid)
        if q is None:
            raise ReplayError(f"replay set {self.name!r} has no query {qid!r}")
        return q

    def _lookup(self) -> dict[str, Any]:
        if not self._index:
            by_key: dict[str, str | None] = {}
            by_user: dict[str, str | None] = {}
            for q in self.queries:
                k = messages_key(q.messages)
                by_key[k] = None if k in by_key else q.id  # None marks an ambiguous address
                u = _last_user(q.messages)
                by_user[u] = None if u in by_user else q.id
            self._index.update(by_id={q.id: q for q in self.queries}, by_key=by_key, by_user=by_user)
        return self._index

    def find_id(self, messages: Sequence[Mapping[str, Any]]) -> str:
        """The id of the recorded query these messages ask (raise ``ReplayError`` when none or ambiguous)."""
        idx = self._lookup()
        qid = idx["by_key"].get(messages_key(messages))
        if qid is None:
            qid = idx["by_user"].get(_last_user(messages))
        if qid is None:
            shown = _last_user(messages)[:80]
            raise ReplayError(
                f"replay set {self.name!r} has no (unique) recorded query for the message "
                f"{shown!r}; send the recorded messages, or pass replay_id='<query id>'"
            )
        return qid

    def has(self, model: str, qid: str) -> bool:
        return (model, qid) in self.records

    def answer(self, model: str, qid: str) -> Record:
        """The recorded answer of ``model`` to query ``qid``; ``ReplayError`` when it was not recorded."""
        rec = self.records.get((model, qid))
        if rec is not None:
            return rec
        if model not in self.models:
            near = difflib.get_close_matches(model, self.models, n=3, cutoff=0.3)
            hint = f"; nearest: {', '.join(near)}" if near else f"; models: {', '.join(self.models[:8])}"
            raise ReplayError(f"replay set {self.name!r} has no model {model!r}{hint}")
        raise ReplayError(f"replay set {self.name!r} has no recorded answer of {model!r} to query {qid!r}")

    def covered(self, models: Iterable[str]) -> tuple[str, ...]:
        """Ids of the queries every one of ``models`` answered."""
        ms = tuple(models)
        for m in ms:
            if m not in self.models:
                self.answer(m, "")  # raises with the nearest names
        return tuple(q.id for q in self.queries if all((m, q.id) in self.records for m in ms))

    # --- derived sets ----------------------------------------------------------------------------------
    def subset(self, ids: Iterable[str], name: str | None = None) -> ReplaySet:
        """A replay set of only these queries (in this set's order)."""
        keep = set(ids)
        queries = tuple(q for q in self.queries if q.id in keep)
        records = {k: r for k, r in self.records.items() if k[1] in keep}
        return ReplaySet(name or self.name, queries, records, self.models, self.prices, self.note)

    def split(self, fraction: float = 0.5, seed: int = 0) -> tuple[ReplaySet, ReplaySet]:
        """Deterministic split into (fit, held-out) by a seeded hash of each query id (not by content)."""
        if not 0.0 < fraction < 1.0:
            raise ConfigError("split", f"must be in (0, 1), got {fraction!r}", "e.g. 0.5")

        def rank(qid: str) -> str:
            return hashlib.sha1(f"{seed}:{qid}".encode()).hexdigest()

        ordered = sorted(self.ids, key=rank)
        cut = max(1, min(len(ordered) - 1, round(len(ordered) * fraction)))
        return (
            self.subset(ordered[:cut], f"{self.name}[fit]"),
            self.subset(ordered[cut:], f"{self.name}[held-out]"),
        )

    # --- engine hooks ----------------------------------------------------------------------------------
    def spec(self, model: str, **kwargs: Any) -> ModelSpec:
        """A ``ModelSpec`` that replays ``model`` (``"replay/<model>"``); raises for an unknown model."""
        if model not in self.models:
            self.answer(model, "")
        return ModelSpec(f"{PROVIDER}/{model}", **kwargs)

    def verifier_cost(self, spec: ModelSpec, request: Request, answer: Draft) -> float | None:
        """``CascadeOptions.verifier_cost`` hook: the verifier's recorded cost on this query."""
        model = replay_model(spec)
        if model is None:
            return None
        try:
            qid = request.params.get("replay_id") or self.find_id(request.messages)
            return self.answer(model, str(qid)).cost
        except ReplayError:
            return None


def replay_model(spec: ModelSpec | str) -> str | None:
    """The recorded model name behind a ``"replay/<model>"`` spec, else None."""
    model = spec.model if isinstance(spec, ModelSpec) else spec
    prefix = f"{PROVIDER}/"
    return model[len(prefix) :] if model.startswith(prefix) else None


# --- the LiteLLM custom provider --------------------------------------------------------------------------


class _Registry:
    """Replay sets registered with LiteLLM, most recent first; guards litellm.custom_provider_map."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sets: list[ReplaySet] = []
        self.handler: Any = None
        self.added: list[tuple[Any, str]] = []

    def resolve(self, model: str, kwargs: Mapping[str, Any]) -> Record:
        sets = list(self.sets)
        if not sets:
            raise ReplayError(
                "no replay set is registered; use `with register_replay(ReplaySet.load(path)):`"
            )
        params = kwargs.get("optional_params") or {}
        meta = (kwargs.get("litellm_params") or {}).get("metadata") or {}
        qid = params.get("replay_id") or (meta.get("replay_id") if isinstance(meta, Mapping) else None)
        owner = next((s for s in sets if model in s.models), sets[0])
        if qid is None:
            qid = owner.find_id(kwargs.get("messages") or [])
        return owner.answer(model, str(qid))


_REGISTRY = _Registry()


def _response(lm: Any, model: str, rec: Record, want_logprobs: bool) -> Any:
    choice: dict[str, Any] = {
        "index": 0,
        "finish_reason": "stop",
        "message": {"role": "assistant", "content": rec.text},
    }
    if want_logprobs and rec.logprob is not None:
        # One entry carrying the recorded sequence log-probability: Draft.logprob == the recorded value.
        choice["logprobs"] = {
            "content": [{"token": "<recorded>", "logprob": rec.logprob, "bytes": None, "top_logprobs": []}]
        }
    resp = lm.ModelResponse(
        model=model,
        choices=[choice],
        usage={
            "prompt_tokens": rec.input_tokens,
            "completion_tokens": rec.output_tokens,
            "total_tokens": rec.input_tokens + rec.output_tokens,
        },
    )
    resp._hidden_params["response_cost"] = rec.cost
    return resp


def _chunks(model: str, rec: Record, want_logprobs: bool) -> Iterator[Any]:
    from ..providers._litellm import stream_chunk_types

    Delta, ModelResponseStream, StreamingChoices, Usage = stream_chunk_types()  # noqa: N806 (classes)

    words = rec.text.split(" ")
    pieces = [
        " ".join(words[i : i + 8]) + (" " if i + 8 < len(words) else "") for i in range(0, len(words), 8)
    ]
    pieces = pieces or [""]
    for i, piece in enumerate(pieces):
        last = i == len(pieces) - 1
        lp = None
        if i == 0 and want_logprobs and rec.logprob is not None:
            lp = {
                "content": [
                    {"token": "<recorded>", "logprob": rec.logprob, "bytes": None, "top_logprobs": []}
                ]
            }
        choice = StreamingChoices(
            index=0, delta=Delta(content=piece), logprobs=lp, finish_reason="stop" if last else None
        )
        usage = None
        if last:
            # Usage (with the recorded cost) rides on the last content chunk: a usage-only chunk is dropped
            # by LiteLLM's stream wrapper for custom providers.
            usage = Usage(
                prompt_tokens=rec.input_tokens,
                completion_tokens=rec.output_tokens,
                total_tokens=rec.input_tokens + rec.output_tokens,
            )
            usage.cost = rec.cost
        yield ModelResponseStream(model=model, choices=[choice], usage=usage)


def _handler() -> Any:
    if _REGISTRY.handler is not None:
        return _REGISTRY.handler
    from ..providers._litellm import custom_llm_class, litellm_module

    lm = litellm_module()
    CustomLLM = custom_llm_class()  # noqa: N806 (a class)

    def lookup(model: str, kwargs: dict[str, Any]) -> tuple[Record, bool]:
        try:
            rec = _REGISTRY.resolve(model, kwargs)
        except ReplayError as e:
            raise lm.NotFoundError(message=f"ReplayError: {e}", model=model, llm_provider=PROVIDER) from e
        return rec, bool((kwargs.get("optional_params") or {}).get("logprobs"))

    class ReplayHandler(CustomLLM):
        """Serves recorded answers (text, usage, cost, logprob) for ``replay/<model>`` calls."""

        def completion(self, model: str, messages: list[Any], *args: Any, **kwargs: Any) -> Any:
            rec, lp = lookup(model, {**_named(args), **kwargs, "messages": messages})
            return _response(lm, model, rec, lp)

        async def acompletion(self, model: str, messages: list[Any], *args: Any, **kwargs: Any) -> Any:
            return self.completion(model, messages, *args, **kwargs)

        def streaming(self, model: str, messages: list[Any], *args: Any, **kwargs: Any) -> Iterator[Any]:
            rec, lp = lookup(model, {**_named(args), **kwargs, "messages": messages})
            yield from _chunks(model, rec, lp)

        async def astreaming(self, model: str, messages: list[Any], *args: Any, **kwargs: Any) -> Any:
            rec, lp = lookup(model, {**_named(args), **kwargs, "messages": messages})
            for chunk in _chunks(model, rec, lp):
                yield chunk

    _REGISTRY.handler = ReplayHandler()
    return _REGISTRY.handler


_POSITIONAL = (
    "api_base",
    "custom_prompt_dict",
    "model_response",
    "print_verbose",
    "encoding",
    "api_key",
    "logging_obj",
    "optional_params",
    "acompletion",
    "litellm_params",
)


def _named(args: tuple[Any, ...]) -> dict[str, Any]:
    return dict(zip(_POSITIONAL, args, strict=False))


class ReplayRegistration(contextlib.AbstractContextManager["ReplayRegistration"]):
    """Handle returned by ``register_replay``; ``close()`` (or leaving the ``with``) unregisters."""

    def __init__(self, replay_set: ReplaySet) -> None:
        self.replay_set = replay_set
        self.closed = False

    def close(self) -> None:
        with _REGISTRY.lock:
            if self.closed:
                return
            self.closed = True
            _REGISTRY.sets[:] = [s for s in _REGISTRY.sets if s is not self.replay_set] + [
                s for s in _REGISTRY.sets if s is self.replay_set
            ][1:]
            if not _REGISTRY.sets:
                _unhook()

    def __exit__(self, *exc: object) -> None:
        self.close()


def register_replay(replay_set: ReplaySet) -> ReplayRegistration:
    """Serve ``replay_set``'s models as ``"replay/<model>"`` through LiteLLM until the handle is closed.

    Nothing is changed at import; this adds one entry to ``litellm.custom_provider_map`` and removes it
    (and the provider name LiteLLM added) when the last registered set is closed.

    Example:
        >>> from cascadeflow_core import Cascade, ReplaySet, register_replay
        >>> rs = ReplaySet.load(ReplaySet.sample_path())
        >>> with register_replay(rs):
        ...     r = Cascade([rs.spec("gpt-4o-2024-08-06")]).complete(rs.query(rs.ids[0]).messages)
        >>> r.model
        'replay/gpt-4o-2024-08-06'
    """
    if not isinstance(replay_set, ReplaySet):
        raise ConfigError(
            "replay_set",
            f"expected a ReplaySet, got {type(replay_set).__name__}",
            "load one with ReplaySet.load(folder)",
        )
    handler = _handler()
    from ..providers._litellm import litellm_module

    lm = litellm_module()
    with _REGISTRY.lock:
        _REGISTRY.sets.insert(0, replay_set)
        if not any(item.get("custom_handler") is handler for item in lm.custom_provider_map):
            lm.custom_provider_map = [
                *lm.custom_provider_map,
                {"provider": PROVIDER, "custom_handler": handler},
            ]
            for lst in (lm.provider_list, lm._custom_providers):
                if PROVIDER not in lst:
                    lst.append(PROVIDER)
                    _REGISTRY.added.append((lst, PROVIDER))
    return ReplayRegistration(replay_set)


def _unhook() -> None:
    from ..providers._litellm import litellm_module

    lm = litellm_module()
    lm.custom_provider_map = [
        i for i in lm.custom_provider_map if i.get("custom_handler") is not _REGISTRY.handler
    ]
    for lst, name in _REGISTRY.added:
        with contextlib.suppress(ValueError):
            lst.remove(name)
    _REGISTRY.added.clear()
