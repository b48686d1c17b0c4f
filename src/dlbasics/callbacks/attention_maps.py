"""Where a net attends: the attention weights of a few validation sequences over their tokens.

Logged as ``attention/val`` (TensorBoard image + ``figures/attention_val.png``), one panel
per sequence, from the net's ``attention_weights`` after a forward pass of those
sequences (the last entry: the pooling of ``SequenceClassifier(summary=attention)``, else
the last self-attention block):

- pooling weights ``(B, T)``: one row of cells under the sequence's tokens;
- self-attention weights ``(B, heads, T, T)``: the mean over heads, queries as rows and
  keys as columns.

Only the valid tokens are drawn. The tokens are spelled with the data set's vocabulary
when it has one (text sets), else as their ids (digit_sum).
"""

from typing import Any

import pytorch_lightning as pl
import torch
from matplotlib.figure import Figure
from torch import Tensor

from dlbasics.callbacks.figure_data import FirstValidationBatch
from dlbasics.data.sequences import SequenceBatch, batch_rows
from dlbasics.utils.checks import require_positive_integer
from dlbasics.utils.figures import log_figure, plt

TAG = "attention/val"


def spell(ids: list[int], trainer: pl.Trainer) -> list[str]:
    vocabulary = getattr(trainer.datamodule, "vocabulary", None)
    tokens = getattr(vocabulary, "tokens", None)
    return [tokens[i] if tokens is not None and i < len(tokens) else str(i) for i in ids]


def attention_figure(sequences: list[list[str]], weights: Tensor) -> Figure:
    """One panel per sequence: ``weights (n, T)`` as a row, ``(n, T, T)`` as a map."""
    square = weights.ndim == 3
    figure, axes = plt.subplots(
        len(sequences),
        1,
        figsize=(
            max(4.0, 0.45 * max(map(len, sequences)) + 1.5),
            (3.2 if square else 1.1) * len(sequences),
        ),
        squeeze=False,
    )
    for axis, tokens, sample in zip(axes[:, 0], sequences, weights, strict=True):
        count = len(tokens)
        shown = sample[:count, :count] if square else sample[None, :count]
        image = axis.imshow(shown.numpy(), cmap="viridis", vmin=0.0, aspect="auto")
        axis.set_xticks(range(count), tokens, rotation=90, fontsize=7)
        axis.set_yticks(range(count) if square else [], tokens if square else [], fontsize=7)
        figure.colorbar(image, ax=axis, fraction=0.03, pad=0.01)
    figure.tight_layout()
    return figure


class AttentionMaps(FirstValidationBatch):
    """Logs ``attention/val`` for the first ``num_sequences`` sequences of the first
    validation batch every ``every_n_epochs``; skipped with one note for a net that
    exposes no attention weights."""

    def __init__(self, num_sequences: int = 4, every_n_epochs: int = 1) -> None:
        super().__init__("callbacks.attention_maps", every_n_epochs)
        self.num_sequences = require_positive_integer(
            "callbacks.attention_maps.num_sequences", num_sequences
        )

    def on_validation_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        if not self.is_due(trainer, batch_idx, dataloader_idx):
            return
        inputs = batch[0]
        if not isinstance(inputs, SequenceBatch) or not hasattr(pl_module.net, "attention_weights"):
            self.skip("attention_maps: the net exposes no attention weights; no attention figure")
            return
        few = batch_rows(inputs, slice(self.num_sequences))
        with torch.no_grad():  # a second forward of a few sequences, for their weights alone
            pl_module(few)
        found = [w for w in pl_module.net.attention_weights if w is not None]
        if not found:
            self.skip("attention_maps: the net kept no attention weights (need_weights=false?)")
            return
        weights = found[-1].float().cpu()
        weights = weights.mean(dim=1) if weights.ndim == 4 else weights  # heads averaged
        sequences = [
            spell(ids[:length].tolist(), trainer)
            for ids, length in zip(few.ids.cpu(), few.lengths.cpu().tolist(), strict=True)
        ]
        log_figure(trainer, TAG, attention_figure(sequences, weights), step=trainer.global_step)
