"""The router's ONNX Runtime embedder gives sentence-transformers' vectors (issue #15: router latency)."""

from __future__ import annotations

import numpy as np
import pytest

from evotrain.errors import EvotrainError

pytest.importorskip("onnxruntime")

from orchestrator.cycle.embedder import packaged_model_dir
from orchestrator.evolve.embeddings import MiniLMEmbedder, make_embedder
from orchestrator.evolve.onnx_embedder import OnnxMiniLMEmbedder, export_onnx

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


def test_int8_graph_stays_close_to_the_real_model_and_has_its_own_version() -> None:
    model_dir = packaged_model_dir()
    int8 = OnnxMiniLMEmbedder(model_dir, max_tokens=64, threads=1, precision="int8")
    reference = MiniLMEmbedder(max_tokens=64, threads=1).embed(TEXTS)
    cos = (int8.embed(TEXTS) * reference).sum(axis=1)
    assert cos.min() > 0.97, cos  # measured 0.985 at worst over 200 stream requests (BENCHMARKS)
    assert cos.max() < 0.99999  # really quantised: not the fp32 graph under another name
    assert int8.version.endswith("+int8")  # centroids made with fp32 vectors are not mixed with these
    with pytest.raises(EvotrainError, match="embedding_precision: 'fp16'"):
        OnnxMiniLMEmbedder(model_dir, precision="fp16")


def test_export_happens_once_and_engine_choice_is_validated() -> None:
    model_dir = packaged_model_dir()
    graph = export_onnx(model_dir)
    before = graph.stat().st_mtime_ns
    assert export_onnx(model_dir) == graph and graph.stat().st_mtime_ns == before
    assert isinstance(make_embedder("auto"), OnnxMiniLMEmbedder)
    assert isinstance(make_embedder("torch"), MiniLMEmbedder)
    with pytest.raises(EvotrainError, match="embedding_engine: 'tf'"):
        make_embedder("tf")


def test_a_state_folder_refuses_another_embedder(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from orchestrator.evolve.config import EvolveConfig
    from orchestrator.evolve.engine import Engine
    from orchestrator.evolve.registry import Registry

    class Fake:
        dim, version = 384, "all-MiniLM-L6-v2@64+int8"

        def embed(self, texts: list[str]) -> np.ndarray:
            return np.zeros((len(texts), 384), dtype=np.float32)

    state = tmp_path / "evolve"
    state.mkdir()
    Registry(state / "registry.sqlite").set("embedder", "all-MiniLM-L6-v2@64")  # built with fp32 vectors
    with pytest.raises(EvotrainError, match=r"built with embedder all-MiniLM-L6-v2@64, this config gives .*\+int8"):
        Engine(EvolveConfig(state_dir=str(state)), Fake())
