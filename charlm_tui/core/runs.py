"""Provides run folders and loading a trained model back from a checkpoint."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import platformdirs
import torch

from charlm_tui.core import checkpoint as ckpt
from charlm_tui.core.i18n import _
from charlm_tui.core.models import CharModel, build_model
from charlm_tui.core.run_folder import timestamped_run_dir
from charlm_tui.core.vocab import Vocab


def runs_dir() -> Path:
    """Where runs go unless --out says otherwise."""
    return Path(platformdirs.user_data_dir("charlm-tui")) / "runs"


def new_run_dir(model: str, root: Path | None = None) -> Path:
    """A fresh run folder, created: <root>/<YYYYmmdd-HHMMSS>-<model>, with -2, -3, … when
    another run took that name in the same second."""
    return timestamped_run_dir(root or runs_dir(), model)


@dataclass
class LoadedModel:
    """A model rebuilt from a checkpoint, ready to evaluate or sample (eval mode, CPU)."""

    model: CharModel
    vocab: Vocab
    checkpoint: ckpt.Checkpoint

    @property
    def name(self) -> str:
        return self.checkpoint.model_name


def load_model(path: str | Path, device: str | torch.device = "cpu") -> LoadedModel:
    """Rebuild the model a checkpoint describes and load its weights (no unpickling).

    Raises ckpt.CheckpointError, in words, for any file that is not a usable checkpoint.
    """
    state = ckpt.load_checkpoint(path)
    vocab = Vocab(tuple(state.vocab_chars))
    config = dict(state.model_config)
    config.pop("vocab_size", None)
    if state.model_name == "gpt":
        # GPT checkpoints written before the `activation` setting existed used tanh GELU
        config.setdefault("activation", "gelu_tanh")
    try:
        model = build_model(state.model_name, vocab.size, **config)
    except (KeyError, TypeError, ValueError) as exc:
        said = _(
            "{path}: its model {model!r} with config {config} cannot be built by this version ({reason})"
        )
        raise ckpt.CheckpointError(
            said.format(path=path, model=state.model_name, config=config, reason=exc)
        ) from None
    ckpt.check_compatible(
        state, model_name=state.model_name, vocab_chars=list(vocab.chars), model=model
    )
    model.load_state_dict(state.model_state())
    return LoadedModel(model=model.to(device).eval(), vocab=vocab, checkpoint=state)
