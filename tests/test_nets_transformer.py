"""The Transformer encoder: sinusoidal positions against their formula, the embeddings,
the encoder block against torch's ``nn.TransformerEncoderLayer``, and the classifier on
the sequence sets' batches."""

import math

import pytest
import torch
from torch import nn

from dlbasics.data.sequences import SequenceBatch
from dlbasics.errors import ConfigError
from dlbasics.nets.sequence import SequenceClassifier, masked_mean
from dlbasics.nets.transformer import (
    SinusoidalPositions,
    TransformerClassifier,
    TransformerEmbedding,
    TransformerEncoderBlock,
    sinusoidal_table,
)

LENGTHS = torch.tensor([6, 2, 4])


def batch(ids: torch.Tensor, lengths: torch.Tensor) -> SequenceBatch:
    mask = torch.arange(ids.shape[1]).unsqueeze(0) < lengths.unsqueeze(1)
    return SequenceBatch(ids, lengths, mask)


@pytest.mark.parametrize("size", [6, 7])
def test_sinusoidal_table_is_the_formula(size):
    table = sinusoidal_table(50, size)
    for pos, j in [(0, 0), (0, 1), (1, 0), (1, 1), (3, 2), (7, 3), (49, 4), (20, size - 1)]:
        angle = pos / 10000 ** (2 * (j // 2) / size)
        expected = math.sin(angle) if j % 2 == 0 else math.cos(angle)
        assert float(table[pos, j]) == pytest.approx(expected, abs=1e-6), (pos, j)


def test_a_sequence_longer_than_the_position_table_names_max_len_and_the_fix():
    positions = SinusoidalPositions(max_len=4, size=8)
    assert positions(4).shape == (4, 8)
    with pytest.raises(ConfigError) as error:
        positions(6)
    assert "model.net.max_len=4" in str(error.value)
    assert "Set model.net.max_len to at least 6" in str(error.value)
    net = TransformerClassifier(10, 2, 8, 2, max_len=4)
    with pytest.raises(ConfigError, match="model.net.max_len=4"):
        net(batch(torch.ones(3, 6, dtype=torch.long), LENGTHS))


def test_embedding_is_the_normalised_sum_of_tokens_segments_and_positions():
    torch.manual_seed(0)
    embedding = TransformerEmbedding(10, 8, max_len=16, num_segments=2, padding_idx=0)
    ids, segments = torch.randint(1, 10, (2, 5)), torch.tensor([[0, 0, 0, 1, 1]] * 2)
    tokens, positions = embedding.tokens(ids), sinusoidal_table(5, 8)
    # the LayerNorm starts as the identity map, so the plain normalisation is its output
    expected = nn.functional.layer_norm(tokens + embedding.segments(segments) + positions, (8,))
    assert torch.allclose(embedding(ids, segments), expected, atol=1e-5)
    alone = nn.functional.layer_norm(tokens + embedding.segments.weight[0] + positions, (8,))
    assert torch.allclose(embedding(ids), alone, atol=1e-5)  # no segment ids: segment 0
    assert float(embedding.tokens.weight.detach()[0].abs().sum()) == 0.0
    with pytest.raises(ConfigError, match="model.net.num_segments=0; set model.net.num_segments=2"):
        TransformerEmbedding(10, 8, 16)(ids, segments)


def test_embedding_dropout_is_applied_in_training():
    embedding = TransformerEmbedding(10, 8, 16, dropout=0.5)
    ids = torch.randint(0, 10, (2, 5))
    assert float((embedding(ids) == 0).float().mean()) > 0.2
    assert float((embedding.eval()(ids) == 0).float().mean()) == 0.0


def torch_twin(block: TransformerEncoderBlock, norm_first: bool, activation: str):
    hidden = block.attention.out_proj.in_features
    twin = nn.TransformerEncoderLayer(
        hidden,
        block.attention.heads,
        block.ffn[0].out_features,
        dropout=0.0,
        activation=activation,
        batch_first=True,
        norm_first=norm_first,
    )
    names = {  # theirs → ours: the same tensors under other names
        "self_attn.in_proj_weight": "attention.in_proj.weight",
        "self_attn.in_proj_bias": "attention.in_proj.bias",
        "self_attn.out_proj.weight": "attention.out_proj.weight",
        "self_attn.out_proj.bias": "attention.out_proj.bias",
        "linear1.weight": "ffn.0.weight",
        "linear1.bias": "ffn.0.bias",
        "linear2.weight": "ffn.3.weight",
        "linear2.bias": "ffn.3.bias",
        "norm1.weight": "attention_norm.weight",
        "norm1.bias": "attention_norm.bias",
        "norm2.weight": "ffn_norm.weight",
        "norm2.bias": "ffn_norm.bias",
    }
    ours = block.state_dict()
    assert sorted(names.values()) == sorted(ours)  # two LayerNorms, nothing shared
    twin.load_state_dict({theirs: ours[mine] for theirs, mine in names.items()})
    return twin


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_encoder_block_equals_torchs_encoder_layer(norm_first, activation):
    torch.manual_seed(0)
    block = TransformerEncoderBlock(8, 2, 16, norm_first=norm_first, activation=activation)
    for norm in (block.attention_norm, block.ffn_norm):  # trained-looking, and different
        nn.init.normal_(norm.weight, 1.0, 0.3)
        nn.init.normal_(norm.bias, 0.0, 0.3)
    twin = torch_twin(block, norm_first, activation)
    x, mask = torch.randn(3, 6, 8), torch.arange(6).unsqueeze(0) < LENGTHS.unsqueeze(1)
    # training mode (dropout 0): torch takes its plain path and computes every position
    assert torch.allclose(block(x, mask), twin(x, src_key_padding_mask=~mask), atol=1e-5)
    block.eval(), twin.eval()
    with torch.no_grad():  # torch's fast path: padded positions may differ, valid ones not
        ours, theirs = block(x, mask), twin(x, src_key_padding_mask=~mask)
    assert torch.allclose(ours[mask], theirs[mask], atol=1e-5)
    assert torch.allclose(block(x, None), twin(x), atol=1e-5)


def test_encoder_block_ignores_padded_tokens_and_keeps_its_weights():
    torch.manual_seed(0)
    block = TransformerEncoderBlock(8, 2, 16).eval()
    x, mask = torch.randn(3, 6, 8), torch.arange(6).unsqueeze(0) < LENGTHS.unsqueeze(1)
    junk = x.masked_fill(~mask.unsqueeze(-1), 50.0)
    assert torch.allclose(block(x, mask)[mask], block(junk, mask)[mask], atol=1e-5)
    assert block.last_weights.shape == (3, 2, 6, 6)
    fused = TransformerEncoderBlock(8, 2, 16, need_weights=False).eval()
    fused.load_state_dict(block.state_dict())
    assert torch.allclose(fused(x, mask), block(x, mask), atol=1e-5)
    assert fused.last_weights is None


def test_cls_and_mean_pooling():
    torch.manual_seed(0)
    ids = torch.randint(1, 20, (3, 6))
    x = batch(ids, LENGTHS)
    cls = TransformerClassifier(20, 3, 8, 2, num_layers=2, ffn_size=16, dropout=0.0).eval()
    assert torch.allclose(cls(x), cls.head(cls.encode(x)[:, 0]), atol=1e-6)
    mean = TransformerClassifier(20, 3, 8, 2, ffn_size=16, pooling="mean", padding_idx=0).eval()
    assert torch.allclose(mean(x), mean.head(masked_mean(mean.encode(x), x.mask)), atol=1e-6)
    padded = batch(torch.cat([ids, torch.randint(0, 20, (3, 4))], dim=1), LENGTHS)
    assert torch.allclose(mean(padded), mean(x), atol=1e-5)  # more padding changes nothing
    assert cls(x).shape == (3, 3)


def test_attention_weights_of_each_block_are_kept_for_inspection():
    torch.manual_seed(0)
    net = TransformerClassifier(20, 2, 8, 4, num_layers=3, ffn_size=16).eval()
    x = batch(torch.randint(1, 20, (3, 6)), LENGTHS)
    net(x)
    weights = net.attention_weights
    assert len(weights) == 3 and all(w.shape == (3, 4, 6, 6) for w in weights)
    for w in weights:
        assert torch.allclose(w.sum(-1), torch.ones(3, 4, 6), atol=1e-6)
        assert float(w.transpose(1, 3)[~x.mask].abs().sum()) == 0.0  # padded keys


def test_sentence_pairs_with_segment_ids_train_every_parameter():
    torch.manual_seed(0)
    net = TransformerClassifier(20, 2, 8, 2, ffn_size=16, num_segments=2, norm_first=True)
    ids, lengths = torch.randint(1, 20, (3, 6)), torch.tensor([6, 5, 6])
    segments = torch.tensor([[0, 0, 0, 1, 1, 1], [0, 0, 1, 1, 1, 0], [0, 0, 0, 0, 1, 1]])
    pair = (*batch(ids, lengths), segments)
    logits = net(pair)
    assert not torch.allclose(logits, net(batch(ids, lengths)))  # the segments count
    logits.square().sum().backward()
    for name, parameter in net.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name
    assert isinstance(net.final_norm, nn.LayerNorm)  # pre-norm stacks end normalised


def test_a_batch_carries_segment_ids_as_its_optional_fourth_field():
    """The data's SequenceBatch: segments None (single texts) reads as segment 0 everywhere,
    segment ids reach the embedding, and a recurrent net ignores the fourth field."""
    torch.manual_seed(0)
    net = TransformerClassifier(20, 2, 8, 2, ffn_size=16, dropout=0.0, num_segments=2).eval()
    ids, lengths = torch.randint(1, 20, (3, 6)), LENGTHS
    plain = batch(ids, lengths)
    assert len(plain) == 4 and plain.segments is None
    segments = (torch.arange(6) >= 3).long().expand(3, 6) * plain.mask
    paired = plain._replace(segments=segments)
    assert torch.equal(net(plain), net(tuple(plain[:3])))
    assert torch.equal(net(paired), net((*plain[:3], segments)))
    assert not torch.allclose(net(paired), net(plain))
    recurrent = SequenceClassifier(20, 2, 8, 8, "gru").eval()
    assert torch.equal(recurrent(paired), recurrent(tuple(plain[:3])))


def test_a_small_transformer_learns_which_token_comes_first():
    """A task mean pooling cannot solve (the same tokens in either order): position
    embeddings and attention have to carry the order to the [CLS] output."""
    torch.manual_seed(0)
    first = torch.randint(0, 2, (64,))
    ids = torch.stack([torch.full((64,), 3), 4 + first, 5 - first], dim=1)  # [CLS] a b
    x = batch(ids, torch.full((64,), 3))
    net = TransformerClassifier(6, 2, 16, 2, ffn_size=32, dropout=0.0)
    optimizer = torch.optim.Adam(net.parameters(), lr=0.01)
    for _ in range(20):
        optimizer.zero_grad()
        nn.functional.cross_entropy(net(x), first).backward()
        optimizer.step()
    with torch.no_grad():
        assert float((net(x).argmax(1) == first).float().mean()) == 1.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"vocab_size": 0}, "model.net.vocab_size must be a positive integer"),
        ({"num_classes": 0}, "model.net.num_classes must be a positive integer"),
        ({"hidden_size": 10, "heads": 4}, "model.net.heads=4 does not divide"),
        ({"num_layers": 0}, "model.net.num_layers must be a positive integer"),
        ({"ffn_size": 0}, "model.net.ffn_size must be a positive integer"),
        ({"dropout": 1.0}, "model.net.dropout must be a number in"),
        ({"max_len": 0}, "model.net.max_len must be a positive integer"),
        ({"pooling": "max"}, "model.net.pooling='max' is unknown"),
        ({"num_segments": -1}, "model.net.num_segments must be an integer >= 0"),
        ({"padding_idx": 20}, "model.net.padding_idx=20 is not an id of the vocabulary"),
        ({"norm_first": "false"}, "model.net.norm_first must be true or false"),
        ({"activation": "tanh"}, "model.net.activation='tanh' is unknown"),
    ],
)
def test_bad_classifier_options_name_the_key(kwargs, message):
    arguments = {"vocab_size": 20, "num_classes": 2, "hidden_size": 8, "heads": 2, **kwargs}
    with pytest.raises(ConfigError, match=message):
        TransformerClassifier(**arguments)
