"""Phone numbers: cheap candidates from patterns, validity by region from ``phonenumbers``.

The patterns in ``_pii_patterns`` only find digit runs shaped like a phone number (``+CC ...``,
``00CC ...``, a national number with separators, ten or eleven bare digits after a phone word);
whether a candidate is a number is decided by ``phonenumbers`` (Google's libphonenumber metadata:
lengths, prefixes and number plans per region), not by hand-written rules. Why not
``phonenumbers.PhoneNumberMatcher`` for the candidates too: it runs at about 0.6 ms per KB (30 times
the patterns) and validates one region per pass, while a national number in a user's text may belong
to any region.

Rules, from strongest to weakest evidence:

* ``+CC ...`` / ``00CC ...``: a valid number scores 0.9; a possible one (right length for the
  country, e.g. the UK's fictional 07700 900xxx range) 0.75.
* a national number with a phone word nearby ("call", "mobile", "Telefon"): valid in the default
  region, or written with a trunk ``0`` and valid in one of the common regions below: 0.85.
* a national number with separators and no phone word: valid in the default region: 0.6.
* never: a date shape, an order / invoice / tracking word before it (without a phone word), a slice
  of a longer digit run, fewer than 9 digits for a national number.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from .._errors import ConfigError
from ._pii_patterns import (
    _DATE_LIKE,
    _GROUP_AFTER,
    _GROUP_BEFORE,
    _ID_CUE,
    _PHONE_BARE,
    _PHONE_CUE,
    _PHONE_INTL,
    _PHONE_NAT,
    _PHONE_STRONG_CUE,
)

__all__ = ["check_region", "phones"]

Span = tuple[int, int, float, str]

# Regions tried for a national number that a phone word vouches for but that the default region
# does not know: the ones whose formats are common in English, European and Indian support traffic.
_CUE_REGIONS = (
    "US",
    "GB",
    "DE",
    "FR",
    "ES",
    "IT",
    "NL",
    "IN",
    "AU",
    "CA",
    "IE",
    "CH",
    "AT",
    "BE",
    "MX",
    "BR",
)


def check_region(region: str, where: str) -> str:
    """``region`` upper-cased when ``phonenumbers`` knows it (ISO 3166 alpha-2), else ``ConfigError``."""
    import phonenumbers

    out = str(region).upper()
    if out not in phonenumbers.SUPPORTED_REGIONS:
        raise ConfigError(
            where, f"unknown phone region {region!r}", 'use an ISO 3166 code such as "US" or "GB"'
        )
    return out


def phones(text: str, region: str = "US") -> Iterable[Span]:
    """Phone numbers in ``text``: ``(start, end, score, kind)``, kind ``international`` or ``national``."""
    for intl, pattern in ((True, _PHONE_INTL), (False, _PHONE_NAT)):
        for m in pattern.finditer(text):
            score = _score(text, m.start(), m.end(), intl, region)
            if score:
                yield m.start(), m.end(), score, "international" if intl else "national"
    for m in _PHONE_BARE.finditer(text):
        if (
            _PHONE_STRONG_CUE.search(text, max(0, m.start() - 30), m.start())
            and not _ID_CUE.search(text, max(0, m.start() - 20), m.start())
            and _national_ok(m.group(), region, cue=True)
        ):
            yield m.start(), m.end(), 0.7, "national"


def _score(text: str, start: int, end: int, intl: bool, region: str) -> float:
    """0 when the candidate is not a plausible phone number, else a confidence."""
    s = text[start:end]
    digits = sum(c.isdigit() for c in s)
    if not 7 <= digits <= 15:  # E.164 bounds
        return 0.0
    if _GROUP_BEFORE.search(text, max(0, start - 2), start) or _GROUP_AFTER.match(text, end):
        return 0.0  # a slice of a longer number (an IBAN with a typo, a long reference)
    if intl:
        return _international(s)
    if _DATE_LIKE.fullmatch(s) or digits < 9:
        return 0.0
    cue = bool(_PHONE_CUE.search(text, max(0, start - 40), min(len(text), end + 20)))
    if not cue and _ID_CUE.search(text, max(0, start - 25), start):
        return 0.0  # "order 4829 1733 2204"
    if cue:
        return 0.85 if _national_ok(s, region, cue=True) else 0.0
    return 0.6 if _national_ok(s, region, cue=False) else 0.0


@lru_cache(maxsize=4096)  # the same texts are scanned again (output checks, repeats): parse once
def _international(s: str) -> float:
    import phonenumbers

    number = "+" + s[2:] if s.startswith("00") else s
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return 0.0
    if phonenumbers.is_valid_number(parsed):
        return 0.9
    return 0.75 if phonenumbers.is_possible_number(parsed) else 0.0


def _national_ok(s: str, region: str, *, cue: bool) -> bool:
    """Valid in ``region``; with a phone word nearby, a number written with a trunk ``0`` (the national
    prefix of most regions outside North America) may be valid in one of the common regions instead."""
    if _valid(s, region):
        return True
    trunk = s.lstrip("(").startswith("0")
    return cue and trunk and any(_valid(s, r) for r in _CUE_REGIONS if r != region)


@lru_cache(maxsize=4096)
def _parsed(s: str, region: str) -> Any:
    """``s`` parsed in ``region`` (cached; parsing and validity checks cost 0.05-0.3 ms a number)."""
    import phonenumbers

    try:
        return phonenumbers.parse(s, region)
    except phonenumbers.NumberParseException:
        return None


@lru_cache(maxsize=4096)
def _valid(s: str, region: str) -> bool:
    import phonenumbers

    parsed = _parsed(s, region)
    return parsed is not None and phonenumbers.is_valid_number_for_region(parsed, region)
