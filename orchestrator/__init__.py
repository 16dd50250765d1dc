"""The orchestrator: plans briefs from the policy, runs rounds, collects, applies the meta agent."""
