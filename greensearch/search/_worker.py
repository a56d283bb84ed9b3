"""An extra search worker: ``python -m greensearch.search._worker SETTINGS_JSON``.

``optimize`` starts these with its own :class:`SearchSettings` as JSON (a worker seed,
``search_only``), so a worker searches exactly the main process's study, with its meter,
results file and repeats; nothing is rebuilt from command-line flags.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from greensearch._logs import configure_logging, route_optuna_logs
from greensearch.exceptions import GreensearchError
from greensearch.search._settings import SearchSettings

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the search phase of the settings in ``argv[0]``; the exit code."""
    from greensearch.search._study import optimize

    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m greensearch.search._worker SETTINGS_JSON", file=sys.stderr)
        return 2
    configure_logging(0, True)  # as the main process's -q: errors only, no tracebacks
    route_optuna_logs()
    try:
        optimize(SearchSettings.from_json(args[0]))
    except GreensearchError as err:
        print(f"greensearch worker: error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
