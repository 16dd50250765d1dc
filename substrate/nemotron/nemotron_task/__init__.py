"""The real Nemotron reasoning task: CSV rows, family parsers, per-family solvers, the challenge metric.

Frozen: metric.py, data.py, families.py (what is scored and how prompts are read).
Editable: solvers/** (how hidden rules are inferred and how traces are written) and traces.py.
"""
