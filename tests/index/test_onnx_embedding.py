"""The ONNX Runtime embedder: exported offline from the packaged weights, the same vectors as torch (int8: close),
the same token counts, its own collection when quantized, a refused model layout, and an index that works on it."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from core.errors import ConfigurationError
from index.embedding import SentenceTransformerEmbedder, resolve_model_path
from index.factory import collection_name, open_index
from index.onnx_embedding import OnnxEmbedder
from ingest.sync import ingest_path
from tests.conftest import settings_for

TEXTS = [
    "How do I expose my service over HTTPS?",
    "ok",
    "Pods of checkout crash-loop with OOMKilled after the deploy in the shop namespace. " * 3,
    "word " * 400,  # longer than the model's 256 tokens: truncated as sentence-transformers truncates
]


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache") / "models"


def _exported(cache: Path, kind: str) -> Path:
    (found,) = cache.glob(f"all-MiniLM-L6-v2-*-{kind}.onnx")
    return found


@pytest.fixture(scope="module")
def onnx(cache: Path) -> OnnxEmbedder:
    return OnnxEmbedder("all-MiniLM-L6-v2", cache)


@pytest.fixture(scope="module")
def int8(cache: Path) -> OnnxEmbedder:
    return OnnxEmbedder("all-MiniLM-L6-v2", cache, quantized=True)


def test_the_exported_model_gives_the_torch_models_vectors(
    onnx: OnnxEmbedder, embedder: SentenceTransformerEmbedder, cache: Path
) -> None:
    exact = embedder.encode(TEXTS)
    vectors = onnx.encode(TEXTS)
    assert vectors.shape == exact.shape and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert (vectors * exact).sum(axis=1).min() > 0.9999
    # one at a time (no padding) and in a padded batch agree
    assert np.allclose(onnx.encode(TEXTS[:1])[0], vectors[0], atol=1e-5)
    assert onnx.encode([]).shape == (0, 384)
    assert _exported(cache, "fp32").is_file()
    assert onnx.count_tokens(TEXTS) == embedder.count_tokens(TEXTS)


def test_int8_vectors_are_close_and_kept_apart(
    int8: OnnxEmbedder, onnx: OnnxEmbedder, embedder: SentenceTransformerEmbedder, cache: Path
) -> None:
    similarity = (int8.encode(TEXTS) * embedder.encode(TEXTS)).sum(axis=1)
    assert similarity.min() > 0.97
    fp32, q8 = _exported(cache, "fp32"), _exported(cache, "int8")
    assert q8.stat().st_size < 0.7 * fp32.stat().st_size  # the matrices int8, the embedding table kept
    assert collection_name(int8) != collection_name(onnx) == collection_name(embedder)


def test_the_export_is_cached_and_reused(cache: Path, onnx: OnnxEmbedder) -> None:
    onnx.encode(TEXTS[:1])
    exported = _exported(cache, "fp32").stat().st_mtime_ns
    again = OnnxEmbedder("all-MiniLM-L6-v2", cache)
    again.encode(TEXTS[:1])
    assert _exported(cache, "fp32").stat().st_mtime_ns == exported
    assert len(list(cache.iterdir())) == 2  # the two exports, no temporary file left


def test_a_model_with_another_pooling_is_refused(tmp_path: Path) -> None:
    model = tmp_path / "cls-model"
    shutil.copytree(resolve_model_path("all-MiniLM-L6-v2"), model)
    pooling = model / "1_Pooling" / "config.json"
    config = json.loads(pooling.read_text()) | {"pooling_mode_mean_tokens": False, "pooling_mode_cls_token": True}
    pooling.write_text(json.dumps(config))
    with pytest.raises(ConfigurationError, match="mean pooling"):
        OnnxEmbedder(str(model), tmp_path / "models")


def test_an_index_ingests_and_searches_on_the_onnx_backend(
    tmp_path: Path, cache: Path, int8: OnnxEmbedder, write_files: Callable[[dict[str, str | bytes]], Path]
) -> None:
    settings = settings_for(tmp_path, "edge", embedding_backend="onnx-int8", model_cache_dir=cache.parent)
    int8.encode(TEXTS[:1])  # exported once, above: the index's embedder finds it in the shared cache
    root = write_files(
        {
            "docs/tls.md": "# TLS\n\nAnnotate the Ingress with cert-manager.io/cluster-issuer to get a certificate.\n",
            "docs/quota.md": "# Quotas\n\nA namespace ResourceQuota caps the CPU and memory requests.\n",
        }
    )
    with open_index(settings) as index:
        assert isinstance(index.embedder, OnnxEmbedder) and index.embedder.quantized
        summary = ingest_path(index, settings, "acme", root)
        assert summary.ok and summary.embedded == 2
        hits = index.search("acme", "how do I get a certificate for my ingress", k=2)
    assert [h.source_id for h in hits][0] == "docs/tls.md"
    assert (settings.index_dir / "edge" / "chunks-all-minilm-l6-v2-int8-384").is_dir()
    assert len(list(cache.iterdir())) == 2
