"""Sweep results tables, resume, failure recording and collision-free sweep dirs."""

import csv
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf

from dlbasics.errors import DataError
from dlbasics.sweeps import cli
from dlbasics.sweeps.jobs import STARTED, read_job_status, write_job_status
from dlbasics.sweeps.resume import choose_sweep_dir
from dlbasics.sweeps.summary import SUMMARY_CSV, write_summary
from dlbasics.train import main as train_main
from tests.conftest import REPO_ROOT, run_cli


def make_job(
    sweep: Path,
    num: int,
    overrides: list[str],
    metrics: dict | None,
    status: str = "completed",
    error: str = "",
) -> Path:
    job = sweep / str(num)
    (job / ".hydra").mkdir(parents=True)
    config = {"model": {"monitor": "val/acc", "monitor_mode": "max"}, "optimized_metric": None}
    OmegaConf.save(OmegaConf.create(config), job / ".hydra" / "config.yaml")
    OmegaConf.save(OmegaConf.create(overrides), job / ".hydra" / "overrides.yaml")
    if metrics is not None:
        (job / "metrics.json").write_text(json.dumps(metrics))
    write_job_status(job, status, overrides, error)
    return job


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open() as handle:
        return list(csv.DictReader(handle))


def test_summary_sorts_by_monitor_marks_failures_and_aggregates_seeds(tmp_path: Path) -> None:
    make_job(tmp_path, 0, ["lr=0.1", "seed=0"], {"val/acc": 0.5, "val/acc_best": 0.60})
    make_job(tmp_path, 1, ["lr=0.1", "seed=1"], {"val/acc": 0.7, "val/acc_best": 0.80})
    make_job(tmp_path, 2, ["lr=0.5", "seed=0"], {"val/acc": 0.9, "val/acc_best": 0.90})
    make_job(tmp_path, 3, ["lr=0.5", "seed=1"], None, "failed", "ConfigError: lr bad")
    make_job(tmp_path, 4, ["lr=0.9", "seed=0"], {"val/acc": None, "val/acc_best": None})
    write_summary(tmp_path)
    rows = read_rows(tmp_path / SUMMARY_CSV)
    assert [r["job"] for r in rows[:3]] == ["2", "1", "0"]  # best val/acc_best first
    status = {r["job"]: (r["status"], r["error"]) for r in rows}
    assert status["3"] == ("failed", "ConfigError: lr bad")
    assert status["4"] == ("failed", "val/acc_best is not finite (the run diverged)")
    aggregate = {r["lr"]: r for r in read_rows(tmp_path / "summary_aggregate.csv")}
    assert aggregate["0.1"]["runs"] == "2"
    assert float(aggregate["0.1"]["val/acc_best_mean"]) == pytest.approx(0.70)
    assert float(aggregate["0.1"]["val/acc_best_std"]) == pytest.approx(0.141421, abs=1e-6)
    assert aggregate["0.5"]["runs"] == "1"  # the failed seed is not averaged in
    markdown = (tmp_path / "summary.md").read_text()
    assert "5 jobs: 3 completed, 2 failed; sorted by val/acc_best (max)" in markdown
    assert "| 0.1 | 2 | 0.6 ± 0.1414 | 0.7 ± 0.1414 |" in markdown


def test_summarize_cli_rebuilds_a_partial_sweep_and_rejects_a_missing_dir(
    tmp_path: Path, capsys
) -> None:
    make_job(tmp_path, 0, ["lr=0.1"], {"val/acc_best": 0.6})
    (tmp_path / "1" / ".hydra").mkdir(parents=True)  # a job killed before it wrote anything
    OmegaConf.save(OmegaConf.create({}), tmp_path / "1" / ".hydra" / "config.yaml")
    assert cli.main([str(tmp_path)]) == 0
    rows = read_rows(tmp_path / SUMMARY_CSV)
    assert [(r["job"], r["status"]) for r in rows] == [("0", "completed"), ("1", "missing")]
    assert cli.main([str(tmp_path / "nope")]) == 2
    assert "is not a directory" in capsys.readouterr().err


def test_a_started_job_reads_running_while_its_process_lives(tmp_path: Path) -> None:
    alive = tmp_path / "alive"
    alive.mkdir()
    write_job_status(alive, STARTED, ["lr=0.1"])  # this process: alive
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    killed = tmp_path / "killed"
    killed.mkdir()
    record = {
        "status": STARTED,
        "overrides": [],
        "error": "",
        "pid": int(dead.stdout),
        "host": socket.gethostname(),
    }
    (killed / "job.json").write_text(json.dumps(record))
    assert read_job_status(alive)["status"] == "running"
    assert read_job_status(killed)["status"] == "interrupted"


def test_empty_sweep_dir_gets_an_empty_summary(tmp_path: Path) -> None:
    assert write_summary(tmp_path) == []
    assert "0 jobs: none" in (tmp_path / "summary.md").read_text()
    with pytest.raises(DataError, match="not a directory"):
        write_summary(tmp_path / "missing")


def test_resume_picks_the_newest_sweep_with_the_same_overrides(tmp_path: Path) -> None:
    for name, overrides in (
        ("a", ["lr=0.1,0.2"]),
        ("b", ["lr=0.1,0.2", "resume=true"]),
        ("c", ["lr=0.3"]),
    ):
        (tmp_path / name).mkdir()
        saved = {"hydra": {"overrides": {"task": overrides}}}
        OmegaConf.save(OmegaConf.create(saved), tmp_path / name / "multirun.yaml")
    os.utime(tmp_path / "a", (1, 1))
    root = str(tmp_path)
    assert choose_sweep_dir(root, "new", False, ["lr=0.1,0.2"]) == str(tmp_path / "new")
    assert choose_sweep_dir(root, "new", True, ["resume=true", "lr=0.1,0.2"]) == str(tmp_path / "b")
    assert choose_sweep_dir(root, "new", True, ["lr=0.3"]) == str(tmp_path / "c")
    assert choose_sweep_dir(root, "new", True, ["lr=0.4"]) == str(tmp_path / "new")


def sweep_dirs(log_dir: Path) -> list[Path]:
    return sorted((log_dir / "train" / "multiruns").glob("*"))


def test_sweep_with_a_failing_and_a_diverging_job_goes_on_and_resumes(tmp_path: Path) -> None:
    """lr=-1 fails config validation, lr=1e12 diverges to NaN; the good jobs still finish,
    the table records both problems, and a rerun with resume=true runs only the failures."""
    args = [
        "hydra.mode=MULTIRUN",
        "trainer=cpu",
        "callbacks=none",
        "trainer.max_epochs=1",
        "optimizer.lr=0.03,-1,1e12",
        "seed=0,1",
    ]
    first = run_cli("train", *args, log_dir=tmp_path)
    assert first.returncode == 0, first.stderr[-2000:]
    [sweep] = sweep_dirs(tmp_path)
    rows = {(r["optimizer.lr"], r["seed"]): r for r in read_rows(sweep / SUMMARY_CSV)}
    status = {key: row["status"] for key, row in rows.items()}
    assert status == {
        ("0.03", "0"): "completed",
        ("0.03", "1"): "completed",
        ("-1", "0"): "failed",
        ("-1", "1"): "failed",
        ("1000000000000.0", "0"): "failed",
        ("1000000000000.0", "1"): "failed",
    }
    assert "optimizer.lr=-1," in rows["-1", "0"]["error"]
    assert "Invalid learning rate: -1" in rows["-1", "0"]["error"]
    assert "not finite" in rows["1000000000000.0", "1"]["error"]
    assert float(rows["0.03", "0"]["val/loss_best"]) < 1.0
    assert (sweep / "summary.md").is_file() and (sweep / "curves.png").is_file()
    good, bad = rows["0.03", "0"]["job"], rows["-1", "0"]["job"]
    finished = (sweep / good / "metrics.json").stat().st_mtime_ns

    again = run_cli("train", *args, "resume=true", log_dir=tmp_path)
    assert again.returncode == 0, again.stderr[-2000:]
    assert sweep_dirs(tmp_path) == [sweep]
    log = again.stdout + again.stderr
    skipped = {line.split("skipping ")[1] for line in log.splitlines() if "skipping " in line}
    # the two lr=0.03 jobs and the two diverged ones wrote metrics.json: skipped
    assert len(skipped) == 4 and f"skipping {sweep / good}:" in log
    assert f"skipping {sweep / bad}:" not in log  # failed jobs run again
    assert (sweep / good / "metrics.json").stat().st_mtime_ns == finished


def test_two_sweeps_started_together_get_their_own_dirs(tmp_path: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "dlbasics.train",
        "-m",
        f"paths.log_dir={tmp_path}",
        "trainer=cpu",
        "callbacks=none",
        "logger=csv",
        "debug=fast_dev_run",
    ]
    runs = [
        subprocess.Popen(
            command, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    pids = {str(run.pid) for run in runs}
    assert all(run.wait(timeout=600) == 0 for run in runs)
    dirs = sweep_dirs(tmp_path)
    assert len(dirs) == 2 and {d.name.rsplit("_", 1)[1] for d in dirs} == pids
    assert all((d / "0" / "metrics.json").is_file() for d in dirs)


def test_sweep_over_an_unknown_key_stops_before_any_job(tmp_path: Path, capsys, monkeypatch):
    """In this process (the console script's main), which is what a shell runs."""
    monkeypatch.setattr(
        sys,
        "argv",
        ["dlbasics-train", f"paths.log_dir={tmp_path}", "hydra.mode=MULTIRUN", "model.nope=1,2"],
    )
    GlobalHydra.instance().clear()
    with pytest.raises(SystemExit) as stopped:
        train_main()
    assert stopped.value.code != 0
    assert "Could not override 'model.nope'" in capsys.readouterr().err
    assert not list(tmp_path.glob("train/multiruns/*/0"))
