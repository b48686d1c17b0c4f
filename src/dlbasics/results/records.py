"""One record per manifest entry: the numbers, the exact command, and where they came from
(date, machine, library versions, the code's git revision).

Metric specs say where a number is read from a finished run dir:

- ``test/acc`` (any name without a colon): ``metrics.json``;
- ``weights:<state_dict key>``: the tensor in the best checkpoint, as a list;
- ``tb:<tag>@<step>``, ``tb_first:<tag>``, ``tb_last:<tag>``, ``tb_min:<tag>``,
  ``tb_max:<tag>``: a TensorBoard scalar of the run;
- ``history:<column>``: the last row of ``loss_history.csv``;
- ``yaml:<file>:<dotted.key>``: a value from a YAML or JSON file of the run (or sweep) dir;
- ``exit_code`` and ``stderr:<regex>`` (its first group): how the command ended.

For a sweep, ``yaml:``, ``exit_code`` and ``stderr:`` are read once for the sweep, every
other spec once per job.
"""

import csv
import datetime
import json
import math
import os
import platform
import re
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import torch
from omegaconf import OmegaConf

from dlbasics.errors import DataError
from dlbasics.utils.loggers import read_scalars
from dlbasics.utils.run_dir import read_metrics

RECORDS_DIR = Path(__file__).resolve().parents[3] / "logs" / "results"
SWEEP_LEVEL = ("yaml:", "exit_code", "stderr:")
PACKAGES = ("torch", "pytorch-lightning", "torchmetrics", "hydra-core", "dlbasics")
HISTORY_FILE = "loss_history.csv"


def record_path(records_dir: Path, entry: str) -> Path:
    return Path(records_dir) / f"{entry}.json"


def read_record(records_dir: Path, entry: str) -> dict[str, Any] | None:
    path = record_path(records_dir, entry)
    return json.loads(path.read_text()) if path.is_file() else None


def write_record(records_dir: Path, record: dict[str, Any]) -> Path:
    """Write atomically, so an interrupted run never leaves half a record."""
    path = record_path(records_dir, record["entry"])
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".json.partial")
    partial.write_text(json.dumps(record, indent=2, sort_keys=True, allow_nan=False) + "\n")
    partial.replace(path)
    return path


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict[str, Any]:
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    # torch's intra-op threads: float sums are split by thread, so a run with another thread
    # count may differ in the last bits, and a long training run more than that
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "gpu": gpu,
        "os": platform.system(),
        "torch_threads": torch.get_num_threads(),
    }


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for package in PACKAGES:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "not installed"
    return found


def revision(repo: Path) -> str:
    """``git rev-parse --short HEAD``, with ``-dirty`` when code or configs differ from it."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(repo), *args], capture_output=True, text=True, check=False
        ).stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    changed = git("status", "--porcelain", "--", "src", "conf", "benchmarks")
    return f"{head}-dirty" if changed else head


def provenance(repo: Path) -> dict[str, Any]:
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    return {
        "date": now.isoformat(),
        "machine": machine(),
        "versions": versions(),
        "revision": revision(repo),
    }


def plain_number(value: Any) -> Any:
    """JSON-safe: floats stay floats, non-finite ones become None, tensors become lists."""
    if isinstance(value, torch.Tensor):
        return [plain_number(v) for v in value.detach().flatten().tolist()]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (list, tuple)):
        return [plain_number(v) for v in value]
    return value


@dataclass
class Finished:
    """A finished command: its run (or sweep) dir, exit code and standard error."""

    run_dir: Path
    exit_code: int
    stderr: str


def dotted(data: Any, key: str) -> Any:
    """``data[a][b]`` for ``a.b``; a key may itself hold dots (Optuna's ``best_params`` are
    keyed ``optimizer.lr``), so the longest key that matches is taken at every level."""
    while key:
        if not isinstance(data, dict):
            raise KeyError(key)
        parts = key.split(".")
        for cut in range(len(parts), 0, -1):
            head = ".".join(parts[:cut])
            if head in data:
                data, key = data[head], ".".join(parts[cut:])
                break
        else:
            raise KeyError(key)
    return data


def scalar(run_dir: Path, spec: str) -> float:
    kind, _, tag = spec.partition(":")
    tag, _, step = tag.partition("@")
    points = read_scalars(run_dir, tag)
    if not points:
        raise KeyError(spec)
    if kind == "tb":
        values = [v for s, v in points if s == int(step)]
        if not values:
            raise KeyError(spec)
        return values[0]
    values = [v for _, v in points]
    pick = {
        "tb_first": values[0],
        "tb_last": values[-1],
        "tb_min": min(values),
        "tb_max": max(values),
    }
    return pick[kind]


def read_metric(finished: Finished, spec: str, run_dir: Path | None = None) -> Any:
    """The value of ``spec`` for ``run_dir`` (default: the finished command's dir);
    KeyError when the run did not produce it."""
    run_dir = Path(run_dir or finished.run_dir)
    if spec == "exit_code":
        return finished.exit_code
    if spec.startswith("stderr:"):
        match = re.search(spec.removeprefix("stderr:"), finished.stderr)
        if match is None:
            raise KeyError(spec)
        text = match.group(1)
        return float(text) if re.fullmatch(r"-?\d+(\.\d*)?(e-?\d+)?", text) else text
    if spec.startswith("yaml:"):
        name, _, key = spec.removeprefix("yaml:").partition(":")
        path = run_dir / name
        if not path.is_file():
            raise KeyError(spec)
        return dotted(OmegaConf.to_container(OmegaConf.load(path)), key)
    if spec.startswith("weights:"):
        checkpoint = (read_metrics(run_dir) or {}).get("best_ckpt")
        if not checkpoint:
            raise KeyError(spec)
        state = torch.load(checkpoint, map_location="cpu", weights_only=True)["state_dict"]
        return state[spec.removeprefix("weights:")]
    if spec.startswith("tb"):
        return scalar(run_dir, spec)
    if spec.startswith("history:"):
        with (run_dir / HISTORY_FILE).open(newline="") as handle:
            rows = list(csv.DictReader(handle))
        return float(rows[-1][spec.removeprefix("history:")])
    return (read_metrics(run_dir) or {})[spec]


def read_metrics_of(
    entry: str,
    finished: Finished,
    specs: Iterable[str],
    run_dir: Path | None = None,
    required: bool = True,
) -> dict[str, Any]:
    """The values of ``specs``; a missing one is an error naming the entry, or, with
    ``required=False`` (one job of a sweep), left out."""
    values = {}
    for spec in specs:
        try:
            values[spec] = plain_number(read_metric(finished, spec, run_dir))
        except (KeyError, IndexError, ValueError, OSError) as error:
            if not required:
                continue
            where = run_dir or finished.run_dir
            available = sorted(read_metrics(Path(where)) or {})
            raise DataError(
                f"entry {entry}: the run in {where} produced no {spec!r} ({error!r}); "
                f"metrics.json has: {', '.join(available) or 'nothing'}"
            ) from error
    return values
