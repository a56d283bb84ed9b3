"""The ``greensearch`` command line: parse, call one public function, render.

Each subcommand lives in its own ``_<name>.py`` module exposing ``add_parser(subparsers)``
(which sets ``handler``) so commands can be added without touching the others. Nothing
here imports torch: ``greensearch --help`` stays instant.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from greensearch._logs import configure_logging
from greensearch.exceptions import ConfigError, GreensearchError, MeterUnavailableError

__all__ = ["main", "build_parser"]

#: Subcommand modules, in the order ``--help`` lists them.
_COMMANDS: tuple[str, ...] = ("run", "knobs", "optimize", "check", "plot", "synergy", "report")


class _Parser(argparse.ArgumentParser):
    """An argparse parser whose usage errors are two lines: where to look, and what failed.

    argparse prints the whole wrapped usage (a dozen lines for ``optimize``) before the
    error, burying it; ``--help`` still shows the full usage.
    """

    commands: dict[str, argparse.ArgumentParser]

    def format_help(self) -> str:
        """The help with the epilog as written: its example commands stay one line each."""
        epilog, self.epilog = self.epilog, None
        try:
            text = super().format_help()
        finally:
            self.epilog = epilog
        return f"{text}\n{epilog}\n" if epilog else text

    def error(self, message: str) -> NoReturn:
        self.exit(
            2, f"usage: {self.prog} [options] (--help lists them)\n{self.prog}: error: {message}\n"
        )


def build_parser() -> _Parser:
    """Build the top-level parser with every available subcommand."""
    parser = _Parser(
        prog="greensearch",
        description=(
            "Find the most energy-efficient bundle of ML-pipeline optimizations (knobs) "
            "that still meets an F1 budget, with measured energy."
        ),
    )
    parser.add_argument("--version", action="version", version=_version())
    _add_common(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMANDS:
        try:
            module = importlib.import_module(f"greensearch.cli._{name}")
        except ModuleNotFoundError as err:
            if err.name == f"greensearch.cli._{name}":
                continue  # command not shipped in this build
            raise
        module.add_parser(sub)
    parser.commands = dict(sub.choices)
    for subparser in sub.choices.values():
        _add_common(subparser, suppress=True)
        _allow_negative_percent(subparser)
    return parser


def _allow_negative_percent(parser: argparse.ArgumentParser) -> None:
    """Let ``--budget-f1 -1%`` parse: argparse would take ``-1%`` for an option.

    argparse treats only plain negative numbers as values; widening the parser's pattern to
    allow a trailing ``%`` is the one way to accept the natural spelling.
    """
    parser._negative_number_matcher = re.compile(r"^-\d+(?:\.\d*)?%?$|^-\.\d+%?$")


def _add_common(parser: argparse.ArgumentParser, *, suppress: bool = False) -> None:
    """Options every command takes, before or after the command name."""
    kw: dict[str, Any] = {"default": argparse.SUPPRESS} if suppress else {}
    parser.add_argument(
        "-v", "--verbose", action="count", help="more log output", **({"default": 0} | kw)
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="only errors; no progress output", **kw
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors", **kw)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # named by the command they were given to, not the top-level parser
        sub = parser.commands.get(args.command) if args.command else None
        (sub or parser).error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    configure_logging(args.verbose, args.quiet, debug=args.debug)
    try:
        return int(args.handler(args))
    except BrokenPipeError:  # e.g. `greensearch knobs --json | head`
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
        return 0
    except KeyboardInterrupt:
        print("greensearch: interrupted; completed results were saved", file=sys.stderr)
        return 130
    except (ConfigError, MeterUnavailableError) as err:
        if args.debug:
            raise
        for problem in getattr(err, "problems", None) or [str(err)]:
            print(f"greensearch: error: {problem}", file=sys.stderr)
        return 2
    except GreensearchError as err:
        if args.debug:
            raise
        print(f"greensearch: error: {err}", file=sys.stderr)
        return 1
    except Exception as err:  # noqa: BLE001 - the CLI boundary turns any crash into one line
        if args.debug:
            raise
        print(
            f"greensearch: error: unexpected {type(err).__name__}: {err} (rerun with --debug "
            "for the traceback)",
            file=sys.stderr,
        )
        return 1


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"greensearch {version('greensearch')}"
    except PackageNotFoundError:
        return "greensearch (not installed)"
