"""`python -m orchestrator.cli ...` = the `evotrain` console script."""

from orchestrator.cli.app import main

main()
