"""``dlbasics-results``: run the manifest's experiments into records, render the README.

dlbasics-results list                      entries, their speed, tables and records
dlbasics-results run [--fast|--all] [--only PATTERN] [--force]
dlbasics-results render [--check]          rewrite (or check) the README's tables
"""

import argparse
import fnmatch
import logging
import sys
from pathlib import Path

from dlbasics.errors import DlbasicsError
from dlbasics.results.manifest import MANIFEST, Entry, Manifest, load_manifest
from dlbasics.results.records import RECORDS_DIR, read_record
from dlbasics.results.render import REFERENCE, render_readme
from dlbasics.results.runner import REPO, run_entry
from dlbasics.utils.cli import EXIT_USER_ERROR

log = logging.getLogger("dlbasics")


def chosen(manifest: Manifest, all_speeds: bool, pattern: str | None) -> list[Entry]:
    entries = [
        e
        for e in manifest.entries.values()
        if (all_speeds or e.speed == "fast")
        and (pattern is None or fnmatch.fnmatch(e.name, pattern))
    ]
    if pattern is not None and not entries:
        raise DlbasicsError(
            f"--only {pattern!r} matches no {'' if all_speeds else 'fast '}"
            f"entry of {manifest.path} (add --all for slow ones)"
        )
    return entries


def tables_of(manifest: Manifest, entry: str) -> list[str]:
    def refers(cell: str) -> bool:
        return any(
            ref.lstrip("=<").split("|")[0].strip() == entry or f"<<{entry}|" in ref
            for ref in REFERENCE.findall(cell)
        )

    return [
        name
        for name, table in manifest.tables.items()
        if any(refers(cell) for row in table.rows for cell in row)
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="dlbasics-results", description=__doc__.split("\n")[0])
    parser.add_argument("--manifest", type=Path, default=MANIFEST)
    parser.add_argument("--records", type=Path, default=RECORDS_DIR)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="entries, speed, tables, whether recorded")
    run = commands.add_parser("run", help="run entries and write their records")
    speed = run.add_mutually_exclusive_group()
    speed.add_argument("--fast", action="store_true", help="fast entries only (the default)")
    speed.add_argument("--all", action="store_true", help="slow entries too")
    run.add_argument("--only", metavar="PATTERN", help="entries matching a glob pattern")
    run.add_argument("--force", action="store_true", help="run recorded entries again")
    run.add_argument(
        "--work",
        type=Path,
        default=REPO / "logs" / "results" / "runs",
        help="where the runs write their dirs",
    )
    render = commands.add_parser("render", help="rewrite the README's results tables")
    render.add_argument("--readme", type=Path, default=REPO / "README.md")
    render.add_argument(
        "--check",
        action="store_true",
        help="exit 1 if the README differs from the records; write nothing",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        manifest = load_manifest(args.manifest)
        if args.command == "list":
            for entry in manifest.entries.values():
                done = "recorded" if read_record(args.records, entry.name) else "not recorded"
                tables = ", ".join(tables_of(manifest, entry.name)) or "no table"
                print(f"{entry.name:32s} {entry.speed:5s} {done:13s} {tables}")
        elif args.command == "run":
            failed = []
            for entry in chosen(manifest, args.all, args.only):
                try:
                    run_entry(entry, args.records, args.work, force=args.force)
                except DlbasicsError as error:  # record what it can, then report each one
                    print(f"error: {error}", file=sys.stderr)
                    failed.append(entry.name)
            if failed:
                print(f"error: not recorded: {', '.join(failed)}", file=sys.stderr)
                return EXIT_USER_ERROR
        else:
            text = args.readme.read_text()
            new = render_readme(text, manifest, args.records)
            if args.check:
                if new != text:
                    print(
                        f"{args.readme} differs from the records: run dlbasics-results render",
                        file=sys.stderr,
                    )
                    return 1
            elif new != text:
                args.readme.write_text(new)
                log.info("rewrote the results tables of %s", args.readme)
    except DlbasicsError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    except BrokenPipeError:  # `dlbasics-results list | head`
        sys.stderr.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
