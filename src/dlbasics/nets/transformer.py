"""The Transformer encoder and a classifier on top of it (NNDL 8.3).

- positions: the sinusoidal table ``P[pos, j] = sin(pos / 10000^(2⌊j/2⌋/d))`` on even ``j``
  and ``cos(…)`` on odd ``j`` (:class:`SinusoidalPositions`);
- embeddings: ``E = LayerNorm(token(ids) + segment(segments) + P[:T])``, then dropout
  (:class:`TransformerEmbedding`);
- one encoder block (:class:`TransformerEncoderBlock`), post-norm:
  ``Z = LN₁(X + MHSA(X))``, ``Y = LN₂(Z + FFN(Z))`` with ``FFN(z) = W₂ act(W₁ z + b₁) + b₂``;
  pre-norm (``norm_first``): ``Z = X + MHSA(LN₁(X))``, ``Y = Z + FFN(LN₂(Z))``;
- the classifier (:class:`TransformerClassifier`): embeddings, ``num_layers`` blocks, one
  summary per sequence (the ``[CLS]`` token's output or the masked mean), a linear layer.
"""

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from dlbasics.errors import ConfigError
from dlbasics.nets.attention import MultiHeadSelfAttention
from dlbasics.nets.mlp import make_activation
from dlbasics.nets.sequence import check_token_ids, last_valid, masked_mean
from dlbasics.utils.checks import (
    require_choice,
    require_dropout,
    require_flag,
    require_integer,
    require_positive_integer,
)

POOLINGS = ("cls", "mean", "last")
FFN_ACTIVATIONS = ("relu", "gelu")


def sinusoidal_table(max_len: int, size: int) -> Tensor:
    """``(max_len, size)``: ``P[pos, j] = sin(pos / 10000^(2⌊j/2⌋/size))`` for even ``j``,
    ``cos`` of the same angle for odd ``j``. Each pair of dimensions turns at its own
    frequency, so ``P[pos + k]`` is a fixed rotation of ``P[pos]`` for every ``pos``."""
    positions = torch.arange(max_len, dtype=torch.float64).unsqueeze(1)
    pair = torch.div(torch.arange(size), 2, rounding_mode="floor")
    angles = positions / torch.pow(10000.0, 2 * pair.to(torch.float64) / size)
    even = torch.arange(size) % 2 == 0
    return torch.where(even, torch.sin(angles), torch.cos(angles)).to(torch.float32)


class SinusoidalPositions(nn.Module):
    """The fixed table of :func:`sinusoidal_table` (a buffer: saved, moved, never trained).
    ``forward(steps)`` → its first ``steps`` rows ``(steps, size)``."""

    def __init__(self, max_len: int, size: int) -> None:
        super().__init__()
        self.max_len = require_positive_integer("model.net.max_len", max_len)
        self.register_buffer("table", sinusoidal_table(max_len, size), persistent=False)

    def forward(self, steps: int) -> Tensor:
        if steps > self.max_len:
            raise ConfigError(
                f"a batch has sequences of {steps} tokens, longer than the position table "
                f"(model.net.max_len={self.max_len}). Set model.net.max_len to at least "
                f"{steps}, or cut the sequences shorter (the data's max_len)."
            )
        return self.table[:steps]


class TransformerEmbedding(nn.Module):
    """``E = LayerNorm(token(ids) + segment(segments) + P[:T])``, then dropout.

    ``segments (B, T)`` (0 for the first sentence of a pair ``[CLS] a [SEP] b [SEP]``, 1 for
    the second) needs ``num_segments >= 1``; without segment ids every token is in segment
    0. The LayerNorm (as BERT's) puts the sum on the scale the first block expects, whatever
    the sizes of the three parts."""

    def __init__(
        self,
        vocab_size: int,
        hidden_size: int,
        max_len: int,
        num_segments: int = 0,
        dropout: float = 0.0,
        padding_idx: int | None = None,
    ) -> None:
        super().__init__()
        require_positive_integer("model.net.vocab_size", vocab_size)
        require_positive_integer("model.net.hidden_size", hidden_size)
        require_integer("model.net.num_segments", num_segments, 0)
        if padding_idx is not None:
            require_integer("model.net.padding_idx", padding_idx, 0)
            if padding_idx >= vocab_size:
                raise ConfigError(
                    f"model.net.padding_idx={padding_idx} is not an id of the vocabulary "
                    f"(model.net.vocab_size={vocab_size}); use the pad token's id"
                )
        self.tokens = nn.Embedding(vocab_size, hidden_size, padding_idx=padding_idx)
        self.segments = nn.Embedding(num_segments, hidden_size) if num_segments else None
        self.positions = SinusoidalPositions(max_len, hidden_size)
        self.norm = nn.LayerNorm(hidden_size)
        self.dropout = nn.Dropout(require_dropout("model.net.dropout", dropout))

    def forward(self, ids: Tensor, segments: Tensor | None = None) -> Tensor:
        embedded = self.tokens(ids) + self.positions(ids.shape[1])
        if segments is not None:
            if self.segments is None:
                raise ConfigError(
                    "the batch carries segment ids (sentence pairs) but "
                    "model.net.num_segments=0; set model.net.num_segments=2"
                )
            embedded = embedded + self.segments(segments)
        elif self.segments is not None:
            embedded = embedded + self.segments.weight[0]  # all in segment 0
        return self.dropout(self.norm(embedded))


class TransformerEncoderBlock(nn.Module):
    """Multi-head self-attention and a position-wise feed-forward network, each wrapped in
    a residual connection and a LayerNorm ("add & norm"):

    - post-norm (``norm_first=False``, the original Transformer's):
      ``Z = LN₁(X + drop(MHSA(X)))``, ``Y = LN₂(Z + drop(FFN(Z)))``;
    - pre-norm (``norm_first=True``): ``Z = X + drop(MHSA(LN₁(X)))``,
      ``Y = Z + drop(FFN(LN₂(Z)))``; the residual path stays un-normalised, which trains
      deep stacks without a warm-up, and needs a final LayerNorm after the last block;

    with ``FFN(z) = W₂ drop(act(W₁ z + b₁)) + b₂`` (``act``: relu or gelu) on each position.

    Each sub-layer has its own LayerNorm. The book's block applies one LayerNorm object
    after both sub-layers, so they share its scale and shift, a bug: the attention's and
    the feed-forward's residual sums have different statistics, and torch's
    ``nn.TransformerEncoderLayer`` has ``norm1`` and ``norm2`` too.

    ``forward(x (B, T, hidden_size), mask (B, T) True on valid tokens)`` →
    ``(B, T, hidden_size)``. The attention weights ``(B, heads, T, T)`` of the last call are
    in ``last_weights`` (``None`` with ``need_weights=False``, which runs torch's fused
    attention instead)."""

    def __init__(
        self,
        hidden_size: int,
        heads: int,
        ffn_size: int,
        dropout: float = 0.0,
        norm_first: bool = False,
        activation: str = "relu",
        need_weights: bool = True,
    ) -> None:
        super().__init__()
        require_positive_integer("model.net.ffn_size", ffn_size)
        require_choice("model.net.activation", activation, FFN_ACTIVATIONS)
        self.norm_first = require_flag("model.net.norm_first", norm_first)
        self.need_weights = require_flag("model.net.need_weights", need_weights)
        self.attention = MultiHeadSelfAttention(hidden_size, heads, dropout)
        self.ffn = nn.Sequential(
            nn.Linear(hidden_size, ffn_size),
            make_activation(activation),
            nn.Dropout(dropout),
            nn.Linear(ffn_size, hidden_size),
        )
        self.attention_norm = nn.LayerNorm(hidden_size)
        self.ffn_norm = nn.LayerNorm(hidden_size)
        self.attention_dropout = nn.Dropout(dropout)
        self.ffn_dropout = nn.Dropout(dropout)

    @property
    def last_weights(self) -> Tensor | None:
        return self.attention.last_weights

    def _attend(self, x: Tensor, mask: Tensor | None) -> Tensor:
        out, _ = self.attention(x, mask, need_weights=self.need_weights)
        return self.attention_dropout(out)

    def _feed_forward(self, x: Tensor) -> Tensor:
        return self.ffn_dropout(self.ffn(x))

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        if self.norm_first:
            x = x + self._attend(self.attention_norm(x), mask)
            return x + self._feed_forward(self.ffn_norm(x))
        x = self.attention_norm(x + self._attend(x, mask))
        return self.ffn_norm(x + self._feed_forward(x))


class TransformerClassifier(nn.Module):
    """Token ids → :class:`TransformerEmbedding` → ``num_layers`` ×
    :class:`TransformerEncoderBlock` → one summary per sequence → class logits.

    The input is the sequence sets' batch ``(ids (B, T), lengths (B,), mask (B, T))``, or
    a sentence-pair batch with segment ids ``(B, T)`` as a fourth field. ``pooling``:
    ``cls`` takes the output at position 0 (the ``[CLS]`` token the data puts first),
    ``mean`` the mean of the outputs over the valid tokens, ``last`` the output at the last
    valid token (where a task puts its query). Pre-norm stacks
    (``norm_first``) end in a LayerNorm, as their blocks leave the residual sum
    un-normalised.

    ``forward(x)`` → logits ``(B, num_classes)``; ``attention_weights`` holds the last
    call's weights of each block, ``(B, heads, T, T)`` each."""

    def __init__(
        self,
        vocab_size: int,
        num_classes: int,
        hidden_size: int = 128,
        heads: int = 4,
        num_layers: int = 1,
        ffn_size: int = 256,
        dropout: float = 0.1,
        max_len: int = 512,
        pooling: str = "cls",
        num_segments: int = 0,
        padding_idx: int | None = None,
        norm_first: bool = False,
        activation: str = "relu",
        need_weights: bool = True,
    ) -> None:
        super().__init__()
        require_positive_integer("model.net.num_classes", num_classes)
        require_positive_integer("model.net.num_layers", num_layers)
        self.pooling = require_choice("model.net.pooling", pooling, POOLINGS)
        self.embedding = TransformerEmbedding(
            vocab_size, hidden_size, max_len, num_segments, dropout, padding_idx
        )
        self.blocks = nn.ModuleList(
            TransformerEncoderBlock(
                hidden_size, heads, ffn_size, dropout, norm_first, activation, need_weights
            )
            for _ in range(num_layers)
        )
        self.final_norm = nn.LayerNorm(hidden_size) if norm_first else nn.Identity()
        self.head = nn.Linear(hidden_size, num_classes)

    @property
    def attention_weights(self) -> list[Tensor | None]:
        return [block.last_weights for block in self.blocks]

    def encode(self, x: Sequence[Tensor]) -> Tensor:
        """The last block's outputs ``(B, T, hidden_size)`` for a batch as in ``forward``."""
        ids, _, mask = x[:3]
        check_token_ids(ids, self.embedding.tokens.num_embeddings)
        hidden = self.embedding(ids, x[3] if len(x) > 3 else None)
        for block in self.blocks:
            hidden = block(hidden, mask)
        return self.final_norm(hidden)

    def forward(self, x: Sequence[Tensor]) -> Tensor:
        hidden = self.encode(x)
        if self.pooling == "cls":
            summary = hidden[:, 0]
        elif self.pooling == "mean":
            summary = masked_mean(hidden, x[2])
        else:  # the output at the last real token (a query placed at the end)
            summary = last_valid(hidden, x[1])
        return self.head(summary)
