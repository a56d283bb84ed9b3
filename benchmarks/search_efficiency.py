"""How many trials (and how much energy) does greensearch need to find the optimum?

Replays searches on known landscapes (no training; ``ReplayRunner`` answers every run
from the landscape, with per-run energy noise) and compares, over ``--seeds`` seeds and
the ``-1%`` F1 budget:

* ``greensearch``: ``optimize()`` as shipped (seeding with the baseline and every knob
  alone, then TPE trials alternating with model-guided ones, the orthogonality checker
  pruning), on an in-memory Optuna storage;
* ``tpe-no-guide``: the same with ``guide=False`` (TPE and the checker's pruning only);
* ``tpe-no-checker``: ``guide=False, prune=False`` (seeded TPE, no model at all);
* ``random``: uniform independent draws of every knob (what Optuna's RandomSampler does,
  with no seeding); a repeated draw costs no energy (greensearch reuses it) but is a trial;
* ``grid``: every combination once, in a uniformly random order (what Optuna's
  GridSampler does).

Random and grid are simulated directly on the landscape (same order statistics as the
Optuna samplers, without thousands of Optuna trials). Per strategy it prints the median
trials until the true feasible minimum was first measured (pruned and reused trials
count as trials; the baseline and seeds too), the median trials to a bundle within 1 %
of it, normalised hypervolume after 10/25/50 trials, and the median energy spent until
the minimum was found (sum over the runs the search really made, at the search
fidelity). The last line gives greensearch/grid and greensearch/random (median trials).

Hypervolume: objectives (energy / baseline energy, F1 loss % of baseline F1) of the
bundles measured so far (true landscape values, degenerate ones excluded), reference
point (1.0, budget), divided by the hypervolume of the whole landscape.

Landscapes: the paper-calibrated model (``landscape_paper.py``; labelled "paper-calibrated
model, not a measurement") always; its 256-combination slice of the 8 knobs that run on a
CPU (``paper-cpu8``, not in ``--quick``); the measured one (``landscape_measured.py``'s CSV)
when it exists, with the energy noise of its repeated baseline.

Usage::

    python benchmarks/search_efficiency.py            # 20 seeds, cap 600 trials per search
    python benchmarks/search_efficiency.py --quick    # 3 seeds, cap 500, paper model only
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import RESULTS, Transcript, provenance, write_text
from greensearch.knobs import KnobRegistry
from greensearch.search import Point, ReplayRunner

HV_AT = (10, 25, 50)
NEAR = 0.01  # "within 1 % of the minimum energy"


@dataclass
class Landscape:
    """A replayable landscape: points, a no-op registry, replay noise and labels."""

    name: str
    label: str
    points: dict[str, Point]
    registry: KnobRegistry
    noise_rel: float
    fidelity: float
    budget_pct: float = 1.0
    include: list[str] | None = None
    #: What decides a bundle's F1 (its numerics class); ``None``: the bundle itself.
    f1_class: Callable[[str], str] | None = None
    #: Measured full-run F1 by (class, seed), for the replay's full runs of those seeds.
    full_runs: dict[tuple[str, int], float] | None = None

    def __post_init__(self) -> None:
        base = self.points[""]
        self.base_e, self.base_f1 = base.energy_kwh, base.f1
        feas = {k: p for k, p in self.points.items() if self.feasible(p)}
        self.opt_key = min(feas, key=lambda k: feas[k].energy_kwh)
        self.opt_e = feas[self.opt_key].energy_kwh
        self.near = {k for k, p in feas.items() if p.energy_kwh <= self.opt_e * (1 + NEAR)}
        self.hv_max = hypervolume(self, list(self.points))

    def loss(self, p: Point) -> float:
        return (self.base_f1 - p.f1) / self.base_f1 * 100.0

    def feasible(self, p: Point) -> bool:
        return not p.degenerate and self.loss(p) <= self.budget_pct

    def spent(self, key: str) -> float:
        """Energy of one run of ``key`` at the search fidelity (the replay's formula)."""
        p = self.points[key]
        return p.energy_kwh * ((1 - p.train_share) + p.train_share * self.fidelity)


def hypervolume(land: Landscape, keys: list[str]) -> float:
    """2-D hypervolume of (energy ratio, F1 loss) below the reference (1, budget)."""
    pts = sorted(
        {
            (land.points[k].energy_kwh / land.base_e, land.loss(land.points[k]))
            for k in keys
            if not land.points[k].degenerate
        }
    )
    ref_e, ref_f = 1.0, land.budget_pct
    hv, best_f = 0.0, ref_f
    for e, f in pts:  # ascending energy: each point adds the strip below the best F1 so far
        if e >= ref_e or f >= best_f:
            continue
        hv += (ref_e - e) * (best_f - f)
        best_f = f
    return hv


@dataclass
class Trace:
    """One search: per trial, the bundle it measured (``None``: pruned or reused)."""

    measured: list[str | None]
    spent_kwh: list[float]

    def first(self, keys: set[str]) -> float:
        for i, k in enumerate(self.measured):
            if k in keys:
                return i + 1
        return math.inf

    def spent_until(self, n: float) -> float:
        return sum(self.spent_kwh[: len(self.spent_kwh) if math.isinf(n) else int(n)])


class _Stop(Exception):
    """Raised from the progress callback once a replayed search has shown what we need."""


def run_greensearch(land: Landscape, seed: int, *, prune: bool, guide: bool, cap: int) -> Trace:
    """Replay ``optimize()`` until the minimum is measured and ≥ 50 trials ran."""
    import optuna

    from greensearch.config import StudyConfig
    from greensearch.record import attrs_of
    from greensearch.search import SearchSettings, optimize

    replay = ReplayRunner(land.points, noise_rel=land.noise_rel, seed=seed)
    found = []

    def run(study: Any, bundle: dict[str, str], **kw: Any) -> dict[str, Any]:
        out = replay(study, bundle, **kw)
        if replay.calls[-1][0] == land.opt_key:
            found.append(True)
        return out

    def progress(phase: str, done: int, total: int) -> None:
        if found and done >= max(HV_AT):
            raise _Stop

    storage = optuna.storages.InMemoryStorage()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            settings = SearchSettings(
                study=StudyConfig(name="replay", source="<replay>"),
                budget_f1_pct=land.budget_pct,
                n_trials=cap,
                study_name="s",
                sampler="tpe",
                fidelity=land.fidelity,
                repeats=1,
                baseline_repeats=3,
                prune=prune,
                # search_only stops before the finalists; the guide stays on as in
                # the main process of `greensearch optimize`
                guide=guide,
                idle_seconds=0,
                include=tuple(land.include or ()),
                seed=seed,
                search_only=True,
            )
            optimize(
                settings,
                storage=storage,
                registry=land.registry,
                run_fn=run,
                progress=progress,
            )
        except _Stop:
            pass
    trials = optuna.load_study(study_name="s", storage=storage).get_trials(deepcopy=False)
    measured: list[str | None] = []
    spent: list[float] = []
    for t in trials:
        a = attrs_of(t)
        ok = t.state == optuna.trial.TrialState.COMPLETE and "reused_from" not in t.user_attrs
        measured.append(a.get("knobs") if ok else None)
        spent.append(float(a.get("energy_kwh_spent", 0.0)) if ok else 0.0)
    return Trace(measured, spent)


def run_random(land: Landscape, seed: int, *, cap: int) -> Trace:
    """Uniform independent draws; a repeat is a trial that costs nothing."""
    rng = random.Random(seed)
    keys = sorted(land.points)
    seen: set[str] = set()
    measured: list[str | None] = []
    spent: list[float] = []
    while len(measured) < cap:
        k = rng.choice(keys)
        measured.append(None if k in seen else k)
        spent.append(0.0 if k in seen else land.spent(k))
        seen.add(k)
        if land.opt_key in seen and len(measured) >= max(HV_AT):
            break
    return Trace(measured, spent)


def run_grid(land: Landscape, seed: int, *, cap: int) -> Trace:
    """Every combination once, in a random order (cut at the minimum or ``cap``)."""
    keys = sorted(land.points)
    random.Random(seed).shuffle(keys)
    n = max(keys.index(land.opt_key) + 1, max(HV_AT))
    keys = keys[: min(n, cap)]
    return Trace(list(keys), [land.spent(k) for k in keys])


STRATEGIES: dict[str, Callable[[Landscape, int, int], Trace]] = {
    "greensearch": lambda land, s, c: run_greensearch(land, s, prune=True, guide=True, cap=c),
    "tpe-no-guide": lambda land, s, c: run_greensearch(land, s, prune=True, guide=False, cap=c),
    "tpe-no-checker": lambda land, s, c: run_greensearch(land, s, prune=False, guide=False, cap=c),
    "random": lambda land, s, c: run_random(land, s, cap=c),
    "grid": lambda land, s, c: run_grid(land, s, cap=c),
}


def _median(xs: list[float]) -> float:
    return statistics.median(xs)


def _fmt(x: float, cap: int) -> str:
    return f">{cap}" if math.isinf(x) else f"{x:g}"


def evaluate(
    land: Landscape, seeds: int, caps: dict[str, int], out: Callable[[str], None]
) -> dict[str, float]:
    """Run every strategy on ``land``; print its table; return median trials per strategy."""
    base_full = land.base_e
    out(f"\n== {land.name}: {land.label} ==")
    out(
        f"{len(land.points)} combinations; feasible minimum (budget -{land.budget_pct:g}% F1): "
        f"{land.opt_key or 'baseline'} at x{land.opt_e / land.base_e:.4f} of baseline energy; "
        f"{len(land.near)} bundle(s) within {NEAR:.0%} of it; replay noise "
        f"{land.noise_rel:.2%} per run; search fidelity {land.fidelity:g}"
    )
    out(
        f"{'strategy':<15} {'trials to min':>13} {'[min..max]':>14} {'to ≤1%':>7} "
        + " ".join(f"{'HV@' + str(n):>6}" for n in HV_AT)
        + f" {'energy to min':>14} {'(baseline runs)':>15} {'s/seed':>7}"
    )
    medians: dict[str, float] = {}
    for name, strategy in STRATEGIES.items():
        if name not in caps:
            continue
        cap = caps[name]
        t0 = time.perf_counter()
        traces = [strategy(land, s, cap) for s in range(seeds)]
        secs = (time.perf_counter() - t0) / seeds
        firsts = [tr.first({land.opt_key}) for tr in traces]
        nears = [tr.first(land.near) for tr in traces]
        hvs = [
            _median(
                [
                    hypervolume(land, [k for k in tr.measured[:n] if k is not None]) / land.hv_max
                    for tr in traces
                ]
            )
            for n in HV_AT
        ]
        spent = [tr.spent_until(f) for tr, f in zip(traces, firsts, strict=True)]
        med = _median(firsts)
        medians[name] = med
        spent_med = _median(spent)
        censored = sum(math.isinf(f) for f in firsts)
        out(
            f"{name:<15} {_fmt(med, cap):>13} "
            f"{f'[{_fmt(min(firsts), cap)}..{_fmt(max(firsts), cap)}]':>14} "
            f"{_fmt(_median(nears), cap):>7} "
            + " ".join(f"{h:6.3f}" for h in hvs)
            + f" {spent_med:11.4g} kWh {spent_med / base_full:15.1f} {secs:7.1f}"
            + (f"  ({censored}/{seeds} not found within {cap})" if censored else "")
        )
    g = medians["greensearch"]
    out(
        f"ratios [{land.name}]: greensearch/grid = {_ratio(g, medians['grid'])}  "
        f"greensearch/random = {_ratio(g, medians['random'])}  "
        f"(targets <= 0.15 and <= 0.5)"
    )
    return medians


def _ratio(a: float, b: float) -> str:
    if math.isinf(a) and math.isinf(b):
        return "n/a"
    if math.isinf(a):
        return "inf"
    return f"{a / b:.3f}"


#: The paper-model knobs that also run on a CPU: a 256-combination slice, the size of the
#: measured landscape, where a grid is short and the ≤ 0.15 target hardest to meet.
PAPER_CPU8 = (
    "fast_tokenizer",
    "seq_len",
    "layer_prune",
    "attention",
    "torch_compile",
    "grad_checkpointing",
    "lora",
    "grad_accumulation",
)


def _slice(points: dict[str, Point], knobs: tuple[str, ...]) -> dict[str, Point]:
    from greensearch.knobs import parse_bundle

    return {k: p for k, p in points.items() if set(parse_bundle(k)) <= set(knobs)}


def load_landscapes(quick: bool, measured_csv: Path) -> list[Landscape]:
    from benchmarks.landscape_paper import LABEL, paper_landscape

    points, registry, noise = paper_landscape()
    lands = [Landscape("paper", LABEL, points, registry, noise, fidelity=0.3)]
    if not quick:
        lands.append(
            Landscape(
                "paper-cpu8",
                LABEL + ", 8 CPU-runnable knobs",
                _slice(points, PAPER_CPU8),
                registry,
                noise,
                fidelity=0.3,
                include=list(PAPER_CPU8),
            )
        )
    if not quick and measured_csv.is_file():
        from benchmarks.landscape_measured import replay_landscape

        m = replay_landscape(measured_csv)
        if m is not None:
            lands.append(
                Landscape(
                    "measured",
                    m["label"],
                    m["points"],
                    m["registry"],
                    m["noise_rel"],
                    fidelity=m["fidelity"],
                )
            )
    return lands


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--cap", type=int, default=600, help="most trials per TPE search")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="3 seeds, cap 500, paper model only, greensearch/random/grid",
    )
    parser.add_argument("--measured", type=Path, default=RESULTS / "landscape_measured.csv")
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="report file (default benchmarks/results/search_efficiency.txt; "
        "--quick writes none unless given)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds, args.cap = min(args.seeds, 3), min(args.cap, 500)
    start = time.perf_counter()
    out = Transcript()

    lands = load_landscapes(args.quick, args.measured)
    out(f"search efficiency: {args.seeds} seeds, budget -1% F1, TPE cap {args.cap} trials")
    ratios = []
    for land in lands:
        big = 10 * len(land.points)  # random/grid: never censored in practice
        caps = {
            "greensearch": args.cap,
            "tpe-no-guide": args.cap,
            "tpe-no-checker": args.cap,
            "random": big,
            "grid": big,
        }
        if args.quick:
            del caps["tpe-no-guide"], caps["tpe-no-checker"]
        med = evaluate(land, args.seeds, caps, out)
        g = med["greensearch"]
        ratios.append(
            f"{land.name}: greensearch/grid={_ratio(g, med['grid'])} "
            f"greensearch/random={_ratio(g, med['random'])}"
        )
    out(f"total {time.perf_counter() - start:.0f} s")
    out("RATIOS " + "; ".join(ratios))
    path = args.out or (None if args.quick else RESULTS / "search_efficiency.txt")
    if path is not None:
        meter = ", ".join(
            sorted(
                {
                    la.name + ": " + ("model" if la.name == "paper" else "replayed CSV")
                    for la in lands
                }
            )
        )
        write_text(path, out.text, provenance(meter, "replayed", seeds=args.seeds, cap=args.cap))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
