"""Random-number states in every checkpoint, so a resumed run draws what the uninterrupted
run would have drawn next (dropout masks, random augmentation).

Lightning's checkpoints hold weights, optimizer and loop state but no RNG state. This
callback's ``state_dict`` is stored under ``checkpoint["callbacks"]`` and restored before
training continues. The states are kept as tensors and plain numbers, so the checkpoint
stays loadable with ``torch.load(weights_only=True)``. The training order itself does
not come from these states (data/resumable.py seeds it per epoch).
"""

import random
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch


def collect_rng_states() -> dict[str, Any]:
    """The global states of torch (CPU and every CUDA device), numpy and Python's random."""
    version, python_state, gauss = random.getstate()
    kind, keys, position, has_gauss, cached_gauss = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "torch_cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": {
            "kind": kind,
            "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
            "position": int(position),
            "has_gauss": int(has_gauss),
            "cached_gauss": float(cached_gauss),
        },
        "python": {"version": version, "state": list(python_state), "gauss": gauss},
    }


def restore_rng_states(states: dict[str, Any]) -> None:
    torch.set_rng_state(states["torch"])
    if states["torch_cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["torch_cuda"])
    numpy_state = states["numpy"]
    np.random.set_state(
        (
            numpy_state["kind"],
            numpy_state["keys"].numpy().astype(np.uint32),
            numpy_state["position"],
            numpy_state["has_gauss"],
            numpy_state["cached_gauss"],
        )
    )
    python_state = states["python"]
    random.setstate((python_state["version"], tuple(python_state["state"]), python_state["gauss"]))


class RngStateInCheckpoints(pl.Callback):
    """Saves the RNG states with each checkpoint and restores them when training resumes."""

    def state_dict(self) -> dict[str, Any]:
        return collect_rng_states()

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        restore_rng_states(state_dict)
