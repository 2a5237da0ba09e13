"""Provides the model registry: a name -> (config dataclass, model class, description).

    model = build_model("gpt", vocab.size, n_layer=2)
    logits, loss = model(x, y)                        # x, y: (B, T) int64

A checkpoint keeps `model.name` and `dataclasses.asdict(model.config)`; `runs.load_model`
rebuilds the model from exactly those two.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from charlm_tui.core.i18n import N_, _
from charlm_tui.core.models.base import CharModel, State
from charlm_tui.core.models.bigram import Bigram, BigramConfig
from charlm_tui.core.models.gpt import GPT, GPTConfig, sliding_window_mask
from charlm_tui.core.models.gpt_decode import KVCache
from charlm_tui.core.models.mlp import ContextMLP, MLPConfig
from charlm_tui.core.models.rnn import CharRNN, GRUConfig, LSTMConfig, RNNConfig


@dataclass(frozen=True)
class ModelSpec:
    name: str
    config_cls: type
    model_cls: type[CharModel]
    description: str  # in English, marked N_: translate where it is shown


REGISTRY: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            "bigram",
            BigramConfig,
            Bigram,
            N_(
                "the notebook's model: one-hot -> Linear(V, 128) -> ReLU -> Linear(128, V); "
                "reads the current character only"
            ),
        ),
        ModelSpec(
            "mlp",
            MLPConfig,
            ContextMLP,
            N_(
                "context-window MLP (Bengio 2003, makemore): the last 8 characters, embedded "
                "and concatenated, through one tanh layer"
            ),
        ),
        ModelSpec("gru", GRUConfig, CharRNN, N_("char-rnn with GRU cells; unbounded context")),
        ModelSpec("lstm", LSTMConfig, CharRNN, N_("char-rnn with LSTM cells; unbounded context")),
        ModelSpec(
            "gpt",
            GPTConfig,
            GPT,
            N_(
                "small pre-norm transformer with RoPE and a sliding KV cache "
                "(4 layers, 4 heads, 128 wide, 128-character window)"
            ),
        ),
    )
}

MODEL_NAMES: tuple[str, ...] = tuple(REGISTRY)


def _spec(name: str) -> ModelSpec:
    try:
        return REGISTRY[name]
    except KeyError:
        said = _("unknown model {name!r}; choose one of: {names}")
        raise ValueError(said.format(name=name, names=", ".join(MODEL_NAMES))) from None


def model_config(name: str, vocab_size: int, **overrides: Any) -> Any:
    """The config dataclass of model `name` for `vocab_size`, defaults replaced by overrides.

    Raises ValueError for an unknown name, an unknown field or an invalid value.
    """
    spec = _spec(name)
    fields = {f.name for f in dataclasses.fields(spec.config_cls)}
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise ValueError(
            _("{name} has no setting {value}; its settings are {value2}").format(
                name=name,
                value=", ".join(unknown),
                value2=", ".join(sorted(fields - {"vocab_size"})),
            )
        )
    if "cell" in overrides and overrides["cell"] != name:
        raise ValueError(_("model {name!r} is built with cell {name!r}").format(name=name))
    return spec.config_cls(**{**overrides, "vocab_size": vocab_size})


def build_model(name: str, vocab_size: int, **overrides: Any) -> CharModel:
    """A freshly initialised model `name` (see REGISTRY) for a vocabulary of `vocab_size`."""
    config = model_config(name, vocab_size, **overrides)
    return _spec(name).model_cls(config)


__all__ = [
    "MODEL_NAMES",
    "REGISTRY",
    "GPT",
    "Bigram",
    "BigramConfig",
    "CharModel",
    "CharRNN",
    "ContextMLP",
    "GPTConfig",
    "GRUConfig",
    "KVCache",
    "LSTMConfig",
    "MLPConfig",
    "ModelSpec",
    "RNNConfig",
    "State",
    "build_model",
    "model_config",
    "sliding_window_mask",
]
