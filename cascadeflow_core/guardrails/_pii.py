"""PII and secret detection with patterns and checksums; typed placeholders and their restoration.

Each entity has a pattern that finds candidates and a check that keeps only plausible ones: Luhn
and a known issuer prefix for cards, mod-97 and the country's length for IBANs, the SSA's invalid
ranges for SSNs, octet ranges for IPv4 and ``ipaddress`` for IPv6, a nearby cue for dates of birth
and for unformatted numbers. Precision matters as much as recall: an order id is not an SSN and a
product number is not a card. Pure standard library, linear time (no nested quantifiers), and any
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
from pathlib import Path
from typing import Any, Protocol

from .._errors import ConfigError

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


# --- patterns --------------------------------------------------------------------------------------
# Patterns start with the character they need (a digit, "+", a literal prefix) and check what precedes
# it with a lookbehind placed after it, so the regex engine can skip ahead instead of trying every
# position; that is the difference between ~5 and ~25 microseconds per KB and pattern.
_EMAIL_LOCAL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}$")
_EMAIL_DOMAIN = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.){1,8}[A-Za-z]{2,24}(?![\w-])")
# Phone: +CC (or 00CC) and groups; or a national number with separators, kept only when it is formatted
# like a North American number or a phone word is near (and no order/invoice/tracking word is).
_PHONE_INTL = re.compile(
    r"(?:\+(?<![\w+/.-]\+)|0(?<![\w+/.-]0)0)[1-9]\d{0,2}[ .-]?(?:\(0\)[ .-]?)?"
    r"(?:\(?\d{1,5}\)?[ .-]?){1,5}\d{2,5}(?![\w/-]|\.\d)"
)
_PHONE_NAT = re.compile(
    r"(?:\((?<![\w+/.-]\()\d{2,5}\)[ .-]?|\d(?<![\w+/.(-]\d)\d{1,4}[ .-])\d{2,8}"
    r"(?:[ .-]\d{2,8}){0,3}(?![\w/-]|\.\d)"
)
# Ten or eleven bare digits are a phone number only right after a strong phone word ("call me at").
_PHONE_BARE = re.compile(r"\d(?<![\w+/.,-]\d)\d{9,10}(?![\w/-]|[.,]\d)")
_PHONE_STRONG_CUE = re.compile(
    r"(?i)\b(?:phone|tel|telephone|mobile|cell|call|ring|text|sms|whatsapp|fax|"
    r"teléfono|telefon|téléphone|portable|handy)\b[^\d\n]{0,20}$"
)
_GROUP_BEFORE = re.compile(r"\d[ .-]$")
_GROUP_AFTER = re.compile(r"[ .-]\d")
_NANP = re.compile(r"(?:\([2-9]\d\d\)\s?|[2-9]\d\d[ .-])[2-9]\d\d[ .-]\d{4}")
_DATE_LIKE = re.compile(r"\d{1,2}[./-]\d{1,2}[./-]\d{2,4}|\d{4}[./-]\d{1,2}[./-]\d{1,2}")
_PHONE_CUE = re.compile(
    r"\b(?:phone|tel|telephone|mobile|cell|call|ring|text|sms|whatsapp|signal|fax|contact|"
    r"reach|landline|hotline|teléfono|telefono|telefon|téléphone|portable|handy|joindre|"
    r"rufen|llamar|llamad|numéro|número|nummer|cellulare)\b",
    re.I,
)
_ID_CUE = re.compile(
    r"(?i)\b(?:order|invoice|ref|reference|ticket|case|part|sku|tracking|po|account|acct|id|"
    r"serial|lot|batch|isbn|ean|upc|customer|confirmation|booking|receipt|transaction)\b"
    r"|no\.|#"
)
_SSN = re.compile(r"(\d(?<![\w-]\d)\d{2})([- ]?)(\d{2})\2(\d{4})(?![\w-])")
_SSN_CUE = re.compile(r"\b(?:ssn|social security|soc\.? sec|tax id|tin|itin)\b", re.I)
_CARD = re.compile(r"\d(?<![\w-]\d)(?:[ -]?\d){12,18}(?![\w-])")
_CARD_CUE = re.compile(
    r"\b(?:card|credit|debit|visa|mastercard|amex|american express|discover|jcb|diners|"
    r"unionpay|maestro|payment|cc|pay|paid|charge|charged|billing|tarjeta|karte|carte|"
    r"kreditkarte|carta)\b",
    re.I,
)
# IBAN: found from its check digits (a digit is rarer than a letter), then two letters before them;
# the country's length then says exactly how many characters (spaces between groups allowed) follow.
_IBAN_HEAD = re.compile(r"\d(?<=(?<![A-Za-z0-9])[A-Za-z]{2}\d)\d")
_IPV4 = re.compile(r"\d(?<![\w.]\d)\d{0,2}\.(?:\d{1,3}\.){2}\d{1,3}(?!\w|\.\d)")
_VERSION_CUE = re.compile(
    r"(?:\bv(?:ersion)?|release|build|\bver|patch|update|firmware|sdk|kernel|driver|agent|"
    r"python|node|chrome|firefox|ios|android|windows|oid|mib|section|chapter|§)[\s.:]*$",
    re.I,
)
# Dates: numeric (any order), and day-month-year / month-day-year with month names in en/fr/de/es/it.
_MONTH = (
    r"(?:jan|feb|febr|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec|janv|févr|fevr|mars|avr|mai|juin|"
    r"juil|août|aout|déc|mär|maer|mrz|okt|dez|ene|abr|mayo|ago|dic|gen|mag|giu|lug|set|ott)[^\W\d_]*\.?"
)
_DATE = re.compile(
    r"(?<!\d)(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.](?:\d{4}|\d{2})"
    rf"|\d{{1,2}}(?:st|nd|rd|th|er|º)?\.?\s+(?:of\s+|de\s+)?{_MONTH},?\s+(?:de\s+)?\d{{4}}"
    rf"|{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}})(?!\d)",
    re.I,
)
_DOB_WORDS = (
    "born",
    "birth",
    "birthday",
    "birthdate",
    "dob",
    "d.o.b",
    "né",
    "née",
    "naissance",
    "geboren",
    "geburtsdatum",
    "geburtstag",
    "nacimiento",
    "nacido",
    "nacida",
    "nascita",
    "nato il",
    "nata il",
)
_DOB_CUE = re.compile(
    r"(?i)(?<!\w)(?:" + "|".join(re.escape(w) for w in _DOB_WORDS) + r"|date of birth)(?!\w)"
)
_SENTENCE_END = re.compile(r"[!?\n]|\.\s")
# Street addresses: number + capitalised name + street type (en), name+straße + number (de),
# number + rue/avenue + name (fr), or calle/via + name + number (es/it/pt). A match must also sit
# where addresses sit: after an address word, or followed by a comma, a city, a unit or the end.
_STREET_TYPES = (
    r"Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Way|Court|Ct|Place|Pl|Terrace|"
    r"Parkway|Pkwy|Highway|Hwy|Square|Sq|Close|Crescent|Gardens|Row|Walk|Circle|Cir|Trail|Mews|Grove"
)
_STREET_US = re.compile(
    r"\d(?<![\w/.,:-]\d)\d{0,5}[A-Za-z]?(?:-\d{1,4})?\s{1,3}(?:(?:[A-Z][\w'.-]{0,30}|\d{1,3}(?:st|nd|rd|th))\s{1,3}){1,4}"
    rf"(?:{_STREET_TYPES})\b\.?(?:\s+(?:N|S|E|W|NE|NW|SE|SW)\b)?"
    r"(?:,?\s+(?i:apt|apartment|suite|ste|unit|flat|floor|fl|#)\.?\s*[\w-]{1,6})?"
)
_STREET_DE = re.compile(
    r"(?:straße|strasse|str\.|weg|platz|gasse|allee|ring|damm|ufer)\s+\d{1,4}[a-z]?(?![\w])", re.I
)
_STREET_FR = re.compile(
    r"\d(?<![\w/.,:-]\d)\d{0,3}(?:\s?(?:bis|ter))?,?\s+(?:rue|avenue|boulevard|bd|place|chemin|"
    r"allée|impasse|quai|route)\s+(?:(?:de la|de l'|du|des|de|d')\s*)?[A-ZÀ-Ý][\w'-]{1,40}"
    r"(?:[ -](?:de |du |des |la |le )?[A-ZÀ-Ý][\w'-]{1,40}){0,3}"
)
_STREET_ES_IT = re.compile(
    r"\b(?:Calle|Avenida|Carrer|Plaza|Paseo|Camino|Via|Viale|Corso|Piazza|Largo|Rua|Praça"
    r")\s+(?:(?:de|del|della|di|da|do|dos|la|las|los)\s+)?"
    r"(?:[A-ZÀ-Ý][\w'.-]*\s+){1,3},?\s*(?:n\.?\s*|nº\s*)?\d{1,4}[a-zA-Z]?(?!\w)"
)
_ADDRESS_CUE = re.compile(
    r"(?i)\b(?:address|addr|ship|shipping|shipped|deliver|delivery|send|sent|mail|post|live|"
    r"lives|living|moved|move|located|location|office|store|shop|warehouse|visit|return|"
    r"billing|home|residence|at|to|from|adresse|anschrift|dirección|direccion|indirizzo|"
    r"livraison|lieferadresse|envíelo|envialo)\b"
)
_ADDRESS_AFTER = re.compile(r"\s*(?:$|[,;:)\n]|\.(?:\s|$)|\s+\d{4,5}\b|\s+[A-Z]{1,2}\d)")
_STREET_CAPS = re.compile(r"\d{1,6}[A-Za-z]?(?:-\d{1,4})?,?\s+[A-Z0-9]")

# Secrets: provider token shapes (kind, pattern, score). The random part must look random (see
# ``_random_enough``), so ``sk-folding-cube-animation`` (a CSS class) and ``AKIAXXXXXXXXXXXXXXXX``
# (a placeholder) are not keys.
_SECRETS: tuple[tuple[str, re.Pattern[str], float], ...] = tuple(
    (k, re.compile(p), s)
    for k, p, s in (
        ("anthropic_api_key", r"sk-ant-(?<![\w-]sk-ant-)(?:api|admin)\d{2}-[A-Za-z0-9_-]{20,200}", 0.99),
        ("openai_api_key", r"sk-(?<![\w-]sk-)(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,200}(?![\w-])", 0.95),
        ("aws_access_key", r"A(?<![A-Z0-9]A)(?:KIA|SIA|GPA|IDA|ROA|NPA)[A-Z0-9]{16}(?![A-Z0-9])", 0.95),
        (
            "github_token",
            r"g(?<!\wg)(?:h[pousr]_[A-Za-z0-9]{36,255}|ithub_pat_[A-Za-z0-9_]{22,255})(?!\w)",
            0.99,
        ),
        ("slack_token", r"xox(?<![\w-]xox)[abposr]-[A-Za-z0-9-]{10,200}", 0.97),
        ("stripe_key", r"[sr]k_(?<!\w[sr]k_)(?:live|test)_[A-Za-z0-9]{16,200}", 0.97),
        ("google_api_key", r"AIza(?<![\w-]AIza)[0-9A-Za-z_-]{35}(?![\w-])", 0.97),
        (
            "jwt",
            r"eyJ(?<![\w-]eyJ)[A-Za-z0-9_-]{8,2000}\.eyJ[A-Za-z0-9_-]{8,4000}\.[A-Za-z0-9_-]{8,2000}",
            0.9,
        ),
        ("huggingface_token", r"hf_(?<!\whf_)[A-Za-z]{34,40}(?![\w])", 0.95),
    )
)
# PEM private keys: the header, then (found with str.find, so a thousand headers stay linear) the footer.
_PEM_BEGIN = re.compile(r"-----BEGIN (?:[A-Z0-9]+ ){0,4}PRIVATE KEY(?: BLOCK)?-----")
_PEM_END = re.compile(r"-----END (?:[A-Z0-9]+ ){0,4}PRIVATE KEY(?: BLOCK)?-----")
_PREFIX = re.compile(
    r"(?:sk-ant-(?:api|admin)\d\d-|sk-(?:proj-|svcacct-|admin-)?|AKIA|ASIA|AGPA|AIDA|AROA|ANPA|"
    r"gh[pousr]_|github_pat_|xox[abposr]-|[sr]k_(?:live|test)_|AIza|hf_)"
)
# ``api_key = "..."``-style assignments (and ``Authorization: Bearer ...``): the value must look random.
_ASSIGNED = re.compile(
    r"(?i)(?<![\w-])(?:[a-z0-9]{1,20}[_-]){0,4}?(?:api[_-]?key|apikey|secret(?:[_-]?key)?|"
    r"access[_-]?token|auth[_-]?token|token|client[_-]?secret|secret[_-]access[_-]key|"
    r"private[_-]?key|(?:authorization\s*:\s*)?bearer|(?P<pw>password|passwd|pwd|passphrase))"
    r"[\"']?(?:\s*[:=]\s*|(?<=bearer)\s+)[\"']?(?P<value>[A-Za-z0-9_\-+/=.~!@#$%^&*?]{8,200})"
)
_ASSIGNED_ANCHORS = ("key", "token", "secret", "pass", "pwd", "bearer")

# Card issuer prefixes: (network, prefixes as (low, high) on the first digits, allowed lengths).
_NETWORKS: tuple[tuple[str, tuple[tuple[int, int], ...], tuple[int, ...]], ...] = (
    ("visa", ((4, 4),), (13, 16, 19)),
    ("mastercard", ((51, 55), (2221, 2720)), (16,)),
    ("amex", ((34, 34), (37, 37)), (15,)),
    ("discover", ((6011, 6011), (65, 65), (644, 649), (622126, 622925)), (16, 19)),
    ("jcb", ((3528, 3589),), (16, 19)),
    ("diners", ((300, 305), (36, 36), (38, 39)), (14, 16)),
    ("unionpay", ((62, 62),), (16, 17, 18, 19)),
    ("maestro", ((5018, 5018), (5020, 5020), (5038, 5038), (6304, 6304), (6759, 6759)), (12, 13, 16, 19)),
)
_IBAN_LENGTHS = {
    "AD": 24,
    "AE": 23,
    "AT": 20,
    "AZ": 28,
    "BA": 20,
    "BE": 16,
    "BG": 22,
    "BH": 22,
    "BR": 29,
    "CH": 21,
    "CR": 22,
    "CY": 28,
    "CZ": 24,
    "DE": 22,
    "DK": 18,
    "DO": 28,
    "EE": 20,
    "EG": 29,
    "ES": 24,
    "FI": 18,
    "FO": 18,
    "FR": 27,
    "GB": 22,
    "GE": 22,
    "GI": 23,
    "GL": 18,
    "GR": 27,
    "GT": 28,
    "HR": 21,
    "HU": 28,
    "IE": 22,
    "IL": 23,
    "IS": 26,
    "IT": 27,
    "JO": 30,
    "KW": 30,
    "KZ": 20,
    "LB": 28,
    "LI": 21,
    "LT": 20,
    "LU": 20,
    "LV": 21,
    "MC": 27,
    "MD": 24,
    "ME": 22,
    "MK": 19,
    "MR": 27,
    "MT": 31,
    "MU": 30,
    "NL": 18,
    "NO": 15,
    "PK": 24,
    "PL": 28,
    "PS": 29,
    "PT": 25,
    "QA": 29,
    "RO": 24,
    "RS": 22,
    "SA": 24,
    "SE": 24,
    "SI": 19,
    "SK": 24,
    "SM": 27,
    "TN": 24,
    "TR": 26,
    "UA": 29,
    "VG": 24,
    "XK": 20,
}
_CUE_WINDOW = 60


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


def _emails(text: str) -> Iterable[Span]:
    at = text.find("@")
    while at != -1:
        domain = _EMAIL_DOMAIN.match(text, at + 1)
        head = text[max(0, at - 64) : at]
        local = _EMAIL_LOCAL.search(head) if domain else None
        if domain and local:
            start = at - len(head) + local.start()
            if start == 0 or not (text[start - 1].isalnum() or text[start - 1] in "._%+-"):
                yield start, domain.end(), 0.95, ""
        at = text.find("@", at + 1)


def _phones(text: str) -> Iterable[Span]:
    for intl, pattern in ((True, _PHONE_INTL), (False, _PHONE_NAT)):
        for m in pattern.finditer(text):
            score = _phone_score(text, m, intl)
            if score:
                yield m.start(), m.end(), score, "international" if intl else "national"
    for m in _PHONE_BARE.finditer(text):
        if _PHONE_STRONG_CUE.search(text, max(0, m.start() - 30), m.start()) and not _ID_CUE.search(
            text, max(0, m.start() - 20), m.start()
        ):
            yield m.start(), m.end(), 0.7, "national"


def _phone_score(text: str, m: re.Match[str], intl: bool) -> float:
    """0 when the match is not a plausible phone number, else a confidence."""
    s = m.group()
    digits = _digits(s)
    if not 7 <= len(digits) <= 15:  # E.164 bounds
        return 0.0
    if _GROUP_BEFORE.search(text, max(0, m.start() - 2), m.start()) or _GROUP_AFTER.match(text, m.end()):
        return 0.0  # a slice of a longer number (an IBAN with a typo, a long reference)
    if intl:
        return 0.9
    if _DATE_LIKE.fullmatch(s) or len(digits) < 9:
        return 0.0
    cue = _near(_PHONE_CUE, text, m.start(), m.end(), 40)
    if not cue and _ID_CUE.search(text, max(0, m.start() - 25), m.start()):
        return 0.0  # "order 4829 1733 2204"
    if re.fullmatch(r"\(?\d{3}\)?[ .-]\d{3}[ .-]\d{4}", s) and not _NANP.fullmatch(s):
        return 0.0  # formatted like a North American number, but area/exchange codes start with 2-9
    if cue:
        return 0.85
    return 0.6 if _NANP.fullmatch(s) else 0.0


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
        s = m.group().strip(" -")
        digits = _digits(s)
        seps = set(re.findall(r"[ -]", s))
        if len(seps) > 1 or not luhn_ok(digits):
            continue
        network = card_network(digits)
        if network is None:
            continue
        grouped = bool(seps)
        cue = _near(_CARD_CUE, text, m.start(), m.end())
        if not grouped and not cue:
            continue  # a bare 16-digit number without a card cue is too often an id
        start = m.start() + (len(m.group()) - len(m.group().lstrip(" -")))
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
    """The end of exactly ``n`` ASCII letters/digits from ``start`` (single spaces between them allowed)
    and those characters upper-cased; ``(0, "")`` when the run is shorter or continues past ``n``."""
    out: list[str] = []
    i = start
    while len(out) < n and i < len(text):
        c = text[i]
        if c.isascii() and c.isalnum():
            out.append(c)
        elif not (c == " " and out and i + 1 < len(text) and text[i + 1].isascii() and text[i + 1].isalnum()):
            break
        i += 1
    if len(out) < n or (i < len(text) and text[i].isalnum()):
        return 0, ""
    return i, "".join(out).upper()


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
    for kind, pattern, score in _SECRETS:
        for m in pattern.finditer(text):
            if kind == "jwt":
                yield m.start(), m.end(), score, kind
                continue
            prefix = _PREFIX.match(text, m.start())
            if _random_enough(m.group()[prefix.end() - m.start() if prefix else 0 :]):
                yield m.start(), m.end(), score, kind
    for m in _assignments(text):
        value = m.group("value").rstrip(".,;:!?")
        kinds = sum(bool(re.search(p, value)) for p in ("[a-z]", "[A-Z]", "[0-9]", r"[^\w]"))
        if m.group("pw") is not None:
            ok = len(value) >= 8 and kinds >= 3 and len(set(value)) >= 6
        else:
            ok = len(value) >= 12 and _entropy(value) >= 3.3 and kinds >= 2 and not value.isalpha()
        if ok:
            yield m.start("value"), m.start("value") + len(value), 0.8, "assigned_secret"


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
    "PHONE": _phones,
    "SSN": _ssns,
    "CREDIT_CARD": _cards,
    "IBAN": _ibans,
    "IP_ADDRESS": _ips,
    "DATE_OF_BIRTH": _dobs,
    "STREET_ADDRESS": _streets,
    "SECRET": _secrets,
}
# Cheap gates (C-speed string operations) that skip a finder's regex scan when it cannot match:
# ``digits`` is the number of ASCII digits in the text, ``low`` the text lower-cased.
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")  # keeps offsets
_SECRET_ANCHORS = (
    "sk-",
    "akia",
    "asia",
    "agpa",
    "aida",
    "aroa",
    "anpa",
    "gh",
    "github_pat",
    "xox",
    "sk_",
    "rk_",
    "aiza",
    "eyj",
    "hf_",
    "-----begin",
    "key",
    "secret",
    "token",
    "password",
    "passwd",
    "pwd",
    "passphrase",
    "bearer",
)
_DOB_ANCHORS = tuple(w for w in _DOB_WORDS if not any(o != w and o in w for o in _DOB_WORDS))
_FR_ANCHORS = ("rue", "avenue", "boulevard", "bd", "place", "chemin", "allée", "impasse", "quai", "route")
_ES_IT_ANCHORS = (
    "calle",
    "avenida",
    "carrer",
    "plaza",
    "paseo",
    "camino",
    "via",
    "viale",
    "corso",
    "piazza",
    "largo",
    "rua",
    "praça",
)
_DE_ANCHORS = ("straße", "strasse", "str.", "weg", "platz", "gasse", "allee", "ring", "damm", "ufer")
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

# When spans overlap, the more specific entity wins before score and length.
_PRIORITY = {
    "SECRET": 9,
    "CREDIT_CARD": 8,
    "IBAN": 8,
    "EMAIL": 7,
    "SSN": 6,
    "IP_ADDRESS": 5,
    "DATE_OF_BIRTH": 4,
    "PHONE": 3,
    "STREET_ADDRESS": 2,
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

    Example:
        >>> [f.entity for f in PIIDetector().find("Mail ann@example.com, card 4111 1111 1111 1111")]
        ['EMAIL', 'CREDIT_CARD']
    """

    def __init__(
        self, entities: Iterable[str] | None = None, *, min_score: float = 0.5, allow: Iterable[str] = ()
    ) -> None:
        self.entities = check_entities(entities, "PIIDetector.entities")
        if not 0.0 <= min_score <= 1.0:
            raise ConfigError("PIIDetector.min_score", f"must be in [0, 1], got {min_score!r}", "e.g. 0.5")
        self.min_score = min_score
        self.allow = frozenset(allow)

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
            for s, e, score, kind in _FINDERS[entity](text)
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


_PRESIDIO_MAP = {
    "EMAIL_ADDRESS": "EMAIL",
    "PHONE_NUMBER": "PHONE",
    "US_SSN": "SSN",
    "CREDIT_CARD": "CREDIT_CARD",
    "IBAN_CODE": "IBAN",
    "IP_ADDRESS": "IP_ADDRESS",
    "DATE_TIME": "DATE_OF_BIRTH",
    "LOCATION": "STREET_ADDRESS",
}


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
