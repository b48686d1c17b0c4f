"""Start-up: a run that needs no sweep does not load Optuna (benchmarks/startup_time.py times
the whole start; this checks which modules it pays for)."""

import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT

LAZY = ("optuna", "sqlite3")  # Optuna loads sqlite3 with its storages


def modules_after(statement: str) -> set[str]:
    """The names in ``sys.modules`` of a fresh interpreter after ``statement``."""
    code = f"{statement}; import sys; print(' '.join(sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    return set(done.stdout.split())


def test_the_compat_adapter_loads_optuna_only_when_a_trial_is_asked_for() -> None:
    loaded = modules_after("import dlbasics.compat")
    assert "torch" in loaded  # the interpreter really imported the adapter
    assert not loaded & set(LAZY)


@pytest.mark.xfail(
    strict=True,
    reason="src/dlbasics/sweeps/jobs.py imports optuna at module level (for isinstance(error, "
    "optuna.TrialPruned)); remove this mark once that import is lazy",
)
def test_importing_the_train_entry_point_loads_no_optuna() -> None:
    loaded = modules_after("import dlbasics.train")
    assert "pytorch_lightning" in loaded
    assert not loaded & set(LAZY)
