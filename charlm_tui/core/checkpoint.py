"""Provides checkpoints: one safetensors file holding a run's full state, written atomically.

A checkpoint is everything needed to resume a run exactly: the model weights, the optimizer
state, every random number generator, the step, and (as metadata) the model name and
config, the vocabulary, the training config and the metrics. Nothing is ever pickled or
unpickled: tensors go through safetensors and everything else through JSON, so opening a
checkpoint from a stranger cannot run code.

API::

    FORMAT_VERSION: int                         # bumped on incompatible layout changes
    class CheckpointError(Exception)            # .path .problem .advice; str() names the file
    class IncompatibleCheckpointError(CheckpointError)   # another vocab / model / shapes

    @dataclass class Checkpoint:
        path: Path; meta: dict; tensors: dict[str, Tensor]
        model_name, model_config, vocab_chars, step, train_config, metrics, extra,
        created, format_version                 # properties, read from meta
        model_state() -> dict[str, Tensor]      # for model.load_state_dict
        optimizer_state() -> dict | None        # for optimizer.load_state_dict
        rng_state() -> dict                     # torch / cuda / mps / numpy / python / generators

    save_checkpoint(path, *, model, model_name, model_config, vocab_chars, step,
                    optimizer=None, train_config=None, metrics=None, generators=None,
                    extra=None) -> Path
    load_checkpoint(path) -> Checkpoint
    read_metadata(path) -> dict                 # the JSON document only (cheap; for listings)
    check_compatible(ckpt, *, model_name=None, vocab_chars=None, model=None,
                     optimizer=None) -> None
    restore_rng(ckpt, generators=None) -> None

File layout. Tensor names:

- ``model.<state_dict key>``: every entry of ``model.state_dict()``. Tied weights (a GPT's
  embedding and head) appear under both keys as separate copies, so loading restores both
  and ``load_state_dict`` writes the same values into the one shared parameter.
- ``optim.state.<param index>.<key>``: tensor values of ``optimizer.state_dict()["state"]``
  (Adam's ``exp_avg``, ``exp_avg_sq`` and its tensor ``step``). Non-tensor values (a float
  ``step`` in older optimizers, ``None``) are kept in the JSON with their exact type.
- ``optim.group.<group index>.<key>``: a param-group value that is a tensor (a tensor ``lr``).
- ``rng.torch`` (``torch.get_rng_state()``), ``rng.cuda.<i>``, ``rng.mps``, and
  ``rng.gen.<name>`` for each named ``torch.Generator`` the caller passes.

The safetensors metadata holds one key, ``"charlm"``, a JSON document::

    {"format": "charlm-checkpoint", "format_version": 1, "created": ISO-8601 UTC,
     "charlm_version", "torch_version", "model_name", "model_config": {...},
     "vocab": [chars], "step": int, "train_config": {...}, "metrics": {...}, "extra": {...},
     "optimizer": {"class", "param_groups", "state"} | null,
     "rng": {"numpy": [...], "python": [...], "cuda_devices": n, "mps": bool,
             "generators": {name: {"kind": "torch"} | {"kind": "numpy", "state": {...}}}}}

Python floats survive JSON exactly (``repr`` round-trips), tuples are tagged so Adam's
``betas`` come back as a tuple, and ``inf``/``nan`` metrics are written as JSON's
``Infinity``/``NaN``.

How the trainer saves (at a step boundary, after ``optimizer.step()``)::

    save_checkpoint(run_dir / "last.safetensors", model=model, model_name=cfg.model,
                    model_config=asdict(model.config), vocab_chars=list(vocab.chars),
                    step=step, optimizer=optimizer, train_config=asdict(cfg),
                    metrics={"best_val_loss": best, "epoch_losses": [...], "elapsed_s": s,
                             "corpus": name, "history": [...]},
                    generators={"train": train_gen, "val": val_gen})

How it resumes exactly (``Trainer.resume_from``): build the model, the optimizer and the
data generators as a fresh run would (that consumes random numbers; the restore below
overwrites them), then ``check_compatible`` (refuses in words before anything loads),
``model.load_state_dict(ckpt.model_state())``,
``optimizer.load_state_dict(ckpt.optimizer_state())`` and ``restore_rng`` last. Nothing may
draw random numbers between ``restore_rng`` and the next step, or the resumed run drifts
from the uninterrupted one.
"""

from __future__ import annotations

import dataclasses
import enum
import errno
import json
import os
import random
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import save as safetensors_save
from torch import nn

from charlm_tui import __version__
from charlm_tui.core.atomic import atomic_write_bytes, remove_stale_temps
from charlm_tui.core.i18n import N_, _

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "METADATA_KEY",
    "Checkpoint",
    "CheckpointError",
    "IncompatibleCheckpointError",
    "check_compatible",
    "load_checkpoint",
    "read_metadata",
    "restore_rng",
    "save_checkpoint",
]

FORMAT_NAME = "charlm-checkpoint"
FORMAT_VERSION = 1
METADATA_KEY = "charlm"

# safetensors refuses headers above 100 MB; anything larger is not one of its files.
_MAX_HEADER_BYTES = 100_000_000

_DISK_ERRNOS = {errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", errno.ENOSPC)}
_PERMISSION_ERRNOS = {errno.EACCES, errno.EPERM, errno.EROFS}


class CheckpointError(Exception):
    """A checkpoint could not be read or written. ``str()`` names the file, says what is
    wrong and what to do; ``path``, ``problem`` and ``advice`` hold the parts.

    ``CheckpointError(path, problem, advice="")`` is the usual form; a single argument
    (``CheckpointError("whole message")``) is accepted too, with ``path`` left None.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        problem: str | None = None,
        advice: str = "",
    ) -> None:
        if problem is None:
            self.path: Path | None = None
            self.problem = str(path)
            self.advice = advice
            message = self.problem
        else:
            self.path = Path(path)
            self.problem = problem
            self.advice = advice
            message = _("checkpoint {path}: {problem}").format(path=self.path, problem=problem)
        if advice:
            message = _("{message}. {advice}").format(message=message, advice=advice)
        super().__init__(message)


class IncompatibleCheckpointError(CheckpointError):
    """The checkpoint is readable but belongs to another vocabulary, model or shape."""


# --------------------------------------------------------------------------- JSON values


def _json_default(value: Any) -> Any:
    # Configs arrive as dataclasses holding Paths, enums, numpy scalars: make them JSON.
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    if isinstance(value, (torch.dtype, torch.device)):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


# The caller's parts of the metadata, by key, as an error names them.
CALLER_SECTIONS = {
    "model_config": N_("model config"),
    "train_config": N_("training config"),
    "metrics": N_("metrics"),
    "extra": N_("extra data"),
}


def _json_document(meta: Mapping[str, Any], path: Path) -> str:
    """The metadata as one JSON text, or an error naming the section that cannot be JSON.

    One pass over everything: every save carries the run's history.
    """
    try:
        return json.dumps(meta, ensure_ascii=False, separators=(",", ":"), default=_json_default)
    except (TypeError, ValueError) as exc:
        for key, what in CALLER_SECTIONS.items():
            try:
                json.dumps(meta[key], default=_json_default)
            except (TypeError, ValueError) as section_exc:
                raise CheckpointError(
                    path,
                    _("the {what} cannot be stored as JSON ({section_exc})").format(
                        what=_(what), section_exc=section_exc
                    ),
                    _("Pass plain numbers, strings, lists and dicts (dataclasses are converted)"),
                ) from section_exc
        raise CheckpointError(
            path,
            _("could not be serialised: {exc}").format(exc=exc),
            _("Nothing was written; this is a bug"),
        ) from exc


def _encode(value: Any, key: str, tensors: dict[str, torch.Tensor]) -> Any:
    """Encode optimizer data as JSON; tensors are moved to ``tensors[key]`` and referenced."""
    if isinstance(value, torch.Tensor):
        tensors[key] = value
        return {"__tensor__": key}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, f"{key}.{i}", tensors) for i, v in enumerate(value)]}
    if isinstance(value, list):
        return [_encode(v, f"{key}.{i}", tensors) for i, v in enumerate(value)]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise TypeError(f"{key}: dict keys must be strings")
        return {"__dict__": {k: _encode(v, f"{key}.{k}", tensors) for k, v in value.items()}}
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"{key}: cannot store a {type(value).__name__}")


def _decode(value: Any, tensors: Mapping[str, torch.Tensor]) -> Any:
    if isinstance(value, list):
        return [_decode(v, tensors) for v in value]
    if isinstance(value, dict):
        if "__tensor__" in value:
            return tensors[value["__tensor__"]]  # KeyError: reported as damage by callers
        if "__tuple__" in value:
            return tuple(_decode(v, tensors) for v in value["__tuple__"])
        if "__dict__" in value:
            return {k: _decode(v, tensors) for k, v in value["__dict__"].items()}
        raise ValueError(f"unexpected object {sorted(value)}")
    return value


# --------------------------------------------------------------------------- tensors


def _to_storable(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """CPU, dense, contiguous tensors that share no memory, as safetensors requires.

    Tied weights and views share a storage; safetensors refuses those, so every tensor
    after the first on a storage is copied (both keys are kept, each loads on its own).
    """
    out: dict[str, torch.Tensor] = {}
    seen: set[tuple[str, int]] = set()
    for key, tensor in tensors.items():
        t = tensor.detach()
        if t.layout != torch.strided:
            t = t.to_dense()
        if t.device.type != "cpu":
            t = t.to("cpu")  # a new storage already
        else:
            storage = (t.device.type, t.untyped_storage().data_ptr())
            if storage[1] != 0 and storage in seen:
                t = t.clone(memory_format=torch.contiguous_format)
            elif storage[1] != 0:
                seen.add(storage)
        out[key] = t.contiguous()
    return out


def _model_tensors(model: nn.Module, path: Path) -> dict[str, torch.Tensor]:
    tensors: dict[str, torch.Tensor] = {}
    for key, value in model.state_dict().items():
        if not isinstance(value, torch.Tensor):
            raise CheckpointError(
                path,
                _("model state entry {key!r} is a {kind}, not a tensor").format(
                    key=key, kind=type(value).__name__
                ),
                _("Only tensor state can be saved; keep other state in the model config"),
            )
        tensors[f"model.{key}"] = value
    return tensors


def _optimizer_section(
    optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], path: Path
) -> dict[str, Any]:
    state_dict = optimizer.state_dict()
    try:
        groups = [
            _encode(dict(group), f"optim.group.{g}", tensors)["__dict__"]
            for g, group in enumerate(state_dict["param_groups"])
        ]
        # A list of [param index, {key: value}] keeps int indices ints and the key order.
        state = [
            [index, _encode(dict(entry), f"optim.state.{index}", tensors)["__dict__"]]
            for index, entry in state_dict["state"].items()
        ]
    except TypeError as exc:
        raise CheckpointError(
            path,
            _("the optimizer state of {kind} cannot be stored ({exc})").format(
                kind=type(optimizer).__name__, exc=exc
            ),
            _("Use a torch.optim optimizer whose state holds tensors and numbers"),
        ) from exc
    return {"class": type(optimizer).__name__, "param_groups": groups, "state": state}


def _rng_section(
    generators: Mapping[str, torch.Generator | np.random.Generator] | None,
    tensors: dict[str, torch.Tensor],
) -> dict[str, Any]:
    tensors["rng.torch"] = torch.get_rng_state()
    cuda_devices = 0
    # Only when CUDA is already in use: querying it would otherwise initialise it (slow,
    # and it grabs GPU memory) for a run that never touched the GPU.
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for i, state in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{i}"] = state
        cuda_devices = torch.cuda.device_count()
    has_mps = False
    mps = getattr(torch, "mps", None)
    if mps is not None and torch.backends.mps.is_available():
        tensors["rng.mps"] = mps.get_rng_state()
        has_mps = True
    np_name, np_keys, np_pos, np_has_gauss, np_gauss = np.random.get_state(legacy=True)
    py_version, py_internal, py_gauss = random.getstate()
    named: dict[str, Any] = {}
    for name, gen in (generators or {}).items():
        if isinstance(gen, torch.Generator):
            tensors[f"rng.gen.{name}"] = gen.get_state()
            named[name] = {"kind": "torch", "device": str(gen.device)}
        elif isinstance(gen, np.random.Generator):
            named[name] = {"kind": "numpy", "state": gen.bit_generator.state}
        else:
            raise TypeError(f"generator {name!r} is a {type(gen).__name__}")
    return {
        "numpy": [
            np_name,
            np.asarray(np_keys).tolist(),
            int(np_pos),
            int(np_has_gauss),
            float(np_gauss),
        ],
        "python": [py_version, list(py_internal), py_gauss],
        "cuda_devices": cuda_devices,
        "mps": has_mps,
        "generators": named,
    }


def _write_error(path: Path, exc: BaseException) -> CheckpointError:
    code = getattr(exc, "errno", None)
    detail = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    if code in _DISK_ERRNOS:
        problem = _(
            "could not be written: {detail} (the disk may be full, or a file-size limit was hit)"
        )
    elif code in _PERMISSION_ERRNOS:
        problem = _("could not be written: {detail} (the folder is not writable)")
    elif code == errno.EISDIR:
        problem = _("could not be written: a folder has that name")
    else:
        problem = _("could not be written: {detail} (the disk may be full or not writable)")
    problem = problem.format(detail=detail)
    if path.is_file():
        advice = _(
            "The previous checkpoint at {path} is intact; free some space or choose another folder"
        )
    else:
        advice = _("Nothing was written at {path}; free some space or choose another folder")
    advice = advice.format(path=path)
    return CheckpointError(path, problem, advice)


def save_checkpoint(
    path: str | os.PathLike[str],
    *,
    model: nn.Module,
    model_name: str,
    model_config: Mapping[str, Any] | Any,
    vocab_chars: Sequence[str],
    step: int,
    optimizer: torch.optim.Optimizer | None = None,
    train_config: Mapping[str, Any] | Any | None = None,
    metrics: Mapping[str, Any] | None = None,
    generators: Mapping[str, torch.Generator | np.random.Generator] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Save the full training state to ``path`` atomically and return the path.

    ``model_config``/``train_config`` may be dicts or dataclasses. ``generators`` are the
    caller's own RNGs (the data sampler's ``torch.Generator``, a numpy ``Generator``) saved
    by name; the global torch/cuda/mps/numpy/python RNGs are always saved. Raises
    ``CheckpointError``; on a write failure the previous file at ``path`` is left intact.
    """
    target = Path(path)
    if isinstance(step, bool) or not isinstance(step, (int, np.integer)) or step < 0:
        raise CheckpointError(
            target, _("step must be a whole number >= 0, not {step!r}").format(step=step)
        )
    tensors = _model_tensors(model, target)
    optim_meta = _optimizer_section(optimizer, tensors, target) if optimizer is not None else None
    try:
        rng_meta = _rng_section(generators, tensors)
    except TypeError as exc:
        raise CheckpointError(
            target,
            _("cannot save a generator: {exc}").format(exc=exc),
            _("Pass torch.Generator or numpy Generator"),
        ) from exc
    meta = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "charlm_version": __version__,
        "torch_version": torch.__version__,
        "model_name": str(model_name),
        "model_config": {} if model_config is None else model_config,
        "vocab": [str(c) for c in vocab_chars],
        "step": int(step),
        "train_config": {} if train_config is None else train_config,
        "metrics": {} if metrics is None else metrics,
        "extra": {} if extra is None else extra,
        "optimizer": optim_meta,
        "rng": rng_meta,
    }
    document = _json_document(meta, target)
    try:
        payload = safetensors_save(_to_storable(tensors), metadata={METADATA_KEY: document})
    except (RuntimeError, ValueError, TypeError, MemoryError) as exc:
        raise CheckpointError(
            target,
            _("could not be serialised: {exc}").format(exc=exc),
            _("Nothing was written; this is a bug"),
        ) from exc
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(target)  # leftovers of a save killed mid-write
        atomic_write_bytes(target, payload)
    except (OSError, RuntimeError) as exc:
        raise _write_error(target, exc) from exc
    return target


def copy_checkpoint(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> Path:
    """Write the checkpoint at ``source`` to ``target`` too, atomically, byte for byte.

    The trainer's "best" is the "last" it has just written: copying the bytes spares a
    second serialisation (half a save). Raises ``CheckpointError`` as a save does.
    """
    src, dst = Path(source), Path(target)
    try:
        payload = src.read_bytes()
        remove_stale_temps(dst)
        atomic_write_bytes(dst, payload)
    except (OSError, RuntimeError) as exc:
        raise _write_error(dst, exc) from exc
    return dst


# --------------------------------------------------------------------------- loading


@dataclass
class Checkpoint:
    """A loaded checkpoint: its path, the JSON metadata and every tensor (on the CPU)."""

    path: Path
    meta: dict[str, Any]
    tensors: dict[str, torch.Tensor]

    @property
    def format_version(self) -> int:
        return int(self.meta["format_version"])

    @property
    def model_name(self) -> str:
        return str(self.meta["model_name"])

    @property
    def model_config(self) -> dict[str, Any]:
        return dict(self.meta["model_config"])

    @property
    def vocab_chars(self) -> list[str]:
        return list(self.meta["vocab"])

    @property
    def step(self) -> int:
        return int(self.meta["step"])

    @property
    def train_config(self) -> dict[str, Any]:
        return dict(self.meta.get("train_config") or {})

    @property
    def metrics(self) -> dict[str, Any]:
        return dict(self.meta.get("metrics") or {})

    @property
    def extra(self) -> dict[str, Any]:
        return dict(self.meta.get("extra") or {})

    @property
    def created(self) -> str:
        return str(self.meta.get("created", ""))

    @property
    def has_optimizer(self) -> bool:
        return self.meta.get("optimizer") is not None

    def model_state(self) -> dict[str, torch.Tensor]:
        """The model's state dict, for ``model.load_state_dict``."""
        return {k[len("model.") :]: v for k, v in self.tensors.items() if k.startswith("model.")}

    def optimizer_state(self) -> dict[str, Any] | None:
        """The optimizer's state dict, for ``optimizer.load_state_dict``; None if not saved."""
        section = self.meta.get("optimizer")
        if section is None:
            return None
        try:
            groups = [_decode({"__dict__": g}, self.tensors) for g in section["param_groups"]]
            state = {
                index: _decode({"__dict__": entry}, self.tensors)
                for index, entry in section["state"]
            }
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(
                self.path,
                _("the optimizer state is damaged ({kind}: {exc})").format(
                    kind=type(exc).__name__, exc=exc
                ),
                _("Resume without the optimizer state, or use another checkpoint"),
            ) from exc
        return {"state": state, "param_groups": groups}

    def rng_state(self) -> dict[str, Any]:
        """Every saved RNG state: ``torch``, ``cuda`` (list), ``mps``, ``numpy`` and
        ``python`` (in the forms their setters take) and ``generators`` (name -> state)."""
        rng = self.meta.get("rng") or {}
        numpy_state = None
        if rng.get("numpy"):
            name, keys, pos, has_gauss, gauss = rng["numpy"]
            numpy_state = (name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, gauss)
        python_state = None
        if rng.get("python"):
            version, internal, gauss = rng["python"]
            python_state = (version, tuple(internal), gauss)
        generators: dict[str, Any] = {}
        for name, info in (rng.get("generators") or {}).items():
            if info.get("kind") == "torch":
                generators[name] = self.tensors[f"rng.gen.{name}"]
            else:
                generators[name] = info.get("state")
        return {
            "torch": self.tensors.get("rng.torch"),
            "cuda": [
                self.tensors[f"rng.cuda.{i}"]
                for i in range(int(rng.get("cuda_devices", 0)))
                if f"rng.cuda.{i}" in self.tensors
            ],
            "mps": self.tensors.get("rng.mps"),
            "numpy": numpy_state,
            "python": python_state,
            "generators": generators,
        }


def _folder_hint(folder: Path) -> str:
    try:
        found = sorted(p.name for p in folder.glob("*.safetensors"))
    except OSError:
        found = []
    if found:
        shown = ", ".join(found[:4]) + (", ..." if len(found) > 4 else "")
        return _("It holds {files}: pass one of those files").format(files=shown)
    return _("Pass a .safetensors checkpoint file, not a folder")


def _sniff_foreign(head: bytes) -> str | None:
    """Name a well-known non-safetensors format from its first bytes (never parsing it)."""
    if head.startswith(b"PK\x03\x04"):
        return _(
            "a zip archive, as torch.save writes; its weights are pickled and unpickling "
            "can run arbitrary code, so charlm-tui refuses to open it"
        )
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return _(
            "a Python pickle (torch.save or pickle.dump); unpickling can run arbitrary "
            "code, so charlm-tui refuses to open it"
        )
    if head.startswith(b"GGUF"):
        return _("a GGUF model file, not a charlm-tui checkpoint")
    if head.startswith(b"\x89HDF"):
        return _("an HDF5 file, not a charlm-tui checkpoint")
    if head.startswith(b"\x93NUMPY"):
        return _("a numpy .npy array, not a charlm-tui checkpoint")
    return None


_NOT_OURS = N_("Choose a .safetensors checkpoint written by charlm-tui (in a run folder)")


def _read_header(path: Path) -> tuple[dict[str, Any], int]:
    """Validate the file up to the header; return the parsed header and the file size.

    Everything here is plain byte checks and ``json.loads``: nothing in the file can
    choose what code runs.
    """
    if not os.path.lexists(path):
        raise CheckpointError(path, _("no such file"), _("Check the path"))
    if path.is_dir():
        raise CheckpointError(path, _("is a folder, not a checkpoint file"), _folder_hint(path))
    if not path.exists():
        raise CheckpointError(path, _("is a broken symbolic link"), _("Check the path"))
    try:
        with path.open("rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            head = fh.read(9)
            if size == 0:
                raise CheckpointError(
                    path,
                    _("the file is empty (0 bytes)"),
                    _("It was probably cut off while being copied; use another checkpoint"),
                )
            header_len = struct.unpack("<Q", head[:8])[0] if len(head) >= 8 else 0
            plausible = len(head) == 9 and head[8:9] == b"{" and 2 <= header_len
            if not plausible or header_len > _MAX_HEADER_BYTES:
                foreign = _sniff_foreign(head)
                if foreign:
                    raise CheckpointError(
                        path, _("the file is {foreign}").format(foreign=foreign), _(_NOT_OURS)
                    )
                if len(head) < 9:
                    raise CheckpointError(
                        path,
                        _("the file is only {size} bytes: truncated, or not a checkpoint").format(
                            size=size
                        ),
                        _(_NOT_OURS),
                    )
                raise CheckpointError(
                    path, _("the file is not in safetensors format"), _(_NOT_OURS)
                )
            if 8 + header_len > size:
                raise CheckpointError(
                    path,
                    _(
                        "the file is truncated: {size} bytes, but its header alone needs {value}"
                    ).format(size=size, value=8 + header_len),
                    _("It was cut off (an interrupted copy?); use another checkpoint"),
                )
            fh.seek(8)
            raw = fh.read(header_len)
    except CheckpointError:
        raise
    except OSError as exc:
        raise CheckpointError(
            path,
            _("cannot be read: {value}").format(value=exc.strerror or exc),
            _("Check the file's permissions"),
        ) from exc
    try:
        header = json.loads(raw.decode("utf-8"))
        if not isinstance(header, dict):
            raise ValueError("header is not a JSON object")
        data_end = 0
        for name, info in header.items():
            if name == "__metadata__":
                continue
            begin, end = info["data_offsets"]
            data_end = max(data_end, int(end))
    except (UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(
            path,
            _("the file is not in safetensors format (bad header: {exc})").format(exc=exc),
            _(_NOT_OURS),
        ) from exc
    expected = 8 + header_len + data_end
    if size < expected:
        raise CheckpointError(
            path,
            _("the file is truncated: {size} bytes of the {expected} its header describes").format(
                size=size, expected=expected
            ),
            _("It was cut off (an interrupted copy?); use another checkpoint"),
        )
    return header, size


def _parse_meta(path: Path, header: Mapping[str, Any]) -> dict[str, Any]:
    metadata = header.get("__metadata__") or {}
    document = metadata.get(METADATA_KEY) if isinstance(metadata, dict) else None
    if document is None:
        raise CheckpointError(
            path,
            _("this safetensors file has no charlm-tui metadata (weights from another tool?)"),
            _(_NOT_OURS),
        )
    try:
        meta = json.loads(document)
    except (TypeError, ValueError) as exc:
        raise CheckpointError(
            path, _("its metadata is not valid JSON ({exc})").format(exc=exc), _(_NOT_OURS)
        ) from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        raise CheckpointError(
            path, _("its metadata is not a charlm-tui checkpoint's"), _(_NOT_OURS)
        )
    version = meta.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise CheckpointError(
            path,
            _("its format version {version!r} is not a number").format(version=version),
            _(_NOT_OURS),
        )
    if version > FORMAT_VERSION:
        raise CheckpointError(
            path,
            _(
                "it was written by a newer charlm-tui (format {version}; this version reads up to {supported})"
            ).format(version=version, supported=FORMAT_VERSION),
            _("Upgrade charlm-tui to open it"),
        )
    if version < 1:
        raise CheckpointError(
            path, _("unknown format version {version}").format(version=version), _(_NOT_OURS)
        )
    problems = []
    if not isinstance(meta.get("model_name"), str) or not meta["model_name"]:
        problems.append("model_name")
    if not isinstance(meta.get("model_config"), dict):
        problems.append("model_config")
    vocab = meta.get("vocab")
    if (
        not isinstance(vocab, list)
        or not vocab
        or not all(isinstance(c, str) and c for c in vocab)
        or len(set(vocab)) != len(vocab)
    ):
        problems.append("vocab")
    step = meta.get("step")
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        problems.append("step")
    for key in ("train_config", "metrics", "extra"):
        if not isinstance(meta.get(key, {}), dict):
            problems.append(key)
    if not isinstance(meta.get("rng", {}), dict):
        problems.append("rng")
    if problems:
        raise CheckpointError(
            path,
            _("its metadata is damaged: missing or invalid {value}").format(
                value=", ".join(problems)
            ),
            _("Use another checkpoint"),
        )
    return meta


def read_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Validate the file's header and return its JSON document without loading tensors."""
    target = Path(path)
    header, _size = _read_header(target)
    return _parse_meta(target, header)


def _load_tensors(path: Path) -> dict[str, torch.Tensor]:
    # pread copies the bytes into memory we own; the default mmap would keep the file
    # mapped (a later in-place truncation by another program would crash us with SIGBUS,
    # and Windows could not replace the file while it is mapped).
    try:
        handle = safe_open(path, framework="pt", device="cpu", backend="pread")
        copy = False
    except TypeError:  # safetensors < 0.8 has no backend argument
        handle = safe_open(path, framework="pt", device="cpu")
        copy = True
    with handle as f:
        tensors = {key: f.get_tensor(key) for key in f.keys()}  # noqa: SIM118 (not a dict)
    if copy:
        tensors = {k: v.clone() for k, v in tensors.items()}
    return tensors


def load_checkpoint(path: str | os.PathLike[str]) -> Checkpoint:
    """Load and validate a checkpoint; raise one ``CheckpointError`` whatever is wrong.

    Missing file, folder, empty, truncated, pickle/zip (refused without unpickling),
    other formats, missing or invalid metadata, a newer format version, and tensors the
    metadata refers to but the file lacks all give a message naming the file.
    """
    target = Path(path)
    header, _size = _read_header(target)
    meta = _parse_meta(target, header)
    try:
        tensors = _load_tensors(target)
    except CheckpointError:
        raise
    except Exception as exc:  # SafetensorError, OSError, ...: all mean the same to a user
        raise CheckpointError(
            target,
            _("the file is damaged ({kind}: {exc})").format(kind=type(exc).__name__, exc=exc),
            _("Use another checkpoint"),
        ) from exc
    ckpt = Checkpoint(path=target, meta=meta, tensors=tensors)
    if not ckpt.model_state():
        raise CheckpointError(target, _("it holds no model weights"), _("Use another checkpoint"))
    ckpt.optimizer_state()  # raises CheckpointError now, not mid-resume, if damaged
    try:
        ckpt.rng_state()
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(
            target,
            _("its RNG state is damaged ({exc})").format(exc=exc),
            _("Use another checkpoint"),
        ) from exc
    return ckpt


# --------------------------------------------------------------------------- checks


def _show_chars(chars: Sequence[str], limit: int = 12) -> str:
    shown = " ".join(repr(c) for c in list(chars)[:limit])
    if len(chars) > limit:
        return _("{shown} and {more} more").format(shown=shown, more=len(chars) - limit)
    return shown


def _vocab_difference(saved: Sequence[str], current: Sequence[str]) -> str:
    saved_set, current_set = set(saved), set(current)
    only_saved = sorted(saved_set - current_set)
    only_current = sorted(current_set - saved_set)
    sizes = _("the checkpoint's vocabulary has {saved} characters, this one {current}")
    parts = [sizes.format(saved=len(saved), current=len(current))]
    if only_saved or only_current:
        differ = _("{n} characters differ").format(n=len(only_saved) + len(only_current))
        parts.append(differ)
        if only_saved:
            parts.append(_("only in the checkpoint: {chars}").format(chars=_show_chars(only_saved)))
        if only_current:
            parts.append(_("only in this corpus: {chars}").format(chars=_show_chars(only_current)))
    else:
        moved = sum(1 for a, b in zip(saved, current, strict=True) if a != b)
        parts.append(_("same characters, but {n} are at other indices").format(n=moved))
    return "; ".join(parts)


def check_compatible(
    ckpt: Checkpoint,
    *,
    model_name: str | None = None,
    vocab_chars: Sequence[str] | None = None,
    model: nn.Module | None = None,
    optimizer: torch.optim.Optimizer | None = None,
) -> None:
    """Refuse, in words and before any ``load_state_dict``, a checkpoint that does not fit.

    Checks what is given: the model type, the vocabulary (same characters at the same
    indices), the model's tensor names and shapes, and the optimizer's class and groups.
    Raises ``IncompatibleCheckpointError``.
    """
    path = ckpt.path
    if model_name is not None and model_name != ckpt.model_name:
        raise IncompatibleCheckpointError(
            path,
            _("it holds a {model_name!r} model, not a {model_name2!r} one").format(
                model_name=ckpt.model_name, model_name2=model_name
            ),
            _("Choose the model {model_name!r} to use it, or start a new run").format(
                model_name=ckpt.model_name
            ),
        )
    if vocab_chars is not None and list(vocab_chars) != ckpt.vocab_chars:
        raise IncompatibleCheckpointError(
            path,
            _("it was trained on another vocabulary: {difference}").format(
                difference=_vocab_difference(ckpt.vocab_chars, list(vocab_chars))
            ),
            _("Use the corpus it was trained on (or its vocabulary), or start a new run"),
        )
    if model is not None:
        saved = ckpt.model_state()
        current = model.state_dict()
        missing = [k for k in current if k not in saved]
        unexpected = [k for k in saved if k not in current]
        mismatched = [
            f"{k}: checkpoint {tuple(saved[k].shape)}, model {tuple(current[k].shape)}"
            for k in current
            if k in saved
            and isinstance(current[k], torch.Tensor)
            and saved[k].shape != current[k].shape
        ]
        if mismatched or missing or unexpected:
            parts = []
            if mismatched:
                listed = "; ".join(mismatched[:5]) + ("; ..." if len(mismatched) > 5 else "")
                differ = _("{n} tensor shape(s) differ ({listed})")
                parts.append(differ.format(n=len(mismatched), listed=listed))
            if missing:
                lacks = _("the model has tensors the checkpoint lacks ({names})")
                parts.append(lacks.format(names=", ".join(missing[:5])))
            if unexpected:
                lacks = _("the checkpoint has tensors the model lacks ({names})")
                parts.append(lacks.format(names=", ".join(unexpected[:5])))
            raise IncompatibleCheckpointError(
                path,
                _("its {model!r} weights do not fit this model: {parts}").format(
                    model=ckpt.model_name, parts="; ".join(parts)
                ),
                _("Build the model from the checkpoint's own config (Checkpoint.model_config)"),
            )
    if optimizer is not None and ckpt.has_optimizer:
        section = ckpt.meta["optimizer"]
        saved_class = section.get("class")
        if saved_class != type(optimizer).__name__:
            raise IncompatibleCheckpointError(
                path,
                _("its optimizer state is for {saved_class}, not {kind}").format(
                    saved_class=saved_class, kind=type(optimizer).__name__
                ),
                _("Use the same optimizer (recipe) as the saved run, or start a new run"),
            )
        saved_sizes = [len(g.get("params", [])) for g in section["param_groups"]]
        sizes = [len(g["params"]) for g in optimizer.param_groups]
        if saved_sizes != sizes:
            raise IncompatibleCheckpointError(
                path,
                _(
                    "its optimizer has parameter groups of sizes {saved_sizes}, this one {sizes}"
                ).format(saved_sizes=saved_sizes, sizes=sizes),
                _("Use the same model and optimizer settings as the saved run"),
            )


def _set_generator(ckpt: Checkpoint, name: str, gen: Any, state: Any) -> None:
    if isinstance(gen, torch.Generator):
        if not isinstance(state, torch.Tensor):
            raise CheckpointError(
                ckpt.path, _("generator {name!r} was saved as a numpy generator").format(name=name)
            )
        gen.set_state(state)
    elif isinstance(gen, np.random.Generator):
        if (
            not isinstance(state, dict)
            or state.get("bit_generator") != type(gen.bit_generator).__name__
        ):
            raise CheckpointError(
                ckpt.path,
                _("generator {name!r} was saved with another kind of generator").format(name=name),
            )
        gen.bit_generator.state = state
    else:
        raise CheckpointError(
            ckpt.path,
            _("cannot restore generator {name!r} into a {value}").format(
                name=name, value=type(gen)
            ),
        )


def restore_rng(
    ckpt: Checkpoint,
    generators: Mapping[str, torch.Generator | np.random.Generator] | None = None,
) -> None:
    """Set the torch, CUDA, MPS, numpy and Python RNGs and the named generators as saved.

    A generator asked for but not in the checkpoint is an error: the run would not resume
    exactly. CUDA states are restored only where CUDA is available (a GPU run resumed on
    a CPU cannot be bit-identical anyway).
    """
    state = ckpt.rng_state()
    saved = state["generators"]
    for name in generators or {}:
        if name not in saved:
            raise CheckpointError(
                ckpt.path,
                _("it holds no state for the generator {name!r} (it has: {value})").format(
                    name=name, value=", ".join(sorted(saved)) or _("none")
                ),
                _("The run cannot resume exactly; start a new run from its weights instead"),
            )
    if state["torch"] is not None:
        torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        count = torch.cuda.device_count()
        for i, cuda_state in enumerate(state["cuda"][:count]):
            torch.cuda.set_rng_state(cuda_state, device=i)
    if state["mps"] is not None and torch.backends.mps.is_available():
        torch.mps.set_rng_state(state["mps"])
    if state["numpy"] is not None:
        np.random.set_state(state["numpy"])
    if state["python"] is not None:
        random.setstate(state["python"])
    for name, gen in (generators or {}).items():
        _set_generator(ckpt, name, gen, saved[name])
