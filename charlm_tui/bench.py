"""Provides `charlm bench`: training and generation speed on this machine, as a table.

Every number comes from the code paths the CLI and the app run:

- training: `Trainer.run` on nanoGPT's CPU config (4 layers, 4 heads, width 128, block
  64, batch 12, dropout 0), per precision and thread count; beside it a nanoGPT-style
  reference (learned positions, erf GELU, per-tensor AdamW, a plain loop) on the same data;
- generation: `Generator.next_char` (the KV cache, `model.step`) against recomputing the
  whole cropped window for every character, as nanoGPT's `generate` does;
- the console: `Generator.feed` of one more typed character, with its distribution;
- the notebook recipe: `charlm train`'s defaults for `bigram`, through `Trainer.run`;
- inside the app: the same run in the headless app (its worker, screens and chart, as
  `charlm tui` runs them, on Textual's headless driver) against a bare `Trainer`, both on
  one torch thread and writing a run folder, pair by pair.

Times are medians of per-step or per-character timings. The machine line gives the load
average before and after: other processes on a 2-core machine change every number here.
"""

from __future__ import annotations

import math
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import torch
import torch.nn.functional as F
from torch import nn

from charlm_tui.core.corpus import Corpus
from charlm_tui.core.events import StepCompleted
from charlm_tui.core.models import CharModel, build_model
from charlm_tui.core.sample import Generator, SamplingOptions
from charlm_tui.core.train import TrainConfig, Trainer, pick_device
from charlm_tui.core.vocab import Vocab

if TYPE_CHECKING:
    from charlm_tui.tui.session import Dataset

NANOGPT_CPU = {"n_layer": 4, "n_head": 4, "n_embd": 128, "block_size": 64, "dropout": 0.0}
BATCH_SIZE, BLOCK_SIZE = 12, 64  # nanoGPT's README CPU run
GENERATION_WINDOW = 1024  # attention window of the generation model: the cache fills to it
CONTEXTS = (64, 256, 1024)


@dataclass(frozen=True)
class Plan:
    """How long each measurement runs."""

    train_steps: int  # timed steps per training row (after WARMUP_STEPS)
    emulated_bf16_steps: int  # the same where bfloat16 is emulated (slow); 0 = skip
    cached_chars: int
    uncached_chars: int
    typed_chars: int
    notebook_runs: int
    notebook_with_files: bool  # also time it writing checkpoints, as `charlm train` does
    app_pairs: int  # the notebook recipe in the app and in a bare Trainer, interleaved


QUICK = Plan(12, 0, 40, 4, 40, 1, False, 1)
FULL = Plan(60, 4, 300, 20, 200, 3, True, 9)
WARMUP_STEPS = 3


@dataclass(frozen=True)
class TrainTiming:
    label: str
    dtype: str
    threads: int | str
    ms_per_iter: float
    note: str = ""

    @property
    def tokens_per_s(self) -> float:
        return BATCH_SIZE * BLOCK_SIZE / (self.ms_per_iter / 1000)


def median_ms(times: list[float]) -> float:
    return statistics.median(times) * 1000


# ---- the machine ----------------------------------------------------------------------


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def machine_lines(device: torch.device) -> list[str]:
    from charlm_tui.core.precision import describe

    lines = [
        f"cpu        {cpu_model()}, {os.cpu_count()} cores, "
        f"capability {torch.backends.cpu.get_cpu_capability()}",
        f"torch      {torch.__version__}",
        f"device     {device}" + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else ""),
        f"bfloat16   {describe(device)}",
        f"load avg   {load_average()} (1, 5, 15 min) at start",
    ]  # fmt: skip
    return lines


# ---- training -------------------------------------------------------------------------


def bench_config(dtype: str, threads: int, steps: int, device: str) -> TrainConfig:
    return TrainConfig.defaults_for(
        "gpt",
        steps=steps,
        batch_size=BATCH_SIZE,
        block_size=BLOCK_SIZE,
        lr=1e-3,
        min_lr=1e-4,
        warmup_steps=100,
        train_fraction=0.9,
        eval_interval=10**9,  # one eval, after the last timed step
        eval_batches=1,
        sample_length=0,
        final_eval=False,
        dtype=dtype,
        threads=threads,
        device=device,
        model_overrides=dict(NANOGPT_CPU),
    )


def time_trainer(text: str, dtype: str, threads: int, steps: int, device: str) -> float:
    """Median ms per step of `Trainer.run` (events included), after a warm-up."""
    stamps: list[float] = []

    def on_event(event: object) -> None:
        if isinstance(event, StepCompleted):
            stamps.append(time.perf_counter())

    config = bench_config(dtype, threads, steps + WARMUP_STEPS, device)
    trainer = Trainer(config, text, on_event=on_event)
    trainer.run()
    gaps = [b - a for a, b in zip(stamps[WARMUP_STEPS - 1 :], stamps[WARMUP_STEPS:], strict=False)]
    return median_ms(gaps)


class ReferenceBlock(nn.Module):
    """nanoGPT's block: pre-norm attention and erf-GELU MLP, no biases."""

    def __init__(self, n_embd: int, n_head: int) -> None:
        super().__init__()
        self.n_head = n_head
        self.ln_1 = nn.LayerNorm(n_embd, bias=False)
        self.attn = nn.Linear(n_embd, 3 * n_embd, bias=False)
        self.proj = nn.Linear(n_embd, n_embd, bias=False)
        self.ln_2 = nn.LayerNorm(n_embd, bias=False)
        self.fc = nn.Linear(n_embd, 4 * n_embd, bias=False)
        self.fc_proj = nn.Linear(4 * n_embd, n_embd, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        q, k, v = self.attn(self.ln_1(x)).split(C, dim=2)
        q, k, v = (t.view(B, T, self.n_head, -1).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # (B, H, T, D)
        x = x + self.proj(y.transpose(1, 2).contiguous().view(B, T, C))
        return x + self.fc_proj(F.gelu(self.fc(self.ln_2(x))))


class ReferenceGPT(nn.Module):
    """A nanoGPT-style model of the same size: learned positions, erf GELU, no KV cache."""

    def __init__(
        self, vocab_size: int, n_layer: int = 4, n_head: int = 4, n_embd: int = 128
    ) -> None:
        super().__init__()
        self.wte = nn.Embedding(vocab_size, n_embd)
        self.wpe = nn.Embedding(BLOCK_SIZE, n_embd)
        self.blocks = nn.Sequential(*(ReferenceBlock(n_embd, n_head) for _ in range(n_layer)))
        self.ln_f = nn.LayerNorm(n_embd, bias=False)
        self.lm_head = nn.Linear(n_embd, vocab_size, bias=False)
        self.wte.weight = self.lm_head.weight
        for p in self.parameters():
            if p.dim() == 2:
                nn.init.normal_(p, std=0.02)

    def forward(self, idx: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        T = idx.size(1)
        x = self.wte(idx) + self.wpe(torch.arange(T, device=idx.device))  # (B, T, C)
        logits = self.lm_head(self.ln_f(self.blocks(x)))  # (B, T, V)
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))


def time_reference(text: str, threads: int, steps: int, device: torch.device) -> float:
    """Median ms per step of nanoGPT's loop: batch of row slices, AdamW, clip, loss.item()."""
    vocab = Vocab.from_text(text)
    data = torch.tensor(vocab.encode(text[: int(0.9 * len(text))]))
    gen = torch.Generator().manual_seed(1337)
    torch.manual_seed(1337)
    model = ReferenceGPT(vocab.size).to(device)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    other = [p for p in model.parameters() if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": 0.1}, {"params": other, "weight_decay": 0.0}]
    optimizer = torch.optim.AdamW(groups, lr=1e-3, betas=(0.9, 0.99), foreach=False)
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    times = []
    try:
        for i in range(steps + WARMUP_STEPS):
            t0 = time.perf_counter()
            ix = torch.randint(len(data) - BLOCK_SIZE, (BATCH_SIZE,), generator=gen)
            x = torch.stack([data[j : j + BLOCK_SIZE] for j in ix]).to(device)
            y = torch.stack([data[j + 1 : j + 1 + BLOCK_SIZE] for j in ix]).to(device)
            loss = model(x, y)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            loss.item()
            if i >= WARMUP_STEPS:
                times.append(time.perf_counter() - t0)
    finally:
        torch.set_num_threads(previous)
    return median_ms(times)


def training_rows(text: str, plan: Plan, device: torch.device) -> list[TrainTiming]:
    from charlm_tui.core.precision import bf16_native

    rows = []
    thread_counts: list[int] = [1, 2] if device.type == "cpu" else [torch.get_num_threads()]
    native = bf16_native(device)
    for threads in thread_counts:
        shown: int | str = threads if device.type == "cpu" else "-"
        ref = time_reference(text, threads, plan.train_steps, device)
        rows.append(TrainTiming("nanoGPT-style plain loop", "float32", shown, ref))
        for dtype in ("float32", "bfloat16"):
            steps = plan.train_steps if dtype == "float32" or native else plan.emulated_bf16_steps
            if steps == 0:
                rows.append(
                    TrainTiming(
                        "Trainer", dtype, shown, math.nan, "emulated here: skipped (--quick)"
                    )
                )
                continue
            ms = time_trainer(text, dtype, threads, steps, str(device))
            note = f"{ref / ms:.2f}x the reference"
            if dtype == "bfloat16" and not native:
                note += "; bfloat16 emulated here"
            rows.append(TrainTiming("Trainer", dtype, shown, ms, note))
    return rows


# ---- generation ------------------------------------------------------------------------


def generation_model(vocab_size: int, device: torch.device) -> CharModel:
    torch.manual_seed(0)
    overrides = {**NANOGPT_CPU, "block_size": GENERATION_WINDOW}
    return build_model("gpt", vocab_size, **overrides).to(device).eval()


def time_cached(
    model: CharModel, vocab: Vocab, text: str, context: int, n: int, warmup: int = 5
) -> float:
    """ms per character of Generator.next_char, starting with `context` characters read."""
    gen = Generator(model, vocab, text[:context], SamplingOptions(seed=1, length=n))
    for _ in range(warmup):
        gen.next_char()
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        gen.next_char()
        times.append(time.perf_counter() - t0)
    return median_ms(times)


class WindowRecompute(CharModel):
    """A model without its generation state: each step reruns forward over the last
    `block_size` characters, as nanoGPT's `generate` does. The same Generator drives it,
    so the characters drawn are the cached model's own (while the text fits the window).
    """

    name = "recompute"

    def __init__(self, model: CharModel) -> None:
        super().__init__(model.config)
        self.inner = model

    @property
    def context_size(self) -> int:
        return self.block_size

    def compute_logits(self, idx: torch.Tensor) -> torch.Tensor:
        return self.inner.compute_logits(idx)

    def init_state(self, batch_size: int = 1) -> torch.Tensor:
        return torch.zeros(batch_size, 0, dtype=torch.long, device=self.device)  # (B, 0)

    def step(self, idx: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        window = torch.cat([state, idx], dim=1)[:, -self.block_size :]  # (B, <= block_size)
        return self.inner.compute_logits(window)[:, -1], window


def time_uncached(model: CharModel, vocab: Vocab, text: str, context: int, n: int) -> float:
    """ms per character when every character reruns the whole cropped window."""
    return time_cached(WindowRecompute(model), vocab, text, context, n, warmup=1)


def time_typing(model: CharModel, vocab: Vocab, text: str, context: int, n: int) -> float:
    """ms for the console's next-character distribution after one more typed character."""
    gen = Generator(model, vocab, text[:context])
    times = []
    for ch in text[context : context + n]:
        t0 = time.perf_counter()
        gen.feed(ch)
        gen.probs.max()
        times.append(time.perf_counter() - t0)
    return median_ms(times)


# ---- the notebook recipe -------------------------------------------------------------------


def time_notebook(text: str, with_files: bool, device: str) -> tuple[float, float, float]:
    """(seconds to build the Trainer, seconds of Trainer.run, final val perplexity)."""

    config = TrainConfig.defaults_for("bigram", device=device)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        trainer = Trainer(config, text, out_dir=tmp if with_files else None)
        t1 = time.perf_counter()
        result = trainer.run()
        t2 = time.perf_counter()
    ppl = math.exp(result.final_val_loss) if result.final_val_loss is not None else math.nan
    return t1 - t0, t2 - t1, ppl


def notebook_in_app_and_alone(
    dataset: Dataset, device: str, app_first: bool = True
) -> tuple[float, float]:
    """Seconds to the last eval of the notebook recipe in the app and in a bare Trainer:
    both on one torch thread (the app leaves the other core to the UI) and writing a run
    folder. The app is the real one, headless: its worker thread trains while its event
    loop takes the run's messages and draws the training screen, chart and all. Which
    goes first alternates from pair to pair, so that neither always inherits the heap and
    the caches the other left."""
    import asyncio

    from charlm_tui.tui.app import CharLMApp, TuiOptions

    corpus = dataset.corpus
    config = TrainConfig.defaults_for(
        "bigram", device=device, threads=1, newlines_to_spaces=corpus.newlines_to_spaces
    )

    async def in_app(runs_root: Path) -> float:
        app = CharLMApp(TuiOptions(threads=1, runs_root=runs_root, load_on_start=False))
        async with app.run_test(size=(100, 30)) as pilot:
            app.set_dataset(dataset)
            await pilot.press("2")  # the training screen, where a run costs the UI most
            if not app.start_training(config):
                raise RuntimeError("the app did not start the run")
            while app.history.finished is None:
                await asyncio.sleep(0.05)
        if not app.history.evals:
            raise RuntimeError(f"the run in the app ended early: {app.history.finished.message}")
        return app.history.evals[-1].elapsed_s

    def alone(runs_root: Path) -> float:  # Trainer.run takes config.threads (1)
        return Trainer(config, corpus.text, out_dir=runs_root / "alone").run().history[-1].elapsed_s

    threads_before = torch.get_num_threads()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            if app_first:
                app_s = asyncio.run(in_app(Path(tmp)))
                alone_s = alone(Path(tmp))
            else:
                alone_s = alone(Path(tmp))
                app_s = asyncio.run(in_app(Path(tmp)))
    finally:
        torch.set_num_threads(threads_before)
    return app_s, alone_s


def notebook_corpus(bench_corpus: Corpus) -> Corpus:
    """The notebook's Sherlock (newlines as spaces) when at hand, else the bench corpus."""
    from charlm_tui.core.corpus import load_corpus

    try:
        return load_corpus("sherlock", newlines_to_spaces=True, download=False)
    except Exception:  # offline without a mirror: the bench's own corpus stands in
        return bench_corpus


# ---- the table --------------------------------------------------------------------------


def _fmt(value: float, spec: str = ".2f") -> str:
    return "-" if math.isnan(value) else format(value, spec)


def run_bench(
    quick: bool = False,
    corpus: str = "shakespeare",
    device: str = "auto",
    out: TextIO | None = None,
) -> int:
    """Measure and print the table; returns the exit status (0)."""
    from charlm_tui.core.corpus import load_corpus

    out = out or sys.stdout
    plan = QUICK if quick else FULL
    dev = pick_device(device)
    bench_corpus = load_corpus(corpus, newlines_to_spaces=False)
    text = bench_corpus.text
    started = time.perf_counter()
    threads_before = torch.get_num_threads()

    def say(line: str = "") -> None:
        print(line.rstrip(), file=out, flush=True)

    say(f"charlm bench{' --quick' if quick else ''}: corpus {corpus}")
    for line in machine_lines(dev):
        say(line)

    say()
    say(
        f"training: gpt 4 layers x 4 heads x 128 wide, block {BLOCK_SIZE}, batch {BATCH_SIZE} (nanoGPT's CPU config)"
    )
    say(f"  {'loop':<26}{'precision':<11}{'threads':>7}{'ms/iter':>10}{'tokens/s':>10}  note")
    for row in training_rows(text, plan, dev):
        say(
            f"  {row.label:<26}{row.dtype:<11}{row.threads!s:>7}{_fmt(row.ms_per_iter):>10}"
            f"{_fmt(row.tokens_per_s, ',.0f'):>10}  {row.note}"
        )
    torch.set_num_threads(threads_before)

    vocab = Vocab.from_text(text)
    model = generation_model(vocab.size, dev)
    # One character is a chain of tiny kernels: a second thread only adds synchronisation
    # (and on a busy machine it multiplied the time per character), so the console and
    # `charlm sample` generate on one thread; so does this.
    torch.set_num_threads(1)
    say()
    say(f"generation: the same gpt with a {GENERATION_WINDOW}-character window, float32, 1 thread")
    say(f"  {'context':>9}{'cached ms/char':>16}{'uncached ms/char':>18}{'speedup':>9}")
    long_text = text * (1 + 2 * GENERATION_WINDOW // max(1, len(text)))
    for context in CONTEXTS:
        cached = time_cached(model, vocab, long_text, context, plan.cached_chars)
        uncached = time_uncached(model, vocab, long_text, context, plan.uncached_chars)
        say(f"  {context:>9}{cached:>16.3f}{uncached:>18.3f}{uncached / cached:>8.0f}x")
    typed = time_typing(model, vocab, long_text, 256, plan.typed_chars)
    say(f"  console: next-character distribution after one more typed character: {typed:.3f} ms")

    notebook = notebook_corpus(bench_corpus)
    nb_text, nb_name = notebook.text, notebook.name
    say()
    say(f"notebook recipe: bigram, 100 epochs x 10 steps + 100 x 10 val windows, on {nb_name}")
    runs = [time_notebook(nb_text, False, device) for _ in range(plan.notebook_runs)]
    build = statistics.median(r[0] for r in runs)
    run = statistics.median(r[1] for r in runs)
    say(
        f"  Trainer.run {run:.2f} s (median of {len(runs)}), building the Trainer {build:.2f} s, val perplexity {runs[0][2]:.3f}"
    )
    if plan.notebook_with_files:
        _, run_files, _ = time_notebook(nb_text, True, device)
        say(f"  with a run folder (checkpoints, as charlm train writes them): {run_files:.2f} s")
    torch.set_num_threads(threads_before)
    from charlm_tui.tui.session import Dataset

    notebook_dataset = Dataset.build(notebook)
    pairs = [
        notebook_in_app_and_alone(notebook_dataset, device, app_first=i % 2 == 0)
        for i in range(plan.app_pairs)
    ]
    in_app = statistics.median(p[0] for p in pairs)
    alone = statistics.median(p[1] for p in pairs)
    ratio = statistics.median(p[1] / p[0] for p in pairs)
    say(
        f"  inside the app (headless), 1 thread, run folder: {in_app:.2f} s against {alone:.2f} s "
        f"for a bare Trainer: the app trains at {ratio:.0%} of its speed "
        f"(medians of {len(pairs)} interleaved pair{'s' if len(pairs) > 1 else ''})"
    )

    say()
    say(f"load avg   {load_average()} at the end; {time.perf_counter() - started:.0f} s in all")
    return 0
