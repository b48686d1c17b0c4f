"""The Optuna sweeper plugin: search-space parsing, how results are told, resumable study."""

import math
from pathlib import Path

import optuna
import pytest
from hydra.core.plugins import Plugins
from hydra.core.utils import JobReturn, JobStatus
from hydra.plugins.sweeper import Sweeper
from omegaconf import OmegaConf

from dlbasics.errors import ConfigError
from dlbasics.sweeps import pruning
from dlbasics.utils.cli import CONFIG_DIR
from hydra_plugins.dlbasics_optuna.search_space import parse_space
from hydra_plugins.dlbasics_optuna.sweeper import DlbasicsOptunaSweeper
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
        "model.optimizer.lr",
        "model.net.hidden_sizes",
        "model.net.dropout",
        "data.batch_size",
    }


def test_an_empty_search_space_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="no search space"):
        parse_space({}, ["trainer=cpu"])


def job(status: JobStatus, value: object) -> JobReturn:
    result = JobReturn()
    result.status, result._return_value = status, value
    return result


def test_failed_nan_and_pruned_trials_are_told_as_such() -> None:
    study = optuna.create_study(direction="maximize")
    outcomes = [
        job(JobStatus.COMPLETED, 0.5),
        job(JobStatus.COMPLETED, None),
        job(JobStatus.COMPLETED, math.nan),
        job(JobStatus.FAILED, ValueError("x")),
        job(JobStatus.COMPLETED, None),
    ]
    trials = [study.ask({"x": optuna.distributions.FloatDistribution(0, 1)}) for _ in outcomes]
    pruning.pruned_trials.add(trials[-1].number)
    for trial, outcome in zip(trials, outcomes, strict=True):
        DlbasicsOptunaSweeper._tell(study, trial, outcome)
    states = [t.state.name for t in study.trials]
    assert states == ["COMPLETE", "FAIL", "FAIL", "FAIL", "PRUNED"]
    assert study.best_value == 0.5


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
