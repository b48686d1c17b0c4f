"""Multilabel (and multiclass) metrics against plain numpy formulas, edge cases, bad input."""

import numpy as np
import pytest
import torch

from dlbasics.errors import ConfigError, DataError
from dlbasics.metrics import classification_metrics, multilabel_metrics
from dlbasics.metrics.multilabel import SampleAveragedScore


def _div(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return np.where(b > 0, a / np.where(b > 0, b, 1), 0.0)


def numpy_multilabel(probs: np.ndarray, target: np.ndarray, threshold: float = 0.5) -> dict:
    """The textbook definitions, written independently of the package."""
    pred = probs > threshold
    true = target.astype(bool)
    tp_s, fp_s, fn_s = ((pred & true).sum(1), (pred & ~true).sum(1), (~pred & true).sum(1))
    tp_l, fp_l, fn_l = ((pred & true).sum(0), (pred & ~true).sum(0), (~pred & true).sum(0))
    out = {
        "hamming": float((pred != true).mean()),
        "exact_match": float((pred == true).all(1).mean()),
        "jaccard": float(_div(tp_s, tp_s + fp_s + fn_s).mean()),
    }
    for name, tp, fp, fn in (("", tp_l, fp_l, fn_l), ("_samples", tp_s, fp_s, fn_s)):
        out[f"precision{name}"] = float(_div(tp, tp + fp).mean())
        out[f"recall{name}"] = float(_div(tp, tp + fn).mean())
        out[f"f1{name}"] = float(_div(2 * tp, 2 * tp + fp + fn).mean())
    tp, fp, fn = tp_l.sum(), fp_l.sum(), fn_l.sum()
    out["precision_micro"] = float(_div(tp, tp + fp))
    out["recall_micro"] = float(_div(tp, tp + fn))
    out["f1_micro"] = float(_div(2 * tp, 2 * tp + fp + fn))
    return out


def computed(metrics, preds, target) -> dict:
    return {name: float(value) for name, value in metrics(preds, target).items()}


def assert_match(values: dict, expected: dict) -> None:
    assert set(values) == set(expected)
    for name, value in expected.items():
        assert values[name] == pytest.approx(value, abs=1e-6), name


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("threshold", [0.5, 0.3])
def test_multilabel_metrics_match_numpy_on_random_probabilities(seed, threshold):
    rng = np.random.default_rng(seed)
    probs = rng.random((57, 6)).astype(np.float32)
    target = (rng.random((57, 6)) < 0.4).astype(np.int64)
    values = computed(
        multilabel_metrics(6, threshold), torch.from_numpy(probs), torch.from_numpy(target)
    )
    assert_match(values, numpy_multilabel(probs, target, threshold))


def test_logits_are_read_through_a_sigmoid():
    rng = np.random.default_rng(3)
    logits = rng.normal(0, 2, (40, 4)).astype(np.float32)
    target = (rng.random((40, 4)) < 0.5).astype(np.int64)
    values = computed(multilabel_metrics(4), torch.from_numpy(logits), torch.from_numpy(target))
    assert_match(values, numpy_multilabel(1 / (1 + np.exp(-logits)), target))


def test_label_never_predicted_and_label_absent_give_zero_not_nan():
    target = torch.tensor([[1, 0, 0], [1, 1, 0], [0, 1, 0]])
    probs = torch.tensor([[0.9, 0.1, 0.1], [0.8, 0.1, 0.7], [0.2, 0.1, 0.1]])
    values = computed(multilabel_metrics(3), probs, target)
    # label 1: never predicted (precision 0/0 -> 0); label 2: never true (recall 0/0 -> 0)
    assert all(np.isfinite(v) for v in values.values())
    assert values["precision"] == pytest.approx((1.0 + 0.0 + 0.0) / 3)
    assert values["recall"] == pytest.approx((1.0 + 0.0 + 0.0) / 3)
    assert_match(values, numpy_multilabel(probs.numpy(), target.numpy()))


def test_all_correct_all_wrong_and_one_sample():
    target = torch.tensor([[1, 0, 1], [0, 1, 0]])
    right = computed(multilabel_metrics(3), target.float(), target)
    assert right["hamming"] == 0.0
    assert all(right[k] == 1.0 for k in right if k != "hamming")
    wrong = computed(multilabel_metrics(3), 1.0 - target.float(), target)
    assert wrong["hamming"] == 1.0
    assert all(wrong[k] == 0.0 for k in wrong if k != "hamming")
    one = computed(
        multilabel_metrics(3), torch.tensor([[0.9, 0.6, 0.2]]), torch.tensor([[1, 0, 0]])
    )
    assert one["hamming"] == pytest.approx(1 / 3)
    assert one["exact_match"] == 0.0
    assert one["precision_samples"] == pytest.approx(0.5)
    assert one["recall_samples"] == 1.0
    assert one["jaccard"] == pytest.approx(0.5)


def test_sample_average_merges_like_a_ddp_reduction():
    """States are sums, so two shards merged equal one pass over all samples."""
    rng = np.random.default_rng(5)
    probs = torch.from_numpy(rng.random((31, 5)).astype(np.float32))
    target = torch.from_numpy((rng.random((31, 5)) < 0.5).astype(np.int64))
    whole, first, second = (SampleAveragedScore("f1") for _ in range(3))
    whole.update(probs, target)
    first.update(probs[:20], target[:20])
    second.update(probs[20:], target[20:])
    first.merge_state(second)
    assert float(first.compute()) == pytest.approx(float(whole.compute()), abs=1e-7)


@pytest.mark.parametrize(
    ("preds", "target", "match"),
    [
        (
            torch.rand(4, 3),
            torch.tensor([[0, 1, 2], [0, 0, 0], [1, 1, 1], [0, 0, 1]]),
            "0/1, found 2",
        ),
        (torch.rand(4, 5), torch.zeros(4, 3, dtype=torch.long), r"shape \(N, num_labels=3\)"),
        (torch.rand(4, 3), torch.zeros(4, 2, dtype=torch.long), r"got \(4, 2\)"),
        (torch.tensor([[0.1, float("nan"), 0.2]]), torch.zeros(1, 3, dtype=torch.long), "NaN|nan"),
    ],
)
def test_multilabel_bad_input_is_named(preds, target, match):
    with pytest.raises(DataError, match=match):
        multilabel_metrics(3)(preds, target)


def test_multilabel_bad_arguments():
    with pytest.raises(ConfigError, match="num_labels"):
        multilabel_metrics(0)
    with pytest.raises(ConfigError, match="threshold"):
        multilabel_metrics(3, threshold=1.5)


def numpy_multiclass(pred: np.ndarray, true: np.ndarray, num_classes: int) -> dict:
    classes = np.arange(num_classes)
    tp = np.array([((pred == c) & (true == c)).sum() for c in classes])
    fp = np.array([((pred == c) & (true != c)).sum() for c in classes])
    fn = np.array([((pred != c) & (true == c)).sum() for c in classes])
    seen = (tp + fp + fn) > 0  # scikit-learn's labels = those in y_true or y_pred
    support = tp + fn
    out = {"acc": float((pred == true).mean())}
    for name, score in (
        ("precision", _div(tp, tp + fp)),
        ("recall", _div(tp, tp + fn)),
        ("f1", _div(2 * tp, 2 * tp + fp + fn)),
    ):
        out[name] = float(score[seen].mean())
        out[f"{name}_weighted"] = float((score * support).sum() / support.sum())
    return out


@pytest.mark.parametrize("seed", [0, 1])
def test_multiclass_metrics_match_numpy_with_an_absent_class(seed):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(80, 5)).astype(np.float32)
    logits[:, 4] -= 100  # class 4 never predicted
    true = rng.integers(0, 4, size=80)  # and never in the targets
    values = computed(
        classification_metrics(5, top_k=()), torch.from_numpy(logits), torch.from_numpy(true)
    )
    assert_match(values, numpy_multiclass(logits.argmax(1), true, 5))


@pytest.mark.parametrize(
    ("preds", "target", "match"),
    [
        (torch.rand(3, 4), torch.tensor([0, 4, 1]), "class id 4 .* num_classes=4"),
        (torch.rand(3, 5), torch.tensor([0, 1, 1]), r"shape \(3, 4\)"),
        (torch.tensor([[0.1, 0.2, float("nan"), 0.3]]), torch.tensor([1]), "non-finite"),
        (torch.rand(2, 4), torch.tensor([[0, 1], [1, 0]]), "1-D tensor of integer class ids"),
    ],
)
def test_multiclass_bad_input_is_named(preds, target, match):
    with pytest.raises(DataError, match=match):
        classification_metrics(4, top_k=())(preds, target)
