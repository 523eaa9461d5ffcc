"""The book's training procedure, re-implemented only to compare against (never used to train).

Its train.py builds the MLP, loads the CSV, and fits with a DataLoader (batch 100, shuffled, two
worker processes, which are started afresh every epoch), Adam (lr 0.001) and MSELoss for 2,000
epochs, then saves the state_dict. It keeps the last epoch's weights and sets no thread count.
Here it trains on the same rows as our trainer, and the metrics are taken the same way (eval mode).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from torchlambda.predictor.architecture import build_model
from training.data import read_dataset, split
from training.train import evaluate, tensors

BOOK_EPOCHS = 2000
BOOK_BATCH_SIZE = 100
BOOK_WORKERS = 2
BOOK_LR = 0.001


def run_book_procedure(
    data: str, test_data: str, validation_fraction: float, seed: int, epochs: int
) -> dict[str, dict[str, float]]:
    rest, validation = split(read_dataset(data), validation_fraction, seed, "validation")
    test = read_dataset(test_data)
    torch.manual_seed(seed)  # the book seeds nothing; seeding only makes the benchmark repeatable
    model = build_model()
    loader = DataLoader(
        TensorDataset(*tensors(rest)),
        batch_size=BOOK_BATCH_SIZE,
        shuffle=True,
        num_workers=BOOK_WORKERS,
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=BOOK_LR)
    loss_fn = nn.MSELoss()
    for _ in range(epochs):
        for x, y in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
    model.eval()
    return {
        name: evaluate(model, part)
        for name, part in (("train", rest), ("validation", validation), ("test", test))
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.benchmarks.book_procedure")
    parser.add_argument("--data", required=True)
    parser.add_argument("--test-data", required=True)
    parser.add_argument("--metrics-out", type=Path, required=True)
    parser.add_argument("--validation-fraction", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=BOOK_EPOCHS)
    args = parser.parse_args(argv)
    metrics = run_book_procedure(
        args.data, args.test_data, args.validation_fraction, args.seed, args.epochs
    )
    args.metrics_out.write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
