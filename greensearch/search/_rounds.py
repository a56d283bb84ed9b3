"""Full-fidelity comparisons in rounds: baseline, finalist, uncertain one, baseline, ...

Why: machine drift (thermal state, background load, an estimate that follows machine-wide
load) moves energy over minutes. Measuring each variant's repeats back to back lets that
drift pass for a knob's effect; the README's baseline once averaged 0.98 Wh an hour
before the finals and 0.756 Wh in them. Round ``r`` runs every variant once with seed
``study.seed + r``, so drift hits all of them alike, and ΔEnergy pairs the runs of one
round. Each run is stored in the study as soon as it ends, so a final phase killed
halfway resumes at the next run instead of starting over.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from greensearch.knobs import Bundle, parse_bundle
from greensearch.schema import StudyAttr
from greensearch.search._space import SearchSpace

__all__ = ["ROUND_ATTR", "Measured", "run_rounds"]

logger = logging.getLogger(__name__)

#: Study user attribute prefix of one stored final run: ``<prefix>:<round>:<knobs>``.
ROUND_ATTR = StudyAttr.FINAL_ROUND


def _stored(ostudy: Any) -> dict[tuple[str, int], dict[str, Any]]:
    found = {}
    for name, record in ostudy.user_attrs.items():
        if name.startswith(ROUND_ATTR + ":"):
            _, _, rest = name.partition(ROUND_ATTR + ":")
            r, _, key = rest.partition(":")
            found[(key, int(r))] = record
    return found


def run_rounds(
    ostudy: Any,
    keys: list[str],
    runner: Any,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, dict[str, Any]]:
    """Measure every key ``runner.repeats`` times in rounds; the summary of each key.

    Args:
        ostudy: The Optuna study (stores each run as it completes).
        keys: Canonical knob texts, the baseline (``""``) first.
        runner: The search's :class:`~greensearch.search._objective.TrialRunner`.
        progress: Called as ``progress("final", runs done, runs in all)``.
    """
    from greensearch.pipeline import run_variant, summarize

    stored = _stored(ostudy)
    run = runner.run_fn or run_variant
    if runner.run_fn is None:
        runner.warm()
    total = len(keys) * runner.repeats
    done = sum((key, r) in stored for key in keys for r in range(runner.repeats))
    for r in range(runner.repeats):
        for key in keys:
            if (key, r) in stored:
                continue
            if progress is not None:
                progress("final", done, total)
            logger.info("final round %d/%d: %s", r + 1, runner.repeats, key or "baseline")
            summary = run(
                runner.study_cfg,
                parse_bundle(key),
                repeats=1,
                meter=runner.meter,
                fidelity=1.0,
                results_path=runner.results_path,
                variant=f"final-r{r + 1}",
                registry=runner.space.registry,
                first_repeat=r,
            )
            record = summary["runs"][0]
            ostudy.set_user_attr(f"{ROUND_ATTR}:{r}:{key}", record)
            stored[(key, r)] = record
            done += 1
    if progress is not None:
        progress("final", total, total)
    return {key: summarize([stored[(key, r)] for r in range(runner.repeats)]) for key in keys}


@dataclass
class Measured:
    """A ``run_fn`` that answers with summaries measured already (by :func:`run_rounds`)."""

    summaries: Mapping[str, dict[str, Any]]
    space: SearchSpace

    def __call__(self, study: Any, bundle: Bundle, **_: Any) -> dict[str, Any]:
        return self.summaries[self.space.key(bundle)]
