"""PII and secret detection with patterns and checksums; typed placeholders and their restoration.

Each entity has a pattern that finds candidates and a check that keeps only plausible ones: Luhn
and a known issuer prefix for cards, mod-97 and the country's length for IBANs, the SSA's invalid
ranges for SSNs, octet ranges for IPv4 and ``ipaddress`` for IPv6, a nearby cue for dates of birth
and for unformatted numbers. Precision matters as much as recall: an order id is not an SSN and a
product number is not a card. Phone numbers are validated by ``phonenumbers`` (``_pii_phone``); the
rest is standard library. Linear time (no nested quantifiers), and any
``str`` is accepted, including lone surrogates and NUL bytes.
"""

from __future__ import annotations

import bisect
import ipaddress
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Protocol

from .._errors import ConfigError
from ._pii_patterns import (
    _ADDRESS_AFTER,
    _ADDRESS_CUE,
    _ASCII_LOWER,
    _ASSIGNED,
    _ASSIGNED_ANCHORS,
    _CARD,
    _CARD_CUE,
    _CARD_GROUPS,
    _CUE_WINDOW,
    _DATE,
    _DE_ANCHORS,
    _DOB_ANCHORS,
    _DOB_CUE,
    _EMAIL_DOMAIN,
    _EMAIL_LOCAL,
    _ES_IT_ANCHORS,
    _FR_ANCHORS,
    _IBAN_HEAD,
    _IBAN_LENGTHS,
    _IPV4,
    _NETWORKS,
    _PEM_BEGIN,
    _PEM_END,
    _PLACEHOLDER_VALUE,
    _PREFIX,
    _PRESIDIO_MAP,
    _PRIORITY,
    _SECRET_ANCHORS,
    _SECRETS,
    _SENTENCE_END,
    _SSN,
    _SSN_CUE,
    _STREET_CAPS,
    _STREET_DE,
    _STREET_ES_IT,
    _STREET_FR,
    _STREET_US,
    _URL_USERINFO,
    _VERSION_CUE,
)
from ._pii_phone import check_region, phones

__all__ = ["ENTITIES", "PIIDetector", "PIIFinding", "PresidioDetector", "Redactor", "restore"]

ENTITIES: tuple[str, ...] = (
    "EMAIL",
    "PHONE",
    "SSN",
    "CREDIT_CARD",
    "IBAN",
    "IP_ADDRESS",
    "DATE_OF_BIRTH",
    "STREET_ADDRESS",
    "SECRET",
)


@dataclass(frozen=True, slots=True)
class PIIFinding:
    """One detected value: its type, where it is, how sure, and a sub-type; never the value itself."""

    entity: str
    start: int
    end: int
    score: float
    kind: str = ""


def _near(cue: re.Pattern[str], text: str, start: int, end: int, window: int = _CUE_WINDOW) -> bool:
    return bool(cue.search(text, max(0, start - window), min(len(text), end + 20)))


def _digits(s: str) -> str:
    return "".join(c for c in s if c.isdigit())


def luhn_ok(digits: str) -> bool:
    """True when ``digits`` passes the Luhn checksum."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def card_network(digits: str) -> str | None:
    """The card network whose issuer prefix and length fit ``digits``, else None."""
    for name, ranges, lengths in _NETWORKS:
        if len(digits) not in lengths:
            continue
        for low, high in ranges:
            width = len(str(low))
            if low <= int(digits[:width]) <= high:
                return name
    return None


def iban_ok(compact: str) -> bool:
    """True when ``compact`` (no spaces, upper case) has its country's length and a valid mod-97 check."""
    if _IBAN_LENGTHS.get(compact[:2]) != len(compact):
        return False
    moved = compact[4:] + compact[:4]
    try:
        return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1
    except ValueError:
        return False


def ssn_ok(area: str, group: str, serial: str) -> bool:
    """US SSN ranges the SSA never issues: area 000, 666, 900-999; group 00; serial 0000."""
    a = int(area)
    return a != 0 and a != 666 and a < 900 and group != "00" and serial != "0000"


def _entropy(s: str) -> float:
    counts = Counter(s)
    return -sum(n / len(s) * math.log2(n / len(s)) for n in counts.values())


# --- finders (one per entity): yield (start, end, score, kind) ----------------------------------------
Span = tuple[int, int, float, str]


def _in_url_userinfo(text: str, start: int) -> bool:
    """``start`` lies in the ``user:password`` part of a URL (``postgres://app:pw@db``): not an e-mail."""
    j = text.rfind("://", max(0, start - 400), start)
    return j != -1 and not any(c.isspace() or c == "/" for c in text[j + 3 : start])


def _emails(text: str) -> Iterable[Span]:
    at = text.find("@")
    while at != -1:
        domain = _EMAIL_DOMAIN.match(text, at + 1)
        head = text[max(0, at - 64) : at]
        local = _EMAIL_LOCAL.search(head) if domain else None
        if domain and local:
            start = at - len(head) + local.start()
            if (start == 0 or not (text[start - 1].isalnum() or text[start - 1] in "._%+-")) and not (
                _in_url_userinfo(text, start)
            ):
                yield start, domain.end(), 0.95, ""
        at = text.find("@", at + 1)


def _ssns(text: str) -> Iterable[Span]:
    for m in _SSN.finditer(text):
        area, sep, group, serial = m.groups()
        if not ssn_ok(area, group, serial):
            continue
        cue = _near(_SSN_CUE, text, m.start(), m.end())
        if sep == "-" and (
            cue
            or not _near(
                re.compile(
                    r"(?i)\b(?:order|invoice|ref|ticket|case|part|sku|"
                    r"tracking|po|account|id|no\.|#)"
                ),
                text,
                m.start(),
                m.end(),
                25,
            )
        ):
            yield m.start(), m.end(), 0.9 if cue else 0.7, ""
        elif cue:
            yield m.start(), m.end(), 0.85, ""


def _cards(text: str) -> Iterable[Span]:
    for m in _CARD.finditer(text):
        s = m.group().strip(" .-")
        digits = _digits(s)
        seps = set(re.findall(r"[ .-]", s))
        if len(seps) > 1 or not luhn_ok(digits):
            continue
        network = card_network(digits)
        if network is None:
            continue
        if seps == {"."} and tuple(map(len, s.split("."))) not in _CARD_GROUPS:
            continue
        grouped = bool(seps)
        cue = _near(_CARD_CUE, text, m.start(), m.end())
        if not grouped and not cue:
            continue  # a bare 16-digit number without a card cue is too often an id
        start = m.start() + (len(m.group()) - len(m.group().lstrip(" .-")))
        yield start, start + len(s), 0.95 if cue else 0.8, network


def _ibans(text: str) -> Iterable[Span]:
    for m in _IBAN_HEAD.finditer(text):
        start = m.start() - 2
        length = _IBAN_LENGTHS.get(text[start : start + 2].upper())
        if length is None:
            continue
        end, compact = _take_alnum(text, start, length)
        if end and iban_ok(compact):
            yield start, end, 0.95, compact[:2]


def _take_alnum(text: str, start: int, n: int) -> tuple[int, str]:
    """The end of exactly ``n`` ASCII letters/digits from ``start`` and those characters upper-cased;
    single separators between them are allowed, all of one kind (spaces, dashes or dots);
    ``(0, "")`` when the run is shorter or continues past ``n``."""
    out: list[str] = []
    sep = ""
    i = start
    while len(out) < n and i < len(text):
        c = text[i]
        if c.isascii() and c.isalnum():
            out.append(c)
        elif c in " -." and out and (sep or c) == c and i + 1 < len(text) and _alnum(text[i + 1]):
            sep = c
        else:
            break
        i += 1
    if len(out) < n or (i < len(text) and text[i].isalnum()):
        return 0, ""
    return i, "".join(out).upper()


def _alnum(c: str) -> bool:
    return c.isascii() and c.isalnum()


def _ips(text: str) -> Iterable[Span]:
    for m in _IPV4.finditer(text):
        parts = m.group().split(".")
        if any(int(p) > 255 or (len(p) > 1 and p[0] == "0") for p in parts):
            continue
        if _VERSION_CUE.search(text[max(0, m.start() - 12) : m.start()]):
            continue
        yield m.start(), m.end(), 0.85, "ipv4"
    for start, end in _colon_runs(text):
        s = text[start:end]
        if s.count(":") < 3 and "::" not in s:
            continue
        try:
            ipaddress.IPv6Address(s)
        except ValueError:
            continue
        if re.fullmatch(r"[\d:]+", s) and "::" not in s:
            continue  # 12:30:45:10 is a time, not an address
        groups = [g for g in s.split(":") if g]
        if s != "::1" and (len(groups) < 2 or sum(map(len, groups)) < 5):
            continue  # "db8::", "a::b": valid, but in prose a word and two colons
        yield start, end, 0.85, "ipv6"


_HEXCOLON = frozenset("0123456789abcdefABCDEF:")


def _colon_runs(text: str) -> Iterable[tuple[int, int]]:
    """Maximal runs of hex digits and colons around each colon (IPv6 candidates), found with str.find."""
    i = text.find(":")
    while i != -1:
        start, end = i, i + 1
        while start > 0 and text[start - 1] in _HEXCOLON and i - start < 40:
            start -= 1
        while end < len(text) and text[end] in _HEXCOLON and end - i < 40:
            end += 1
        if (start == 0 or not text[start - 1].isalnum()) and (end == len(text) or not text[end].isalnum()):
            yield start, end
        i = text.find(":", end)


def _anchor_windows(low: str, anchors: Iterable[str], before: int, after: int) -> list[tuple[int, int]]:
    """Merged windows around each occurrence of an anchor in the lower-cased text (same offsets)."""
    spots = []
    for a in anchors:
        i = low.find(a)
        while i != -1:
            spots.append((max(0, i - before), min(len(low), i + len(a) + after)))
            i = low.find(a, i + 1)
    merged: list[tuple[int, int]] = []
    for lo, hi in sorted(spots):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def _lower(text: str) -> str:
    """``text`` lower-cased with the same offsets (``str.lower`` can change the length, e.g. for 'İ')."""
    low = text.lower()
    return low if len(low) == len(text) else text.translate(_ASCII_LOWER)


def _dobs(text: str) -> Iterable[Span]:
    for lo, hi in _anchor_windows(_lower(text), _DOB_ANCHORS, 45, 60):  # dates only next to a birth cue
        cues = [(c.start(), c.end()) for c in _DOB_CUE.finditer(text, lo, hi)]
        if not cues:
            continue
        starts = [c[0] for c in cues]
        for m in _DATE.finditer(text, lo, hi):
            near = cues[
                max(0, bisect.bisect_left(starts, m.start() - 60)) : bisect.bisect_right(starts, m.end() + 30)
            ]
            if any(_same_clause(text, c, (m.start(), m.end())) for c in near):
                yield m.start(), m.end(), 0.85, ""


def _same_clause(text: str, cue: tuple[int, int], date: tuple[int, int]) -> bool:
    """The cue is close to the date (before it, or just after it) with no sentence break between."""
    if cue[1] <= date[0]:
        gap = text[cue[1] : date[0]]
        return len(gap) <= 40 and not _SENTENCE_END.search(gap.lstrip("."))
    gap = text[date[1] : cue[0]]
    return cue[0] >= date[1] and len(gap) <= 25 and not _SENTENCE_END.search(gap)


def _streets(text: str) -> Iterable[Span]:
    for m in _STREET_US.finditer(text):
        s = m.group().rstrip(" ,")
        if (
            _STREET_CAPS.match(s)
            and not re.match(r"\d+\s+(?:st|nd|rd|th)\b", s, re.I)
            and _address_context(text, m.start(), m.start() + len(s))
        ):
            yield m.start(), m.start() + len(s), 0.75, "us_uk"
    low = _lower(text)
    for m in _anchored(_STREET_DE, text, low, _DE_ANCHORS):
        start = m.start()
        while start > 0 and (text[start - 1].isalpha() or text[start - 1] == "-") and m.start() - start < 40:
            start -= 1
        if m.start() - start >= 3 and text[start].isupper():
            yield start, m.end(), 0.75, "de"
    fr = _STREET_FR.finditer(text) if any(a in low for a in _FR_ANCHORS) else ()
    for kind, matches in (("fr", fr), ("es_it_pt", _anchored(_STREET_ES_IT, text, low, _ES_IT_ANCHORS))):
        for m in matches:
            end = m.start() + len(m.group().rstrip(" ,"))
            yield m.start(), end, 0.7, kind


def _anchored(
    pattern: re.Pattern[str], text: str, low: str, anchors: Iterable[str]
) -> Iterable[re.Match[str]]:
    """Matches of ``pattern`` tried only where one of the (lower-case) anchors starts."""
    tried = set()
    for a in anchors:
        i = low.find(a)
        while i != -1:
            m = pattern.match(text, i) if i not in tried else None
            tried.add(i)
            if m is not None:
                yield m
            i = low.find(a, i + 1)


def _address_context(text: str, start: int, end: int) -> bool:
    """An address word shortly before, or what follows looks like the rest of an address."""
    return bool(_ADDRESS_CUE.search(text, max(0, start - 30), start) or _ADDRESS_AFTER.match(text, end))


def _random_enough(body: str) -> bool:
    """A token body that looks generated: letters and digits (or both cases) mixed, not a placeholder
    (``XXXXXXXXXXXXXXXX``) or words (``folding-cube-animation-wrapper``)."""
    distinct = len(set(body))
    has_digit = any(c.isdigit() for c in body)
    has_alpha = any(c.isalpha() for c in body)
    mixed_case = any(c.isupper() for c in body) and any(c.islower() for c in body)
    return distinct >= 6 and (has_digit and has_alpha or mixed_case and _entropy(body) >= 3.5)


def _secrets(text: str) -> Iterable[Span]:
    yield from _private_keys(text)
    yield from _url_credentials(text)
    for kind, pattern, score in _SECRETS:
        for m in pattern.finditer(text):
            start = m.start("value") if "value" in pattern.groupindex else m.start()
            if kind == "jwt":
                yield start, m.end(), score, kind
                continue
            prefix = _PREFIX.match(text, start)
            if _random_enough(text[prefix.end() if prefix else start : m.end()]):
                yield start, m.end(), score, kind
    for m in _assignments(text):
        value = m.group("value").rstrip(".,;:!?")
        if _PLACEHOLDER_VALUE.fullmatch(value):
            continue
        kinds = sum(bool(re.search(p, value)) for p in ("[a-z]", "[A-Z]", "[0-9]", r"[^\w]"))
        if m.group("pw") is not None:  # a password need not look random: "hunter2" is one
            ok = len(value) >= 6 and kinds >= 2 and any(c.isdigit() for c in value) and len(set(value)) >= 4
        else:
            ok = len(value) >= 12 and _entropy(value) >= 3.3 and kinds >= 2 and not value.isalpha()
        if ok:
            yield m.start("value"), m.start("value") + len(value), 0.8, "assigned_secret"


def _url_credentials(text: str) -> Iterable[Span]:
    """The password of ``scheme://user:password@host`` (one span, so no e-mail is read into it)."""
    i = text.find("://")
    while i != -1:
        m = _URL_USERINFO.match(text, i + 3)
        if m is not None and i > 0 and text[i - 1].isalnum():
            value = m.group("value")
            if not _PLACEHOLDER_VALUE.fullmatch(value):
                yield m.start("value"), m.end("value"), 0.95, "url_credentials"
        i = text.find("://", i + 3)


def _private_keys(text: str) -> Iterable[Span]:
    """A PEM private key block (header to footer, at most 20 KB), or the header alone."""
    i = text.find("-----BEGIN ")
    while i != -1:
        m = _PEM_BEGIN.match(text, i)
        if m is None:
            i = text.find("-----BEGIN ", i + 1)
            continue
        j = text.find("-----END ", m.end(), m.end() + 20_000)
        footer = _PEM_END.match(text, j) if j != -1 else None
        end = footer.end() if footer is not None else m.end()
        yield i, end, 0.99, "private_key"
        i = text.find("-----BEGIN ", end)


def _assignments(text: str) -> Iterable[re.Match[str]]:
    """``api_key = value`` matches, tried only from the start of identifiers holding a key word."""
    low = _lower(text)
    starts = set()
    for anchor in _ASSIGNED_ANCHORS:
        i = low.find(anchor)
        while i != -1:
            j = i
            while j > 0 and i - j < 60 and (text[j - 1].isalnum() or text[j - 1] in "_-"):
                j -= 1
            starts.add(j)
            if low.startswith("authorization", max(0, i - 30)):
                starts.add(max(0, i - 30))
            i = low.find(anchor, i + 1)
    seen = set()
    for j in sorted(starts):
        m = _ASSIGNED.match(text, j)
        if m is not None and m.start("value") not in seen:
            seen.add(m.start("value"))
            yield m


_FINDERS: dict[str, Callable[[str], Iterable[Span]]] = {
    "EMAIL": _emails,
    "PHONE": phones,
    "SSN": _ssns,
    "CREDIT_CARD": _cards,
    "IBAN": _ibans,
    "IP_ADDRESS": _ips,
    "DATE_OF_BIRTH": _dobs,
    "STREET_ADDRESS": _streets,
    "SECRET": _secrets,
}
_GATES: dict[str, Callable[[str, int, str], bool]] = {
    "EMAIL": lambda t, d, low: "@" in t,
    "PHONE": lambda t, d, low: d >= 7,
    "SSN": lambda t, d, low: d >= 9,
    "CREDIT_CARD": lambda t, d, low: d >= 12,
    "IBAN": lambda t, d, low: d >= 8,
    "IP_ADDRESS": lambda t, d, low: (d >= 4 and "." in t) or "::" in t or t.count(":") >= 3,
    "DATE_OF_BIRTH": lambda t, d, low: d >= 2 and any(a in low for a in _DOB_ANCHORS),
    "STREET_ADDRESS": lambda t, d, low: d >= 1,
    "SECRET": lambda t, d, low: any(a in low for a in _SECRET_ANCHORS),
}


def check_entities(entities: Iterable[str] | None, where: str) -> tuple[str, ...]:
    """Validate entity names (case-insensitive); ``ConfigError`` names the valid ones."""
    if entities is None:
        return ENTITIES
    out = tuple(str(e).upper() for e in ([entities] if isinstance(entities, str) else entities))
    bad = [e for e in out if e not in ENTITIES]
    if bad:
        raise ConfigError(where, f"unknown entity type(s) {bad}", f"use some of {list(ENTITIES)}")
    return out


class PIIDetector:
    """Find PII and secrets with patterns and checksums (local, fast, no model).

    Args:
        entities: entity types to report (default all of ``ENTITIES``).
        min_score: findings below this confidence are dropped.
        allow: literal values never reported (a support address you publish, say).
        phone_region: the region (ISO 3166, e.g. ``"GB"``) whose national format a phone number
            without a country code is read in; with a phone word nearby, common other regions are
            tried too (see ``_pii_phone``).

    Raises:
        ConfigError: an unknown entity, a ``min_score`` outside [0, 1] or an unknown region.

    Example:
        >>> [f.entity for f in PIIDetector().find("Mail ann@example.com, card 4111 1111 1111 1111")]
        ['EMAIL', 'CREDIT_CARD']
    """

    def __init__(
        self,
        entities: Iterable[str] | None = None,
        *,
        min_score: float = 0.5,
        allow: Iterable[str] = (),
        phone_region: str = "US",
    ) -> None:
        self.entities = check_entities(entities, "PIIDetector.entities")
        if not 0.0 <= min_score <= 1.0:
            raise ConfigError("PIIDetector.min_score", f"must be in [0, 1], got {min_score!r}", "e.g. 0.5")
        self.min_score = min_score
        self.allow = frozenset(allow)
        self.phone_region = check_region(phone_region, "PIIDetector.phone_region")
        self._finders: dict[str, Callable[[str], Iterable[Span]]] = {
            **_FINDERS,
            "PHONE": partial(phones, region=self.phone_region),
        }

    def __repr__(self) -> str:
        return f"PIIDetector(entities={list(self.entities)!r})"

    def find(self, text: str) -> list[PIIFinding]:
        """Findings sorted by position, without overlaps (the more specific, surer, longer span wins)."""
        if not isinstance(text, str) or not text:
            return []
        digits = sum(map(text.count, "0123456789"))
        low = text.lower()  # for substring gates only; offsets come from the finders
        found = [
            PIIFinding(entity, s, e, score, kind)
            for entity in self.entities
            if _GATES[entity](text, digits, low)
            for s, e, score, kind in self._finders[entity](text)
            if score >= self.min_score and text[s:e] not in self.allow
        ]
        return _without_overlaps(found)


def _without_overlaps(found: list[PIIFinding]) -> list[PIIFinding]:
    """Keep, among overlapping findings, the more specific entity, then the surer, then the longer one.

    Findings are split into clusters of chained overlaps (one sweep by start), and the choice is made
    within each cluster, so a text with a hundred thousand findings stays fast.
    """
    found.sort(key=lambda f: (f.start, f.end))
    taken: list[PIIFinding] = []
    cluster: list[PIIFinding] = []
    reach = -1
    for f in found:
        if cluster and f.start >= reach:
            taken += _choose(cluster)
            cluster = []
        cluster.append(f)
        reach = max(reach, f.end) if len(cluster) > 1 else f.end
    taken += _choose(cluster)
    return sorted(taken, key=lambda f: f.start)


def _choose(cluster: list[PIIFinding]) -> list[PIIFinding]:
    if len(cluster) < 2:
        return cluster
    cluster.sort(key=lambda f: (-_PRIORITY.get(f.entity, 0), -f.score, -(f.end - f.start), f.start))
    kept: list[PIIFinding] = []
    for f in cluster:
        if all(f.end <= t.start or f.start >= t.end for t in kept):
            kept.append(f)
    return kept


class PresidioDetector:
    """Microsoft Presidio as the PII engine; same ``find`` interface as ``PIIDetector``.

    Not a project dependency: ``pip install presidio-analyzer`` plus a spaCy model (``en_core_web_lg``
    by default; ``_md``/``_sm`` are used when that one is absent; ``model=`` names another installed
    package or a directory). The model is never downloaded on the fly. Presidio's names map to ours (``EMAIL_ADDRESS`` -> EMAIL, ``US_SSN`` -> SSN, ``IBAN_CODE`` ->
    IBAN, ``LOCATION`` -> STREET_ADDRESS, ``DATE_TIME`` -> DATE_OF_BIRTH only next to a birth cue);
    secrets are still found by our patterns (Presidio has no recogniser for provider keys).

    Example:
        >>> PresidioDetector(["EMAIL"]).find("write to ann@example.com")  # doctest: +SKIP
        [PIIFinding(entity='EMAIL', start=9, end=24, score=1.0, kind='email_address')]
    """

    def __init__(
        self,
        entities: Iterable[str] | None = None,
        *,
        min_score: float = 0.5,
        language: str = "en",
        model: str | None = None,
    ) -> None:
        self.entities = check_entities(entities, "PresidioDetector.entities")
        self.min_score, self.language = min_score, language
        self._engine = _presidio_engine(language, model)
        self._ours = PIIDetector(["SECRET"]) if "SECRET" in self.entities else None

    def __repr__(self) -> str:
        return f"PresidioDetector(entities={list(self.entities)!r}, language={self.language!r})"

    def find(self, text: str) -> list[PIIFinding]:
        """Findings sorted by position, without overlaps, as ``PIIDetector.find``."""
        if not isinstance(text, str) or not text:
            return []
        wanted = [k for k, v in _PRESIDIO_MAP.items() if v in self.entities]
        found = []
        for r in self._engine.analyze(text=text, language=self.language, entities=wanted) if wanted else ():
            entity = _PRESIDIO_MAP[r.entity_type]
            if r.score < self.min_score:
                continue
            if entity == "DATE_OF_BIRTH" and not _near(_DOB_CUE, text, r.start, r.end, 45):
                continue
            found.append(PIIFinding(entity, r.start, r.end, float(r.score), r.entity_type.lower()))
        if self._ours is not None:
            found += self._ours.find(text)
        return _without_overlaps(found)


_INSTALL_PRESIDIO = (
    "pip install presidio-analyzer, then a spaCy model: pip install "
    "en_core_web_lg (from spaCy's model releases) or python -m spacy download en_core_web_lg; "
    'or use pii_engine="regex"'
)


def _installed(module: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _presidio_engine(language: str, model: str | None) -> Any:
    """An ``AnalyzerEngine`` on an installed spaCy model for ``language`` (never downloads one)."""
    try:
        from presidio_analyzer import AnalyzerEngine
        from presidio_analyzer.nlp_engine import NlpEngineProvider
    except ImportError as e:
        raise ConfigError(
            "pii_engine",
            "Presidio is not installed (presidio_analyzer cannot be imported)",
            _INSTALL_PRESIDIO,
        ) from e
    kinds = ("web", "news")
    names = [f"{language}_core_{k}_{size}" for size in ("lg", "md", "sm", "trf") for k in kinds]
    if model is not None and not Path(model).is_dir() and not _installed(model):
        raise ConfigError(
            "PresidioDetector.model",
            f"spaCy model {model!r} is neither an installed package nor a directory",
            _INSTALL_PRESIDIO,
        )
    model = model or next((n for n in names if _installed(n)), None)
    if model is None:
        raise ConfigError(
            "pii_engine",
            f"Presidio needs a spaCy model for {language!r}; none of {names} is installed",
            _INSTALL_PRESIDIO,
        )
    try:
        nlp = NlpEngineProvider(
            nlp_configuration={
                "nlp_engine_name": "spacy",
                "models": [{"lang_code": language, "model_name": model}],
            }
        ).create_engine()
        return AnalyzerEngine(nlp_engine=nlp, supported_languages=[language])
    except Exception as e:  # spaCy/Presidio version mismatches surface here
        raise ConfigError(
            "pii_engine", f"Presidio could not load spaCy model {model!r}: {e}", _INSTALL_PRESIDIO
        ) from e


class Finder(Protocol):
    """What a PII engine is: ``PIIDetector``, ``PresidioDetector`` or any object with this ``find``."""

    def find(self, text: str) -> list[PIIFinding]: ...


class Redactor:
    """Replace PII with typed placeholders stable within one request (``<EMAIL_1>``, ``<PHONE_2>``).

    The same value gets the same placeholder across all the texts one ``Redactor`` sees, and once a
    value is found, every later occurrence of it is replaced too (even where, out of context, the
    detector would not report it). ``mapping`` (placeholder -> original) stays in memory for ``restore``.

    Example:
        >>> r = Redactor(PIIDetector())
        >>> r.redact("ann@example.com wrote to bob@example.com, cc ann@example.com")[0]
        '<EMAIL_1> wrote to <EMAIL_2>, cc <EMAIL_1>'
        >>> restore("Reply to <EMAIL_2>", r.mapping)
        'Reply to bob@example.com'
    """

    def __init__(self, detector: Finder | None = None) -> None:
        self.detector = detector or PIIDetector()
        self.mapping: dict[str, str] = {}
        self._by_value: dict[tuple[str, str], str] = {}
        self._counts: Counter[str] = Counter()

    def redact(self, text: str) -> tuple[str, list[PIIFinding]]:
        """The text with every finding replaced, and the findings (positions refer to the input)."""
        found = self.detector.find(text)
        if found or self._by_value:
            found = _with_repeats(
                text, found, {(f.entity, text[f.start : f.end]) for f in found} | set(self._by_value)
            )
        if not found:
            return text, found
        out, pos = [], 0
        for f in found:
            if f.start < pos or not f.start < f.end <= len(text):
                continue  # a custom engine's overlapping or out-of-range finding
            value = text[f.start : f.end]
            key = (f.entity, value)
            placeholder = self._by_value.get(key)
            if placeholder is None:
                placeholder = self._new_placeholder(f.entity, text)
                self._by_value[key] = placeholder
                self.mapping[placeholder] = value
            out += [text[pos : f.start], placeholder]
            pos = f.end
        out.append(text[pos:])
        return "".join(out), found

    def _new_placeholder(self, entity: str, text: str) -> str:
        """The next ``<ENTITY_n>`` not already written literally in the text (restore stays exact)."""
        while True:
            self._counts[entity] += 1
            placeholder = f"<{entity}_{self._counts[entity]}>"
            if placeholder not in text:
                return placeholder


def _with_repeats(text: str, found: list[PIIFinding], values: set[tuple[str, str]]) -> list[PIIFinding]:
    """``found`` plus every other whole-word occurrence of the known values (score 1, kind "repeat")."""
    repeats = []
    starts = [f.start for f in found]
    for entity, value in values:
        i = text.find(value)
        while i != -1:
            end = i + len(value)
            k = bisect.bisect_right(starts, i)
            free = (k == 0 or found[k - 1].end <= i) and (k == len(found) or found[k].start >= end)
            whole = (i == 0 or not text[i - 1].isalnum()) and (end == len(text) or not text[end].isalnum())
            if free and whole:
                repeats.append(PIIFinding(entity, i, end, 1.0, "repeat"))
            i = text.find(value, end)
    return _without_overlaps(found + repeats) if repeats else found


_PLACEHOLDER = re.compile(r"<[A-Z_]+_\d+>")


def restore(text: str, mapping: Mapping[str, str]) -> str:
    """Put the original values back for the exact placeholders (``<EMAIL_1>``) present in ``text``.

    Placeholders the model mangled (``EMAIL_1`` without brackets) are left as they are.
    """
    if not mapping or "<" not in text:
        return text
    return _PLACEHOLDER.sub(lambda m: mapping.get(m.group(), m.group()), text)
