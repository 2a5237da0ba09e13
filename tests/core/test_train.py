"""The trainer: the notebook recipe, repeatable seeds, stop, non-finite loss, exact resume."""

from __future__ import annotations

import math
import threading
import time

import pytest
import torch

from charlm_tui.core import events as ev
from charlm_tui.core.checkpoint import load_checkpoint
from charlm_tui.core.control import RunControl
from charlm_tui.core.train import ConfigError, TrainConfig, Trainer, lr_at
from tests.conftest import TINY_TEXT


def tiny_config(model: str = "bigram", **overrides) -> TrainConfig:
    base = {"sample_length": 0}
    if model == "gpt":
        base.update(
            steps=30,
            batch_size=4,
            block_size=16,
            eval_interval=10,
            eval_batches=2,
            model_overrides={"n_layer": 1, "n_head": 2, "n_embd": 16, "block_size": 16},
        )
    else:
        base.update(steps=60, block_size=8)
    base.update(overrides)
    return TrainConfig.defaults_for(model, **base)


def weights(trainer: Trainer) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}


def test_notebook_recipe_is_adam_1000_steps_with_an_eval_every_10() -> None:
    config = TrainConfig.defaults_for("bigram")
    assert (config.recipe, config.steps, config.steps_per_epoch) == ("notebook", 1000, 10)
    assert (config.batch_size, config.block_size, config.lr) == (1, 16, 1e-3)
    trainer = Trainer(config, TINY_TEXT)
    assert type(trainer.optimizer) is torch.optim.Adam


def test_events_arrive_in_order_and_evals_follow_epochs() -> None:
    seen: list[object] = []
    result = Trainer(tiny_config(), TINY_TEXT, on_event=seen.append).run()
    kinds = [type(e) for e in seen]
    assert kinds[0] is ev.TrainingStarted and kinds[-1] is ev.TrainingFinished
    evals = [e for e in seen if isinstance(e, ev.EvalCompleted)]
    assert [e.step for e in evals] == list(range(10, 61, 10))
    assert sum(isinstance(e, ev.StepCompleted) for e in seen) == 60
    assert result.reason == "completed" and result.final_val_loss is not None
    assert math.isfinite(result.final_val_loss)


def test_same_seed_same_run_and_another_seed_another() -> None:
    runs = [Trainer(tiny_config(seed=s), TINY_TEXT) for s in (7, 7, 8)]
    for t in runs:
        t.run()
    a, b, c = (weights(t) for t in runs)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_stop_event_ends_training_at_a_step_boundary_and_saves(tmp_path) -> None:
    stop = RunControl()
    seen: list[object] = []

    def on_event(event: object) -> None:
        seen.append(event)
        if isinstance(event, ev.StepCompleted) and event.step == 25:
            stop.request_stop()

    trainer = Trainer(tiny_config(), TINY_TEXT, out_dir=tmp_path, on_event=on_event)
    result = trainer.run(stop)
    assert result.reason == "stopped" and result.step == 25
    assert load_checkpoint(tmp_path / "last.safetensors").step == 25
    assert any(isinstance(e, ev.CheckpointSaved) and e.reason == "stop" for e in seen)


@pytest.mark.parametrize("model", ["bigram", "gpt"])
def test_stop_and_resume_is_bit_identical_to_an_uninterrupted_run(tmp_path, model) -> None:
    straight = Trainer(tiny_config(model), TINY_TEXT)
    straight.run()

    stop = RunControl()

    def stop_at_17(event: object) -> None:
        if isinstance(event, ev.StepCompleted) and event.step == 17:
            stop.request_stop()

    first = Trainer(tiny_config(model), TINY_TEXT, out_dir=tmp_path, on_event=stop_at_17)
    assert first.run(stop).step == 17
    second = Trainer(tiny_config(model), TINY_TEXT, out_dir=tmp_path)
    second.resume_from(tmp_path / "last.safetensors")
    torch.manual_seed(12345)  # resume must not depend on the RNG state of the process
    result = second.run()
    assert result.step == straight.config.steps
    a, b = weights(straight), weights(second)
    assert all(torch.equal(a[k], b[k]) for k in a), "resumed weights differ"
    assert [e.val_loss for e in straight.history] == [e.val_loss for e in second.history]


def test_modern_recipe_decays_the_models_matrices_only() -> None:
    """AdamW's groups are the model's own `param_groups`: matrices decay, vectors do not."""
    trainer = Trainer(tiny_config("gpt", weight_decay=0.1), TINY_TEXT)
    want = trainer.model.param_groups(0.1)
    got = trainer.optimizer.param_groups
    assert [g["weight_decay"] for g in got] == [0.1, 0.0]
    assert [[id(p) for p in g["params"]] for g in got] == [
        [id(p) for p in g["params"]] for g in want
    ]
    assert all(p.dim() >= 2 for p in got[0]["params"]) and got[1]["params"]


@pytest.mark.parametrize("model", ["bigram", "gpt"])
def test_snapshot_copies_the_weights_without_drawing_from_the_global_rng(model) -> None:
    trainer = Trainer(tiny_config(model, steps=5), TINY_TEXT)
    trainer.run()
    before = torch.get_rng_state()
    clone = trainer.snapshot()
    assert torch.equal(torch.get_rng_state(), before), "snapshot() drew random numbers"
    assert clone is not trainer.model and not clone.training
    a, b = weights(trainer), clone.state_dict()
    assert all(torch.equal(a[k], b[k]) and a[k].data_ptr() != b[k].data_ptr() for k in a)
    with torch.no_grad():  # a copy: training on does not move the snapshot
        next(trainer.model.parameters()).add_(1.0)
    assert not torch.equal(next(trainer.model.parameters()), next(clone.parameters()))


def test_snapshot_copies_each_tensor_to_the_cpu_not_on_the_models_device(monkeypatch) -> None:
    """No deepcopy of a tensor where it lives (on a GPU that would double the model in its
    memory for a moment); the GPT's tied embedding and head stay one tensor."""
    trainer = Trainer(tiny_config("gpt", steps=2), TINY_TEXT)
    copied_in_place: list[torch.Size] = []
    deepcopy = torch.Tensor.__deepcopy__

    def watched(self, memo):  # noqa: ANN001, ANN202
        copied_in_place.append(self.shape)
        return deepcopy(self, memo)

    monkeypatch.setattr(torch.Tensor, "__deepcopy__", watched)
    clone = trainer.snapshot()
    assert copied_in_place == []
    assert all(t.device.type == "cpu" for t in clone.state_dict().values())
    tied = [(n, p) for n, p in trainer.model.named_parameters(remove_duplicate=False)]
    shared = {id(p) for _, p in tied if sum(q is p for _, q in tied) > 1}
    if shared:
        clone_params = list(clone.named_parameters(remove_duplicate=False))
        assert len({id(p) for _, p in clone_params}) == len({id(p) for _, p in tied})


def test_a_learning_rate_that_drives_the_loss_to_inf_stops_with_a_reason(tmp_path) -> None:
    seen: list[object] = []
    config = tiny_config(lr=1e30, steps=200)
    trainer = Trainer(config, TINY_TEXT, out_dir=tmp_path, on_event=seen.append)
    result = trainer.run()
    assert result.reason == "non_finite"
    assert "learning rate" in result.message and result.step < 200
    finished = seen[-1]
    assert isinstance(finished, ev.TrainingFinished) and finished.reason == "non_finite"
    # the step that produced the bad loss was never applied: the weights stay finite
    assert all(bool(torch.isfinite(p).all()) for p in trainer.model.parameters())
    if (tmp_path / "last.safetensors").exists():  # the last good checkpoint is loadable
        assert load_checkpoint(tmp_path / "last.safetensors").step < result.step + 1


def test_out_of_range_settings_are_refused_naming_them() -> None:
    with pytest.raises(ConfigError, match="lr"):
        Trainer(TrainConfig(lr=-1.0), TINY_TEXT)
    with pytest.raises(ConfigError, match="batch_size"):
        Trainer(TrainConfig(batch_size=0), TINY_TEXT)


def test_modern_schedule_warms_up_then_decays_to_min_lr() -> None:
    c = TrainConfig.defaults_for("gpt", steps=1000, warmup_steps=100, lr=1e-3, min_lr=1e-4)
    assert lr_at(0, c) == pytest.approx(1e-5)
    assert lr_at(99, c) == pytest.approx(1e-3)
    assert lr_at(1000, c) == pytest.approx(1e-4)
    assert lr_at(550, c) == pytest.approx(0.55e-3)


def test_with_a_time_budget_the_cosine_follows_the_clock() -> None:
    c = TrainConfig.defaults_for("gpt", time_budget_s=60, warmup_steps=10, lr=1e-3, min_lr=1e-4)
    assert lr_at(5, c, elapsed_s=50.0) == pytest.approx(0.6e-3)  # warmup is still in steps
    assert lr_at(500, c, elapsed_s=30.0) == pytest.approx(0.55e-3)  # half the time
    assert lr_at(10, c, elapsed_s=0.0) == pytest.approx(1e-3)
    assert lr_at(10**6, c, elapsed_s=60.0) == pytest.approx(1e-4)
    assert lr_at(10**6, c, elapsed_s=99.0) == pytest.approx(1e-4)


def test_a_time_budget_ends_the_run_with_an_eval_of_its_last_step(tmp_path) -> None:
    seen: list[object] = []
    config = tiny_config("gpt", steps=10**9, time_budget_s=0.5, eval_interval=10**6)
    trainer = Trainer(config, TINY_TEXT, out_dir=tmp_path, on_event=seen.append)
    result = trainer.run()
    assert result.reason == "completed" and trainer.time_is_up
    assert 0.5 <= trainer.elapsed_s < 10
    steps = [e for e in seen if isinstance(e, ev.StepCompleted)]
    assert steps[-2].elapsed_s < 0.5 <= steps[-1].elapsed_s  # the step that used it up was last
    evals = [e for e in seen if isinstance(e, ev.EvalCompleted)]
    assert [e.step for e in evals] == [result.step]  # evaluated, and saved
    assert load_checkpoint(tmp_path / "last.safetensors").step == result.step
    assert result.final_val_loss is not None


def test_a_short_time_budget_trains_a_smaller_gpt_unless_told_otherwise() -> None:
    standard = TrainConfig.defaults_for("gpt")
    short = TrainConfig.defaults_for("gpt", time_budget_s=35)
    assert standard.model_overrides == {} and standard.steps == 2000
    assert short.model_overrides["n_layer"] == 2 and short.model_overrides["n_embd"] == 64
    assert short.batch_size * short.block_size < standard.batch_size * standard.block_size
    assert TrainConfig.defaults_for("gpt", time_budget_s=600).model_overrides == {}
    told = TrainConfig.defaults_for("gpt", time_budget_s=35, batch_size=8)
    assert told.batch_size == 8
    # the time alone ends a run, whatever the model, unless steps are given too
    assert short.steps == TrainConfig.defaults_for("bigram", time_budget_s=9).steps == 10**9
    assert TrainConfig.defaults_for("gpt", time_budget_s=35, steps=50).steps == 50


def test_a_time_budget_is_refused_under_torchrun(monkeypatch) -> None:
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(ConfigError, match="torchrun"):
        Trainer(tiny_config(time_budget_s=5.0), TINY_TEXT)


def test_best_holds_the_weights_of_the_best_eval_copied_from_last(tmp_path) -> None:
    seen: list[object] = []
    # without the final whole-val eval, which may make last the best (test_best_checkpoint)
    config = tiny_config(steps=200, final_eval=False)
    trainer = Trainer(config, TINY_TEXT, out_dir=tmp_path, on_event=seen.append)
    trainer.run()
    best_step = [e.step for e in trainer.history if e.is_best][-1]
    best = load_checkpoint(tmp_path / "best.safetensors")
    assert best.step == best_step
    assert best.metrics["best_val_loss"] == pytest.approx(trainer.best_val_loss)

    seen.clear()
    trainer.save("last", "last", also_best=True)  # written once, copied byte for byte
    last = (tmp_path / "last.safetensors").read_bytes()
    assert (tmp_path / "best.safetensors").read_bytes() == last
    saved = [(e.reason, e.path.name) for e in seen if isinstance(e, ev.CheckpointSaved)]
    assert saved == [("best", "best.safetensors"), ("last", "last.safetensors")]


@pytest.mark.parametrize("interval", [0.0, math.inf])
def test_evals_save_a_new_best_and_the_last_step_always_and_others_at_most_so_often(
    tmp_path, monkeypatch, interval
) -> None:
    """Routine saves of "last" wait ROUTINE_SAVE_INTERVAL_S; a best or the end never waits."""
    from charlm_tui.core import train

    monkeypatch.setattr(train, "ROUTINE_SAVE_INTERVAL_S", interval)
    seen: list[object] = []
    config = tiny_config(steps=200, final_eval=False)  # which may make last the best
    trainer = Trainer(config, TINY_TEXT, out_dir=tmp_path, on_event=seen.append)
    trainer.run()
    saved = [e.step for e in seen if isinstance(e, ev.CheckpointSaved) and e.reason == "last"]
    bests = [e.step for e in trainer.history if e.is_best]
    if interval == 0:  # every eval
        assert saved == [e.step for e in trainer.history]
    else:
        assert saved == ([*bests, 200] if bests[-1] != 200 else bests)
        assert len(saved) < len(trainer.history)  # some evals were not saved
    assert load_checkpoint(tmp_path / "best.safetensors").step == bests[-1]
    assert load_checkpoint(tmp_path / "last.safetensors").step == 200


def test_a_copy_that_cannot_be_written_is_a_checkpoint_error(tmp_path) -> None:
    from charlm_tui.core.checkpoint import CheckpointError, copy_checkpoint

    trainer = Trainer(tiny_config(steps=10), TINY_TEXT, out_dir=tmp_path / "run")
    trainer.run()
    (tmp_path / "blocker").write_text("a file where a folder should be")
    with pytest.raises(CheckpointError, match="blocker"):
        copy_checkpoint(tmp_path / "run" / "last.safetensors", tmp_path / "blocker" / "best.st")


def test_run_folder_holds_config_metrics_and_checkpoints(tmp_path) -> None:
    Trainer(tiny_config(), TINY_TEXT, out_dir=tmp_path).run()
    assert (tmp_path / "config.json").is_file()
    assert len((tmp_path / "metrics.jsonl").read_text().splitlines()) == 6 + 1  # and "final"
    assert load_checkpoint(tmp_path / "best.safetensors").model_name == "bigram"
    assert load_checkpoint(tmp_path / "last.safetensors").step == 60


def test_run_control_pauses_at_a_step_boundary_and_saves_on_request(tmp_path) -> None:
    """Pause holds the run between two steps; save-now writes last.safetensors at that
    step; resume goes on to the end."""
    control = RunControl()
    reached = threading.Event()

    def on_event(event: object) -> None:
        if isinstance(event, ev.StepCompleted) and event.step == 5:
            control.pause()
            control.request_save()
            reached.set()

    trainer = Trainer(tiny_config(), TINY_TEXT, out_dir=tmp_path, on_event=on_event)
    worker = threading.Thread(target=trainer.run, args=(control,))
    worker.start()
    assert reached.wait(30)
    deadline = time.monotonic() + 30
    while not (tmp_path / "last.safetensors").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)  # paused: no step may pass
    assert trainer.step == 5 and control.paused
    assert load_checkpoint(tmp_path / "last.safetensors").step == 5
    control.resume()
    worker.join(60)
    assert trainer.step == trainer.config.steps


def test_a_stop_ends_a_paused_run_at_once(tmp_path) -> None:
    control = RunControl()
    control.pause()
    trainer = Trainer(tiny_config(), TINY_TEXT, out_dir=tmp_path)
    worker = threading.Thread(target=trainer.run, args=(control,))
    worker.start()
    deadline = time.monotonic() + 30
    while trainer.step == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)
    assert trainer.step == 1  # one step, then the boundary held it
    control.request_stop()
    worker.join(30)
    assert not worker.is_alive() and trainer.step == 1
