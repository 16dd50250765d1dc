"""Frozen harness: left-padded batched greedy decoding equals one-prompt-at-a-time decoding,
and the compact encoding round-trips through the tokenizer."""

from __future__ import annotations

import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
SUBSTRATE = ROOT / "substrate" / "default"
sys.path.insert(0, str(SUBSTRATE))

from minitask.generate import generate_items  # noqa: E402
from minitask.harness import greedy_complete  # noqa: E402
from minitask.model import load_base  # noqa: E402
from minitask.prompt_format import render_prompt  # noqa: E402
from minitask.puzzle import FAMILIES  # noqa: E402
from minitask.tokenizer import CharTokenizer  # noqa: E402
from pipeline.encode import build_target, encode_puzzle  # noqa: E402


def test_tokenizer_round_trip_and_boxed_token() -> None:
    tok = CharTokenizer()
    text = "B|0101>1010|1111=rotl1→\\boxed{11110000}"
    ids = tok.encode(text)
    assert tok.decode(ids) == text
    assert ids.count(tok.boxed_id) == 1 and tok.unk_id not in ids
    assert len(ids) == len(text) - len("\\boxed{") + 1


def test_targets_and_labels() -> None:
    tok = CharTokenizer()
    [p] = generate_items(1, {"gravity": 1.0}, 5, 0)
    assert build_target(p, "answer_only") == f"\\boxed{{{p.answer}}}"
    assert build_target(p, "step_by_step").endswith(f"→\\boxed{{{p.answer}}}")
    ids, labels = encode_puzzle(tok, p, "answer_only")
    learned = [t for t, lab in zip(ids, labels, strict=True) if lab != -100]
    assert tok.decode(learned, stop_at_eos=False) == f"\\boxed{{{p.answer}}}"
    assert learned[-1] == tok.eos_id


def test_batched_greedy_equals_single() -> None:
    torch.set_num_threads(1)
    model, tok = load_base(SUBSTRATE / "base", torch.device("cpu"))
    items = generate_items(12, dict.fromkeys(FAMILIES, 1.0), 21, 0)
    prompts = [render_prompt(p) for p in items]
    batched = greedy_complete(model, tok, prompts)
    single = [greedy_complete(model, tok, [p])[0] for p in prompts]
    assert batched == single
    assert any(text.strip() for text in batched)
