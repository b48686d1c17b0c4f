"""Recurrent cells written from their equations against torch's fused RNN/LSTM/GRU, on
padded batches with per-sample lengths, and the sequence classifier's summaries."""

import functools

import pytest
import pytorch_lightning as pl
import torch
from torch import nn

from dlbasics.data import SequenceDataset
from dlbasics.data.base import pass_through
from dlbasics.errors import ConfigError, DataError
from dlbasics.nets.recurrent import RecurrentEncoder, reverse_within_lengths
from dlbasics.nets.sequence import SequenceClassifier, masked_mean
from dlbasics.tasks import ClassificationTask

LENGTHS = torch.tensor([5, 3, 1, 4])


def twins(kind: str, **kwargs) -> tuple[RecurrentEncoder, RecurrentEncoder]:
    torch.manual_seed(0)
    fused = RecurrentEncoder(kind, 6, 4, impl="torch", **kwargs)
    cells = RecurrentEncoder(kind, 6, 4, impl="cells", **kwargs)
    cells.load_state_dict(fused.state_dict())  # the same names and shapes
    return cells, fused


@pytest.mark.parametrize("kind", ["srn", "lstm", "gru"])
@pytest.mark.parametrize(("num_layers", "bidirectional"), [(1, False), (1, True), (2, True)])
def test_cells_equal_torchs_fused_module_on_a_padded_batch(kind, num_layers, bidirectional):
    cells, fused = twins(kind, num_layers=num_layers, bidirectional=bidirectional)
    x = torch.randn(4, 5, 6, generator=torch.Generator().manual_seed(1))
    x_cells, x_fused = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    out_c, final_c = cells(x_cells, LENGTHS)
    out_f, final_f = fused(x_fused, LENGTHS)
    assert torch.allclose(out_c, out_f, atol=1e-5)
    assert torch.allclose(final_c, final_f, atol=1e-5)
    valid = torch.arange(5).unsqueeze(0) < LENGTHS.unsqueeze(1)
    assert float(out_c.detach()[~valid].abs().sum()) == 0.0  # padded steps give zero outputs
    (out_c.square().sum() + final_c.sum()).backward()
    (out_f.square().sum() + final_f.sum()).backward()
    assert torch.allclose(x_cells.grad, x_fused.grad, atol=1e-5)
    for (name, p_cells), (_, p_fused) in zip(
        cells.named_parameters(), fused.named_parameters(), strict=True
    ):
        assert torch.allclose(p_cells.grad, p_fused.grad, atol=1e-5), name


def test_srn_step_is_the_books_equation():
    cells, _ = twins("srn")
    rnn = cells.recurrence.rnn
    x = torch.randn(1, 2, 6)
    out, _ = cells(x, torch.tensor([2]))
    w, u = rnn.weight_ih_l0, rnn.weight_hh_l0
    b = rnn.bias_ih_l0 + rnn.bias_hh_l0
    h1 = torch.tanh(x[0, 0] @ w.T + b)  # h₀ = 0
    h2 = torch.tanh(x[0, 1] @ w.T + h1 @ u.T + b)
    assert torch.allclose(out[0, 1], h2, atol=1e-6)


def test_padding_after_a_sequence_changes_nothing():
    cells, _ = twins("lstm", bidirectional=True)
    x = torch.randn(1, 3, 6)
    padded = torch.cat([x, torch.randn(1, 4, 6)], dim=1)  # junk where the padding is
    out_short, final_short = cells(x, torch.tensor([3]))
    out_long, final_long = cells(padded, torch.tensor([3]))
    assert torch.allclose(out_long[:, :3], out_short, atol=1e-6)
    assert torch.allclose(final_long, final_short, atol=1e-6)


def test_reversal_within_lengths_keeps_the_padding_and_undoes_itself():
    x = torch.arange(10.0).view(2, 5, 1)
    flipped = reverse_within_lengths(x, torch.tensor([5, 3]))
    assert flipped[:, :, 0].tolist() == [[4, 3, 2, 1, 0], [7, 6, 5, 8, 9]]
    assert torch.equal(reverse_within_lengths(flipped, torch.tensor([5, 3])), x)


def batch(ids: torch.Tensor, lengths: torch.Tensor):
    mask = torch.arange(ids.shape[1]).unsqueeze(0) < lengths.unsqueeze(1)
    return ids, lengths, mask


@pytest.mark.parametrize("impl", ["cells", "torch"])
def test_classifier_summaries(impl):
    torch.manual_seed(0)
    ids = torch.randint(1, 10, (4, 5))
    x = batch(ids, LENGTHS)
    net = SequenceClassifier(10, 3, 8, 4, "gru", bidirectional=True, summary="mean", impl=impl)
    outputs, final = net.encoder(net.embedding(ids), LENGTHS)
    manual = torch.stack([outputs[b, : LENGTHS[b]].mean(0) for b in range(4)])
    assert torch.allclose(masked_mean(outputs, x[2]), manual, atol=1e-6)
    assert net(x).shape == (4, 3)
    last = SequenceClassifier(10, 3, 8, 4, "lstm", summary="last_output", impl=impl)
    outputs, final = last.encoder(last.embedding(ids), LENGTHS)
    expected = last.head(outputs[torch.arange(4), LENGTHS - 1])
    assert torch.allclose(last(x), expected, atol=1e-6)
    assert torch.allclose(outputs[torch.arange(4), LENGTHS - 1], final, atol=1e-6)


def test_bad_recurrent_options_name_the_key():
    for size in (0, -4):
        with pytest.raises(ConfigError, match=f"model.net.hidden_size must be .*got {size}"):
            SequenceClassifier(10, 2, hidden_size=size)
    with pytest.raises(ConfigError, match="model.net.encoder='transformer' is unknown"):
        SequenceClassifier(10, 2, encoder="transformer")
    with pytest.raises(ConfigError, match="summary=last_output with model.net.bidirectional"):
        SequenceClassifier(10, 2, bidirectional=True, summary="last_output")
    with pytest.raises(ConfigError, match="model.net.impl='cudnn' is unknown"):
        SequenceClassifier(10, 2, impl="cudnn")


def test_embedding_padding_row_is_zero_and_untrained_when_asked():
    net = SequenceClassifier(10, 2, padding_idx=0)
    assert float(net.embedding.weight[0].abs().sum()) == 0.0
    assert isinstance(net.embedding, nn.Embedding)


def test_bag_of_words_baseline_is_the_mean_embedding_and_refuses_recurrent_options():
    torch.manual_seed(0)
    ids = torch.randint(1, 10, (4, 5))
    x = batch(ids, LENGTHS)
    bag = SequenceClassifier(10, 2, 8, encoder="none", summary="mean", padding_idx=0)
    expected = bag.head(masked_mean(bag.embedding(ids), x[2]))
    assert torch.allclose(bag(x), expected)
    shuffled = batch(ids[:, [4, 3, 2, 1, 0]], torch.tensor([5, 5, 5, 5]))
    full = batch(ids, torch.tensor([5, 5, 5, 5]))
    assert torch.allclose(bag(shuffled), bag(full), atol=1e-6)  # word order is invisible
    with pytest.raises(ConfigError, match="encoder=none pools the token embeddings themselves"):
        SequenceClassifier(10, 2, encoder="none", summary="last")


@pytest.mark.parametrize("bad_id", [10, -1])
@pytest.mark.parametrize("encoder", ["lstm", "none"])
def test_a_token_id_outside_the_vocabulary_is_named(bad_id, encoder):
    summary = "mean" if encoder == "none" else "last"
    net = SequenceClassifier(10, 2, encoder=encoder, summary=summary)
    ids = torch.tensor([[3, bad_id, 0], [9, 2, 1]])
    with pytest.raises(DataError) as error:
        net(batch(ids, torch.tensor([3, 3])))
    message = str(error.value)
    assert f"token id {bad_id} is outside the embedding's ids 0..9" in message
    assert "model.net.vocab_size=10" in message and "${data_info.vocab_size}" in message
    assert net(batch(ids.clamp(0, 9), torch.tensor([3, 3]))).shape == (2, 2)  # in range: fine


def test_a_token_id_outside_the_vocabulary_stops_prediction_with_its_message():
    """At predict time, through the Trainer: ids of a larger vocabulary than the net's."""
    task = ClassificationTask(
        num_classes=2,
        top_k=(),
        net=SequenceClassifier(5, 2, padding_idx=0),
        optimizer=functools.partial(torch.optim.Adam, lr=1e-3),
    )
    ids = torch.tensor([[1, 2, 3], [4, 7, 0]], dtype=torch.int32)
    dataset = SequenceDataset(ids, torch.tensor([-1, -1]), pad_id=0)
    loader = torch.utils.data.DataLoader(dataset, batch_size=2, collate_fn=pass_through)
    trainer = pl.Trainer(
        accelerator="cpu", logger=False, enable_progress_bar=False, enable_model_summary=False
    )
    with pytest.raises(DataError, match=r"token id 7 is outside the embedding's ids 0..4"):
        trainer.predict(task, dataloaders=loader)
