"""A search that measured nothing leaves nothing: no study, no database file, no folder.

A failed baseline used to leave ``studies/<name>.db`` with 1 failed and 20 waiting trials,
which the next attempt then resumed. What this invocation created is noted before the
storage is opened, and removed again only if the study holds no completed trial.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from greensearch.preflight import storage_file

__all__ = ["StudyFootprint"]

logger = logging.getLogger(__name__)


@dataclass
class StudyFootprint:
    """The storage file, folders and study an ``optimize`` call is about to create."""

    study_name: str
    new_paths: list[Path] = field(default_factory=list)
    storage: Any = None
    study_existed: bool = True

    @classmethod
    def before(cls, url: Any, study_name: str) -> StudyFootprint:
        """Note which of the storage's file and folders do not exist yet."""
        paths: list[Path] = []
        file = storage_file(url) if isinstance(url, str) else None
        if file is not None:
            p = file.expanduser()
            while not p.exists() and p != p.parent:
                paths.append(p)
                p = p.parent
        return cls(study_name=study_name, new_paths=paths)

    def opened(self, storage: Any) -> None:
        """Note whether the study was already in the storage just opened."""
        import optuna

        self.storage = storage
        self.study_existed = self.study_name in optuna.get_all_study_names(storage)

    def remove_if_empty(self) -> None:
        """Remove what this call created, if its study holds no completed trial.

        Nothing goes while another process works in the study (a trial still running) or
        the storage holds another study: a second starter on the same fresh file must
        not lose the database under the first.
        """
        import optuna

        study = None
        if self.storage is not None:  # else it never opened: only folders can exist
            if self.study_existed:
                return
            try:
                study = optuna.load_study(study_name=self.study_name, storage=self.storage)
            except KeyError:
                study = None
        if study is not None:
            busy = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.RUNNING)
            if study.get_trials(deepcopy=False, states=busy):
                return
        others = self.storage is not None and set(optuna.get_all_study_names(self.storage)) - {
            self.study_name
        }
        if self.new_paths and not others:
            if self.storage is not None:
                self._release()
            for path in self.new_paths:  # the file first, then the folders made for it
                if path.is_file() and self.storage is None and path.stat().st_size:
                    continue  # never opened here: a database another process is making
                with contextlib.suppress(OSError):
                    path.unlink() if path.is_file() else path.rmdir()
                for extra in (path.with_name(path.name + s) for s in ("-journal", "-wal", "-shm")):
                    with contextlib.suppress(OSError):
                        extra.unlink()
        elif study is not None:
            optuna.delete_study(study_name=self.study_name, storage=self.storage)
        logger.info("removed study '%s': it measured nothing", self.study_name)

    def _release(self) -> None:
        """Close the storage's connections so its file can go (and heartbeats stop)."""
        remove = getattr(self.storage, "remove_session", None)
        engine = getattr(self.storage, "engine", None)
        if callable(remove):
            remove()
        if engine is not None:
            engine.dispose()
