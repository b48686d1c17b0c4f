"""Startup time: from process start to the first training step of ``python -m dlbasics.train``
on the default job, against the time ``python -c "import torch, pytorch_lightning, hydra,
torchmetrics"`` takes (the libraries every run loads, whatever the framework).

Three commands, each a fresh Python process started from here, taking turns ``--repeats``
times so that load from other processes hits all of them alike; each reports its median:

1. ``libraries``:   ``python -c "import torch, pytorch_lightning, hydra, torchmetrics"``,
                    from its start to the end of the imports;
2. ``import``:      ``python -c "import dlbasics.train"``, the same;
3. ``first step``:  ``python -m dlbasics.train`` (the default job, run dir in a temporary
                    folder) from its start to the first ``on_train_batch_start``.

Each child writes the wall clock (``time.time()``) to a file at its mark and ends at once
(``os._exit``): interpreter teardown, about 0.9 s after these imports here, is not start-up.
How the first step is found: the job gets one more callback (``FirstStepMarker`` below,
added as ``+callbacks.first_step_marker``), which does this at the first training batch.
The process start is the wall clock read here just before the process is spawned, so
interpreter start-up counts in all three rows alike.
What dlbasics adds is row 3 minus row 1: its own imports, composing the config, building
data, model and Trainer, and the sanity validation steps. Run:
``python benchmarks/startup_time.py --repeats 5``.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pytorch_lightning as pl

from dlbasics.utils.measurements import write_measurements

sys.path.insert(0, str(Path(__file__).parent))  # run as a script: its sibling module
from cli_runs import child_environment, run, train_command

LIBRARIES = "import torch, pytorch_lightning, hydra, torchmetrics"


class FirstStepMarker(pl.Callback):
    """Writes the wall clock to ``path`` at the first training batch, then ends the process."""

    def __init__(self, path: str) -> None:
        self.path = path

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx: int) -> None:
        Path(self.path).write_text(repr(time.time()))
        os._exit(0)  # the rest of the run is not what this benchmark measures


def marked_seconds(words: list[str], marker: Path, env: dict[str, str], cwd: Path) -> float:
    """Seconds from spawning ``words`` to the wall clock its process wrote to ``marker``."""
    marker.unlink(missing_ok=True)
    start = time.time()
    run(words, cwd, env)
    if not marker.is_file():
        raise SystemExit(f"{' '.join(words)} ended before its mark")
    return float(marker.read_text()) - start


def to_imported(code: str, workdir: Path, env: dict[str, str]) -> float:
    marker = workdir / "imported"
    mark = f"import os, time; open({str(marker)!r}, 'w').write(repr(time.time())); os._exit(0)"
    return marked_seconds([sys.executable, "-c", f"{code}; {mark}"], marker, env, workdir)


def to_first_step(workdir: Path, overrides: list[str], env: dict[str, str]) -> float:
    marker = workdir / "first_step"
    marking = [
        "+callbacks.first_step_marker._target_=startup_time.FirstStepMarker",
        f"+callbacks.first_step_marker.path={marker}",
    ]
    words = train_command(workdir / "logs", [*marking, *overrides])
    return marked_seconds(words, marker, env, workdir)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="runs per command, taking turns")
    parser.add_argument(
        "overrides", nargs="*", help="dlbasics.train overrides (default: the default job)"
    )
    parser.add_argument("--record", help="also write the numbers here (dlbasics-results)")
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    env = child_environment()
    times: dict[str, list[float]] = {"libraries": [], "import": [], "first step": []}
    with tempfile.TemporaryDirectory(prefix="startup_time_") as workdir:
        for _ in range(args.repeats):
            times["libraries"].append(to_imported(LIBRARIES, Path(workdir), env))
            times["import"].append(to_imported("import dlbasics.train", Path(workdir), env))
            times["first step"].append(to_first_step(Path(workdir), args.overrides, env))
    seconds = {name: statistics.median(values) for name, values in times.items()}
    values = {
        "libraries import s": seconds["libraries"],
        "dlbasics.train import s": seconds["import"],
        "first training step s": seconds["first step"],
        "dlbasics added s": seconds["first step"] - seconds["libraries"],
        "dlbasics import added s": seconds["import"] - seconds["libraries"],
    }
    labels = {
        "libraries import s": f'python -c "{LIBRARIES}"',
        "dlbasics.train import s": 'python -c "import dlbasics.train"',
        "first training step s": "python -m dlbasics.train, start to first training step",
        "dlbasics added s": "dlbasics adds (first step - libraries)",
        "dlbasics import added s": "... of which importing dlbasics.train",
    }
    job = " ".join(args.overrides) or "the default job"
    print(f"\nstartup, median of {args.repeats} fresh processes per command ({job}):")
    for key, value in values.items():
        print(f"{labels[key]:<72}{value:>7.2f} s")
    if args.record:
        method = (
            f"seconds from spawning a fresh process to its mark (imports done, or the first "
            f"training batch via a callback), median of {args.repeats} per command, the "
            f"commands taking turns"
        )
        write_measurements(args.record, values, method)


if __name__ == "__main__":
    main()
