"""Attention from its formulas: score functions, a masked softmax, attention pooling and
multi-head self-attention (NNDL 8).

With a query ``q``, keys ``x₁ … x_T`` (rows of ``X``) and values, attention is

    s_t = score(x_t, q),   α = masked_softmax(s, mask),   output = Σ_t α_t · value_t

and the scores are

- additive:            ``s = vᵀ tanh(X W + q U)`` (:class:`AdditiveScore`);
- dot-product:         ``s = X q`` (:func:`dot_product_scores`);
- scaled dot-product:  ``s = X q / √d``, ``d`` the key size (:func:`scaled_dot_product_scores`).

Masks are True on the positions that take part (the valid tokens of a padded batch), as
the sequence sets' ``mask``. torch's own modules take the opposite convention
(``key_padding_mask`` True on the padding).
"""

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dlbasics.errors import ConfigError
from dlbasics.utils.checks import require_choice, require_dropout, require_positive_integer

SCORINGS = ("additive", "dot", "scaled_dot")


def require_heads(hidden_size: int, heads: int) -> int:
    """``heads`` that divide ``hidden_size``; returns the head size ``hidden_size / heads``."""
    require_positive_integer("model.net.hidden_size", hidden_size)
    require_positive_integer("model.net.heads", heads)
    if hidden_size % heads:
        divisors = [h for h in range(1, hidden_size + 1) if hidden_size % h == 0]
        raise ConfigError(
            f"model.net.heads={heads} does not divide model.net.hidden_size={hidden_size}: "
            f"each head attends in hidden_size / heads dimensions. Set model.net.heads to one "
            f"of {', '.join(map(str, divisors))}, or model.net.hidden_size to a multiple of "
            f"{heads}."
        )
    return hidden_size // heads


def dot_product_scores(query: Tensor, keys: Tensor) -> Tensor:
    """``s = q Kᵀ``: queries ``(…, Tq, d)`` against keys ``(…, T, d)`` → ``(…, Tq, T)``."""
    return query @ keys.transpose(-2, -1)


def scaled_dot_product_scores(query: Tensor, keys: Tensor) -> Tensor:
    """``s = q Kᵀ / √d``: the dot product kept at unit variance for unit-variance inputs, so
    the softmax does not saturate as the key size ``d`` grows."""
    return dot_product_scores(query, keys) / math.sqrt(keys.shape[-1])


class AdditiveScore(nn.Module):
    """``s = vᵀ tanh(X W + q U)``: queries ``(B, Tq, query_size)`` against keys
    ``(B, T, key_size)`` → ``(B, Tq, T)``. ``W``, ``U`` and ``v`` have no bias, as in the book
    (a bias of ``X W`` and one of ``q U`` would add up to one)."""

    def __init__(self, key_size: int, query_size: int, hidden_size: int) -> None:
        super().__init__()
        self.W = nn.Linear(key_size, hidden_size, bias=False)
        self.U = nn.Linear(query_size, hidden_size, bias=False)
        self.v = nn.Linear(hidden_size, 1, bias=False)

    def forward(self, query: Tensor, keys: Tensor) -> Tensor:
        # (B, 1, T, H) + (B, Tq, 1, H): every query meets every key
        hidden = torch.tanh(self.W(keys).unsqueeze(1) + self.U(query).unsqueeze(2))
        return self.v(hidden).squeeze(-1)


class DotProductScore(nn.Module):
    """:func:`dot_product_scores` or, with ``scaled``, :func:`scaled_dot_product_scores` as a
    module without parameters, called like :class:`AdditiveScore`."""

    def __init__(self, scaled: bool = False) -> None:
        super().__init__()
        self.scaled = scaled

    def forward(self, query: Tensor, keys: Tensor) -> Tensor:
        return (scaled_dot_product_scores if self.scaled else dot_product_scores)(query, keys)


def masked_softmax(scores: Tensor, mask: Tensor | None, dim: int = -1) -> Tensor:
    """``softmax(scores)`` over ``dim`` with the positions where ``mask`` (broadcast to the
    scores) is False given weight exactly 0: ``α_t = m_t exp(s_t) / Σ_u m_u exp(s_u)``.

    A row without any valid position gets all zeros, not NaN."""
    if mask is None:
        return torch.softmax(scores, dim=dim)
    # The dtype's lowest number, not -inf: a row that is masked throughout becomes a uniform
    # softmax instead of 0/0 = NaN (whose gradient would poison the batch), and the `where`
    # below then zeroes it. In a row with a valid position exp(lowest - max) is exactly 0.
    filled = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
    return torch.where(mask, torch.softmax(filled, dim=dim), 0.0)


def qkv_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    mask: Tensor | None = None,
    dropout: float = 0.0,
    training: bool = False,
) -> tuple[Tensor, Tensor]:
    """``softmax(Q Kᵀ / √d) V`` with ``Q (…, Tq, d)``, ``K (…, T, d)``, ``V (…, T, d_v)`` and
    ``mask`` broadcastable to ``(…, Tq, T)`` (True: the key takes part).

    Returns the outputs ``(…, Tq, d_v)`` and the attention weights ``(…, Tq, T)``. Dropout
    (while ``training``) falls on the weights that multiply ``V``; the weights returned are
    those before dropout, which sum to 1 over the valid keys."""
    weights = masked_softmax(scaled_dot_product_scores(query, key), mask)
    return F.dropout(weights, dropout, training) @ value, weights


class AttentionPooling(nn.Module):
    """One summary of an encoder's outputs ``X (B, T, D)``: a learned query vector ``q``
    scores every step, ``α = masked_softmax(score(X, q), mask)`` and the summary is
    ``Σ_t α_t x_t`` (the book's ``Attention`` layer).

    ``scoring``: ``additive`` (``vᵀ tanh(X W + q U)`` with ``attention_size`` columns in ``W``
    and ``U``, default ``D``), ``dot`` (``X q``, the book's) or ``scaled_dot`` (``X q / √D``).

    ``forward(outputs, mask)`` → ``(pooled (B, D), weights (B, T))``; the weights of the last
    call stay in ``last_weights`` (detached) for inspection."""

    def __init__(
        self, input_size: int, scoring: str = "additive", attention_size: int | None = None
    ) -> None:
        super().__init__()
        require_positive_integer("model.net.input_size", input_size)
        self.scoring = require_choice("model.net.scoring", scoring, SCORINGS)
        self.query = nn.Parameter(torch.empty(input_size))
        # The range nn.Linear gives its weights: a zero query would leave every score equal.
        bound = 1.0 / math.sqrt(input_size)
        nn.init.uniform_(self.query, -bound, bound)
        self.score: nn.Module
        if scoring == "additive":
            size = input_size if attention_size is None else attention_size
            require_positive_integer("model.net.attention_size", size)
            self.score = AdditiveScore(input_size, input_size, size)
        else:
            self.score = DotProductScore(scaled=scoring == "scaled_dot")
        self.last_weights: Tensor | None = None

    def forward(self, outputs: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
        query = self.query.expand(outputs.shape[0], 1, -1)  # one query per sample
        scores = self.score(query, outputs).squeeze(1)  # (B, T)
        weights = masked_softmax(scores, mask)
        self.last_weights = weights.detach()
        return (weights.unsqueeze(1) @ outputs).squeeze(1), weights


class MultiHeadSelfAttention(nn.Module):
    """``heads`` scaled dot-product attentions of a sequence ``X (B, T, hidden_size)`` over
    itself, each in ``d = hidden_size / heads`` dimensions:

        [Q K V] = X [W_Q W_K W_V] + b,   split into heads along the last dimension,
        head_i = softmax(Q_i K_iᵀ / √d) V_i,   output = [head_1 … head_h] W_O + b_O.

    ``mask (B, T)`` is True on the valid tokens; padded tokens are keys of weight 0 (their own
    outputs are computed, and meaningless). Dropout falls on the attention weights in
    training mode. The parameters are laid out as ``nn.MultiheadAttention``'s
    (``in_proj`` holds ``W_Q``, ``W_K``, ``W_V`` stacked; ``out_proj``).

    ``forward(x, mask=None, need_weights=True)`` → ``(outputs (B, T, hidden_size), weights
    (B, heads, T, T))``. ``need_weights=False`` runs torch's fused
    ``scaled_dot_product_attention`` (same outputs, faster) and returns ``None`` weights. The
    weights of the last call stay in ``last_weights`` (detached; ``None`` without weights)."""

    def __init__(self, hidden_size: int, heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.head_size = require_heads(hidden_size, heads)
        self.heads = heads
        self.dropout = require_dropout("model.net.dropout", dropout)
        self.in_proj = nn.Linear(hidden_size, 3 * hidden_size)
        self.out_proj = nn.Linear(hidden_size, hidden_size)
        # nn.MultiheadAttention's initialisation, so both start training alike
        nn.init.xavier_uniform_(self.in_proj.weight)
        nn.init.zeros_(self.in_proj.bias)
        nn.init.zeros_(self.out_proj.bias)
        self.last_weights: Tensor | None = None

    def forward(
        self, x: Tensor, mask: Tensor | None = None, need_weights: bool = True
    ) -> tuple[Tensor, Tensor | None]:
        batch, steps, hidden = x.shape
        # (B, T, 3·hidden) → three (B, heads, T, d)
        q, k, v = self.in_proj(x).view(batch, steps, 3, self.heads, self.head_size).unbind(2)
        q, k, v = (part.transpose(1, 2) for part in (q, k, v))
        key_mask = None if mask is None else mask[:, None, None, :]  # (B, 1, 1, T) keys
        dropout = self.dropout if self.training else 0.0
        weights: Tensor | None = None
        if need_weights:
            heads_out, weights = qkv_attention(q, k, v, key_mask, dropout, self.training)
        else:
            heads_out = F.scaled_dot_product_attention(q, k, v, key_mask, dropout_p=dropout)
        self.last_weights = None if weights is None else weights.detach()
        merged = heads_out.transpose(1, 2).reshape(batch, steps, hidden)
        return self.out_proj(merged), weights
