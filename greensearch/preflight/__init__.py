"""Fail before spending: one preflight for every input of every command.

Every command calls its preflight first. It reports every problem it finds (not only the
first), one line each, before any storage, file or meter is touched, so a bad input costs
seconds instead of a training run. Where data is repaired (rows dropped, labels mapped),
it returns one note per repair.
"""

from greensearch.preflight._commands import (
    CheckedRun,
    idle_seconds_problem,
    preflight_read,
    preflight_run,
)
from greensearch.preflight._core import Preflight
from greensearch.preflight._paths import (
    file_problem,
    folder_problem,
    storage_file,
    storage_problem,
)

__all__ = [
    "CheckedRun",
    "Preflight",
    "file_problem",
    "folder_problem",
    "idle_seconds_problem",
    "preflight_read",
    "preflight_run",
    "storage_file",
    "storage_problem",
]
