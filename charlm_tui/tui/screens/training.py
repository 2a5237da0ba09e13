"""Provides TrainingScreen: choose a model and its settings, train it, watch the curves.

The numbers under the chart say what the notebook says about the loss (N8): q = e^-loss
is the chance the model gives the right character, and 1/q, the perplexity, is how many
of the vocabulary's characters it is choosing between. The screen draws from the run
history kept on the App, at most twice a second, so it can be left and rebuilt while
training goes on.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace
from pathlib import Path

import torch
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Vertical, VerticalScroll
from textual.widgets import Button, Input, ProgressBar, Select, Static

from charlm_tui.core.i18n import N_, _
from charlm_tui.core.metrics import UNITS, chance_of_right, perplexity
from charlm_tui.core.models import REGISTRY, build_model
from charlm_tui.core.run_log import RunLogError, read_run_log
from charlm_tui.core.train import TrainConfig
from charlm_tui.tui.screens.base import CharLMScreen, state_words
from charlm_tui.tui.screens.open_checkpoint import OpenCheckpointScreen
from charlm_tui.tui.session import RunHistory
from charlm_tui.tui.widgets.perplexity_plot import PerplexityPlot
from charlm_tui.tui.widgets.sample_browser import SampleBrowser
from charlm_tui.tui.widgets.translated import TrLabel

CHART_COST_FACTOR = 30.0  # during a run, a chart that took t to render waits 30 t to redraw

BAD_ENDS = ("error", "non_finite")
OLDEST = 1_000_000  # a step of the sample browser past any run's evals: to the first or last

# (TrainConfig field, label, Input type); "eval" is steps_per_epoch or eval_interval
FIELDS = (
    ("steps", N_("steps"), "integer"),
    ("batch_size", N_("batch"), "integer"),
    ("block_size", N_("window"), "integer"),
    ("lr", N_("learning rate"), "number"),
    ("seed", N_("seed"), "integer"),
    ("eval", N_("eval every"), "integer"),
)
# the buttons' words, by id
BUTTONS = {"start": N_("Start"), "pause": N_("Pause"), "stop": N_("Stop"), "save": N_("Save")}


def clock(seconds: float) -> str:
    """1:02:03, 2:03 or 0:07."""
    if not math.isfinite(seconds) or seconds < 0:
        return "–"
    s = int(round(seconds))
    hours, rest = divmod(s, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02}:{secs:02}" if hours else f"{minutes}:{secs:02}"


def eval_field(config: TrainConfig) -> str:
    return "steps_per_epoch" if config.recipe == "notebook" else "eval_interval"


class TrainingScreen(CharLMScreen):
    """Model picker and settings on the left; the chart, the numbers and a sample on the right."""

    MODE = "training"
    BAR_SHOWS_STEPS = False
    HELP = N_(
        "Start trains the chosen model on the loaded corpus; the chart fills as it goes. "
        "The loss is the average surprise, -ln p(right character). q = e^-loss is the "
        "chance the model gives the right character; 1/q, the perplexity, is how many "
        "characters it is choosing between: a uniform guess over the vocabulary scores its "
        "size, the count-based bigram is the best a one-character model can do. Training "
        "goes on when you leave this screen."
    )
    BINDINGS = [
        Binding(
            "s", "start", N_("Start"), tooltip=N_("Start training with the settings in the form")
        ),
        Binding("p", "pause", N_("Pause"), tooltip=N_("Pause or resume training")),
        Binding("x", "stop", N_("Stop"), tooltip=N_("Stop training and save a checkpoint")),
        Binding("w", "save", N_("Save"), tooltip=N_("Save a checkpoint at the next step")),
        Binding(
            "u",
            "cycle_unit",
            N_("Unit"),
            tooltip=N_("Chart unit: perplexity, loss, bits per char"),
        ),
        Binding("m", "focus_model", N_("Model"), show=False, tooltip=N_("Choose the model")),
        Binding(
            "o",
            "open_run",
            N_("Open run"),
            show=False,
            tooltip=N_("Show a saved run's curve and samples (its folder or a checkpoint in it)"),
        ),
        Binding("escape", "leave_form", N_("Leave form"), show=False),
        Binding(
            "left_square_bracket",
            "browse_sample(-1)",
            N_("Older sample"),
            show=False,
            tooltip=N_("Show the sample of the eval before (the chart marks its step)"),
        ),
        Binding(
            "right_square_bracket",
            "browse_sample(1)",
            N_("Newer sample"),
            show=False,
            tooltip=N_("Show the sample of the eval after; at the newest, follow the run"),
        ),
        Binding(
            "left_curly_bracket",
            f"browse_sample({-OLDEST})",
            N_("Oldest sample"),
            show=False,
            tooltip=N_("Show the first eval's sample: the untrained model's text"),
        ),
        Binding(
            "right_curly_bracket",
            f"browse_sample({OLDEST})",
            N_("Newest sample"),
            show=False,
            tooltip=N_("Show the newest sample and follow the run"),
        ),
    ]

    def compose(self) -> ComposeResult:
        yield from self.compose_bar()
        with VerticalScroll(id="training-main"):
            with Vertical(id="train-form"):
                yield Select(
                    [(name, name) for name in REGISTRY],
                    value=self.charlm.train_config.model,
                    allow_blank=False,
                    compact=True,
                    id="model-select",
                )
                yield Static("", id="model-info")
                with Grid(id="settings"):
                    for name, label, kind in FIELDS:
                        yield TrLabel(label, classes="setting-label")
                        yield Input(type=kind, compact=True, id=f"set-{name}")  # type: ignore[arg-type]
                with Grid(id="train-buttons"):
                    yield Button(_("Start"), id="start", compact=True, variant="primary")
                    yield Button(_("Pause"), id="pause", compact=True)
                    yield Button(_("Stop"), id="stop", compact=True)
                    yield Button(_("Save"), id="save", compact=True)
                yield Static("", id="train-message")
            with Vertical(id="train-view"):
                yield PerplexityPlot(id="perplexity-plot")
                yield Static("", id="loss-explained")
                yield Static("", id="train-speed")
                yield ProgressBar(id="train-progress", show_eta=False)
                yield SampleBrowser(id="train-sample")
                yield Static("", id="checkpoint-note")
        yield from self.compose_footer()

    def on_mount(self) -> None:
        super().on_mount()
        self._seen_version = -1  # run_version the numbers were drawn from
        self._chart_version = -1  # and the chart
        self._chart_drawn_at = 0.0
        self._finished_shown: object = None  # the run's end, once said in the message line
        self._fill_form(self.charlm.train_config)
        self.watch(self.app, "training_state", self._state_changed)
        self.watch(self.app, "dataset", self._dataset_changed, init=False)
        self.redraw()
        self.query_one("#start").focus()

    def on_screen_resume(self) -> None:
        self.redraw()

    def retranslate(self) -> None:
        super().retranslate()
        for button_id, msgid in BUTTONS.items():
            self.query_one(f"#{button_id}", Button).label = _(msgid)
        self._state_changed(self.charlm.training_state)  # Pause / Resume
        self._describe_model(str(self.query_one("#model-select", Select).value))
        self.query_one(PerplexityPlot).refresh()
        self.query_one(SampleBrowser).retranslate()
        self.redraw()

    # --- the form ---------------------------------------------------------------------

    def _fill_form(self, config: TrainConfig) -> None:
        values = {
            "steps": config.steps,
            "batch_size": config.batch_size,
            "block_size": config.block_size,
            "lr": f"{config.lr:g}",
            "seed": config.seed,
            "eval": getattr(config, eval_field(config)),
        }
        for name, value in values.items():
            self.query_one(f"#set-{name}", Input).value = str(value)
        self._describe_model(config.model)

    def _describe_model(self, name: str) -> None:
        spec = REGISTRY.get(name)
        recipe = TrainConfig.defaults_for(name).recipe
        text = Text()
        dataset = self.charlm.dataset
        if dataset is not None:
            try:
                with torch.device("meta"):  # shapes only: no memory, no draws from the RNG
                    table = build_model(name, dataset.vocab.size).parameter_table()
            except (ValueError, TypeError):
                table = []
            if table:
                total = sum(n for _, _, n in table)
                parts = " + ".join(f"{n:,}" for _, _, n in table) if len(table) <= 4 else ""
                count = _("{total:,} parameters").format(total=total)
                text.append(count + (f" = {parts}" if parts else "") + "\n", "bold")
        if spec:
            described = _("{description} (recipe: {recipe})")
            text.append(described.format(description=_(spec.description), recipe=recipe))
        else:
            text.append(name)
        self.query_one("#model-info", Static).update(text)

    @on(Select.Changed, "#model-select")
    def _model_chosen(self, event: Select.Changed) -> None:
        name = str(event.value)
        if name != self.charlm.train_config.model:
            self.charlm.train_config = TrainConfig.defaults_for(name)
            self._fill_form(self.charlm.train_config)

    def config_from_form(self) -> TrainConfig:
        """The settings as typed; ValueError, in words, for anything that is not valid."""
        model = str(self.query_one("#model-select", Select).value)
        base = TrainConfig.defaults_for(model)
        changes: dict[str, object] = {}
        for name, label, kind in FIELDS:
            raw = self.query_one(f"#set-{name}", Input).value.strip()
            try:
                value: float | int = int(raw) if kind == "integer" else float(raw)
            except ValueError:
                said = _("{label} must be a number (got {raw!r})")
                raise ValueError(said.format(label=_(label), raw=raw)) from None
            changes[eval_field(base) if name == "eval" else name] = value
        config = replace(base, **changes)  # type: ignore[arg-type]
        config.validate()
        return config

    def _dataset_changed(self) -> None:
        self._describe_model(str(self.query_one("#model-select", Select).value))
        self.redraw()

    def _state_changed(self, state: str) -> None:
        active = state in ("starting", "running", "paused", "stopping")
        self.query_one("#model-select").disabled = active
        for input_ in self.query("#settings Input"):
            input_.disabled = active
        self.query_one("#start", Button).disabled = active
        # enabled from "starting" on: restyling them when the run reports would take the
        # GIL from its first steps (and the run takes them from its first step anyway)
        controllable = state in ("starting", "running", "paused")
        self.query_one("#pause", Button).disabled = not controllable
        self.query_one("#pause", Button).label = _("Resume") if state == "paused" else _("Pause")
        self.query_one("#stop", Button).disabled = not controllable
        self.query_one("#save", Button).disabled = not controllable
        self.redraw()

    # --- actions ----------------------------------------------------------------------

    def action_start(self) -> None:
        message = self.query_one("#train-message", Static)
        try:
            config = self.config_from_form()
        except ValueError as exc:
            message.update(Text(_("Cannot start: {reason}").format(reason=exc)))
            message.add_class("-error")
            return
        message.remove_class("-error")
        message.update("")
        if self.charlm.start_training(config):
            self.query_one(SampleBrowser).index = None

    def action_pause(self) -> None:
        self.charlm.pause_training()

    def action_stop(self) -> None:
        self.charlm.stop_training()

    def action_save(self) -> None:
        self.charlm.request_save()

    def action_cycle_unit(self) -> None:
        plot = self.query_one(PerplexityPlot)
        self.set_unit(UNITS[(UNITS.index(plot.unit) + 1) % len(UNITS)])

    def set_unit(self, unit: str) -> None:
        self.query_one(PerplexityPlot).unit = unit

    def action_focus_model(self) -> None:
        self.query_one("#model-select").focus()

    def action_leave_form(self) -> None:
        """Esc in a settings field hands the keys back to the screen (s, p, x, w, u, 1-3)."""
        start = self.query_one("#start", Button)
        (start if not start.disabled else self.query_one(PerplexityPlot)).focus()

    @on(Input.Submitted, "#settings Input")
    def _setting_entered(self) -> None:
        self.action_leave_form()

    def action_open_run(self) -> None:
        if self.charlm.training_state in ("starting", "running", "paused", "stopping"):
            self._say(_("A run is training: stop it (x) before opening a saved one."), error=True)
            return
        last = self.charlm.history.last_checkpoint
        default = str(Path(last.path).parent) if last is not None else ""
        prompt = _("Open a saved run (its folder or a checkpoint in it): Enter opens, Esc cancels")
        self.app.push_screen(OpenCheckpointScreen(default, prompt), self._run_chosen)

    def _run_chosen(self, path: str | None) -> None:
        if not path:
            return
        try:
            log = read_run_log(path)
        except RunLogError as exc:
            self._say(str(exc), error=True)
            return
        app = self.charlm
        app.history = RunHistory.from_log(log)
        self.query_one(SampleBrowser).index = None
        app.run_version += 1
        self.redraw()

    def _say(self, message: str, *, error: bool = False) -> None:
        widget = self.query_one("#train-message", Static)
        widget.update(Text(message))
        widget.set_class(error, "-error")

    def action_browse_sample(self, delta: int) -> None:
        browser = self.query_one(SampleBrowser)
        if browser.browse(delta):
            self.query_one(PerplexityPlot).marked_step = browser.marked_step

    @on(Button.Pressed)
    def _button(self, event: Button.Pressed) -> None:
        actions = {
            "start": self.action_start,
            "pause": self.action_pause,
            "stop": self.action_stop,
            "save": self.action_save,
        }
        if event.button.id in actions:
            actions[event.button.id]()

    # --- drawing from the run history -------------------------------------------------

    def follow_run(self) -> None:
        version = self.charlm.run_version
        if version != self._seen_version:
            self.redraw(chart=False)  # the mode bar too
        if version != self._chart_version and self._chart_due():
            self._draw_chart()

    def _chart_due(self) -> bool:
        """Whether the chart may redraw now: during a run, at most 1 / CHART_COST_FACTOR of
        the UI thread's time, whose GIL the training thread needs (docs/performance.md)."""
        if self.charlm.history.finished is not None:
            return True
        plot = self.query_one(PerplexityPlot)
        return time.monotonic() - self._chart_drawn_at >= CHART_COST_FACTOR * plot.render_s

    def _draw_chart(self) -> None:
        app = self.charlm
        self._chart_version = app.run_version
        self._chart_drawn_at = time.monotonic()
        refs = app.dataset.references if app.dataset is not None else None
        history = app.history
        self.query_one(PerplexityPlot).show_run(history.evals, refs, history.total_steps)

    def redraw(self, chart: bool = True) -> None:
        """Draw everything from the App's run history now (the chart too, unless told)."""
        app = self.charlm
        self._seen_version = app.run_version
        history = app.history
        self._update_mode_bar()
        if chart:
            self._draw_chart()
        self._draw_numbers()
        self._draw_speed()
        self._draw_sample()
        last = history.last_checkpoint
        if last is not None:
            where = Path(last.path)
            short = f"…/{where.parent.name}/{where.name}" if where.parent.name else where.name
            said = _("saved step {step:,} ({reason}): {path}")
            note = Text(said.format(step=last.step, reason=last.reason, path=short), no_wrap=True)
            self._show("#checkpoint-note", note)
        elif history.finished is None:
            self._show("#checkpoint-note", "")
        finished = history.finished
        if finished is not None and finished is not self._finished_shown:
            # once: a later message (a refused action) stays until the next run ends
            self._finished_shown = finished
            self._say(finished.message or finished.reason, error=finished.reason in BAD_ENDS)

    def _draw_numbers(self) -> None:
        app = self.charlm
        history = app.history
        vocab_size = app.dataset.vocab.size if app.dataset is not None else None
        if history.evals:
            loss, which = history.evals[-1].val_loss, N_("val")
        elif history.last_step is not None:
            loss, which = history.last_step.loss, N_("train")
        else:
            self._show(
                "#loss-explained",
                _(
                    "loss = average of -ln p(right char), in nats\n"
                    "q = e^-loss: the chance of the right char\n"
                    "1/q = perplexity: how many chars it is choosing between"
                ),
            )
            return
        if not math.isfinite(loss):
            diverged = _("{which} loss is {loss}: training diverged")
            self._show("#loss-explained", Text(diverged.format(which=_(which), loss=loss)))
            return
        q = chance_of_right(loss)
        if vocab_size:
            numbers = _(
                "{which} loss {loss:.3f} = average of -ln p(right char)\n"
                "q = e^-loss = {q:.3f}: {q:.1%} chance of the right char\n"
                "1/q = {ppl:.1f}: choosing between {ppl:.1f} of {size} chars"
            )
        else:
            numbers = _(
                "{which} loss {loss:.3f} = average of -ln p(right char)\n"
                "q = e^-loss = {q:.3f}: {q:.1%} chance of the right char\n"
                "1/q = {ppl:.1f}: choosing between {ppl:.1f} chars"
            )
        said = numbers.format(which=_(which), loss=loss, q=q, ppl=perplexity(loss), size=vocab_size)
        self._show("#loss-explained", Text(said))

    def _draw_speed(self) -> None:
        app = self.charlm
        history = app.history
        progress = self.query_one("#train-progress", ProgressBar)
        step, total = history.step, history.total_steps
        # No run, no total: an empty bar. An indeterminate one animates at 15 frames a
        # second, which kept the idle app busy (and said something was running).
        progress.update(total=total or 1, progress=step if total else 0)
        last = history.last_step
        if last is None:
            state = app.training_state
            idle = _("press s to train")
            self._show("#train-speed", idle if state == "idle" else state_words(state))
            return
        config = app.train_config
        tokens_per_step = max(1, config.batch_size * config.block_size)
        steps_per_s = last.tokens_per_s / tokens_per_step
        eta = (total - step) / steps_per_s if steps_per_s > 0 else math.inf
        self._show(
            "#train-speed",
            _("{step:,}/{total:,} · {rate:,.0f} steps/s · {elapsed} · ETA {eta}").format(
                step=step,
                total=total,
                rate=steps_per_s,
                elapsed=clock(last.elapsed_s),
                eta=clock(eta),
            ),
        )

    def _draw_sample(self) -> None:
        browser = self.query_one(SampleBrowser)
        browser.show_evals(self.charlm.history.evals)
        self.query_one(PerplexityPlot).marked_step = browser.marked_step

    def _show(self, selector: str, content: str | Text) -> None:
        """Put content in a Static; lay the screen out again only if its height can change
        (a layout of this screen is costly: docs/performance.md)."""
        widget = self.query_one(selector, Static)
        if widget.content != content:
            widget.update(content, layout=widget.styles.is_auto_height)
