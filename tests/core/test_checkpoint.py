"""Checkpoints: exact resume, atomic writes under crashes and full disks, no unpickling,
one friendly error for every bad file, and incompatibilities refused in words."""

from __future__ import annotations

import dataclasses
import enum
import errno
import json
import math
import os
import pickle
import random
import signal
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file
from safetensors.torch import save as safetensors_save
from torch import nn

from charlm_tui.core import checkpoint as ck

torch.set_num_threads(1)

REPO = Path(__file__).resolve().parents[2]
VOCAB = list("\n !abc")


class Tied(nn.Module):
    """A GPT-like pair: the output head shares the embedding's weight."""

    def __init__(self, vocab: int = 6, dim: int = 8) -> None:
        super().__init__()
        self.emb = nn.Embedding(vocab, dim)
        self.mix = nn.Linear(dim, dim)
        self.head = nn.Linear(dim, vocab, bias=False)
        self.head.weight = self.emb.weight

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.mix(self.emb(idx))))


def make_mlp(hidden: int = 16) -> nn.Module:
    # Dropout draws from torch's global RNG, so an exact resume needs that RNG restored.
    return nn.Sequential(nn.Linear(4, hidden), nn.ReLU(), nn.Dropout(0.2), nn.Linear(hidden, 4))


def make_optimizer(model: nn.Module) -> torch.optim.Optimizer:
    return torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.1)


def train(
    model: nn.Module, opt: torch.optim.Optimizer, gen: torch.Generator, np_gen, steps: int
) -> None:
    """Steps that consume every RNG a checkpoint saves: data generator, dropout (torch
    global), numpy global, python random and a numpy Generator."""
    model.train()
    for _ in range(steps):
        x = torch.randn(8, 4, generator=gen)
        y = torch.randn(8, 4, generator=gen)
        scale = 1.0 + 0.01 * random.random() + 0.01 * float(np.random.rand())
        scale += 0.01 * float(np_gen.random())
        loss = ((model(x) - y) ** 2).mean() * scale
        opt.zero_grad()
        loss.backward()
        opt.step()


def seed_all(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)


def save_tiny(path: Path, model: nn.Module | None = None, **kwargs) -> Path:
    model = model if model is not None else make_mlp()
    args = dict(model=model, model_name="mlp", model_config={"hidden": 16}, vocab_chars=VOCAB)
    args.update(step=kwargs.pop("step", 3))
    args.update(kwargs)
    return ck.save_checkpoint(path, **args)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".tmp-" in p.name)


# --------------------------------------------------------------------------- round trip


def test_resume_continues_bit_identically_to_the_uninterrupted_run(tmp_path):
    seed_all(1)
    model = make_mlp()
    opt = make_optimizer(model)
    gen = torch.Generator().manual_seed(1)
    np_gen = np.random.default_rng(1)
    train(model, opt, gen, np_gen, 5)
    path = ck.save_checkpoint(
        tmp_path / "last.safetensors",
        model=model,
        model_name="mlp",
        model_config={"hidden": 16},
        vocab_chars=VOCAB,
        step=5,
        optimizer=opt,
        generators={"data": gen, "np": np_gen},
    )
    train(model, opt, gen, np_gen, 4)
    expected = {k: v.clone() for k, v in model.state_dict().items()}

    # A fresh process-like start: other seeds, other initial weights, other data order.
    seed_all(999)
    model2 = make_mlp()
    opt2 = make_optimizer(model2)
    gen2 = torch.Generator().manual_seed(42)
    np_gen2 = np.random.default_rng(42)
    ckpt = ck.load_checkpoint(path)  # the Trainer's resume: check, weights, optimizer, RNG last
    ck.check_compatible(ckpt, model_name="mlp", vocab_chars=VOCAB, model=model2, optimizer=opt2)
    model2.load_state_dict(ckpt.model_state())
    opt2.load_state_dict(ckpt.optimizer_state())
    ck.restore_rng(ckpt, {"data": gen2, "np": np_gen2})
    assert ckpt.step == 5
    train(model2, opt2, gen2, np_gen2, 4)
    for key, value in model2.state_dict().items():
        assert torch.equal(value, expected[key]), key


def test_resume_without_restoring_rng_differs_so_the_exactness_test_has_teeth(tmp_path):
    seed_all(1)
    model = make_mlp()
    opt = make_optimizer(model)
    gen = torch.Generator().manual_seed(1)
    np_gen = np.random.default_rng(1)
    train(model, opt, gen, np_gen, 5)
    path = save_tiny(tmp_path / "c.safetensors", model, optimizer=opt, generators={"data": gen})
    train(model, opt, gen, np_gen, 4)
    expected = model.state_dict()["0.weight"].clone()

    seed_all(999)
    model2 = make_mlp()
    opt2 = make_optimizer(model2)
    ckpt = ck.load_checkpoint(path)
    model2.load_state_dict(ckpt.model_state())
    opt2.load_state_dict(ckpt.optimizer_state())
    train(model2, opt2, torch.Generator().manual_seed(1), np.random.default_rng(1), 4)
    assert not torch.equal(model2.state_dict()["0.weight"], expected)


def test_optimizer_state_round_trips_with_types_and_tensor_step(tmp_path):
    seed_all(0)
    model = make_mlp()
    opt = make_optimizer(model)
    train(model, opt, torch.Generator().manual_seed(0), np.random.default_rng(0), 3)
    original = opt.state_dict()
    path = save_tiny(tmp_path / "c.safetensors", model, optimizer=opt)
    restored = ck.load_checkpoint(path).optimizer_state()

    assert restored["param_groups"] == original["param_groups"]
    assert isinstance(restored["param_groups"][0]["betas"], tuple)
    assert set(restored["state"]) == set(original["state"])
    for index, entry in original["state"].items():
        assert list(restored["state"][index]) == list(entry)
        for key, value in entry.items():
            got = restored["state"][index][key]
            assert isinstance(got, torch.Tensor) and got.dtype == value.dtype, key
            assert torch.equal(got, value), (index, key)
    assert restored["state"][0]["step"].dim() == 0  # Adam keeps `step` as a 0-d tensor


def test_non_tensor_optimizer_values_keep_their_python_type(tmp_path):
    model = make_mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    opt.state[next(iter(model.parameters()))]["note"] = 7  # a plain int in the state
    opt.state[next(iter(model.parameters()))]["maybe"] = None
    path = save_tiny(tmp_path / "c.safetensors", model, optimizer=opt)
    state = ck.load_checkpoint(path).optimizer_state()
    assert state["state"][0]["note"] == 7 and type(state["state"][0]["note"]) is int
    assert state["state"][0]["maybe"] is None


def test_rng_states_round_trip_exactly(tmp_path):
    seed_all(3)
    gen = torch.Generator().manual_seed(5)
    np_gen = np.random.default_rng(5)
    torch.rand(3), np.random.rand(), random.random(), torch.rand(2, generator=gen)
    np.random.randn()  # leaves a cached gaussian in numpy's legacy state
    path = save_tiny(tmp_path / "c.safetensors", generators={"g": gen, "n": np_gen})
    want = (
        torch.rand(5),
        np.random.rand(5),
        np.random.randn(),
        [random.random() for _ in range(5)],
        torch.rand(5, generator=gen),
        np_gen.random(5),
    )
    seed_all(77)
    gen2 = torch.Generator().manual_seed(77)
    np_gen2 = np.random.default_rng(77)
    ck.restore_rng(ck.load_checkpoint(path), {"g": gen2, "n": np_gen2})
    got = (
        torch.rand(5),
        np.random.rand(5),
        np.random.randn(),
        [random.random() for _ in range(5)],
        torch.rand(5, generator=gen2),
        np_gen2.random(5),
    )
    assert torch.equal(got[0], want[0])
    assert np.array_equal(got[1], want[1]) and got[2] == want[2]
    assert got[3] == want[3]
    assert torch.equal(got[4], want[4]) and np.array_equal(got[5], want[5])


def test_restoring_a_generator_the_checkpoint_lacks_is_refused_by_name(tmp_path):
    path = save_tiny(tmp_path / "c.safetensors", generators={"train": torch.Generator()})
    with pytest.raises(ck.CheckpointError, match="'val'") as err:
        ck.restore_rng(ck.load_checkpoint(path), {"val": torch.Generator()})
    assert str(path) in str(err.value)


def test_tied_weights_are_saved_under_both_names_and_load_back_tied(tmp_path):
    torch.manual_seed(0)
    model = Tied()
    opt = make_optimizer(model)
    loss = model(torch.tensor([[1, 2, 3]])).sum()
    loss.backward()
    opt.step()
    path = save_tiny(tmp_path / "tied.safetensors", model, optimizer=opt)

    raw = load_file(path)  # plain safetensors reads it: the format is interoperable
    assert torch.equal(raw["model.emb.weight"], raw["model.head.weight"])

    torch.manual_seed(1)
    fresh = Tied()
    fresh_opt = make_optimizer(fresh)
    ckpt = ck.load_checkpoint(path)
    fresh.load_state_dict(ckpt.model_state())
    fresh_opt.load_state_dict(ckpt.optimizer_state())
    assert fresh.head.weight is fresh.emb.weight
    assert torch.equal(fresh.emb.weight, model.emb.weight)


def test_file_layout_is_tensors_plus_one_json_metadata_key(tmp_path):
    seed_all(0)
    model = make_mlp()
    opt = make_optimizer(model)
    train(model, opt, torch.Generator(), np.random.default_rng(0), 1)
    path = save_tiny(
        tmp_path / "c.safetensors",
        model,
        step=1,
        optimizer=opt,
        generators={"data": torch.Generator()},
        metrics={"best_val_loss": math.inf, "val_loss": 2.5},
        train_config={"lr": 0.01},
    )
    header_len = struct.unpack("<Q", path.read_bytes()[:8])[0]
    header = json.loads(path.read_bytes()[8 : 8 + header_len])
    assert list(header["__metadata__"]) == ["charlm"]
    meta = json.loads(header["__metadata__"]["charlm"])
    assert meta["format"] == "charlm-checkpoint" and meta["format_version"] == ck.FORMAT_VERSION
    assert meta["vocab"] == VOCAB and meta["step"] == 1 and meta["model_name"] == "mlp"
    names = set(header) - {"__metadata__"}
    assert {"model.0.weight", "optim.state.0.exp_avg", "optim.state.0.step"} <= names
    assert {"rng.torch", "rng.gen.data"} <= names
    ckpt = ck.load_checkpoint(path)
    assert ckpt.metrics["best_val_loss"] == math.inf
    assert ckpt.train_config == {"lr": 0.01}
    assert ck.read_metadata(path)["step"] == 1
    assert leftovers(tmp_path) == []


class Recipe(enum.Enum):
    MODERN = "modern"


@dataclasses.dataclass
class Config:
    recipe: Recipe = Recipe.MODERN
    out: Path = Path("/tmp/run")
    lr: np.float32 = dataclasses.field(default_factory=lambda: np.float32(0.5))


def test_dataclass_configs_with_paths_enums_and_numpy_scalars_become_json(tmp_path):
    path = save_tiny(tmp_path / "c.safetensors", train_config=Config(), extra={"n": np.int64(3)})
    ckpt = ck.load_checkpoint(path)
    assert ckpt.train_config == {"recipe": "modern", "out": "/tmp/run", "lr": 0.5}
    assert ckpt.extra == {"n": 3}


@pytest.mark.parametrize(
    ("section", "named"),
    [
        ("train_config", "training config"),
        ("model_config", "model config"),
        ("metrics", "metrics"),
        ("extra", "extra data"),
    ],
)
def test_an_unserialisable_config_is_refused_before_anything_is_written(tmp_path, section, named):
    with pytest.raises(ck.CheckpointError, match=f"the {named} cannot be stored as JSON"):
        save_tiny(tmp_path / "c.safetensors", **{section: {"f": object()}})
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- atomic writes

CHILD = textwrap.dedent(
    """
    import os, sys, time
    sys.path.insert(0, {repo!r})
    import torch
    from torch import nn
    from charlm_tui.core import atomic, checkpoint as ck

    target, phase = sys.argv[1], sys.argv[2]
    torch.manual_seed(0)
    ck.save_checkpoint(target, model=nn.Linear(4, 4), model_name="mlp", model_config={{}},
                       vocab_chars=["a", "b"], step=1)
    big = nn.Linear(1024, 1024)  # about 4 MB

    def stall(*args, **kwargs):
        print("STALLED", flush=True)
        time.sleep(120)

    if phase == "write":
        atomic._CHUNK_BYTES = 64 * 1024
        real_write, calls = os.write, [0]
        def slow_write(fd, data):
            n = real_write(fd, data)
            calls[0] += 1
            if calls[0] == 3:  # three slices of the new file are on disk, the rest never
                stall()
            return n
        os.write = slow_write
    elif phase == "replace":
        os.replace = stall
    elif phase == "full":
        import resource, signal
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # so write() fails with EFBIG
        soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 1024, hard))
    try:
        ck.save_checkpoint(target, model=big, model_name="mlp", model_config={{}},
                           vocab_chars=["a", "b"], step=2)
    except ck.CheckpointError as exc:
        import json
        print(json.dumps({{"error": str(exc), "errno": getattr(exc.__cause__, "errno", None)}}))
    else:
        print("FINISHED")
    """
).format(repo=str(REPO))

posix_only = pytest.mark.skipif(os.name != "posix", reason="needs SIGKILL / RLIMIT_FSIZE")


PHASES = ["write", "replace", "full"]


@pytest.fixture(scope="module")
def children(tmp_path_factory):
    """Start every crashing child at once: each pays for importing torch, in parallel."""
    if os.name != "posix":
        pytest.skip("needs SIGKILL / RLIMIT_FSIZE")
    base = tmp_path_factory.mktemp("children")
    started = {}
    for phase in PHASES:
        folder = base / phase
        folder.mkdir()
        target = folder / "last.safetensors"
        errors = (base / f"{phase}.stderr").open("w")
        proc = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(target), phase],
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
            env={**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"},
        )
        started[phase] = (proc, target, base / f"{phase}.stderr", errors)
    yield started
    for proc, _, _, errors in started.values():
        proc.kill()
        proc.wait(timeout=30)
        proc.stdout.close()
        errors.close()


@posix_only
@pytest.mark.parametrize("phase", ["write", "replace"])
def test_sigkill_mid_save_leaves_the_previous_checkpoint_loadable(children, phase):
    proc, target, stderr, _ = children[phase]
    line = proc.stdout.readline().strip()
    assert line == "STALLED", stderr.read_text()
    os.kill(proc.pid, signal.SIGKILL)  # the save is in progress right now
    proc.wait(timeout=30)
    folder = target.parent

    ckpt = ck.load_checkpoint(target)  # the old file, whole
    assert ckpt.step == 1
    assert ckpt.model_state()["weight"].shape == (4, 4)
    # The half-written new checkpoint exists only under a temporary name...
    stale = leftovers(folder)
    assert len(stale) == 1 and stale[0].startswith(".last.safetensors.tmp-")
    if phase == "write":
        assert (folder / stale[0]).stat().st_size < 4 * 1024 * 1024
    # ...and the next save of the same checkpoint sweeps it away (its writer is dead).
    save_tiny(target, step=4)
    assert leftovers(folder) == []
    assert ck.load_checkpoint(target).step == 4


@posix_only
@pytest.mark.skipif(not hasattr(signal, "SIGXFSZ"), reason="needs SIGXFSZ")
def test_full_disk_mid_save_raises_checkpoint_error_and_keeps_the_old_file(children):
    proc, target, stderr, _ = children["full"]
    out = proc.stdout.read()
    assert proc.wait(timeout=60) == 0, stderr.read_text()
    report = json.loads(out.strip().splitlines()[-1])
    assert report["errno"] == errno.EFBIG
    message = report["error"]
    assert str(target) in message
    assert "disk may be full" in message and "previous checkpoint" in message
    assert "intact" in message
    assert ck.load_checkpoint(target).step == 1
    assert leftovers(target.parent) == []


def test_write_failure_in_process_is_a_checkpoint_error_naming_the_file(tmp_path, monkeypatch):
    target = save_tiny(tmp_path / "last.safetensors", step=1)

    def no_space(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", no_space)
    with pytest.raises(ck.CheckpointError) as err:
        save_tiny(target, step=2)
    monkeypatch.undo()
    assert "disk may be full" in str(err.value) and str(target) in str(err.value)
    assert "is intact" in str(err.value)
    assert ck.load_checkpoint(target).step == 1
    assert leftovers(tmp_path) == []


def test_saving_onto_a_folder_says_so(tmp_path):
    target = tmp_path / "taken.safetensors"
    target.mkdir()
    with pytest.raises(ck.CheckpointError, match="folder") as err:
        save_tiny(target)
    assert str(target) in str(err.value)
    assert leftovers(tmp_path) == []


# --------------------------------------------------------------------------- never unpickle


class Trap:
    """Unpickling this creates a file: proof that code from the file ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def forbid_unpickling(monkeypatch) -> None:
    """Make every unpickling entry point fail loudly for the rest of the test."""

    def forbidden(*args, **kwargs):
        raise AssertionError("the checkpoint loader tried to unpickle")

    monkeypatch.setattr(torch, "load", forbidden)
    monkeypatch.setattr(pickle, "load", forbidden)
    monkeypatch.setattr(pickle, "loads", forbidden)
    monkeypatch.setattr(pickle, "Unpickler", forbidden)


@pytest.fixture
def no_unpickling(monkeypatch):
    forbid_unpickling(monkeypatch)


@pytest.mark.parametrize("protocol", [0, 2, pickle.HIGHEST_PROTOCOL])
def test_a_malicious_pickle_is_refused_without_running_it(tmp_path, monkeypatch, protocol):
    armed = tmp_path / "armed"
    pickle.loads(pickle.dumps(Trap(armed), protocol=protocol))
    assert armed.exists()  # the trap works when unpickled...

    marker = tmp_path / "pwned"
    path = tmp_path / "model.safetensors"
    path.write_bytes(pickle.dumps({"weights": Trap(marker)}, protocol=protocol))
    forbid_unpickling(monkeypatch)
    with pytest.raises(ck.CheckpointError) as err:
        ck.load_checkpoint(path)
    assert not marker.exists()  # ...and the loader never ran it
    assert str(path) in str(err.value)


@pytest.mark.parametrize("zipfile", [True, False], ids=["zip", "legacy"])
def test_a_torch_save_file_is_refused_as_pickle_without_loading_it(
    tmp_path, no_unpickling, zipfile
):
    path = tmp_path / "model.pt"
    # torch.save is only writing here; the fixture forbids loading.
    torch.save({"w": torch.zeros(3)}, path, _use_new_zipfile_serialization=zipfile)
    with pytest.raises(ck.CheckpointError) as err:
        ck.load_checkpoint(path)
    message = str(err.value)
    assert str(path) in message
    assert "pickle" in message and "arbitrary code" in message


def test_loading_a_good_checkpoint_never_unpickles(tmp_path, no_unpickling):
    path = save_tiny(tmp_path / "c.safetensors")
    assert ck.load_checkpoint(path).step == 3


# --------------------------------------------------------------------------- bad files


def _good(tmp_path: Path) -> Path:
    seed_all(0)
    model = make_mlp()
    opt = make_optimizer(model)
    train(model, opt, torch.Generator(), np.random.default_rng(0), 1)
    return save_tiny(tmp_path / "good.safetensors", model, optimizer=opt)


def _with_meta(path: Path, meta: dict | None, raw: str | None = None) -> None:
    metadata = None if meta is None and raw is None else {"charlm": raw or json.dumps(meta)}
    save_file({"model.w": torch.zeros(2)}, path, metadata=metadata)


def make_bad(kind: str, tmp_path: Path) -> tuple[Path, str]:
    """Write one kind of bad checkpoint; return its path and a word the error must say."""
    path = tmp_path / f"{kind}.safetensors"
    meta_ok = ck.load_checkpoint(_good(tmp_path)).meta
    if kind == "missing":
        return path, "no such file"
    if kind == "folder":
        path.mkdir()
        return path, "folder"
    if kind == "empty":
        path.write_bytes(b"")
        return path, "empty"
    if kind == "random_bytes":
        path.write_bytes(random.Random(0).randbytes(4096))
        return path, "not in safetensors format"
    if kind == "tiny":
        path.write_bytes(b"abc")
        return path, "only 3 bytes"
    good = _good(tmp_path).read_bytes()
    if kind == "truncated_half":
        path.write_bytes(good[: len(good) // 2])
        return path, "truncated"
    if kind == "truncated_header":
        path.write_bytes(good[:40])
        return path, "truncated"
    if kind == "no_metadata":
        _with_meta(path, None)
        return path, "no charlm-tui metadata"
    if kind == "foreign_metadata":
        save_file({"w": torch.zeros(2)}, path, metadata={"format": "pt"})
        return path, "no charlm-tui metadata"
    if kind == "metadata_not_json":
        _with_meta(path, None, raw="{not json")
        return path, "not valid JSON"
    if kind == "newer_format":
        _with_meta(path, {**meta_ok, "format_version": ck.FORMAT_VERSION + 1})
        return path, "newer charlm-tui"
    if kind == "missing_vocab":
        _with_meta(path, {k: v for k, v in meta_ok.items() if k != "vocab"})
        return path, "vocab"
    if kind == "optimizer_tensor_missing":
        tensors = ck.load_checkpoint(_good(tmp_path)).tensors
        del tensors["optim.state.0.exp_avg"]
        path.write_bytes(safetensors_save(tensors, {"charlm": json.dumps(meta_ok)}))
        return path, "optimizer state is damaged"
    if kind == "unknown_dtype":
        header_len = struct.unpack("<Q", good[:8])[0]
        header = json.loads(good[8 : 8 + header_len])
        header["model.0.weight"]["dtype"] = "Q99"
        blob = json.dumps(header).encode()
        blob += b" " * (-len(blob) % 8)
        path.write_bytes(struct.pack("<Q", len(blob)) + blob + good[8 + header_len :])
        return path, "damaged"
    raise AssertionError(kind)


BAD_KINDS = [
    "missing",
    "folder",
    "empty",
    "random_bytes",
    "tiny",
    "truncated_half",
    "truncated_header",
    "no_metadata",
    "foreign_metadata",
    "metadata_not_json",
    "newer_format",
    "missing_vocab",
    "optimizer_tensor_missing",
    "unknown_dtype",
]


@pytest.mark.parametrize("kind", BAD_KINDS)
def test_each_bad_file_gives_one_checkpoint_error_naming_the_file(tmp_path, kind):
    path, says = make_bad(kind, tmp_path)
    with pytest.raises(ck.CheckpointError) as err:
        ck.load_checkpoint(path)
    assert type(err.value) is ck.CheckpointError
    assert str(path) in str(err.value)
    assert says in str(err.value)
    assert err.value.path == path


def test_a_folder_error_lists_the_checkpoints_inside(tmp_path):
    save_tiny(tmp_path / "best.safetensors")
    with pytest.raises(ck.CheckpointError, match="best.safetensors"):
        ck.load_checkpoint(tmp_path)


# --------------------------------------------------------------------------- compatibility


def test_another_vocabulary_is_refused_naming_the_differing_characters(tmp_path):
    path = save_tiny(tmp_path / "c.safetensors", vocab_chars=["a", "b", "c"])
    with pytest.raises(ck.IncompatibleCheckpointError) as err:
        ck.check_compatible(ck.load_checkpoint(path), vocab_chars=["a", "b", "d", "e"])
    message = str(err.value)
    assert "3 characters differ" in message
    assert "only in the checkpoint: 'c'" in message and "'d' 'e'" in message
    assert str(path) in message


def test_same_characters_in_another_order_are_refused(tmp_path):
    path = save_tiny(tmp_path / "c.safetensors", vocab_chars=["a", "b", "c"])
    with pytest.raises(ck.IncompatibleCheckpointError, match="2 are at other indices"):
        ck.check_compatible(ck.load_checkpoint(path), vocab_chars=["b", "a", "c"])


def test_another_model_type_is_refused_in_words(tmp_path):
    path = save_tiny(tmp_path / "c.safetensors")
    with pytest.raises(ck.IncompatibleCheckpointError, match="'mlp' model, not a 'gpt'"):
        ck.check_compatible(ck.load_checkpoint(path), model_name="gpt")


def test_shape_mismatch_is_refused_naming_tensor_and_shapes(tmp_path):
    path = save_tiny(tmp_path / "c.safetensors", make_mlp(hidden=16))
    wider = make_mlp(hidden=32)
    with pytest.raises(ck.IncompatibleCheckpointError) as err:
        ck.check_compatible(ck.load_checkpoint(path), model=wider)
    message = str(err.value)
    assert "0.weight: checkpoint (16, 4), model (32, 4)" in message


def test_missing_and_unexpected_tensors_are_named(tmp_path):
    path = save_tiny(tmp_path / "c.safetensors", make_mlp())
    other = nn.Sequential(
        nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 4), nn.ReLU(), nn.Linear(4, 4)
    )
    with pytest.raises(ck.IncompatibleCheckpointError, match="checkpoint lacks \\(5.weight"):
        ck.check_compatible(ck.load_checkpoint(path), model=other)
    with pytest.raises(ck.IncompatibleCheckpointError, match="model lacks \\(3.bias, 3.weight\\)"):
        ck.check_compatible(ck.load_checkpoint(path), model=nn.Sequential(nn.Linear(4, 16)))


def test_another_optimizer_is_refused_before_loading_it(tmp_path):
    model = make_mlp()
    opt = make_optimizer(model)
    path = save_tiny(tmp_path / "c.safetensors", model, optimizer=opt)
    sgd = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ck.IncompatibleCheckpointError, match="for AdamW, not SGD"):
        ck.check_compatible(ck.load_checkpoint(path), model=model, optimizer=sgd)


def test_compatible_checkpoint_passes_every_check(tmp_path):
    model = make_mlp()
    opt = make_optimizer(model)
    path = save_tiny(tmp_path / "c.safetensors", model, optimizer=opt)
    ck.check_compatible(
        ck.load_checkpoint(path), model_name="mlp", vocab_chars=VOCAB, model=model, optimizer=opt
    )


def test_single_message_checkpoint_error_is_accepted():
    err = ck.CheckpointError("run/x.safetensors: its model cannot be built")
    assert str(err) == "run/x.safetensors: its model cannot be built" and err.path is None
