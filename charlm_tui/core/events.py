"""Provides the small frozen events the trainer reports while it runs."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from charlm_tui.core.metrics import bits_per_char, perplexity


@dataclass(frozen=True)
class TrainingStarted:
    """Training began (or resumed) with this model and plan."""

    run_dir: Path | None
    model: str
    n_params: int
    vocab_size: int
    total_steps: int
    start_step: int = 0
    device: str = "cpu"
    config: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StepCompleted:
    """One optimisation step finished."""

    step: int
    total_steps: int
    loss: float
    lr: float
    elapsed_s: float
    tokens_per_s: float

    @property
    def perplexity(self) -> float:
        return perplexity(self.loss)


@dataclass(frozen=True)
class EvalCompleted:
    """Train and validation loss were measured (loss in nats per character)."""

    step: int
    total_steps: int
    train_loss: float
    val_loss: float
    best_val_loss: float
    is_best: bool
    elapsed_s: float
    sample: str | None = None

    @property
    def train_perplexity(self) -> float:
        return perplexity(self.train_loss)

    @property
    def val_perplexity(self) -> float:
        return perplexity(self.val_loss)

    @property
    def val_bits_per_char(self) -> float:
        return bits_per_char(self.val_loss)

    def to_dict(self) -> dict[str, Any]:
        """The fields as a dict for JSON (all plain values), without `dataclasses.asdict`'s
        deep copy: every checkpoint save converts the run's whole history."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class CheckpointSaved:
    """A checkpoint was written atomically."""

    step: int
    path: Path
    reason: Literal["best", "last", "stop"]


@dataclass(frozen=True)
class TrainingFinished:
    """Training ended; `reason` says why and `message` says it in words."""

    step: int
    reason: Literal["completed", "stopped", "non_finite", "error"]
    message: str
    final_val_loss: float | None = None

    @property
    def final_val_perplexity(self) -> float | None:
        return None if self.final_val_loss is None else perplexity(self.final_val_loss)


TrainingEvent = TrainingStarted | StepCompleted | EvalCompleted | CheckpointSaved | TrainingFinished
