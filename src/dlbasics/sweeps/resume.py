"""Where a multirun writes: a fresh dir, or with ``resume=true`` the last one of the same sweep.

Hydra resolves ``hydra.sweep.dir`` once in the launching process and copies the
resolver cache into every job's config, so the choice made here holds for the
whole sweep (``use_cache=True`` on registration).
"""

from collections.abc import Sequence
from pathlib import Path

from omegaconf import OmegaConf

MULTIRUN_FILE = "multirun.yaml"
IGNORED_PREFIXES = ("resume=", "hydra.sweep.dir=")


def sweep_key(overrides: Sequence[str]) -> list[str]:
    """The command-line overrides that define a sweep; ``resume`` itself does not."""
    return sorted(str(item) for item in overrides if not str(item).startswith(IGNORED_PREFIXES))


def saved_overrides(sweep_dir: Path) -> list[str] | None:
    path = sweep_dir / MULTIRUN_FILE
    if not path.is_file():
        return None
    saved = OmegaConf.load(path)
    overrides = OmegaConf.select(saved, "hydra.overrides.task", default=None)
    return None if overrides is None else sweep_key(list(overrides))


def choose_sweep_dir(root: str, fresh_name: str, resume: object, overrides: object) -> str:
    """``root/fresh_name``, unless ``resume`` is true and an earlier sweep under ``root``
    ran the same overrides: then the newest such dir, so finished jobs are skipped."""
    fresh = str(Path(root) / fresh_name)
    if str(resume).lower() not in ("true", "1", "yes"):
        return fresh
    wanted = sweep_key(list(overrides or []))  # type: ignore[call-overload]
    candidates = sorted(Path(root).glob("*"), key=lambda p: p.stat().st_mtime, reverse=True)
    for candidate in candidates:
        if candidate.is_dir() and saved_overrides(candidate) == wanted:
            return str(candidate)
    return fresh
