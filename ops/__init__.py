"""Operations on an environment: deploy, remote training, model fetch, smoke test, cost model."""
