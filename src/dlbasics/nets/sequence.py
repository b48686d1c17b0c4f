"""Token ids → embedding → recurrent encoder → one summary per sequence → class logits.

``encoder: none`` skips the recurrence: the mean of the token embeddings (a bag of
words, blind to word order) is the baseline a recurrent encoder has to beat.

The input is ``(ids (B, T), lengths (B,), mask (B, T))``: a padded batch with each
sequence's length and its valid positions (the sequence data sets' batch); an id outside
``0..vocab_size-1`` stops the forward pass with a DataError that names it. The summary:

- ``last``: the final state of the last layer, both directions side by side when
  bidirectional (the forward state after the last real token, the backward state after
  the first one);
- ``mean``: the mean of the encoder's outputs over each sequence's valid steps;
- ``last_output``: the encoder's output at the last real step. Unidirectional only: in a
  bidirectional encoder that step's backward half has read a single token;
- ``attention``: attention pooling over the outputs (NNDL 8.2, the book's ``Attention``
  layer): a learned query scores every valid step (``attention_scoring``: ``additive``
  ``vᵀ tanh(XW + qU)`` or ``dot``), the summary is the softmax-weighted sum.

``self_attention_heads > 0`` puts multi-head self-attention over the encoder's outputs
before the summary (NNDL 8.3's BiLSTM + self-attention); its width is the encoder's
output width, which the heads must divide.
"""

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from dlbasics.errors import ConfigError, DataError
from dlbasics.nets.attention import SCORINGS, AttentionPooling, MultiHeadSelfAttention
from dlbasics.nets.recurrent import GATES, RecurrentEncoder
from dlbasics.utils.checks import require_choice, require_integer, require_positive_integer

SUMMARIES = ("last", "mean", "last_output", "attention")


def check_token_ids(ids: Tensor, vocab_size: int) -> None:
    """Every id must index a row of the embedding: torch reports one that does not as a bare
    IndexError on the CPU and as a device-side assert on a GPU, naming neither the id nor
    the vocabulary. One min/max reduction and one read of its two numbers per batch."""
    if not ids.numel():
        return
    low, high = torch.stack(torch.aminmax(ids)).tolist()
    if low < 0 or high >= vocab_size:
        raise DataError(
            f"token id {low if low < 0 else high} is outside the embedding's ids "
            f"0..{vocab_size - 1} (model.net.vocab_size={vocab_size}): the ids come from "
            f"another vocabulary than the net was built for. Leave model.net.vocab_size at "
            f"${{data_info.vocab_size}}, and predict with the vocab.json of the run that "
            f"trained the checkpoint"
        )


def last_valid(outputs: Tensor, lengths: Tensor) -> Tensor:
    """``outputs (B, T, D)`` at each sequence's last real step ``lengths - 1``."""
    index = (lengths - 1).clamp_min(0).view(-1, 1, 1).expand(-1, 1, outputs.shape[-1])
    return outputs.gather(1, index).squeeze(1)


def masked_mean(outputs: Tensor, mask: Tensor) -> Tensor:
    """Mean of ``outputs (B, T, D)`` over the steps where ``mask (B, T)`` is true."""
    weights = mask.unsqueeze(-1).to(outputs.dtype)
    return (outputs * weights).sum(dim=1) / weights.sum(dim=1).clamp_min(1.0)


class SequenceClassifier(nn.Module):
    def __init__(
        self,
        vocab_size: int,
        num_classes: int,
        embedding_dim: int = 32,
        hidden_size: int = 32,
        encoder: str = "lstm",
        num_layers: int = 1,
        bidirectional: bool = False,
        summary: str = "last",
        dropout: float = 0.0,
        padding_idx: int | None = None,
        impl: str = "torch",
        attention_scoring: str = "additive",
        self_attention_heads: int = 0,
    ) -> None:
        super().__init__()
        require_positive_integer("model.net.vocab_size", vocab_size)
        require_positive_integer("model.net.embedding_dim", embedding_dim)
        self.summary = require_choice("model.net.summary", summary, SUMMARIES)
        require_choice("model.net.encoder", encoder, [*sorted(GATES), "none"])
        if summary == "last_output" and bidirectional:
            raise ConfigError(
                "model.net.summary=last_output with model.net.bidirectional=true would mix the "
                "forward state after the whole sequence with a backward state after one token. "
                "Use model.net.summary=last (each direction's final state) or mean."
            )
        if padding_idx is not None:  # torch would count a negative id from the end
            require_integer("model.net.padding_idx", padding_idx, minimum=0)
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=padding_idx)
        self.encoder: RecurrentEncoder | None = None
        if encoder == "none":
            if summary not in ("mean", "attention") or bidirectional or num_layers != 1:
                raise ConfigError(
                    "model.net.encoder=none pools the token embeddings themselves: it needs "
                    "model.net.summary=mean or attention, bidirectional=false and num_layers=1"
                )
            width = embedding_dim
        else:
            self.encoder = RecurrentEncoder(
                encoder, embedding_dim, hidden_size, num_layers, bidirectional, dropout, impl
            )
            width = self.encoder.output_size
        require_integer("model.net.self_attention_heads", self_attention_heads, minimum=0)
        self.self_attention = (
            MultiHeadSelfAttention(width, self_attention_heads) if self_attention_heads else None
        )
        scoring = require_choice("model.net.attention_scoring", attention_scoring, SCORINGS)
        self.pooling = AttentionPooling(width, scoring) if summary == "attention" else None
        self.head = nn.Linear(width, num_classes)

    @property
    def attention_weights(self) -> list[Tensor]:
        """The last forward pass's attention weights, for inspection: the pooling's ``(B, T)``
        and the self-attention's ``(B, heads, T, T)``, those the net has."""
        parts = (self.self_attention, self.pooling)
        return [p.last_weights for p in parts if p is not None and p.last_weights is not None]

    def forward(self, x: Sequence[Tensor]) -> Tensor:
        ids, lengths, mask = x[:3]  # a 4th field (segment ids) is for Transformers
        check_token_ids(ids, self.embedding.num_embeddings)
        if self.encoder is None:  # bag of words
            outputs, final = self.embedding(ids), None
        else:
            outputs, final = self.encoder(self.embedding(ids), lengths)
        if self.self_attention is not None:
            outputs, _ = self.self_attention(outputs, mask)
        if self.summary == "last":
            summary = final
        elif self.summary == "mean":
            summary = masked_mean(outputs, mask)
        elif self.summary == "attention":
            summary, _ = self.pooling(outputs, mask)
        else:
            summary = last_valid(outputs, lengths)
        return self.head(summary)
