"""Argument parsing and dispatch to the subcommands."""

import argparse
import importlib.metadata
import sys
from collections.abc import Sequence

from hpa.cli import _manifests, _migrate, _run, _sandbox_command


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hpa", description="HostPort Allocator: hands out host ports like volumes."
    )
    parser.add_argument(
        "--version", action="version", version=f"hpa {importlib.metadata.version('hpa')}"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _manifests.add_parser(commands)
    _migrate.add_parser(commands)
    _run.add_parser(commands)
    _sandbox_command.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``hpa`` console script; returns the exit code."""
    args = _parser().parse_args(argv)
    result: int = args.handler(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
