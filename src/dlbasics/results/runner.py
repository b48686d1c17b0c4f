"""``dlbasics-results run``: run manifest entries the way a user would and record them.

A training entry is ``dlbasics-train <command>`` in its own process, writing into
``<work>/<entry>/`` (``run/`` for one job, ``sweep/`` for a multirun). A sweep
reuses the sweep machinery: finished jobs are skipped when an interrupted entry runs
again, and the jobs are read back with the results table's own reader. A benchmark
entry runs its script with ``--record <file>``; the script writes what it measured.
Nothing is recorded for an entry whose command failed or missed a metric.
"""

import importlib.util
import json
import logging
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.types import RunMode

import dlbasics.sweeps
import dlbasics.utils.resolvers  # noqa: F401  (registers ${pid:})
from dlbasics.errors import ConfigError, DataError
from dlbasics.results.manifest import Entry
from dlbasics.results.records import (
    SWEEP_LEVEL,
    Finished,
    provenance,
    read_metrics_of,
    read_record,
    write_record,
)
from dlbasics.sweeps.summary import collect
from dlbasics.utils.cli import CONFIG_DIR
from dlbasics.utils.run_dir import read_metrics

log = logging.getLogger("dlbasics")

REPO = Path(CONFIG_DIR).parent
SELECTED_DIR = "selected_test"  # a CV sweep's one test of its chosen configuration


def composable(overrides: list[str]) -> list[str]:
    """The overrides with every sweep (``a=1,2``) replaced by its first value, so that one
    job's config can be composed to check the command without running it."""
    single = []
    for override in OverridesParser.create().parse_overrides(overrides):
        if override.is_sweep_override():
            first = next(iter(override.sweep_string_iterator()))
            single.append(f"{override.get_key_element()}={first}")
        else:
            single.append(override.input_line or "")
    return single


def compose_entry(entry: Entry) -> Any:
    """The composed config of the entry's first job; a ConfigError naming the entry when
    it does not compose (an unknown experiment, a typo'd key)."""
    overrides = [o for o in entry.command if o not in ("-m", "--multirun")]
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
            return compose("train", composable(overrides), return_hydra_config=True)
    except Exception as error:  # Hydra's composition errors have no common base class
        raise ConfigError(
            f"entry {entry.name}: `{entry.shell_command()}` does not compose: {error}"
        ) from error
    finally:
        GlobalHydra.instance().clear()


def is_multirun(entry: Entry) -> bool:
    multirun = "-m" in entry.command or "--multirun" in entry.command
    return multirun or compose_entry(entry).hydra.mode == RunMode.MULTIRUN


def check_entry(entry: Entry) -> None:
    """What can be checked without running: the config composes, the script exists."""
    if entry.is_benchmark:
        module = entry.script[1] if entry.script[0] == "-m" and len(entry.script) > 1 else None
        if module is not None and importlib.util.find_spec(module) is None:
            raise ConfigError(f"entry {entry.name}: no module {module}")
        if module is None and not (REPO / entry.script[0]).is_file():
            raise ConfigError(f"entry {entry.name}: no script {entry.script[0]} in {REPO}")
    else:
        compose_entry(entry)


def run_process(words: list[str], log_file: Path) -> tuple[int, str]:
    """Run in the repository root; stdout and stderr go to ``log_file`` as well."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("w") as handle:
        done = subprocess.run(
            words, cwd=REPO, stdout=handle, stderr=subprocess.PIPE, text=True, check=False
        )
        handle.write(done.stderr)
    return done.returncode, done.stderr


def jobs_of(entry: Entry, finished: Finished) -> list[dict[str, Any]]:
    """Each job of a finished sweep: name, overrides, status and the metrics it produced
    (a CV job has no test numbers, the one test of the selected configuration has them);
    a metric that no job produced is an error naming the entry."""
    specs = [s for s in entry.metrics if not s.startswith(SWEEP_LEVEL)]
    dirs = [(job.path, job.overrides, job.status, job.error) for job in collect(finished.run_dir)]
    selected = finished.run_dir / SELECTED_DIR
    if read_metrics(selected) is not None:
        chosen = json.loads((selected / "selected_job.json").read_text())
        dirs.append((selected, chosen, "completed", ""))
    jobs = [
        {
            "name": path.name,
            "overrides": overrides,
            "status": status,
            "error": error,
            "metrics": read_metrics_of(entry.name, finished, specs, path, required=False),
        }
        for path, overrides, status, error in dirs
    ]
    never = [s for s in specs if not any(s in job["metrics"] for job in jobs)]
    if never:
        raise DataError(
            f"entry {entry.name}: no job of {finished.run_dir} produced {', '.join(never)}"
        )
    return jobs


def run_entry(entry: Entry, records_dir: Path, work_dir: Path, force: bool = False) -> Path:
    """Run ``entry`` unless its record exists (or ``force``) and write its record."""
    if read_record(records_dir, entry.name) is not None and not force:
        log.info("%s: recorded already (--force runs it again)", entry.name)
        return records_dir / f"{entry.name}.json"
    check_entry(entry)
    here = Path(work_dir) / entry.name
    if force and here.exists():
        shutil.rmtree(here)
    started = time.perf_counter()
    record: dict[str, Any] = {
        "entry": entry.name,
        "command": entry.shell_command(),
        "speed": entry.speed,
    }
    log.info("%s: %s", entry.name, entry.shell_command())
    if entry.is_benchmark:
        output = here / "measurements.json"
        words = [sys.executable, *entry.script, "--record", str(output)]
        code, stderr = run_process(words, here / "output.log")
        finished = Finished(here, code, stderr)
        if code == 0:
            measured = json.loads(output.read_text())
            record.update(kind="benchmark", method=measured["method"])
            missing = [m for m in entry.metrics if m not in measured["values"]]
            if missing:
                raise DataError(
                    f"entry {entry.name}: the script measured no "
                    f"{', '.join(missing)}; it has {', '.join(measured['values'])}"
                )
            record["metrics"] = {m: measured["values"][m] for m in entry.metrics}
    else:
        multirun = is_multirun(entry)
        run_dir = here / ("sweep" if multirun else "run")
        words = [
            sys.executable,
            "-m",
            "dlbasics.train",
            *entry.command,
            f"paths.log_dir={here}",
            f"hydra.run.dir={here / 'run'}",
            f"hydra.sweep.dir={here / 'sweep'}",
        ]
        code, stderr = run_process(words, here / "output.log")
        finished = Finished(run_dir, code, stderr)
        record["kind"] = "train"
    if code != entry.expect_exit:
        tail = "\n".join(stderr.strip().splitlines()[-5:])
        raise DataError(
            f"entry {entry.name}: `{entry.shell_command()}` exited with {code} "
            f"(expected {entry.expect_exit}); see {here / 'output.log'}:\n{tail}"
        )
    if not entry.is_benchmark:
        specs = (
            entry.metrics
            if not multirun
            else [s for s in entry.metrics if s.startswith(SWEEP_LEVEL)]
        )
        record["metrics"] = read_metrics_of(entry.name, finished, specs)
        if multirun:
            record["jobs"] = jobs_of(entry, finished)
    record["seconds"] = round(time.perf_counter() - started, 1)
    record.update(provenance(REPO))
    path = write_record(records_dir, record)
    log.info("%s: recorded in %s (%.0f s)", entry.name, path, record["seconds"])
    return path
