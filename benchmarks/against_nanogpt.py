"""charlm against the real nanoGPT (karpathy/nanoGPT), side by side on this machine.

    git clone https://github.com/karpathy/nanoGPT /path/to/nanoGPT
    python benchmarks/against_nanogpt.py /path/to/nanoGPT [--steps 40] [--rounds 3]
    python benchmarks/against_nanogpt.py /path/to/nanoGPT --quality   # + time to quality

Speed: nanoGPT's `train.py` with its README CPU flags (4 layers x 4 heads x 128, block
64, batch 12, dropout 0, --compile=False) and `--dtype` float32 and bfloat16, against
`charlm`'s Trainer (the `charlm train` loop: `Trainer.run`) on the same Tiny Shakespeare
90/10 split, the same model size, batch and schedule, per thread count (1 and 2). Every
run is its own process; the rounds interleave the variants (order reversed every other
round); each run gives its median ms per step after its first steps, and the table
gives the median over rounds. nanoGPT times a step from one `loss.item()` to the next,
charlm from one `StepCompleted` event to the next: both the whole loop.

nanoGPT on a CPU ignores `--dtype` for the computation: its `ctx` is `nullcontext()`
when the device is the CPU (train.py), so its "bfloat16" rows run float32.

Quality (--quality): nanoGPT's README run (2000 iterations, its evals of 20 batches
every 250) with its val loss and wall time, against `charlm train --time` budgets until
charlm's whole-val loss reaches 1.80; both run alone, one after the other.

This script is not part of the wheel: it needs a nanoGPT checkout, and `charlm bench
--quick` prints the ratios measurable without one.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CPU_FLAGS = [
    "--device=cpu", "--compile=False", "--eval_iters=20", "--log_interval=1",
    "--block_size=64", "--batch_size=12", "--n_layer=4", "--n_head=4", "--n_embd=128",
    "--dropout=0.0",
]  # fmt: skip
SKIP = 5  # first steps left out of each run's median (iteration 0 includes an eval)
CHARLM_SETTINGS = dict(
    steps=0, batch_size=12, block_size=64, lr=1e-3, min_lr=1e-4, warmup_steps=100,
    weight_decay=0.1, grad_clip=1.0, train_fraction=0.9,
    model_overrides={"n_layer": 4, "n_head": 4, "n_embd": 128, "block_size": 64, "dropout": 0.0},
)  # fmt: skip


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def shakespeare_text() -> str:
    from charlm_tui.core.corpus import load_corpus

    return load_corpus("shakespeare", newlines_to_spaces=False).text


def prepare_nanogpt_data(text: str, workdir: Path, nanogpt: Path) -> None:
    """nanoGPT's shakespeare_char format under workdir/data: uint16 ids, 90/10, meta.pkl."""
    chars = sorted(set(text))
    stoi = {ch: i for i, ch in enumerate(chars)}
    data = workdir / "data" / "shakespeare_char"
    data.mkdir(parents=True)
    n = int(len(text) * 0.9)
    for name, part in (("train", text[:n]), ("val", text[n:])):
        np.array([stoi[c] for c in part], dtype=np.uint16).tofile(data / f"{name}.bin")
    meta = {"vocab_size": len(chars), "itos": dict(enumerate(chars)), "stoi": stoi}
    with open(data / "meta.pkl", "wb") as f:
        pickle.dump(meta, f)
    # train.py reads configurator.py from its working directory
    (workdir / "configurator.py").write_text((nanogpt / "configurator.py").read_text())


def thread_env(threads: int) -> dict[str, str]:
    env = dict(os.environ)
    env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = str(threads)
    return env


def run_nanogpt(
    nanogpt: Path, workdir: Path, dtype: str, threads: int, steps: int, extra: list[str]
) -> tuple[list[float], str]:
    """nanoGPT's ms per iteration (its own log) and its whole output."""
    args = [
        sys.executable, str(nanogpt / "train.py"),
        str(nanogpt / "config" / "train_shakespeare_char.py"), *CPU_FLAGS,
        f"--dtype={dtype}", f"--max_iters={steps}", f"--lr_decay_iters={steps}",
        f"--out_dir={workdir / 'out'}", *extra,
    ]  # fmt: skip
    out = subprocess.run(
        args, cwd=workdir, env=thread_env(threads), capture_output=True, text=True, check=True
    ).stdout
    times = [float(m) for m in re.findall(r"^iter \d+: loss [\d.]+, time ([\d.]+)ms", out, re.M)]
    return times, out


def charlm_worker(dtype: str, threads: int, steps: int) -> None:
    """In a child process: `Trainer.run` with nanoGPT's settings; prints ms per step."""
    import torch

    from charlm_tui.core.events import StepCompleted
    from charlm_tui.core.train import TrainConfig, Trainer

    torch.set_num_threads(threads)
    stamps: list[float] = []

    def on_event(event: object) -> None:
        if isinstance(event, StepCompleted):
            stamps.append(time.perf_counter())

    settings = {**CHARLM_SETTINGS, "steps": steps}
    config = TrainConfig.defaults_for(
        "gpt", **settings, eval_interval=10**9, eval_batches=1, sample_length=0,
        final_eval=False, dtype=dtype, threads=threads, device="cpu",
    )  # fmt: skip
    Trainer(config, shakespeare_text(), on_event=on_event).run()
    gaps = [(b - a) * 1000 for a, b in zip(stamps, stamps[1:], strict=False)]
    print(json.dumps(gaps))


def run_charlm(dtype: str, threads: int, steps: int) -> list[float]:
    args = [sys.executable, __file__, "--charlm-worker", dtype, str(threads), str(steps)]
    out = subprocess.run(
        args, env=thread_env(threads), capture_output=True, text=True, check=True
    ).stdout
    return [float(x) for x in json.loads(out.strip().splitlines()[-1])]


def speed(nanogpt: Path, workdir: Path, steps: int, rounds: int, bf16_steps: int) -> None:
    variants = [
        ("nanoGPT", "float32"), ("nanoGPT", "bfloat16"),
        ("charlm", "float32"), ("charlm", "bfloat16"),
    ]  # fmt: skip
    print(f"speed: ms/step, median over {rounds} interleaved rounds of each run's median")
    print(f"load avg {load()} at start")
    print(f"  {'threads':>7}  {'loop':<9}{'--dtype':<10}{'ms/step':>9}  per round")
    for threads in (1, 2):
        medians: dict[tuple[str, str], list[float]] = {v: [] for v in variants}
        for r in range(rounds):
            order = variants if r % 2 == 0 else variants[::-1]
            for loop, dtype in order:
                n = bf16_steps if (loop, dtype) == ("charlm", "bfloat16") else steps
                if loop == "nanoGPT":
                    times, _ = run_nanogpt(nanogpt, workdir, dtype, threads, n, [])
                else:
                    times = run_charlm(dtype, threads, n)
                medians[(loop, dtype)].append(statistics.median(times[min(SKIP, n // 2) :]))
        result = {v: statistics.median(m) for v, m in medians.items()}
        for (loop, dtype), ms in result.items():
            rounds_text = " ".join(f"{x:.1f}" for x in medians[(loop, dtype)])
            print(f"  {threads:>7}  {loop:<9}{dtype:<10}{ms:>9.2f}  {rounds_text}")
        for dtype in ("float32", "bfloat16"):
            ratio = result[("nanoGPT", dtype)] / result[("charlm", dtype)]
            print(f"  {threads:>7}  charlm is {ratio:.2f}x nanoGPT's speed at --dtype {dtype}")
        fp32 = result[("nanoGPT", "float32")] / result[("charlm", "float32")]
        print(f"  {threads:>7}  (nanoGPT bfloat16 / float32 time: "
              f"{result[('nanoGPT', 'bfloat16')] / result[('nanoGPT', 'float32')]:.2f}; "
              f"charlm float32 against nanoGPT float32: {fp32:.2f}x)")  # fmt: skip
        print(f"load avg {load()}")


def quality(nanogpt: Path, workdir: Path, budgets: list[str]) -> None:
    print(f"time to quality, load avg {load()} at start")
    t0 = time.perf_counter()
    times, out = run_nanogpt(nanogpt, workdir, "float32", 2, 2000, ["--eval_interval=250"])
    wall = time.perf_counter() - t0
    evals = re.findall(r"^step (\d+): train loss ([\d.]+), val loss ([\d.]+)", out, re.M)
    print(f"  nanoGPT 2000 iters, 2 threads: {wall:.1f} s end to end, "
          f"median {statistics.median(times[SKIP:]):.1f} ms/iter")  # fmt: skip
    for step, train, val in evals:
        print(f"    step {step}: train loss {train}, val loss {val} (20 batches)")
    print(f"load avg {load()}")
    for budget in budgets:
        args = [
            sys.executable, "-m", "charlm_tui", "train", "--model", "gpt", "--corpus",
            "shakespeare", "--keep-newlines", "--train-fraction", "0.9", "--time", budget,
            "--threads", "2", "--out", str(workdir / f"charlm-{budget}"),
        ]  # fmt: skip
        t0 = time.perf_counter()
        out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
        wall = time.perf_counter() - t0
        last = out.strip().splitlines()[-1]
        loss = re.search(r"loss ([\d.]+)", last)
        steps = re.search(r"finished (\d+) steps", last)
        print(f"  charlm --time {budget}, 2 threads: {wall:.1f} s end to end; "
              f"{steps.group(1) if steps else '?'} steps; whole-val loss "
              f"{loss.group(1) if loss else last}")  # fmt: skip
        print(f"load avg {load()}")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--charlm-worker":
        charlm_worker(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("nanogpt", type=Path, help="a checkout of karpathy/nanoGPT")
    parser.add_argument("--steps", type=int, default=40, help="steps per speed run")
    parser.add_argument("--bf16-steps", type=int, default=8, help="charlm bfloat16 steps")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-speed", action="store_true")
    parser.add_argument("--quality", action="store_true", help="also time to quality")
    parser.add_argument("--budgets", default="35s,60s", help="charlm --time budgets")
    args = parser.parse_args()
    import torch

    print(f"cpu capability {torch.backends.cpu.get_cpu_capability()}, {os.cpu_count()} cores, "
          f"torch {torch.__version__}")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        prepare_nanogpt_data(shakespeare_text(), workdir, args.nanogpt)
        if not args.no_speed:
            speed(args.nanogpt, workdir, args.steps, args.rounds, args.bf16_steps)
        if args.quality:
            quality(args.nanogpt, workdir, args.budgets.split(","))


if __name__ == "__main__":
    main()
