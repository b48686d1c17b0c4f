"""Costs Lightning adds to every training step that a run without a profiler, or on a
machine without a GPU, does not need to pay.

1. Lightning wraps every hook it calls (the module's, the strategy's, and six per step
   for each callback) in ``trainer.profiler.profile(name)``. With no profiler asked for,
   that is a PassThroughProfiler whose ``profile`` is a generator-based context manager:
   1.0 µs per hook measured here, on steps of a millisecond or two. :class:`NoProfiler`
   hands out one shared do-nothing context.
   A Trainer carrying it also skips the callback hooks no callback implements
   (``compat.skip_unimplemented_callback_hooks``): with the seven default callbacks, four
   of the six hooks of a step, 12.6 µs each through Lightning's dispatch, 1.5 µs skipped.
2. Importing Lightning sets ``PYTORCH_NVML_BASED_CUDA_CHECK=1`` (so that asking whether
   CUDA is available does not initialise it before a fork). On a machine with a CUDA build
   of torch but no GPU, every ``torch.cuda.is_available()`` then loads the NVML library
   again and fails (46 µs here instead of 0.6 µs), and Adam, AdamW and the other
   optimisers with CUDA-graph support ask it on every step. Where torch sees no CUDA
   device at all there is nothing a fork could break, so :func:`cheap_cuda_probe` puts
   the check back to torch's default.
"""

import os
from contextlib import nullcontext
from typing import Any

import torch
from pytorch_lightning.profilers import PassThroughProfiler

from dlbasics.compat import skip_unimplemented_callback_hooks

NVML_CHECK = "PYTORCH_NVML_BASED_CUDA_CHECK"
_NO_CONTEXT = nullcontext()


class NoProfiler(PassThroughProfiler):
    """The Trainer's profiler when ``trainer.profiler`` is null: records nothing, and its
    ``profile`` costs one method call."""

    def profile(self, action_name: str) -> Any:  # Lightning's signature, a context manager
        return _NO_CONTEXT


def uses_no_profiler(trainer: Any) -> bool:
    return isinstance(getattr(trainer, "profiler", None), NoProfiler)


def no_profiler() -> NoProfiler:
    """A NoProfiler for a new Trainer, whose unimplemented callback hooks are then skipped."""
    skip_unimplemented_callback_hooks(uses_no_profiler)
    return NoProfiler()


def cheap_cuda_probe() -> bool:
    """Undo Lightning's NVML-based CUDA check where torch sees no CUDA device; True if it
    did. Where a device is visible the check stays as Lightning set it."""
    if os.environ.get(NVML_CHECK) != "1" or torch.cuda.device_count() > 0:
        return False
    os.environ[NVML_CHECK] = "0"
    return True
