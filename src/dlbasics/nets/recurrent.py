"""Recurrent encoders written from their cell equations, and torch's fused twins (NNDL 6).

Each step of a cell, with ``xₜ`` the input and ``hₜ₋₁`` the state (torch's layout: every
weight multiplies from the left and the input and the state have a bias each):

- SRN:  ``hₜ = tanh(W_ih xₜ + b_ih + W_hh hₜ₋₁ + b_hh)`` (the book's xW + hU + b, with
  b = b_ih + b_hh);
- LSTM: ``i, f, g, o = split(W_ih xₜ + b_ih + W_hh hₜ₋₁ + b_hh)``; ``i, f, o`` through σ,
  ``g`` (the candidate c̃) through tanh; ``cₜ = f⊙cₜ₋₁ + i⊙g``, ``hₜ = o⊙tanh(cₜ)``;
- GRU:  ``r, z = σ(split(W_ih xₜ + b_ih)[:2] + split(W_hh hₜ₋₁ + b_hh)[:2])``,
  ``n = tanh(W_in xₜ + b_in + r⊙(W_hn hₜ₋₁ + b_hn))``, ``hₜ = (1 − z)⊙n + z⊙hₜ₋₁``.

``impl: cells`` runs these equations step by step; ``impl: torch`` runs ``nn.RNN``,
``nn.LSTM`` or ``nn.GRU`` on a packed batch. Both hold the same parameters under the same
names (``weight_ih_l0``, ``bias_hh_l1_reverse``, …), so a state dict moves between them.

Padded batches: a sample's steps beyond its length leave its state unchanged and give
zero outputs, and the backward direction of a bidirectional layer reads each sample from
its own last real step, exactly what packing does for the fused modules.
"""

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from dlbasics.errors import ConfigError
from dlbasics.utils.checks import require_choice, require_positive_integer

GATES = {"srn": 1, "lstm": 4, "gru": 3}
FUSED = {"srn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
IMPLS = ("cells", "torch")


def srn_step(x_part: Tensor, h: Tensor, c: Tensor | None, w_hh: Tensor, b_hh: Tensor):
    return torch.tanh(x_part + F.linear(h, w_hh, b_hh)), None


def lstm_step(x_part: Tensor, h: Tensor, c: Tensor, w_hh: Tensor, b_hh: Tensor):
    i, f, g, o = (x_part + F.linear(h, w_hh, b_hh)).chunk(4, dim=-1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


def gru_step(x_part: Tensor, h: Tensor, c: Tensor | None, w_hh: Tensor, b_hh: Tensor):
    x_r, x_z, x_n = x_part.chunk(3, dim=-1)
    h_r, h_z, h_n = F.linear(h, w_hh, b_hh).chunk(3, dim=-1)
    r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
    n = torch.tanh(x_n + r * h_n)
    return (1 - z) * n + z * h, None


STEPS = {"srn": srn_step, "lstm": lstm_step, "gru": gru_step}


def reverse_within_lengths(x: Tensor, lengths: Tensor) -> Tensor:
    """Each sample's first ``length`` steps in reverse order; the padding stays where it is.
    Applying it twice gives ``x`` back."""
    steps = torch.arange(x.shape[1], device=x.device).unsqueeze(0)
    index = torch.where(steps < lengths.unsqueeze(1), lengths.unsqueeze(1) - 1 - steps, steps)
    return x.gather(1, index.unsqueeze(-1).expand_as(x))


class CellRecurrence(nn.Module):
    """``num_layers`` layers of one cell kind, one or two directions, run step by step.
    Parameters are named and initialised as in torch's fused module."""

    def __init__(
        self,
        kind: str,
        input_size: int,
        hidden_size: int,
        num_layers: int,
        bidirectional: bool,
        dropout: float,
    ) -> None:
        super().__init__()
        self.kind, self.hidden_size, self.num_layers = kind, hidden_size, num_layers
        self.directions = 2 if bidirectional else 1
        self.dropout = dropout
        gates = GATES[kind] * hidden_size
        self.rnn = nn.Module()  # the parameters' home, named as the fused module's
        for layer in range(num_layers):
            width = input_size if layer == 0 else hidden_size * self.directions
            for suffix in self.suffixes(layer):
                shapes = {
                    "weight_ih": (gates, width),
                    "weight_hh": (gates, hidden_size),
                    "bias_ih": (gates,),
                    "bias_hh": (gates,),
                }
                for name, shape in shapes.items():
                    self.rnn.register_parameter(f"{name}{suffix}", nn.Parameter(torch.empty(shape)))
        bound = 1.0 / math.sqrt(hidden_size)  # torch's RNN initialisation
        for parameter in self.parameters():
            nn.init.uniform_(parameter, -bound, bound)

    def suffixes(self, layer: int) -> list[str]:
        return [f"_l{layer}", f"_l{layer}_reverse"][: self.directions]

    def _direction(self, x: Tensor, valid: Tensor, suffix: str) -> tuple[Tensor, Tensor]:
        """One layer, one direction over ``x (B, T, in)``: outputs ``(B, T, H)`` and the
        state after each sample's last valid step ``(B, H)``."""
        w_hh, b_hh = getattr(self.rnn, f"weight_hh{suffix}"), getattr(self.rnn, f"bias_hh{suffix}")
        x_parts = F.linear(
            x, getattr(self.rnn, f"weight_ih{suffix}"), getattr(self.rnn, f"bias_ih{suffix}")
        )
        h = x.new_zeros(x.shape[0], self.hidden_size)
        c = x.new_zeros(x.shape[0], self.hidden_size) if self.kind == "lstm" else None
        outputs = []
        for t in range(x.shape[1]):
            h_new, c_new = STEPS[self.kind](x_parts[:, t], h, c, w_hh, b_hh)
            keep = valid[:, t].unsqueeze(1)  # padded steps leave the state as it was
            h = torch.where(keep, h_new, h)
            if c is not None:
                c = torch.where(keep, c_new, c)
            outputs.append(torch.where(keep, h_new, torch.zeros_like(h_new)))
        return torch.stack(outputs, dim=1), h

    def forward(self, x: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        valid = torch.arange(x.shape[1], device=x.device).unsqueeze(0) < lengths.unsqueeze(1)
        finals: list[Tensor] = []
        for layer in range(self.num_layers):
            if layer > 0 and self.dropout > 0:
                x = F.dropout(x, self.dropout, self.training)
            outputs, finals = [], []
            for direction, suffix in enumerate(self.suffixes(layer)):
                source = x if direction == 0 else reverse_within_lengths(x, lengths)
                out, final = self._direction(source, valid, suffix)
                outputs.append(out if direction == 0 else reverse_within_lengths(out, lengths))
                finals.append(final)
            x = torch.cat(outputs, dim=-1)
        return x, torch.cat(finals, dim=-1)


class FusedRecurrence(nn.Module):
    """torch's ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU`` on a packed batch, same interface."""

    def __init__(
        self,
        kind: str,
        input_size: int,
        hidden_size: int,
        num_layers: int,
        bidirectional: bool,
        dropout: float,
    ) -> None:
        super().__init__()
        self.rnn = FUSED[kind](
            input_size,
            hidden_size,
            num_layers=num_layers,
            batch_first=True,
            bidirectional=bidirectional,
            dropout=dropout,
        )
        self.directions = 2 if bidirectional else 1

    def forward(self, x: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, state = self.rnn(packed)
        h_n = state[0] if isinstance(state, tuple) else state  # LSTM: (h, c)
        outputs, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
        last_layer = h_n[-self.directions :]  # (directions, B, H)
        return outputs, torch.cat(list(last_layer), dim=-1)


class RecurrentEncoder(nn.Module):
    """``kind`` (srn | lstm | gru) recurrence as written-out cells or torch's fused module.

    ``forward(x (B, T, in), lengths (B,))`` → outputs ``(B, T, directions·H)`` (zero at
    padded steps) and the final state ``(B, directions·H)`` of the last layer, the
    directions side by side. The parameters live under ``recurrence.rnn.`` with torch's
    names in both implementations."""

    def __init__(
        self,
        kind: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bidirectional: bool = False,
        dropout: float = 0.0,
        impl: str = "torch",
    ) -> None:
        super().__init__()
        require_choice("model.net.encoder", kind, sorted(GATES))
        require_choice("model.net.impl", impl, IMPLS)
        require_positive_integer("model.net.hidden_size", hidden_size)
        require_positive_integer("model.net.num_layers", num_layers)
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"model.net.dropout must be in [0, 1), got {dropout}")
        recurrence = CellRecurrence if impl == "cells" else FusedRecurrence
        self.recurrence = recurrence(
            kind, input_size, hidden_size, num_layers, bidirectional, dropout
        )
        self.output_size = hidden_size * (2 if bidirectional else 1)

    def forward(self, x: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        return self.recurrence(x, lengths)
