"""Secret values the library knows of, and their redaction wherever text leaves the library.

Configured secrets are registered where they are configured: ``ModelSpec(api_key=...)``, any
``ModelSpec.params`` entry whose name says it is a credential (``api_key``, ``token``, ``secret``,
``password``, ``authorization`` ...) at any depth (``extra_headers`` included), and the password of a
Redis URL. Environment variables named like credentials (``*_API_KEY``, ``*_TOKEN``, ``*_SECRET``,
``*_PASSWORD``) count too, since LiteLLM reads keys from there. ``redact(text)`` replaces every known
value with ``***``: errors (``CascadeError.__str__``/``__repr__``), ``Attempt.error``, the result views,
reprs and store URLs all go through it. Values shorter than 6 characters are not treated as secrets
(they would mangle ordinary text and protect nothing).
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlsplit

__all__ = [
    "MASK",
    "is_secret_name",
    "mask_params",
    "redact",
    "register",
    "register_params",
    "register_url",
    "scrub_exception",
]

MASK = "***"
_MIN = 6
_NAME = re.compile(
    r"(api[_-]?key|apikey|token|secret|passw(or)?d|authorization|credential|private[_-]?key|access[_-]?key"
    r"|session[_-]?key|cookie)",
    re.IGNORECASE,
)
_ENV_NAME = re.compile(r"(API_?KEY|_KEY|TOKEN|SECRET|PASSWORD|PASSWD)$", re.IGNORECASE)
_known: set[str] = set()
_lock = threading.Lock()
_pattern: re.Pattern[str] | None = None
_env_snapshot: tuple[tuple[str, str], ...] = ()


def is_secret_name(name: Any) -> bool:
    """Whether a parameter or header named ``name`` holds a credential."""
    return isinstance(name, str) and _NAME.search(name) is not None


def register(value: Any) -> None:
    """Remember ``value`` as a secret (also its bare token after a ``Bearer``/``Basic`` scheme)."""
    global _pattern
    if not isinstance(value, str):
        value = getattr(value, "get_secret_value", lambda: None)()
        if not isinstance(value, str):
            return
    values = {value.strip()}
    scheme, _, token = value.strip().partition(" ")
    if token and scheme.lower() in ("bearer", "basic", "token"):
        values.add(token.strip())
    new = {v for v in values if len(v) >= _MIN} - _known
    if new:
        with _lock:
            _known.update(new)
            _pattern = None


def register_params(params: Any) -> None:
    """Register every credential in provider params (names that say so; all values of auth headers)."""
    if isinstance(params, Mapping):
        for k, v in params.items():
            if isinstance(v, (str, bytes)) or hasattr(v, "get_secret_value"):
                if is_secret_name(k):
                    register(v.decode("utf-8", "replace") if isinstance(v, bytes) else v)
            else:
                register_params(v)
    elif isinstance(params, Sequence) and not isinstance(params, (str, bytes)):
        for v in params:
            register_params(v)


def register_url(url: Any) -> None:
    """Register the password of a URL (``user:pw@host`` or ``?password=pw``)."""
    if not isinstance(url, str):
        return
    try:
        parts = urlsplit(url)
        if parts.password:
            register(parts.password)
        for k, v in parse_qsl(parts.query):
            if is_secret_name(k):
                register(v)
    except ValueError:
        return


def mask_params(params: Any) -> Any:
    """A copy of provider params with credential values replaced by ``***`` (for reprs)."""
    if isinstance(params, Mapping):
        out = {}
        for k, v in params.items():
            if is_secret_name(k) and (isinstance(v, (str, bytes)) or hasattr(v, "get_secret_value")):
                out[k] = MASK
            else:
                out[k] = mask_params(v)
        return out
    if isinstance(params, (list, tuple)):
        return type(params)(mask_params(v) for v in params)
    return params


def _env_secrets() -> tuple[tuple[str, str], ...]:
    return tuple((k, v) for k, v in os.environ.items() if _ENV_NAME.search(k) and len(v) >= 8)


def _compiled() -> re.Pattern[str] | None:
    global _pattern, _env_snapshot
    env = _env_secrets()
    with _lock:
        if env != _env_snapshot:
            _env_snapshot, _pattern = env, None
        if _pattern is None:
            values = _known | {v for _, v in env}
            if not values:
                return None
            # Longest first, so a key is never half-replaced by a shorter one it contains.
            _pattern = re.compile("|".join(re.escape(v) for v in sorted(values, key=len, reverse=True)))
        return _pattern


def redact(text: Any) -> Any:
    """``text`` with every known secret value replaced by ``***`` (non-strings are returned as given)."""
    if not isinstance(text, str) or not text:
        return text
    pattern = _compiled()
    return text if pattern is None else pattern.sub(MASK, text)


def scrub_exception(e: BaseException | None) -> None:
    """Redact, in place, the messages of ``e`` and of its cause chain (what a traceback prints)."""
    seen: set[int] = set()
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        try:
            e.args = tuple(redact(a) for a in e.args)
            for attr in ("message", "body", "text"):
                value = getattr(e, attr, None)
                if isinstance(value, str):
                    setattr(e, attr, redact(value))
        except Exception:  # an exception type with read-only attributes: leave it
            pass
        e = e.__cause__ or e.__context__
