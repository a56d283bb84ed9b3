"""Logging for a greensearch process: the CLI's and a search worker's, set up alike.

The library itself adds no handlers; a process entry point (the CLI's ``main``, an extra
search worker) calls :func:`configure_logging` once, so a worker's log reads like its
parent's: one line per record, no traceback without ``--debug``.
"""

from __future__ import annotations

import logging
import re
import sys
import threading

__all__ = ["configure_logging", "route_optuna_logs"]


def configure_logging(verbose: int, quiet: bool, *, debug: bool = False) -> None:
    """Map -v/-q to a level; without --debug no log line and no thread shows a traceback."""
    level = (
        logging.ERROR
        if quiet
        else (logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING)
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(level)  # also for libraries' loggers that propagate at their own level
    handler.setFormatter(
        logging.Formatter("%(levelname)s %(name)s: %(message)s")
        if debug
        else _OneLineFormatter("%(levelname)s %(name)s: %(message)s")
    )
    handler.addFilter(_WarningOnce())
    logging.basicConfig(level=level, handlers=[handler])
    logging.captureWarnings(True)  # Python warnings too: one line each, hidden by -q
    if not debug:
        threading.excepthook = _one_line_thread_error


class _WarningOnce(logging.Filter):
    """Shows each Python warning once per process, wherever it was raised from.

    Libraries reset the warnings registry (every ``catch_warnings`` block does), so a
    warning raised per run (a DataLoader's worker count, say) would repeat every trial.
    """

    _LOCATION = re.compile(r"^.*?:\d+: ")

    def __init__(self) -> None:
        super().__init__()
        self._seen: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name != "py.warnings":
            return True
        lines = record.getMessage().strip().splitlines()
        key = self._LOCATION.sub("", lines[0] if lines else "", count=1)
        if key in self._seen:
            return False
        self._seen.add(key)
        return True


class _OneLineFormatter(logging.Formatter):
    """Drops tracebacks from log records (e.g. Optuna's failed-trial warning): --debug has them."""

    def formatException(self, ei: object) -> str:
        return ""

    def formatStack(self, stack_info: str) -> str:
        return ""

    def format(self, record: logging.LogRecord) -> str:
        record.exc_text = None
        text = super().format(record)
        return text.rstrip("\n").splitlines()[0] if text else text


def _one_line_thread_error(args: threading.ExceptHookArgs) -> None:
    """A crash in a helper thread (e.g. a trial heartbeat) is one line, not a traceback."""
    if args.exc_type is SystemExit:
        return
    name = args.thread.name if args.thread is not None else "a thread"
    print(
        f"greensearch: error in {name}: {args.exc_type.__name__}: {args.exc_value} "
        "(rerun with --debug for the traceback)",
        file=sys.stderr,
    )


def route_optuna_logs() -> None:
    """Send Optuna's log through ours, so -q silences it and --debug alone shows tracebacks.

    Optuna's own handler prints a failed trial's whole traceback, even with -q.
    """
    import logging

    import optuna

    optuna.logging.disable_default_handler()
    optuna.logging.enable_propagation()
    optuna.logging.set_verbosity(max(logging.getLogger().getEffectiveLevel(), logging.WARNING))
