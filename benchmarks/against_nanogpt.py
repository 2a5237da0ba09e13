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
every 250) with its val loss, wall and CPU time, beside `charlm train --time` budgets
(whole-val loss; run one after the other while nanoGPT runs, so both share the load).

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
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

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


def nano_step(model: Any, optimizer: Any, data: np.ndarray) -> None:
    """One iteration of nanoGPT's train.py on a CPU: its batch, forward, backward, clip,
    AdamW step, zero_grad and loss.item()."""
    import torch

    ix = torch.randint(len(data) - 64, (12,))
    x = torch.stack([torch.from_numpy(data[i : i + 64].astype(np.int64)) for i in ix])
    y = torch.stack([torch.from_numpy(data[i + 1 : i + 65].astype(np.int64)) for i in ix])
    _, loss = model(x, y)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    loss.item()


def step_by_step(nanogpt: Path, steps: int) -> None:
    """One process, one step of each in turn: nanoGPT's own model.py and optimizer setup
    (`configure_optimizers`: AdamW, unfused on a CPU), its batch and step as train.py does
    them, against `Trainer.steps`. Alternating every step, both see the same load."""
    import torch

    sys.path.insert(0, str(nanogpt))
    from model import GPT, GPTConfig  # nanoGPT's model.py

    from charlm_tui.core.control import RunControl
    from charlm_tui.core.train import TrainConfig, Trainer

    text = shakespeare_text()
    chars = sorted(set(text))
    stoi = {ch: i for i, ch in enumerate(chars)}
    data = np.array([stoi[c] for c in text[: int(len(text) * 0.9)]], dtype=np.uint16)
    print(f"step by step, in one process, {steps} steps each; load avg {load()} at start")
    for threads in (1, 2):
        torch.set_num_threads(threads)
        torch.manual_seed(1337)
        model = GPT(GPTConfig(block_size=64, vocab_size=len(chars), n_layer=4, n_head=4,
                              n_embd=128, dropout=0.0, bias=False))  # fmt: skip
        optimizer = model.configure_optimizers(0.1, 1e-3, (0.9, 0.99), "cpu")

        config = TrainConfig.defaults_for(
            "gpt", **{**CHARLM_SETTINGS, "steps": steps + SKIP}, eval_interval=10**9,
            eval_batches=1, sample_length=0, final_eval=False, dtype="float32",
            threads=threads, device="cpu",
        )  # fmt: skip
        trainer = Trainer(config, text)
        trainer._started, trainer._start_step = time.perf_counter(), 0  # as run() sets them
        charlm_steps = trainer.steps(RunControl())
        torch.set_num_threads(threads)
        times: dict[str, list[float]] = {"nanoGPT": [], "charlm": []}
        for i in range(steps + SKIP):
            t0 = time.perf_counter()
            nano_step(model, optimizer, data)
            t1 = time.perf_counter()
            next(charlm_steps)
            t2 = time.perf_counter()
            if i >= SKIP:
                times["nanoGPT"].append((t1 - t0) * 1000)
                times["charlm"].append((t2 - t1) * 1000)
        nano, charlm = (statistics.median(times[k]) for k in ("nanoGPT", "charlm"))
        print(f"  {threads} thread(s), float32: nanoGPT {nano:.2f} ms/step, charlm "
              f"{charlm:.2f} ms/step: charlm is {nano / charlm:.2f}x nanoGPT's speed")  # fmt: skip
    print(f"load avg {load()} at the end")


def timed(args: list[str], cwd: Path | None = None, threads: int = 1) -> tuple[str, float, float]:
    """Run a command to its end: (stdout, wall seconds, CPU seconds of user and system)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        args, cwd=cwd, env=thread_env(threads), stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise subprocess.CalledProcessError(proc.returncode, args, out)
    return out, time.perf_counter() - t0, usage.ru_utime + usage.ru_stime


def quality(nanogpt: Path, workdir: Path, budgets: list[str], threads: int) -> None:
    """nanoGPT's README run beside charlm's --time runs, at the same time (so both share
    the machine's load): val losses, wall and CPU seconds. The CPU seconds move less with
    the load than the wall time does."""
    print(f"time to quality, {threads} thread(s) each; load avg {load()} at start")
    with ThreadPoolExecutor(max_workers=1) as pool:
        nano = pool.submit(
            timed,
            [
                sys.executable, str(nanogpt / "train.py"),
                str(nanogpt / "config" / "train_shakespeare_char.py"), *CPU_FLAGS,
                "--dtype=float32", "--max_iters=2000", "--lr_decay_iters=2000",
                "--eval_interval=250", f"--out_dir={workdir / 'out-quality'}",
            ],
            workdir,
            threads,
        )  # fmt: skip
        for budget in budgets:
            args = [
                sys.executable, "-m", "charlm_tui", "train", "--model", "gpt", "--corpus",
                "shakespeare", "--keep-newlines", "--train-fraction", "0.9", "--time", budget,
                "--threads", str(threads), "--out", str(workdir / f"charlm-{budget}"),
            ]  # fmt: skip
            out, wall, cpu = timed(args, threads=threads)
            last = out.strip().splitlines()[-1]
            loss = re.search(r"loss ([\d.]+)", last)
            steps = re.search(r"finished (\d+) steps", last)
            print(f"  charlm --time {budget}: {wall:.1f} s end to end, {cpu:.1f} s CPU; "
                  f"{steps.group(1) if steps else '?'} steps; whole-val loss "
                  f"{loss.group(1) if loss else last}; load avg {load()}", flush=True)  # fmt: skip
        out, wall, cpu = nano.result()
    times = [float(m) for m in re.findall(r"^iter \d+: loss [\d.]+, time ([\d.]+)ms", out, re.M)]
    print(f"  nanoGPT 2000 iters: {wall:.1f} s end to end, {cpu:.1f} s CPU, "
          f"median {statistics.median(times[SKIP:]):.1f} ms/iter")  # fmt: skip
    for step, train, val in re.findall(
        r"^step (\d+): train loss ([\d.]+), val loss ([\d.]+)", out, re.M
    ):
        print(f"    step {step}: train loss {train}, val loss {val} (20 batches)")
    print(f"load avg {load()} at the end")


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
    parser.add_argument("--step-by-step", type=int, default=0, metavar="STEPS",
                        help="also alternate single steps in one process")  # fmt: skip
    parser.add_argument("--quality", action="store_true", help="also time to quality")
    parser.add_argument("--budgets", default="35s,60s", help="charlm --time budgets")
    parser.add_argument("--quality-threads", type=int, default=1)
    args = parser.parse_args()
    import torch

    print(f"cpu capability {torch.backends.cpu.get_cpu_capability()}, {os.cpu_count()} cores, "
          f"torch {torch.__version__}")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        prepare_nanogpt_data(shakespeare_text(), workdir, args.nanogpt)
        if not args.no_speed:
            speed(args.nanogpt, workdir, args.steps, args.rounds, args.bf16_steps)
        if args.step_by_step:
            step_by_step(args.nanogpt, args.step_by_step)
        if args.quality:
            quality(args.nanogpt, workdir, args.budgets.split(","), args.quality_threads)


if __name__ == "__main__":
    main()
