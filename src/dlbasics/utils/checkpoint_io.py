"""Checkpoint files written whole or not at all.

Lightning's ``TorchCheckpointIO`` serialises into memory and lets fsspec write a temporary
file in the *system* temp dir (``tempfile.mkstemp()``), then ``shutil.move`` it over the
target. When the temp dir and the run dir are on different filesystems (a tmpfs ``/tmp``
and a network home, the usual cluster layout) that move is a copy into the open target:
a crash or a full disk half-way leaves a truncated ``last.ckpt`` where a good one was.
Here the temporary file sits next to the target (``<name>.tmp``, same filesystem), is
flushed to disk, and ``os.replace`` swaps it in one step; a failed write removes it.
"""

import os
from pathlib import Path
from typing import Any

import torch
from lightning_fabric.plugins.io.torch_io import TorchCheckpointIO

TEMP_SUFFIX = ".tmp"


def temporary_path(path: str | Path) -> Path:
    """Where a checkpoint is written before it replaces ``path``."""
    path = Path(path)
    return path.with_name(path.name + TEMP_SUFFIX)


class AtomicCheckpointIO(TorchCheckpointIO):
    """``torch.save`` into ``<path>.tmp`` in the same folder, fsync, ``os.replace``: a reader
    sees the old file or the new one, never a part of either. Loading is Lightning's own."""

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: str | Path, storage_options: Any | None = None
    ) -> None:
        if storage_options is not None:
            raise TypeError(f"{type(self).__name__} takes no storage_options")
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = temporary_path(path)
        try:
            with temporary.open("wb") as handle:
                torch.save(checkpoint, handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, path)
        except BaseException:  # a full disk, a signal: the old file stays as it was
            temporary.unlink(missing_ok=True)
            raise
