"""The results manifest (conf/results.yaml): each reported experiment and each README table.

An entry is one command (``dlbasics-train`` overrides, or a benchmark script), whether it
is ``fast`` (minutes on 2 CPU cores) or ``slow``, and the metrics its record keeps. A
table is a header and rows of cells; a cell is text with references to record values
(see ``dlbasics.results.render``), so it is the manifest that says which README table an
entry feeds.
"""

import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from dlbasics.errors import ConfigError
from dlbasics.utils.cli import CONFIG_DIR

MANIFEST = Path(CONFIG_DIR) / "results.yaml"
SPEEDS = ("fast", "slow")
ENTRY_KEYS = {"command", "script", "speed", "metrics", "tolerance", "expect_exit"}
TABLE_KEYS = {"header", "rows"}


@dataclass(frozen=True)
class Entry:
    """One reported experiment. ``command`` holds ``dlbasics-train`` overrides; ``script``
    a benchmark or study script (a path under the repository, or ``-m module``, and its
    arguments; it takes ``--record FILE``)."""

    name: str
    speed: str
    metrics: tuple[str, ...]
    command: tuple[str, ...] = ()
    script: tuple[str, ...] = ()
    tolerance: float = 0.0  # how far a re-run may move a number (0: deterministic)
    expect_exit: int = 0  # e.g. 2 for a run that must stop with a user-facing error

    @property
    def is_benchmark(self) -> bool:
        return bool(self.script)

    def shell_command(self) -> str:
        """The command as a user types it."""
        words = ["python", *self.script] if self.is_benchmark else ["dlbasics-train", *self.command]
        return shlex.join(words)


@dataclass(frozen=True)
class Table:
    name: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass
class Manifest:
    entries: dict[str, Entry]
    tables: dict[str, Table] = field(default_factory=dict)
    path: Path = MANIFEST


def _words(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(shlex.split(value))
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ConfigError(f"{where} must be a string or a list of strings, got {value!r}")


def _entry(name: str, spec: Any, path: Path) -> Entry:
    where = f"{path}: entry {name}"
    if not isinstance(spec, dict):
        raise ConfigError(f"{where} must be a mapping of {', '.join(sorted(ENTRY_KEYS))}")
    unknown = sorted(set(spec) - ENTRY_KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}")
    if ("command" in spec) == ("script" in spec):
        raise ConfigError(
            f"{where} needs exactly one of command (dlbasics-train overrides) "
            f"or script (a benchmark)"
        )
    speed = spec.get("speed")
    if speed not in SPEEDS:
        raise ConfigError(f"{where}: speed={speed!r}; allowed values: {', '.join(SPEEDS)}")
    metrics = _words(spec.get("metrics", []), f"{where}: metrics")
    if not metrics:
        raise ConfigError(f"{where} lists no metrics")
    return Entry(
        name=name,
        speed=speed,
        metrics=metrics,
        command=_words(spec["command"], f"{where}: command") if "command" in spec else (),
        script=_words(spec["script"], f"{where}: script") if "script" in spec else (),
        tolerance=float(spec.get("tolerance", 0.0)),
        expect_exit=int(spec.get("expect_exit", 0)),
    )


def _table(name: str, spec: Any, path: Path) -> Table:
    where = f"{path}: table {name}"
    if not isinstance(spec, dict) or set(spec) != TABLE_KEYS:
        raise ConfigError(f"{where} must have exactly the keys header and rows")
    header = tuple(str(cell) for cell in spec["header"])
    rows = tuple(tuple(str(cell) for cell in row) for row in spec["rows"])
    for number, row in enumerate(rows, start=1):
        if len(row) != len(header):
            raise ConfigError(f"{where}, row {number}: {len(row)} cells for {len(header)} columns")
    return Table(name, header, rows)


def load_manifest(path: Path = MANIFEST) -> Manifest:
    """The manifest, checked for its shape (what commands and references mean is checked
    by the runner and the renderer)."""
    path = Path(path)
    try:
        raw = OmegaConf.to_container(OmegaConf.load(path), resolve=False)
    except (OSError, OmegaConfBaseException) as error:
        raise ConfigError(f"{path} cannot be read as YAML: {error}") from error
    if not isinstance(raw, dict) or not isinstance(raw.get("entries"), dict):
        raise ConfigError(f"{path} needs an 'entries' mapping (and 'tables')")
    entries = {name: _entry(name, spec, path) for name, spec in raw["entries"].items()}
    tables = {name: _table(name, spec, path) for name, spec in (raw.get("tables") or {}).items()}
    return Manifest(entries, tables, path)
