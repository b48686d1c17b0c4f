"""Multirun bookkeeping: job records (skip, fail, resume), the results table and curves at
the sweep root, Optuna pruning. Importing the package registers ``${sweep_dir:...}``,
which conf/hydra/default.yaml uses for the sweep dir, and (dlbasics.sweeps.launchers)
``${slurm_gpus:...}``, which conf/hydra/launcher/submitit_*.yaml use."""

from omegaconf import OmegaConf

import dlbasics.sweeps.launchers  # noqa: F401  (registers ${slurm_gpus:...})
from dlbasics.sweeps.resume import choose_sweep_dir

# Cached like ${now:}: every job of the sweep sees the dir the launcher chose.
OmegaConf.register_new_resolver("sweep_dir", choose_sweep_dir, use_cache=True, replace=True)
