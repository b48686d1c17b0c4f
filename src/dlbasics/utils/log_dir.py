"""A log dir that cannot be written stops the run before Hydra makes its run dir.

Hydra creates ``hydra.run.dir`` (under ``paths.log_dir``) before the task starts, so a
read-only or impossible folder ends in a Python traceback from ``os.mkdir``. The Hydra
callback :class:`LogDirCheck` tries the folder first, at ``on_run_start`` and
``on_multirun_start``, and turns a failure into one ``error:`` line and exit code 2.
"""

import sys
import tempfile
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from dlbasics.errors import ConfigError
from dlbasics.utils.cli import EXIT_USER_ERROR


def check_log_dir(log_dir: str | Path, key: str = "paths.log_dir") -> Path:
    """``log_dir``, created if missing, after writing and removing a probe file in it."""
    folder = Path(log_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        reason = f"{type(error).__name__}: {error.strerror or error}"
        raise ConfigError(
            f"{key}={log_dir} cannot be written ({reason}); every run dir is made under it. "
            f"Set {key}=<a folder you can write> (or the DLBASICS_LOG_DIR variable)"
        ) from error
    return folder


class LogDirCheck(Callback):
    """Checks ``paths.log_dir`` when a run or a multirun starts (before any run dir)."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        self._check(config)

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        self._check(config)

    @staticmethod
    def _check(config: DictConfig) -> None:
        log_dir = OmegaConf.select(config, "paths.log_dir", default=None)
        if log_dir is None:
            return
        try:
            check_log_dir(log_dir)
        except ConfigError as error:  # Hydra would print a traceback for an exception here
            print(f"error: {error}", file=sys.stderr)
            raise SystemExit(EXIT_USER_ERROR) from None
