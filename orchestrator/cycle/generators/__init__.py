"""Built-in cycle generators and the entry-point registry (base.py)."""
