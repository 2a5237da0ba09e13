"""best.safetensors is never worse than last.safetensors on the whole val split, and
`charlm train` says where it is."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from charlm_tui.cli import main
from charlm_tui.core.checkpoint import read_metadata
from charlm_tui.core.runs import load_model
from charlm_tui.core.train import TrainConfig, Trainer, evaluate_loss
from tests.conftest import TINY_TEXT, needs_corpora


def whole_val_loss(trainer: Trainer, path: Path) -> float:
    model = load_model(path).model
    return evaluate_loss(model, trainer.split.val, trainer.block_size)


@pytest.mark.parametrize(
    "lr, seed, best_step",
    [
        (1e-3, 1, 200),  # still learning: the eval at step 170 looked best, last is better
        (3.0, 1, 150),  # too fast: the eval at step 150 is better than the end, and stays
        (2.0, 1, 200),  # the eval at step 150 looked best and is not
    ],
)
def test_best_is_not_worse_than_last_on_the_whole_val_split(
    tmp_path: Path, lr: float, seed: int, best_step: int
) -> None:
    config = TrainConfig.defaults_for("bigram", steps=200, block_size=8, seed=seed, lr=lr)
    trainer = Trainer(config, TINY_TEXT, out_dir=tmp_path)
    result = trainer.run()
    best, last = tmp_path / "best.safetensors", tmp_path / "last.safetensors"
    best_loss = whole_val_loss(trainer, best)
    assert best_loss <= whole_val_loss(trainer, last)
    assert result.final_val_loss == pytest.approx(whole_val_loss(trainer, last))
    final = json.loads((tmp_path / "metrics.jsonl").read_text().splitlines()[-1])
    assert final["best_step"] == read_metadata(best)["step"] == best_step
    assert final["best_val_loss"] == pytest.approx(best_loss)


@needs_corpora
def test_the_notebook_runs_best_is_its_last_when_last_scores_better(tmp_path: Path, capsys) -> None:
    """The notebook recipe's best was picked on 10 random windows: at step 1000 last scores
    perplexity 12.325 on the whole val split, the best by those windows 12.396."""
    out = tmp_path / "run"
    assert main(["train", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    best = out / "best.safetensors"
    assert f"best checkpoint (step 1000): {best}" in printed
    assert read_metadata(best)["step"] == 1000
    final = json.loads((out / "metrics.jsonl").read_text().splitlines()[-1])
    assert final["best_step"] == 1000 and round(final["perplexity"], 3) == 12.325
    # the estimate's best (an earlier eval) was replaced: it is not what best holds now
    evals = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()[:-1]]
    assert [e["step"] for e in evals if e["is_best"]][-1] < 1000
