"""hydra/launcher=submitit_slurm | submitit_local | joblib: composed settings, real local runs."""

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from hydra_plugins.hydra_joblib_launcher.config import JobLibLauncherConf
from hydra_plugins.hydra_submitit_launcher.config import LocalQueueConf, SlurmQueueConf
from omegaconf import DictConfig, OmegaConf

from dlbasics.errors import ConfigError
from dlbasics.sweeps.launchers import check_launcher
from dlbasics.utils.cli import CONFIG_DIR
from tests.conftest import REPO_ROOT

# pytest resets warning filters per test: repeat dlbasics.sweeps.launchers' filter here
pytestmark = pytest.mark.filterwarnings("ignore:(?s).*is validated against ConfigStore schema")
SCHEMAS = {"submitit_slurm": SlurmQueueConf, "submitit_local": LocalQueueConf}
SCHEMAS["joblib"] = JobLibLauncherConf
# the smallest real job: 4 Gaussian blobs, an MLP on the CPU, one epoch, no figures
SMALL = ["data=blobs", "model=mlp", "trainer=cpu", "logger=csv", "extras.print_config=false"]
QUICK = [*SMALL, "trainer.max_epochs=1", "callbacks=none"]


def composed(*overrides: str) -> DictConfig:
    """train.yaml with its hydra node, as a multirun job sees it."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose("train", overrides=list(overrides), return_hydra_config=True)
    GlobalHydra.instance().clear()
    return cfg


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_each_launcher_file_sets_every_key_of_the_plugin_schema(name: str) -> None:
    """Hydra merges our file onto the plugin's schema of the same name; setting every key
    keeps the file complete once Hydra stops that matching."""
    ours = OmegaConf.load(Path(CONFIG_DIR) / "hydra" / "launcher" / f"{name}.yaml")
    assert set(ours) == {field.name for field in dataclasses.fields(SCHEMAS[name])}
    cfg = composed(f"hydra/launcher={name}")
    schema = OmegaConf.get_type(cfg.hydra, "launcher")  # Hydra imports plugins itself: by name
    assert (schema.__module__, schema.__name__) == (
        SCHEMAS[name].__module__,
        SCHEMAS[name].__name__,
    )


@pytest.mark.parametrize(
    ("trainer", "tasks", "gpus"),
    [(["trainer=ddp_cpu"], 2, None), (["trainer=ddp", "trainer.devices=4"], 4, 4)],
)
def test_slurm_gives_each_rank_a_task_and_gpus_only_to_gpu_trainers(trainer, tasks, gpus):
    cfg = composed("hydra/launcher=submitit_slurm", "trainer.num_nodes=3", *trainer)
    launcher = cfg.hydra.launcher
    assert launcher.tasks_per_node == cfg.trainer.devices == tasks
    assert launcher.nodes == cfg.trainer.num_nodes == 3
    assert launcher.gpus_per_node == gpus
    assert launcher.max_num_timeout > 0  # a timed-out job is requeued and resumes
    sweep_dir = Path(cfg.hydra.sweep.dir)
    assert sweep_dir in Path(launcher.submitit_folder).parents


def test_local_and_joblib_settings() -> None:
    local = composed("hydra/launcher=submitit_local", "trainer=ddp", "trainer.devices=2")
    assert local.hydra.launcher.tasks_per_node == 1  # local tasks are no DDP ranks
    assert local.hydra.launcher.gpus_per_node == 2  # CUDA_VISIBLE_DEVICES=0,1
    assert Path(local.hydra.sweep.dir) in Path(local.hydra.launcher.submitit_folder).parents
    joblib = composed("hydra/launcher=joblib", "hydra.launcher.n_jobs=3")
    assert joblib.hydra.launcher.n_jobs == 3
    assert composed("hydra/launcher=joblib").hydra.launcher.n_jobs == 2


def check_as_job(*overrides: str) -> None:
    cfg = composed(*overrides)
    HydraConfig.instance().set_config(cfg)
    try:
        check_launcher(cfg)
    finally:
        HydraConfig.instance().cfg = None


@pytest.mark.parametrize("name", ["joblib", "submitit_local"])
def test_a_multi_process_trainer_under_a_one_process_launcher_fails_with_the_fix(name) -> None:
    with pytest.raises(ConfigError, match=rf"{name} .*trainer\.devices=2.*trainer=cpu"):
        check_as_job(f"hydra/launcher={name}", "trainer=ddp_cpu")
    check_as_job("hydra/launcher=joblib", "trainer=cpu")  # one device: fine
    check_as_job("trainer=ddp_cpu")  # the basic launcher runs DDP jobs (issue 16, part 1)


def worktree_env() -> dict[str, str]:
    """This checkout's src first, also in the processes submitit and joblib start."""
    src = str(REPO_ROOT / "src")
    return {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}


def sweep(log_dir: Path, *overrides: str, timeout: int = 300) -> subprocess.CompletedProcess:
    """``dlbasics-train -m`` the way a user runs it (this worktree's src first)."""
    command = [sys.executable, "-m", "dlbasics.train", "-m", f"paths.log_dir={log_dir}"]
    return subprocess.run(
        [*command, *overrides], cwd=REPO_ROOT, env=worktree_env(), capture_output=True, text=True,
        timeout=timeout,
    )  # fmt: skip


def assert_two_completed_jobs(log_dir: Path) -> Path:
    [sweep_dir] = (log_dir / "train" / "multiruns").glob("*")
    jobs = sorted(p for p in sweep_dir.iterdir() if p.is_dir() and p.name.isdigit())
    assert [p.name for p in jobs] == ["0", "1"]
    for job in jobs:
        assert json.loads((job / "job.json").read_text())["status"] == "completed"
        assert json.loads((job / "metrics.json").read_text())["test/acc"] > 0.5
    rows = (sweep_dir / "summary.csv").read_text().splitlines()
    assert len(rows) == 3 and {r.split(",")[1] for r in rows[1:]} == {"completed"}
    return sweep_dir


def test_submitit_local_runs_a_sweep_for_real(tmp_path: Path) -> None:
    done = sweep(tmp_path, "hydra/launcher=submitit_local", *QUICK, "seed=0,1")
    assert done.returncode == 0, done.stderr[-3000:]
    sweep_dir = assert_two_completed_jobs(tmp_path)
    # submitit's pickles and logs stay inside the sweep dir, one folder per job
    assert len([p for p in (sweep_dir / ".submitit").iterdir() if p.name.isdigit()]) == 2


def test_joblib_runs_a_sweep_for_real(tmp_path: Path) -> None:
    done = sweep(tmp_path, "hydra/launcher=joblib", *QUICK, "seed=0,1")
    assert done.returncode == 0, done.stderr[-3000:]
    assert_two_completed_jobs(tmp_path)


def wait_for(path: Path, process: subprocess.Popen, timeout: float = 120) -> None:
    stop = time.monotonic() + timeout
    while not path.exists():
        assert process.poll() is None, process.communicate()[1][-3000:]
        assert time.monotonic() < stop, f"{path} never appeared"
        time.sleep(0.2)


def signal_mid_training(log_dir: Path, *overrides: str) -> tuple[Path, str, int]:
    """A 20-epoch submitit_local job that gets SIGUSR2 once its first last.ckpt exists,
    the signal SLURM (and the local executor, at timeout) sends before a job's time runs
    out. Returns the job dir, submitit's logs of the job and the first process's pid."""
    command = [sys.executable, "-m", "dlbasics.train", "-m", f"paths.log_dir={log_dir}"]
    command += ["hydra/launcher=submitit_local", *SMALL, "callbacks=model_checkpoint"]
    command += ["trainer.max_epochs=20", "seed=0", *overrides]
    process = subprocess.Popen(
        command, cwd=REPO_ROOT, env=worktree_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    sweep_root = log_dir / "train" / "multiruns"
    wait_for(sweep_root, process)
    [sweep_dir] = sweep_root.glob("*")
    job = sweep_dir / "0"
    wait_for(job / "checkpoints" / "last.ckpt", process)  # the first epoch has ended
    first_pid = json.loads((job / "job.json").read_text())["pid"]
    os.kill(first_pid, signal.SIGUSR2)
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr[-3000:]
    assert [p.name for p in sweep_dir.iterdir() if p.name.isdigit()] == ["0"]
    [logs] = [p for p in (sweep_dir / ".submitit").iterdir() if p.name.isdigit()]
    return job, "\n".join(p.read_text() for p in sorted(logs.glob("*_log.*"))), first_pid


def test_a_requeued_submitit_job_continues_from_its_checkpoint_in_its_own_job_dir(
    tmp_path: Path,
) -> None:
    """SIGUSR2 (interrupt.signals): the job saves last.ckpt at the current step, then
    submitit's handler requeues it; the second start continues from that checkpoint."""
    job, log, first_pid = signal_mid_training(tmp_path)
    assert "this job is preempted" in log and "Requeued job" in log
    assert log.count("Starting with JobEnvironment") == 2  # run, requeue, run again
    last = job / "checkpoints" / "last.ckpt"
    assert f"Restoring states from the checkpoint path at {last}" in log
    assert not (job / "checkpoints" / "last-v1.ckpt").exists()  # no second run from scratch
    record = json.loads((job / "job.json").read_text())
    assert record["status"] == "completed" and record["pid"] != first_pid
    assert json.loads((job / "metrics.json").read_text())["epochs"] == 20
