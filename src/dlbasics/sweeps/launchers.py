"""What a job needs from ``hydra/launcher=submitit_slurm | submitit_local | joblib``.

Importing the module registers ``${slurm_gpus:...}`` (conf/hydra/launcher/submitit_*.yaml
ask SLURM for GPUs only for GPU trainers); :func:`check_launcher` stops a job whose
trainer cannot run under the launcher that started it (DDP in a joblib worker).
"""

import warnings
from collections.abc import Sequence
from typing import Any

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from dlbasics.errors import ConfigError

GPU_ACCELERATORS = ("gpu", "cuda")
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


def job_processes(trainer: DictConfig) -> int | None:
    """Processes one job's Trainer runs (devices x num_nodes); None when ``devices`` is
    ``auto`` or -1, which only the machine the job lands on can tell."""
    devices = trainer.get("devices", 1)
    nodes = int(trainer.get("num_nodes", 1))
    if isinstance(devices, Sequence) and not isinstance(devices, str):
        return len(devices) * nodes
    if str(devices).isdigit() and int(devices) > 0:
        return int(devices) * nodes
    if isinstance(devices, str) and "," in devices:  # "0,1": device indices
        return len([d for d in devices.split(",") if d.strip()]) * nodes
    return None


def slurm_gpus(accelerator: str, devices: Any) -> int | None:
    """``gpus_per_node`` for a SLURM job: one GPU per device for GPU trainers, none for CPU
    ones (``trainer=ddp_cpu`` on SLURM asks for CPU tasks only)."""
    if str(accelerator) not in GPU_ACCELERATORS:
        return None
    return job_processes(OmegaConf.create({"devices": devices}))


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
    if name is None or job_processes(cfg.trainer) == 1:
        return
    raise ConfigError(
        f"hydra/launcher={name} runs each job as one process, which cannot start a "
        f"multi-process trainer; this job has trainer.devices={cfg.trainer.get('devices')} "
        f"trainer.num_nodes={cfg.trainer.get('num_nodes', 1)}. Use one device per job "
        f"(e.g. trainer=cpu or trainer.devices=1), or hydra/launcher=submitit_slurm, where "
        f"every rank is a SLURM task"
    )
