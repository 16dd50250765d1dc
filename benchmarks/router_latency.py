"""Router step latency: embed one request (all-MiniLM-L6-v2, CPU) + FAISS search of the specialist
centroids, per request, as `evotrain serve` does it. Prints one JSON line.

    .venv/bin/python benchmarks/router_latency.py --requests 200 --threads 1 --specialists 6 [--engine onnx|torch]

Requests come from the embedded traffic stream (real challenge wording). The index holds one centroid
per family (6) or, with --specialists N > 6, N centroids (families plus jittered copies) to show the
search cost at a larger registry. The first 10 requests warm up and are not counted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from orchestrator.evolve.embeddings import make_embedder
from orchestrator.evolve.index import CentroidIndex
from orchestrator.evolve.substrate_bridge import load_minitask
from orchestrator.evolve.traffic import load_stream

REPO = Path(__file__).resolve().parents[1]
WARMUP = 10


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--specialists", type=int, default=6)
    ap.add_argument("--max-tokens", type=int, default=64, help="tokens of the request the router embeds")
    ap.add_argument("--engine", default="auto", choices=["auto", "onnx", "torch"])
    ap.add_argument("--precision", default="int8", choices=["fp32", "int8"], help="onnx engine only")
    args = ap.parse_args()
    mt = load_minitask(REPO / "substrate" / "default")
    _, stream = load_stream(mt, None)
    embedder = make_embedder(args.engine, threads=args.threads, max_tokens=args.max_tokens, precision=args.precision)
    rng = np.random.default_rng(0)
    # centroids: the mean embedding of 20 requests per family, then jittered copies up to --specialists
    by_family: dict[str, list[str]] = {}
    for r in stream:
        by_family.setdefault(r.label, []).append(r.prompt)
    centroids = []
    for prompts in by_family.values():
        v = embedder.embed(prompts[:20]).mean(axis=0)
        centroids.append(v / np.linalg.norm(v))
    while len(centroids) < args.specialists:
        v = centroids[len(centroids) % len(by_family)] + rng.normal(0, 0.05, embedder.dim).astype(np.float32)
        centroids.append(v / np.linalg.norm(v))
    index = CentroidIndex(embedder.dim)
    index.rebuild([(f"agent-{i}", c) for i, c in enumerate(centroids[: max(args.specialists, 1)])])
    requests = [r.prompt for r in stream[:: max(1, len(stream) // (args.requests + WARMUP))]][: args.requests + WARMUP]
    embed_ms, search_ms, total_ms = [], [], []
    for i, prompt in enumerate(requests):
        t0 = time.perf_counter()
        vec = embedder.embed([prompt])
        t1 = time.perf_counter()
        index.search(vec, k=1)
        t2 = time.perf_counter()
        if i >= WARMUP:
            embed_ms.append((t1 - t0) * 1000)
            search_ms.append((t2 - t1) * 1000)
            total_ms.append((t2 - t0) * 1000)
    load = os.getloadavg()
    print(json.dumps({
        "requests": len(total_ms), "engine": type(embedder).__name__, "version": embedder.version,
        "threads": args.threads,
        "specialists": len(index), "max_tokens": args.max_tokens,
        "p50_ms": round(float(np.percentile(total_ms, 50)), 2), "p95_ms": round(float(np.percentile(total_ms, 95)), 2),
        "embed_p50_ms": round(float(np.percentile(embed_ms, 50)), 2),
        "search_p50_ms": round(float(np.percentile(search_ms, 50)), 4),
        "load_avg_after": [round(x, 2) for x in load],
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
