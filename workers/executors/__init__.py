"""Executors run substrate jobs: local subprocesses (default), Ray, Kubernetes Jobs."""
