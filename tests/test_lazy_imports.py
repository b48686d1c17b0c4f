"""Start-up: a run that needs no sweep does not load Optuna (benchmarks/startup_time.py times
the whole start; this checks which modules it pays for)."""

import subprocess
import sys

from tests.conftest import REPO_ROOT

LAZY = {"optuna", "sqlite3"}  # Optuna loads sqlite3 with its storages
PLUGIN_SCAN = "from hydra.core.plugins import Plugins; Plugins.instance()"  # as hydra.main does


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
    assert not loaded & LAZY


def test_the_optuna_search_space_loads_optuna_only_when_a_sweep_parses_it() -> None:
    loaded = modules_after("import hydra_plugins.dlbasics_optuna.search_space")
    assert "hydra_plugins.dlbasics_optuna.search_space" in loaded
    assert not loaded & LAZY


def test_the_train_entry_point_and_hydras_plugin_scan_load_no_optuna() -> None:
    loaded = modules_after(f"import dlbasics.train; {PLUGIN_SCAN}")
    assert {"pytorch_lightning", "hydra_plugins.dlbasics_optuna.sweeper"} <= loaded
    assert not loaded & LAZY
