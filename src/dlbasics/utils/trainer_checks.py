"""Checks of the ``trainer`` group that Lightning's Trainer leaves out or makes late.

Lightning accepts ``min_epochs=-1``, ``log_every_n_steps=0``, ``accumulate_grad_batches=0``,
a negative ``gradient_clip_val`` and any number of CPU processes (it starts 64 on a
two-core laptop); it notices a missing GPU only as "No supported gpu backend found!".
:func:`check_trainer` catches these before the Trainer is built, naming the key and the fix.
"""

import os
from collections.abc import Mapping
from typing import Any

import torch

from dlbasics.errors import ConfigError
from dlbasics.utils.checks import is_integer, require_integer, require_non_negative

GPU_ACCELERATORS = ("gpu", "cuda")


def check_max_epochs(value: Any) -> None:
    """Lightning refuses only values below -1; 0 or 2.5 would train nothing or crash late."""
    if not is_integer(value) or not (value > 0 or value == -1):
        raise ConfigError(
            f"trainer.max_epochs must be a positive integer (or -1 for no limit), got {value!r}"
        )


def requested_devices(devices: Any) -> int | None:
    """How many devices ``trainer.devices`` asks for: an int, a list of ids or a
    comma-separated string of ids; None for "auto" and -1 (all there are)."""
    if devices in ("auto", -1, "-1") or devices is None:
        return None
    if is_integer(devices):
        if devices < 1:
            raise ConfigError(
                f"trainer.devices must be a positive integer, a list of device ids, -1 or auto, "
                f"got {devices!r}"
            )
        return devices
    if isinstance(devices, str) and "," not in devices:  # "2": a count, as Lightning reads it
        return requested_devices(int(devices)) if devices.strip().isdigit() else None
    if isinstance(devices, str):  # "0,2": device ids
        return len([part for part in devices.split(",") if part.strip()])
    return len(list(devices))


def trainer_processes(trainer: Mapping[str, Any]) -> int | None:
    """Processes one Trainer runs (devices x num_nodes); None when ``devices`` is ``auto``
    or -1, which only the machine the job lands on can tell."""
    wanted = requested_devices(trainer.get("devices", "auto"))
    return None if wanted is None else wanted * int(trainer.get("num_nodes", 1))


def check_devices(trainer: Mapping[str, Any]) -> None:
    """``trainer.accelerator`` exists on this machine and ``trainer.devices`` does not ask for
    more of it than there are (GPUs: torch.cuda.device_count(); CPU processes: os.cpu_count())."""
    accelerator = str(trainer.get("accelerator", "auto"))
    wanted = requested_devices(trainer.get("devices", "auto"))
    if accelerator == "auto":
        accelerator = "gpu" if torch.cuda.is_available() else "cpu"
    if accelerator in GPU_ACCELERATORS:
        if not torch.cuda.is_available():
            raise ConfigError(
                f"trainer.accelerator={accelerator}: no CUDA GPU on this machine "
                f"(torch.cuda.is_available() is False); use trainer=cpu or trainer=ddp_cpu"
            )
        count = torch.cuda.device_count()
        if wanted is not None and wanted > count:
            raise ConfigError(
                f"trainer.devices={trainer.get('devices')} asks for {wanted} GPUs but this "
                f"machine has {count}; set trainer.devices={count} or fewer"
            )
    elif accelerator == "cpu" and wanted is not None:
        cores = os.cpu_count() or 1
        if wanted > cores:
            raise ConfigError(
                f"trainer.devices={wanted} CPU processes but this machine has {cores} CPU cores "
                f"(os.cpu_count()); set trainer.devices={cores} or fewer"
            )


def check_callback_settings(callbacks: Mapping[str, Any]) -> None:
    """Lightning's EarlyStopping takes a negative patience (it stops at the first check
    without improvement) and a negative min_delta (a worse value counts as better)."""
    for name, node in callbacks.items():
        if not isinstance(node, Mapping) or not str(node.get("_target_", "")).endswith(
            "EarlyStopping"
        ):
            continue
        require_integer(f"callbacks.{name}.patience", node.get("patience", 3), minimum=0)
        require_non_negative(f"callbacks.{name}.min_delta", node.get("min_delta", 0.0))


def check_trainer(trainer: Mapping[str, Any]) -> None:
    """Every numeric ``trainer.*`` knob of conf/trainer that Lightning does not check itself
    when the Trainer is built (it checks limit_*_batches, precision, num_nodes, max_steps)."""
    max_epochs = trainer.get("max_epochs", 1)
    check_max_epochs(max_epochs)
    min_epochs = require_integer("trainer.min_epochs", trainer.get("min_epochs", 0) or 0, 0)
    if max_epochs != -1 and min_epochs > max_epochs:  # Lightning stops at max_epochs anyway
        raise ConfigError(
            f"trainer.min_epochs={min_epochs} is above trainer.max_epochs={max_epochs}; the run "
            f"stops at max_epochs. Set trainer.min_epochs={max_epochs} or less"
        )
    for key in ("check_val_every_n_epoch", "log_every_n_steps", "accumulate_grad_batches"):
        value = trainer.get(key)
        if value is not None:
            require_integer(f"trainer.{key}", value, minimum=1)
    require_integer("trainer.num_sanity_val_steps", trainer.get("num_sanity_val_steps", 2), -1)
    clip = trainer.get("gradient_clip_val")
    if clip is not None:
        require_non_negative("trainer.gradient_clip_val", clip)
    check_devices(trainer)
