"""greensearch: find the lowest-energy bundle of ML-pipeline knobs within an F1 budget.

The public entry points are imported lazily so ``import greensearch`` (and the CLI's
``--help``) stays fast and never loads torch::

    import greensearch
    settings = greensearch.SearchSettings.for_study(None, budget_f1_pct=-1.0)
    result = greensearch.optimize(settings)
    print(greensearch.format_result(result))  # as `greensearch optimize` prints it
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from greensearch.pipeline import RunSummary
    from greensearch.search import SearchResult, SearchSettings

__all__ = [
    "SearchSettings",
    "__version__",
    "entity_counts",
    "format_result",
    "load_study",
    "optimize",
    "report_run",
    "run",
    "script_trial",
]

__version__ = "0.1.0"


def optimize(settings: SearchSettings, **kwargs: Any) -> SearchResult:
    """Search knob bundles; see :func:`greensearch.search.optimize`."""
    from greensearch.search._study import optimize as _optimize

    return _optimize(settings, **kwargs)


def format_result(result: SearchResult) -> str:
    """The result as ``greensearch optimize`` prints it; see
    :func:`greensearch.search.format_result`."""
    from greensearch.search._result_text import format_result as _format

    return _format(result)


def __getattr__(name: str) -> Any:
    """``greensearch.SearchSettings`` and the script reporter, imported on first use."""
    if name == "SearchSettings":
        from greensearch.search._settings import SearchSettings

        return SearchSettings
    if name in ("report_run", "script_trial"):  # what a script run by --script calls
        from greensearch.integrations import _reporter

        return getattr(_reporter, name)
    if name == "entity_counts":  # BIO tags -> what report_run(entity_counts=...) takes
        from greensearch.stats import _entities

        return _entities.entity_counts
    raise AttributeError(f"module 'greensearch' has no attribute {name!r}")


def run(
    study: Any = None,
    knobs: str = "",
    *,
    repeats: int = 1,
    meter: str = "auto",
    idle_seconds: float = 2.0,
    **kwargs: Any,
) -> RunSummary:
    """Run one variant of a study and return its typed summary (``to_dict()``: as
    ``greensearch run --json`` prints it).

    Args:
        study: Study file, :class:`~greensearch.config.StudyConfig`, or ``None`` (embedded).
        knobs: Bundle text, e.g. ``"seq_len=128,fast_tokenizer"``.
        repeats: Number of runs.
        meter: Meter name (``auto``, ``nvml``, ``rapl``, ``codecarbon``).
        idle_seconds: Idle power sampling before the first run (0 skips).
        **kwargs: Passed to :func:`greensearch.pipeline.run_variant`.
    """
    from greensearch.config import StudyConfig
    from greensearch.config import load_study as _load
    from greensearch.energy import make_meter, measure_idle_power
    from greensearch.knobs import parse_bundle
    from greensearch.pipeline import RunSummary, run_variant

    cfg = study if isinstance(study, StudyConfig) else _load(study)
    the_meter = make_meter(meter)
    try:
        if idle_seconds > 0:
            measure_idle_power(the_meter, seconds=idle_seconds)
        summary = run_variant(cfg, parse_bundle(knobs), repeats=repeats, meter=the_meter, **kwargs)
        return RunSummary.from_summary(summary)
    finally:
        the_meter.close()


def load_study(path: Any = None) -> Any:
    """Read a study file; see :func:`greensearch.config.load_study`."""
    from greensearch.config import load_study as _load

    return _load(path)
