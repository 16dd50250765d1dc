"""train.py of a cycle's substrate fork: train on the cycle's quality-gated data file.

NOT imported by evotrain. The cycle copies the substrate into its own fork folder, renames the
substrate's editable `train.py` to `substrate_train.py` and writes this file as `train.py`
(`train.py` is on the substrate's editable list; the frozen files, substrate/default itself
included, are never touched). run.py calls `train(...)` with the examples it generated from the
recipe; when `EVOTRAIN_TRAIN_DATA` names a JSONL file, this replaces them with that file's
examples and hands over to the substrate's own loop.

Records: {"prompt", "response", "item"?}. A record with a substrate-native `item` (a puzzle) is
encoded exactly as run.py encodes puzzles (compact prompt, the recipe's trace style); a plain pair
is trained as prompt -> response, truncated to fit the base's context.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from minitask.puzzle import Puzzle

try:  # the substrate's editable encoding (pipeline/ since the substrate split; minitask/ before it)
    from pipeline.encode import IGNORE, encode_puzzle
except ImportError:  # pragma: no cover - older substrate layout
    from minitask.encode import IGNORE, encode_puzzle
from substrate_train import *  # noqa: F403 - keep every name run.py or a user may import from train
from substrate_train import train as substrate_train

DATA_ENV = "EVOTRAIN_TRAIN_DATA"
MAX_TOKENS = 320  # the base's context is 512; long code pairs would also dominate step time
MAX_TARGET = 240


def encode_plain(tok, prompt: str, response: str) -> tuple[list[int], list[int]]:
    target = [*tok.encode(response)[:MAX_TARGET], tok.eos_id]
    keep = max(8, MAX_TOKENS - len(target) - 1)
    prompt_ids = [tok.bos_id, *tok.encode(prompt)[-keep:]]
    return prompt_ids + target, [IGNORE] * len(prompt_ids) + target


def load_examples(path: Path, tok, trace_style: str) -> list[tuple[list[int], list[int]]]:
    examples = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        record = json.loads(line)
        try:
            if record.get("item"):
                examples.append(encode_puzzle(tok, Puzzle.from_json(record["item"]), trace_style))
            else:
                examples.append(encode_plain(tok, str(record["prompt"]), str(record["response"])))
        except (KeyError, ValueError) as exc:
            raise SystemExit(f"error: {DATA_ENV}: {path}:{lineno}: {exc}") from None
    if not examples:
        raise SystemExit(f"error: {DATA_ENV}: {path}: no examples")
    return examples


def train(base, tok, examples, recipe, out_dir, on_save):
    data = os.environ.get(DATA_ENV)
    if data:
        examples = load_examples(Path(data), tok, recipe.trace_style)
        print(f"[cycle] training on {len(examples)} examples from {data}", flush=True)
    return substrate_train(base, tok, examples, recipe, out_dir, on_save)
