"""The continuous champion/challenger cycle (issue #14, the AitherOS seed).

generators -> quality gate -> train -> benchmark per category -> gate -> promote or keep the champion.
Each cycle lives in its own folder with a typed state file; every stage writes its outputs atomically
and is skipped when already finished, so a cycle killed anywhere is completed by the next run.
"""
