"""all-MiniLM-L6-v2 through ONNX Runtime: the same embeddings as sentence-transformers at half the CPU.

A router step embeds one request at a time; with PyTorch most of that time is per-call framework
overhead around a small model (measured: 62 ms CPU per request with torch, 32 ms with ONNX Runtime, on
one loaded core; embeddings equal to cosine 1 - 1e-7). The graph is exported once from the packaged
weights (torch.onnx, offline) next to the extracted model and reused; after that a process needs only
the `tokenizers` tokenizer and an ONNX Runtime session, not torch.

The pipeline is the model's own (modules.json): BERT encoder -> mean pooling over the attention mask
-> L2 normalisation; the tokenizer truncates to `max_tokens` like the torch path.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from evotrain.errors import EvotrainError

ONNX_FILE = "model.onnx"
INT8_FILE = "model.int8.onnx"  # dynamic int8 weights, per channel: cosine >= 0.985 to fp32, 1.4x faster
OPSET = 17


def onnx_available() -> bool:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def _write_once(target: Path, write: Callable[[str], None]) -> Path:
    """`write(tmp)` into a temporary file beside `target`, then rename it into place (atomic).

    Concurrent builders write the same bytes; the last rename wins and nobody reads a half-written graph.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.stem}.", suffix=".onnx")
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def export_onnx(model_dir: Path) -> Path:
    """`model_dir`/onnx/model.onnx, exported from the sentence-transformers folder once (atomic rename)."""
    target = model_dir / "onnx" / ONNX_FILE
    if target.is_file():
        return target
    import torch
    from transformers import AutoModel, AutoTokenizer

    bert = AutoModel.from_pretrained(str(model_dir), local_files_only=True).eval()
    enc = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)(["an example request"],
                                                                               return_tensors="pt")

    class Encoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, ids: torch.Tensor, mask: torch.Tensor, types: torch.Tensor) -> torch.Tensor:
            return self.bert(input_ids=ids, attention_mask=mask, token_type_ids=types).last_hidden_state

    def write(tmp: str) -> None:
        axes = {0: "batch", 1: "tokens"}
        with torch.inference_mode():
            torch.onnx.export(
                Encoder(), (enc["input_ids"], enc["attention_mask"], enc["token_type_ids"]), tmp,
                input_names=["ids", "mask", "types"], output_names=["hidden"],
                dynamic_axes={"ids": axes, "mask": axes, "types": axes, "hidden": axes},
                opset_version=OPSET, dynamo=False,
            )

    return _write_once(target, write)


def quantized_onnx(model_dir: Path) -> Path:
    """The int8 (dynamic, per-channel weights) copy of the exported graph, made once (atomic rename)."""
    target = model_dir / "onnx" / INT8_FILE
    if target.is_file():
        return target
    from onnxruntime.quantization import QuantType, quantize_dynamic

    source = export_onnx(model_dir)
    return _write_once(target, lambda tmp: quantize_dynamic(str(source), tmp, weight_type=QuantType.QInt8,
                                                            per_channel=True))


class OnnxMiniLMEmbedder:
    """`embed` returns (n, 384) unit vectors, as MiniLMEmbedder does."""

    dim = 384

    def __init__(self, model_dir: Path, max_tokens: int = 64, threads: int | None = 1, name: str = "",
                 precision: str = "fp32") -> None:
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise EvotrainError("embedding_engine: onnx needs onnxruntime (pip install -e '.[evolve]')") from exc
        if precision not in ("fp32", "int8"):
            raise EvotrainError(f"embedding_precision: {precision!r} is not one of fp32, int8")
        graph = quantized_onnx(model_dir) if precision == "int8" else export_onnx(model_dir)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or 0
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=max_tokens)
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        self.max_tokens = max_tokens
        # fp32 gives the torch path's vectors (same version); int8 vectors differ slightly: their own version
        self.version = f"{name or model_dir.name}@{max_tokens}" + ("+int8" if precision == "int8" else "")

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = []
        for start in range(0, len(texts), 32):
            batch = self.tokenizer.encode_batch(texts[start:start + 32])
            ids = np.array([e.ids for e in batch], dtype=np.int64)
            mask = np.array([e.attention_mask for e in batch], dtype=np.int64)
            types = np.array([e.type_ids for e in batch], dtype=np.int64)
            hidden = self.session.run(None, {"ids": ids, "mask": mask, "types": types})[0]
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
            out.append(pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None))
        return np.concatenate(out).astype(np.float32)
