"""Provides scripted_eval: one eval's worth of what a trainer reports, with no clock or torch.

The TUI tests and assets/make_assets.py feed screens fixed runs made of these, posted as a
TrainingRun posts them (messages.RunReported).
"""

from __future__ import annotations

from charlm_tui.core import events


def scripted_eval(
    step: int,
    total: int,
    losses: tuple[float, float],
    best: float,
    *,
    elapsed_s: float,
    tokens_per_s: float,
    sample: str,
) -> tuple[events.StepCompleted, events.EvalCompleted]:
    """The step that ends at `step` and the eval after it; `losses` is (train, val)."""
    train_loss, val_loss = losses
    stepped = events.StepCompleted(
        step=step,
        total_steps=total,
        loss=train_loss,
        lr=1e-3,
        elapsed_s=elapsed_s,
        tokens_per_s=tokens_per_s,
    )
    evaluated = events.EvalCompleted(
        step=step,
        total_steps=total,
        train_loss=train_loss,
        val_loss=val_loss,
        best_val_loss=best,
        is_best=val_loss <= best,
        elapsed_s=elapsed_s,
        sample=sample,
    )
    return stepped, evaluated
