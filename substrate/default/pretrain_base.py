"""Build the base checkpoint (frozen): a tiny Llama pretrained on EXPLICIT-rule puzzles.

    python pretrain_base.py [--out base] [--steps N] [--threads 2]

The base sees every family with its rule id stated after the query (`...|query=<rule>→`) and
learns to APPLY a stated rule (loss on the boxed answer only). It never learns to state a rule:
inferring the hidden rule from the examples is what post-training (train.py) has to teach.
Deterministic: fixed seeds, fixed data; same thread count gives the same weights.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import torch  # noqa: E402
from minitask.batching import collate, lm_loss  # noqa: E402
from minitask.encoding import IGNORE, encode_pair  # noqa: E402
from minitask.generate import generate_items  # noqa: E402
from minitask.metric import extract_answer, is_correct  # noqa: E402
from minitask.model import tiny_config  # noqa: E402
from minitask.prompt_format import RULE_END, compact_rule, render_explicit_prompt, render_prompt  # noqa: E402
from minitask.puzzle import FAMILIES, MAX_DIFFICULTY, Puzzle  # noqa: E402
from minitask.tokenizer import CharTokenizer  # noqa: E402
from transformers import LlamaForCausalLM  # noqa: E402

SEED = 1234
ITEMS_PER_LEVEL = 12_000
LEVEL_WEIGHTS = (3, 2, 1)  # more easy items: the dev split is easy, the leaderboard harder
BATCH = 64
LR = 2e-3
HELD_OUT = 300
STATED_FRACTION = 0.3  # share of items with the rule hidden and stated by the model
# Phase 2 focuses on what the dev split and a 1-minute LoRA run can use: easy levels, the
# families a 0.44M model can learn (bits, equations, numerals), more rule-stating practice.
PHASE2_SEED = SEED + 2
PHASE2_LR = 1e-3
PHASE2_LEVELS = (3, 1, 0)
PHASE2_FAMILY_WEIGHTS = {"bit_manipulation": 3.0, "equations": 3.0, "numeral_system": 1.0,
                         "text_cipher": 1.0, "unit_conversion": 0.5, "gravity": 0.5}
PHASE2_STATED_FRACTION = 0.5
# Phase 3: explicit items WITHOUT the examples (`B|query=rule→`): 4x shorter, so 4x more rule
# applications per second, the skill the first phases learned too slowly.
PHASE3_SEED = SEED + 3
PHASE3_LR = 1.5e-3
PHASE3_LEVELS = (3, 1, 0)
PHASE3_FAMILY_WEIGHTS = {"bit_manipulation": 3.0, "equations": 3.0, "numeral_system": 0.5,
                         "text_cipher": 0.5, "unit_conversion": 1.0, "gravity": 1.0}
PHASE3_STATED_FRACTION = 0.3
# Phase 4: explicit items in the LONG layout (examples, query, the stated rule: the layout
# post-training meets once the model writes `rule→` itself) on the learnable levels 0 and 1 only.
# Phase 3 taught the short layout, and the base then applied no stated rule in the long one
# (issue #13, docs/BENCHMARKS.md "point 1").
PHASE4_SEED = SEED + 4
PHASE4_LR = 1e-3
PHASE4_LEVELS = (1, 1, 0)


def explicit_pair(tok: CharTokenizer, p: Puzzle) -> tuple[list[int], list[int]]:
    """Rule stated in the prompt; loss on the boxed answer only."""
    prompt = [tok.bos_id, *tok.encode(render_explicit_prompt(p))]
    target = [*tok.encode(f"\\boxed{{{p.answer}}}"), tok.eos_id]
    return prompt + target, [IGNORE] * len(prompt) + target


def short_explicit_pair(tok: CharTokenizer, p: Puzzle) -> tuple[list[int], list[int]]:
    """Rule stated, no examples: `B|query=rule→` then the boxed answer."""
    tag = render_prompt(p).split("|", 1)[0]
    prompt = [tok.bos_id, *tok.encode(f"{tag}|{p.query}={compact_rule(p)}{RULE_END}")]
    target = [*tok.encode(f"\\boxed{{{p.answer}}}"), tok.eos_id]
    return prompt + target, [IGNORE] * len(prompt) + target


def stated_pair(tok: CharTokenizer, p: Puzzle) -> tuple[list[int], list[int]]:
    """Rule hidden; the model states it, then answers (a weak head start at inference)."""
    return encode_pair(tok, render_prompt(p), f"{compact_rule(p)}{RULE_END}\\boxed{{{p.answer}}}")


def make_pair(tok: CharTokenizer, p: Puzzle, rng: random.Random) -> tuple[list[int], list[int]]:
    return stated_pair(tok, p) if rng.random() < STATED_FRACTION else explicit_pair(tok, p)


def bucketed_batch(
    by_family: dict[str, list[tuple[list[int], list[int]]]], rng: random.Random, size: int
) -> list[tuple[list[int], list[int]]]:
    """One family per batch: cipher prompts are 3x longer, mixing them would pad everything."""
    pool = by_family[rng.choice(sorted(by_family))]
    return [pool[rng.randrange(len(pool))] for _ in range(size)]


def build_items(seed: int = SEED, level_weights: tuple[int, ...] = LEVEL_WEIGHTS) -> list[Puzzle]:
    mix = dict.fromkeys(FAMILIES, 1.0)
    items: list[Puzzle] = []
    for level in range(MAX_DIFFICULTY + 1):
        n = ITEMS_PER_LEVEL * level_weights[level] // max(level_weights)
        if n:
            items += generate_items(n, mix, seed + 17 * level, level)
    random.Random(seed).shuffle(items)
    return items


def train_steps(
    model: LlamaForCausalLM,
    by_family: dict[str, list[tuple[list[int], list[int]]]],
    rng: random.Random,
    steps: int,
    lr: float,
    family_weights: dict[str, float] | None = None,
) -> None:
    """Full-model AdamW, warmup 100 then cosine; one family per batch (weighted if given)."""
    tok = CharTokenizer()
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / 100) * 0.5 * (1 + math.cos(math.pi * min(1.0, s / steps)))
    )
    names = sorted(by_family)
    t0 = time.perf_counter()
    model.train()
    for step in range(1, steps + 1):
        if family_weights is None:
            batch = bucketed_batch(by_family, rng, BATCH)
        else:
            pool = by_family[rng.choices(names, [family_weights[n] for n in names])[0]]
            batch = [pool[rng.randrange(len(pool))] for _ in range(BATCH)]
        ids, mask, labels = collate(batch, tok.pad_id)
        loss = lm_loss(model(input_ids=ids, attention_mask=mask).logits, labels)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        if step % 100 == 0:
            print(f"step {step} loss {float(loss.detach()):.4f} {time.perf_counter() - t0:.0f}s", flush=True)


@torch.no_grad()
def explicit_accuracy(model: LlamaForCausalLM, tok: CharTokenizer, items: list[Puzzle]) -> dict[str, float]:
    """Held-out accuracy when the rule is stated (what the base is meant to know)."""
    from minitask.harness import greedy_complete

    texts = greedy_complete(model, tok, [render_explicit_prompt(p) for p in items])
    acc: dict[str, list[int]] = {}
    for p, t in zip(items, texts, strict=True):
        acc.setdefault(p.family, []).append(int(is_correct(extract_answer(t), p.answer)))
    return {f: round(sum(v) / len(v), 3) for f, v in sorted(acc.items())}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, default=HERE / "base")
    ap.add_argument("--steps", type=int, default=1500, help="phase 1 steps")
    ap.add_argument("--phase2-steps", type=int, default=500)
    ap.add_argument("--phase3-steps", type=int, default=1800)
    ap.add_argument("--phase4-steps", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--init", type=Path, default=None,
                    help="a checkpoint built by this script's earlier phases: resume at --start-phase")
    ap.add_argument("--start-phase", type=int, default=2, choices=[2, 3, 4])
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(SEED)
    tok = CharTokenizer()
    t0 = time.perf_counter()
    items = build_items()
    held, train_items = items[:HELD_OUT], items[HELD_OUT:]
    if args.init is None:
        model = LlamaForCausalLM(tiny_config(tok))
        rng = random.Random(SEED)
        by_family: dict[str, list[tuple[list[int], list[int]]]] = {}
        for p in train_items:
            by_family.setdefault(p.family, []).append(make_pair(tok, p, rng))
        train_steps(model, by_family, rng, args.steps, LR)
    else:
        model = LlamaForCausalLM.from_pretrained(str(args.init), dtype=torch.float32)
    if args.init is None or args.start_phase <= 2:
        rng2 = random.Random(PHASE2_SEED)
        by_family2: dict[str, list[tuple[list[int], list[int]]]] = {}
        for p in build_items(PHASE2_SEED, PHASE2_LEVELS):
            pair = stated_pair(tok, p) if rng2.random() < PHASE2_STATED_FRACTION else explicit_pair(tok, p)
            by_family2.setdefault(p.family, []).append(pair)
        train_steps(model, by_family2, rng2, args.phase2_steps, PHASE2_LR, PHASE2_FAMILY_WEIGHTS)
    if args.init is None or args.start_phase <= 3:
        rng3 = random.Random(PHASE3_SEED)
        buckets: dict[str, list[tuple[list[int], list[int]]]] = {}
        for p in build_items(PHASE3_SEED, PHASE3_LEVELS):
            stated = rng3.random() < PHASE3_STATED_FRACTION
            pair = stated_pair(tok, p) if stated else short_explicit_pair(tok, p)
            buckets.setdefault(f"{p.family}/{'stated' if stated else 'explicit'}", []).append(pair)
        weights = {k: PHASE3_FAMILY_WEIGHTS[k.split("/")[0]] * (PHASE3_STATED_FRACTION if k.endswith("stated")
                   else 1 - PHASE3_STATED_FRACTION) for k in buckets}
        train_steps(model, buckets, rng3, args.phase3_steps, PHASE3_LR, weights)
    rng4 = random.Random(PHASE4_SEED)
    by_family4: dict[str, list[tuple[list[int], list[int]]]] = {}
    for p in build_items(PHASE4_SEED, PHASE4_LEVELS):
        by_family4.setdefault(p.family, []).append(explicit_pair(tok, p))
    train_steps(model, by_family4, rng4, args.phase4_steps, PHASE4_LR)
    seconds = time.perf_counter() - t0
    acc = explicit_accuracy(model, tok, held)
    by_level = {level: explicit_accuracy(model, tok, [p for p in held if p.difficulty == level])
                for level in range(MAX_DIFFICULTY + 1)}
    args.out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(args.out))
    tok.save(args.out)
    info = {"steps": args.steps, "phase2_steps": args.phase2_steps, "phase3_steps": args.phase3_steps,
            "phase4_steps": args.phase4_steps,
            "init": str(args.init or ""), "start_phase": args.start_phase if args.init else 1,
            "seconds": round(seconds, 1), "threads": args.threads,
            "params": sum(p.numel() for p in model.parameters()), "explicit_rule_accuracy": acc,
            "explicit_rule_accuracy_by_level": by_level}
    (args.out / "pretrain_info.json").write_text(json.dumps(info, indent=2) + "\n")
    print(json.dumps(info), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
