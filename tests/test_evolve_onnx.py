"""The router's ONNX Runtime embedder gives sentence-transformers' vectors (issue #15: router latency)."""

from __future__ import annotations

import numpy as np
import pytest

from evotrain.errors import EvotrainError

pytest.importorskip("onnxruntime")

from orchestrator.cycle.embedder import packaged_model_dir  # noqa: E402
from orchestrator.evolve.embeddings import MiniLMEmbedder, make_embedder  # noqa: E402
from orchestrator.evolve.onnx_embedder import OnnxMiniLMEmbedder, export_onnx  # noqa: E402

TEXTS = [
    "In Alice's Wonderland, a secret bit manipulation rule transforms 8-bit binary numbers. 01101001 -> 10010110",
    "Convert the following measurement: 12.5 m becomes 41.01 in the secret unit system. Now convert 3.2 m.",
    "short",
    "Decrypt the text: qeb nrfzh yoltk clu grjmp lsbo qeb ixwv ald. The cipher shifts every letter by a fixed amount"
    " and the rule is hidden in these examples, which go on for a long while so that truncation matters here too",
]


def test_onnx_vectors_equal_sentence_transformers_single_and_padded_batch() -> None:
    model_dir = packaged_model_dir()
    onnx = OnnxMiniLMEmbedder(model_dir, max_tokens=64, threads=1)
    torch_path = MiniLMEmbedder(max_tokens=64, threads=1)
    reference = torch_path.embed(TEXTS)
    batch = onnx.embed(TEXTS)  # padded to the longest: the mask keeps padding out of the mean
    singles = np.concatenate([onnx.embed([t]) for t in TEXTS])
    assert batch.shape == singles.shape == (len(TEXTS), 384)
    assert np.allclose(np.linalg.norm(batch, axis=1), 1.0, atol=1e-5)
    for got in (batch, singles):
        cos = (got * reference).sum(axis=1)
        assert cos.min() > 0.9999, cos
    # different texts stay different (a pooling bug that averaged padding would pull them together)
    assert float(batch[0] @ batch[2]) < 0.9
    assert onnx.version == torch_path.version  # same vectors: registry centroids stay valid across engines
    assert onnx.embed([]).shape == (0, 384)


def test_export_happens_once_and_engine_choice_is_validated() -> None:
    model_dir = packaged_model_dir()
    graph = export_onnx(model_dir)
    before = graph.stat().st_mtime_ns
    assert export_onnx(model_dir) == graph and graph.stat().st_mtime_ns == before
    assert isinstance(make_embedder("auto"), OnnxMiniLMEmbedder)
    assert isinstance(make_embedder("torch"), MiniLMEmbedder)
    with pytest.raises(EvotrainError, match="embedding_engine: 'tf'"):
        make_embedder("tf")
