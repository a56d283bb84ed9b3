"""The temporary folder a run saves its model in, gone whatever way the run ends.

A run without ``--output-dir`` saves into ``<tmp>/greensearch-run-<pid>-*``. The folder is
removed when the run fails or is interrupted (and when it succeeds, unless the model is
kept); a folder whose process was killed (no ``finally`` runs) is removed by the next
run that starts, its pid being dead. A kept model's folder is marked and never removed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["KEPT", "PREFIX", "remove_orphans", "scratch_folder"]

logger = logging.getLogger(__name__)

PREFIX = "greensearch-run-"
_OWNED = re.compile(rf"^{PREFIX}(\d+)-")
#: The file that marks a folder whose model the caller kept (its path was returned).
KEPT = ".greensearch-kept"


@contextlib.contextmanager
def scratch_folder(*, keep: bool = False) -> Iterator[Path]:
    """A new temporary folder; removed on leaving unless ``keep`` and the block succeeded."""
    remove_orphans()
    folder = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-"))
    ok = False
    try:
        yield folder
        ok = True
        if keep:
            (folder / KEPT).touch()
    finally:
        if not (keep and ok):
            shutil.rmtree(folder, ignore_errors=True)


def remove_orphans(root: str | Path | None = None) -> list[Path]:
    """Remove the run folders of processes that no longer exist; return them."""
    base = Path(root) if root is not None else Path(tempfile.gettempdir())
    removed = []
    with contextlib.suppress(OSError):
        for path in base.iterdir():
            owner = _OWNED.match(path.name)
            if (
                owner
                and path.is_dir()
                and not (path / KEPT).exists()
                and not _alive(int(owner.group(1)))
            ):
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
    if removed:
        logger.info("removed %d run folder(s) left by killed runs", len(removed))
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    except OSError:  # pragma: no cover - e.g. pid out of range
        return False
    return True
