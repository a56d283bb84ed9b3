"""The script side of ``greensearch optimize --script``: read the trial, report the run.

A script run by the search gets its trial through environment variables (names below)
and hands back what it predicted through :func:`report_run`, which writes one JSON file
where the search reads it. Nothing here imports torch: a script may use any framework.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from greensearch.exceptions import ConfigError

__all__ = [
    "BUNDLE_ENV",
    "FIDELITY_ENV",
    "REPORT_ENV",
    "REPORT_SCHEMA",
    "SEED_ENV",
    "ScriptTrial",
    "report_run",
    "script_trial",
]

#: JSON object knob name -> raw value (``{"seq_len": "128", "precision": "bf16"}``);
#: ``{}`` is the baseline. Raw values use the bundle grammar of ``greensearch knobs``.
BUNDLE_ENV = "GREENSEARCH_BUNDLE"
#: Training seed of this run (an integer).
SEED_ENV = "GREENSEARCH_SEED"
#: Fraction of the planned training steps to run, in (0, 1].
FIDELITY_ENV = "GREENSEARCH_FIDELITY"
#: Path of the JSON file :func:`report_run` writes.
REPORT_ENV = "GREENSEARCH_REPORT"
#: Version of the report file's layout.
REPORT_SCHEMA = 1


@dataclass(frozen=True, slots=True)
class ScriptTrial:
    """What the search asks of one run of a script.

    Attributes:
        knobs: Knob name -> raw value; empty for the baseline.
        seed: Training seed.
        fidelity: Fraction of the planned training steps to run.
        report_path: Where :func:`report_run` writes.
    """

    knobs: dict[str, str]
    seed: int
    fidelity: float
    report_path: Path | None


def script_trial(environ: dict[str, str] | None = None) -> ScriptTrial:
    """This process's trial, or the baseline at full fidelity when not run by a search.

    Raises:
        ConfigError: a variable is set but malformed.
    """
    env = os.environ if environ is None else environ
    try:
        knobs = json.loads(env.get(BUNDLE_ENV, "{}"))
        seed = int(env.get(SEED_ENV, "42"))
        fidelity = float(env.get(FIDELITY_ENV, "1"))
    except ValueError as err:
        raise ConfigError(f"bad greensearch trial environment: {err}") from err
    if not isinstance(knobs, dict):
        raise ConfigError(f"{BUNDLE_ENV} must hold a JSON object, got {knobs!r}")
    report = env.get(REPORT_ENV)
    return ScriptTrial(
        knobs={str(k): str(v) for k, v in knobs.items()},
        seed=seed,
        fidelity=fidelity,
        report_path=Path(report) if report else None,
    )


def report_run(
    *,
    predictions: Sequence[int],
    labels: Sequence[int],
    scores: Sequence[float] | None = None,
    example_ids: Sequence[str] | None = None,
    train_steps: int | None = None,
    planned_steps: int | None = None,
    path: str | Path | None = None,
) -> Path | None:
    """Hand the test-set predictions of this run back to the search.

    Args:
        predictions: Predicted class per test example.
        labels: True class per test example, in the same order.
        scores: Positive-class probability per example (binary tasks), optional.
        example_ids: A stable identity per test example (its text, or an id), so two
            runs are paired only on the same test split; default: the labels in order.
        train_steps: Optimizer steps this run made.
        planned_steps: Steps a full-fidelity run makes.
        path: Where to write (default: ``$GREENSEARCH_REPORT``).

    Returns:
        The file written, or ``None`` outside a search (no path given or in the env).

    Raises:
        ConfigError: predictions and labels differ in length or are empty.
    """
    if len(predictions) != len(labels) or not labels:
        raise ConfigError(
            f"report_run needs equal, non-empty predictions and labels "
            f"({len(predictions)} vs {len(labels)})"
        )
    target = Path(path) if path is not None else script_trial().report_path
    if target is None:
        return None
    data: dict[str, Any] = {
        "schema_version": REPORT_SCHEMA,
        "predictions": [int(p) for p in predictions],
        "labels": [int(label) for label in labels],
        "scores": None if scores is None else [float(s) for s in scores],
        "example_ids": None if example_ids is None else [str(e) for e in example_ids],
        "train_steps": train_steps,
        "planned_steps": planned_steps,
    }
    target.write_text(json.dumps(data), encoding="utf-8")
    return target
