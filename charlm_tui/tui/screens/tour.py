"""Provides TourScreen: the notebook's story in eleven steps, each beside its live object.

Step by step (N1-N11 of the notebook): the text with newlines as spaces, the sorted
vocabulary, encode/decode, the 80/20 split and a seeded window, one-hot rows, the model and
its parameters, the untrained model's text and loss, training with the live chart, and the
trained model's text, sampled and greedy. The objects are the loaded dataset's, computed by
the core (tui/tour_lesson.py); training is the app's own run with the notebook recipe, so
the training screen shows the same run. One key moves on (Space, Enter, →, PageDown, which
a presentation clicker sends), one goes back (←, PageUp), Esc leaves for the dataset.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.reactive import var
from textual.widgets import Static

from charlm_tui.core.i18n import N_, _
from charlm_tui.core.metrics import perplexity
from charlm_tui.core.models import CharModel
from charlm_tui.core.train import TrainConfig
from charlm_tui.tui.screens.base import CharLMScreen
from charlm_tui.tui.screens.training import CHART_COST_FACTOR
from charlm_tui.tui.tour_lesson import (
    NOTEBOOK_MODEL,
    SAMPLE_LENGTH,
    SEED,
    UNTRAINED_LENGTH,
    Lesson,
    generate_text,
)
from charlm_tui.tui.widgets import tour_objects
from charlm_tui.tui.widgets.perplexity_plot import PerplexityPlot
from charlm_tui.tui.widgets.tour_text import TourText


@dataclass(frozen=True)
class Step:
    """One step of the tour: the notebook items it covers, a title and a few sentences
    (marked N_, translated where drawn; {v}, {n}, {total}, {bigram}, {train} and {val}
    are filled in)."""

    items: str
    title: str
    text: str


STEPS = (
    Step(
        "N1",
        N_("The text"),
        N_(
            "The notebook reads The Adventures of Sherlock Holmes and turns every newline "
            "into a space: one long line of {n:,} characters. The model will see nothing "
            "but these characters."
        ),
    ),
    Step(
        "N2",
        N_("The vocabulary"),
        N_(
            "Every distinct character, sorted: {v} of them. A character's place in the "
            "list is its id: stoi maps a character to its id, itos an id back to its "
            "character."
        ),
    ),
    Step(
        "N3",
        N_("Encode and decode"),
        N_(
            "encode turns text into ids with stoi; decode turns ids back into text with "
            "itos. The round trip gives the same text back."
        ),
    ),
    Step(
        "N4",
        N_("The split and a window"),
        N_(
            "The first {train} of the text trains the model, the last {val} checks it. An "
            "example is a random 16-character window x; its target y is x shifted by one."
        ),
    ),
    Step(
        "N5",
        N_("One-hot vectors"),
        N_(
            "Each id becomes a row of {v} zeros with a single 1 at the id. Multiplied by "
            "the first layer's weights, it picks one row: a learned vector per character."
        ),
    ),
    Step(
        "N6",
        N_("The model"),
        N_(
            "Linear, ReLU, Linear: it reads the current character only and scores each of "
            "the {v} possible next ones. {total:,} numbers to learn."
        ),
    ),
    Step(
        "N7",
        N_("Before training"),
        N_(
            "torch.manual_seed(1) sets the random starting weights, so the guesses are "
            "random too: 100 characters from a random first one are gibberish."
        ),
    ),
    Step(
        "N8",
        N_("Cross-entropy"),
        N_(
            "The loss is the mean of -ln p(the right next character). q = e^-loss is the "
            "typical chance of being right; 1/q is how many characters the model is "
            "choosing between: about {v}, all of them."
        ),
    ),
    Step(
        "N9",
        N_("Training"),
        N_(
            "Adam, 100 epochs of 10 steps, one window per step. After each epoch the train "
            "and val perplexity go on the chart: down from {v} toward {bigram:.1f}, the "
            "best a model that reads one character can do."
        ),
    ),
    Step(
        "N10",
        N_("After training"),
        N_(
            "The trained model writes one character at a time, each drawn by its "
            "probability. Not English, but Sherlock-ish: words of the right length, "
            "capitals, common pairs of letters."
        ),
    ),
    Step(
        "N5 N11",
        N_("Greedy, and the seed"),
        N_(
            "Greedy decoding always takes the most likely character, so it soon repeats "
            "itself; sampling draws by probability. torch.manual_seed(1) fixes every draw: "
            "the same seed gives the same windows, the same run, the same text."
        ),
    ),
)
TRAINING_STEP = 8  # the index of N9: entering it starts the notebook recipe
CHART_STEPS = (TRAINING_STEP,)
PLACEHOLDER = re.compile(r"\{[a-z]+(:[^}]*)?\}")  # {v}, {n:,} in an explanation
ACTIVE = ("starting", "running", "paused", "stopping")  # the app's training states of a run

NEXT = N_("Next step (Space, Enter, →, or PageDown: what a presentation clicker sends)")
BACK = N_("Previous step (←, PageUp)")
LEAVE = N_("Leave the tour for the dataset screen")


class TourScreen(CharLMScreen):
    """The notebook tour: a short explanation on the left, the live object on the right."""

    MODE = "tour"
    DEFAULT_CSS = """
    TourScreen #tour-header {
        height: 1;
    }
    TourScreen #tour-body {
        height: 1fr;
    }
    TourScreen #tour-text {
        width: 30;
        height: 1fr;
        padding: 0 1;
        background: $boost;
    }
    TourScreen #tour-pane {
        width: 1fr;
        height: 1fr;
    }
    TourScreen #tour-scroll {
        height: 1fr;
    }
    TourScreen #tour-object, TourScreen #tour-numbers {
        height: auto;
        padding: 0 1;
    }
    TourScreen #tour-chart {
        display: none;
    }
    TourScreen.-chart #tour-scroll {
        height: auto;
        max-height: 3;
    }
    TourScreen.-chart #tour-chart {
        display: block;
        height: 1fr;
    }
    TourScreen.-narrow #tour-body {
        layout: vertical;
    }
    TourScreen.-narrow #tour-text {
        width: 1fr;
        height: auto;
        max-height: 50%;
    }
    """
    HELP = N_(
        "The notebook's story in eleven steps, each beside the real object: the loaded "
        "text, its vocabulary, a seeded window, the model, its loss, a training run and "
        "the text it writes. Entering the training step starts the notebook's recipe; "
        "the training screen (2) shows the same run."
    )
    BINDINGS = [
        Binding("right,space,enter,pagedown", "next", N_("Next"), tooltip=NEXT),
        Binding("left,pageup", "back", N_("Back"), tooltip=BACK),
        Binding("escape", "leave", N_("Leave tour"), tooltip=LEAVE),
        Binding("home", "first", N_("First step"), show=False, tooltip=N_("Back to step 1")),
    ]

    step: var[int] = var(0, init=False)
    """The step shown, counted from 0 (watch it to follow the tour; see tour_position)."""

    def __init__(self) -> None:
        super().__init__()
        self._lesson: Lesson | None = None
        self._run_dataset: object | None = None  # the dataset the tour started its run on
        self._drawn_version = -1  # run_version the training steps were drawn from
        self._chart_drawn_at = 0.0
        # (snapshot, its texts): the trained model's samples, made once per snapshot
        self._texts: tuple[CharModel, dict[str, str]] | None = None

    @property
    def tour_position(self) -> tuple[int, int]:
        """(step, total), the step counted from 1."""
        return self.step + 1, len(STEPS)

    def compose(self) -> ComposeResult:
        yield from self.compose_bar()
        yield Static("", id="tour-header")
        with Horizontal(id="tour-body"):
            yield TourText(id="tour-text")
            with Vertical(id="tour-pane"):
                with VerticalScroll(id="tour-scroll", can_focus=False):
                    yield Static("", id="tour-object")
                yield PerplexityPlot(id="tour-chart")
                yield Static("", id="tour-numbers")
        yield from self.compose_footer()

    def on_mount(self) -> None:
        super().on_mount()
        for name in ("dataset", "loading", "load_error", "training_state"):
            self.watch(self.app, name, self._app_changed, init=False)
        self.show_step()

    def on_screen_resume(self) -> None:
        super().on_screen_resume()
        self.show_step()

    def retranslate(self) -> None:
        """Draw the step again in the language now chosen (the app calls it on a switch)."""
        parent = getattr(super(), "retranslate", None)
        if parent is not None:
            parent()
        self.show_step()

    def _app_changed(self) -> None:
        if self.step == TRAINING_STEP:  # the corpus came after the step was entered
            self._train_if_needed()
        self.show_step()

    def follow_run(self) -> None:
        super().follow_run()
        if self.step >= TRAINING_STEP and self.charlm.run_version != self._drawn_version:
            self.show_step(chart=self._chart_due())

    def _chart_due(self) -> bool:
        """Whether the chart may redraw now: during a run, as the training screen paces it
        (at most 1 / CHART_COST_FACTOR of the UI thread, whose GIL the trainer needs)."""
        if self.charlm.history.finished is not None:
            return True
        plot = self.query_one(PerplexityPlot)
        return time.monotonic() - self._chart_drawn_at >= CHART_COST_FACTOR * plot.render_s

    # --- moving ---------------------------------------------------------------------

    def action_next(self) -> None:
        self.go(self.step + 1)

    def action_back(self) -> None:
        self.go(self.step - 1)

    def action_first(self) -> None:
        self.go(0)

    def action_leave(self) -> None:
        self.app.switch_mode("dataset")

    def go(self, step: int) -> None:
        """Show step `step` (counted from 0, kept within the tour)."""
        step = max(0, min(len(STEPS) - 1, step))
        if step == self.step:
            return
        self.step = step
        if step == TRAINING_STEP:
            self._train_if_needed()
        self.show_step()

    # --- the run --------------------------------------------------------------------

    def _lesson_now(self) -> Lesson | None:
        dataset = self.charlm.dataset
        if dataset is None:
            return None
        if self._lesson is None or self._lesson.dataset is not dataset:
            self._lesson = Lesson(dataset)
        return self._lesson

    def _notebook_run(self) -> bool:
        """Whether the app's run (running or ended) is the notebook recipe on this dataset:
        the one the tour started, or one started elsewhere when the tour started none."""
        app = self.charlm
        dataset = app.dataset
        if dataset is None or app.training_state == "idle":
            return False
        started = app.history.started
        if started is None:  # started, not reported yet: only the tour's own run counts
            return self._run_dataset is dataset
        if started.model != NOTEBOOK_MODEL or started.config.get("recipe") != "notebook":
            return False  # another model trained since: its weights are not the notebook's
        if self._run_dataset is not None:
            return self._run_dataset is dataset
        return started.vocab_size == dataset.vocab.size

    def _train_if_needed(self) -> None:
        """Start the notebook recipe unless its run on this dataset is under way or done."""
        app = self.charlm
        if app.dataset is None or self._notebook_run() or app.training_state in ACTIVE:
            return
        self._run_dataset = app.dataset
        self._texts = None
        if not app.start_training(TrainConfig.defaults_for(NOTEBOOK_MODEL, seed=SEED)):
            self._run_dataset = None

    def _trained(self) -> CharModel | None:
        """The notebook run's latest weights, once it has ended; None before."""
        app = self.charlm
        if not self._notebook_run() or app.history.finished is None:
            return None
        snapshot = app.snapshot
        if snapshot is None or app.dataset is None:
            return None
        if snapshot.vocab_size != app.dataset.vocab.size:
            return None
        return snapshot

    def _trained_texts(self, model: CharModel, lesson: Lesson) -> dict[str, str]:
        """Sampled (seed 1 and 2) and greedy text of the trained model, made once."""
        if self._texts is None or self._texts[0] is not model:
            dataset = lesson.dataset
            texts = {
                "sampled": generate_text(model, dataset, SAMPLE_LENGTH),
                "seed2": generate_text(model, dataset, UNTRAINED_LENGTH, seed=SEED + 1),
                "greedy": generate_text(model, dataset, UNTRAINED_LENGTH, temperature=0),
            }
            self._texts = (model, texts)
        return self._texts[1]

    # --- drawing --------------------------------------------------------------------

    def show_step(self, chart: bool = True) -> None:
        """Draw the current step: its header, explanation, live object (and its chart,
        unless told)."""
        step = STEPS[self.step]
        number, total = self.tour_position
        self._drawn_version = self.charlm.run_version
        self._update_mode_bar()
        header = Text(no_wrap=True, overflow="ellipsis")
        header.append(" " + _("Notebook tour") + f" {number}/{total} ", "reverse bold")
        header.append(" " + "●" * number + "○" * (total - number) + " ", "dim")
        header.append(f" {step.items} ", "bold")
        header.append(_(step.title), "bold")
        self._show("#tour-header", header)
        lesson = self._lesson_now()
        self.set_class(self.step in CHART_STEPS, "-chart")
        self.query_one(TourText).show(_(step.title), self._explanation(step, lesson))
        obj, numbers = self._object(lesson)
        self._show("#tour-object", obj)
        self._show("#tour-numbers", numbers)
        if self.step in CHART_STEPS and chart:
            self._draw_chart()

    def _show(self, selector: str, content: Text | str) -> None:
        """Put content in a Static, only when it changed: a redraw lays the screen out
        again, and during a run each tick would take the trainer's GIL for nothing."""
        widget = self.query_one(selector, Static)
        if widget.content != content:
            widget.update(content)

    def _explanation(self, step: Step, lesson: Lesson | None) -> str:
        """The step's sentences in the current language, with the corpus's numbers."""
        if lesson is None:  # no corpus yet: its numbers are still to come
            return PLACEHOLDER.sub("…", _(step.text))
        total = sum(count for _name, _shape, count in lesson.parameter_table)
        return _(step.text).format(
            v=lesson.vocab.size,
            n=len(lesson.dataset.corpus.text),
            total=total,
            bigram=perplexity(lesson.dataset.references.bigram),
            train=f"{lesson.dataset.train_fraction:.0%}",
            val=f"{1 - lesson.dataset.train_fraction:.0%}",
        )

    def _object(self, lesson: Lesson | None) -> tuple[Text, Text | str]:
        """The live object of the current step, and the line under it (or "")."""
        app = self.charlm
        if lesson is None:
            if app.load_error is not None:
                return Text(
                    _("Could not load the corpus: {error}").format(error=app.load_error)
                ), ""
            loading = app.loading or app.options.corpus
            return Text(_("Loading {name}…").format(name=loading)), ""
        width = max(20, self.query_one("#tour-object", Static).size.width or 46)
        draw = [
            lambda: tour_objects.corpus_object(lesson, self._corpus_title(lesson)),
            lambda: tour_objects.vocab_object(lesson),
            lambda: tour_objects.encode_object(lesson),
            lambda: tour_objects.split_object(lesson),
            lambda: tour_objects.one_hot_object(lesson, width),
            lambda: tour_objects.model_object(lesson),
            lambda: tour_objects.untrained_object(lesson),
            lambda: tour_objects.loss_object(lesson),
        ]
        if self.step < len(draw):
            return draw[self.step](), ""
        if self.step == TRAINING_STEP:
            return self._training_object(lesson)
        return self._after_object(lesson), ""

    def _corpus_title(self, lesson: Lesson) -> str:
        from charlm_tui.core.corpus import CATALOG

        corpus = lesson.dataset.corpus
        return CATALOG[corpus.name].title if corpus.name in CATALOG else corpus.name

    def _training_object(self, lesson: Lesson) -> tuple[Text, Text]:
        """N9: the recipe above the chart; the run's numbers below it."""
        app = self.charlm
        config = TrainConfig.defaults_for(NOTEBOOK_MODEL, seed=SEED)
        epochs = config.steps // config.steps_per_epoch
        recipe = Text(
            _("Adam, lr {lr:g} · {epochs} epochs × {per} steps · seed {seed}").format(
                lr=config.lr, epochs=epochs, per=config.steps_per_epoch, seed=config.seed
            )
        )
        numbers = Text()
        history = app.history
        if not self._notebook_run():
            if app.training_state in ACTIVE:
                numbers.append(
                    _(
                        "Another run is training ({model}): wait for it, or stop it on the "
                        "training screen (2, then x), and come back."
                    ).format(
                        model=history.started.model if history.started else app.train_config.model
                    ),
                    "bold",
                )
            else:
                numbers.append(_("Training starts when this step is entered."))
            return recipe, numbers
        if history.evals:
            last = history.evals[-1]
            numbers.append(
                _("step {step:,}/{total:,} · train {train:.1f} · val {val:.1f}").format(
                    step=last.step,
                    total=history.total_steps,
                    train=last.train_perplexity,
                    val=last.val_perplexity,
                ),
                "bold",
            )
        else:
            numbers.append(_("starting…"))
        finished = history.finished
        if finished is not None:
            if finished.final_val_perplexity is not None:
                numbers.append(
                    "\n"
                    + _("done: perplexity {ppl:.2f} on the whole val part").format(
                        ppl=finished.final_val_perplexity
                    )
                )
            else:
                numbers.append("\n" + (finished.message or finished.reason))
        return recipe, numbers

    def _after_object(self, lesson: Lesson) -> Text:
        """N10 and the last step: the trained model's text, or why there is none yet."""
        app = self.charlm
        text = Text()
        model = self._trained()
        if model is None:
            history = app.history
            if self._notebook_run():
                text.append(
                    _(
                        "Training: step {step:,} of {total:,}. The text comes from the final "
                        "weights when it ends, in a few seconds."
                    ).format(step=history.step, total=history.total_steps)
                    + "\n\n",
                    "bold",
                )
                samples = [e for e in history.evals if e.sample]
                if samples:
                    text.append(
                        _("meanwhile, the sample at step {step:,}:").format(step=samples[-1].step)
                        + "\n",
                        "dim",
                    )
                    text.append((samples[-1].sample or "").replace("\n", "⏎"))
            else:
                text.append(_("No trained model yet: go back to the training step (←)."), "bold")
            return text
        texts = self._trained_texts(model, lesson)
        finished = app.history.finished
        step = finished.step if finished is not None else app.history.step
        if self.step == TRAINING_STEP + 1:
            text.append(
                _("trained {steps:,} steps; sampled, seed {seed}, {n} characters:").format(
                    steps=step, seed=SEED, n=SAMPLE_LENGTH
                )
                + "\n\n",
                "bold",
            )
            text.append(texts["sampled"].replace("\n", "⏎"))
            return text
        text.append(_("greedy (always the most likely):") + "\n", "bold")
        text.append(texts["greedy"].replace("\n", "⏎") + "\n\n")
        text.append(_("sampled, seed {seed}:").format(seed=SEED) + "\n", "bold")
        text.append(texts["sampled"][:UNTRAINED_LENGTH].replace("\n", "⏎") + "\n\n")
        text.append(_("sampled, seed {seed}:").format(seed=SEED + 1) + "\n", "bold")
        text.append(texts["seed2"].replace("\n", "⏎"))
        return text

    def _draw_chart(self) -> None:
        app = self.charlm
        self._chart_drawn_at = time.monotonic()
        refs = app.dataset.references if app.dataset is not None else None
        if self._notebook_run():
            history = app.history
            total = history.total_steps or TrainConfig.defaults_for(NOTEBOOK_MODEL).steps
            self.query_one(PerplexityPlot).show_run(history.evals, refs, total)
        else:
            self.query_one(PerplexityPlot).show_run([], refs, 0)
