"""k-fold CV: fold construction, a fresh model per fold, mean ± std, test split untouched."""

import json
import os
import statistics
from pathlib import Path

import pytest
import torch

from dlbasics.callbacks.interruption import TrainingInterrupted
from dlbasics.errors import ConfigError
from dlbasics.training import cv
from dlbasics.training.continued import run_checkpoint, run_of_checkpoint
from dlbasics.training.cv import average_folds, cv_folds, fold_indices
from dlbasics.training.run import resume_callbacks
from tests.conftest import SignalAfterLastBatch, run_cli


def test_folds_partition_the_samples_with_sizes_within_one() -> None:
    folds = fold_indices(torch.zeros(103), k=4, seed=1)
    joined = torch.cat(folds).sort().values
    assert torch.equal(joined, torch.arange(103))
    assert sorted(len(f) for f in folds) == [25, 26, 26, 26]


def test_stratified_folds_keep_every_class_share() -> None:
    targets = torch.tensor([0] * 30 + [1] * 60 + [2] * 90)
    folds = fold_indices(targets, k=3, seed=0, stratified=True)
    assert torch.equal(torch.cat(folds).sort().values, torch.arange(180))
    for fold in folds:
        assert torch.bincount(targets[fold], minlength=3).tolist() == [10, 20, 30]


def test_fold_assignment_depends_on_the_seed_only() -> None:
    targets = torch.arange(50) % 5
    first = fold_indices(targets, 5, seed=3, stratified=True)
    again = fold_indices(targets, 5, seed=3, stratified=True)
    other = fold_indices(targets, 5, seed=4, stratified=True)
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    assert not all(torch.equal(a, b) for a, b in zip(first, other, strict=True))


@pytest.mark.parametrize("folds", [1, -2, 2.5, True])
def test_bad_fold_counts_are_rejected(compose_config, folds) -> None:
    cfg = compose_config([f"cv.folds={folds}"])
    with pytest.raises(ConfigError, match="cv.folds must be 0"):
        cv_folds(cfg)


def test_more_folds_than_samples_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match=r"cv.folds=8 is more than the 5 training samples"):
        fold_indices(torch.zeros(5), k=8)


def test_average_folds_is_mean_and_sample_std() -> None:
    record = average_folds([{"val/acc": 0.8}, {"val/acc": 0.9}, {"val/acc": 1.0}])
    assert record["val/acc"] == pytest.approx(0.9)
    assert record["val/acc_std"] == pytest.approx(statistics.stdev([0.8, 0.9, 1.0]))


def test_cross_validation_builds_a_fresh_model_per_fold_and_never_tests(
    compose_config, monkeypatch, tmp_path: Path
) -> None:
    cfg = compose_config(
        ["cv.folds=3", "trainer=cpu", "trainer.max_epochs=1", "callbacks=none", "logger=csv"]
    )
    built, inits, tested = [], [], []
    real_build = cv.build_model

    def build_and_remember(config):
        built.append(real_build(config))
        inits.append(built[-1].net.linear.weight.detach().clone())
        return built[-1]

    monkeypatch.setattr(cv, "build_model", build_and_remember)
    monkeypatch.setattr("pytorch_lightning.Trainer.test", lambda *a, **k: tested.append(1))
    from dlbasics.train import train

    record = train(cfg)
    assert len(built) == 3 and len({id(m) for m in built}) == 3
    # every fold starts from the seeded initial weights, not from the previous fold's
    # trained ones (the textbook's bug)
    assert torch.equal(inits[0], inits[1]) and torch.equal(inits[1], inits[2])
    assert not torch.equal(inits[1], built[0].net.linear.weight.detach())
    assert tested == []
    folds = record["cv_folds"]
    assert [f["epochs"] for f in folds] == [1.0, 1.0, 1.0]
    losses = [f["val/loss"] for f in folds]
    assert record["val/loss"] == pytest.approx(statistics.fmean(losses))
    assert record["val/loss_std"] == pytest.approx(statistics.stdev(losses))
    assert not any(k.startswith("test/") for k in record)
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["cv_k"] == 3 and saved["cv_stratified"] is False  # regression: not stratified
    assert sorted(p.name for p in tmp_path.glob("fold_*")) == ["fold_0", "fold_1", "fold_2"]


def test_a_cv_sweep_tests_only_the_configuration_with_the_best_mean_score(tmp_path: Path) -> None:
    sweep = ("-m", "cv.folds=2", "data=blobs", "model=mlp", "trainer=cpu", "callbacks=none")
    result = run_cli("train", *sweep, "trainer.max_epochs=1", "seed=0,1", log_dir=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    (sweep_dir,) = (tmp_path / "train" / "multiruns").glob("*")
    scores = {job: json.loads((sweep_dir / job / "metrics.json").read_text()) for job in ("0", "1")}
    assert all(not any(k.startswith("test/") for k in s) for s in scores.values())
    best = max(scores, key=lambda job: scores[job]["val/acc_best"])
    selected = sweep_dir / "selected_test"
    assert json.loads((selected / "selected_job.json").read_text())["seed"] == best
    tested = json.loads((selected / "metrics.json").read_text())
    assert tested["global_step"] == 640 // 64 and "cv_k" not in tested  # the full train split
    assert "test/acc" in tested
    summary = (sweep_dir / "summary.md").read_text()
    assert "2 jobs: 2 completed" in summary and f"Job {best} (" in summary


def fake_run(run_dir: Path, *checkpoints: str) -> None:
    """A run dir with a saved config and empty checkpoint files at ``checkpoints``."""
    (run_dir / ".hydra").mkdir(parents=True)
    (run_dir / ".hydra" / "config.yaml").write_text("seed: 0\n")
    for name in checkpoints:
        (run_dir / name).parent.mkdir(parents=True, exist_ok=True)
        (run_dir / name).write_bytes(b"")


def test_a_cv_run_is_continued_from_its_newest_fold_checkpoint(tmp_path: Path) -> None:
    fake_run(tmp_path / "cv", "fold_0/checkpoints/last.ckpt", "fold_1/checkpoints/last.ckpt")
    newest = tmp_path / "cv" / "fold_1" / "checkpoints" / "last.ckpt"
    os.utime(tmp_path / "cv" / "fold_0" / "checkpoints" / "last.ckpt", (1, 1))
    assert run_checkpoint(tmp_path / "cv") == newest
    assert run_of_checkpoint(newest) == (tmp_path / "cv").resolve()  # the run, not the fold
    fake_run(tmp_path / "plain", "checkpoints/last.ckpt")
    assert run_checkpoint(tmp_path / "plain") == tmp_path / "plain" / "checkpoints" / "last.ckpt"
    fake_run(tmp_path / "fresh")
    assert run_checkpoint(tmp_path / "fresh") is None


def test_a_cv_run_refuses_a_checkpoint_of_another_run(compose_config, tmp_path: Path) -> None:
    fake_run(tmp_path / "other", "checkpoints/last.ckpt")
    foreign = tmp_path / "other" / "checkpoints" / "last.ckpt"
    cfg = compose_config(["cv.folds=2", f"ckpt_path={foreign}"])
    with pytest.raises(ConfigError, match="can only continue itself; pass ckpt_path=last"):
        cv.cross_validate(cfg)


def test_a_signal_after_a_folds_last_batch_stops_before_the_next_fold(
    compose_config, monkeypatch, tmp_path: Path
) -> None:
    late = SignalAfterLastBatch()
    monkeypatch.setattr(cv, "resume_callbacks", lambda cfg: [*resume_callbacks(cfg), late])
    overrides = ["cv.folds=2", "trainer=cpu", "trainer.max_epochs=1", "callbacks=none"]
    cfg = compose_config([*overrides, "logger=csv"])
    with pytest.raises(TrainingInterrupted, match="SIGUSR1") as stop:
        cv.cross_validate(cfg)
    assert stop.value.checkpoint == str(tmp_path / "fold_0" / "checkpoints" / "last.ckpt")
    assert (tmp_path / "fold_0" / "metrics.json").is_file()  # fold 0 had finished
    assert not (tmp_path / "fold_1").exists()  # fold 1 never started

    fake_run(tmp_path)  # the saved config that makes tmp_path a run dir
    continued = compose_config([*overrides, "logger=csv", "ckpt_path=last"])
    record = cv.cross_validate(continued)
    assert record["cv_k"] == 2 and (tmp_path / "fold_1" / "metrics.json").is_file()
    assert record["cv_folds"][0] == json.loads((tmp_path / "fold_0" / "metrics.json").read_text())
