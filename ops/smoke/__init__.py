"""The smoke test: the HTTP contract's checks, the HTTP client that runs them, the command."""
