"""The training loop: in-memory tensors, shuffled mini-batches, early stopping, best weights kept.

The network learns in standardized units (x and y scaled to mean 0, std 1), which converges in a
fraction of the epochs raw units need. The scaling is then folded into the first and last Linear
layers, so the saved state_dict maps raw x to raw y with the shared architecture and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from torchlambda.predictor.architecture import ArchitectureSpec, build_model

# An epoch must beat the best validation loss by this relative margin to count as progress.
MIN_RELATIVE_IMPROVEMENT = 1e-4


@dataclass(frozen=True)
class FitConfig:
    epochs: int
    lr: float
    batch_size: int
    patience: int
    seed: int


@dataclass
class History:
    """Per-epoch losses (MSE in the data's own units)."""

    train: list[float] = field(default_factory=list)
    validation: list[float] = field(default_factory=list)
    best_epoch: int = 0


@dataclass(frozen=True)
class FitResult:
    state_dict: dict[str, torch.Tensor]
    history: History

    @property
    def epochs_run(self) -> int:
        return len(self.history.train)


@dataclass(frozen=True)
class Standardizer:
    x_mean: float
    x_std: float
    y_mean: float
    y_std: float

    @classmethod
    def fit(cls, x: torch.Tensor, y: torch.Tensor) -> Standardizer:
        # A constant column would divide by zero; leave it unscaled instead.
        def std(t: torch.Tensor) -> float:
            value = float(t.double().std()) if len(t) > 1 else 0.0
            return value if value > 0 else 1.0

        return cls(float(x.double().mean()), std(x), float(y.double().mean()), std(y))

    def x(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.x_mean) / self.x_std

    def y(self, y: torch.Tensor) -> torch.Tensor:
        return (y - self.y_mean) / self.y_std


EpochCallback = Callable[[int, float, float, int], None]


def fit(
    spec: ArchitectureSpec,
    config: FitConfig,
    train: tuple[torch.Tensor, torch.Tensor],
    validation: tuple[torch.Tensor, torch.Tensor],
    *,
    device: torch.device,
    on_epoch: EpochCallback | None = None,
) -> FitResult:
    """Train on (x, y) column tensors; returns the best epoch's weights in raw units, on CPU."""
    torch.manual_seed(config.seed)
    scale = Standardizer.fit(*train)
    x_train, y_train = (scale.x(train[0]).to(device), scale.y(train[1]).to(device))
    x_val, y_val = (scale.x(validation[0]).to(device), scale.y(validation[1]).to(device))
    model = build_model(spec).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    loss_fn = nn.MSELoss()
    shuffler = torch.Generator().manual_seed(config.seed)
    to_raw_mse = scale.y_std**2  # MSE in standardized units times the variance of y

    history = History()
    best_loss, best_state, stale = float("inf"), _cpu_copy(model), 0
    for epoch in range(1, config.epochs + 1):
        model.train()
        order = torch.randperm(len(x_train), generator=shuffler).to(device)
        total = torch.zeros((), device=device)
        for start in range(0, len(order), config.batch_size):
            batch = order[start : start + config.batch_size]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(x_train[batch]), y_train[batch])
            loss.backward()
            optimizer.step()
            total += loss.detach() * len(batch)
        model.eval()
        with torch.no_grad():
            val_loss = float(loss_fn(model(x_val), y_val)) * to_raw_mse
        history.train.append(float(total) / len(order) * to_raw_mse)
        history.validation.append(val_loss)
        if val_loss < best_loss * (1 - MIN_RELATIVE_IMPROVEMENT):
            best_loss, best_state, stale = val_loss, _cpu_copy(model), 0
            history.best_epoch = epoch
        else:
            stale += 1
        if on_epoch is not None:
            on_epoch(epoch, history.train[-1], val_loss, history.best_epoch)
        if stale >= config.patience:
            break
    return FitResult(state_dict=fold_standardization(best_state, scale), history=history)


def _cpu_copy(model: nn.Module) -> dict[str, torch.Tensor]:
    state = model.state_dict()
    return {name: tensor.detach().to("cpu", copy=True) for name, tensor in state.items()}


def fold_standardization(
    state: dict[str, torch.Tensor], scale: Standardizer
) -> dict[str, torch.Tensor]:
    """Rewrite the first and last Linear layers so the network takes raw x and returns raw y.

    first: W((x - mx) / sx) + b  ==  (W / sx) x + (b - W mx / sx)
    last:  sy (W h + b) + my     ==  (sy W) h + (sy b + my)
    """
    linear = sorted({name.rsplit(".", 1)[0] for name in state if name.endswith(".weight")}, key=int)
    first, last = linear[0], linear[-1]
    folded = {name: tensor.double() for name, tensor in state.items()}
    w, b = folded[f"{first}.weight"], folded[f"{first}.bias"]
    folded[f"{first}.weight"] = w / scale.x_std
    folded[f"{first}.bias"] = b - (w * scale.x_mean / scale.x_std).sum(dim=1)
    folded[f"{last}.weight"] = folded[f"{last}.weight"] * scale.y_std
    folded[f"{last}.bias"] = folded[f"{last}.bias"] * scale.y_std + scale.y_mean
    return {name: folded[name].to(state[name].dtype).contiguous() for name in state}
