"""Per-class precision, recall, F1 and support from confusion counts, as rows and markdown.

The averages follow torchmetrics (and scikit-learn), so the report's ``macro``
row equals the run's ``test/precision``/``recall``/``f1``: a 0/0 score counts
as 0 (:mod:`dlbasics.metrics.counts`) with a warning, and for single-label
classification a class that is neither in the targets nor ever predicted is
left out of the macro average.
"""

import csv
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import astuple, dataclass, fields
from pathlib import Path

import torch
from torch import Tensor

from dlbasics.metrics.counts import ratio, scores_from_counts

SCORES = ("precision", "recall", "f1")


class UndefinedMetricWarning(UserWarning):
    """A per-class score is 0/0 (class never predicted, or absent from the targets)."""


@dataclass
class ReportRow:
    name: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass
class Counts:
    """True positives, false positives and false negatives per class, and whether the
    counts come from a multilabel task (which changes how the macro average is taken)."""

    tp: Tensor
    fp: Tensor
    fn: Tensor
    multilabel: bool

    @classmethod
    def from_confusion(cls, matrix: Tensor) -> "Counts":
        """``(C, C)`` rows = true class, columns = predicted; or multilabel ``(L, 2, 2)``."""
        matrix = matrix.double().cpu()
        if matrix.ndim == 3:
            return cls(matrix[:, 1, 1], matrix[:, 0, 1], matrix[:, 1, 0], multilabel=True)
        tp = matrix.diagonal()
        return cls(tp, matrix.sum(0) - tp, matrix.sum(1) - tp, multilabel=False)

    @property
    def support(self) -> Tensor:
        return self.tp + self.fn


def per_class_scores(counts: Counts) -> dict[str, Tensor]:
    return scores_from_counts(counts.tp, counts.fp, counts.fn)


def _warn_undefined(counts: Counts, names: Sequence[str]) -> None:
    for index, name in enumerate(names):
        tp, fp, fn = (float(t[index]) for t in (counts.tp, counts.fp, counts.fn))
        if tp + fp == 0:
            warnings.warn(
                f"precision of class {name!r} is undefined (never predicted); reported as 0",
                UndefinedMetricWarning,
                stacklevel=3,
            )
        if tp + fn == 0:
            warnings.warn(
                f"recall of class {name!r} is undefined (not in the targets); reported as 0",
                UndefinedMetricWarning,
                stacklevel=3,
            )


def report_rows(counts: Counts, names: Sequence[str]) -> list[ReportRow]:
    """One row per class, then ``macro``, ``weighted`` and ``micro`` averages."""
    if len(names) != len(counts.tp):
        raise ValueError(f"{len(names)} class names for {len(counts.tp)} classes")
    _warn_undefined(counts, names)
    scores = per_class_scores(counts)
    support = counts.support
    rows = [
        ReportRow(name, *(float(scores[s][i]) for s in SCORES), int(support[i]))
        for i, name in enumerate(names)
    ]
    present = torch.ones_like(support)
    if not counts.multilabel:  # as torchmetrics/scikit-learn: skip classes seen nowhere
        present = ((counts.tp + counts.fp + counts.fn) > 0).double()
    total = int(support.sum())
    macro = [float(ratio((scores[s] * present).sum(), present.sum())) for s in SCORES]
    weighted = [float(ratio((scores[s] * support).sum(), support.sum())) for s in SCORES]
    micro_counts = Counts(counts.tp.sum(), counts.fp.sum(), counts.fn.sum(), counts.multilabel)
    micro = [float(per_class_scores(micro_counts)[s]) for s in SCORES]
    rows += [
        ReportRow("macro", *macro, total),
        ReportRow("weighted", *weighted, total),
        ReportRow("micro", *micro, total),
    ]
    return rows


COLUMNS = [field.name for field in fields(ReportRow)]


def write_csv(path: Path, rows: Sequence[ReportRow]) -> Path:
    with Path(path).open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["class", *COLUMNS[1:]])
        writer.writerows(astuple(row) for row in rows)
    return Path(path)


def markdown(rows: Sequence[ReportRow], summary: Mapping[str, float] | None = None) -> str:
    """The report as a markdown table (TensorBoard's text tab renders it), plus the run's
    scalar test metrics (accuracy, top-k accuracy, Hamming loss, …) below it."""
    lines = ["| class | precision | recall | f1 | support |", "|---|---:|---:|---:|---:|"]
    for row in rows:
        lines.append(
            f"| {row.name} | {row.precision:.4f} | {row.recall:.4f} | {row.f1:.4f} | "
            f"{row.support} |"
        )
    if summary:
        lines += ["", "| metric | value |", "|---|---:|"]
        lines += [f"| {name} | {value:.4f} |" for name, value in summary.items()]
    return "\n".join(lines) + "\n"
