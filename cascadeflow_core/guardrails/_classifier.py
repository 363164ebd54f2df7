"""Learned prompt-injection / jailbreak classifier: hashed n-grams and a logistic-regression head.

Opt-in (extra ``ml``: NumPy): ``InjectionDetector(model="ml")`` or ``Guardrails(injection_model="ml")``.
The weights ship in the package (``data/injection_model.npz``, ~0.8 MB; trained by
``scripts/train_injection.py`` on the ``train`` split of the team's labelled corpus); nothing is
downloaded. It covers some of what phrase lists miss (paraphrase, misspelling); the pattern
detector stays the strong, explainable signal, and ``InjectionClassifier.combine`` merges the two
scores with the rule stored next to the weights. Measured figures: ``docs/guardrails-injection.md``.

Pipeline for one text:

1. **Normalise**: NFKC, invisible format characters removed, Cyrillic/Greek look-alikes mapped to
   Latin, case-folded, words that mix letters and leet characters folded (``1gn0r3`` -> ``ignore``),
   ``i g n o r e`` joined, digits mapped to ``0``, runs of spaces and of newlines collapsed.
2. **Hash**: character 3-5-grams and word uni/bi-grams, each hashed with a fixed, vectorised 64-bit
   hash (a polynomial over code points / ``zlib.crc32`` of words, finished with the splitmix64 mixer;
   never Python's salted ``hash()``) into ``2**bits`` buckets.
3. **Weight**: sublinear term frequency ``1 + log(count)``, L2-normalised per text (or window).
4. **Score**: ``sigmoid(w . x + b)``. Texts longer than one window are also scored in overlapping
   windows of ``window`` characters and the maximum is kept, so one instruction hidden in a long
   document is not diluted. At most ``max_chars`` characters (head and tail halves) and
   ``max_windows`` windows are scored, which bounds the cost of very long inputs.

Example:
    >>> clf = InjectionClassifier.load()  # doctest: +SKIP
    >>> 0.0 <= clf.score("What is the capital of France?") <= 1.0  # doctest: +SKIP
    True
"""

from __future__ import annotations

import re
import threading
import unicodedata
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._errors import ConfigError
from ._injection_patterns import _INVISIBLE as _PATTERN_INVISIBLE

__all__ = ["FeatureConfig", "InjectionClassifier", "featurize", "normalise"]

DEFAULT_PATH = Path(__file__).with_name("data") / "injection_model.npz"
RULES = ("or", "max", "logistic")
PATTERN_FLAG = 0.5  # the pattern detector's default threshold: a hit there is taken as proof in the "or" rule
_FORMAT_VERSION = 1

# The pattern detector's invisible characters, plus the Unicode tag block (ASCII smuggling), as trained.
_INVISIBLE = {**_PATTERN_INVISIBLE, **dict.fromkeys(range(0xE0000, 0xE0080))}
_CONFUSABLE = str.maketrans("аеорсхуіјѕԁһӏԛԝαεοιρτυνκ", "aeopcxyijsdhlqwaeoiptuvk")
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"})
# A token that mixes letters with leet characters (not a plain number, not a plain word).
_LEET_WORD = re.compile(r"(?<![\w@$])(?=[\w@$]*[^\W\d_])(?=[\w@$]*[013457@$])[\w@$]+")
_SPACED = re.compile(r"(?<![^\W\d_])[^\W\d_](?:(?: |[.\-_*] ?)[^\W\d_]){3,}(?![^\W\d_])")
_DIGITS = re.compile(r"\d")
_SPACES = re.compile(r"[^\S\n]+")
_NEWLINES = re.compile(r" ?\n[\s]*")
_WORD = re.compile(r"\w+")

_M64 = np.uint64(0xFFFFFFFFFFFFFFFF)
_PRIME = np.uint64(0x100000001B3)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


@dataclass(frozen=True, slots=True)
class FeatureConfig:
    """How texts become hashed feature vectors; stored in the model file so training and inference agree.

    Attributes:
        bits: log2 of the hashing space.
        char_min: shortest character n-gram.
        char_max: longest character n-gram.
        words: whether word unigrams and bigrams are added.
        window: characters per window for long texts.
        stride: characters between window starts (before widening for ``max_windows``).
        max_chars: characters scored per text (head and tail halves beyond that).
        max_windows: windows scored per text at most.
    """

    bits: int = 18
    char_min: int = 3
    char_max: int = 5
    words: bool = True
    window: int = 512
    stride: int = 256
    max_chars: int = 32_768
    max_windows: int = 64


def normalise(text: str) -> str:
    """Fold case, Unicode tricks, leetspeak, spaced letters, digits and whitespace.

    Args:
        text: any text.

    Returns:
        The normalised text (possibly empty).
    """
    t = text if text.isascii() else unicodedata.normalize("NFKC", text).translate(_INVISIBLE)
    t = t.casefold().translate(_CONFUSABLE).replace("\u2019", "'")
    if any(c in t for c in "013457@$"):
        t = _LEET_WORD.sub(lambda m: m.group().translate(_LEET), t)
    t = _SPACED.sub(lambda m: re.sub(r"[ .\-_*]", "", m.group()), t)
    t = _DIGITS.sub("0", t)
    t = _NEWLINES.sub("\n", _SPACES.sub(" ", t))
    return t.strip()


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: spreads every input bit over the output (uint64 arithmetic wraps)."""
    x = x ^ (x >> np.uint64(30))
    x = x * _MIX1
    x = x ^ (x >> np.uint64(27))
    x = x * _MIX2
    return x ^ (x >> np.uint64(31))


def _char_hashes(t: str, cfg: FeatureConfig) -> tuple[np.ndarray, np.ndarray]:
    """Hashes and start offsets of all character n-grams of ``t``."""
    codes = np.frombuffer(t.encode("utf-32-le"), dtype="<u4").astype(np.uint64)
    hashes, starts = [], []
    for n in range(cfg.char_min, cfg.char_max + 1):
        m = len(codes) - n + 1
        if m <= 0:
            continue
        h = np.full(m, np.uint64(n), dtype=np.uint64)
        for k in range(n):
            h = h * _PRIME + codes[k : k + m]
        hashes.append(_mix(h))
        starts.append(np.arange(m, dtype=np.int64))
    if not hashes:
        return np.zeros(0, np.uint64), np.zeros(0, np.int64)
    return np.concatenate(hashes), np.concatenate(starts)


def _word_hashes(t: str) -> tuple[np.ndarray, np.ndarray]:
    """Hashes and start offsets of word unigrams and bigrams of ``t``."""
    matches = list(_WORD.finditer(t))
    if not matches:
        return np.zeros(0, np.uint64), np.zeros(0, np.int64)
    crc = np.array([zlib.crc32(m.group().encode("utf-8")) for m in matches], dtype=np.uint64)
    pos = np.array([m.start() for m in matches], dtype=np.int64)
    uni = _mix(crc + np.uint64(0x9E3779B97F4A7C15))
    bi = _mix(crc[:-1] * _PRIME + crc[1:] * np.uint64(31) + np.uint64(0x632BE59BD9B4E019))
    return np.concatenate([uni, bi]), np.concatenate([pos, pos[:-1]])


def _windows(n: int, cfg: FeatureConfig) -> list[tuple[int, int]]:
    """Character ranges to score: the whole text, plus overlapping windows when it is long."""
    spans = [(0, n)]
    if n <= cfg.window + cfg.stride // 2:
        return spans
    stride = max(cfg.stride, -(-(n - cfg.window) // (cfg.max_windows - 1)))
    starts = list(range(0, n - cfg.window, stride)) + [n - cfg.window]
    return spans + [(s, s + cfg.window) for s in starts]


def featurize(text: str, cfg: FeatureConfig, windows: bool = True) -> list[tuple[np.ndarray, np.ndarray]]:
    """Sparse feature vectors of a text: the whole text first, then its windows.

    Args:
        text: any text.
        cfg: the feature configuration.
        windows: also return the windows of a long text.

    Returns:
        One ``(bucket indices, values)`` pair per scored span; values are L2-normalised.
    """
    t = normalise(text) if isinstance(text, str) else ""
    if len(t) > cfg.max_chars:
        t = t[: cfg.max_chars // 2] + "\n" + t[-cfg.max_chars // 2 :]
    h, pos = _char_hashes(t, cfg)
    if cfg.words:
        wh, wpos = _word_hashes(t)
        h, pos = np.concatenate([h, wh]), np.concatenate([pos, wpos])
    order = np.argsort(pos, kind="stable")
    buckets = (h[order] >> np.uint64(64 - cfg.bits)).astype(np.int64)
    pos = pos[order]
    out = []
    for lo, hi in _windows(len(t), cfg) if windows else [(0, len(t))]:
        a, b = np.searchsorted(pos, lo, "left"), np.searchsorted(pos, hi, "left")
        idx, cnt = np.unique(buckets[a:b], return_counts=True)
        val = 1.0 + np.log(cnt.astype(np.float32))
        norm = float(np.sqrt(np.dot(val, val)))
        out.append((idx, val / norm if norm > 0 else val))
    return out


def _sigmoid(z: float) -> float:
    return float(1.0 / (1.0 + np.exp(-np.clip(z, -40.0, 40.0))))


class InjectionClassifier:
    """Probability that a text is a prompt injection or jailbreak, from hashed n-grams.

    Args:
        weights: one weight per hash bucket (``2**cfg.bits`` of them).
        bias: the intercept.
        cfg: the feature configuration the weights were trained with.
        rule: how ``combine`` merges the pattern score with the model's: ``"or"`` (a pattern score
            >= ``PATTERN_FLAG`` counts as 1.0, otherwise the model's probability), ``"max"``, or
            ``"logistic"``.
        combine_params: ``(a, b, c, d)`` of the ``"logistic"`` rule,
            ``sigmoid(a * logit(model) + b * pattern + c * [pattern >= 0.5] + d)``.
        threshold: recommended flagging threshold for ``combine`` (stored with the weights).

    Example:
        >>> clf = InjectionClassifier(np.zeros(2**18, np.float32), 0.0, FeatureConfig())
        >>> clf.score("hello")
        0.5
    """

    _cache: dict[Path, InjectionClassifier] = {}
    _lock = threading.Lock()

    def __init__(
        self,
        weights: np.ndarray,
        bias: float,
        cfg: FeatureConfig,
        rule: str = "or",
        combine_params: tuple[float, float, float, float] | None = None,
        threshold: float = 0.5,
    ) -> None:
        if weights.shape != (2**cfg.bits,):
            raise ConfigError(
                "injection_model", f"weights must have shape ({2**cfg.bits},), got {weights.shape}"
            )
        if rule not in RULES or (rule == "logistic" and combine_params is None):
            raise ConfigError(
                "injection_model",
                f"rule must be one of {RULES} (logistic needs combine_params), got {rule!r}",
            )
        self.rule = rule
        self.weights = weights.astype(np.float32)
        self.bias = float(bias)
        self.cfg = cfg
        self.combine_params = combine_params
        self.threshold = float(threshold)

    def __repr__(self) -> str:
        return f"InjectionClassifier(bits={self.cfg.bits}, rule={self.rule!r}, threshold={self.threshold})"

    @classmethod
    def load(cls, path: str | Path | None = None) -> InjectionClassifier:
        """Load a model file once per path and cache it (thread-safe).

        Args:
            path: the ``.npz`` written by ``save``; defaults to ``injection_model.npz`` next to this module.

        Returns:
            The cached classifier.

        Raises:
            ConfigError: the file does not exist or is not a model of a supported format version.
        """
        p = Path(path) if path is not None else DEFAULT_PATH
        p = p.resolve()
        with cls._lock:
            if p not in cls._cache:
                cls._cache[p] = cls._read(p)
            return cls._cache[p]

    @classmethod
    def _read(cls, p: Path) -> InjectionClassifier:
        try:
            z = np.load(p, allow_pickle=False)
        except (OSError, ValueError) as e:
            raise ConfigError(
                "injection_model",
                f"cannot read a model from {p}: {e}",
                'use "ml" (the bundled model) or a .npz path',
            ) from e
        with z:
            if int(z["version"]) != _FORMAT_VERSION:
                raise ConfigError(
                    "injection_model",
                    f"{p}: model format {int(z['version'])}, expected {_FORMAT_VERSION}",
                    "retrain with scripts/train_injection.py",
                )
            c = {
                str(k): int(v) for k, v in zip(z["cfg_keys"].tolist(), z["cfg_values"].tolist(), strict=True)
            }
            cfg = FeatureConfig(
                bits=c["bits"],
                char_min=c["char_min"],
                char_max=c["char_max"],
                words=bool(c["words"]),
                window=c["window"],
                stride=c["stride"],
                max_chars=c["max_chars"],
                max_windows=c["max_windows"],
            )
            weights = np.zeros(2**cfg.bits, np.float32)
            weights[z["nz_index"]] = z["nz_weight"].astype(np.float32)
            comb = [float(x) for x in z["combine"].tolist()]
            params = (comb[0], comb[1], comb[2], comb[3]) if len(comb) == 4 else None
            return cls(weights, float(z["bias"]), cfg, str(z["rule"]), params, float(z["threshold"]))

    def save(self, path: str | Path) -> None:
        """Write the model as a compressed ``.npz`` (nonzero weights only, float16).

        Args:
            path: where to write.
        """
        nz = np.flatnonzero(self.weights.astype(np.float16))
        keys = ["bits", "char_min", "char_max", "words", "window", "stride", "max_chars", "max_windows"]
        np.savez_compressed(
            path,
            version=np.int64(_FORMAT_VERSION),
            bias=np.float64(self.bias),
            cfg_keys=np.array(keys),
            cfg_values=np.array([int(getattr(self.cfg, k)) for k in keys], np.int64),
            nz_index=nz.astype(np.int32),
            nz_weight=self.weights[nz].astype(np.float16),
            rule=np.array(self.rule),
            combine=np.array(self.combine_params or [], np.float64),
            threshold=np.float64(self.threshold),
        )

    def _span_logits(self, text: str) -> np.ndarray:
        """Logits of the whole text and of each window."""
        spans = featurize(text, self.cfg)
        return np.array([float(np.dot(self.weights[idx], val)) + self.bias for idx, val in spans])

    def score(self, text: str) -> float:
        """Probability of attack in [0, 1]: the maximum over the whole text and its windows.

        Args:
            text: the text to score; a non-string or empty text scores as the empty text.

        Returns:
            The probability.
        """
        return _sigmoid(float(self._span_logits(text if isinstance(text, str) else "").max()))

    def score_batch(self, texts: Sequence[str]) -> np.ndarray:
        """Score several texts.

        Args:
            texts: the texts.

        Returns:
            A float64 array of probabilities, one per text.
        """
        return np.array([self.score(t) for t in texts], dtype=np.float64)

    def combine(self, pattern_score: float, model_prob: float) -> float:
        """Merge the pattern detector's score with this model's probability.

        Args:
            pattern_score: ``InjectionDetector.score(text).score``.
            model_prob: ``self.score(text)``.

        Returns:
            The combined score in [0, 1]; compare it with ``self.threshold``.
        """
        if self.rule == "or":
            return 1.0 if pattern_score >= PATTERN_FLAG else float(model_prob)
        if self.rule == "max" or self.combine_params is None:
            return max(float(pattern_score), float(model_prob))
        a, b, c, d = self.combine_params
        p = min(max(float(model_prob), 1e-6), 1 - 1e-6)
        z = a * float(np.log(p / (1 - p))) + b * pattern_score + c * float(pattern_score >= 0.5) + d
        return _sigmoid(z)
