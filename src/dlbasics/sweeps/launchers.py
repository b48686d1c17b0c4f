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
JOBLIB_LAUNCHER = "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher"

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
    """Raise ConfigError if this job's trainer cannot run under its launcher: a joblib
    worker cannot start a Trainer's DDP processes (Lightning re-executes the command line,
    which in a worker is joblib's, not this job's), so each joblib job uses one device."""
    if launcher_target() != JOBLIB_LAUNCHER or job_processes(cfg.trainer) == 1:
        return
    raise ConfigError(
        f"hydra/launcher=joblib runs each job in a worker process, where a multi-process "
        f"trainer cannot start its processes; this job has trainer.devices="
        f"{cfg.trainer.get('devices')} trainer.num_nodes={cfg.trainer.get('num_nodes', 1)}. "
        f"Use one device per job with joblib (e.g. trainer=cpu or trainer.devices=1), or "
        f"hydra/launcher=submitit_local / submitit_slurm for multi-device jobs"
    )
