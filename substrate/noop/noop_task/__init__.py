"""The frozen half of the noop (load-test) substrate: recipe schema, seeded scores, tiny adapters.

Nothing here imports the editable `train.py`, so scoring never runs worker-written code.
"""

import os

# A load test runs these scripts thousands of times: skip pydantic's plugin discovery (a scan of every
# installed distribution's metadata, ~40 % of a validate run's CPU). The substrate uses no plugins.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

FAMILIES = ("bit_manipulation", "text_cipher", "numeral_system", "unit_conversion", "gravity", "equations")
