"""Forward+backward time of dlbasics' Transformer encoder block against torch's
``nn.TransformerEncoderLayer`` of the same sizes, in one process.

Three ways run one training step each (forward, a scalar loss, backward; no optimiser) on
the same padded batch (batch 32, length 64, hidden 128, 4 heads, feed-forward 256,
dropout 0.1 by default; lengths drawn between half and the whole length, with a key
padding mask):

- ``ours weights``: :class:`~dlbasics.nets.transformer.TransformerEncoderBlock` computing
  the attention weights explicitly (what inspection needs, the default);
- ``ours fused``: the same block with ``need_weights=False``, torch's fused
  ``scaled_dot_product_attention`` instead;
- ``torch``: ``nn.TransformerEncoderLayer`` (in training mode it takes no fast path).

After ``--warmup`` untimed steps each, the ways take turns ``--repeats`` times, ``--steps``
steps a turn, so load from other processes hits all of them alike; each reports the median
turn in ms per step, and the ratios are of those medians. Run:
``python benchmarks/attention_encoder.py``.
"""

import argparse
import statistics
import time
from collections.abc import Callable

import torch
from torch import Tensor, nn

from dlbasics.nets.transformer import TransformerEncoderBlock
from dlbasics.utils.measurements import report_measurements

Step = Callable[[], None]


def padded_batch(args: argparse.Namespace) -> tuple[Tensor, Tensor]:
    """``x (B, T, hidden)`` and its mask, True on the valid tokens."""
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(args.batch_size, args.length, args.hidden, generator=generator)
    low = max(1, args.length // 2)
    lengths = torch.randint(low, args.length + 1, (args.batch_size,), generator=generator)
    return x, torch.arange(args.length).unsqueeze(0) < lengths.unsqueeze(1)


def training_step(module: nn.Module, forward: Callable[[], Tensor]) -> Step:
    def step() -> None:
        module.zero_grad(set_to_none=True)
        forward().square().mean().backward()

    return step


def ways(args: argparse.Namespace) -> dict[str, Step]:
    x, mask = padded_batch(args)
    sizes = (args.hidden, args.heads, args.ffn)
    torch.manual_seed(0)
    ours = TransformerEncoderBlock(*sizes, args.dropout, args.norm_first, need_weights=True)
    fused = TransformerEncoderBlock(*sizes, args.dropout, args.norm_first, need_weights=False)
    theirs = nn.TransformerEncoderLayer(
        *sizes, dropout=args.dropout, batch_first=True, norm_first=args.norm_first
    )
    padding = ~mask  # torch's mask is True on the padding
    return {
        "ours weights": training_step(ours.train(), lambda: ours(x, mask)),
        "ours fused": training_step(fused.train(), lambda: fused(x, mask)),
        "torch": training_step(theirs.train(), lambda: theirs(x, src_key_padding_mask=padding)),
    }


def ms_per_step(step: Step, steps: int) -> float:
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - start) / steps * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10, help="turns of every way")
    parser.add_argument("--steps", type=int, default=20, help="timed steps per turn")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps per way first")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--length", type=int, default=64)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--ffn", type=int, default=256)
    parser.add_argument("--dropout", type=float, default=0.1)
    parser.add_argument("--norm-first", action="store_true", help="pre-norm blocks")
    parser.add_argument("--record", help="also write the numbers here (dlbasics-results)")
    args = parser.parse_args()
    if args.repeats < 1 or args.steps < 1 or args.warmup < 0:
        parser.error("--repeats and --steps must be at least 1, --warmup at least 0")
    steps = ways(args)
    for step in steps.values():
        for _ in range(args.warmup):
            step()
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(args.repeats):
        for name, step in steps.items():
            times[name].append(ms_per_step(step, args.steps))
    values = {f"{name} ms/step": statistics.median(t) for name, t in times.items()}
    for name in ("ours weights", "ours fused"):
        values[f"{name} vs torch"] = values[f"{name} ms/step"] / values["torch ms/step"]
    values["threads"] = torch.get_num_threads()
    norm = "pre-norm" if args.norm_first else "post-norm"
    method = (
        f"forward+backward ms per step of one {norm} encoder block (batch "
        f"{args.batch_size}, length {args.length}, hidden {args.hidden}, {args.heads} "
        f"heads, ffn {args.ffn}, dropout {args.dropout}), median of {args.repeats} turns "
        f"of {args.steps} steps, ways in turn in one process; ratios are of ms per step"
    )
    report_measurements(values, args.record, method)


if __name__ == "__main__":
    main()
