"""Resuming a study with other settings: say what differs instead of mixing two searches.

A study's trials are judged against its stored budget, confidence, fidelity, study file
(and its settings), knob space and meter; a resume that silently changed one of them
would mix trials measured or judged under different rules.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from greensearch.schema import StudyAttr

__all__ = ["RESUME_KEYS", "WHOLE_SPLIT", "resume_problems"]

#: Study attributes a resume must match, with the flag or file that sets each.
RESUME_KEYS: dict[str, str] = {
    StudyAttr.BUDGET_F1_PCT: "--budget-f1",
    StudyAttr.CONFIDENCE: "--confidence",
    StudyAttr.FIDELITY: "--fidelity",
    StudyAttr.STUDY_FILE: "--study",
    StudyAttr.STUDY_SETTINGS: "the study file's settings",
    StudyAttr.SPACE: "knob space (--include/--exclude, the study's search_exclude, this machine)",
    StudyAttr.METER: "--meter",
    StudyAttr.SHORT_RUN_EVAL: (
        "the test examples a short run predicts and how its eval window is extrapolated "
        "(greensearch version)"
    ),
}

#: What a study whose short runs predicted the whole test split (before greensearch
#: stored the rule) would have stored.
WHOLE_SPLIT = "the whole test split"


def resume_problems(stored: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """One phrase per setting that differs from the stored study's (none for a new study)."""
    diffs = []
    for key, label in RESUME_KEYS.items():
        if key not in stored or key not in current:
            continue  # a study from an older version did not store it
        was, now = _plain(stored[key]), _plain(current[key])
        if key == StudyAttr.STUDY_FILE:  # one file, however the path was spelt
            was, now = _file_id(was), _file_id(now)
        if _same(was, now):
            continue
        if isinstance(was, dict) and isinstance(now, dict):
            diffs.append(f"{label} changed: {_dict_diff(was, now)}")
        else:
            diffs.append(f"{label} was {_show(was)}, now {_show(now)}")
    return diffs


def _same(a: Any, b: Any) -> bool:
    """Equal, numbers within printing precision (a worker gets the budget as ``f"{x:g}%"``)."""
    numbers = (int, float)
    if isinstance(a, numbers) and isinstance(b, numbers) and not isinstance(a, bool):
        return math.isclose(a, b, rel_tol=1e-5)
    return bool(a == b)


def _plain(value: Any) -> Any:
    """JSON round-trip form (tuples are lists once stored)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in sorted(value.items())}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _file_id(path: Any) -> Any:
    """An absolute path for a file name (``<replay>``-style labels stay as they are)."""
    if isinstance(path, str) and path and not path.startswith("<"):
        return str(Path(path).expanduser().resolve())
    return path


def _dict_diff(was: dict[str, Any], now: dict[str, Any]) -> str:
    """What left, joined or changed in a mapping (a knob space, a study), key by key."""
    parts = [f"{k} dropped" for k in was if k not in now]
    parts += [f"{k} added" for k in now if k not in was]
    parts += [
        f"{k} {_value(was[k])} -> {_value(now[k])}"
        for k in was
        if k in now and not _same(was[k], now[k])
    ]
    return ", ".join(parts)


def _value(value: Any) -> str:
    if isinstance(value, list):
        return "|".join(map(str, value))
    return _show(value)


def _show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return repr(value) if isinstance(value, str) else str(value)
