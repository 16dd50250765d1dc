"""`evotrain bench`: does the loop do research? Efficiency against random search, one-factor-at-a-time
and an oracle; A/A (placebo) campaigns; a planted proxy-drift scenario. See docs/BENCH.md."""
