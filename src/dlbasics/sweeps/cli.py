"""``dlbasics-summarize <sweep_dir>``: rebuild the results table of a finished or partial sweep."""

import argparse
import logging
import sys
from pathlib import Path

from dlbasics.errors import DlbasicsError
from dlbasics.sweeps.report import summarize
from dlbasics.utils.cli import EXIT_USER_ERROR


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="dlbasics-summarize", description=__doc__)
    parser.add_argument("sweep_dir", type=Path, help="logs/<task>/multiruns/<time>_<pid>")
    parser.add_argument(
        "--test-selected",
        action="store_true",
        help="CV sweeps: train the best configuration and test it once",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        path = summarize(args.sweep_dir, test_selected=args.test_selected)
    except DlbasicsError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    print(path.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
