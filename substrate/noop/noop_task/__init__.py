"""The frozen half of the noop (load-test) substrate: recipe schema, seeded scores, tiny adapters.

Nothing here imports the editable `train.py`, so scoring never runs worker-written code.
"""

FAMILIES = ("bit_manipulation", "text_cipher", "numeral_system", "unit_conversion", "gravity", "equations")
