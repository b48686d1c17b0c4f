"""The figures at a sweep's root: a metric against a swept number, and chosen curves."""

from pathlib import Path

import pytest
from omegaconf import OmegaConf
from torch.utils.tensorboard import SummaryWriter

from dlbasics.errors import ConfigError
from dlbasics.studies.metric_against import (
    against_markdown,
    figure_name,
    plot_against,
    series_against,
)
from dlbasics.studies.sweep_curves import plot_curves, run_labels, wants_log_axis
from dlbasics.sweeps import cli
from dlbasics.sweeps.jobs import check_sweep_figures
from tests.conftest import run_cli
from tests.tensorboard_runs import load_events
from tests.test_sweeps import make_job, sweep_dirs

LENGTH_JOBS = [
    ({"data.seq_len": "5", "model.net.encoder": "srn", "seed": "0"}, {"test/acc": 0.8}),
    ({"data.seq_len": "5", "model.net.encoder": "srn", "seed": "1"}, {"test/acc": 0.6}),
    ({"data.seq_len": "15", "model.net.encoder": "srn", "seed": "0"}, {"test/acc": 0.2}),
    ({"data.seq_len": "5", "model.net.encoder": "lstm", "seed": "0"}, {"test/acc": 0.9}),
    ({"data.seq_len": "15", "model.net.encoder": "lstm", "seed": "0"}, {"test/acc": 0.7}),
    ({"data.seq_len": "25", "model.net.encoder": "lstm", "seed": "0"}, {"test/acc": None}),
]


def test_series_average_seeds_and_skip_jobs_without_the_metric() -> None:
    series = series_against(LENGTH_JOBS, "data.seq_len", "test/acc")
    assert list(series) == ["encoder=lstm", "encoder=srn"]
    srn = [(p.x, round(p.mean, 6), round(p.std, 6), p.runs) for p in series["encoder=srn"]]
    assert srn == [(5.0, 0.7, 0.141421, 2), (15.0, 0.2, 0.0, 1)]
    lstm = [(p.x, p.mean) for p in series["encoder=lstm"]]
    assert lstm == [(5.0, 0.9), (15.0, 0.7)]  # length 25 diverged: no point, not a zero
    table = against_markdown(series, "data.seq_len", "test/acc").splitlines()
    assert table[2] == "| data.seq_len | encoder=lstm | encoder=srn |"
    assert table[4:] == ["| 5 | 0.9 | 0.7 ± 0.14 |", "| 15 | 0.7 | 0.2 |"]


def test_the_figure_file(tmp_path: Path) -> None:
    series = series_against(LENGTH_JOBS, "data.seq_len", "test/acc")
    path = plot_against(series, "data.seq_len", "test/acc", tmp_path)
    assert path == tmp_path / figure_name("test/acc", "data.seq_len")
    assert path.name == "test_acc_vs_seq_len.png" and path.stat().st_size > 10_000


def test_bad_against_keys_are_named() -> None:
    with pytest.raises(ConfigError, match=r"sweep_figures.against=data.batch_size: no job"):
        series_against(LENGTH_JOBS, "data.batch_size", "test/acc")
    jobs = [({"model.net.encoder": "srn"}, {"test/acc": 0.5})]
    with pytest.raises(ConfigError, match=r"value 'srn', not a number"):
        series_against(jobs, "model.net.encoder", "test/acc")
    cfg = OmegaConf.create({"sweep_figures": {"against": "data.seq_len"}})
    check_sweep_figures(cfg, ["data.seq_len=5", "+variant=x"])  # swept: fine
    with pytest.raises(ConfigError, match=r"does not vary data.seq_len .*sweep it, e.g."):
        check_sweep_figures(cfg, ["model.net.encoder=srn"])
    check_sweep_figures(OmegaConf.create({}), [])  # nothing asked: nothing checked


def write_scalars(run_dir: Path, tag: str, values: list[float]) -> None:
    writer = SummaryWriter(str(run_dir / "tensorboard"))
    for step, value in enumerate(values):
        writer.add_scalar(tag, value, step * 10)
    writer.close()


def test_chosen_curves_are_drawn_per_step_and_explosions_on_a_log_axis(tmp_path: Path) -> None:
    write_scalars(tmp_path / "0", "grad_norm/u", [24.0, 280.0, 932.0, 1.5e-4])
    write_scalars(tmp_path / "1", "grad_norm/u", [24.0, 18.0, 13.0, 28.0])
    runs = [(tmp_path / "0", {"+variant": "none"}), (tmp_path / "1", {"+variant": "clip"})]
    assert run_labels(runs) == ["+variant=none", "+variant=clip"]
    path = plot_curves(runs, "val/acc_best", tmp_path, tags=["grad_norm/u"])
    assert path == tmp_path / "curves.png" and path.stat().st_size > 10_000
    assert plot_curves(runs, "val/acc_best", tmp_path, tags=["not/logged"]) is None
    assert wants_log_axis([24.0, 932.0, 1.5e-4]) and not wants_log_axis([24.0, 18.0, 13.0])
    assert not wants_log_axis([0.0, 5.0]) and not wants_log_axis([])


def test_summarize_draws_what_the_jobs_config_asks_and_sends_it_to_tensorboard(
    tmp_path: Path,
) -> None:
    for number, (overrides, metrics) in enumerate(LENGTH_JOBS[:5]):
        job = make_job(tmp_path, number, [f"{k}={v}" for k, v in overrides.items()], metrics)
        config = OmegaConf.load(job / ".hydra" / "config.yaml")
        config.sweep_figures = {"against": "data.seq_len", "metric": "test/acc", "curves": None}
        OmegaConf.save(config, job / ".hydra" / "config.yaml")
    cli.summarize(tmp_path)
    assert (tmp_path / "test_acc_vs_seq_len.png").is_file()
    summary = (tmp_path / "summary.md").read_text()
    assert "## test/acc against data.seq_len" in summary and "| 15 | 0.7 | 0.2 |" in summary
    events = load_events(tmp_path)
    assert events.Tags()["images"] == ["sweep/test/acc_vs_data.seq_len"]
    cli.summarize(tmp_path)  # redrawn (a resumed sweep): the figure is in TensorBoard once
    assert len(list((tmp_path / "tensorboard").glob("events.out.tfevents.*"))) == 1
    assert len(load_events(tmp_path).Images("sweep/test/acc_vs_data.seq_len")) == 1


def test_the_memory_study_end_to_end_and_a_wrong_key_stops_it_before_any_job(
    tmp_path: Path,
) -> None:
    quick = ["experiment=study/memory_length", "trainer=cpu", "trainer.max_epochs=1"]
    done = run_cli("train", *quick, "data.seq_len=5,6", "model.net.encoder=srn", log_dir=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    [sweep] = sweep_dirs(tmp_path)
    assert (sweep / "test_acc_vs_seq_len.png").is_file()
    assert "| 5 |" in (sweep / "summary.md").read_text()

    wrong = tmp_path / "wrong"
    bad = run_cli("train", *quick, "sweep_figures.against=data.batch_size", log_dir=wrong)
    assert bad.returncode != 0
    assert "sweep_figures.against=data.batch_size: the sweep does not vary" in bad.stderr
    [stopped] = sweep_dirs(wrong)
    assert not (stopped / "0" / "metrics.json").exists()  # no job trained
    assert sweep_dirs(tmp_path) == [sweep] and (sweep / "summary.md").is_file()
