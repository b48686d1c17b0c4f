"""Attention written from its formulas: the book's masked-softmax example, the score
functions, attention pooling, and multi-head self-attention against torch's module."""

import math

import pytest
import torch
from torch import nn

from dlbasics.errors import ConfigError
from dlbasics.nets.attention import (
    AdditiveScore,
    AttentionPooling,
    MultiHeadSelfAttention,
    dot_product_scores,
    masked_softmax,
    qkv_attention,
    scaled_dot_product_scores,
)

LENGTHS = torch.tensor([5, 2, 4])


def valid_mask(lengths: torch.Tensor, steps: int) -> torch.Tensor:
    return torch.arange(steps).unsqueeze(0) < lengths.unsqueeze(1)


def test_masked_softmax_gives_the_books_worked_example():
    scores = torch.tensor([[0.1, 0.2, 0.4, 0.6] + [0.0] * 6])
    weights = masked_softmax(scores, valid_mask(torch.tensor([4]), 10))
    expected = torch.tensor([0.19593432, 0.21654092, 0.26448367, 0.32304109])
    assert torch.allclose(weights[0, :4], expected, atol=1e-7, rtol=0)
    assert weights[0, 4:].tolist() == [0.0] * 6  # exactly zero, not merely small


def test_a_row_without_valid_positions_gets_zeros_and_finite_gradients():
    scores = torch.randn(2, 4, requires_grad=True)
    mask = torch.tensor([[True, False, True, False], [False] * 4])
    weights = masked_softmax(scores, mask)
    assert weights[1].tolist() == [0.0] * 4
    assert torch.allclose(weights[0].sum(), torch.tensor(1.0))
    (weights * torch.randn(2, 4)).sum().backward()
    assert torch.isfinite(scores.grad).all()
    assert scores.grad[1].abs().sum() == 0  # nothing to learn from a row that is not there


def test_masked_softmax_broadcasts_a_key_mask_and_ignores_what_is_masked():
    scores = torch.randn(3, 2, 6)
    mask = valid_mask(torch.tensor([6, 3, 1]), 6)[:, None, :]  # one key mask per sample
    junk = scores.masked_fill(~mask, 1e4)  # huge scores on padded keys change nothing
    assert torch.equal(masked_softmax(scores, mask), masked_softmax(junk, mask))
    assert torch.allclose(masked_softmax(scores, mask).sum(-1), torch.ones(3, 2))
    assert torch.allclose(masked_softmax(scores, None), torch.softmax(scores, -1))


def test_additive_score_is_v_tanh_xw_plus_qu():
    torch.manual_seed(0)
    score = AdditiveScore(key_size=3, query_size=2, hidden_size=4)
    keys, query = torch.randn(1, 5, 3), torch.randn(1, 1, 2)
    with torch.no_grad():
        w, u, v = score.W.weight.T, score.U.weight.T, score.v.weight.T  # as the book's X W
        by_hand = [float(torch.tanh(keys[0, t] @ w + query[0, 0] @ u) @ v) for t in range(5)]
        scores = score(query, keys)
    assert scores.shape == (1, 1, 5)
    assert scores[0, 0].tolist() == pytest.approx(by_hand, abs=1e-6)


def test_dot_product_scores_and_their_scaling():
    query = torch.tensor([[[1.0, 2.0, 0.0, 1.0]]])
    keys = torch.tensor([[[1.0, 1.0, 1.0, 1.0], [0.0, -1.0, 3.0, 2.0]]])
    assert dot_product_scores(query, keys).tolist() == [[[4.0, 0.0]]]
    assert scaled_dot_product_scores(query, keys).tolist() == [[[2.0, 0.0]]]  # ÷ √4


@pytest.mark.parametrize("scoring", ["additive", "dot", "scaled_dot"])
def test_attention_pooling_weighs_the_valid_steps(scoring):
    torch.manual_seed(0)
    pooling = AttentionPooling(6, scoring)
    outputs, mask = torch.randn(3, 5, 6), valid_mask(LENGTHS, 5)
    pooled, weights = pooling(outputs, mask)
    assert pooled.shape == (3, 6) and weights.shape == (3, 5)
    assert float(weights.detach()[~mask].abs().sum()) == 0.0
    assert torch.allclose(weights.sum(1), torch.ones(3))
    by_hand = torch.stack([(weights[b, :, None] * outputs[b]).sum(0) for b in range(3)])
    assert torch.allclose(pooled, by_hand, atol=1e-6)
    junk = outputs.masked_fill(~mask.unsqueeze(-1), 100.0)  # padding carries garbage
    assert torch.allclose(pooling(junk, mask)[0], pooled, atol=1e-6)
    assert torch.equal(pooling.last_weights, weights.detach())


def test_dot_pooling_scores_are_the_outputs_times_the_learned_query():
    pooling = AttentionPooling(2, "dot")
    with torch.no_grad():
        pooling.query.copy_(torch.tensor([1.0, 0.0]))
    outputs = torch.tensor([[[0.1, 5.0], [0.2, -1.0], [0.4, 0.0], [0.6, 2.0], [9.0, 9.0]]])
    _, weights = pooling(outputs, valid_mask(torch.tensor([4]), 5))
    expected = [0.19593432, 0.21654092, 0.26448367, 0.32304109, 0.0]  # the book's example
    assert weights[0].tolist() == pytest.approx(expected, abs=1e-7)


def test_attention_pooling_learns_its_query():
    torch.manual_seed(0)
    pooling = AttentionPooling(4, "additive")
    pooled, _ = pooling(torch.randn(2, 3, 4), valid_mask(torch.tensor([3, 2]), 3))
    pooled.square().sum().backward()
    for name, parameter in pooling.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name


def test_qkv_attention_is_softmax_of_scaled_scores_times_values():
    torch.manual_seed(0)
    q, k, v = torch.randn(2, 3, 4), torch.randn(2, 5, 4), torch.randn(2, 5, 6)
    mask = valid_mask(torch.tensor([5, 2]), 5)[:, None, :]
    out, weights = qkv_attention(q, k, v, mask)
    scores = q @ k.transpose(1, 2) / 2.0  # √4
    by_hand = torch.softmax(scores.masked_fill(~mask, -math.inf), -1)
    assert torch.allclose(weights, by_hand, atol=1e-6)
    assert torch.allclose(out, by_hand @ v, atol=1e-6)
    assert out.shape == (2, 3, 6)


def torch_twin(ours: MultiHeadSelfAttention, heads: int) -> nn.MultiheadAttention:
    hidden = ours.out_proj.in_features
    twin = nn.MultiheadAttention(hidden, heads, batch_first=True)
    with torch.no_grad():  # the same layout, so the same tensors
        twin.in_proj_weight.copy_(ours.in_proj.weight)
        twin.in_proj_bias.copy_(ours.in_proj.bias)
        twin.out_proj.weight.copy_(ours.out_proj.weight)
        twin.out_proj.bias.copy_(ours.out_proj.bias)
    return twin


@pytest.mark.parametrize("padded", [False, True])
def test_multi_head_self_attention_equals_torchs_module(padded):
    torch.manual_seed(0)
    ours = MultiHeadSelfAttention(8, heads=4)
    nn.init.normal_(ours.in_proj.bias)  # zero biases would hide a mistake in them
    twin = torch_twin(ours, 4)
    x = torch.randn(3, 5, 8)
    mask = valid_mask(LENGTHS, 5) if padded else None
    x_ours, x_twin = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    out, weights = ours(x_ours, mask)
    padding = None if mask is None else ~mask  # torch's mask is True on the padding
    expected, per_head = twin(
        x_twin, x_twin, x_twin, key_padding_mask=padding, average_attn_weights=False
    )
    _, averaged = twin(x, x, x, key_padding_mask=padding)
    assert weights.shape == (3, 4, 5, 5)
    assert torch.allclose(out, expected, atol=1e-5)
    assert torch.allclose(weights, per_head, atol=1e-5)
    assert torch.allclose(weights.mean(1), averaged, atol=1e-5)
    if padded:
        assert float(weights.detach().transpose(1, 3)[~mask].abs().sum()) == 0.0
    out.square().sum().backward()
    expected.square().sum().backward()
    assert torch.allclose(x_ours.grad, x_twin.grad, atol=1e-5)
    assert torch.allclose(ours.in_proj.weight.grad, twin.in_proj_weight.grad, atol=1e-5)


def test_fused_path_gives_the_same_outputs_without_weights():
    torch.manual_seed(0)
    attention = MultiHeadSelfAttention(12, heads=3).eval()
    x, mask = torch.randn(3, 5, 12), valid_mask(LENGTHS, 5)
    explicit, weights = attention(x, mask)
    assert torch.equal(attention.last_weights, weights.detach())
    fused, none = attention(x, mask, need_weights=False)
    assert none is None and attention.last_weights is None
    assert torch.allclose(fused, explicit, atol=1e-5)


@pytest.mark.parametrize("need_weights", [True, False])
def test_attention_dropout_is_applied_in_training_only(need_weights):
    torch.manual_seed(0)
    attention = MultiHeadSelfAttention(8, heads=2, dropout=0.5)
    x, mask = torch.randn(3, 5, 8), valid_mask(LENGTHS, 5)
    first, _ = attention(x, mask, need_weights=need_weights)
    second, _ = attention(x, mask, need_weights=need_weights)
    assert not torch.allclose(first, second)
    attention.eval()
    assert torch.equal(attention(x, mask, need_weights)[0], attention(x, mask, need_weights)[0])
    no_dropout = MultiHeadSelfAttention(8, heads=2, dropout=0.0)  # train mode, no dropout
    assert torch.equal(no_dropout(x, mask)[0], no_dropout(x, mask)[0])


def test_heads_that_do_not_divide_the_hidden_size_name_both_keys_and_the_fix():
    with pytest.raises(ConfigError) as error:
        MultiHeadSelfAttention(30, heads=4)
    message = str(error.value)
    assert "model.net.heads=4 does not divide model.net.hidden_size=30" in message
    assert "one of 1, 2, 3, 5, 6, 10, 15, 30" in message
    assert "a multiple of 4" in message


def test_bad_attention_options_name_the_key():
    with pytest.raises(ConfigError, match="model.net.dropout must be a number in"):
        MultiHeadSelfAttention(8, 2, dropout=1.0)
    with pytest.raises(ConfigError, match="model.net.heads must be a positive integer"):
        MultiHeadSelfAttention(8, 0)
    with pytest.raises(ConfigError, match="model.net.scoring='cosine' is unknown"):
        AttentionPooling(8, "cosine")
    with pytest.raises(ConfigError, match="model.net.attention_size"):
        AttentionPooling(8, "additive", attention_size=0)
