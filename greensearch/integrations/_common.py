"""The one way an integration enters the search: ``optimize`` with its own run_fn.

``optimize`` opens no meter for a run_fn (a replay measures nothing); an integration
measures real runs, so it opens the settings' meter here, names this machine (so the
study's machine checks apply), and closes what it opened.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from greensearch.exceptions import ConfigError

if TYPE_CHECKING:
    from optuna.storages import BaseStorage

    from greensearch.energy import Meter
    from greensearch.knobs import KnobRegistry
    from greensearch.search import SearchResult, SearchSettings

__all__ = ["search_with_runner"]


def search_with_runner(
    settings: SearchSettings,
    run_fn: Callable[..., dict[str, Any]],
    *,
    registry: KnobRegistry | None = None,
    meter: Meter | None = None,
    storage: BaseStorage | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    left_out: Mapping[str, str] | None = None,
) -> SearchResult:
    """Run :func:`greensearch.search.optimize` with ``run_fn`` under a real meter.

    Args:
        settings: The search settings (meter name, storage, budget...).
        run_fn: Callable like :func:`greensearch.pipeline.run_variant`.
        registry: The knobs that apply to what the run_fn runs.
        meter: A meter object instead of opening ``settings.meter``.
        storage: An Optuna storage object instead of ``settings.storage``.
        progress: Called as ``progress(phase, done, total)`` after each trial.
        left_out: Knobs kept out of ``registry`` as inapplicable, with the reason (stored
            in the study, shown in the result).

    Raises:
        ConfigError: bad settings (from the search's preflight), or several workers.
        MeterUnavailableError: the named meter cannot be opened.
    """
    from greensearch.energy import make_meter, measure_idle_power
    from greensearch.machine import describe_machine
    from greensearch.search import optimize

    if settings.n_workers > 1:
        raise ConfigError(
            f"--n-workers {settings.n_workers}: a search around your own code runs in one "
            "process (its objects cannot travel to workers); drop --n-workers"
        )
    owned = meter is None
    the_meter: Any = make_meter(settings.meter) if meter is None else meter
    try:
        if owned and settings.idle_seconds > 0:
            measure_idle_power(the_meter, seconds=settings.idle_seconds)
        return optimize(
            settings,
            storage=storage,
            meter=the_meter,
            registry=registry,
            run_fn=run_fn,
            progress=progress,
            machine=describe_machine(),
            left_out=left_out,
        )
    finally:
        if owned:
            the_meter.close()
