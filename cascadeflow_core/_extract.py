"""Answer extraction (placeholder until the full extractor lands)."""

from __future__ import annotations

import re

_NUM = re.compile(r"-?\d[\d,]*\.?\d*")


def normalize_text(s: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", s.lower()).split())


def normalize_number(s: str) -> str | None:
    m = _NUM.search(s)
    if not m:
        return None
    try:
        v = float(m.group().replace(",", ""))
    except ValueError:
        return None
    return str(int(v)) if v == int(v) else repr(v)


def extract_answer(text: str, kind: str = "auto") -> str | None:
    nums = _NUM.findall(text or "")
    if nums:
        return normalize_number(nums[-1])
    t = normalize_text(text or "")
    return t or None
