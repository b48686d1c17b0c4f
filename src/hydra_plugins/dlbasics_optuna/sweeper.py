"""A small Optuna sweeper on Optuna's current ask/tell API.

hydra-optuna-sweeper 1.3 pins optuna<3; this one asks Optuna for a batch of
trials, launches them through Hydra's launcher (one job dir each), and tells
Optuna the value each job returned (``optimized_metric``). A job that failed
or returned a non-finite value is told as FAIL; one stopped by the pruning
callback (dlbasics.callbacks.optuna_pruning) as PRUNED. The study lives in ``storage``
(default: ``optuna.db`` in the sweep dir); re-running the same command with the
same storage and ``study_name`` resumes it up to ``n_trials``.
"""

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hydra.core.config_store import ConfigStore
from hydra.core.plugins import Plugins
from hydra.core.utils import JobReturn, JobStatus
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from dlbasics.errors import ConfigError
from dlbasics.sweeps.jobs import PRUNED, read_job_status
from hydra_plugins.dlbasics_optuna.search_space import parse_space

if TYPE_CHECKING:  # Hydra imports every plugin at start-up; Optuna loads when a sweep runs
    import optuna
    from optuna.trial import TrialState

log = logging.getLogger(__name__)

RESULTS_FILE = "optimization_results.yaml"


def finished_states() -> tuple["TrialState", ...]:
    """The states of a trial that has ended, the ones ``optimization_results.yaml`` counts."""
    from optuna.trial import TrialState

    return TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL


@dataclass
class DlbasicsOptunaSweeperConf:
    _target_: str = "hydra_plugins.dlbasics_optuna.sweeper.DlbasicsOptunaSweeper"
    direction: str = "maximize"  # maximize | minimize (or the task's max | min)
    n_trials: int = 20  # total, counting trials already in a resumed study
    n_jobs: int = 1  # trials asked per batch
    study_name: str | None = None
    storage: str | None = None  # e.g. sqlite:///logs/optuna.db; null: <sweep dir>/optuna.db
    sampler: Any = field(
        default_factory=lambda: {"_target_": "optuna.samplers.TPESampler", "seed": 0}
    )
    pruner: Any = None  # e.g. {_target_: optuna.pruners.MedianPruner}
    params: dict[str, str] = field(default_factory=dict)


store = ConfigStore.instance()
store.store(group="hydra/sweeper", name="dlbasics_optuna", node=DlbasicsOptunaSweeperConf)


def outcome(result: JobReturn) -> tuple["TrialState", float | None]:
    """How a finished job is told: PRUNED if its job.json says so, FAIL without a finite
    value, else COMPLETE with the value."""
    from optuna.trial import TrialState as State

    job_dir = result.hydra_cfg and OmegaConf.select(result.hydra_cfg, "hydra.runtime.output_dir")
    if job_dir and read_job_status(Path(job_dir)).get("status") == PRUNED:
        return State.PRUNED, None
    value = result.return_value if result.status == JobStatus.COMPLETED else None
    if isinstance(value, (int, float)) and math.isfinite(value):
        return State.COMPLETE, float(value)
    return State.FAIL, None


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
        self.direction = {"max": "maximize", "min": "minimize"}.get(direction, direction)
        if self.direction not in ("maximize", "minimize"):
            raise ConfigError(
                f"hydra.sweeper.direction must be maximize or minimize, got {direction!r}"
            )
        if n_trials < 1 or n_jobs < 1:
            raise ConfigError(
                f"hydra.sweeper.n_trials and n_jobs must be >= 1, got {n_trials} and {n_jobs}"
            )
        self.n_trials, self.n_jobs = n_trials, n_jobs
        self.study_name, self.storage = study_name, storage
        # Hydra builds nested _target_ nodes of a sweeper itself; build any it left as config
        self.sampler, self.pruner = (
            instantiate(s) if isinstance(s, (dict, DictConfig)) else s for s in (sampler, pruner)
        )
        self.params = dict(params or {})

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        self.config = config
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config
        )

    def sweep(self, arguments: list[str]) -> list[JobReturn]:
        import optuna
        from optuna.trial import TrialState

        space, fixed = parse_space(self.params, arguments)
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, sweep_dir / "multirun.yaml")
        storage = self.storage or f"sqlite:///{(sweep_dir / 'optuna.db').resolve()}"
        if storage.startswith("sqlite:///"):  # the database's folder must exist
            database = Path(storage.removeprefix("sqlite:///")).expanduser()
            database.parent.mkdir(parents=True, exist_ok=True)
        study = optuna.create_study(
            study_name=self.study_name,
            storage=storage,
            direction=self.direction,
            sampler=self.sampler,
            pruner=self.pruner,
            load_if_exists=True,
        )
        finished = finished_states()
        done = sum(t.state in finished for t in study.trials)
        log.info("Optuna study %s: %d of %d trials done", study.study_name, done, self.n_trials)
        # every job can find its own trial in the storage (the pruning callback does)
        where = [*fixed, f"++optuna.study={study.study_name}", f"++optuna.storage={storage}"]
        returns: list[JobReturn] = []
        while done < self.n_trials:
            trials = [study.ask(space) for _ in range(min(self.n_jobs, self.n_trials - done))]
            batch = [
                [*where, f"++optuna.trial={t.number}"] + [f"{k}={v}" for k, v in t.params.items()]
                for t in trials
            ]
            results = self.launcher.launch(batch, initial_job_idx=trials[0].number)
            for trial, result in zip(trials, results, strict=True):
                state, value = outcome(result)
                if state == TrialState.FAIL:
                    log.warning("trial %d failed or returned no finite value", trial.number)
                study.tell(trial, value, state=state)
            returns.extend(results)
            done += len(trials)
        self.write_results(study, sweep_dir)
        return returns

    def write_results(self, study: "optuna.Study", sweep_dir: Path) -> None:
        from optuna.trial import TrialState

        trials = {s.name: sum(t.state == s for t in study.trials) for s in finished_states()}
        results = dict(
            name="optuna", study_name=study.study_name, direction=self.direction, trials=trials
        )
        if any(t.state == TrialState.COMPLETE for t in study.trials):
            best = study.best_trial
            results.update(best_trial=best.number, best_value=best.value, best_params=best.params)
            log.info("best trial %d: %s = %s", best.number, best.params, best.value)
        OmegaConf.save(OmegaConf.create(results), sweep_dir / RESULTS_FILE)
