"""Recipe sensitivity: dev accuracy AND hidden-leaderboard (public half) for recipe variants.

    .venv/bin/python benchmarks/substrate_sweep.py [--variants baseline lr_high ...] [--seed 0]

Each variant is the baseline recipe with a few keys changed. The last checkpoint of each run is
scored on the local leaderboard (orchestrator side, .cache/bench-leaderboard), so the table shows
how dev and leaderboard move together, or not. Prints a markdown table for docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from substrate_common import ROOT, SUBSTRATE, load_average, run_recipe, write_variant

from orchestrator.leaderboard.local import LocalLeaderboard

ALL_MODULES = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
VARIANTS: dict[str, dict[str, object]] = {
    "baseline": {},
    "lr_3e-4": {"learning_rate": 0.0003},
    "lr_1e-2": {"learning_rate": 0.01},
    "lr_3e-3": {"learning_rate": 0.003},
    "lr_3e-2": {"learning_rate": 0.03},
    "constant": {"lr_scheduler": "constant"},
    "clip_1": {"max_grad_norm": 1.0},
    "warmup_10": {"warmup_steps": 10},
    "lr_5e-2": {"learning_rate": 0.05},
    "lr_5e-2_noclip": {"learning_rate": 0.05, "max_grad_norm": 0.0},
    "lr_1e-1": {"learning_rate": 0.1},
    "answer_only": {"trace_style": "answer_only"},
    "equations_x4": {"mixture_weights.equations": 4.0},
    "difficulty_1": {"train_difficulty": 1},
    "r16_all_modules": {"lora_r": 16, "lora_alpha": 32, "lora_target_modules": ALL_MODULES},
    "steps_200": {"max_steps": 200, "save_steps": [100, 200]},
    "mix_bits_x2": {"mixture_weights.bit_manipulation": 2.0, "mixture_weights.text_cipher": 0.25},
    "tuned": {"learning_rate": 0.005, "max_grad_norm": 1.0},
    "tuned_steps_200": {"learning_rate": 0.005, "max_grad_norm": 1.0, "max_steps": 200, "save_steps": [100, 200]},
    "tuned_r16_all": {"learning_rate": 0.005, "max_grad_norm": 1.0, "lora_r": 16, "lora_alpha": 32,
                      "lora_target_modules": ALL_MODULES},
    "stack": {"learning_rate": 0.005, "max_grad_norm": 1.0, "max_steps": 200, "save_steps": [100, 200],
              "lora_r": 16, "lora_alpha": 32, "lora_target_modules": ALL_MODULES},
    "stack_400": {"learning_rate": 0.005, "max_grad_norm": 1.0, "max_steps": 400, "save_steps": [200, 400],
                  "lora_r": 16, "lora_alpha": 32, "lora_target_modules": ALL_MODULES},
    "stack_400_mix": {"learning_rate": 0.005, "max_grad_norm": 1.0, "max_steps": 400, "save_steps": [200, 400],
                      "lora_r": 16, "lora_alpha": 32, "lora_target_modules": ALL_MODULES,
                      "mixture_weights.bit_manipulation": 2.0, "mixture_weights.text_cipher": 0.25},
    "tuned_mix": {"learning_rate": 0.005, "max_grad_norm": 1.0, "mixture_weights.bit_manipulation": 2.0,
                  "mixture_weights.text_cipher": 0.25},
    "tuned_answer_only": {"learning_rate": 0.005, "max_grad_norm": 1.0, "trace_style": "answer_only"},
    "tuned_difficulty_1": {"learning_rate": 0.005, "max_grad_norm": 1.0, "train_difficulty": 1},
    "tuned_equations_x4": {"learning_rate": 0.005, "max_grad_norm": 1.0, "mixture_weights.equations": 4.0},
    # seventh session: candidates for a third axis category beyond the band (optimiser, data mix,
    # curriculum) and for a dev-only axis (the planted drift), all from today's baseline
    "lr_15e-3": {"learning_rate": 0.015},
    "lr_2e-2": {"learning_rate": 0.02},
    "batch_32": {"batch_size": 32},
    "no_cipher": {"mixture_weights.text_cipher": 0.0},
    "mix_learnable": {"mixture_weights.text_cipher": 0.0, "mixture_weights.numeral_system": 0.5,
                      "mixture_weights.bit_manipulation": 2.0},
    "difficulty_lb": {"train_difficulty": {"numeral_system": 1, "equations": 1}},
    "lr_1e-3": {"learning_rate": 0.001},
    "lr_1e-3_numerals_x4": {"learning_rate": 0.001, "mixture_weights.numeral_system": 4.0},
    "stack_400_equations_x4": {"max_steps": 400, "save_steps": [200, 400], "lora_r": 16, "lora_alpha": 32,
                               "lora_target_modules": ALL_MODULES, "mixture_weights.equations": 4.0},
    "equations_x0.25": {"mixture_weights.equations": 0.25},
    "equations_x3.25": {"mixture_weights.equations": 3.25},
    "equations_x7": {"mixture_weights.equations": 7.0},
    "equations_x10": {"mixture_weights.equations": 10.0},
    "stack_equations_x4": {"max_steps": 200, "save_steps": [100, 200], "lora_r": 16, "lora_alpha": 32,
                           "lora_target_modules": ALL_MODULES, "mixture_weights.equations": 4.0},
    # eighth session: one category at a time, two of its keys together (the optimiser: a larger batch
    # steadies a larger step; the data: the learnable-family mix at the leaderboard's difficulty)
    "optim_lr_1e-2_batch_32": {"learning_rate": 0.01, "batch_size": 32},
    "optim_lr_15e-3_batch_32": {"learning_rate": 0.015, "batch_size": 32},
    "optim_lr_2e-2_batch_32": {"learning_rate": 0.02, "batch_size": 32},
    "data_mix_learnable_difficulty_lb": {"mixture_weights.text_cipher": 0.0, "mixture_weights.numeral_system": 0.5,
                                         "mixture_weights.bit_manipulation": 2.0,
                                         "train_difficulty": {"numeral_system": 1, "equations": 1}},
    # the data towards the families that learn fastest per example (gravity, unit: 0.56 / 0.52 on the
    # 400-step stack), one key at a time as an axis would move it, then together
    "gravity_x4": {"mixture_weights.gravity": 4.0},
    "unit_x4": {"mixture_weights.unit_conversion": 4.0},
    "mix_gravity_unit_x3": {"mixture_weights.gravity": 3.0, "mixture_weights.unit_conversion": 3.0,
                            "mixture_weights.text_cipher": 0.0},
    "mix_gravity_unit_x4": {"mixture_weights.gravity": 4.0, "mixture_weights.unit_conversion": 4.0,
                            "mixture_weights.numeral_system": 0.5, "mixture_weights.equations": 0.5,
                            "mixture_weights.text_cipher": 0.0},
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--leaderboard", type=Path, default=ROOT / ".cache" / "bench-leaderboard")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    board = LocalLeaderboard(SUBSTRATE, args.leaderboard, budget_per_round=10_000)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.variants:
            recipe = write_variant(Path(tmp) / "recipes", name, VARIANTS[name])
            load = load_average()
            results, wall = run_recipe(recipe, Path(tmp) / name, args.seed)
            last = results.checkpoints[-1]
            score = board.submit(f"sweep/{name}", 0, Path(tmp) / name / last.adapter_dir)
            row = {"variant": name, "changes": VARIANTS[name], "seed": args.seed, "wall_s": round(wall, 1),
                   "nan_loss": results.nan_loss, "dev": round(last.overall, 4), "lb_public": round(score.public, 4),
                   "dev_by_family": {k: round(v, 3) for k, v in last.by_family.items()},
                   "lb_by_family": {k: round(v, 3) for k, v in score.public_by_family.items()},
                   "load_before": load}
            rows.append(row)
            print(json.dumps(row), flush=True)
    base = next((r for r in rows if r["variant"] == "baseline"), rows[0])
    print("\n| variant | change | dev | Δdev | leaderboard public | Δlb | wall s |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        change = ", ".join(f"{k}={v}" for k, v in r["changes"].items()) or "-"
        if len(change) > 60:
            change = change[:57] + "..."
        print(f"| {r['variant']} | {change} | {r['dev']:.3f} | {r['dev'] - base['dev']:+.3f} | "
              f"{r['lb_public']:.3f} | {r['lb_public'] - base['lb_public']:+.3f} | {r['wall_s']:.0f} |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
