"""Provides the Trainer: one training loop for every model, reporting through events.

Two recipes:

- ``notebook`` (the default for ``bigram``): Adam at its defaults, 100 epochs x 10 steps,
  one random 16-character window per step; after each epoch the mean train loss of its
  10 steps and the mean val loss of 10 random val windows, exactly the notebook's loop.
- ``modern`` (the default for the other models): AdamW with decoupled weight decay on
  matrices only, linear warmup then cosine decay, gradient clipping, batches of windows,
  eval every ``eval_interval`` steps on the same ``eval_batches`` val batches each time.

Both finish with the loss on the whole val split, checkpoint the best and the last state,
stop at the first non-finite loss, and check a stop event at every step boundary. Nothing
here prints: the CLI and the TUI subscribe to the events in ``core.events``.
"""

from __future__ import annotations

import contextlib
import copy
import errno
import json
import math
import os
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from charlm_tui.core import checkpoint as ckpt
from charlm_tui.core import cpu_load
from charlm_tui.core.control import RunControl
from charlm_tui.core.data import (
    Split,
    check_size,
    encode_corpus,
    random_batch,
    random_window,
    sequential_batches,
    split_ids,
)
from charlm_tui.core.events import (
    CheckpointSaved,
    EvalCompleted,
    StepCompleted,
    TrainingEvent,
    TrainingFinished,
    TrainingStarted,
)
from charlm_tui.core.i18n import _
from charlm_tui.core.metrics import bits_per_char, perplexity
from charlm_tui.core.models import REGISTRY, CharModel, build_model
from charlm_tui.core.precision import DTYPES, autocast, resolve_dtype
from charlm_tui.core.vocab import Vocab


class ConfigError(ValueError):
    """A training setting is out of range; the message names it and the valid range."""


class RunFolderError(OSError):
    """The run folder could not be written (config, metrics); the message says where and why."""


UNLIMITED_STEPS = 10**9  # `steps` of a run that only its time budget ends
SHORT_BUDGET_S = 120.0  # time budgets up to this train a smaller GPT by default
# an eval saves "last" at most this often (a new best and the last step always): the
# notebook recipe evaluates every few milliseconds, and each save carries the history
ROUTINE_SAVE_INTERVAL_S = 1.0
_FLOAT32_MAX = float(torch.finfo(torch.float32).max)


EventCallback = Callable[[TrainingEvent], None]
Recipe = Literal["notebook", "modern"]


@dataclass
class TrainConfig:
    """Everything that defines a run; saved with every checkpoint."""

    model: str = "bigram"
    model_overrides: dict[str, Any] = field(default_factory=dict)
    recipe: Recipe = "notebook"
    steps: int = 1000  # optimisation steps in all (notebook: epochs x steps_per_epoch)
    steps_per_epoch: int = 10  # notebook recipe: steps between evals
    batch_size: int = 1  # notebook: one window per step
    block_size: int = 16  # characters per window
    lr: float = 1e-3
    min_lr: float = 1e-4
    weight_decay: float = 0.0
    beta2: float = 0.999
    warmup_steps: int = 0
    grad_clip: float = 0.0  # 0 = off
    eval_interval: int = 10
    eval_batches: int = 10
    final_eval: bool = True  # loss on the whole val split at the end
    sample_length: int = 120
    seed: int = 1
    device: str = "auto"
    dtype: str = "auto"  # "float32", "bfloat16" (autocast), "auto": bfloat16 where native
    threads: int | None = None
    train_fraction: float = 0.8
    newlines_to_spaces: bool = False  # how the corpus was read: recorded for resume and eval
    checkpoint_interval: int = 0  # steps between "last" checkpoints; 0 = evals only
    # Train for this many seconds (0 = off): the cosine decays over the time instead of
    # the steps, and the run ends when the time is up or at `steps`, whichever is first.
    # The time counts the steps, evals and saves; the final whole-val eval comes after.
    time_budget_s: float = 0.0

    @classmethod
    def defaults_for(cls, model: str, **overrides: Any) -> TrainConfig:
        """The recipe a model trains with unless told otherwise (and for its time budget:
        given one and no steps, the time alone ends the run)."""
        if overrides.get("time_budget_s") and "steps" not in overrides:
            overrides["steps"] = UNLIMITED_STEPS
        if model == "bigram":
            return replace(cls(model="bigram"), **overrides)
        # the best quality per minute of the recipes tried on 2 cores (docs/performance.md)
        base = cls(
            model=model,
            recipe="modern",
            steps=2000,
            batch_size=16,
            block_size=128,
            lr=3e-3,
            min_lr=3e-4,
            weight_decay=0.1,
            beta2=0.99,
            warmup_steps=100,
            grad_clip=1.0,
            eval_interval=250,
            eval_batches=8,
        )
        if model == "gpt" and 0 < overrides.get("time_budget_s", 0) <= SHORT_BUDGET_S:
            # in under two minutes a smaller GPT ends lower (docs/performance.md)
            base = replace(
                base,
                model_overrides={"n_layer": 2, "n_embd": 64, "n_head": 4, "block_size": 64},
                block_size=64,
                lr=5e-3,
                min_lr=5e-4,
                warmup_steps=30,
            )
        return replace(base, **overrides)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def validate(self) -> None:
        problems = []
        if self.steps < 0:
            problems.append(_("steps must be >= 0 (got {steps})").format(steps=self.steps))
        for name in ("steps_per_epoch", "batch_size", "block_size", "eval_interval"):
            if getattr(self, name) < 1:
                problems.append(
                    _("{name} must be >= 1 (got {value})").format(
                        name=name, value=getattr(self, name)
                    )
                )
        if self.model not in REGISTRY:
            problems.append(
                _("model must be one of {value} (got {model!r})").format(
                    value=", ".join(REGISTRY), model=self.model
                )
            )
        if self.eval_batches < 1:
            problems.append(
                _("eval_batches must be >= 1 (got {eval_batches})").format(
                    eval_batches=self.eval_batches
                )
            )
        for name in ("warmup_steps", "checkpoint_interval", "sample_length"):
            if getattr(self, name) < 0:
                problems.append(
                    _("{name} must be >= 0 (got {value})").format(
                        name=name, value=getattr(self, name)
                    )
                )
        if self.threads is not None and self.threads < 0:
            problems.append(
                _("threads must be >= 1, or 0 for automatic (got {threads})").format(
                    threads=self.threads
                )
            )
        # float32 parameters: a larger lr overflows inside the optimizer step itself
        if not (0 < self.lr <= _FLOAT32_MAX):
            problems.append(
                _("lr must be a positive number up to {largest:.3g} (got {lr})").format(
                    largest=_FLOAT32_MAX, lr=self.lr
                )
            )
        for name in ("min_lr", "weight_decay", "grad_clip", "time_budget_s"):
            value = getattr(self, name)
            if not (0 <= value <= _FLOAT32_MAX):
                problems.append(
                    _("{name} must be a number >= 0 (got {value})").format(name=name, value=value)
                )
        if not 0 <= self.beta2 < 1:
            problems.append(_("beta2 must be in [0, 1) (got {beta2})").format(beta2=self.beta2))
        if not 0 < self.train_fraction < 1:
            problems.append(
                _("train_fraction must be between 0 and 1 (got {train_fraction})").format(
                    train_fraction=self.train_fraction
                )
            )
        if self.dtype not in DTYPES:
            problems.append(
                _("dtype must be auto, float32 or bfloat16 (got {dtype})").format(dtype=self.dtype)
            )
        if self.recipe not in ("notebook", "modern"):
            problems.append(
                _("recipe must be notebook or modern (got {recipe})").format(recipe=self.recipe)
            )
        if problems:
            raise ConfigError("; ".join(problems))


@dataclass
class TrainResult:
    """How a run ended."""

    step: int
    reason: str
    message: str
    best_val_loss: float
    final_val_loss: float | None
    history: list[EvalCompleted]
    run_dir: Path | None


def pick_device(name: str = "auto") -> torch.device:
    """`auto` picks cuda, then mps, then cpu; a named device must exist on this machine."""
    if name != "auto":
        try:
            device = torch.device(name)
        except RuntimeError:
            raise ConfigError(
                _("device must be auto, cpu, cuda or mps (got {name!r})").format(name=name)
            ) from None
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ConfigError(
                _(
                    "device {name!r} is not available here (no CUDA GPU, or a CPU-only torch); use the device auto or cpu"
                ).format(name=name)
            )
        if device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():
            raise ConfigError(
                _("device {name!r} does not exist: this machine has {value} CUDA device(s)").format(
                    name=name, value=torch.cuda.device_count()
                )
            )
        mps = getattr(torch.backends, "mps", None)
        if device.type == "mps" and not (mps and mps.is_available()):
            raise ConfigError(
                _("device {name!r} is not available here; use auto or cpu").format(name=name)
            )
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def lr_at(step: int, config: TrainConfig, elapsed_s: float = 0.0) -> float:
    """Linear warmup to lr, then cosine decay to min_lr (modern recipe).

    The cosine ends at the last step, or with a time budget when the time is up: then
    `elapsed_s` (training seconds so far) says how far along the run is.
    """
    if config.recipe == "notebook":
        return config.lr
    if config.warmup_steps and step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    if config.time_budget_s:
        progress = min(1.0, elapsed_s / config.time_budget_s)
    else:
        span = max(1, config.steps - config.warmup_steps)
        progress = min(1.0, (step - config.warmup_steps) / span)
    return config.min_lr + 0.5 * (1.0 + math.cos(math.pi * progress)) * (config.lr - config.min_lr)


def _distributed() -> tuple[int, int]:
    """(rank, world size) when launched by torchrun, else (0, 1)."""
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))


class Trainer:
    """Trains one model on one corpus; call `run()`, watch the events, set `stop` to end."""

    def __init__(
        self,
        config: TrainConfig,
        text: str,
        *,
        out_dir: str | Path | None = None,
        on_event: EventCallback | None = None,
        vocab: Vocab | None = None,
        corpus_name: str = "",
    ) -> None:
        config.validate()
        self.config = config
        self.corpus_name = corpus_name
        self.on_event = on_event or (lambda event: None)
        self.vocab = vocab or Vocab.from_text(text)
        self.split: Split = split_ids(encode_corpus(text, self.vocab), config.train_fraction)
        self.rank, self.world_size = _distributed()
        if config.time_budget_s and self.world_size > 1:
            # each process would read its own clock: different learning rates, and one
            # process leaving the loop while the others wait for it
            raise ConfigError(_("a time budget cannot be used under torchrun; give --steps"))
        self.device = pick_device(config.device)
        self.dtype = resolve_dtype(config.dtype, self.device)  # what "auto" means here

        torch.manual_seed(config.seed)
        random.seed(config.seed)
        np.random.seed(config.seed)
        try:
            self.model = build_model(config.model, self.vocab.size, **config.model_overrides)
        except (TypeError, ValueError) as exc:  # an unknown or invalid model setting
            raise ConfigError(str(exc)) from None
        self.model.to(self.device)
        self.block_size = config.block_size
        check_size(self.split, self.block_size)
        self.optimizer = self._make_optimizer()
        # separate streams so eval and sampling never shift the training windows
        self.train_gen = torch.Generator().manual_seed(config.seed + self.rank)
        self.val_gen = torch.Generator().manual_seed(config.seed + 10_000)
        self.step = 0
        self.best_val_loss = math.inf
        self._saved_at = -math.inf  # time.monotonic() of the last checkpoint written
        self.history: list[EvalCompleted] = []
        self.epoch_losses: list[float] = []  # train losses since the last eval
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self._elapsed_before = 0.0  # training time of earlier sessions of a resumed run
        self._ddp_model: torch.nn.Module | None = None
        self.time_is_up = False  # a time budget was used up (see `_check_time`)

    # --- setup ------------------------------------------------------------------------

    def auto_threads(self) -> int:
        """Torch threads for this run: `config.threads`, else by the work in one step.

        A step of the notebook's model is a few microseconds of arithmetic; a second
        thread only adds synchronisation, so small steps get one thread. Large ones get
        the cores other processes leave free (by the load average at the start; the step
        loop looks again every few seconds): a thread that shares its core with another
        process holds up the others at every barrier.
        """
        if self.config.threads:
            return self.config.threads
        if not self._adapts_threads():
            return 1
        return cpu_load.free_cores(cpu_load.load_average())

    def _adapts_threads(self) -> bool:
        """Whether the thread count follows the machine's load during this run."""
        work = self.config.batch_size * self.block_size * self.n_params
        return (
            not self.config.threads
            and self.device.type == "cpu"
            and work >= 50_000_000
            and cpu_load.cores() > 1
        )

    def _make_optimizer(self) -> torch.optim.Optimizer:
        c = self.config
        # one fused kernel for all parameters: same algorithm, several times faster on CPU
        fused = True if self.device.type in ("cpu", "cuda") else None
        if c.recipe == "notebook":
            params = [p for p in self.model.parameters() if p.requires_grad]
            return torch.optim.Adam(params, lr=c.lr, fused=fused)
        groups = self.model.param_groups(c.weight_decay)
        return torch.optim.AdamW(groups, lr=c.lr, betas=(0.9, c.beta2), fused=fused)

    @property
    def n_params(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    def _autocast(self) -> contextlib.AbstractContextManager[Any]:
        return autocast(self.dtype, self.device)

    # --- data -------------------------------------------------------------------------

    def _batch(self, data: torch.Tensor, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        c = self.config
        if c.recipe == "notebook" and c.batch_size == 1:
            x, y = random_window(data, self.block_size, gen)
            x, y = x[None], y[None]  # (1, T)
        else:
            x, y = random_batch(data, self.block_size, c.batch_size, gen)
        return x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)

    # --- evaluation -------------------------------------------------------------------

    @torch.inference_mode()
    def estimate_val_loss(self) -> float:
        """Mean loss over eval_batches val batches (the recipe decides which batches)."""
        c = self.config
        gen = self.val_gen
        if c.recipe == "modern":  # the same batches at every eval: a smoother curve
            gen = torch.Generator().manual_seed(c.seed + 20_000)
        self.model.eval()
        batches = [self._batch(self.split.val, gen) for _ in range(c.eval_batches)]
        if c.batch_size == 1:  # windows of one length: one forward gives their mean loss
            batches = [(torch.cat([x for x, _ in batches]), torch.cat([y for _, y in batches]))]
        losses = []
        for x, y in batches:
            with self._autocast():
                _, loss = self.model(x, y)
            losses.append(float(loss))
        self.model.train()
        return sum(losses) / len(losses)

    @torch.inference_mode()
    def evaluate_split(self, data: torch.Tensor, batch_size: int = 64) -> float:
        """Loss over every position of `data` (the whole val split, or any encoded text)."""
        return evaluate_loss(self.model, data, self.block_size, batch_size, self.device)

    def sample(self, length: int | None = None, seed_text: str = "") -> str:
        from charlm_tui.core.sample import SamplingOptions, generate

        n = self.config.sample_length if length is None else length
        if n <= 0:
            return ""
        options = SamplingOptions(temperature=1.0, length=n, seed=self.config.seed)
        was_training = self.model.training
        try:
            return "".join(generate(self.model, self.vocab, seed_text, options))
        finally:
            self.model.train(was_training)

    # --- checkpoints ------------------------------------------------------------------

    def checkpoint_path(self, which: str) -> Path | None:
        return None if self.out_dir is None else self.out_dir / f"{which}.safetensors"

    def save(
        self, which: str = "last", reason: str = "last", also_best: bool = False
    ) -> Path | None:
        """Write checkpoint `which` (and, with also_best, the same bytes as "best")."""
        path = self.checkpoint_path(which)
        if path is None or self.rank != 0:
            return None
        if not all(bool(torch.isfinite(p).all()) for p in self.model.parameters()):
            # never overwrite a good checkpoint with weights that can only give NaN
            raise NonFiniteLoss(
                self.step, math.nan, self.optimizer.param_groups[0]["lr"], "weights"
            )
        ckpt.save_checkpoint(
            path,
            model=self.model,
            model_name=self.config.model,
            model_config=self.model_config_dict(),
            vocab_chars=list(self.vocab.chars),
            step=self.step,
            optimizer=self.optimizer,
            train_config=self.config.to_dict(),
            metrics={
                "best_val_loss": self.best_val_loss,
                "epoch_losses": self.epoch_losses,
                "elapsed_s": self.elapsed_s,
                "corpus": self.corpus_name,
                "history": [e.to_dict() for e in self.history[-1000:]],
            },
            generators={"train": self.train_gen, "val": self.val_gen},
        )
        self._saved_at = time.monotonic()
        best = self.checkpoint_path("best") if also_best else None
        if best is not None:
            ckpt.copy_checkpoint(path, best)
            self.on_event(CheckpointSaved(step=self.step, path=best, reason="best"))
        self.on_event(CheckpointSaved(step=self.step, path=path, reason=reason))  # type: ignore[arg-type]
        return path

    def model_config_dict(self) -> dict[str, Any]:
        return asdict(self.model.config)

    def resume_from(self, checkpoint: str | Path | ckpt.Checkpoint) -> None:
        """Continue exactly where a checkpoint of this run left off (a path, or the
        checkpoint already loaded, so that a caller who read it does not read it twice)."""
        if isinstance(checkpoint, ckpt.Checkpoint):
            state = checkpoint
        else:
            state = ckpt.load_checkpoint(checkpoint)
        path = state.path
        ckpt.check_compatible(
            state,
            model_name=self.config.model,
            vocab_chars=list(self.vocab.chars),
            model=self.model,
            optimizer=self.optimizer,
        )
        metrics = state.metrics
        try:  # read everything before changing anything, so a damaged file changes nothing
            best_val_loss = float(metrics.get("best_val_loss", math.inf))
            epoch_losses = [float(x) for x in metrics.get("epoch_losses", [])]
            elapsed_before = float(metrics.get("elapsed_s", 0.0))
            history = [EvalCompleted(**e) for e in metrics.get("history", [])]
        except (TypeError, ValueError) as exc:
            raise ckpt.CheckpointError(
                path,
                _("its training history is damaged ({exc})").format(exc=exc),
                _("Start a new run from it"),
            ) from None
        self.model.load_state_dict(state.model_state())
        optim_state = state.optimizer_state()
        if optim_state is not None:
            try:
                self.optimizer.load_state_dict(optim_state)
            except (KeyError, ValueError, RuntimeError) as exc:
                raise ckpt.IncompatibleCheckpointError(
                    path, _("its optimizer state does not fit this run ({exc})").format(exc=exc)
                ) from None
        ckpt.restore_rng(state, generators={"train": self.train_gen, "val": self.val_gen})
        self.step = state.step
        self.best_val_loss = best_val_loss
        self.epoch_losses = epoch_losses
        self._elapsed_before = elapsed_before
        self.history = history

    # --- the loop ---------------------------------------------------------------------

    @property
    def elapsed_s(self) -> float:
        started = getattr(self, "_started", None)
        return self._elapsed_before + (time.perf_counter() - started if started else 0.0)

    @contextlib.contextmanager
    def _writing(self, path: Path) -> Iterator[None]:
        """Turn an OSError while writing `path` into a RunFolderError that says what to do."""
        try:
            yield
        except OSError as exc:
            detail = exc.strerror or str(exc) or type(exc).__name__
            if exc.errno in (errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", errno.ENOSPC)):
                advice = _("the disk is full (or a file-size limit was hit); free some space")
            elif exc.errno in (errno.ENOTDIR, errno.EEXIST):
                advice = _("a file stands where the run folder should be")
            else:
                advice = _("the folder may not be writable")
            raise RunFolderError(
                _("cannot write {path} ({detail}): {advice}, or choose another run folder").format(
                    path=path, detail=detail, advice=advice
                )
            ) from exc

    def _write_run_files(self) -> None:
        if self.out_dir is None or self.rank != 0:
            return
        info = {
            "train_config": self.config.to_dict(),
            "model_config": self.model_config_dict(),
            "vocab": self.vocab.to_json(),
            "corpus": self.corpus_name,
        }
        target = self.out_dir / "config.json"
        with self._writing(target):
            self.out_dir.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(info, indent=2, ensure_ascii=False))

    def _log_metrics(self, event: EvalCompleted) -> None:
        if self.out_dir is None or self.rank != 0:
            return
        target = self.out_dir / "metrics.jsonl"
        with self._writing(target), open(target, "a", encoding="utf-8") as f:
            f.write(json.dumps(event.to_dict(), ensure_ascii=False) + "\n")

    def _last_good_checkpoint(self) -> str:
        """The note "; the last good checkpoint is PATH (step N)", or "" when there is none."""
        last = self.checkpoint_path("last")
        if last is None or not last.is_file():
            return ""
        try:
            said = _("; the last good checkpoint is {path} (step {step})")
            return said.format(path=last, step=ckpt.read_metadata(last)["step"])
        except ckpt.CheckpointError:
            return ""

    def _check_time(self) -> None:
        """Set `time_is_up`: whether a run with a time budget has used it."""
        budget = self.config.time_budget_s
        self.time_is_up = bool(budget) and self.elapsed_s >= budget

    def _eval_due(self) -> bool:
        c = self.config
        every = c.steps_per_epoch if c.recipe == "notebook" else c.eval_interval
        return self.step % every == 0 or self._eval_is_last()

    def _eval_is_last(self) -> bool:
        return self.step == self.config.steps or self.time_is_up

    def _routine_save_due(self) -> bool:
        return time.monotonic() - self._saved_at >= ROUTINE_SAVE_INTERVAL_S

    def _do_eval(self) -> EvalCompleted:
        train_loss = (
            sum(self.epoch_losses) / len(self.epoch_losses) if self.epoch_losses else math.nan
        )
        val_loss = self.estimate_val_loss()
        self.epoch_losses = []
        is_best = val_loss < self.best_val_loss
        if is_best:
            self.best_val_loss = val_loss
        sample = self.sample() if self.config.sample_length else None
        event = EvalCompleted(
            step=self.step,
            total_steps=self.config.steps,
            train_loss=train_loss,
            val_loss=val_loss,
            best_val_loss=self.best_val_loss,
            is_best=is_best,
            elapsed_s=self.elapsed_s,
            sample=sample,
        )
        self.history.append(event)
        self._log_metrics(event)
        self.on_event(event)
        return event

    def _at_step_boundary(self, control: RunControl) -> None:
        """Serve the control's requests between two steps: save now, wait while paused."""
        while True:
            if control.take_save_request():
                self.save("last", "last")
            if not control.paused or control.stop_requested:
                return
            control.wait_while_paused(0.05)

    def _train_model(self) -> torch.nn.Module:
        if self.world_size > 1 and self._ddp_model is None:
            from torch.nn.parallel import DistributedDataParallel

            ids = [self.device.index] if self.device.type == "cuda" else None
            self._ddp_model = DistributedDataParallel(self.model, device_ids=ids)
        return self._ddp_model or self.model

    def steps(self, control: RunControl) -> Iterator[float]:
        """Run optimisation steps, yielding each loss; ends at `config.steps` or on stop."""
        c = self.config
        model = self._train_model()
        model.train()
        tokens = c.batch_size * self.block_size
        load = cpu_load.CpuLoad() if self._adapts_threads() else None
        params = [p for group in self.optimizer.param_groups for p in group["params"]]
        # The time is read once per step, after it, so the step that uses the budget up is
        # the one evaluated (and saved) last.
        self._check_time()
        while self.step < c.steps and not control.stop_requested and not self.time_is_up:
            if load is not None and load.due():  # another process took or freed a core
                others = load.others_busy()
                if others is not None:
                    torch.set_num_threads(cpu_load.free_cores(others))
            lr = lr_at(self.step, c, self.elapsed_s)
            for group in self.optimizer.param_groups:
                group["lr"] = lr
            x, y = self._batch(self.split.train, self.train_gen)
            with self._autocast():
                _, loss = model(x, y)
            value = float(loss.detach())
            if not math.isfinite(value):
                raise NonFiniteLoss(self.step + 1, value, lr)
            for p in params:  # zero_grad(set_to_none=True) without its profiler hooks
                p.grad = None
            loss.backward()
            if c.grad_clip:
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), c.grad_clip)
            self.optimizer.step()
            self.step += 1
            self.epoch_losses.append(value)
            elapsed = self.elapsed_s
            self._check_time()
            self.on_event(
                StepCompleted(
                    step=self.step,
                    total_steps=c.steps,
                    loss=value,
                    lr=lr,
                    elapsed_s=elapsed,
                    tokens_per_s=tokens * self._session_steps() / max(1e-9, self._session_s()),
                )
            )
            yield value
            self._at_step_boundary(control)

    def _session_steps(self) -> int:
        return self.step - self._start_step

    def _session_s(self) -> float:
        return time.perf_counter() - self._started

    def run(self, control: RunControl | None = None) -> TrainResult:
        """Train to the end or until `control` asks to stop; always returns, never raises on
        NaN. The control is read at each step boundary (stop, pause, save now)."""
        control = control or RunControl()
        c = self.config
        if self.device.type == "cpu":
            torch.set_num_threads(self.auto_threads())
        self._started = time.perf_counter()
        self._start_step = self.step
        self.on_event(
            TrainingStarted(
                run_dir=self.out_dir,
                model=c.model,
                n_params=self.n_params,
                vocab_size=self.vocab.size,
                total_steps=c.steps,
                start_step=self.step,
                device=str(self.device),
                config=c.to_dict(),
            )
        )
        reason: Literal["completed", "stopped", "non_finite", "error"] = "completed"
        message = ""
        try:
            self._write_run_files()
            for _step in self.steps(control):
                if self._eval_due() and self.rank == 0:
                    event = self._do_eval()
                    if not math.isfinite(event.val_loss):
                        # the last step's update broke the weights: they must not be saved
                        lr = self.optimizer.param_groups[0]["lr"]
                        raise NonFiniteLoss(self.step, event.val_loss, lr, "validation loss")
                    if event.is_best or self._eval_is_last() or self._routine_save_due():
                        self.save("last", "last", also_best=event.is_best)
                elif c.checkpoint_interval and self.step % c.checkpoint_interval == 0:
                    self.save("last", "last")
            if control.stop_requested:
                reason = "stopped"
                self.save("last", "stop")
                if self.out_dir is not None:
                    said = _("stopped at step {step} of {steps}; resume with --resume {path}")
                else:
                    said = _("stopped at step {step} of {steps}")
                message = said.format(
                    step=self.step, steps=c.steps, path=self.checkpoint_path("last")
                )
        except NonFiniteLoss as exc:
            reason, message = "non_finite", str(exc) + self._last_good_checkpoint()
        except ckpt.CheckpointError as exc:  # a save failed; its message names what survived
            said = _("training stopped at step {step}: {reason}")
            reason, message = "error", said.format(step=self.step, reason=exc)
        except RunFolderError as exc:
            reason = "error"
            if self.step == self._start_step:
                said = _("training could not start at step {step}: {reason}{last}")
            else:
                said = _("training stopped at step {step}: {reason}{last}")
            message = said.format(step=self.step, reason=exc, last=self._last_good_checkpoint())
        final: float | None = None
        if reason == "completed":
            note = ""
            if c.final_eval and self.rank == 0:
                final, note = self._final_eval()
            message = _("finished {steps} steps").format(steps=self.step)
            if final is not None:
                whole = _(
                    "{message}; whole val split: loss {loss:.4f}, perplexity {ppl:.3f}, "
                    "{bpc:.3f} bits/char"
                )
                message = whole.format(
                    message=message,
                    loss=final,
                    ppl=perplexity(final),
                    bpc=bits_per_char(final),
                )
            message += note
        self.on_event(
            TrainingFinished(step=self.step, reason=reason, message=message, final_val_loss=final)
        )
        return TrainResult(
            step=self.step,
            reason=reason,
            message=message,
            best_val_loss=self.best_val_loss,
            final_val_loss=final,
            history=self.history,
            run_dir=self.out_dir,
        )

    def _final_eval(self) -> tuple[float, str]:
        """The whole val split's loss at the end, also logged as the last line of
        metrics.jsonl ("final": true); and a note for the message if something failed.

        "best" was picked on a few val batches; here, on the whole split, the last weights
        replace it when they are at least as good, so best is never worse than last.
        """
        loss = self.evaluate_split(self.split.val)
        line: dict[str, Any] = {
            "final": True,
            "step": self.step,
            "split": "val",
            "characters": len(self.split.val),
            "val_loss": loss,
            "perplexity": perplexity(loss),
            "bits_per_char": bits_per_char(loss),
            "elapsed_s": self.elapsed_s,
        }
        if self.out_dir is None:
            return loss, ""
        try:
            line["best_step"], line["best_val_loss"] = self._keep_the_better_best(loss)
        except ckpt.CheckpointError as exc:  # best stays as it was; last is saved
            return loss, _(" (but best could not be compared with last: {reason})").format(
                reason=exc
            )
        target = self.out_dir / "metrics.jsonl"
        try:
            with self._writing(target), open(target, "a", encoding="utf-8") as f:
                f.write(json.dumps(line) + "\n")
        except RunFolderError as exc:  # the checkpoints are saved: say it, do not fail
            said = _(" (but the final line of metrics.jsonl was not written: {reason})")
            return loss, said.format(reason=exc)
        return loss, ""

    def _keep_the_better_best(self, last_loss: float) -> tuple[int, float]:
        """Make best.safetensors the better of best and last on the whole val split;
        returns its step and whole-val loss. `last_loss` is the current weights' loss."""
        from charlm_tui.core.runs import load_model

        best, last = self.checkpoint_path("best"), self.checkpoint_path("last")
        assert best is not None and last is not None
        if not last.is_file() or int(ckpt.read_metadata(last)["step"]) != self.step:
            return self.step, last_loss  # last is not these weights (no step ran)
        if best.is_file():
            best_step = int(ckpt.read_metadata(best)["step"])
            if best_step == self.step:
                return self.step, last_loss
            loaded = load_model(best, device=self.device)
            best_loss = evaluate_loss(
                loaded.model, self.split.val, self.block_size, device=self.device
            )
            if best_loss < last_loss:
                return best_step, best_loss
        ckpt.copy_checkpoint(last, best)
        self.on_event(CheckpointSaved(step=self.step, path=best, reason="best"))
        return self.step, last_loss

    def snapshot(self) -> CharModel:
        """A CPU copy of the current weights, for generation while training goes on.

        A deep copy, not a fresh model: building one would draw its initial weights from
        the global RNG and shift everything the run draws after it. Each tensor is copied
        straight to the CPU (the deepcopy memo hands over the copies), so a model on a GPU
        is never doubled in its memory; tied weights stay tied.
        """
        memo: dict[int, Any] = {}
        for param in self.model.parameters():
            memo[id(param)] = torch.nn.Parameter(
                param.detach().to("cpu", copy=True), requires_grad=param.requires_grad
            )
        for buffer in self.model.buffers():
            memo[id(buffer)] = buffer.detach().to("cpu", copy=True)
        return copy.deepcopy(self.model, memo).to("cpu").eval()


class NonFiniteLoss(RuntimeError):
    """The loss (or the validation loss, or the weights) became NaN or inf; training stops
    before the bad step is applied or saved."""

    def __init__(self, step: int, value: float, lr: float, what: str = "loss") -> None:
        if what == "weights":
            said = _(
                "the weights became non-finite at step {step}, so training stopped before "
                "saving the weights (learning rate {lr:g}: try a smaller --lr or gradient "
                "clipping)"
            )
        elif what == "loss":
            said = _(
                "the loss became {value} at step {step}, so training stopped before applying "
                "it (learning rate {lr:g}: try a smaller --lr or gradient clipping)"
            )
        else:
            said = _(
                "the {what} became {value} at step {step}, so training stopped before saving "
                "the weights (learning rate {lr:g}: try a smaller --lr or gradient clipping)"
            )
        what_words = {"validation loss": _("validation loss")}.get(what, what)
        super().__init__(said.format(what=what_words, value=value, step=step, lr=lr))
        self.step, self.value, self.lr = step, value, lr


@torch.inference_mode()
def evaluate_loss(
    model: torch.nn.Module,
    data: torch.Tensor,
    block_size: int,
    batch_size: int = 64,
    device: torch.device | str = "cpu",
) -> float:
    """Mean loss (nats/char) over every next-character prediction in `data`."""
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    for x, y in sequential_batches(data, block_size, batch_size):
        _, loss = model(x.to(device), y.to(device))
        total += float(loss) * y.numel()
        count += y.numel()
    model.train(was_training)
    return total / max(1, count)
