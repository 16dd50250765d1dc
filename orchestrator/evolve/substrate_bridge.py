"""In-process access to the default substrate's frozen pieces, for serving and for the teacher.

Serving needs a model in memory (a subprocess per request would cost seconds), so this module
imports the substrate's own code — the prompt parser, the compact prompt format, the model loader,
the frozen greedy harness and the challenge metric — from the substrate folder itself, exactly as
`run.py` and `evaluate.py` do. Training and the gate's scores still go through the substrate's
commands (student.py); nothing here writes into the substrate.
"""

from __future__ import annotations

import importlib
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from evotrain.errors import EvotrainError

_IMPORT_LOCK = threading.Lock()


@dataclass
class Minitask:
    """The substrate modules this package uses (imported from one substrate folder)."""

    root: Path
    parse: ModuleType
    prompt_format: ModuleType
    families: ModuleType
    generate: ModuleType
    metric: ModuleType
    puzzle: ModuleType

    # torch and transformers load in seconds: only for answering, not for parsing or teaching
    @property
    def harness(self) -> ModuleType:
        return importlib.import_module("minitask.harness")

    @property
    def model(self) -> ModuleType:
        return importlib.import_module("minitask.model")


_LOADED: dict[Path, Minitask] = {}


def load_minitask(substrate_dir: Path) -> Minitask:
    root = Path(substrate_dir).resolve()
    with _IMPORT_LOCK:
        if root in _LOADED:
            return _LOADED[root]
        if not (root / "minitask" / "__init__.py").is_file():
            raise EvotrainError(f"substrate: {root}: no minitask package (evolve needs the default substrate)")
        if str(root) not in sys.path:
            sys.path.insert(0, str(root))
        names = ("parse", "prompt_format", "families", "generate", "metric", "puzzle")
        mods = {n: importlib.import_module(f"minitask.{n}") for n in names}
        loaded = Path(mods["parse"].__file__).resolve().parents[1]
        if loaded != root:  # a second substrate folder in one process would silently share modules
            raise EvotrainError(f"substrate: {root}: minitask already imported from {loaded}")
        _LOADED[root] = Minitask(root=root, **mods)
        return _LOADED[root]


@dataclass(frozen=True)
class ParsedRequest:
    family: str
    compact: str  # the compact prompt the tiny model is conditioned on


class _Parsed:
    def __init__(self, family: str, examples: tuple[Any, ...], query: str) -> None:
        self.family, self.examples, self.query = family, examples, query


def parse_request(mt: Minitask, prompt: str) -> ParsedRequest | None:
    """The puzzle inside a request, or None when the request is not a puzzle the substrate knows."""
    try:
        family, examples, query = mt.parse.parse_prompt(prompt)
        return ParsedRequest(family, mt.prompt_format.render_prompt(_Parsed(family, tuple(examples), query)))
    except ValueError:
        return None


class AgentModel:
    """The embedded base with one LoRA adapter, answering compact prompts with the frozen harness."""

    def __init__(self, mt: Minitask, adapter: Path, threads: int = 1) -> None:
        import torch
        from peft import PeftModel

        if threads:
            torch.set_num_threads(threads)
        self.mt = mt
        base, self.tok = mt.model.load_base(mt.root / "base", torch.device("cpu"))
        self.model = PeftModel.from_pretrained(base, str(adapter))
        self.model.eval()
        self._lock = threading.Lock()  # generate() is not re-entrant

    def complete(self, compact_prompts: list[str]) -> list[str]:
        if not compact_prompts:
            return []
        with self._lock:
            return self.mt.harness.greedy_complete(self.model, self.tok, compact_prompts)

    def extract(self, completion: str) -> str | None:
        return self.mt.metric.extract_answer(completion)

    def is_correct(self, completion: str, gold: str) -> bool:
        return bool(self.mt.metric.is_correct(self.mt.metric.extract_answer(completion), gold))


def token_count(mt: Minitask, text: str) -> int:
    """Tokens as the substrate's tokenizer counts them (for per-token prices)."""
    return len(text)  # the substrate's tokenizer is character level: one token per character
