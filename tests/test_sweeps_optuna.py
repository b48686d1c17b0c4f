"""The Optuna sweeper plugin: search-space parsing, how results are told, resumable study."""

import math
from pathlib import Path
from types import SimpleNamespace

import optuna
import pytest
import torch
from hydra.core.plugins import Plugins
from hydra.core.utils import JobReturn, JobStatus
from hydra.plugins.sweeper import Sweeper
from omegaconf import OmegaConf

from dlbasics.callbacks.optuna_pruning import OptunaPruning
from dlbasics.errors import ConfigError
from dlbasics.sweeps.jobs import PRUNED, is_pruned, write_job_status
from dlbasics.utils.cli import CONFIG_DIR
from hydra_plugins.dlbasics_optuna.search_space import parse_space
from hydra_plugins.dlbasics_optuna.sweeper import DlbasicsOptunaSweeper, outcome
from tests.conftest import run_cli

CONF = Path(CONFIG_DIR)


def test_hydra_discovers_the_sweeper_plugin() -> None:
    names = [p.__name__ for p in Plugins.instance().discover(Sweeper)]
    assert "DlbasicsOptunaSweeper" in names


def test_search_space_reads_hydra_sweep_syntax() -> None:
    space, fixed = parse_space(
        {"lr": "tag(log, interval(0.001, 1.0))", "wd": "choice(0, 0.01)", "width": "range(1, 4)"},
        ["depth=tag(int, interval(1, 3))", "trainer=cpu"],
    )
    assert space["lr"] == optuna.distributions.FloatDistribution(0.001, 1.0, log=True)
    assert space["wd"] == optuna.distributions.CategoricalDistribution([0, 0.01])
    assert space["width"] == optuna.distributions.IntDistribution(1, 3)
    assert space["depth"] == optuna.distributions.IntDistribution(1, 3)
    assert fixed == ["trainer=cpu"]


def test_list_choices_become_override_text() -> None:
    space, _ = parse_space({"model.net.hidden_sizes": "choice([128],[256,256])"}, [])
    choices = space["model.net.hidden_sizes"].choices
    assert choices == ("[128]", "[256,256]")


def test_the_example_search_space_parses() -> None:
    config = OmegaConf.load(CONF / "hparams_search" / "fmnist_mlp_optuna.yaml")
    space, _ = parse_space(dict(config.hydra.sweeper.params), [])
    assert set(space) == {
        "optimizer.lr",
        "model.net.hidden_sizes",
        "model.net.dropout",
        "data.batch_size",
    }


def test_an_empty_search_space_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="no search space"):
        parse_space({}, ["trainer=cpu"])


def job(status: JobStatus, value: object, job_dir: Path | None = None) -> JobReturn:
    result = JobReturn(status=status, _return_value=value)
    if job_dir is not None:
        result.hydra_cfg = OmegaConf.create({"hydra": {"runtime": {"output_dir": str(job_dir)}}})
    return result


def test_failed_nan_and_pruned_trials_are_told_as_such(tmp_path: Path) -> None:
    pruned_dir = tmp_path / "4"
    pruned_dir.mkdir()
    write_job_status(pruned_dir, PRUNED, ["x=0.3"], "trial 4 pruned at epoch 1")
    study = optuna.create_study(direction="maximize")
    outcomes = [
        job(JobStatus.COMPLETED, 0.5),
        job(JobStatus.COMPLETED, None),
        job(JobStatus.COMPLETED, math.nan),
        job(JobStatus.FAILED, ValueError("x")),
        job(JobStatus.COMPLETED, None, pruned_dir),  # its job.json says pruned
    ]
    trials = [study.ask({"x": optuna.distributions.FloatDistribution(0, 1)}) for _ in outcomes]
    for trial, result in zip(trials, outcomes, strict=True):
        state, value = outcome(result)
        study.tell(trial, value, state=state)
    states = [t.state.name for t in study.trials]
    assert states == ["COMPLETE", "FAIL", "FAIL", "FAIL", "PRUNED"]
    assert study.best_value == 0.5


def test_the_pruning_callback_finds_its_trial_through_the_storage(tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    study = optuna.create_study(study_name="s", storage=storage, direction="minimize")
    study.ask()  # trial 0, as the sweeper would ask it
    pruner = {"_target_": "optuna.pruners.ThresholdPruner", "upper": 1.0}  # the sweeper's
    callback = OptunaPruning("val/loss", study="s", storage=storage, trial=0, pruner=pruner)
    trainer = SimpleNamespace(sanity_checking=False, current_epoch=0, callback_metrics={})
    callback.on_fit_start(trainer, None)
    trainer.callback_metrics["val/loss"] = torch.tensor(0.5)
    callback.on_validation_epoch_end(trainer, None)  # below the threshold: goes on
    trainer.current_epoch, trainer.callback_metrics["val/loss"] = 1, torch.tensor(2.0)
    with pytest.raises(optuna.TrialPruned, match="trial 0 pruned at epoch 1"):
        callback.on_validation_epoch_end(trainer, None)
    reloaded = optuna.load_study(study_name="s", storage=storage).trials[0]
    assert reloaded.intermediate_values == {0: 0.5, 1: 2.0}
    alone = OptunaPruning(monitor="val/loss")  # outside an Optuna sweep: does nothing
    alone.on_fit_start(trainer, None)
    alone.on_validation_epoch_end(trainer, None)


def test_direction_accepts_the_tasks_monitor_mode() -> None:
    sweeper = DlbasicsOptunaSweeper("min", 3, 1, None, None, None, None, {})
    assert sweeper.direction == "minimize"
    with pytest.raises(ConfigError, match="maximize or minimize"):
        DlbasicsOptunaSweeper("up", 3, 1, None, None, None, None, {})


def test_optuna_search_runs_trials_and_resumes_from_its_storage(tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    args = [
        "hparams_search=optuna",
        "trainer=cpu",
        "callbacks=none",
        "trainer.max_epochs=1",
        "data.num_train=200",
        f"hydra.sweeper.storage={storage}",
        "hydra.sweeper.study_name=t",
    ]
    first = run_cli("train", *args, "hydra.sweeper.n_trials=2", log_dir=tmp_path)
    assert first.returncode == 0, first.stderr[-2000:]
    second = run_cli("train", *args, "hydra.sweeper.n_trials=3", log_dir=tmp_path)
    assert second.returncode == 0, second.stderr[-2000:]
    study = optuna.load_study(study_name="t", storage=storage)
    assert [t.state.name for t in study.trials] == ["COMPLETE"] * 3
    sweeps = sorted((tmp_path / "train" / "multiruns").glob("*"))
    assert len(sweeps) == 2
    assert [p.name for p in sweeps[1].iterdir() if p.name.isdigit()] == ["2"]  # one new trial
    results = OmegaConf.load(sweeps[1] / "optimization_results.yaml")
    assert results.best_value == pytest.approx(study.best_value)
    assert results.direction == "minimize"  # linear regression monitors val/loss (min)
    assert (sweeps[1] / "summary.md").is_file()


def test_a_pruned_trial_is_told_from_a_failure_without_importing_optuna_per_run() -> None:
    assert is_pruned(optuna.TrialPruned("trial 0 pruned at epoch 1"))
    assert not is_pruned(ValueError("diverged"))
