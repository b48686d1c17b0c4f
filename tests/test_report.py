"""Classification report: worked example, averages equal to the metrics, callback files."""

import csv
import json

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from torchmetrics.classification import MulticlassConfusionMatrix

from dlbasics.metrics import classification_metrics
from dlbasics.metrics.report import (
    Counts,
    UndefinedMetricWarning,
    markdown,
    report_rows,
)
from dlbasics.train import train

Y_TRUE = torch.tensor([1, 1, 1, 0, 0, 0, 2, 2, 2, 2])
Y_PRED = torch.tensor([1, 0, 0, 0, 2, 1, 0, 0, 2, 2])


def confusion(pred: torch.Tensor, true: torch.Tensor, num_classes: int) -> torch.Tensor:
    return MulticlassConfusionMatrix(num_classes)(pred, true)


def test_worked_example_per_class():
    rows = report_rows(Counts.from_confusion(confusion(Y_PRED, Y_TRUE, 3)), ["0", "1", "2"])
    per_class = rows[:3]
    assert [r.precision for r in per_class] == pytest.approx([0.2, 0.5, 2 / 3], abs=1e-4)
    assert [r.recall for r in per_class] == pytest.approx([1 / 3, 1 / 3, 0.5], abs=1e-4)
    assert [r.f1 for r in per_class] == pytest.approx([0.25, 0.4, 0.5714], abs=1e-4)
    assert [r.support for r in per_class] == [3, 3, 4]
    assert [r.name for r in rows[3:]] == ["macro", "weighted", "micro"]


def test_average_rows_equal_the_logged_metrics():
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(120, 6, generator=generator)
    logits[:, 5] -= 50  # class 5: never predicted, never true -> left out of macro
    target = torch.randint(0, 5, (120,), generator=generator)
    values = classification_metrics(6, top_k=())(logits, target)
    with pytest.warns(UndefinedMetricWarning):
        rows = report_rows(Counts.from_confusion(confusion(logits, target, 6)), list("abcdef"))
    macro, weighted, micro = rows[-3:]
    for name in ("precision", "recall", "f1"):
        assert getattr(macro, name) == pytest.approx(float(values[name]), abs=1e-6)
        assert getattr(weighted, name) == pytest.approx(float(values[f"{name}_weighted"]), abs=1e-6)
        assert getattr(micro, name) == pytest.approx(float(values["acc"]), abs=1e-6)
    assert macro.support == 120


def test_never_predicted_class_reports_zero_with_a_warning():
    true, pred = torch.tensor([0, 1, 2, 2]), torch.tensor([0, 0, 2, 2])
    with pytest.warns(UndefinedMetricWarning, match="precision of class 'b'.*never predicted"):
        rows = report_rows(Counts.from_confusion(confusion(pred, true, 3)), ["a", "b", "c"])
    assert rows[1].precision == 0.0
    assert rows[1].recall == 0.0


def test_multilabel_counts_and_markdown():
    # label 0: tn=1 fp=1 fn=0 tp=2; label 1: tn=2 fp=0 fn=1 tp=1
    matrices = torch.tensor([[[1, 1], [0, 2]], [[2, 0], [1, 1]]])
    rows = report_rows(Counts.from_confusion(matrices), ["x", "y"])
    assert (rows[0].precision, rows[0].recall, rows[0].support) == (pytest.approx(2 / 3), 1.0, 2)
    assert (rows[1].precision, rows[1].recall, rows[1].support) == (1.0, 0.5, 2)
    micro = rows[-1]
    assert micro.precision == pytest.approx(3 / 4) and micro.recall == pytest.approx(3 / 4)
    text = markdown(rows, {"test/hamming": 0.25})
    assert "| x | 0.6667 | 1.0000 | 0.8000 | 2 |" in text
    assert "| test/hamming | 0.2500 |" in text


def _read_csv(path):
    with path.open() as handle:
        return {row["class"]: row for row in csv.DictReader(handle)}


def test_callback_writes_report_figure_and_tensorboard_text(
    compose_config, fake_data_dir, tmp_path
):
    cfg = compose_config(
        [
            "experiment=mnist/mlp",
            f"paths.data_dir={fake_data_dir}",
            "trainer=cpu",
            "trainer.max_epochs=1",
            "data.val_size=100",
            "metrics.top_k=[1,3]",
        ]
    )
    train(cfg)
    rows = _read_csv(tmp_path / "report.csv")
    assert len(rows) == 13  # 10 classes + macro, weighted, micro
    per_class = list(rows.values())[:10]
    assert per_class[3]["class"] == "3 - three"  # names from the data set
    assert sum(int(row["support"]) for row in per_class) == 200  # every test image once
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert float(rows["macro"]["f1"]) == pytest.approx(metrics["test/f1"], abs=1e-6)
    assert float(rows["micro"]["recall"]) == pytest.approx(metrics["test/acc"], abs=1e-6)
    text = (tmp_path / "report.md").read_text()
    assert "| test/acc_top3 |" in text and "acc_top5" not in text
    assert (tmp_path / "figures" / "test_confusion_matrix.png").stat().st_size > 1000
    events = EventAccumulator(str(tmp_path / "tensorboard"), size_guidance={"tensors": 0})
    events.Reload()
    tags = events.Tags()
    assert "test/classification_report/text_summary" in tags["tensors"]
    assert "test/confusion_matrix" in tags["images"]


def test_regression_runs_write_no_report(compose_config, tmp_path):
    cfg = compose_config(["trainer=cpu", "trainer.max_epochs=1", "logger=csv"])
    train(cfg)
    assert (tmp_path / "metrics.json").is_file()
    assert not (tmp_path / "report.csv").exists()
