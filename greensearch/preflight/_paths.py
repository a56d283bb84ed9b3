"""Can the command write where it was told to, checked without creating anything.

A results file that turns out to be a folder, found after a 2-minute training, loses the
measurement; found here it costs nothing. Nothing in this module creates a file or folder.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["file_problem", "folder_problem", "storage_file", "storage_problem"]


def file_problem(path: str | Path, flag: str, *, must_exist: bool = False) -> str | None:
    """Why ``path`` cannot be written (or read, with ``must_exist``) as a file; None if it can."""
    p = Path(path).expanduser()
    if p.is_dir():
        return f"{flag} '{path}' is a folder; give a file path"
    if p.exists():
        mode = os.R_OK if must_exist else os.W_OK
        if not os.access(p, mode):
            return f"{flag} '{path}' is not {'readable' if must_exist else 'writable'}"
        return None
    if must_exist:
        return f"{flag} '{path}' not found; pass an existing file"
    return _creatable(p.parent, flag, path)


def folder_problem(path: str | Path, flag: str) -> str | None:
    """Why ``path`` cannot be used (or made) as a folder to write in; None if it can."""
    p = Path(path).expanduser()
    if p.exists() and not p.is_dir():
        return f"{flag} '{path}' is a file, not a folder; give a folder path"
    if p.is_dir():
        return None if os.access(p, os.W_OK | os.X_OK) else f"{flag} '{path}' is not writable"
    return _creatable(p, flag, path)


def storage_file(url: str) -> Path | None:
    """The local file behind a SQLite or journal URL; None for a server or in-memory one."""
    if url.startswith("journal:"):
        path = url.removeprefix("journal:")
        return Path(path) if path.strip() else None
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///").split("?", 1)[0]
        return Path(path) if path and path != ":memory:" else None
    return None


def storage_problem(url: str, *, must_exist: bool = False) -> str | None:
    """Why an Optuna storage URL cannot be used; connects to nothing, creates nothing.

    Args:
        url: The ``--storage`` value.
        must_exist: A command that only reads: the file must already hold a study.
    """
    if not url.startswith("journal:") and "://" not in url:
        return (
            f"bad --storage {url!r}; use sqlite:///FILE.db, postgresql://..., "
            "mysql://... or journal:FILE"
        )
    scheme = url.split(":", 1)[0].split("+", 1)[0]
    if scheme not in ("journal", "sqlite", "postgresql", "postgres", "mysql"):
        return (
            f"bad --storage {url!r}: unknown kind '{scheme}'; use sqlite:///FILE.db, "
            "postgresql://..., mysql://... or journal:FILE"
        )
    if scheme == "sqlite" and not url.startswith("sqlite:///"):
        return f"bad --storage {url!r}; a SQLite URL has three slashes: sqlite:///FILE.db"
    if scheme in ("journal", "sqlite") and storage_file(url) is None:
        if url.removeprefix("sqlite:///").split("?", 1)[0] == ":memory:":
            return (
                f"--storage {url!r} keeps the study in memory: it is lost at exit and "
                "cannot be resumed or reported; use sqlite:///FILE.db"
            )
        example = "journal:FILE" if scheme == "journal" else "sqlite:///FILE.db"
        return f"--storage {url!r} names no file; use {example}"
    file = storage_file(url)
    if file is None:
        return None
    problem = file_problem(file, "--storage", must_exist=must_exist)
    if problem and must_exist and not file.exists():
        return (
            f"storage file '{file}' not found; pass the --storage URL that "
            "`greensearch optimize` used"
        )
    if problem or not file.exists():
        return problem
    return _foreign_file(file, journal=scheme == "journal", must_exist=must_exist)


#: The first bytes of every SQLite database file.
_SQLITE_HEADER = b"SQLite format 3\x00"


def _foreign_file(file: Path, *, journal: bool, must_exist: bool) -> str | None:
    """Why an existing file is not a storage of that kind (never written to find out)."""
    kind = "an Optuna journal" if journal else "a SQLite database"
    try:
        with file.expanduser().open("rb") as f:
            head = f.readline(1 << 20) if journal else f.read(len(_SQLITE_HEADER))
    except OSError as err:
        return f"--storage file '{file}' cannot be read: {err.strerror}"
    if not head:
        if must_exist:
            return (
                f"storage file '{file}' is empty, so it holds no study; pass the --storage "
                "URL that `greensearch optimize` used"
            )
        return None
    if journal:
        import json

        try:
            ok = isinstance(json.loads(head), dict) and b'"op_code"' in head
        except (ValueError, UnicodeDecodeError):
            ok = False
    else:
        ok = head.startswith(_SQLITE_HEADER)
    if ok:
        return None
    return (
        f"--storage file '{file}' is not {kind}; it is left untouched. Give a new file "
        "name or the storage `greensearch optimize` made"
    )


def _creatable(folder: Path, flag: str, path: str | Path) -> str | None:
    """Whether ``folder`` exists or can be made: its first existing ancestor must allow it."""
    ancestor = folder
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        return f"{flag} '{path}' cannot be created: '{ancestor}' is a file, not a folder"
    if not os.access(ancestor, os.W_OK | os.X_OK):
        return f"{flag} '{path}' cannot be created: '{ancestor}' is not writable"
    return None
