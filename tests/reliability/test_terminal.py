"""Terminals as they come: tiny, resized in a storm, dumb, absent, colourless, 16 colours.

The real-process checks read the `sessions` fixture (tests/reliability/conftest.py): the
app in a pseudo-terminal with NO_COLOR=1 or TEXTUAL_COLOR_SYSTEM=standard, and `charlm tui`
with TERM=dumb, with its stdout piped, and with its stderr sent to a file.

Already proven elsewhere (not repeated here):

- every screen at 40x12 and a few resizes, no exception: tests/tui/test_tui_flows.py::
  test_every_screen_survives_40x12_and_resizes
- TERM=dumb and no TTY in-process (run_tui's own check): tests/tui/
  test_tui_entry_and_palette.py::test_run_tui_without_a_tty_points_to_the_headless_cli and
  ::test_run_tui_with_term_dumb_points_to_the_headless_cli
"""

from __future__ import annotations

import random
import re
import time

from textual import events
from textual.binding import Binding
from textual.geometry import Size

from charlm_tui.tui import key_queue
from charlm_tui.tui.app import FOLLOW_INTERVAL_S, CharLMApp
from charlm_tui.tui.screens.dataset import DatasetScreen
from charlm_tui.tui.screens.generate import GenerateScreen
from charlm_tui.tui.screens.help import HelpScreen
from charlm_tui.tui.screens.open_checkpoint import OpenCheckpointScreen
from charlm_tui.tui.screens.training import TrainingScreen
from charlm_tui.tui.widgets.perplexity_plot import PerplexityPlot
from charlm_tui.tui.widgets.seed_input import SeedInput
from tests.conftest import write_tiny_corpus
from tests.reliability.harness import loaded, open_console, plain, scenario, start_run, until

SGR = re.compile(rb"\x1b\[([0-9;]*)m")


def colours(output: bytes) -> set[tuple[str, ...]]:
    """Every colour an SGR sequence sets: ("256", n), ("rgb", r, g, b) or ("basic", code)."""
    found: set[tuple[str, ...]] = set()
    for params in SGR.findall(output):
        codes = params.decode().split(";") if params else []
        i = 0
        while i < len(codes):
            code = codes[i]
            if code in ("38", "48") and i + 1 < len(codes):
                if codes[i + 1] == "5":
                    found.add(("256", codes[i + 2]))
                    i += 3
                    continue
                if codes[i + 1] == "2":
                    found.add(("rgb", *codes[i + 2 : i + 5]))
                    i += 5
                    continue
            if code.isdigit() and (30 <= int(code) <= 49 or 90 <= int(code) <= 107):
                found.add(("basic", code))
            i += 1
    return found


def is_grey(colour: tuple[str, ...]) -> bool:
    kind, *values = colour
    if kind == "256":
        n = int(values[0])
        return n in (0, 7, 8, 15, 16, 231) or 232 <= n <= 255
    if kind == "rgb":
        return len(set(values)) == 1
    return colour[1] in ("30", "37", "39", "40", "47", "49", "90", "97", "100", "107")


# --------------------------------------------------------------------------- no terminal


def test_term_dumb_gets_one_plain_line_pointing_to_the_cli(sessions) -> None:
    """`TERM=dumb charlm tui` on a real pty: one line, no escape codes, status 2."""
    report = scenario(sessions, "tui term dumb")
    assert report["returncode"] == 2
    output = report["output"]
    assert b"\x1b" not in output, output[:200]
    assert output.decode().strip().count("\n") == 0
    assert "charlm train --help" in output.decode()


def test_a_piped_stdout_gets_one_line_pointing_to_the_cli(sessions) -> None:
    """`charlm tui | less`: one line naming the headless CLI, status 2, no escape codes."""
    report = scenario(sessions, "tui stdout piped")
    assert report["returncode"] == 2
    assert "\x1b" not in report["text"] and report["text"].strip().count("\n") == 0
    assert "not a TTY" in report["text"] and "charlm train --help" in report["text"]


def test_stderr_sent_to_a_file_gets_one_line_instead_of_a_blank_terminal(sessions) -> None:
    """Textual draws on stderr: `charlm tui 2>log` must not paint the app into the log and
    leave the terminal blank; it says so in one line and exits non-zero."""
    report = scenario(sessions, "tui stderr to a file")
    assert report["returncode"] not in (None, -9), (
        "the app kept running and drew into the file: "
        + plain(report["logged"][:2000])[:300].replace("\n", " ")
    )
    assert report["returncode"] != 0
    assert b"\x1b[?1049h" not in report["logged"]


# --------------------------------------------------------------------------- colours


def test_no_color_renders_every_screen_it_visits_in_greys_only(sessions) -> None:
    """NO_COLOR=1: the dataset screen, a training run and its screen draw; every colour
    the app sends is a grey, so nothing rests on hue."""
    report = scenario(sessions, "app sigterm")
    before = report["before_end"]
    assert "learning rate" in plain(before) and "tiny.txt" in plain(before)
    hues = sorted(c for c in colours(before) if not is_grey(c))
    assert hues == [], hues[:10]


def test_a_16_colour_terminal_gets_only_the_16_standard_colours(sessions) -> None:
    """TEXTUAL_COLOR_SYSTEM=standard: no 256-colour or true-colour sequence at all."""
    report = scenario(sessions, "app sighup")
    before = report["before_end"]
    assert "learning rate" in plain(before)
    wide = sorted(c for c in colours(before) if c[0] != "basic")
    assert wide == [], wide[:10]


# --------------------------------------------------------------------------- sizes


def screen_text(app: CharLMApp) -> str:
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def storm(app: CharLMApp, sizes: list[tuple[int, int]]) -> None:
    """Queue a resize for each size at once, as a window dragged by its corner sends them:
    none is handled before the next arrives."""
    for width, height in sizes:
        size = Size(width, height)
        app._driver._size = size  # the headless driver's idea of the terminal
        app.post_message(events.Resize(size, size))


async def test_a_resize_storm_during_training_and_generation_raises_nothing(
    make_app, tiny_corpus
) -> None:
    """36 resizes queued at once, 40x12 to 200x60, on each screen while a real run trains
    and the console streams: no exception, and the app answers keys afterwards."""
    app = make_app(tiny_corpus)
    sizes = random.Random(0).choices(
        [(40, 12), (41, 13), (80, 24), (120, 40), (200, 60), (55, 12), (40, 30)], k=36
    )
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        app.train_config.steps = 100_000
        app.start_training()
        await until(pilot, lambda: app.history.step > 0)
        for screen, chunk in zip(("training", "console", "dataset"), (0, 1, 2), strict=True):
            await app.switch_mode(screen)
            if isinstance(app.screen, GenerateScreen):
                # no pilot.press while training runs: Pilot waits for an idle app
                app.screen.start_generation("It was")
            storm(app, sizes[chunk::3])
            await pilot.pause()
        app.stop_training()
        await until(pilot, lambda: app.training_state == "finished")
        storm(app, [(40, 12)])
        await pilot.press("2")
        assert isinstance(app.screen, TrainingScreen)
        await pilot.press("3", "x")
        assert app.screen.query_one(SeedInput).value == "x"


async def test_at_40x12_a_run_can_be_trained_and_its_text_read(make_app, tiny_corpus) -> None:
    """The smallest supported terminal: s trains, the console's seed line is on screen,
    and after Enter some of the generated text is readable, even with a warning shown."""
    app = make_app(tiny_corpus)
    async with app.run_test(size=(40, 12)) as pilot:
        await loaded(pilot)
        await start_run(pilot, 30)
        await until(pilot, lambda: app.training_state == "finished")
        console = await open_console(pilot, *"It was ZZ", "enter")  # Z is not in the vocabulary
        await until(pilot, lambda: not console.generating and console._turns)
        await pilot.pause()
        turn = str(console._turns[-1].render())
        produced = turn.split("It was ZZ", 1)[1].split("[")[0].replace("⏎", "").split()
        shown = screen_text(app)
        assert "It was ZZ" in shown, shown
        assert any(word in shown for word in produced if len(word) > 2), shown


async def test_the_chart_redraws_at_most_twice_a_second_while_training(
    make_app, tiny_corpus, monkeypatch
) -> None:
    """Over SSH every redraw is bytes on the wire: the chart takes the run at most every
    FOLLOW_INTERVAL_S, however many steps and evals arrive."""
    draws: list[float] = []
    show_run = PerplexityPlot.show_run

    def counted(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        draws.append(time.monotonic())
        return show_run(self, *args, **kwargs)

    monkeypatch.setattr(PerplexityPlot, "show_run", counted)
    app = make_app(tiny_corpus)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        await start_run(pilot, 100000)
        await until(pilot, lambda: app.history.step > 0)
        draws.clear()
        first_step = app.history.step
        await pilot.pause(1.5)
        drawn, steps_in_window = len(draws), app.history.step - first_step
        app.stop_training()
        await until(pilot, lambda: app.training_state == "finished")
    assert steps_in_window > 20, "steps and evals kept arriving"
    assert drawn <= 1.5 / FOLLOW_INTERVAL_S + 1, drawn


# --------------------------------------------------------------------------- keys


MODIFIERS = ("ctrl+", "alt+", "meta+", "super+", "hyper+")


def plain_key(key: str) -> bool:
    """A key every terminal sends as it is: no modifier, no function key."""
    return not key.startswith(MODIFIERS) and not re.fullmatch(r"f\d+", key)


def test_every_action_has_a_plain_key_and_none_needs_the_mouse() -> None:
    """ctrl+enter and friends never arrive on some terminals, F-keys are taken by others:
    every action of the app and its screens can also be reached with a plain key."""
    owners = [CharLMApp, DatasetScreen, TrainingScreen, GenerateScreen, HelpScreen]
    owners.append(OpenCheckpointScreen)
    missing = []
    for owner in owners:
        keys_of: dict[str, list[str]] = {}
        for binding in owner.BINDINGS:
            assert isinstance(binding, Binding)
            for key in binding.key.split(","):
                keys_of.setdefault(binding.action, []).append(key.strip())
        for action, keys in keys_of.items():
            if action == "interrupt":  # Ctrl+C: copy, else quit, which has q
                assert any(plain_key(k) for k in keys_of.get("quit", []))
                continue
            if not any(plain_key(k) for k in keys):
                missing.append(f"{owner.__name__}: {action} ({', '.join(keys)})")
    assert missing == []


def burst(app: CharLMApp, *keys: str) -> None:
    """Queue `keys` at once, as a terminal read hands them over after an SSH stall."""
    named = {"enter": "\r", "escape": "\x1b", "down": None, "up": None}
    for key in keys:
        app.post_message(events.Key(key, named.get(key, key)))


async def test_keys_that_arrive_in_one_burst_act_as_if_typed_one_by_one(
    make_app, tmp_path, monkeypatch
) -> None:
    """Over SSH, keys typed during a stall arrive together. Each must act on the focus and
    the screen the keys before it left: m, Enter, 3 x Down, Enter picks the fourth model
    (lstm) in the menu, and Esc, s then start a run of it; 3 then Holmes, on the first
    visit to the console, types Holmes into its seed line. Textual routes a key to the
    widget focused when it is read, so without the app's key queue Enter pressed Start
    (the focus had not moved yet) and a bigram run began, and Holmes went to the training
    screen. SETTLE_S is raised so that a slow machine cannot turn the test into a race;
    tests/tui/test_key_queue.py checks the bound itself."""
    monkeypatch.setattr(key_queue, "SETTLE_S", 10.0)
    app = make_app(write_tiny_corpus(tmp_path, repeat=3))  # for the lstm's 128-char window
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("2")
        burst(app, "m", "enter", "down", "down", "down", "enter")
        await until(pilot, lambda: app.screen.query_one("#model-select").value == "lstm", 5)
        assert app.training_state == "idle"
        burst(app, "escape", "s")
        await until(pilot, lambda: app.training_state != "idle", 5)
        assert app.train_config.model == "lstm"
        app.stop_training()
        await until(pilot, lambda: app.training_state == "finished")
        burst(app, *"3Holmes")
        await until(pilot, lambda: [s.value for s in app.screen.query(SeedInput)] == ["Holmes"], 5)
        assert isinstance(app.screen, GenerateScreen)
