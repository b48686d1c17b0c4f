"""Where ``dlbasics-train ckpt_path=...`` writes: the run dir the checkpoint belongs to.

A resumed run continues its own run: its metrics.json, TensorBoard events, log and
checkpoints stay in one dir, instead of a second run dir holding the second half.
``ckpt_path=<run>/checkpoints/<file>.ckpt`` continues ``<run>``; ``ckpt_path=last``
continues the newest run under ``runs/`` that has a ``checkpoints/last.ckpt`` (for a CV
run, ``cv.folds``: one in a ``fold_<i>`` dir) and was started with the same overrides
(apart from ``ckpt_path`` and the training length, which a continuation changes). Hydra
then writes this command's config to ``.hydra/continued/<time>/``, so the run's original
``.hydra/config.yaml``, which eval and predict read, is never overwritten.

Hydra resolves these values once in the launching process (``use_cache=True``).
"""

from collections.abc import Sequence
from pathlib import Path

from omegaconf import OmegaConf

from dlbasics.utils.run_dir import saved_config_path

LAST = "last"
LAST_CHECKPOINT = Path("checkpoints") / "last.ckpt"
FOLD_PREFIX = "fold_"  # <run>/fold_<i>: one fold of a CV run (training/cv.py)
# overrides a continuation may change without becoming another run
LENGTH_PREFIXES = ("ckpt_path=", "trainer.max_epochs=", "trainer.max_steps=", "hydra.")


def run_key(overrides: Sequence[str]) -> list[str]:
    return sorted(str(item) for item in overrides if not str(item).startswith(LENGTH_PREFIXES))


def saved_run_overrides(run_dir: Path) -> list[str] | None:
    path = saved_config_path(run_dir).with_name("overrides.yaml")
    return run_key(list(OmegaConf.load(path))) if path.is_file() else None


def run_checkpoint(run_dir: Path) -> Path | None:
    """The checkpoint that makes ``run_dir`` continuable: its ``checkpoints/last.ckpt`` or,
    for a CV run, the newest one of its folds."""
    own = run_dir / LAST_CHECKPOINT
    if own.is_file():
        return own
    folds = list(run_dir.glob(f"{FOLD_PREFIX}*/{LAST_CHECKPOINT}"))
    return max(folds, key=lambda path: path.stat().st_mtime) if folds else None


def run_of_checkpoint(ckpt_path: str | Path) -> Path | None:
    """``<run>`` for a checkpoint in ``<run>/checkpoints/`` or ``<run>/fold_<i>/checkpoints/``
    of a run dir with a saved config."""
    path = Path(ckpt_path).expanduser()
    run_dir = path.resolve().parent.parent
    if run_dir.name.startswith(FOLD_PREFIX) and not saved_config_path(run_dir).is_file():
        run_dir = run_dir.parent
    return run_dir if path.is_file() and saved_config_path(run_dir).is_file() else None


def newest_matching_run(root: Path, overrides: Sequence[str]) -> Path | None:
    wanted = run_key(overrides)
    candidates = sorted(root.glob("*"), key=lambda p: p.stat().st_mtime, reverse=True)
    for candidate in candidates:
        if run_checkpoint(candidate) is not None and saved_run_overrides(candidate) == wanted:
            return candidate
    return None


def continued_run(root: str, ckpt_path: object, overrides: object) -> Path | None:
    if ckpt_path in (None, "None", "null", ""):
        return None
    if str(ckpt_path) == LAST:
        return newest_matching_run(Path(root), list(overrides or []))  # type: ignore[call-overload]
    return run_of_checkpoint(str(ckpt_path))


def choose_run_dir(root: str, fresh_name: str, ckpt_path: object, overrides: object) -> str:
    """``root/fresh_name``, or the run dir ``ckpt_path`` continues."""
    run_dir = continued_run(root, ckpt_path, overrides)
    return str(run_dir) if run_dir is not None else str(Path(root) / fresh_name)


def choose_config_dir(
    root: str, fresh_name: str, ckpt_path: object, overrides: object, now: str
) -> str:
    """``.hydra`` for a fresh run; ``.hydra/continued/<now>`` when continuing one."""
    run_dir = continued_run(root, ckpt_path, overrides)
    return ".hydra" if run_dir is None else str(Path(".hydra") / "continued" / now)


OmegaConf.register_new_resolver("continued_run_dir", choose_run_dir, use_cache=True, replace=True)
OmegaConf.register_new_resolver(
    "continued_config_dir", choose_config_dir, use_cache=True, replace=True
)
