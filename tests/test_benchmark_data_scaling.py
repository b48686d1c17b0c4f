"""benchmarks/data_scaling.py: each size gets the samples it names, and a quick run on small
generated data prints a row per size (the numbers are not checked: timings are no test)."""

import sys

import pytest

from benchmarks.data_scaling import main, samples_of


@pytest.mark.parametrize(
    ("size", "pool", "subset", "repeats"),
    [
        (10_000, 60_000, 10_000, 1),  # a subset of the training file
        (60_000, 60_000, None, 1),  # the whole file
        (240_000, 60_000, None, 4),  # four passes over it
        (800, 200, 200, 4),  # passes over a smaller pool
    ],
)
def test_a_size_is_a_subset_or_whole_passes(size, pool, subset, repeats) -> None:
    datamodule = samples_of(size, pool, "unused")()
    assert (datamodule.subsets["train"], datamodule.train_repeats) == (subset, repeats)
    assert datamodule.val_size == 0


def test_a_size_above_the_pool_must_be_a_multiple_of_it() -> None:
    with pytest.raises(SystemExit, match="no multiple"):
        samples_of(300, 200, "unused")


def test_a_quick_run_prints_a_row_per_size(fake_data_dir, monkeypatch, capsys) -> None:
    arguments = ["--data-dir", str(fake_data_dir), "--pool", "200", "--sizes", "100", "200"]
    arguments += ["400", "--reference", "200", "--epochs", "2", "--repeats", "1"]
    monkeypatch.setattr(sys, "argv", ["data_scaling.py", *arguments])
    main()
    lines = capsys.readouterr().out.splitlines()
    rows = [line.split() for line in lines if line.strip().split(" ")[0] in ("100", "200", "400")]
    assert [row[0] for row in rows] == ["100", "200", "400"]
    assert rows[1][-1] == "1.00x"  # the reference size against itself
    assert any(line.startswith("largest deviation from proportional") for line in lines)
