"""Commands run the way a user runs them, for the benchmarks that time whole processes
(``startup_time.py``, ``template_job.py``): fresh interpreters that import this checkout's
``dlbasics`` and can import the benchmark modules beside this file."""

import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"


def child_environment() -> dict[str, str]:
    """This process's environment with this folder and the checkout's ``src`` first on the
    path, so a child imports the code being measured (not an installed copy)."""
    paths = [str(HERE), str(SRC), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}


def train_command(log_dir: Path, overrides: Sequence[str]) -> list[str]:
    """``python -m dlbasics.train`` with its run dirs under ``log_dir``."""
    return [sys.executable, "-m", "dlbasics.train", f"paths.log_dir={log_dir}", *overrides]


def run(words: Sequence[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run ``words`` to its end; a failure stops the benchmark with the command's stderr."""
    done = subprocess.run(list(words), cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(
            f"{' '.join(words)} failed (exit {done.returncode}):\n{done.stderr[-3000:]}"
        )
    return done


def wall_seconds(words: Sequence[str], cwd: Path, env: dict[str, str]) -> float:
    """Seconds from spawning ``words`` to its exit."""
    start = time.perf_counter()
    run(words, cwd, env)
    return time.perf_counter() - start
