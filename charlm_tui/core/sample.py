"""Provides sampling: SamplingOptions, the streaming Generator, and next-character helpers.

A Generator reads a seed, then produces one character at a time; the model's state (KV
cache, RNN hidden state, window of ids) is carried, so each character costs one
`model.step` whatever the length of the text so far. Its options are read at every
character, so temperature, top-k, top-p and length can change mid-stream.

Drawing: `Picker` (an inverse CDF) for each character. Sampling order: temperature 0 is greedy (argmax, ties to the lowest id); otherwise the
logits are divided by the temperature, cut to the top_k, then to the smallest set of
characters whose probability adds up to at least top_p, and renormalised.

Everything runs under torch.inference_mode(), with the model in eval mode.
"""

from __future__ import annotations

import bisect
import math
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from charlm_tui.core.i18n import _
from charlm_tui.core.models.base import CharModel
from charlm_tui.core.vocab import UnknownPolicy, Vocab

FEED_CHUNK = 512  # characters per model.step when reading a long text
# Characters an unbounded-context (RNN) model reads of one long feed: its memory of text
# thousands of characters back is faint, and reading 100 KB took seconds on a laptop CPU.
READ_LIMIT = 2048
UNIFORM_BLOCK = 64  # uniform draws taken from the RNG at once
PYTHON_CDF_MAX = 512  # vocabularies up to this size are sampled with Python sums


@dataclass(frozen=True)
class SamplingOptions:
    """How characters are drawn. Invalid values are refused when the options are made."""

    temperature: float = 1.0  # 0 = greedy
    top_k: int = 0  # 0 = off
    top_p: float = 1.0  # 1 = off
    length: int = 200  # characters to generate per iteration over a Generator
    seed: int | None = None  # None = a fresh random seed

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> SamplingOptions:
        """Raise ValueError naming the valid range of the first bad option; else self."""
        t = self.temperature
        if isinstance(t, bool) or not isinstance(t, int | float) or not math.isfinite(t) or t < 0:
            raise ValueError(
                _("temperature must be a finite number >= 0 (0 = greedy), got {t!r}").format(t=t)
            )
        if not _is_int(self.top_k) or self.top_k < 0:
            raise ValueError(
                _("top_k must be an integer >= 0 (0 = off), got {top_k!r}").format(top_k=self.top_k)
            )
        p = self.top_p
        if isinstance(p, bool) or not isinstance(p, int | float) or not 0 < p <= 1:
            raise ValueError(_("top_p must be in (0, 1] (1 = off), got {p!r}").format(p=p))
        if not _is_int(self.length) or self.length < 0:
            raise ValueError(
                _("length must be an integer >= 0, got {length!r}").format(length=self.length)
            )
        if self.seed is not None and not _is_int(self.seed):
            raise ValueError(
                _("seed must be an integer or None, got {seed!r}").format(seed=self.seed)
            )
        return self


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# ---- distributions --------------------------------------------------------------------


def _cuts(options: SamplingOptions, vocab_size: int) -> bool:
    """Whether top-k or top-p can leave out a character of a vocabulary this size."""
    return 0 < options.top_k < vocab_size or options.top_p < 1.0


def _softmax(logits: torch.Tensor, options: SamplingOptions) -> torch.Tensor:
    """softmax(logits / temperature) over the last dimension, in float32."""
    scaled = logits if options.temperature == 1 else logits / options.temperature
    return torch.softmax(scaled.float(), dim=-1)


def _candidates(
    logits: torch.Tensor, options: SamplingOptions
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Unnormalised weights of the characters left after temperature, top-k and top-p.

    Returns (weights, ids): ids maps weights back to character ids, most likely first;
    None when nothing was cut and weights is indexed by id. Not for temperature 0.
    """
    probs = _softmax(logits, options)  # (V,)
    k, p = options.top_k, options.top_p
    if not _cuts(options, probs.numel()):
        return probs, None
    weights, ids = torch.sort(probs, descending=True, stable=True)
    if 0 < k < probs.numel():
        # Exactly k survive, even when the k-th probability ties with the next ones.
        weights, ids = weights[:k], ids[:k]
    if p < 1.0:
        cumulative = torch.cumsum(weights, dim=0)  # (K,)
        # Keep a character while the mass of the more likely ones is below p (of what is
        # left after top-k): the smallest prefix reaching p. The most likely always stays.
        weights = weights.masked_fill(cumulative - weights >= p * cumulative[-1], 0.0)
    return weights, ids


@torch.inference_mode()
def sampling_distribution(logits: torch.Tensor, options: SamplingOptions) -> torch.Tensor:
    """The distribution (V,) that `options` draw from, given next-character logits (V,)."""
    if options.temperature == 0:
        return torch.nn.functional.one_hot(logits.argmax(), logits.numel()).float()
    weights, ids = _candidates(logits, options)
    weights = weights / weights.sum()
    if ids is None:
        return weights
    return torch.zeros(logits.numel()).scatter_(0, ids, weights)


def _running_sums(weights: torch.Tensor) -> torch.Tensor:
    """Cumulative sums along the last dimension, in float64: the CDF that picks use."""
    return torch.cumsum(weights.double(), dim=-1)


class Picker:
    """One distribution made ready for draws: `pick(u)` maps a uniform u in [0, 1) to an id.

    Inverse CDF: the first id whose cumulative weight exceeds u times the total, so a
    zero weight never wins; temperature 0 always picks the argmax (ties to the lowest
    id). Up to PYTHON_CDF_MAX characters the CDF is a Python list searched with bisect,
    larger vocabularies stay in torch: faster than torch.multinomial at both sizes
    (benchmarks/sampler.py, docs/performance.md). Made once, a Picker serves any number
    of draws: a model that reads one character has only V distributions.
    """

    __slots__ = ("argmax", "cdf", "ids")

    def __init__(
        self, cdf: list[float] | torch.Tensor, ids: torch.Tensor | None, argmax: int = -1
    ) -> None:
        self.cdf = cdf  # the candidates' cumulative weights
        self.ids = ids  # position in cdf -> character id; None: the position is the id
        self.argmax = argmax  # greedy (temperature 0): the id to pick; -1 otherwise

    @classmethod
    @torch.inference_mode()
    def make(cls, logits: torch.Tensor, options: SamplingOptions) -> Picker:
        if options.temperature == 0:  # ties go to the lowest id
            return cls([], None, argmax=int(torch.argmax(logits)))
        weights, ids = _candidates(logits, options)
        cdf: list[float] | torch.Tensor
        if weights.numel() <= PYTHON_CDF_MAX:
            cdf = _running_sums(weights).tolist()
        else:
            cdf = torch.cumsum(weights, dim=0)  # (K,)
        return cls(cdf, ids)

    @classmethod
    @torch.inference_mode()
    def make_rows(cls, table: torch.Tensor, options: SamplingOptions) -> list[Picker] | None:
        """A Picker for every row of logits (N, V), equal to `make` row by row, where
        nothing is cut: one softmax, cumsum and tolist for the table instead of one of
        each per row (83 rows: 0.17-0.28 ms here against 1.3-1.4 ms). None where
        greedy, top-k or top-p applies, or the vocabulary is too large for a Python
        CDF: make those one row at a time."""
        V = table.size(-1)
        if options.temperature == 0 or _cuts(options, V) or V > PYTHON_CDF_MAX:
            return None
        probs = _softmax(table, options)  # (N, V)
        return [cls(cdf, None) for cdf in _running_sums(probs).tolist()]

    def pick(self, u: float) -> int:
        if self.argmax >= 0:
            return self.argmax
        cdf = self.cdf
        if isinstance(cdf, list):
            j = bisect.bisect_right(cdf, u * cdf[-1])
            if j == len(cdf):  # u * total rounded up to the total: the last candidate,
                j = bisect.bisect_left(cdf, cdf[-1])  # where the sums reach the total
        else:
            j = int(torch.searchsorted(cdf, cdf[-1:] * u, right=True))
            if j == len(cdf):
                j = int(torch.searchsorted(cdf, cdf[-1:]))
        return j if self.ids is None else int(self.ids[j])


def entropy_bits(probs: torch.Tensor) -> float:
    """Shannon entropy of a distribution (V,), in bits (0 log 0 counted as 0)."""
    p = probs.double()
    p = p[p > 0]
    return float(-(p * torch.log2(p)).sum())


# ---- the streaming generator ------------------------------------------------------------


class Generator:
    """A stateful stream of characters from `model`, seeded with `seed_text`.

    - `feed(text)` reads more text (only the new characters run through the model) and
      gives the next-character distribution; `next_char()` draws one character with the
      current `options` and reads it back; iterating yields `options.length` characters.
    - Characters not in the vocabulary never raise KeyError: they are listed in
      `unknown` as (position in `text`, char) and dropped or replaced (policy `unknown`:
      "drop", "replace" with `replacement`, or "error" to raise UnknownCharsError, a
      ValueError, before anything is read).
    - With nothing read yet (an empty seed), the first character is drawn uniformly
      from the vocabulary with this generator's RNG, whatever the options, as the
      notebook starts from a random character; it is the first of the `length` yielded.
      Until then `probs` is uniform.
    - A long feed reads only its tail: the last `model.context_size` characters, which
      is exact (nothing earlier can matter), or `read_limit` for RNNs (an approximation).
    - Each Generator owns a torch.Generator seeded from `options.seed` (None: a random
      seed, kept in `seed`), so the same seed, model and text give the same characters.

    The model is put in eval mode (and left there). A KV cache belongs to the weights
    that filled it: make a new Generator after the weights change. One thread at a time:
    a Generator is not safe to share between threads without a lock.
    """

    def __init__(
        self,
        model: CharModel,
        vocab: Vocab,
        seed_text: str = "",
        options: SamplingOptions | None = None,
        unknown: UnknownPolicy | str = UnknownPolicy.DROP,
        replacement: str | None = None,
        read_limit: int = READ_LIMIT,
    ) -> None:
        if model.vocab_size != vocab.size:
            raise ValueError(
                _(
                    "the model predicts {vocab_size} characters but the vocabulary has {size}"
                ).format(vocab_size=model.vocab_size, size=vocab.size)
            )
        self.model = model.eval()
        self._device = model.device
        self.vocab = vocab
        self.unknown_policy = UnknownPolicy(unknown)
        self.replacement = replacement
        self.read_limit = max(1, read_limit)
        self.rng = torch.Generator()
        self._ids: dict[int, torch.Tensor] = {}
        # A model that reads only the current character has V distributions in all:
        # generating, they are computed together once, in one batched step, and then
        # looked up (up to PYTHON_CDF_MAX characters: a memo of a few hundred small rows).
        self._memoize = model.context_size == 1 and vocab.size <= PYTHON_CDF_MAX
        self._options = (options or SamplingOptions()).validate()
        self.seed = 0
        self.reset(seed_text)

    def reset(self, seed_text: str = "") -> torch.Tensor:
        """Forget everything read, reseed the RNG from options.seed, read seed_text."""
        seed = self._options.seed
        self.seed = secrets.randbits(63) if seed is None else seed
        self.rng.manual_seed(self.seed)
        self._uniforms: list[float] = []  # drawn from rng in blocks, used last first
        self.unknown: list[tuple[int, str]] = []
        self.n_generated = 0
        self._parts: list[str] = []  # text read or generated, joined on demand
        self._len = 0
        self._state = self.model.init_state(1)
        self._logits: torch.Tensor | None = None  # (V,) float32 on the CPU
        self._probs: torch.Tensor | None = None
        self._table: torch.Tensor | None = None  # (V, V): the logits after each id (_memoize)
        self._rows: list[_Row] | None = None  # character id -> its row of the table
        self._row: _Row | None = None  # the memo row of _logits, if it has one
        return self.feed(seed_text)

    # ---- options ----------------------------------------------------------------

    @property
    def options(self) -> SamplingOptions:
        return self._options

    @options.setter
    def options(self, options: SamplingOptions) -> None:
        """Takes effect at the next character; a new, different seed reseeds the RNG."""
        options.validate()
        if options.seed is not None and options.seed != self._options.seed:
            self.seed = options.seed
            self.rng.manual_seed(options.seed)
            self._uniforms = []
        self._options = options

    # ---- reading ----------------------------------------------------------------

    @property
    def text(self) -> str:
        """Everything read or generated so far, unknown characters included as given."""
        if len(self._parts) > 1:
            self._parts = ["".join(self._parts)]
        return self._parts[0] if self._parts else ""

    @torch.inference_mode()
    def feed(self, text: str) -> torch.Tensor:
        """Read `text` after what came before; give the next-character distribution (V,)."""
        if text:
            ids = self.vocab.encode(text, self.unknown_policy, self.replacement)  # may raise
            self.unknown.extend((self._len + i, ch) for i, ch in self.vocab.unknown_chars(text))
            self._parts.append(text)
            self._len += len(text)
            self._read(ids)
        return self.probs

    def _read(self, ids: list[int]) -> None:
        if not ids:
            return
        # Nothing before the last `context_size` characters can change what comes next
        # (nor the state for later ones): a longer text restarts from its tail, so a 100 KB
        # paste runs a few hundred characters. Unbounded (RNN) models read `read_limit`.
        limit = self.model.context_size or self.read_limit
        if len(ids) >= limit:
            self._state = self.model.init_state(1)
            ids = ids[-limit:]
        x = torch.tensor([ids], dtype=torch.long, device=self._device)  # (1, T)
        for start in range(0, x.size(1), FEED_CHUNK):
            logits, self._state = self.model.step(x[:, start : start + FEED_CHUNK], self._state)
        self._logits = logits[0].float().cpu()  # (V,)
        self._probs = None
        self._row = None

    @property
    def probs(self) -> torch.Tensor:
        """The model's next-character distribution (V,) (temperature 1, unfiltered)."""
        if self._probs is None:
            if self._logits is None:
                self._probs = torch.full((self.vocab.size,), 1.0 / self.vocab.size)
            else:
                self._probs = torch.softmax(self._logits, dim=-1)
        return self._probs

    @property
    def sampling_probs(self) -> torch.Tensor:
        """The distribution (V,) the next character is drawn from under the current options."""
        if self._logits is None:
            return self.probs
        return sampling_distribution(self._logits, self._options)

    # ---- generating -------------------------------------------------------------

    def _uniform(self) -> float:
        """The next uniform draw in [0, 1) from this generator's RNG."""
        if not self._uniforms:  # one tensor call per 64 characters, not one per character
            block = torch.rand(UNIFORM_BLOCK, generator=self.rng, dtype=torch.float64)
            self._uniforms = block.tolist()[::-1]
        return self._uniforms.pop()

    def _id_tensor(self, i: int) -> torch.Tensor:
        """Character id i as a (1, 1) tensor on the model's device, made once per id."""
        x = self._ids.get(i)
        if x is None:
            x = self._ids[i] = torch.tensor([[i]], dtype=torch.long, device=self._device)
        return x

    def next_char(self) -> str:
        """Draw one character with the current options, read it back, return it."""
        u = self._uniform()
        if self._logits is None:
            i = min(int(u * self.vocab.size), self.vocab.size - 1)
        else:
            i = self._picker(self._logits).pick(u)
        ch = self.vocab.chars[i]
        self._parts.append(ch)
        self._len += 1
        self.n_generated += 1
        if self._memoize:
            if self._rows is None:
                self._table = self._logits_after_each_id()
                self._rows = [_Row(logits) for logits in self._table]
            row = self._row = self._rows[i]
            self._logits = row.logits
        else:
            self._row = None
            self._logits = self._step(i)
        self._probs = None
        return ch

    @torch.inference_mode()
    def _step(self, i: int) -> torch.Tensor:
        """Read character id i; its next-character logits (V,) on the CPU."""
        logits, self._state = self.model.step(self._id_tensor(i), self._state)
        return logits[0].float().cpu()

    @torch.inference_mode()
    def _logits_after_each_id(self) -> torch.Tensor:
        """(V, V): the next-character logits after each character id, in one batched step."""
        ids = torch.arange(self.vocab.size, device=self._device).view(-1, 1)  # (V, 1)
        logits, _ = self.model.step(ids, self.model.init_state(ids.size(0)))
        return logits.float().cpu()

    def _picker(self, logits: torch.Tensor) -> Picker:
        """The Picker of the current logits under the current options (memoized per row)."""
        row, options, table, rows = self._row, self._options, self._table, self._rows
        if row is None or table is None or rows is None:
            return Picker.make(logits, options)
        picker = row.pickers.get(options)
        if picker is None:
            pickers = Picker.make_rows(table, options)
            if pickers is None:
                picker = row.pickers[options] = Picker.make(logits, options)
            else:  # every row's at once
                for r, p in zip(rows, pickers, strict=True):
                    r.pickers[options] = p
                picker = row.pickers[options]
        return picker

    def __iter__(self) -> Iterator[str]:
        """Yield characters until `options.length` of them (re-read at every character)."""
        produced = 0
        while produced < self._options.length:
            yield self.next_char()
            produced += 1


class _Row:
    """A memoized next-character distribution: its logits and a Picker per options."""

    __slots__ = ("logits", "pickers")

    def __init__(self, logits: torch.Tensor) -> None:
        self.logits = logits
        self.pickers: dict[SamplingOptions, Picker] = {}


# ---- one-shot helpers -----------------------------------------------------------------


def generate(
    model: CharModel,
    vocab: Vocab,
    seed_text: str = "",
    options: SamplingOptions | None = None,
    unknown: UnknownPolicy | str = "drop",
) -> Iterator[str]:
    """Stream `options.length` characters after `seed_text` (bad input raises here, now)."""
    return iter(Generator(model, vocab, seed_text, options, unknown))
