"""Provides `charlm bench`: training and generation speed on this machine, as a table.

Every number comes from the code paths the CLI and the app run, and every ratio compares
two of them; the comparison with the real nanoGPT needs its checkout and lives outside
the package (benchmarks/against_nanogpt.py):

- training: `Trainer.run` on nanoGPT's CPU config (4 layers, 4 heads, width 128, block
  64, batch 12, dropout 0), per precision and thread count, with the bfloat16/float32
  and 2/1-thread ratios;
- generation: `Generator.next_char` (the KV cache, `model.step`) against one `forward`
  over the whole cropped window per character, as nanoGPT's `generate` does;
- the console: `Generator.feed` of one more typed character, with its distribution;
- the notebook recipe: `charlm train`'s defaults for `bigram`, through `Trainer.run`;
- inside the app: a measurement the caller passes in (`charlm bench` passes
  `tui.bench_app`'s), so that this module imports nothing but the core.

Times are medians of per-step or per-character timings. The machine line gives the load
average before and after: other processes on a 2-core machine change every number here.
"""

from __future__ import annotations

import math
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

import torch

from charlm_tui.core.corpus import Corpus
from charlm_tui.core.events import StepCompleted
from charlm_tui.core.models import CharModel, build_model
from charlm_tui.core.sample import Generator, SamplingOptions
from charlm_tui.core.train import TrainConfig, Trainer, pick_device
from charlm_tui.core.vocab import Vocab

# The in-app measurement: (the notebook corpus, pairs to time, device) -> a line to print.
InAppBench = Callable[[Corpus, int, str], str]

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


QUICK = Plan(12, 2, 40, 4, 40, 1, False, 1)
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


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def machine_lines(device: torch.device) -> list[str]:
    from charlm_tui.core.precision import cpu_model, describe

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


def training_rows(text: str, plan: Plan, device: torch.device) -> list[TrainTiming]:
    from charlm_tui.core.precision import bf16_native

    rows: list[TrainTiming] = []
    thread_counts: list[int] = [1, 2] if device.type == "cpu" else [torch.get_num_threads()]
    native = bf16_native(device)
    float32_ms: dict[int, float] = {}
    for threads in thread_counts:
        shown: int | str = threads if device.type == "cpu" else "-"
        for dtype in ("float32", "bfloat16"):
            steps = plan.train_steps if dtype == "float32" or native else plan.emulated_bf16_steps
            if steps == 0:
                rows.append(TrainTiming("Trainer", dtype, shown, math.nan, "emulated: skipped"))
                continue
            ms = time_trainer(text, dtype, threads, steps, str(device))
            if dtype == "float32":
                float32_ms[threads] = ms
                note = (
                    ""
                    if threads == 1 or 1 not in float32_ms
                    else (f"{float32_ms[1] / ms:.2f}x the speed of 1 thread")
                )
            else:
                note = f"{float32_ms[threads] / ms:.2f}x the speed of float32"
                note += "" if native else "; bfloat16 emulated here"
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


@torch.inference_mode()
def time_recompute(model: CharModel, vocab: Vocab, text: str, context: int, n: int) -> float:
    """ms per character when every character reruns forward over the whole cropped
    window (nanoGPT's `generate`): the model's forward and a draw, n times."""
    ids = torch.tensor([vocab.encode(text[: max(1, context)])], device=model.device)
    window = ids[:, -model.block_size :]
    rng = torch.Generator(device=model.device).manual_seed(1)
    times = []
    for _ in range(n + 1):
        t0 = time.perf_counter()
        probs = torch.softmax(model.compute_logits(window)[0, -1], dim=-1)
        torch.multinomial(probs, 1, generator=rng)
        times.append(time.perf_counter() - t0)
    return median_ms(times[1:])


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
    in_app: InAppBench | None = None,
) -> int:
    """Measure and print the table; returns the exit status (0). `in_app` measures the
    notebook recipe inside the app (left out when None)."""
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
    say(f"  {'loop':<10}{'precision':<11}{'threads':>7}{'ms/iter':>10}{'tokens/s':>10}  note")
    for row in training_rows(text, plan, dev):
        say(
            f"  {row.label:<10}{row.dtype:<11}{row.threads!s:>7}{_fmt(row.ms_per_iter):>10}"
            f"{_fmt(row.tokens_per_s, ',.0f'):>10}  {row.note}"
        )
    say("  against the real nanoGPT: python benchmarks/against_nanogpt.py NANOGPT_CHECKOUT")
    torch.set_num_threads(threads_before)

    vocab = Vocab.from_text(text)
    model = generation_model(vocab.size, dev)
    # One character is a chain of tiny kernels: a second thread only adds synchronisation
    # (and on a busy machine it multiplied the time per character), so the console and
    # `charlm sample` generate on one thread; so does this.
    torch.set_num_threads(1)
    say()
    say(f"generation: the same gpt with a {GENERATION_WINDOW}-character window, float32, 1 thread")
    say(f"  {'context':>9}{'cached ms/char':>16}{'recompute ms/char':>19}{'speedup':>9}")
    long_text = text * (1 + 2 * GENERATION_WINDOW // max(1, len(text)))
    cached_at: dict[int, float] = {}
    for context in CONTEXTS:
        cached = cached_at[context] = time_cached(
            model, vocab, long_text, context, plan.cached_chars
        )
        recompute = time_recompute(model, vocab, long_text, context, plan.uncached_chars)
        say(f"  {context:>9}{cached:>16.3f}{recompute:>19.3f}{recompute / cached:>8.0f}x")
    say(f"  flat: {cached_at[CONTEXTS[-1]] / cached_at[CONTEXTS[1]]:.2f}x the time per character "
        f"at {CONTEXTS[-1]} as at {CONTEXTS[1]}")  # fmt: skip
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
    if in_app is not None:
        say(f"  {in_app(notebook, plan.app_pairs, device)}")

    say()
    say(f"load avg   {load_average()} at the end; {time.perf_counter() - started:.0f} s in all")
    return 0
