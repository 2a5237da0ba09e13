"""Regenerates assets/: SVG screenshots of every screen, the demo's recording, from the app.

    python assets/make_assets.py              # rewrite assets/ (about half a minute)
    python assets/make_assets.py --out DIR    # write them elsewhere (the freshness test does)

Every picture is the same on every run: the app runs headless on Sherlock (from the cache,
or CHARLM_CORPUS_MIRROR, or ../shared/corpora beside the checkout) with a steady cursor.
Nothing trains: the training screen is fed a scripted run (fixed losses and timings, as the
trainer's messages would bring them), and the weights that run hands the console are the
corpus's own bigram statistics written into the notebook's model: where `bigram` converges,
fixed by arithmetic instead of by training. Generation draws with the console's seed (1).
The demo follows demo.keys, where a presenter's `s` starts that scripted run.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import re
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from textual.pilot import Pilot

    from charlm_tui.core.models import CharModel
    from charlm_tui.tui.app import CharLMApp

ASSETS = Path(__file__).resolve().parent
REPO = ASSETS.parent
SIZES = ((80, 24), (120, 40))
DEMO_SIZE = (80, 24)
TITLE = "charlm-tui"
T = TypeVar("T")


# The corpus cache: the dataset screen shows the path Sherlock was read from, so it is one
# path on every machine (a relative XDG path is ignored by platformdirs).
CACHE = Path("/tmp/charlm-assets/cache")


def prepare_environment(work: Path) -> None:
    """Pin what would differ between machines: the corpus's path, settings, run folders."""
    shared = REPO.parent / "shared" / "corpora"
    if "CHARLM_CORPUS_MIRROR" not in os.environ and shared.is_dir():
        os.environ["CHARLM_CORPUS_MIRROR"] = str(shared)
    os.chdir(work)
    for name in list(os.environ):  # a user's colour or Textual settings must not show either
        if name.startswith("TEXTUAL") or name in ("NO_COLOR", "FORCE_COLOR"):
            del os.environ[name]
    os.environ["XDG_CACHE_HOME"] = str(CACHE)
    for name in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME"):
        os.environ[name] = str(work / name.lower())  # the user's own never shows
    sys.path.insert(0, str(REPO))
    from charlm_tui.core.corpus import load_corpus

    # now, so that every app reads Sherlock from the cache, not from the mirror's path
    load_corpus("sherlock")


# --- the scripted run -----------------------------------------------------------------------

TOTAL_STEPS = 1000
EVAL_EVERY = 10  # as the notebook recipe (the form says so too)
UNIFORM = math.log(83)  # ln V: the loss of a uniform guess, where training starts
SAMPLES = (  # what the model writes at each eval: noise, then letters, then words
    "xq;K(9 ïè&Zv2ò!",
    "te ahe t s oe,",
    "thethe of hin the",
    "he sat had it is wast",
)


def scripted_losses(step: int) -> tuple[float, float]:
    """(train, val) loss at `step`: an exponential approach to the bigram limit."""
    decay = math.exp(-step / 90)
    return 2.43 + (UNIFORM - 2.43) * decay, 2.47 + (UNIFORM - 2.47) * decay


def bigram_limit_model(app: CharLMApp) -> CharModel:
    """The notebook's model whose output is log P(next | current) counted on the train part
    (tests/counted_model.py): the function `bigram` converges to, the same on every machine."""
    from tests.counted_model import counted_bigram

    dataset = app.dataset
    assert dataset is not None, "the corpus loads before any run"
    return counted_bigram(dataset.split.train, dataset.vocab.size)


def post_scripted_run(app: CharLMApp, upto: int, start: int = 0) -> None:
    """Post a fixed run's messages, from eval `start` to step `upto`, as the trainer would.

    Made of tests/scripted_run.py's evals, as the TUI tests' runs are, with Sherlock's numbers: 83
    characters, the notebook's 21,459 parameters, 1,000 steps, 400 steps a second.
    """
    from charlm_tui.core import events
    from charlm_tui.tui import messages
    from tests.scripted_run import scripted_eval  # the TUI tests' scripted runs, too

    post = app.post_message
    assert app.dataset is not None, "the corpus loads before any run"
    vocab_size = app.dataset.vocab.size
    if start == 0:
        started = events.TrainingStarted(
            run_dir=Path("runs/sherlock-bigram"),
            model="bigram",
            n_params=21_459,
            vocab_size=vocab_size,
            total_steps=TOTAL_STEPS,
        )
        post(messages.TrainingStarted(started))
    best = math.inf
    for step in range(EVAL_EVERY, upto + 1, EVAL_EVERY):
        train_loss, val_loss = scripted_losses(step)
        best = min(best, val_loss)
        if step <= start:
            continue
        elapsed = step / 400
        last = step + EVAL_EVERY > upto
        reported = scripted_eval(
            step,
            TOTAL_STEPS,
            (train_loss, val_loss),
            best,
            elapsed_s=elapsed,
            tokens_per_s=6400.0,
            sample=SAMPLES[min(len(SAMPLES) - 1, step // 120)],
        )
        snapshot = bigram_limit_model(app) if last else None
        post(messages.RunReported(reported, snapshot))
    saved = events.CheckpointSaved(
        step=upto, path=Path("runs/sherlock-bigram/last.safetensors"), reason="last"
    )
    post(messages.RunReported((saved,)))


SURPRISE_TEXT = ", for whom she is always the woman, sat in his armchair with his eyes closed."


# --- driving the app --------------------------------------------------------------------------


def steady_cursor() -> None:
    """No cursor blink (the tests' no_cursor_blink fixture): a frame must not catch it half-way."""
    from textual.widgets import Input, TextArea

    Input._toggle_cursor = lambda self: None  # type: ignore[method-assign]
    TextArea._toggle_cursor_blink_visible = lambda self: None  # type: ignore[method-assign]


def charlm(pilot: Pilot[int]) -> CharLMApp:
    from charlm_tui.tui.app import CharLMApp

    assert isinstance(pilot.app, CharLMApp)
    return pilot.app


def new_app() -> CharLMApp:
    from charlm_tui.tui.app import CharLMApp
    from charlm_tui.tui.options import TuiOptions

    # remember=False: the knobs one shot turns must not carry to the next; English always
    return CharLMApp(
        TuiOptions(
            corpus="sherlock", threads=1, runs_root=Path("runs"), remember=False, lang="en"
        )
    )


async def settle(pilot: Pilot[int]) -> None:
    """Wait until the app has nothing left to do: workers done, messages handled, drawn."""
    app = pilot.app
    await app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()
    screen = app.screen
    if hasattr(screen, "redraw"):
        screen.redraw()  # the training screen draws at its tick; draw now instead
    await pilot.pause()


def shot(pilot: Pilot[int]) -> str:
    # simplify: runs of one style become one text element (a third smaller, looks the same)
    return str(pilot.app.export_screenshot(title=TITLE, simplify=True))


async def with_app(size: tuple[int, int], steps: Callable[[Pilot[int]], Awaitable[T]]) -> T:
    """Run a fresh headless app at `size`, wait for Sherlock, and return what `steps` gives."""
    app = new_app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        if app.dataset is None:
            raise SystemExit(f"Sherlock did not load: {app.load_error}")
        return await steps(pilot)


async def tour(pilot: Pilot[int]) -> dict[str, str]:
    """Every screen in turn, as a person meets them; one app per size (each loads Sherlock)."""
    shots = {"dataset": shot(pilot)}
    await pilot.press("2")
    post_scripted_run(charlm(pilot), upto=500)  # half-way through the notebook's run
    await settle(pilot)
    shots["training"] = shot(pilot)
    await pilot.press("3")
    await pilot.press("f8", "f8")  # length 200 -> 100 -> 50: the answer fits the smaller size
    await pilot.press(*"Holmes", "enter")
    await settle(pilot)
    shots["console"] = shot(pilot)
    await pilot.press("f1")
    await settle(pilot)
    shots["help"] = shot(pilot)
    await pilot.press("escape", "ctrl+s")  # the heat-map of the console's model, seed "Holmes"
    await pilot.press(*SURPRISE_TEXT)
    pilot.app.screen.score_now()  # type: ignore[attr-defined]  # now, not after a pause
    await settle(pilot)
    shots["surprise"] = shot(pilot)
    return shots


# --- the demo recording -----------------------------------------------------------------------


def read_keys(path: Path) -> list[tuple[str, str]]:
    """demo.keys as (verb, argument) steps: `press KEY...` or `type TEXT`; '#' comments."""
    steps = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        verb, _, argument = line.partition(" ")
        if verb not in ("press", "type") or not argument:
            raise SystemExit(f"{path}:{number}: expected 'press KEY...' or 'type TEXT': {raw!r}")
        steps.append((verb, argument))
    return steps


async def record_demo(pilot: Pilot[int], steps: list[tuple[str, str]]) -> list[tuple[str, float]]:
    """The demo's frames, (svg, seconds on screen): one after each key of demo.keys."""
    frames = [(shot(pilot), 2.5)]
    for verb, argument in steps:
        keys = list(argument) if verb == "type" else argument.split()
        for key in keys:
            if key == "s" and verb == "press":  # the run, scripted: three stages of the chart
                for start, upto in ((0, 100), (100, 260), (260, 500)):
                    post_scripted_run(charlm(pilot), upto=upto, start=start)
                    await settle(pilot)
                    frames.append((shot(pilot), 1.0))
                continue
            await pilot.press(key)
            await settle(pilot)
            frames.append((shot(pilot), 0.35 if verb == "type" else 2.0))
    frames[-1] = (frames[-1][0], 3.0)
    return frames


def animate(frames: list[tuple[str, float]]) -> str:
    """One SVG that shows each frame for its seconds, in a loop (CSS animation, no script)."""
    total = sum(seconds for _, seconds in frames)
    first = frames[0][0]
    box = re.search(r'viewBox="0 0 ([\d.]+) ([\d.]+)"', first)
    assert box is not None, "Textual's screenshots carry a viewBox"
    width, height = box.groups()
    styles, bodies, start = [], [], 0.0
    for index, (svg, seconds) in enumerate(frames):
        body = re.sub(r"^<\?xml[^>]*>\s*", "", svg.strip())
        shown, hidden = 100 * start / total, 100 * (start + seconds) / total
        styles.append(
            f"@keyframes f{index} {{ 0% {{ visibility: hidden }} {shown:.3f}% {{ visibility: visible }}"
            f" {hidden:.3f}% {{ visibility: hidden }} }}\n"
            f".f{index} {{ animation: f{index} {total:.2f}s step-end infinite; visibility: hidden }}"
        )
        bodies.append(f'<g class="f{index}">{body}</g>')
        start += seconds
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}">\n'
        f"<style>\n{chr(10).join(styles)}\n</style>\n" + "\n".join(bodies) + "\n</svg>\n"
    )


# --- main -------------------------------------------------------------------------------------


async def make_all(out: Path) -> list[Path]:
    written = []
    for size in SIZES:
        for name, svg in (await with_app(size, tour)).items():
            path = out / f"{name}-{size[0]}x{size[1]}.svg"
            path.write_text(svg, encoding="utf-8")
            written.append(path)
    keys = read_keys(ASSETS / "demo.keys")

    async def demo(pilot: Pilot[int]) -> str:
        return animate(await record_demo(pilot, keys))

    path = out / "demo.svg"
    path.write_text(await with_app(DEMO_SIZE, demo), encoding="utf-8")
    written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out", type=Path, default=ASSETS, help="folder to write (default assets/)"
    )
    args = parser.parse_args(argv)
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="charlm-assets-") as work:
        prepare_environment(Path(work))
        steady_cursor()
        for path in asyncio.run(make_all(out)):
            print(path.relative_to(out.parent) if out == ASSETS else path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
