"""The editable training-data pipeline: what a worker may change about the data a run trains on.

Nothing under minitask/ (the frozen task and evaluation harness) imports this package.
"""
