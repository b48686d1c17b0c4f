"""A small Optuna sweeper on Optuna's current ask/tell API.

hydra-optuna-sweeper 1.3 pins optuna<3; this one asks Optuna for a batch of
trials, launches them through Hydra's launcher (one job dir each), and tells
Optuna the value each job returned (``optimized_metric``). A job that failed
or returned a non-finite value is told as FAIL; one stopped by the pruning
callback (dlbasics.sweeps.pruning) as PRUNED. With ``storage`` set the study
persists, and re-running the same command resumes it up to ``n_trials``.
"""

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
from hydra.core.config_store import ConfigStore
from hydra.core.plugins import Plugins
from hydra.core.utils import JobReturn, JobStatus
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from dlbasics.errors import ConfigError
from dlbasics.sweeps import pruning
from hydra_plugins.dlbasics_optuna.search_space import parse_space

log = logging.getLogger(__name__)

RESULTS_FILE = "optimization_results.yaml"
FINISHED = (
    optuna.trial.TrialState.COMPLETE,
    optuna.trial.TrialState.PRUNED,
    optuna.trial.TrialState.FAIL,
)


@dataclass
class DlbasicsOptunaSweeperConf:
    _target_: str = "hydra_plugins.dlbasics_optuna.sweeper.DlbasicsOptunaSweeper"
    direction: str = "maximize"  # maximize | minimize the value the task returns
    n_trials: int = 20  # total, counting trials already in a resumed study
    n_jobs: int = 1  # trials asked per batch (pruning needs 1)
    study_name: str | None = None
    storage: str | None = None  # e.g. sqlite:///logs/optuna.db; null: in memory
    sampler: Any = field(
        default_factory=lambda: {"_target_": "optuna.samplers.TPESampler", "seed": 0}
    )
    pruner: Any = None  # e.g. {_target_: optuna.pruners.MedianPruner}
    params: dict[str, str] = field(default_factory=dict)


ConfigStore.instance().store(
    group="hydra/sweeper",
    name="dlbasics_optuna",
    node=DlbasicsOptunaSweeperConf,
    provider="dlbasics",
)


def built(spec: Any) -> Any:
    """Hydra instantiates the sweeper's nested ``_target_`` nodes itself; build any left."""
    if isinstance(spec, (dict, DictConfig)) and "_target_" in spec:
        return instantiate(spec)
    return spec or None


def job_value(result: JobReturn) -> float | None:
    if result.status != JobStatus.COMPLETED:
        return None
    value = result.return_value
    if isinstance(value, (int, float)) and math.isfinite(value):
        return float(value)
    return None


class DlbasicsOptunaSweeper(Sweeper):
    def __init__(
        self,
        direction: str,
        n_trials: int,
        n_jobs: int,
        study_name: str | None,
        storage: str | None,
        sampler: Any,
        pruner: Any,
        params: dict[str, str] | None,
    ) -> None:
        direction = {"max": "maximize", "min": "minimize"}.get(direction, direction)
        if direction not in ("maximize", "minimize"):
            raise ConfigError(
                f"hydra.sweeper.direction must be maximize or minimize, got {direction!r}"
            )
        if n_trials < 1 or n_jobs < 1:
            raise ConfigError(
                f"hydra.sweeper.n_trials and n_jobs must be >= 1, got {n_trials} and {n_jobs}"
            )
        self.direction, self.n_trials, self.n_jobs = direction, n_trials, n_jobs
        self.study_name, self.storage = study_name, storage
        self.sampler_cfg, self.pruner_cfg = sampler, pruner
        self.params = dict(params or {})
        self.config: DictConfig | None = None
        self.launcher = None

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        self.config = config
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config
        )

    def _study(self) -> optuna.Study:
        if self.storage and self.storage.startswith("sqlite:///"):
            Path(self.storage.removeprefix("sqlite:///")).expanduser().parent.mkdir(
                parents=True, exist_ok=True
            )
        return optuna.create_study(
            study_name=self.study_name,
            storage=self.storage,
            direction=self.direction,
            sampler=built(self.sampler_cfg),
            pruner=built(self.pruner_cfg),
            load_if_exists=True,
        )

    def sweep(self, arguments: list[str]) -> list[JobReturn]:
        assert self.config is not None and self.launcher is not None
        space, fixed = parse_space(self.params, arguments)
        study = self._study()
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, sweep_dir / "multirun.yaml")
        done = sum(t.state in FINISHED for t in study.trials)
        log.info(
            "Optuna study %s: %d of %d trials done; search space %s",
            study.study_name,
            done,
            self.n_trials,
            space,
        )
        returns: list[JobReturn] = []
        while done < self.n_trials:
            trials = [study.ask(space) for _ in range(min(self.n_jobs, self.n_trials - done))]
            batch = [fixed + [f"{k}={v}" for k, v in t.params.items()] for t in trials]
            pruning.active_trial = trials[0] if len(trials) == 1 else None
            try:
                results = self.launcher.launch(batch, initial_job_idx=trials[0].number)
            finally:
                pruning.active_trial = None
            for trial, result in zip(trials, results, strict=True):
                self._tell(study, trial, result)
            returns.extend(results)
            done += len(trials)
        self._write_results(study, sweep_dir)
        return returns

    @staticmethod
    def _tell(study: optuna.Study, trial: optuna.Trial, result: JobReturn) -> None:
        if trial.number in pruning.pruned_trials:
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            return
        value = job_value(result)
        if value is None:
            log.warning(
                "trial %d failed or returned no finite value: told Optuna FAIL", trial.number
            )
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
        else:
            study.tell(trial, value)

    def _write_results(self, study: optuna.Study, sweep_dir: Path) -> None:
        complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
        states = {s.name: sum(t.state == s for t in study.trials) for s in FINISHED}
        results: dict[str, Any] = {
            "name": "optuna",
            "study_name": study.study_name,
            "direction": self.direction,
            "trials": states,
        }
        if complete:
            results.update(
                best_trial=study.best_trial.number,
                best_value=study.best_value,
                best_params=study.best_params,
            )
            log.info(
                "best trial %d: %s = %s",
                study.best_trial.number,
                study.best_params,
                study.best_value,
            )
        OmegaConf.save(OmegaConf.create(results), sweep_dir / RESULTS_FILE)
