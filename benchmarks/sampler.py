"""Drawing one character from next-character logits: the hand-made inverse-CDF `Picker`
against `torch.multinomial` and against cumsum + searchsorted, per character, as the
console and `charlm sample` draw them (new logits every character).

    python benchmarks/sampler.py [--rounds 30] [--draws 400]

Interleaved: each round times every variant once on the same logits, in turn; the table
gives the medians over rounds of the per-draw median. One torch thread, as generation.
"""

from __future__ import annotations

import argparse
import bisect
import os
import statistics
import time
from collections.abc import Callable

import torch

from charlm_tui.core.sample import Picker, SamplingOptions, _candidates

Draw = Callable[[torch.Tensor, SamplingOptions, torch.Generator], int]


def picker(logits: torch.Tensor, options: SamplingOptions, rng: torch.Generator) -> int:
    # The Generator draws its uniforms 64 at a time; one float per character is its cost.
    u = float(torch.rand((), generator=rng, dtype=torch.float64))
    return Picker.make(logits, options).pick(u)


def multinomial(logits: torch.Tensor, options: SamplingOptions, rng: torch.Generator) -> int:
    weights, ids = _candidates(logits, options)
    j = int(torch.multinomial(weights, 1, generator=rng))
    return j if ids is None else int(ids[j])


def searchsorted(logits: torch.Tensor, options: SamplingOptions, rng: torch.Generator) -> int:
    u = float(torch.rand((), generator=rng, dtype=torch.float64))
    weights, ids = _candidates(logits, options)
    cdf = torch.cumsum(weights, dim=0)
    j = min(int(torch.searchsorted(cdf, cdf[-1:] * u, right=True)), cdf.numel() - 1)
    return j if ids is None else int(ids[j])


VARIANTS: dict[str, Draw] = {
    "Picker": picker,
    "multinomial": multinomial,
    "cumsum+searchsorted": searchsorted,
}


def time_draws(draw: Draw, rows: torch.Tensor, options: SamplingOptions) -> float:
    """Median microseconds of one draw over the rows of logits (N, V)."""
    rng = torch.Generator().manual_seed(0)
    times = []
    for logits in rows:
        t0 = time.perf_counter()
        draw(logits, options, rng)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e6


def memo_picks(rows: torch.Tensor, rounds: int) -> dict[str, float]:
    """A one-character model's memo: the CDF of a row made once, then drawn from again
    and again. Median microseconds per draw: bisect on a Python list, searchsorted on a
    tensor, multinomial on the probabilities."""
    probs = torch.softmax(rows, dim=-1)
    lists = torch.cumsum(probs.double(), dim=-1).tolist()
    cdfs = torch.cumsum(probs, dim=-1)
    rng = torch.Generator().manual_seed(0)
    us = torch.rand(len(rows), dtype=torch.float64).tolist()

    def by_bisect(i: int) -> int:
        cdf = lists[i]
        return bisect.bisect_right(cdf, us[i] * cdf[-1])

    def by_searchsorted(i: int) -> int:
        cdf = cdfs[i]
        return int(torch.searchsorted(cdf, cdf[-1:] * us[i], right=True))

    def by_multinomial(i: int) -> int:
        return int(torch.multinomial(probs[i], 1, generator=rng))

    variants = {"bisect": by_bisect, "searchsorted": by_searchsorted, "multinomial": by_multinomial}
    results: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, pick in variants.items():
            times = []
            for i in range(len(rows)):
                t0 = time.perf_counter()
                pick(i)
                times.append(time.perf_counter() - t0)
            results[name].append(statistics.median(times) * 1e6)
    return {name: statistics.median(v) for name, v in results.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--draws", type=int, default=400)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"load avg {' '.join(f'{x:.2f}' for x in os.getloadavg())} at start")
    cases = [
        (83, SamplingOptions()),
        (83, SamplingOptions(temperature=0.8, top_k=40, top_p=0.9)),
        (2000, SamplingOptions()),
        (2000, SamplingOptions(temperature=0.8, top_k=40, top_p=0.9)),
    ]
    print(f"{'V':>5}  {'options':<24}" + "".join(f"{n:>21}" for n in VARIANTS) + "  (us/draw)")
    for V, options in cases:
        torch.manual_seed(V)
        rows = torch.randn(args.draws, V) * 3
        results: dict[str, list[float]] = {name: [] for name in VARIANTS}
        for r in range(args.rounds):
            names = list(VARIANTS)
            if r % 2:  # alternate the order: no variant always follows the same one
                names.reverse()
            for name in names:
                results[name].append(time_draws(VARIANTS[name], rows, options))
        label = "default" if options == SamplingOptions() else "t0.8 top_k40 top_p0.9"
        cells = "".join(f"{statistics.median(v):>21.1f}" for v in results.values())
        print(f"{V:>5}  {label:<24}{cells}")
    memo = memo_picks(torch.randn(83, 83) * 3, args.rounds)
    cells = ", ".join(f"{name} {us:.2f}" for name, us in memo.items())
    print(f"memoized rows (a one-character model, V=83), us/draw: {cells}")
    print(f"load avg {' '.join(f'{x:.2f}' for x in os.getloadavg())} at the end")


if __name__ == "__main__":
    main()
