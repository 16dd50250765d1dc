"""FAISS index of intent centroids (inner product over unit vectors = cosine similarity).

A flat index: the registry holds a handful to a few thousand specialists, for which exact search
is both the fastest and the simplest choice. It is rebuilt from the registry whenever a centroid
changes (a birth, a merge, a drift update) — microseconds at this size.
"""

from __future__ import annotations

import numpy as np


class CentroidIndex:
    def __init__(self, dim: int) -> None:
        import faiss  # lazy: faiss is an optional dependency (the `evolve` extra)

        self._faiss = faiss
        self.dim = dim
        self.index = faiss.IndexFlatIP(dim)
        self.ids: list[str] = []

    def rebuild(self, entries: list[tuple[str, np.ndarray]]) -> None:
        self.index.reset()
        self.ids = [agent_id for agent_id, _ in entries]
        if entries:
            mat = np.stack([np.asarray(v, dtype=np.float32) for _, v in entries])
            self.index.add(np.ascontiguousarray(mat))

    def __len__(self) -> int:
        return len(self.ids)

    def search(self, vecs: np.ndarray, k: int = 1) -> list[list[tuple[str, float]]]:
        """For each query row, the k nearest centroids as (agent_id, cosine), best first."""
        vecs = np.ascontiguousarray(np.asarray(vecs, dtype=np.float32).reshape(-1, self.dim))
        if not self.ids:
            return [[] for _ in range(len(vecs))]
        sims, rows = self.index.search(vecs, min(k, len(self.ids)))
        return [
            [(self.ids[r], float(s)) for r, s in zip(row_ids, row_sims, strict=True) if r >= 0]
            for row_ids, row_sims in zip(rows, sims, strict=True)
        ]
