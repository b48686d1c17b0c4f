"""Where a trained key–value retrieval Transformer looks from the query.

``python -m dlbasics.studies.kv_attention <checkpoint>`` rebuilds the run of a
``data=kv_retrieval`` checkpoint (its own config and vocabulary), runs its test split and
prints, for every encoder block, the mean attention weight (over heads and test samples)
that the query position (the last token) puts on the queried key, on the value stored
after it, and on any one position if it spread its weight evenly. A net that has learned
the lookup puts most of one block's weight on the queried value.
"""

import argparse
import sys
from pathlib import Path

import torch
from omegaconf import OmegaConf

from dlbasics.data.kv_retrieval import KeyValueRetrievalDataModule
from dlbasics.errors import DataError, DlbasicsError
from dlbasics.utils.cli import EXIT_USER_ERROR
from dlbasics.utils.instantiate import rebuild_run


def query_focus(checkpoint: Path) -> list[tuple[float, float, float]]:
    """Per block: mean weight of the query on the queried key, on its value, uniform."""
    cfg = OmegaConf.create({"ckpt_path": str(checkpoint), "paths": {"log_dir": None}})
    cfg.paths.output_dir = str(Path(checkpoint).parent.parent)  # nothing is written there
    datamodule, task, _ = rebuild_run(cfg, logger=False)
    if not isinstance(datamodule, KeyValueRetrievalDataModule):
        raise DataError(f"{checkpoint} was not trained on data=kv_retrieval")
    datamodule.save_vocab = None  # the run's own vocab.json is read, never rewritten
    datamodule.setup("test")
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)["state_dict"]
    task.load_state_dict(state)
    task.eval()
    sums: list[list[float]] = []
    count = 0
    for x, _ in datamodule.test_dataloader():
        with torch.no_grad():
            task(x)
        ids, steps = x.ids, x.ids.shape[1]
        # the pairs fill positions 0..steps-3; the query key is the last token
        key_at = (ids[:, 0 : steps - 2 : 2] == ids[:, -1:]).float().argmax(dim=1) * 2
        for block, weights in enumerate(task.net.attention_weights):
            row = weights.mean(dim=1)[:, -1, :]  # the query's weights, heads averaged
            parts = [row.gather(1, key_at[:, None]), row.gather(1, key_at[:, None] + 1)]
            totals = [float(p.sum()) for p in parts]
            if block == len(sums):
                sums.append([0.0, 0.0])
            sums[block] = [s + t for s, t in zip(sums[block], totals, strict=True)]
        count += len(ids)
    return [(key / count, value / count, 1 / steps) for key, value in sums]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dlbasics.studies.kv_attention")
    parser.add_argument("checkpoint", type=Path, help="<run dir>/checkpoints/<file>.ckpt")
    args = parser.parse_args(argv)
    try:
        focus = query_focus(args.checkpoint)
    except DlbasicsError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    for block, (key, value, uniform) in enumerate(focus):
        print(f"block {block}: queried key {key:.3f}, its value {value:.3f}, uniform {uniform:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
