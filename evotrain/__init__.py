"""evotrain: autonomous multi-round post-training campaigns.

`evotrain` holds what every part shares: the typed artifacts that cross boundaries
(`evotrain.schemas`), atomic file I/O and the CLI entry point. The loop itself lives in the
top-level packages `orchestrator` (plans, collects, decides) and `workers` (fork, edit, train).
"""

__version__ = "0.1.0"
