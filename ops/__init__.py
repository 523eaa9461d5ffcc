"""Operations on a deployed environment: remote training, model fetch, smoke test, cost model."""
