"""A search worker process for the multi-process tests: the real study code, replayed runs.

Run as ``python -m tests.search.worker --storage URL --calls FILE [--sleep S]``. Each
measurement it makes is appended to ``--calls`` (one line per call: the bundle, its
fidelity and the training seeds it ran), so the test can prove no run was measured twice
across processes. ``--hang-at N`` never returns from this process's N-th measurement (at
``--hang-fidelity`` only, if given), so a test's ``kill -9`` lands inside that measurement
however slow the machine is (it touches ``FILE`` with the suffix ``.hung`` when it gets
there).
``--overlap`` holds a knob-set measurement of the search until another worker starts one,
so two workers measure at the same time by construction (see :func:`_hold`); never a
final run: those are claimed one at a time in order, so no other worker could start one.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

from greensearch.config import StudyConfig
from greensearch.search._replay import ReplayRunner
from tests.conftest import ClockMeter
from tests.search.landscape import landscape, make_registry
from tests.search.run_search import run_search


def _meet(folder: Path, parties: int, timeout: float = 180.0) -> None:
    """Wait until ``parties`` workers have arrived at the same point (a file each in ``folder``).

    At the first trial, so none starts alone: imports and opening the study take seconds
    on a loaded machine; without this, one worker can finish the whole study before the
    other reaches it.
    """
    folder.mkdir(parents=True, exist_ok=True)
    (folder / str(os.getpid())).touch()
    deadline = time.monotonic() + timeout
    while len(list(folder.iterdir())) < parties:
        if time.monotonic() > deadline:
            raise SystemExit(f"only {len(list(folder.iterdir()))}/{parties} workers arrived")
        time.sleep(0.05)


def _hold(key: str, started: float, calls: Path, storage: str, name: str) -> bool:
    """Hold this measurement until another worker starts one (True: done holding).

    Let go early when another worker's trial waits for this very knob set (both seeded
    it, or both sampled it): holding would deadlock, so False: the next measurement tries
    again. After two minutes it lets go for good (True), and the test's overlap check fails.
    """
    import optuna

    deadline = time.monotonic() + 120.0
    while time.monotonic() < deadline:
        others = [json.loads(line) for line in calls.read_text().splitlines()]
        if any(c["pid"] != os.getpid() and c["t"] >= started for c in others):
            return True
        study = optuna.load_study(study_name=name, storage=storage)
        waiting = [
            t
            for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
            if t.user_attrs.get("knobs") == key
            and not str(t.user_attrs.get("worker", "")).endswith(f":{os.getpid()}")
        ]
        if waiting:
            return False
        time.sleep(0.2)
    return True


class _Recording:
    """The replay runner, remembering the fidelity and seeds of the measurement in progress."""

    def __init__(self, inner: ReplayRunner) -> None:
        self.inner = inner
        self.fidelity = 1.0
        self.seeds: list[int] = []

    def __call__(
        self,
        study: Any,
        bundle: Any,
        *,
        fidelity: float = 1.0,
        repeats: int = 1,
        first_repeat: int = 0,
        **kw: Any,
    ) -> Any:
        self.fidelity = fidelity
        self.seeds = list(range(first_repeat, first_repeat + repeats))
        return self.inner(
            study, bundle, fidelity=fidelity, repeats=repeats, first_repeat=first_repeat, **kw
        )

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


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
    p.add_argument("--hang-at", type=int, help="never return from this measurement (1-based)")
    p.add_argument("--hang-fidelity", type=float, help="count only measurements at it")
    p.add_argument("--overlap", action="store_true", help="hold until another measures")
    p.add_argument("--windows", help="JSON Lines file of each measurement's time window")
    args = p.parse_args()
    calls = Path(args.calls)
    met: list[bool] = []
    counted: list[str] = []
    overlapped: list[bool] = []

    def progress(stage: str, done: int, total: int) -> None:
        """The search reports progress first just before its first trial: meet there."""
        if args.barrier and not met:
            met.append(True)
            _meet(Path(args.barrier), args.parties)

    def record(key: str) -> None:
        start = time.time()
        with calls.open("a") as f:
            call = {"knobs": key, "fidelity": runner.fidelity, "seeds": runner.seeds}
            f.write(json.dumps({**call, "pid": os.getpid(), "t": start}) + "\n")
            f.flush()
        if args.hang_fidelity is None or runner.fidelity == args.hang_fidelity:
            counted.append(key)
        if args.hang_at is not None and len(counted) == args.hang_at:
            calls.with_suffix(".hung").touch()
            while True:  # until the test kills this process
                time.sleep(60)
        # a knob set of the search: the others wait for a baseline, and a final run
        if args.overlap and key and runner.fidelity < 1.0 and not overlapped:
            if _hold(key, start, calls, args.storage, args.name):
                overlapped.append(True)
        time.sleep(args.sleep)
        if args.windows:
            window = {"knobs": key, "pid": os.getpid(), "start": start, "end": time.time()}
            with Path(args.windows).open("a") as f:
                f.write(json.dumps(window) + "\n")

    runner = _Recording(ReplayRunner(landscape(), on_call=record))
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
