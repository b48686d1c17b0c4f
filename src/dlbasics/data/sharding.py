"""Evaluation under DDP without duplicated samples.

Lightning shards val/test sets with torch's ``DistributedSampler``, which pads
the set to a multiple of the number of processes by repeating its first
samples; metrics then count those samples twice. Here every sample goes to
exactly one process (Lightning's ``UnrepeatedDistributedSampler``, which it
uses only for prediction). Processes must still run the same number of
batches, because DDP's forward syncs module buffers (BatchNorm statistics)
across processes and a process with one batch more would wait forever; so the
batch size is nudged until the shard sizes give equal batch counts.
"""

import math
from typing import Any

from torch.utils.data import Dataset, Sampler

from dlbasics.compat import UnrepeatedDistributedSampler
from dlbasics.errors import DataError


def even_batch_size(total: int, world_size: int, batch_size: int) -> int:
    """The smallest size ≥ ``batch_size`` that gives every shard the same number of batches.

    Shards hold ``total // world_size`` or one more sample; their batch counts differ
    only when the smaller shard size is a multiple of the batch size.
    """
    smallest, largest = total // world_size, math.ceil(total / world_size)
    if smallest == 0:
        raise DataError(
            f"an evaluation set of {total} samples cannot be split across {world_size} "
            f"processes without repeating samples; use more samples or fewer devices"
        )
    size = batch_size
    while largest != smallest and smallest % size == 0:
        size += 1
    return size


def process_shard(trainer: Any) -> tuple[int, int]:
    """``(number of processes, this process's rank)`` under the trainer's strategy; (1, 0)
    in one process or outside a Trainer."""
    kwargs = getattr(trainer, "distributed_sampler_kwargs", None) if trainer else None
    return (kwargs or {}).get("num_replicas", 1), (kwargs or {}).get("rank", 0)


def eval_sampler(dataset: Dataset, batch_size: int, trainer: Any) -> tuple[Sampler | None, int]:
    """The sampler and batch size for an evaluation loader: ``(None, batch_size)`` in one
    process, an unpadded shard and an evened batch size under a multi-process strategy."""
    world_size, rank = process_shard(trainer)
    if world_size <= 1:
        return None, batch_size
    sampler = UnrepeatedDistributedSampler(
        dataset, num_replicas=world_size, rank=rank, shuffle=False
    )
    return sampler, even_batch_size(len(dataset), world_size, batch_size)
