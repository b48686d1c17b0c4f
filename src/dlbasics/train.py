"""``dlbasics-train``: one training job, or k-fold cross-validation with ``cv.folds=k``."""

from typing import Any

from omegaconf import DictConfig

from dlbasics.sweeps.jobs import sweep_job
from dlbasics.training.cv import cross_validate, cv_folds
from dlbasics.training.run import fit_and_test
from dlbasics.utils.cli import hydra_entry


def train(cfg: DictConfig) -> dict[str, Any]:
    """The record (metrics.json) of the job a composed ``train.yaml`` config describes."""
    return cross_validate(cfg) if cv_folds(cfg) else fit_and_test(cfg)


@hydra_entry("train")
def main(cfg: DictConfig) -> float | None:
    # in a multirun: skips finished jobs, records a crashed job in job.json and goes on
    return sweep_job(train)(cfg)


if __name__ == "__main__":
    main()
