"""What a benchmark or study script hands ``dlbasics-results`` (``--record FILE``)."""

import argparse
import json
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path


def write_measurements(path: str | Path, values: dict[str, float], method: str) -> Path:
    """Named numbers and one sentence on how they were measured (benchmarks report ratios
    measured in one process). Non-finite numbers become null."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    clean = {name: float(v) if math.isfinite(float(v)) else None for name, v in values.items()}
    path.write_text(json.dumps({"values": clean, "method": method}, indent=2) + "\n")
    return path


def report_measurements(
    values: Mapping[str, float], record: str | None, method: str, width: int = 40
) -> None:
    """Print a benchmark's numbers as a two-column table (name, value) and, with
    ``--record FILE``, write them for ``dlbasics-results`` (:func:`write_measurements`)."""
    for name, value in values.items():
        print(f"{name:<{width}}{value:>10.2f}")
    if record:
        write_measurements(record, dict(values), method)


def study_main(
    studies: Mapping[str, Callable[[Path], dict[str, float]]],
    description: str,
    folder: str,
    argv: Sequence[str] | None = None,
    printed: Callable[[dict[str, float]], None] | None = None,
) -> None:
    """The command line of a study script: ``<study> [--out DIR] [--record FILE]``; the
    study writes its files into ``DIR`` (default ``logs/<folder>/<study>``)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("study", choices=sorted(studies))
    parser.add_argument("--out", type=Path, help=f"default: logs/{folder}/<study>")
    parser.add_argument("--record", help="also write the numbers here (dlbasics-results)")
    args = parser.parse_args(argv)
    values = studies[args.study](args.out or Path("logs") / folder / args.study)
    if printed is None:
        for name, value in values.items():
            print(f"{name}: {value:.6g}")
    else:
        printed(values)
    if args.record:
        write_measurements(args.record, values, f"{args.study}, seeded, one run")
