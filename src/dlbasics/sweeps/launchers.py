"""What a job needs from ``hydra/launcher=submitit_slurm | submitit_local | joblib``.

Importing the module registers ``${slurm_gpus:...}`` (conf/hydra/launcher/submitit_*.yaml
ask SLURM for GPUs only for GPU trainers); :func:`check_launcher` stops a job whose
trainer cannot run under the launcher that started it (DDP in a joblib worker).
"""

import warnings
from typing import Any

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from dlbasics.errors import ConfigError
from dlbasics.utils.trainer_checks import GPU_ACCELERATORS, trainer_processes

# launchers whose job processes cannot start a Trainer's DDP ranks: Lightning re-executes
# the command line, which there is the worker's (joblib's, or submitit's
# `python -m submitit.core._submit <folder>`, which rejects the Hydra overrides appended)
ONE_PROCESS_LAUNCHERS = {
    "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher": "joblib",
    "hydra_plugins.hydra_submitit_launcher.submitit_launcher.LocalLauncher": "submitit_local",
}

# conf/hydra/launcher/<name>.yaml has the name of the plugin's ConfigStore entry on purpose
# (users type the plugin's names); Hydra then validates our file against the plugin's
# schema and warns that this matching is deprecated. Each file sets every key of its
# schema, so it works alone once Hydra stops matching; until then the warning says nothing.
warnings.filterwarnings(
    "ignore",
    message=r"\s*'hydra/launcher/(submitit_slurm|submitit_local|joblib)' is validated against",
    category=UserWarning,
)


def slurm_gpus(accelerator: str, devices: Any) -> int | None:
    """``gpus_per_node`` for a SLURM job: one GPU per device for GPU trainers, none for CPU
    ones (``trainer=ddp_cpu`` on SLURM asks for CPU tasks only)."""
    if str(accelerator) not in GPU_ACCELERATORS:
        return None
    return trainer_processes({"devices": devices})


OmegaConf.register_new_resolver("slurm_gpus", slurm_gpus, replace=True)


def launcher_target() -> str | None:
    """The ``_target_`` of the launcher that started this job; None outside a Hydra job."""
    if not HydraConfig.initialized():
        return None
    return OmegaConf.select(HydraConfig.get(), "launcher._target_", default=None)


def check_launcher(cfg: DictConfig) -> None:
    """Raise ConfigError if this job's trainer cannot run under the launcher that started
    it: joblib and submitit_local jobs run one process each (ONE_PROCESS_LAUNCHERS)."""
    name = ONE_PROCESS_LAUNCHERS.get(str(launcher_target()))
    if name is None or trainer_processes(cfg.trainer) == 1:
        return
    raise ConfigError(
        f"hydra/launcher={name} runs each job as one process, which cannot start a "
        f"multi-process trainer; this job has trainer.devices={cfg.trainer.get('devices')} "
        f"trainer.num_nodes={cfg.trainer.get('num_nodes', 1)}. Use one device per job "
        f"(e.g. trainer=cpu or trainer.devices=1), or hydra/launcher=submitit_slurm, where "
        f"every rank is a SLURM task"
    )
