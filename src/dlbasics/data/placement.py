"""Where an in-memory split lives during training: the host, or the accelerator itself.

With ``data.on_device=true`` (or ``auto``) each split is copied once to the device the
process trains on, and every batch is one gather there: no host-to-device copy per batch
and no pinned staging buffer. Under DDP every process holds its own copy and takes its
shard by indices, as it does on the host. On a CPU run nothing changes.
"""

from typing import Any

import torch

from dlbasics.errors import ConfigError

ON_DEVICE_CHOICES = (False, True, "auto")
# auto: a split moves when it takes at most this share of the accelerator's free memory,
# leaving the rest to the model, its activations and the optimizer state
AUTO_SHARE = 0.25


def check_on_device(value: Any, num_workers: int) -> bool | str:
    if value not in ON_DEVICE_CHOICES or (isinstance(value, int) and not isinstance(value, bool)):
        raise ConfigError(f"data.on_device must be false, true or auto, got {value!r}")
    if value is True and num_workers > 0:
        raise ConfigError(
            f"data.on_device=true keeps the splits on the accelerator, where the "
            f"data.num_workers={num_workers} worker processes cannot index them; set "
            f"data.num_workers=0 (batches are gathers on the device, workers add nothing)"
        )
    return value


def free_memory(device: torch.device) -> int:
    """Free bytes on ``device``; 0 where torch cannot tell (auto then keeps the host)."""
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    return 0


def data_device(
    on_device: bool | str, root_device: torch.device | None, nbytes: int, num_workers: int
) -> torch.device | None:
    """The device a split of ``nbytes`` goes to, or None to keep it on the host."""
    if not on_device or root_device is None or root_device.type == "cpu":
        return None
    if on_device == "auto" and (num_workers > 0 or nbytes > AUTO_SHARE * free_memory(root_device)):
        return None
    return root_device
