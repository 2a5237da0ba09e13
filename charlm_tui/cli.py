"""Provides the `charlm` command: tui (default), prep, train, sample, eval, bench, serve.

Only the `tui` and `serve` subcommands import Textual, so `charlm train` over SSH and
`charlm --help` never pay for it. Torch is imported inside each command, after argument
parsing, so `--help` is instant.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import shlex
import signal
import sys
import time
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from charlm_tui.core.i18n import (
    LANGUAGES,
    N_,
    _,
    language,
    language_from_environment,
    set_language,
)

if TYPE_CHECKING:
    from charlm_tui.core.control import RunControl

# argparse's own words (usage, the options heading, its errors): in the catalog, so that
# `charlm --lang ja --help` is Japanese throughout (choose_language hands argparse our _)
ARGPARSE_WORDS = (
    N_("usage: "),
    N_("options"),
    N_("positional arguments"),
    N_("show this help message and exit"),
    N_("the following arguments are required: %s"),
    N_("unrecognized arguments: %s"),
    N_("invalid choice: %(value)r (choose from %(choices)s)"),
    N_("argument %(argument_name)s: %(message)s"),
    N_("%(prog)s: error: %(message)s\n"),
    N_("expected one argument"),
    N_("invalid %(type)s value: %(value)r"),
    N_("ambiguous option: %(option)s could match %(matches)s"),
    N_("not allowed with argument %s"),
    N_("one of the arguments %s is required"),
)
LANG_HELP = N_(
    "interface language, en or ja (default: from LC_ALL, LC_MESSAGES or LANG); "
    "it may stand anywhere on the command line"
)

EXAMPLES = {
    "prep": N_("""examples:
  charlm prep                                # the notebook's Sherlock, newlines as spaces
  charlm prep --corpus shakespeare --keep-newlines
  charlm prep --corpus ~/texts/my_novel.txt
"""),
    "train": N_("""examples:
  charlm train                               # the notebook: bigram, 100 epochs x 10 steps
  charlm train --model bigram --steps 20000  # train the notebook's model to its limit
  charlm train --model gpt                   # a small GPT (about 0.8M parameters)
  charlm train --model gpt --corpus shakespeare --keep-newlines --out runs/shakes
  charlm train --model gpt --time 35s        # as good as 35 seconds allow (cosine over time)
  charlm train --resume runs/shakes/last.safetensors --steps 6000
  torchrun --nproc-per-node 2 -m charlm_tui train --model gpt   # DistributedDataParallel
"""),
    "sample": N_("""examples:
  charlm sample --checkpoint runs/x/best.safetensors -n 500 --seed-text "Holmes"
  charlm sample --model bigram -n 100        # an untrained model's gibberish (N7)
  charlm sample --checkpoint best.safetensors --temperature 0   # greedy
  charlm sample --checkpoint best.safetensors --top-k 5 --top-p 0.9 --seed 7
"""),
    "eval": N_("""examples:
  charlm eval --checkpoint runs/x/best.safetensors            # the whole val split
  charlm eval --checkpoint runs/x/best.safetensors --split train
  charlm eval --checkpoint runs/x/best.safetensors --text chapter.txt
"""),
    "bench": N_("""examples:
  charlm bench --quick      # under a minute
  charlm bench              # the full table
  charlm bench --quick --device cuda
"""),
    "serve": N_("""examples:
  charlm serve                               # then open http://localhost:8000
  charlm serve --port 8080 --corpus shakespeare
  charlm serve --host 0.0.0.0 --public-url http://192.168.1.20:8000   # a room's projector
Each browser tab gets an app of its own; closing the tab saves its run.
"""),
    "tui": N_("""examples:
  charlm tui
  charlm-tui --corpus shakespeare
  charlm-tui --tour                   # the notebook's story, N1-N11, one key a step
"""),
}


def choose_language(argv: Sequence[str]) -> list[str]:
    """Set the interface language before any parser is built, so that --help is in it:
    --lang en|ja anywhere in `argv` (the last one wins), else the locale's. Returns `argv`
    without the --lang options it took (an invalid one stays, for argparse to refuse)."""
    chosen: str | None = None
    rest: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":  # what follows is not an option
            rest.extend(argv[i:])
            break
        if arg == "--lang" and i + 1 < len(argv) and argv[i + 1] in LANGUAGES:
            chosen, i = argv[i + 1], i + 2
            continue
        if arg.startswith("--lang=") and arg.removeprefix("--lang=") in LANGUAGES:
            chosen, i = arg.removeprefix("--lang="), i + 1
            continue
        rest.append(arg)
        i += 1
    set_language(chosen or language_from_environment())
    argparse._ = _  # type: ignore[attr-defined]  # argparse's words through our catalog
    return rest


def add_lang_arg(p: argparse.ArgumentParser) -> None:
    """--lang, as the help shows it (choose_language has already taken a valid one)."""
    p.add_argument("--lang", choices=LANGUAGES, default=argparse.SUPPRESS, help=_(LANG_HELP))


class UserError(Exception):
    """An error to show as one line, without a traceback."""


def say(*parts: object, file: Any = None, end: str = "\n") -> None:
    """print(), except that a terminal that has gone (SSH dropped: EIO) is not an error.

    Training goes on printing after SIGHUP until its next step boundary; a failed write
    there must not break the loop before it saves.
    """
    try:
        print(*parts, file=file or sys.stdout, end=end, flush=True)
    except OSError:
        pass


def add_corpus_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group(_("corpus"))
    g.add_argument(
        "--corpus",
        default=None,
        metavar="NAME_OR_PATH",
        help=_("sherlock (default), shakespeare, bocchan, python-docs, or a UTF-8 text file"),
    )
    newlines = g.add_mutually_exclusive_group()
    newlines.add_argument(
        "--newlines-to-spaces",
        dest="newlines_to_spaces",
        action="store_true",
        default=None,
        help=_("join the text into one line (the default for sherlock, as in the notebook)"),
    )
    newlines.add_argument(
        "--keep-newlines",
        dest="newlines_to_spaces",
        action="store_false",
        help=_("keep line breaks (the default for every other corpus)"),
    )
    add_reading_args(g)


def add_reading_args(g: argparse._ActionsContainer) -> None:
    """How a corpus is read: the encoding of a local file, and whether to download."""
    g.add_argument("--encoding", default="utf-8", help=_("text encoding of a local file"))
    g.add_argument(
        "--encoding-errors",
        default="strict",
        choices=["strict", "replace", "ignore"],
        help=_("what to do with undecodable bytes (default: refuse the file)"),
    )
    g.add_argument("--offline", action="store_true", help=_("never download a corpus"))


def add_sampling_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group(_("sampling"))
    g.add_argument("-n", "--length", type=int, default=300, help=_("characters to generate"))
    g.add_argument("--seed-text", default="", help=_("text to start from (empty: a random char)"))
    g.add_argument("--temperature", type=float, default=1.0, help=_("0 = greedy; default 1.0"))
    g.add_argument("--top-k", type=int, default=0, help=_("keep the k likeliest (0 = all)"))
    g.add_argument("--top-p", type=float, default=1.0, help=_("nucleus: smallest set above p"))
    g.add_argument("--seed", type=int, default=None, help=_("RNG seed for repeatable samples"))
    g.add_argument(
        "--unknown",
        choices=["drop", "replace", "error"],
        default="drop",
        help=_("seed characters the model never saw: drop (default), replace by a space, or fail"),
    )


def duration(text: str) -> float:
    """Seconds from "90", "90s", "1.5m" or "2h" (an argparse type)."""
    units = {"s": 1.0, "m": 60.0, "h": 3600.0}
    value, scale = text.strip().lower(), 1.0
    if value[-1:] in units:
        value, scale = value[:-1], units[value[-1]]
    try:
        seconds = float(value) * scale
    except ValueError:
        seconds = math.nan
    if not (0 < seconds < math.inf):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a duration: give seconds (90), or 90s, 5m, 1h"
        )
    return seconds


def build_parser(tui_alone: bool = False) -> argparse.ArgumentParser:
    """The `charlm` parser; with `tui_alone`, its tui command's usage reads `charlm-tui`."""
    parser = argparse.ArgumentParser(
        prog="charlm",
        description=_(
            "A terminal studio for character-level language models. Without a subcommand it opens the app (charlm tui)."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=_("Run `charlm COMMAND --help` for each command's options and examples."),
    )
    from charlm_tui import __version__

    parser.add_argument(
        "--version",
        action="version",
        version=f"charlm-tui {__version__}",
        help=_("show program's version number and exit"),
    )
    add_lang_arg(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(name: str, help_text: str, **extra: Any) -> argparse.ArgumentParser:
        command = sub.add_parser(
            name,
            help=help_text,
            description=help_text,
            epilog=_(EXAMPLES[name]) if name in EXAMPLES else None,
            formatter_class=argparse.RawDescriptionHelpFormatter,
            **extra,
        )
        add_lang_arg(command)
        return command

    tui = add(
        "tui",
        _("open the terminal app (the default)"),
        **({"prog": "charlm-tui"} if tui_alone else {}),
    )
    add_corpus_args(tui)
    tui.add_argument(
        "--threads", type=int, default=None, help=_("torch threads (default: cores-1)")
    )
    tui.add_argument(
        "--present",
        action="store_true",
        help=_("start in presenter mode: no chrome, high contrast (v or Shift+F5 toggles it)"),
    )
    tui.add_argument(
        "--tour",
        action="store_true",
        help=_("open on the notebook tour: N1-N11 step by step, on sherlock unless --corpus"),
    )

    prep = add("prep", _("corpus statistics: size, vocabulary with counts, split, references"))
    add_corpus_args(prep)
    prep.add_argument("--train-fraction", type=float, default=0.8, help=_("default 0.8"))
    prep.add_argument("--memmap", metavar="FILE", help=_("also encode the corpus to FILE (ids)"))

    train = add("train", _("train a model; Ctrl+C saves a checkpoint and stops cleanly"))
    add_corpus_args(train)
    g = train.add_argument_group(_("model"))
    g.add_argument("--model", default="bigram", help=_("bigram (default), mlp, gru, lstm, gpt"))
    g.add_argument("--n-layer", type=int, help=_("layers (gpt, gru, lstm)"))
    g.add_argument("--n-head", type=int, help=_("attention heads (gpt)"))
    g.add_argument("--n-embd", type=int, help=_("width (gpt, mlp, gru, lstm)"))
    g.add_argument("--dropout", type=float, help=_("dropout probability"))
    g = train.add_argument_group(_("optimisation (defaults depend on the model)"))
    g.add_argument("--recipe", choices=["notebook", "modern"], help=_("training recipe"))
    g.add_argument("--steps", type=int, help=_("optimisation steps in all"))
    g.add_argument(
        "--time",
        type=duration,
        dest="time_budget_s",
        metavar="DURATION",
        help=_(
            "train for this long (90, 90s, 5m, 1h): the schedule decays over the time, and --steps (unlimited unless given) caps it"
        ),
    )
    g.add_argument("--batch-size", type=int, help=_("windows per step"))
    g.add_argument("--block-size", type=int, help=_("characters per window (context)"))
    g.add_argument("--lr", type=float, help=_("peak learning rate"))
    g.add_argument("--min-lr", type=float, help=_("learning rate at the end of the cosine"))
    g.add_argument("--weight-decay", type=float, help=_("AdamW weight decay"))
    g.add_argument("--warmup-steps", type=int, help=_("linear warmup steps"))
    g.add_argument("--grad-clip", type=float, help=_("gradient-norm clip (0 = off)"))
    g.add_argument("--eval-interval", type=int, help=_("steps between evals (modern recipe)"))
    g.add_argument("--eval-batches", type=int, help=_("val batches per eval"))
    g.add_argument("--sample-length", type=int, help=_("characters sampled at each eval"))
    g.add_argument("--seed", type=int, help=_("seed (default 1, as the notebook)"))
    g.add_argument("--train-fraction", type=float, help=_("train part of the split (default 0.8)"))
    g = train.add_argument_group(_("machine and files"))
    g.add_argument("--device", help=_("auto (default), cpu, cuda, mps"))
    g.add_argument(
        "--dtype",
        choices=["auto", "float32", "bfloat16"],
        help=_("precision: auto (default) is bfloat16 autocast where the hardware has it"),
    )
    g.add_argument("--threads", type=int, help=_("torch threads (default: all cores)"))
    g.add_argument("--out", metavar="DIR", help=_("run folder (default: in the user data dir)"))
    g.add_argument("--resume", metavar="CHECKPOINT", help=_("continue a run exactly"))
    g.add_argument("--quiet", action="store_true", help=_("only the final line"))

    sample = add("sample", _("stream generated text to stdout"))
    src = sample.add_argument_group(_("model"))
    src.add_argument("--checkpoint", metavar="PATH", help=_("a trained checkpoint (.safetensors)"))
    src.add_argument("--model", default="bigram", help=_("an untrained model of this type"))
    add_corpus_args(sample)
    add_sampling_args(sample)

    ev = add("eval", _("loss, perplexity and bits per char of a checkpoint"))
    ev.add_argument("--checkpoint", metavar="PATH", required=True, help=_("the checkpoint"))
    ev.add_argument("--split", choices=["val", "train"], default="val", help=_("default val"))
    ev.add_argument("--text", metavar="FILE", help=_("evaluate on any UTF-8 text file instead"))
    ev.add_argument("--corpus", metavar="NAME_OR_PATH", help=_("corpus (default: the run's own)"))
    add_reading_args(ev)

    bench = add("bench", _("measure training and generation speed on this machine"))
    bench.add_argument("--quick", action="store_true", help=_("a short run (under a minute)"))
    bench.add_argument("--corpus", default="shakespeare", metavar="NAME_OR_PATH")
    bench.add_argument("--device", default="auto", help=_("auto (default), cpu, cuda, mps"))

    serve = add("serve", _("serve the app in a browser (needs textual-serve)"))
    serve.add_argument(
        "--host",
        default="localhost",
        help=_("address to listen on (default localhost; 0.0.0.0 for every interface)"),
    )
    serve.add_argument("--port", type=int, default=8000, help=_("port to listen on (default 8000)"))
    serve.add_argument(
        "--public-url",
        metavar="URL",
        help=_(
            "the address browsers reach the server by, when it is not http://HOST:PORT (behind a proxy, or when listening on 0.0.0.0)"
        ),
    )
    serve.add_argument(
        "--corpus",
        metavar="NAME_OR_PATH",
        help=_("the corpus each browser's app opens on (default: sherlock)"),
    )
    return parser


# --- helpers ------------------------------------------------------------------------------


def load_corpus_arg(
    args: argparse.Namespace, name: str | None = None, newlines: bool | None = None
) -> Any:
    """The corpus the arguments name; newlines as spaces by flag, else as `newlines`, else
    by the corpus's default (spaces for sherlock only)."""
    from charlm_tui.core.corpus import load_corpus, newlines_default

    progress = None
    if sys.stderr.isatty():

        def progress(done: int, total: int | None) -> None:
            if total:
                said = _("downloading: {done:.1f} MB of {total:.1f} MB")
            else:
                said = _("downloading: {done:.1f} MB")
            words = said.format(done=done / 1e6, total=(total or 0) / 1e6)
            print("\r" + words, end="", file=sys.stderr)

    corpus_name = name or args.corpus or "sherlock"
    to_spaces = getattr(args, "newlines_to_spaces", None)
    if to_spaces is None:
        to_spaces = newlines if newlines is not None else newlines_default(corpus_name)
    return load_corpus(
        corpus_name,
        newlines_to_spaces=to_spaces,
        encoding=getattr(args, "encoding", "utf-8"),
        errors=getattr(args, "encoding_errors", "strict"),
        download=not getattr(args, "offline", False),
        progress=progress,
    )


def show_char(ch: str) -> str:
    from charlm_tui.core.vocab import describe_char

    return describe_char(ch)


# --- prep -----------------------------------------------------------------------------------


def cmd_prep(args: argparse.Namespace) -> int:
    from charlm_tui.core.data import encode_corpus, split_ids
    from charlm_tui.core.metrics import char_frequencies, reference_losses
    from charlm_tui.core.vocab import Vocab

    corpus = load_corpus_arg(args)
    vocab = Vocab.from_text(corpus.text)
    ids = encode_corpus(corpus.text, vocab)
    split = split_ids(ids, args.train_fraction)
    counts = char_frequencies(ids, vocab.size)
    refs = reference_losses(split.train, split.val, vocab.size)
    print(_("corpus      {name}  ({source})").format(name=corpus.name, source=corpus.source))
    print(
        _("characters  {n:,}   newlines as spaces: {newlines_to_spaces}").format(
            n=len(corpus.text), newlines_to_spaces=corpus.newlines_to_spaces
        )
    )
    print(
        _("vocabulary  {size} characters: {value!r}").format(
            size=vocab.size, value="".join(vocab.chars)
        )
    )
    print(
        _("split       train {n:,} | val {n2:,} (at {split_at:,})").format(
            n=len(split.train), n2=len(split.val), split_at=split.split_at
        )
    )
    print(_("references  (val perplexity from train counts)"))
    for name, ppl in refs.as_perplexities().items():
        print(f"  {name:<8}  {ppl:8.3f}")
    print(_("counts"))
    order = sorted(range(vocab.size), key=lambda i: -counts[i])
    cells = [f"{show_char(vocab.chars[i])!s:>6} {counts[i]:>8,}" for i in order]
    for row in range(0, len(cells), 4):
        print("  " + "   ".join(cells[row : row + 4]))
    if args.memmap:
        out = Path(args.memmap)
        ids.numpy().astype(vocab.dtype).tofile(out)  # what core.data.open_ids maps
        print(_("ids written to {out} ({name})").format(out=out, name=vocab.dtype.name))
    return 0


# --- train ----------------------------------------------------------------------------------

MODEL_FLAGS = ("n_layer", "n_head", "n_embd", "dropout")
TRAIN_FLAGS = (
    "recipe steps time_budget_s batch_size block_size lr min_lr weight_decay warmup_steps grad_clip "
    "eval_interval eval_batches sample_length seed train_fraction device dtype threads"
).split()


class StopOnSignal:
    """SIGINT, SIGTERM and SIGHUP ask the run to stop; a second Ctrl+C exits at once."""

    def __init__(self, control: RunControl) -> None:
        self.control = control
        self.previous: dict[int, Any] = {}

    def __enter__(self) -> StopOnSignal:
        for sig in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None)):
            if sig is not None:
                self.previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        if self.control.stop_requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.control.request_stop()
        say(
            "\n"
            + _("{signal}: stopping at the next step and saving…").format(
                signal=signal.Signals(signum).name
            ),
            file=sys.stderr,
        )

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)


class ConsoleReporter:
    """Prints training events: a progress line on a terminal, one line per eval."""

    def __init__(self, quiet: bool = False, notebook: bool = False) -> None:
        self.quiet = quiet
        self.tty = sys.stderr.isatty()
        self.last_draw = 0.0
        self.notebook = notebook
        self.evals = 0
        self.budget_s = 0.0  # the run's time budget, from TrainingStarted

    def __call__(self, event: Any) -> None:
        from charlm_tui.core import events as ev

        if isinstance(event, ev.StepCompleted):
            now = time.monotonic()
            if self.tty and not self.quiet and now - self.last_draw > 0.1:
                self.last_draw = now
                if self.budget_s:
                    frac = min(1.0, event.elapsed_s / self.budget_s)
                    where = _("{step} steps {elapsed:.0f}/{budget:.0f}s").format(
                        step=event.step, elapsed=event.elapsed_s, budget=self.budget_s
                    )
                else:
                    frac = event.step / max(1, event.total_steps)
                    where = f"{event.step}/{event.total_steps}"
                bar = "#" * int(frac * 30)
                rate = event.step / max(1e-9, event.elapsed_s)
                say(
                    "\r"
                    + _("[{bar:<30}] {where} loss {loss:.3f} {rate:.0f} steps/s").format(
                        bar=bar, where=where, loss=event.loss, rate=rate
                    ),
                    end="",
                    file=sys.stderr,
                )
        elif isinstance(event, ev.TrainingStarted):
            from charlm_tui.core.train import UNLIMITED_STEPS

            self.budget_s = float(event.config.get("time_budget_s") or 0.0)
            if not self.quiet:
                where = f" -> {event.run_dir}" if event.run_dir else ""
                plan = _("{steps} steps").format(steps=event.total_steps)
                if self.budget_s and event.total_steps < UNLIMITED_STEPS:
                    plan = _("{budget:g} s of training or {steps} steps").format(
                        budget=self.budget_s, steps=event.total_steps
                    )
                elif self.budget_s:
                    plan = _("{budget:g} s of training").format(budget=self.budget_s)
                say(
                    _(
                        "training {model} ({n_params:,} parameters, vocabulary {vocab_size}, {plan} from step {start_step}, {device}){where}"
                    ).format(
                        model=event.model,
                        n_params=event.n_params,
                        vocab_size=event.vocab_size,
                        plan=plan,
                        start_step=event.start_step,
                        device=event.device,
                        where=where,
                    )
                )
        elif isinstance(event, ev.EvalCompleted):
            self.evals += 1
            if self.quiet or (
                self.notebook and self.evals % 10 and event.step != event.total_steps
            ):
                return
            self._clear()
            best = " *" if event.is_best else ""
            line = _(
                "step {step:>6}  train ppl {train:7.3f}  val ppl {val:7.3f}  "
                "val bpc {bpc:.3f}  {elapsed:6.1f}s{best}"
            ).format(
                step=event.step,
                train=event.train_perplexity,
                val=event.val_perplexity,
                bpc=event.val_bits_per_char,
                elapsed=event.elapsed_s,
                best=best,
            )
            say(line)
            if event.sample:
                say("   | " + event.sample[:100].replace("\n", "⏎"))
        elif isinstance(event, ev.TrainingFinished):
            self._clear()
            if event.reason in ("error", "non_finite"):
                say(_("charlm train: {message}").format(message=event.message), file=sys.stderr)
            else:
                say(event.message)

    def _clear(self) -> None:
        if self.tty and not self.quiet:
            say("\r" + " " * 78 + "\r", end="", file=sys.stderr)


def _init_distributed() -> str | None:
    """Join the torchrun process group if launched by torchrun; returns the device to use."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return None
    import torch
    import torch.distributed as dist

    local = int(os.environ.get("LOCAL_RANK", "0"))
    if torch.cuda.is_available():
        torch.cuda.set_device(local)
        dist.init_process_group("nccl")
        return f"cuda:{local}"
    dist.init_process_group("gloo")
    return "cpu"


def cmd_train(args: argparse.Namespace) -> int:
    from charlm_tui.core.corpus import recorded_corpus
    from charlm_tui.core.train import TrainConfig

    overrides = {k: getattr(args, k) for k in TRAIN_FLAGS if getattr(args, k) is not None}
    model_overrides = {k: getattr(args, k) for k in MODEL_FLAGS if getattr(args, k) is not None}
    resume_state = None
    corpus_arg = args.corpus
    newlines: bool | None = None  # the corpus's default unless a flag or the run says
    if args.resume:
        from charlm_tui.core.checkpoint import load_checkpoint

        resume_state = load_checkpoint(args.resume)
        saved = dict(resume_state.train_config or {})
        config = TrainConfig.from_dict(saved)
        for k, v in overrides.items():
            setattr(config, k, v)
        corpus_arg = args.corpus or recorded_corpus(resume_state.metrics.get("corpus"))
        newlines = bool(saved.get("newlines_to_spaces", False))
    else:
        config = TrainConfig.defaults_for(args.model, **overrides)
        config.model_overrides.update(model_overrides)
    device = _init_distributed()
    if device is not None:
        config.device = device
    corpus = load_corpus_arg(args, corpus_arg, newlines)
    config.newlines_to_spaces = corpus.newlines_to_spaces
    return _train_in_run_folder(args, config, corpus, device, resume_state)


def _run_folder(args: argparse.Namespace, model: str) -> tuple[Path | None, bool]:
    """The folder this run writes in, and whether it continues the run that folder holds.

    Only rank 0 writes (under torchrun), so only rank 0 creates a new folder.
    """
    from charlm_tui.core.runs import new_run_dir

    if args.out:
        out = Path(args.out)
        continuing = bool(args.resume) and out.resolve() == Path(args.resume).resolve().parent
        return out, continuing
    if args.resume:
        return Path(args.resume).parent, True
    if int(os.environ.get("RANK", "0")) != 0:
        return None, False
    return new_run_dir(model), False


def _train_in_run_folder(
    args: argparse.Namespace,
    config: Any,
    corpus: Any,
    device: str | None,
    resume_state: Any = None,
) -> int:
    """Claim the run folder (a lock, and no other run's files), train, report, release."""
    from charlm_tui.core.control import RunControl
    from charlm_tui.core.run_folder import claim_run_folder, discard_if_empty
    from charlm_tui.core.train import Trainer

    rank = int(os.environ.get("RANK", "0"))
    out_dir, continuing = _run_folder(args, config.model)
    # new_run_dir has just made its folder; a given --out is ours only if it is not there yet
    made_here = out_dir is not None and (not out_dir.exists() or not (args.out or args.resume))
    folder = (
        claim_run_folder(out_dir, continuing=continuing)
        if out_dir is not None and rank == 0
        else contextlib.nullcontext()
    )
    result = None
    with folder:
        try:
            reporter: Any = ConsoleReporter(quiet=args.quiet, notebook=config.recipe == "notebook")
            if rank != 0:
                reporter = None  # under torchrun only rank 0 reports; the others train in step
            trainer = Trainer(
                config,
                corpus.text,
                out_dir=out_dir,
                on_event=reporter,
                corpus_name=corpus.reference,  # "sherlock" when no --corpus given
                vocab=None,
            )
            if resume_state is not None:
                trainer.resume_from(resume_state)  # the checkpoint read above: one read per resume
            control = RunControl()
            with StopOnSignal(control):
                result = trainer.run(control)
        finally:
            if device is not None:
                import torch.distributed as dist

                dist.destroy_process_group()
            if result is None and made_here and out_dir is not None:
                discard_if_empty(out_dir)  # the folder made for a run that never started
    assert result is not None  # trainer.run returns; everything before it raised
    if rank == 0 and out_dir is not None and result.reason in ("completed", "stopped"):
        _say_best(out_dir / "best.safetensors")
    if result.reason == "non_finite":
        return 3
    if result.reason == "error":  # a write failed; the message said what survived
        return 2
    return 0


def _say_best(best: Path) -> None:
    """The path of the checkpoint to sample from or evaluate, with its step."""
    from charlm_tui.core.checkpoint import CheckpointError, read_metadata

    try:
        step = read_metadata(best)["step"]
    except CheckpointError:
        return  # no best (a run stopped before its first eval), or one that cannot be read
    say(_("best checkpoint (step {step}): {best}").format(step=step, best=best))


# --- sample ---------------------------------------------------------------------------------


def _model_for_sampling(args: argparse.Namespace) -> tuple[Any, Any, str]:
    if args.checkpoint:
        from charlm_tui.core.runs import load_model

        loaded = load_model(args.checkpoint)
        said = _("{model} from {path}").format(model=loaded.name, path=args.checkpoint)
        return loaded.model, loaded.vocab, said
    import torch

    from charlm_tui.core.models import build_model
    from charlm_tui.core.vocab import Vocab

    corpus = load_corpus_arg(args)
    vocab = Vocab.from_text(corpus.text)
    if args.seed is not None:
        torch.manual_seed(args.seed)
    try:
        model = build_model(args.model, vocab.size).eval()
    except ValueError as exc:  # an unknown model name, said with the valid ones
        raise UserError(str(exc)) from None
    said = _("untrained {model} (vocabulary of {corpus})")
    return model, vocab, said.format(model=args.model, corpus=corpus.name)


def cmd_sample(args: argparse.Namespace) -> int:
    from charlm_tui.core.sample import Generator, SamplingOptions

    try:  # SamplingOptions validates itself and names the valid range
        options = SamplingOptions(
            temperature=args.temperature,
            top_k=args.top_k,
            top_p=args.top_p,
            length=args.length,
            seed=args.seed,
        )
    except ValueError as exc:
        raise UserError(str(exc)) from None
    model, vocab, what = _model_for_sampling(args)
    print(f"# {what}", file=sys.stderr)
    import torch

    # a character is a chain of tiny kernels: a second thread only adds synchronisation
    torch.set_num_threads(1)
    # The corpus was NFC-normalised; a seed typed on a terminal that sends NFD (macOS)
    # must match it, or every accented letter would read as unknown.
    args.seed_text = unicodedata.normalize("NFC", args.seed_text)
    try:
        gen = Generator(model, vocab, args.seed_text, options, unknown=args.unknown)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if gen.unknown:
        chars = sorted({c for _, c in gen.unknown})
        action = _("replaced by a space") if args.unknown == "replace" else _("dropped")
        print(
            _("# not in the vocabulary, {action}: {value}").format(
                action=action, value=" ".join(repr(c) for c in chars)
            ),
            file=sys.stderr,
        )
    out = sys.stdout
    out.write(args.seed_text)
    try:
        for ch in gen:
            out.write(ch)
            out.flush()
    except BrokenPipeError:  # `charlm sample | head`
        return 0
    out.write("\n")
    return 0


# --- eval -----------------------------------------------------------------------------------


def cmd_eval(args: argparse.Namespace) -> int:
    from charlm_tui.core.corpus import CorpusError, read_text_file, recorded_corpus
    from charlm_tui.core.data import encode_corpus, split_ids
    from charlm_tui.core.metrics import bits_per_char, perplexity
    from charlm_tui.core.runs import load_model
    from charlm_tui.core.surprise import eval_block_size
    from charlm_tui.core.train import evaluate_loss

    loaded = load_model(args.checkpoint)
    tc = loaded.checkpoint.train_config or {}
    block = eval_block_size(tc)  # the window the surprise heat-map scores in too
    if args.text:
        text = read_text_file(args.text, encoding=args.encoding, errors=args.encoding_errors)
        unknown = loaded.vocab.unknown_chars(text)
        if unknown:
            chars = sorted({c for _, c in unknown})
            print(
                _("# {n} characters not in the vocabulary ({value}) were dropped").format(
                    n=len(unknown), value=" ".join(map(repr, chars[:10]))
                ),
                file=sys.stderr,
            )
        data = encode_corpus(text, loaded.vocab, policy="drop")
        where = args.text
    else:
        ns = argparse.Namespace(
            corpus=args.corpus or recorded_corpus(loaded.checkpoint.metrics.get("corpus")),
            newlines_to_spaces=None,
            offline=args.offline,
            encoding=args.encoding,
            encoding_errors=args.encoding_errors,
        )
        saved_newlines = tc.get("newlines_to_spaces")  # absent in older checkpoints
        try:
            corpus = load_corpus_arg(ns, newlines=saved_newlines)
        except CorpusError as exc:
            if args.corpus:
                raise
            # The corpus the run recorded (a path relative to where it was trained, say)
            # is not found from here: say where the name came from and the way round it.
            raise UserError(
                _(
                    "{exc}. {corpus!r} is the corpus this checkpoint was trained on; pass --corpus PATH to evaluate on it from here, or --text FILE"
                ).format(exc=exc, corpus=ns.corpus)
            ) from None
        data_all = encode_corpus(corpus.text, loaded.vocab, policy="drop")
        split = split_ids(data_all, float(tc.get("train_fraction", 0.8)))
        data = split.val if args.split == "val" else split.train
        if args.split == "val":
            where = _("{corpus} val split").format(corpus=ns.corpus)
        else:
            where = _("{corpus} train split").format(corpus=ns.corpus)
    if len(data) < 2:
        raise UserError(
            _("{where} has fewer than 2 known characters: nothing to evaluate").format(where=where)
        )
    loss = evaluate_loss(loaded.model, data, block)
    print(_("{where}: {n:,} characters").format(where=where, n=len(data)))
    print(_("loss        {loss:.4f} nats/char").format(loss=loss))
    print(_("perplexity  {value:.3f}").format(value=perplexity(loss)))
    print(_("bits/char   {value:.3f}").format(value=bits_per_char(loss)))
    return 0


# --- tui, bench, serve ----------------------------------------------------------------------


def cmd_tui(args: argparse.Namespace) -> int:
    from charlm_tui.tui.entry import run_tui

    return run_tui(args)


def cmd_bench(args: argparse.Namespace) -> int:
    from charlm_tui.bench import run_bench
    from charlm_tui.tui.bench_app import in_app_line  # the app's line runs the app

    return run_bench(args.quick, args.corpus, args.device, in_app=in_app_line)


def cmd_serve(args: argparse.Namespace) -> int:
    try:
        from textual_serve.server import Server
    except ImportError:
        raise UserError(
            _("serving in a browser needs textual-serve: pip install 'charlm-tui[serve]'")
        ) from None
    Server(
        serve_command(args.corpus, language()),
        host=args.host,
        port=args.port,
        title="charlm-tui",
        public_url=args.public_url,
    ).serve()
    return 0


def serve_command(corpus: str | None = None, lang: str | None = None) -> str:
    """The shell line textual-serve runs for each browser: this Python's `charlm tui`
    (with --lang when the server was given a language its locale does not say)."""
    # quoted: a venv path with a space (or a corpus file's name) must survive the shell
    command = [sys.executable, "-m", "charlm_tui", "tui"]
    if corpus:
        command += ["--corpus", corpus]
    if lang is not None and lang != language_from_environment():
        command += ["--lang", lang]
    return " ".join(shlex.quote(part) for part in command)


COMMANDS = {
    "tui": cmd_tui,
    "prep": cmd_prep,
    "train": cmd_train,
    "sample": cmd_sample,
    "eval": cmd_eval,
    "bench": cmd_bench,
    "serve": cmd_serve,
}


def main(argv: Sequence[str] | None = None, *, tui_alone: bool = False) -> int:
    argv = choose_language(list(sys.argv[1:] if argv is None else argv))
    parser = build_parser(tui_alone)
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version")):
        argv = ["tui", *argv]
    args = parser.parse_args(argv)
    args.lang = language()  # the app opens in the language the command line chose
    from charlm_tui.core.errors import USER_ERRORS

    told: tuple[type[Exception], ...] = (UserError, *USER_ERRORS)  # their words are for the user
    try:
        return COMMANDS[args.command](args)
    except told as exc:
        print(_("charlm {command}: {exc}").format(command=args.command, exc=exc), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        say("\n" + _("interrupted"), file=sys.stderr)
        return 130
    except BrokenPipeError:  # `charlm prep | head`: the reader left; so do we, quietly
        # Python would complain again when it flushes stdout at exit: point it at nothing.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def tui_main() -> int:
    return main(["tui", *sys.argv[1:]], tui_alone=True)
