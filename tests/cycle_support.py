"""Shared by the continuous-cycle tests: a tiny cycle config on the embedded substrate."""

from __future__ import annotations

from pathlib import Path

import yaml


def tiny_config(path: Path, workdir: Path, gate: dict[str, object]) -> Path:
    """A few puzzles, 3 training steps, 12 held-out items: every stage runs, in seconds of CPU."""
    config = {
        "name": "tiny",
        "workdir": str(workdir),
        "recipe_overrides": {"max_steps": 3, "save_steps": [3], "dev_items": 12, "num_train_examples": 16,
                             "batch_size": 8, "learning_rate": 0.015},
        "generators": [{"kind": "substrate", "options": {"n_per_family": 6}},
                       {"kind": "targeted", "options": {"n_per_category": 4}},
                       {"kind": "jsonl"}],
        "quality": {"min_coherence": None},  # the real embedding model is exercised in test_cycle_quality.py
        "benchmark": {"n_items": 12},
        "gate": {"min_overall": 0.0, "min_category": 0.0, **gate},
    }
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path
