"""Tests for sampling: options, the streaming Generator, and the helpers.

Most tests use FixedLogits, a stand-in model whose next-character logits are given, so
what may and may not be sampled is known exactly; the rest use small real models.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import pytest
import torch
from torch import nn

from charlm_tui.core.models import MODEL_NAMES, build_model
from charlm_tui.core.models.base import CharModel
from charlm_tui.core.sample import (
    Generator,
    SamplingOptions,
    entropy_bits,
    generate,
    sampling_distribution,
)
from charlm_tui.core.vocab import UnknownCharsError, Vocab

torch.set_num_threads(1)

VOCAB = Vocab.from_text("abcdefgh ")  # ' ' is id 0, then a..h
LOGITS = [0.5, 3.0, 2.5, 2.0, 1.0, 1.0, 0.0, -1.0, -2.0]  # most likely: a, b, c, d


@dataclass
class FixedConfig:
    vocab_size: int
    block_size: int = 8


class FixedLogits(CharModel):
    """Gives the same logits after any text; records how many ids each step read."""

    name = "fixed"

    def __init__(self, logits: list[float] = LOGITS, block_size: int = 8) -> None:
        super().__init__(FixedConfig(len(logits), block_size))
        self.logits = nn.Parameter(torch.tensor(logits))
        self.reads: list[int] = []

    def compute_logits(self, idx: torch.Tensor) -> torch.Tensor:
        return self.logits.expand(*idx.shape, -1)

    def init_state(self, batch_size: int = 1) -> None:
        return None

    def step(self, idx: torch.Tensor, state: None) -> tuple[torch.Tensor, None]:
        self.reads.append(idx.size(1))
        return self.logits.expand(idx.size(0), -1), None


def small_model(name: str, vocab_size: int = VOCAB.size) -> CharModel:
    torch.manual_seed(0)
    overrides = {
        "mlp": {"block_size": 4, "n_embd": 8, "n_hidden": 32},
        "gru": {"n_embd": 8, "n_hidden": 16, "n_layer": 1},
        "lstm": {"n_embd": 8, "n_hidden": 16, "n_layer": 1},
        "gpt": {"n_layer": 2, "n_head": 2, "n_embd": 16, "block_size": 8},
    }.get(name, {})
    return build_model(name, vocab_size, **overrides)


# ---- options ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("temperature", -0.1, "temperature must be a finite number >= 0"),
        ("temperature", math.nan, "temperature must be a finite number >= 0"),
        ("temperature", math.inf, "temperature must be a finite number >= 0"),
        ("top_k", -1, r"top_k must be an integer >= 0 \(0 = off\)"),
        ("top_k", 2.5, r"top_k must be an integer >= 0"),
        ("top_p", 0.0, r"top_p must be in \(0, 1\]"),
        ("top_p", 1.5, r"top_p must be in \(0, 1\]"),
        ("length", -1, "length must be an integer >= 0"),
        ("seed", "one", "seed must be an integer or None"),
    ],
)
def test_out_of_range_options_are_refused_with_the_valid_range(field, value, message):
    with pytest.raises(ValueError, match=message):
        SamplingOptions(**{field: value})


def test_edge_values_of_the_options_are_accepted():
    """Temperature 0 (greedy), top_k 0 (off), top_p 1 (off), length 0 are all valid."""
    SamplingOptions(temperature=0, top_k=0, top_p=1.0, length=0, seed=0).validate()


# ---- distributions ------------------------------------------------------------------


def test_top_k_never_leaves_the_top_k_even_with_ties():
    """k = 4 where the 4th and 5th logits tie ('d', 'e'): exactly four can be drawn."""
    model = FixedLogits()
    options = SamplingOptions(top_k=4, seed=0, length=400)
    drawn = set("".join(Generator(model, VOCAB, "a", options)))
    assert drawn == {"a", "b", "c", "d"}  # the tie goes to the lower id
    probs = sampling_distribution(torch.tensor(LOGITS), options)
    assert (probs > 0).sum() == 4
    assert probs.sum().item() == pytest.approx(1.0)
    assert (sampling_distribution(torch.tensor(LOGITS), replace(options, top_k=1)) > 0).sum() == 1


def test_top_p_keeps_the_smallest_set_whose_mass_reaches_p():
    logits = torch.tensor([0.5, 0.3, 0.15, 0.05]).log()
    for p, kept in [(0.5, 1), (0.75, 2), (0.81, 3), (0.99, 4), (1.0, 4)]:
        probs = sampling_distribution(logits, SamplingOptions(top_p=p))
        assert (probs > 0).sum() == kept, p
        assert probs.sum().item() == pytest.approx(1.0)
    probs = sampling_distribution(logits, SamplingOptions(top_p=0.75))
    torch.testing.assert_close(probs, torch.tensor([0.625, 0.375, 0.0, 0.0]))


def test_top_p_draws_only_from_its_set():
    model = FixedLogits(torch.tensor([0.5, 0.3, 0.15, 0.05] + [0.0] * 5).log().tolist())
    text = "".join(Generator(model, VOCAB, "a", SamplingOptions(top_p=0.75, seed=1, length=300)))
    assert set(text) == {" ", "a"}  # ids 0 and 1


@pytest.mark.parametrize("temperature", [1.0, 2.0])
def test_sampled_frequencies_follow_softmax_of_logits_over_temperature(temperature):
    g = Generator(FixedLogits(), VOCAB, "a", SamplingOptions(temperature=temperature, seed=0))
    n = 4000
    counts = torch.zeros(VOCAB.size)
    for _ in range(n):
        counts[VOCAB.stoi[g.next_char()]] += 1
    expected = torch.softmax(torch.tensor(LOGITS) / temperature, -1)
    assert (counts / n - expected).abs().max() < 0.025  # ~3 standard errors at p = 0.5


def test_temperature_zero_is_greedy_and_the_same_whatever_the_seed():
    model = small_model("gpt")
    outputs = set()
    for seed in (1, 2, 3):
        g = Generator(model, VOCAB, "bad cab", SamplingOptions(temperature=0, seed=seed, length=0))
        chars = []
        for _ in range(30):
            expected = VOCAB.chars[int(g.probs.argmax())]
            chars.append(g.next_char())
            assert chars[-1] == expected
        outputs.add("".join(chars))
    assert len(outputs) == 1


def test_same_seed_gives_the_same_sample_and_another_seed_another():
    model = small_model("gpt")

    def sample(seed: int) -> str:
        return "".join(generate(model, VOCAB, "cab", SamplingOptions(seed=seed, length=60)))

    assert sample(7) == sample(7)
    assert sample(7) != sample(8)


def test_a_random_seed_is_kept_so_the_sample_can_be_repeated():
    model = small_model("bigram")
    first = Generator(model, VOCAB, "a", SamplingOptions(length=40))
    text = "".join(first)
    again = Generator(model, VOCAB, "a", SamplingOptions(length=40, seed=first.seed))
    assert "".join(again) == text


def test_sampling_leaves_the_global_torch_rng_alone():
    model = small_model("bigram")
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    "".join(generate(model, VOCAB, "", SamplingOptions(length=20)))
    assert torch.equal(torch.rand(3), expected)


# ---- the streaming generator ------------------------------------------------------------


def test_options_changed_mid_generation_take_effect_at_the_next_character():
    """Temperature to 0 mid-stream makes the rest greedy; a new length ends the loop."""
    model = FixedLogits()
    g = Generator(model, VOCAB, "a", SamplingOptions(temperature=5.0, seed=3, length=50))
    produced = []
    for ch in g:
        produced.append(ch)
        if len(produced) == 20:
            assert len(set(produced)) > 1  # hot: many characters
            g.options = replace(g.options, temperature=0.0, length=30)
    assert len(produced) == 30
    assert produced[20:] == ["a"] * 10  # greedy: the largest logit, 'a'


def test_unknown_seed_characters_are_reported_not_raised_and_dropped():
    model = small_model("gpt")
    g = Generator(model, VOCAB, "ab☃c", SamplingOptions(seed=0), unknown="drop")
    assert g.unknown == [(2, "☃")]
    assert g.text == "ab☃c"
    clean = Generator(model, VOCAB, "abc", SamplingOptions(seed=0))
    torch.testing.assert_close(g.probs, clean.probs)
    g.feed("dé")
    assert g.unknown == [(2, "☃"), (5, "é")]


def test_unknown_characters_can_be_replaced_or_refused_but_never_raise_key_error():
    model = small_model("gpt")
    replaced = Generator(model, VOCAB, "ab☃c", unknown="replace")
    spaced = Generator(model, VOCAB, "ab c")
    torch.testing.assert_close(replaced.probs, spaced.probs)
    assert replaced.unknown == [(2, "☃")]
    with pytest.raises(UnknownCharsError, match="☃"):
        Generator(model, VOCAB, "ab☃c", unknown="error")
    g = Generator(model, VOCAB, "ab", unknown="error")
    with pytest.raises(ValueError):
        g.feed("x")
    assert g.text == "ab"  # nothing was read


def test_an_empty_seed_starts_from_a_random_character_drawn_with_the_generators_rng():
    """As the notebook: uniform before any text, first character decided by the seed."""
    model = small_model("gpt")
    g = Generator(model, VOCAB, "", SamplingOptions(temperature=0, seed=0))
    torch.testing.assert_close(g.probs, torch.full((VOCAB.size,), 1 / VOCAB.size))
    firsts = {
        Generator(model, VOCAB, "", SamplingOptions(temperature=0, seed=s)).next_char()
        for s in range(12)
    }
    assert len(firsts) > 1  # not always the same character, even when greedy
    again = Generator(model, VOCAB, "", SamplingOptions(temperature=0, seed=5)).next_char()
    assert again == Generator(model, VOCAB, "", SamplingOptions(temperature=0, seed=5)).next_char()


def test_feed_runs_only_the_new_characters():
    model = FixedLogits()
    g = Generator(model, VOCAB, "abc")
    g.feed("d")
    g.feed("ef")
    g.next_char()
    assert model.reads == [3, 1, 2, 1]


def test_a_long_paste_runs_only_the_context_window():
    model = FixedLogits(block_size=8)
    g = Generator(model, VOCAB, "")
    g.feed("abcdefgh " * 11_000)  # ~100 KB
    assert sum(model.reads) == 8
    assert len(g.text) == 99_000


@pytest.mark.parametrize("name", ["mlp", "gpt"])
def test_a_long_paste_gives_exactly_the_distribution_of_reading_everything(name):
    """Reading only the last context_size characters loses nothing (sliding window)."""
    model = small_model(name)
    text = "".join(VOCAB.chars[i] for i in torch.randint(0, VOCAB.size, (200,)).tolist())
    g = Generator(model, VOCAB, "")
    g.feed(text)
    with torch.no_grad():
        logits, _ = model(torch.tensor(VOCAB.encode(text)))
    torch.testing.assert_close(g.probs, torch.softmax(logits[-1], -1), rtol=1e-4, atol=1e-6)


def test_an_rnn_reads_at_most_read_limit_characters_of_one_feed():
    model = small_model("gru")
    g = Generator(model, VOCAB, "", read_limit=64)
    g.feed("abc " * 1000)
    fresh = Generator(model, VOCAB, ("abc " * 1000)[-64:])
    torch.testing.assert_close(g.probs, fresh.probs)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_generator_probs_equal_the_softmax_of_forward_after_the_seed(name):
    model = small_model(name)
    seed = "bad cafe"
    probs = Generator(model, VOCAB, seed).probs
    with torch.no_grad():
        logits, _ = model(torch.tensor(VOCAB.encode(seed)))
    torch.testing.assert_close(probs, torch.softmax(logits[-1], -1), rtol=1e-4, atol=1e-6)
    text = "".join(generate(model, VOCAB, seed, SamplingOptions(seed=0, length=25)))
    assert len(text) == 25 and set(text) <= set(VOCAB.chars)
    assert not model.training  # sampling ran in eval mode


def test_generator_refuses_a_vocabulary_of_another_size():
    with pytest.raises(ValueError, match="predicts 9 characters but the vocabulary has 3"):
        Generator(FixedLogits(), Vocab.from_text("abc"))


# ---- helpers ---------------------------------------------------------------------------


def test_entropy_bits_of_uniform_is_log2_V_and_of_certain_is_zero():
    assert entropy_bits(torch.full((8,), 1 / 8)) == pytest.approx(3.0)
    assert entropy_bits(torch.tensor([0.0, 1.0, 0.0])) == 0.0


# ---- the draw ---------------------------------------------------------------------------


@pytest.mark.parametrize("python_sums", [True, False])
@pytest.mark.parametrize("options", [SamplingOptions(), SamplingOptions(top_k=40, top_p=0.8)])
def test_a_picker_picks_the_first_id_whose_cumulative_weight_exceeds_u(
    monkeypatch, python_sums, options
):
    """Both ways of summing (Python for small vocabularies, torch for large) invert the CDF."""
    from charlm_tui.core import sample

    monkeypatch.setattr(sample, "PYTHON_CDF_MAX", 10**6 if python_sums else 0)
    logits = torch.randn(600, generator=torch.Generator().manual_seed(0))
    weights, ids = sample._candidates(logits, options)  # candidates in the order drawn from
    cdf = weights.double().cumsum(0)
    for u in (0.0, 0.1, 0.5, 0.9, 0.999999):
        j = int((cdf <= u * float(cdf[-1])).sum())  # candidates before it hold <= u of the mass
        expected = j if ids is None else int(ids[j])
        assert sample.Picker.make(logits, options).pick(u) == expected
        assert weights[j] > 0


@pytest.mark.parametrize("python_sums", [True, False])
def test_a_draw_that_rounds_up_to_the_total_picks_the_last_candidate_not_a_zero_weight(
    monkeypatch, python_sums
):
    """u * total can round to the total: the pick is then the last id with a weight."""
    from charlm_tui.core import sample

    monkeypatch.setattr(sample, "PYTHON_CDF_MAX", 10**6 if python_sums else 0)
    logits = torch.tensor([1.0, 2.0, -math.inf, -math.inf])  # ids 2 and 3 have no weight
    picker = sample.Picker.make(logits, SamplingOptions())
    assert picker.pick(1.0) == 1  # u = 1 stands for a product rounded up to the total
    picker = sample.Picker.make(logits, SamplingOptions(top_k=3))  # candidates by rank
    assert picker.pick(1.0) == 0


@pytest.mark.parametrize("temperature", [1.0, 0.7])
def test_pickers_made_for_a_whole_table_equal_those_made_row_by_row(temperature):
    from charlm_tui.core.sample import Picker

    table = 3 * torch.randn(VOCAB.size, VOCAB.size, generator=torch.Generator().manual_seed(2))
    options = SamplingOptions(temperature=temperature)
    rows = Picker.make_rows(table, options)
    assert rows is not None
    for picker, logits in zip(rows, table, strict=True):
        single = Picker.make(logits, options)
        assert (picker.cdf, picker.ids) == (single.cdf, single.ids)


@pytest.mark.parametrize(
    "options",
    [SamplingOptions(temperature=0), SamplingOptions(top_k=3), SamplingOptions(top_p=0.5)],
)
def test_pickers_that_cut_or_are_greedy_are_made_row_by_row(options):
    from charlm_tui.core.sample import Picker

    assert Picker.make_rows(torch.zeros(3, VOCAB.size), options) is None


@pytest.mark.parametrize(
    "options",
    [
        SamplingOptions(seed=5, length=300),
        SamplingOptions(seed=5, length=300, temperature=0.7, top_k=4),
        SamplingOptions(seed=5, length=300, top_p=0.6),
        SamplingOptions(seed=5, length=300, temperature=0),
    ],
)
def test_a_one_character_model_memoizes_its_rows_and_draws_the_same_characters(options):
    """The bigram's V distributions are computed once each; the draws do not change."""
    model = small_model("bigram")
    memoized = Generator(model, VOCAB, "a", options)
    assert memoized._memoize
    plain = Generator(model, VOCAB, "a", options)
    plain._memoize = False
    calls = []
    real_step = model.step
    model.step = lambda idx, state: calls.append(idx.shape) or real_step(idx, state)
    text = "".join(memoized)
    assert calls == [(VOCAB.size, 1)]  # one batched step for every character id
    assert text == "".join(plain)
    assert torch.equal(memoized.probs, plain.probs)
    # options changed mid-stream take effect at once, memo or not
    memoized.options = plain.options = replace(options, temperature=2.0, top_k=0, length=50)
    assert "".join(memoized) == "".join(plain)


def test_a_model_that_reads_more_than_one_character_is_not_memoized():
    assert not Generator(small_model("gpt"), VOCAB, "a")._memoize
    many = Vocab.from_text("".join(chr(0x4E00 + i) for i in range(600)))  # too many rows
    assert not Generator(small_model("bigram", many.size), many)._memoize
