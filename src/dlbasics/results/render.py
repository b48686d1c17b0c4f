"""``dlbasics-results render``: the README's results tables, written from the records.

A table sits between ``<!-- results: NAME -->`` and ``<!-- /results: NAME -->``. Its
cells come from the manifest; a cell is text with references in braces:

- ``{entry|metric|format}``: a number of a single-run entry, ``format`` a Python format
  spec (``.4f``, ``.3g``; empty for as-is); a list (weights) is formatted elementwise;
- ``{entry|selector|metric|format}``: a number of one job of a sweep; the selector is
  ``key=value`` pairs the job's overrides must match, or ``#name`` (a job dir's name);
  ``status`` and ``error`` are the job's status and error message;
- ``{=expression|format}``: arithmetic (``+ - * /``, ``min``, ``max``, ``abs``) on
  references written ``<<entry|metric>>`` or ``<<entry|selector|metric>>``.

Under every table a line names the records it was written from (date, machine, code).
Hand-written prose around the markers is never touched.
"""

import ast
import operator
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from dlbasics.errors import DataError
from dlbasics.results.manifest import Manifest, Table
from dlbasics.results.records import read_record

# A marker is a line of its own, so prose (or a code block) may quote one.
MARKER = re.compile(
    r"^<!-- results: ([\w-]+) -->\n(.*?)^<!-- /results: \1 -->$", re.DOTALL | re.MULTILINE
)
OPENING = re.compile(r"^<!-- results: ([\w-]+) -->$", re.MULTILINE)
REFERENCE = re.compile(r"\{([^{}]+)\}")
INNER = re.compile(r"<<(.+?)>>")
OPERATORS: dict[type, Callable[..., float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.USub: operator.neg,
}
FUNCTIONS = {"min": min, "max": max, "abs": abs}
JOB_FIELDS = ("status", "error")


class Lookup:
    """Values of records by reference, remembering which records a table used."""

    def __init__(self, manifest: Manifest, records_dir: Path, table: str) -> None:
        self.manifest, self.records_dir, self.table = manifest, Path(records_dir), table
        self.used: dict[str, dict[str, Any]] = {}

    def record(self, entry: str) -> dict[str, Any]:
        if entry not in self.manifest.entries:
            raise DataError(
                f"table {self.table} refers to {entry!r}, which is no entry of {self.manifest.path}"
            )
        if entry not in self.used:
            record = read_record(self.records_dir, entry)
            if record is None:
                raise DataError(
                    f"table {self.table} needs the record of entry {entry} "
                    f"({self.records_dir / (entry + '.json')}); make it with "
                    f"`dlbasics-results run --only {entry}`"
                )
            self.used[entry] = record
        return self.used[entry]

    def value(self, parts: list[str]) -> Any:
        entry, *selector, metric = [p.strip() for p in parts]
        record = self.record(entry)
        if selector and metric in JOB_FIELDS:
            return select_job(record, selector[0], f"table {self.table}, entry {entry}")[metric]
        if metric not in self.manifest.entries[entry].metrics:
            raise DataError(
                f"table {self.table}: {metric!r} is not a metric of entry {entry} "
                f"(it records {', '.join(self.manifest.entries[entry].metrics)})"
            )
        if not selector:
            if "jobs" in record and metric not in record["metrics"]:
                raise DataError(
                    f"table {self.table}: entry {entry} is a sweep; name the job "
                    f"({{{entry}|key=value|{metric}|...}})"
                )
            return record["metrics"][metric]
        job = select_job(record, selector[0], f"table {self.table}, entry {entry}")
        if metric not in job["metrics"]:
            raise DataError(
                f"table {self.table}: job {job['name']} of entry {entry} has no "
                f"{metric!r} ({job['status']})"
            )
        return job["metrics"][metric]


def select_job(record: Mapping[str, Any], selector: str, where: str) -> Mapping[str, Any]:
    jobs = record.get("jobs") or []
    wanted = selector.split()
    if not any(w.startswith("#") for w in wanted):
        # Overrides select among the sweep's numbered jobs. A job with a name of its own (a
        # CV sweep's retrain of its choice) repeats one grid job's overrides: name it (#name).
        jobs = [job for job in jobs if str(job["name"]).isdigit()]
    matches = [
        job
        for job in jobs
        if all(
            (job["name"] == w[1:])
            if w.startswith("#")
            else (job["overrides"].get(w.partition("=")[0]) == w.partition("=")[2])
            for w in wanted
        )
    ]
    if len(matches) != 1:
        names = "; ".join(
            " ".join(f"{k}={v}" for k, v in j["overrides"].items()) or j["name"] for j in jobs
        )
        raise DataError(
            f"{where}: {selector!r} matches {len(matches)} jobs (need one); jobs: {names}"
        )
    return matches[0]


def formatted(value: Any, spec: str) -> str:
    if isinstance(value, list):
        return ", ".join(formatted(v, spec) for v in value)
    if value is None:
        return "n/a"
    if spec and isinstance(value, (int, float)) and not isinstance(value, bool):
        return format(value, spec)
    return str(value)


def evaluate(expression: str, values: list[float]) -> float:
    """Arithmetic over ``v0, v1, ...`` only: no names, calls or attributes beyond these."""

    def walk(node: ast.AST) -> float:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return node.value
        if isinstance(node, ast.Name) and re.fullmatch(r"v\d+", node.id):
            return values[int(node.id[1:])]
        if isinstance(node, ast.BinOp) and type(node.op) in OPERATORS:
            return OPERATORS[type(node.op)](walk(node.left), walk(node.right))
        if isinstance(node, ast.UnaryOp) and type(node.op) in OPERATORS:
            return OPERATORS[type(node.op)](walk(node.operand))
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) in FUNCTIONS:
            return FUNCTIONS[node.func.id](*(walk(a) for a in node.args))
        raise ValueError(f"not allowed in a table expression: {ast.dump(node)}")

    return walk(ast.parse(expression, mode="eval"))


def fill(cell: str, lookup: Lookup) -> str:
    def replace(match: re.Match) -> str:
        text = match.group(1)
        if text.startswith("="):
            body, _, spec = (
                text[1:].rpartition("|") if "|" in INNER.sub("", text) else (text[1:], "", "")
            )
            refs = INNER.findall(body)
            numbers = [lookup.value(ref.split("|")) for ref in refs]
            if any(n is None for n in numbers):
                return "n/a"
            expression = body
            for index, ref in enumerate(refs):
                expression = expression.replace(f"<<{ref}>>", f"v{index}", 1)
            try:
                return formatted(evaluate(expression, numbers), spec.strip())
            except (ValueError, SyntaxError, ZeroDivisionError) as error:
                raise DataError(f"table {lookup.table}: {{{text}}}: {error}") from error
        parts = text.split("|")
        if len(parts) < 2:
            return match.group(0)  # braces that are not a reference, e.g. {0, 1}
        *reference, spec = parts if len(parts) > 2 else (*parts, "")
        return formatted(lookup.value(reference), spec.strip())

    return REFERENCE.sub(replace, cell)


def describe(used: Mapping[str, Mapping[str, Any]]) -> str:
    """Where the table's numbers come from: one clause per distinct machine and code."""
    groups: dict[tuple[str, str], list[str]] = {}
    for entry, record in sorted(used.items()):
        machine = record["machine"]
        where = f"{machine['cores']} × {machine['cpu']}" + (
            f", {machine['gpu']}" if machine.get("gpu") else ""
        )
        groups.setdefault((where, record["revision"]), []).append(
            f"{entry} ({record['date'][:10]})"
        )
    clauses = [
        f"{', '.join(entries)} on {where}, code {rev}" for (where, rev), entries in groups.items()
    ]
    return "<sub>Records: " + "; ".join(clauses) + " (`dlbasics-results run`).</sub>"


def render_table(table: Table, manifest: Manifest, records_dir: Path) -> str:
    lookup = Lookup(manifest, records_dir, table.name)
    lines = ["| " + " | ".join(table.header) + " |", "|" + "---|" * len(table.header)]
    lines += ["| " + " | ".join(fill(c, lookup) for c in row) + " |" for row in table.rows]
    if not lookup.used:
        raise DataError(
            f"table {table.name} refers to no record; a results table shows recorded numbers"
        )
    return "\n".join(lines) + "\n\n" + describe(lookup.used) + "\n"


def render_readme(text: str, manifest: Manifest, records_dir: Path) -> str:
    """``text`` with every results table rewritten; a marker without a table, a table
    without a marker or a reference without a record is an error (nothing is rewritten)."""
    named = OPENING.findall(text)
    closed = {m.group(1) for m in MARKER.finditer(text)}
    for name in named:
        if name not in closed:
            raise DataError(
                f"README marker 'results: {name}' has no closing '<!-- /results: {name} -->'"
            )
        if name not in manifest.tables:
            raise DataError(
                f"README marker 'results: {name}' names no table of "
                f"{manifest.path}; tables: {', '.join(manifest.tables)}"
            )
    unplaced = [name for name in manifest.tables if name not in named]
    if unplaced:
        raise DataError(
            f"table(s) {', '.join(unplaced)} of {manifest.path} have no "
            f"'<!-- results: NAME -->' marker in the README"
        )
    rendered = {name: render_table(manifest.tables[name], manifest, records_dir) for name in named}
    return MARKER.sub(
        lambda m: (
            f"<!-- results: {m.group(1)} -->\n{rendered[m.group(1)]}<!-- /results: {m.group(1)} -->"
        ),
        text,
    )
