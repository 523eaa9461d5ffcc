"""The model lifecycle from a laptop: start and follow a retrain, promote a build through the
gate, show what an environment's champion is and why (docs/lifecycle.md)."""
