"""Check a checkpoint file against the model it is about to be loaded into.

Lightning reports a truncated file as a zip-reader error, a foreign file as a ``KeyError``
and another model's weights as a page of missing and unexpected keys, each from deep inside
``trainer.fit``/``trainer.test``. :func:`check_checkpoint` reads the file once (as Lightning
will: on the CPU, torch's default ``weights_only``) and names the problem and the fix.
"""

import pickle
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from omegaconf import OmegaConf

from dlbasics.errors import ConfigError
from dlbasics.utils.run_dir import saved_config_path

# what Lightning's own checkpoints always hold (Trainer.save_checkpoint / ModelCheckpoint)
LIGHTNING_KEYS = ("state_dict", "pytorch-lightning_version", "loops")
CHOOSERS = ("model", "experiment")  # the overrides that pick a run's model


def read_checkpoint(
    path: str | Path, key: str = "ckpt_path", weights_only: bool | None = None
) -> dict:
    """The checkpoint at ``path`` as a dict, or a ConfigError saying why it is none."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{key}={path} does not exist; pass the path of a .ckpt file")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=weights_only)
    except pickle.UnpicklingError as error:
        if "weights only" not in str(error).lower():
            raise ConfigError(_unreadable(path, key, error)) from error
        raise ConfigError(
            f"{key}={path} holds objects that torch.load(weights_only=True) refuses "
            f"({str(error).splitlines()[0]}); it was not written by a dlbasics run, or only load "
            f"it with weights_only=False if you trust where it came from"
        ) from error
    except (RuntimeError, EOFError, OSError, ValueError) as error:
        raise ConfigError(_unreadable(path, key, error)) from error
    missing = [
        name
        for name in LIGHTNING_KEYS
        if not isinstance(checkpoint, dict) or name not in checkpoint
    ]
    if missing:
        held = sorted(map(str, checkpoint))[:5] if isinstance(checkpoint, dict) else []
        raise ConfigError(
            f"{key}={path} is a torch file but no Lightning checkpoint: it has no "
            f"{', '.join(missing)} (it holds {type(checkpoint).__name__}"
            f"{' with keys ' + ', '.join(held) if held else ''}). Pass a .ckpt that a "
            f"dlbasics run wrote (<run dir>/checkpoints/last.ckpt or epoch_*.ckpt)"
        )
    return checkpoint


def _unreadable(path: Path, key: str, error: BaseException) -> str:
    # torch's first sentence ("PytorchStreamReader failed reading zip archive: ..."), not its page
    reason = str(error).splitlines()[0].split(". ")[0] if str(error) else type(error).__name__
    return (
        f"{key}={path} is not a readable checkpoint ({path.stat().st_size} bytes; torch.load: "
        f"{reason}): the file is truncated or not a checkpoint. Pass another checkpoint of "
        f"the run (e.g. its epoch_*.ckpt beside last.ckpt)"
    )


def run_origin(path: str | Path, checkpoint: dict) -> str:
    """Which config wrote ``checkpoint``: the model and net of its run's .hydra/config.yaml
    and the overrides that chose them, or the net saved in its hyperparameters."""
    run_dir = Path(path).resolve().parent.parent
    saved = saved_config_path(run_dir)
    overrides_file = run_dir / ".hydra" / "overrides.yaml"
    if saved.is_file():
        config = OmegaConf.load(saved)
        target = OmegaConf.select(config, "model.net._target_", default=None)
        chosen: list[str] = []
        if overrides_file.is_file():
            overrides = OmegaConf.to_container(OmegaConf.load(overrides_file))
            chosen = [o for o in overrides if str(o).split("=")[0].lstrip("+~") in CHOOSERS]
            chosen += [o for o in overrides if str(o).lstrip("+~").startswith("model.net.")]
        picked = f" ({' '.join(chosen)})" if chosen else ""
        return f"it was written by the run in {run_dir}{picked}, whose net is {target}"
    net = checkpoint.get("hyper_parameters", {}).get("net")
    target = net.get("_target_") if isinstance(net, dict) else None
    return f"its saved net is {target}" if target else "it holds another model's weights"


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _shape(value: Any) -> tuple[int, ...] | None:
    return tuple(value.shape) if isinstance(value, torch.Tensor) else None


def check_checkpoint(
    path: str | Path,
    model: pl.LightningModule,
    key: str = "ckpt_path",
    weights_only: bool | None = None,
) -> dict:
    """The checkpoint at ``path`` after checking that ``model`` can load it: a ConfigError
    names a missing, truncated or foreign file, or the first key or tensor shape where the
    checkpoint's weights differ from the model's (another model config), and the fix.

    Call it once the model is built and before ``trainer.fit(..., ckpt_path=path)`` (or
    test/predict); pass the ``weights_only`` given to the Trainer, if any."""
    checkpoint = read_checkpoint(path, key, weights_only)
    saved = checkpoint["state_dict"]
    expected = model.state_dict()
    strict = getattr(model, "strict_loading", True)
    problems = []
    if strict:
        missing = [name for name in expected if name not in saved]
        unexpected = [name for name in saved if name not in expected]
        if missing:
            problems.append(f"the model's {missing[0]} is not in it ({len(missing)} keys missing)")
        if unexpected:
            problems.append(
                f"its {unexpected[0]} is not in the model ({len(unexpected)} unexpected)"
            )
    for name, value in expected.items():
        if name in saved and _shape(saved[name]) != _shape(value):
            problems.append(
                f"{name} has shape {list(_shape(saved[name]) or [])} there and "
                f"{list(_shape(value) or [])} in the model"
            )
            break
    if problems:
        raise ConfigError(
            f"{key}={path} is a checkpoint of a different model config: {'; '.join(problems)}. "
            f"{_sentence(run_origin(path, checkpoint))}. Resume with that run's model config "
            f"(the same model= and model.net.* overrides), or start a fresh run without {key}"
        )
    return checkpoint
