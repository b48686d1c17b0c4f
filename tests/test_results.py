"""Reproducible results tables: the manifest, records, the renderer and the README."""

import json
import math
from pathlib import Path

import pytest

from dlbasics.errors import ConfigError, DataError
from dlbasics.results import cli
from dlbasics.results.manifest import MANIFEST, load_manifest
from dlbasics.results.records import (
    RECORDS_DIR,
    Finished,
    read_metrics_of,
    read_record,
    write_record,
)
from dlbasics.results.render import render_readme
from dlbasics.results.runner import check_entry, run_entry
from tests.conftest import REPO_ROOT

README = REPO_ROOT / "README.md"


def test_the_readme_tables_are_what_render_writes_from_the_committed_records() -> None:
    text = README.read_text()
    assert render_readme(text, load_manifest(), RECORDS_DIR) == text


def test_every_entry_still_composes_and_every_record_ran_its_command() -> None:
    manifest = load_manifest()
    for entry in manifest.entries.values():
        check_entry(entry)  # Hydra compose of the first job (no training), or the script
        record = read_record(RECORDS_DIR, entry.name)
        assert record is not None, f"{entry.name} has no record"
        assert record["command"] == entry.shell_command(), entry.name
        assert set(entry.metrics) <= set(record["metrics"]) | {
            m for job in record.get("jobs", []) for m in job["metrics"]
        }, entry.name


SMALL_MANIFEST = """
entries:
  single:
    command: experiment=nndl/iris_softmax trainer=cpu
    speed: fast
    metrics: [test/acc, "weights:net.linear.bias"]
  sweep:
    command: experiment=study/activations trainer=cpu
    speed: slow
    metrics: [test/acc]
tables:
  small:
    header: [what, value]
    rows:
      - ['acc', '{single|test/acc|.3f}']
      - ['bias', '[{single|weights:net.linear.bias|.2f}]']
      - ['relu', '{sweep|variant=activation/relu|test/acc|.4f} ({sweep|#1|status|})']
      - ['ratio', '{=<<sweep|variant=activation/relu|test/acc>> / <<single|test/acc>>|.2f}x']
      - ['set', 'braces that are no reference stay: {0, 1}']
      - ['named', '{sweep|#selected_test|test/acc|.2f}']
"""


def fake_record(name: str, **fields) -> dict:
    return {
        "entry": name,
        "command": "dlbasics-train …",
        "date": "2026-12-01T10:00:00+00:00",
        "machine": {"cpu": "Test CPU", "cores": 2, "gpu": None, "os": "Linux"},
        "versions": {},
        "revision": "abc1234",
        **fields,
    }


@pytest.fixture
def small(tmp_path: Path) -> dict[str, Path]:
    manifest = tmp_path / "results.yaml"
    manifest.write_text(SMALL_MANIFEST)
    records = tmp_path / "records"
    write_record(
        records,
        fake_record(
            "single", metrics={"test/acc": 0.8333, "weights:net.linear.bias": [0.5, -1.25]}
        ),
    )
    write_record(
        records,
        fake_record(
            "sweep",
            metrics={},
            jobs=[
                {
                    "name": "0",
                    "overrides": {"variant": "activation/sigmoid"},
                    "status": "completed",
                    "error": "",
                    "metrics": {"test/acc": 0.837},
                },
                {
                    "name": "1",
                    "overrides": {"variant": "activation/relu"},
                    "status": "completed",
                    "error": "",
                    "metrics": {"test/acc": 0.8727},
                },
                {  # a CV sweep's retrain of its choice repeats job 1's overrides
                    "name": "selected_test",
                    "overrides": {"variant": "activation/relu"},
                    "status": "completed",
                    "error": "",
                    "metrics": {"test/acc": 0.9},
                },
            ],
        ),
    )
    readme = tmp_path / "README.md"
    readme.write_text(
        "# Title\n\nProse 0.5 stays.\n\n<!-- results: small -->\nold\n"
        "<!-- /results: small -->\n\nMore prose quotes a marker: <!-- results: NAME -->.\n"
    )
    return {"manifest": manifest, "records": records, "readme": readme, "root": tmp_path}


def render_cli(small: dict[str, Path], *extra: str) -> int:
    return cli.main(
        [
            "--manifest",
            str(small["manifest"]),
            "--records",
            str(small["records"]),
            "render",
            "--readme",
            str(small["readme"]),
            *extra,
        ]
    )


def test_render_writes_the_table_between_its_markers_and_keeps_the_prose(small) -> None:
    assert render_cli(small, "--check") == 1  # the README still holds the old table
    assert render_cli(small) == 0
    text = small["readme"].read_text()
    assert text.startswith("# Title\n\nProse 0.5 stays.\n\n<!-- results: small -->\n")
    assert text.endswith(  # a marker quoted inside a line of prose is no marker
        "<!-- /results: small -->\n\nMore prose quotes a marker: <!-- results: NAME -->.\n"
    )
    assert "| acc | 0.833 |" in text
    assert "| bias | [0.50, -1.25] |" in text  # a list is formatted elementwise
    assert "| relu | 0.8727 (completed) |" in text  # overrides pick the numbered job
    assert "| named | 0.90 |" in text  # a named job is picked by its name
    assert "| ratio | 1.05x |" in text
    assert "| set | braces that are no reference stay: {0, 1} |" in text
    assert "single (2026-12-01), sweep (2026-12-01) on 2 × Test CPU, code abc1234" in text
    assert render_cli(small, "--check") == 0  # rendering again changes nothing


@pytest.mark.parametrize(
    ("readme", "table", "message"),
    [
        (
            "<!-- results: nope -->\n<!-- /results: nope -->\n",
            None,
            "README marker 'results: nope' names no table",
        ),
        ("<!-- results: small -->\nno end\n", None, "has no closing"),
        ("no markers at all\n", None, "table(s) small of"),
        (None, "      - ['x', '{ghost|test/acc|.3f}']", "refers to 'ghost', which is no entry"),
        (None, "      - ['x', '{single|test/nope|.3f}']", "'test/nope' is not a metric of entry"),
        (None, "      - ['x', '{sweep|test/acc|.3f}']", "entry sweep is a sweep; name the job"),
        (None, "      - ['x', '{sweep|variant=activation/tanh|test/acc|}']", "matches 0 jobs"),
        (
            None,
            "      - ['x', '{=<<single|test/acc>> ** 2|}']",
            "not allowed in a table expression",
        ),
    ],
)
def test_bad_markers_and_references_stop_render_and_leave_the_readme(
    small, capsys, readme, table, message
) -> None:
    if readme is not None:
        small["readme"].write_text(readme)
    if table is not None:
        small["manifest"].write_text(
            SMALL_MANIFEST.replace(
                "      - ['set', 'braces that are no reference stay: {0, 1}']", table
            )
        )
    before = small["readme"].read_text()
    assert render_cli(small) == 2
    assert message in capsys.readouterr().err
    assert small["readme"].read_text() == before


def test_a_table_without_its_record_names_the_entry_and_the_fix(small, capsys) -> None:
    (small["records"] / "sweep.json").unlink()
    before = small["readme"].read_text()
    assert render_cli(small) == 2
    error = capsys.readouterr().err
    assert "table small needs the record of entry sweep" in error
    assert "dlbasics-results run --only sweep" in error
    assert small["readme"].read_text() == before


def test_an_entry_whose_experiment_does_not_exist_is_refused_before_it_runs(
    small, capsys, tmp_path
) -> None:
    small["manifest"].write_text(
        SMALL_MANIFEST.replace("experiment=nndl/iris_softmax", "experiment=nndl/nope")
    )
    records = tmp_path / "new_records"
    code = cli.main(
        [
            "--manifest",
            str(small["manifest"]),
            "--records",
            str(records),
            "run",
            "--only",
            "single",
            "--work",
            str(tmp_path / "work"),
        ]
    )
    assert code == 2
    error = capsys.readouterr().err
    assert (
        "entry single: `dlbasics-train experiment=nndl/nope trainer=cpu` does not compose" in error
    )
    assert "Could not find 'experiment/nndl/nope'" in error
    assert not records.exists() and not (tmp_path / "work").exists()


def test_a_metric_the_run_does_not_produce_names_the_entry(tmp_path: Path) -> None:
    (tmp_path / "metrics.json").write_text(json.dumps({"test/acc": 0.9, "epochs": 3}))
    finished = Finished(tmp_path, 0, "")
    assert read_metrics_of("e", finished, ["test/acc"]) == {"test/acc": 0.9}
    with pytest.raises(
        DataError,
        match=r"entry e: the run in .* produced no 'test/f1'.*"
        r"metrics.json has: epochs, test/acc",
    ):
        read_metrics_of("e", finished, ["test/acc", "test/f1"])
    assert read_metrics_of("e", finished, ["test/f1"], required=False) == {}


def test_the_manifest_shape_is_checked(tmp_path: Path) -> None:
    path = tmp_path / "results.yaml"
    for text, message in [
        ("entries: {a: {command: x, speed: soon, metrics: [m]}}", "speed='soon'"),
        ("entries: {a: {command: x, script: y, speed: fast, metrics: [m]}}", "exactly one of"),
        ("entries: {a: {command: x, speed: fast}}", "lists no metrics"),
        ("entries: {a: {command: x, speed: fast, metrics: [m], colour: red}}", "unknown key"),
        ("entries: {}\ntables: {t: {header: [a, b], rows: [[x]]}}", "1 cells for 2 columns"),
    ]:
        path.write_text(text)
        with pytest.raises(ConfigError, match=message):
            load_manifest(path)


def test_the_committed_manifest_lists_every_entry_a_table_reads() -> None:
    manifest = load_manifest(MANIFEST)
    fed = {name for entry in manifest.entries for name in cli.tables_of(manifest, entry)}
    assert fed == set(manifest.tables)  # every table is fed by some entry
    for entry in manifest.entries:
        assert cli.tables_of(manifest, entry), f"{entry} feeds no table"


FAST_TRAINING = [
    e for e in load_manifest().entries.values() if e.speed == "fast" and not e.is_benchmark
]


def close(new, old, tolerance: float) -> bool:
    if isinstance(old, list):
        return len(new) == len(old) and all(
            close(a, b, tolerance) for a, b in zip(new, old, strict=True)
        )
    if isinstance(old, float) and isinstance(new, float):
        return math.isclose(new, old, rel_tol=0, abs_tol=tolerance) if tolerance else new == old
    return new == old


@pytest.mark.slow
@pytest.mark.parametrize("entry", FAST_TRAINING, ids=lambda e: e.name)
def test_a_fast_entry_reproduces_its_record(entry, tmp_path) -> None:
    """A code change that moves a seeded number fails here, not in a user's terminal."""
    old = read_record(RECORDS_DIR, entry.name)
    run_entry(entry, tmp_path / "records", tmp_path / "work")
    new = read_record(tmp_path / "records", entry.name)
    timing = {"seconds"}  # wall time moves with the machine's load
    for name, value in old["metrics"].items():
        if name not in timing:
            assert close(new["metrics"][name], value, entry.tolerance), name
    for old_job, new_job in zip(old.get("jobs", []), new.get("jobs", []), strict=True):
        assert new_job["status"] == old_job["status"], old_job["name"]
        for name, value in old_job["metrics"].items():
            if name not in ("seconds",):
                assert close(new_job["metrics"][name], value, entry.tolerance), (
                    old_job["name"],
                    name,
                )
