"""Memory-free workers: sandbox forks, confined tools, agent backends, executors, manifests.

Nothing here imports `orchestrator`: a worker knows only its Brief and its sandbox.
"""
