"""Training batches that a checkpoint can stop and restart anywhere, bit for bit.

A resumed run draws exactly the batches the uninterrupted run would have drawn:

- the order of an epoch is a function of ``(shuffle_seed, epoch)`` alone, not of the
  global RNG (which dropout and initialisation also draw from), so it does not depend
  on what ran before the epoch started;
- the loader is *stateful* in Lightning's sense (``state_dict`` / ``load_state_dict``):
  Lightning stores its state in every checkpoint (``loops.fit_loop.state_dict.
  combined_loader``) and hands it back on a mid-epoch restart, so the restarted epoch
  starts after the batches that were already trained on;
- the loader has its own generator, so creating its iterator draws nothing from the
  global RNG (torch's DataLoader draws a worker base seed from it otherwise).

The sampler is a ``DistributedSampler`` so that under DDP Lightning keeps it instead of
wrapping it: every process draws the same permutation and takes its own shard.
"""

import math
from collections.abc import Iterator
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler


class EpochShuffleSampler(DistributedSampler):
    """One process's shard of ``repeats`` fresh permutations of the data set per epoch.

    The permutations are drawn from a generator seeded with ``seed + epoch`` (as torch's
    ``DistributedSampler`` does), so epoch ``e`` has the same order in every run with the
    same seed. ``start_after(k)`` makes the next iteration skip its first ``k`` indices:
    the samples a restarted epoch has already trained on.
    """

    def __init__(
        self, dataset: Dataset, seed: int, num_replicas: int = 1, rank: int = 0, repeats: int = 1
    ) -> None:
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=True, seed=seed)
        self.repeats = repeats
        # every process gets the same number of indices (the shard of the padded epoch)
        self.num_samples = math.ceil(len(dataset) * repeats / num_replicas)
        self.total_size = self.num_samples * num_replicas
        self._skip = 0

    def start_after(self, consumed: int) -> None:
        self._skip = consumed

    def epoch_order(self) -> torch.Tensor:
        """Every process's indices of this epoch, before sharding."""
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        size = len(self.dataset)
        order = torch.cat([torch.randperm(size, generator=generator) for _ in range(self.repeats)])
        padding = self.total_size - len(order)  # the first samples again, as DistributedSampler
        return torch.cat([order, order[:padding]]) if padding else order

    def __iter__(self) -> Iterator[int]:
        shard = self.epoch_order()[self.rank : self.total_size : self.num_replicas]
        skip, self._skip = self._skip, 0
        return iter(shard[skip:].tolist())

    def __len__(self) -> int:
        return self.num_samples


class ResumableLoader(DataLoader):
    """A training DataLoader over an ``EpochShuffleSampler`` that remembers how many
    batches of the current epoch it has handed out, for Lightning's checkpoints."""

    sampler: EpochShuffleSampler

    def __init__(self, dataset: Dataset, **kwargs: Any) -> None:
        super().__init__(dataset, **kwargs)
        self._batches_served = 0
        self._resumed_batches = 0

    def __iter__(self) -> Iterator[Any]:
        # an iteration is a fresh epoch unless a checkpoint's state was just loaded
        self._batches_served, self._resumed_batches = self._resumed_batches, 0
        for batch in super().__iter__():
            self._batches_served += 1
            yield batch

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.sampler.epoch, "batches": self._batches_served}

    def load_state_dict(self, state: dict[str, int]) -> None:
        """Continue epoch ``state["epoch"]`` after its first ``state["batches"]`` batches."""
        self.sampler.set_epoch(state["epoch"])
        self._resumed_batches = state["batches"]
        self.sampler.start_after(state["batches"] * self.batch_size)
