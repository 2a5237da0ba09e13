"""Tests for the model registry and the character models (bigram, mlp, gru, lstm, gpt)."""

from __future__ import annotations

import json
import math
from dataclasses import asdict

import pytest
import torch
import torch.nn.functional as F

from charlm_tui.core.models import (
    MODEL_NAMES,
    REGISTRY,
    Bigram,
    build_model,
    model_config,
    sliding_window_mask,
)
from charlm_tui.core.models.base import CharModel

torch.set_num_threads(1)

V = 83  # the notebook's vocabulary size
# Small settings so every test runs in well under a second on a laptop CPU.
SMALL: dict[str, dict] = {
    "bigram": {},
    "mlp": {"block_size": 4, "n_embd": 8, "n_hidden": 32},
    "gru": {"n_embd": 16, "n_hidden": 32, "n_layer": 2},
    "lstm": {"n_embd": 16, "n_hidden": 32, "n_layer": 2},
    "gpt": {"n_layer": 2, "n_head": 2, "n_embd": 32, "block_size": 8},
}


def small_model(name: str, vocab_size: int = V, **overrides) -> CharModel:
    torch.manual_seed(0)
    return build_model(name, vocab_size, **{**SMALL[name], **overrides}).eval()


def test_every_registered_model_has_small_test_settings():
    """The parametrised tests below cover every model in the registry."""
    assert set(SMALL) == set(MODEL_NAMES) == set(REGISTRY)


# ---- the notebook's model -------------------------------------------------------------


def test_bigram_parameter_sizes_are_the_notebooks_10624_128_10624_83():
    """With V = 83: fc1.weight, fc1.bias, fc2.weight, fc2.bias, in that order."""
    model = build_model("bigram", 83)
    table = model.parameter_table()
    assert [name for name, _, _ in table] == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    assert [numel for _, _, numel in table] == [10624, 128, 10624, 83]
    assert [shape for _, shape, _ in table] == [(128, 83), (128,), (83, 128), (83,)]
    assert model.n_params == 10624 + 128 + 10624 + 83
    assert model.block_size == 1


def test_bigram_fast_path_equals_the_literal_one_hot_path_in_values_and_gradients():
    """F.embedding on fc1.weight.T gives the notebook's one_hot @ W.T + b, and its grads."""
    torch.manual_seed(0)
    model = Bigram(model_config("bigram", V))
    idx = torch.randint(0, V, (3, 16))
    targets = torch.randint(0, V, (3, 16))

    fast, fast_loss = model(idx, targets)
    fast_loss.backward()
    fast_grads = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()

    literal = model.forward_one_hot(F.one_hot(idx, V).float())
    F.cross_entropy(literal.reshape(-1, V), targets.reshape(-1)).backward()
    literal_grads = [p.grad for p in model.parameters()]

    torch.testing.assert_close(fast, literal, rtol=0, atol=1e-6)
    for a, b in zip(fast_grads, literal_grads, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-7)


def test_bigram_refuses_a_block_size_other_than_one():
    with pytest.raises(ValueError, match="block_size must be 1"):
        build_model("bigram", V, block_size=16)


# ---- every model -------------------------------------------------------------------


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_loss_at_init_is_close_to_ln_V(name):
    """An untrained model is close to a uniform guess over the vocabulary (full size)."""
    torch.manual_seed(0)
    model = build_model(name, V).eval()
    idx = torch.randint(0, V, (4, 32))
    targets = torch.randint(0, V, (4, 32))
    with torch.no_grad():
        _, loss = model(idx, targets)
    assert abs(loss.item() - math.log(V)) < 0.15


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_forward_gives_logits_per_position_for_batched_and_single_sequences(name):
    model = small_model(name)
    idx = torch.randint(0, V, (2, 7))
    with torch.no_grad():
        logits, loss = model(idx)
        single, _ = model(idx[1])
    assert loss is None
    assert logits.shape == (2, 7, V)
    assert single.shape == (7, V)
    torch.testing.assert_close(single, logits[1], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_step_logits_equal_forward_logits_within_the_block(name):
    """One character at a time, and in chunks, step() reproduces forward() (batch of 2)."""
    model = small_model(name)
    T = 8 if name != "bigram" else 5  # the gpt's and mlp's windows are 8 and 4
    idx = torch.randint(0, V, (2, T))
    with torch.inference_mode():
        full, _ = model(idx)  # (2, T, V)
        state = model.init_state(2)
        for t in range(T):
            logits, state = model.step(idx[:, t : t + 1], state)
            torch.testing.assert_close(logits, full[:, t], rtol=1e-4, atol=1e-5)
        state = model.init_state(2)
        _, state = model.step(idx[:, :3], state)
        logits, state = model.step(idx[:, 3:], state)
        torch.testing.assert_close(logits, full[:, -1], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_config_is_json_able_and_rebuilds_the_same_model(name):
    """What a checkpoint stores (name + asdict(config)) rebuilds identical shapes."""
    model = small_model(name)
    stored = json.loads(json.dumps(asdict(model.config)))
    rebuilt = build_model(model.name, stored.pop("vocab_size"), **stored)
    assert rebuilt.name == name
    assert rebuilt.parameter_table() == model.parameter_table()
    rebuilt.load_state_dict(model.state_dict())


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_param_groups_hold_every_parameter_once_and_spare_biases_from_decay(name):
    model = small_model(name)
    decay, no_decay = model.param_groups(0.1)
    ids = [id(p) for group in (decay, no_decay) for p in group["params"]]
    assert sorted(ids) == sorted(id(p) for p in model.parameters())
    assert all(p.dim() >= 2 for p in decay["params"]) and decay["weight_decay"] == 0.1
    assert all(p.dim() < 2 for p in no_decay["params"]) and no_decay["weight_decay"] == 0.0


def test_registry_refuses_unknown_models_and_settings_by_name():
    with pytest.raises(ValueError, match="choose one of: bigram, mlp, gru, lstm, gpt"):
        build_model("transformer-xl", V)
    with pytest.raises(ValueError, match="gpt has no setting n_layers"):
        build_model("gpt", V, n_layers=2)
    with pytest.raises(ValueError, match="n_embd .* must split into n_head"):
        build_model("gpt", V, n_embd=30, n_head=4)


@pytest.mark.parametrize("name", ["bigram", "gpt"])
def test_a_short_repeated_string_is_learned_to_low_loss(name):
    """A few hundred Adam steps drive the loss on a periodic text close to zero."""
    torch.manual_seed(0)
    text = "charlm-tui! " * 8  # no repeated character: each one decides the next
    chars = sorted(set(text))
    ids = torch.tensor([chars.index(c) for c in text])
    overrides = {"n_layer": 1, "n_head": 2, "n_embd": 32, "block_size": 16} if name == "gpt" else {}
    model = build_model(name, len(chars), **overrides)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    x = torch.stack([ids[i : i + 16] for i in range(0, 80, 5)])  # (16, 16)
    y = torch.stack([ids[i + 1 : i + 17] for i in range(0, 80, 5)])
    for _ in range(200):
        _, loss = model(x, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.1


# ---- the GPT's sliding window and KV cache ---------------------------------------------


def test_sliding_window_mask_is_causal_within_the_window_and_slides_past_it():
    mask = sliding_window_mask(6, 3)
    assert mask.tolist() == [
        [1, 0, 0, 0, 0, 0],
        [1, 1, 0, 0, 0, 0],
        [1, 1, 1, 0, 0, 0],
        [0, 1, 1, 1, 0, 0],
        [0, 0, 1, 1, 1, 0],
        [0, 0, 0, 1, 1, 1],
    ]
    assert torch.equal(sliding_window_mask(5, 5), torch.ones(5, 5).tril().bool())


def test_bigram_without_a_logits_table_steps_to_the_same_logits_as_forward() -> None:
    """Past TABLE_MAX_VOCAB characters generation computes one row a step (no V x V table)."""
    from charlm_tui.core.models.bigram import TABLE_MAX_VOCAB

    torch.manual_seed(0)
    model = build_model("bigram", TABLE_MAX_VOCAB + 1).eval()
    state = model.init_state()
    assert state is None
    idx = torch.tensor([[5, TABLE_MAX_VOCAB, 17]])
    with torch.inference_mode():
        logits, state = model.step(idx, state)
        expected = model(idx)[0][:, -1]
    assert torch.allclose(logits, expected, atol=1e-5)
