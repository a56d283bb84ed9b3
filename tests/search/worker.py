"""A search worker process for the multi-process tests: the real study code, replayed runs.

Run as ``python -m tests.search.worker --storage URL --calls FILE [--sleep S]``. Each
measurement it makes is appended to ``--calls`` (one line per bundle and fidelity), so the
test can prove no knob set was measured twice across processes.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from greensearch.config import StudyConfig
from greensearch.search._replay import ReplayRunner
from tests.conftest import ClockMeter
from tests.search.landscape import landscape, make_registry
from tests.search.run_search import run_search


def _meet(folder: Path, parties: int, timeout: float = 180.0) -> None:
    """Wait until ``parties`` workers are about to run their first trial, so none starts alone.

    Imports and opening the study take seconds on a loaded machine; without this, one
    worker can finish the whole study before the other reaches it, and the test would
    prove nothing about sharing.
    """
    folder.mkdir(parents=True, exist_ok=True)
    (folder / str(os.getpid())).touch()
    deadline = time.monotonic() + timeout
    while len(list(folder.iterdir())) < parties:
        if time.monotonic() > deadline:
            raise SystemExit(f"only {len(list(folder.iterdir()))}/{parties} workers arrived")
        time.sleep(0.05)


def main() -> None:
    """Parse arguments and run the search phase (or the whole study)."""
    p = argparse.ArgumentParser()
    p.add_argument("--storage", required=True)
    p.add_argument("--calls", required=True)
    p.add_argument("--name", default="t")
    p.add_argument("--sleep", type=float, default=0.0)
    p.add_argument("--n-trials", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--search-only", action="store_true")
    p.add_argument("--barrier", help="folder where N workers meet before searching")
    p.add_argument("--parties", type=int, default=1)
    args = p.parse_args()
    calls = Path(args.calls)
    met: list[bool] = []

    def progress(stage: str, done: int, total: int) -> None:
        """The search reports progress first just before its first trial: meet there."""
        if args.barrier and not met:
            met.append(True)
            _meet(Path(args.barrier), args.parties)

    def record(key: str) -> None:
        with calls.open("a") as f:
            f.write(json.dumps({"knobs": key, "pid": os.getpid(), "t": time.time()}) + "\n")
            f.flush()
        time.sleep(args.sleep)

    runner = ReplayRunner(landscape(), on_call=record)
    result = run_search(
        StudyConfig(name="replay", source="<replay>"),
        budget_f1="-1%",
        n_trials=args.n_trials,
        storage=args.storage,
        study_name=args.name,
        fidelity=0.5,
        repeats=2,
        baseline_repeats=2,
        finalists=2,
        meter=ClockMeter(),
        registry=make_registry(),
        run_fn=runner,
        seed=args.seed,
        search_only=args.search_only,
        progress=progress,
    )
    print(
        json.dumps(
            {"oracle": result.oracle.knobs if result.oracle else None, "n_trials": result.n_trials}
        )
    )


if __name__ == "__main__":
    main()
