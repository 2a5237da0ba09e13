"""Tests for the GPT's decoder (core/models/gpt_decode.py): step by step, in chunks and
past the window, it gives the training forward's logits from the same modules' weights."""

from __future__ import annotations

import pytest
import torch

from charlm_tui.core.models import GPT, build_model
from charlm_tui.core.models.gpt_decode import KVCache

torch.set_num_threads(1)

V = 83


def small_model(**overrides) -> GPT:
    torch.manual_seed(0)
    settings = {"n_layer": 2, "n_head": 2, "n_embd": 32, "block_size": 8, **overrides}
    model = build_model("gpt", V, **settings).eval()
    assert isinstance(model, GPT)
    return model


@pytest.mark.parametrize("prefill", [1, 5, 8, 13])
@pytest.mark.parametrize("length", [1, 7, 8, 9, 30])
@pytest.mark.parametrize("variant", [{}, {"bias": True, "activation": "gelu_tanh"}])
def test_step_by_step_logits_equal_the_training_forward_to_1e_5(prefill, length, variant):
    """A prefill of `prefill` characters (or all, if fewer), then one character a step:
    every position's logits equal forward()'s over the whole text (window 8, so 9 and 30
    run past it and past the prefill), with or without biases."""
    model = small_model(**variant)
    idx = torch.randint(0, V, (2, length))
    with torch.inference_mode():
        full, _ = model(idx)  # (2, length, V): the sliding-window mask past position 8
        state = model.init_state(2)
        first = min(prefill, length)
        logits, state = model.step(idx[:, :first], state)
        torch.testing.assert_close(logits, full[:, first - 1], rtol=0, atol=1e-5)
        for t in range(first, length):
            logits, state = model.step(idx[:, t : t + 1], state)
            torch.testing.assert_close(logits, full[:, t], rtol=0, atol=1e-5)
    assert isinstance(state, KVCache) and state.pos == length


def test_the_cache_reads_the_training_modules_weights_when_it_is_made():
    """A cache made after a training step follows the new weights; one made before keeps
    the weights that filled it (a cache belongs to its weights)."""
    model = small_model()
    idx = torch.randint(0, V, (1, 6))
    before = model.init_state(1)
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    _, loss = model.train()(idx, torch.randint(0, V, (1, 6)))
    loss.backward()
    optimizer.step()
    model.eval()
    with torch.inference_mode():
        full, _ = model(idx)
        after, _ = model.step(idx, model.init_state(1))
        stale, _ = model.step(idx, before)
    torch.testing.assert_close(after, full[:, -1], rtol=0, atol=1e-5)
    assert not torch.allclose(stale, full[:, -1], atol=1e-3)


def test_gpt_cached_generation_equals_recomputing_with_the_sliding_window_mask():
    """Past block_size the ring buffer gives what forward() over the whole text gives."""
    model = small_model()  # block_size 8, 2 layers
    idx = torch.randint(0, V, (2, 40))
    with torch.inference_mode():
        full, _ = model(idx)  # (2, 40, V): the sliding-window mask past position 8
        state = model.init_state(2)
        for t in range(40):
            logits, state = model.step(idx[:, t : t + 1], state)
            torch.testing.assert_close(logits, full[:, t], rtol=1e-4, atol=1e-5)
        # Chunks of any size, across the ring's wrap, give the same.
        state = model.init_state(2)
        start = 0
        for size in (3, 1, 8, 11, 2, 15):
            logits, state = model.step(idx[:, start : start + size], state)
            start += size
            torch.testing.assert_close(logits, full[:, start - 1], rtol=1e-4, atol=1e-5)


def test_gpt_one_layer_window_covers_exactly_the_last_block_size_characters():
    """With one layer, the logits at t are those of forward() on characters t-W+1..t."""
    model = small_model(n_layer=1)
    W = model.block_size
    idx = torch.randint(0, V, (1, 30))
    with torch.inference_mode():
        state = model.init_state(1)
        for t in range(30):
            logits, state = model.step(idx[:, t : t + 1], state)
            window, _ = model(idx[:, max(0, t - W + 1) : t + 1])
            torch.testing.assert_close(logits, window[:, -1], rtol=1e-4, atol=1e-5)


def test_gpt_context_size_is_its_receptive_field_and_far_positions_stay_exact():
    """After 1100 steps (the RoPE table refreshed) the logits depend only on the last
    n_layer * (W - 1) + 1 characters, and equal forward() over just those."""
    model = small_model(n_embd=16, n_head=2, block_size=4)
    ctx = model.context_size
    assert ctx == 2 * (4 - 1) + 1
    idx = torch.randint(0, V, (1, 1100))
    with torch.inference_mode():
        state = model.init_state(1)
        for t in range(1100):
            logits, state = model.step(idx[:, t : t + 1], state)
        tail, _ = model(idx[:, -ctx:])
        torch.testing.assert_close(logits, tail[:, -1], rtol=1e-4, atol=1e-5)
        shorter, _ = model(idx[:, -(ctx - 1) :])
        assert not torch.allclose(logits, shorter[:, -1], atol=1e-5)


def test_gpt_trains_and_generates_with_bfloat16_weights():
    """RoPE has no bfloat16 complex type: forward rotates in float32, generation is float32."""
    model = small_model().to(torch.bfloat16)
    idx = torch.randint(0, V, (2, 12))
    logits, loss = model(idx, torch.randint(0, V, (2, 12)))
    loss.backward()
    assert logits.dtype == torch.bfloat16 and torch.isfinite(loss)
    with torch.inference_mode():
        step_logits, _ = model.step(idx, model.init_state(2))
    assert step_logits.dtype == torch.float32
    torch.testing.assert_close(step_logits, logits[:, -1].float(), rtol=0.05, atol=0.05)
