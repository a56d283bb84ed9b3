"""How often does the whole search name the truly best feasible bundle, over noisy draws?

Replays ``optimize()`` end to end (search and finals, the shipped code path) on the
measured landscape through a :class:`~greensearch.search.ReplayRunner` whose
:class:`DrawNoise` gives every run the noise these machines have, each component sized
from a cited measurement (``measured_noise``):

* per-run energy noise, and drift as a time series over the search's run order: a slow
  and a minute-scale Ornstein-Uhlenbeck process on log energy (and time);
* a per-bundle bias of short runs on energy (what the fidelity extrapolation misses) and
  on ΔF1;
* seed-to-seed F1 spread (short and full runs; one share common to every bundle of a
  seed, as identical training makes it) and kept test-set predictions, so the paired
  bootstrap of ``greensearch.stats`` judges every run as it judges real ones.

The truth: energy from the landscape (``landscape_measured.csv``: every combination of 8
CPU knobs, run once on an AMD EPYC at fidelity 0.2, energy extrapolated to the full run);
F1 at full fidelity, the mean of three full runs (seeds 42-44) of the combination's
numerics class (``landscape_full_f1.py``: the four knobs that change what is computed
define 16 classes, the other four leave F1 unchanged run for run, checked there).
``--truth-f1 short`` takes the landscape's own short run's F1 instead, the truth of the
reports before 2026-12-07: one seed at fidelity 0.2, it put the cheapest feasible bundle
0.27 % from the budget where full runs measure it 2.96 % inside. A draw is one
realisation of all the noise plus the sampler's seed; ``--seed`` reproduces the draws,
and every configuration meets the same draws (noise is keyed by bundle, seed and run
count, not by call order).

Per configuration it reports the share of draws whose oracle is truly feasible and within
10 % of the true cheapest feasible bundle's energy (goal >= 90 %), truly infeasible (goal
<= 5 %), feasible but costlier, or missing, the search cost in baseline-run equivalents
(true full-run baseline energy) by phase, and why draws fail.

Usage::

    python benchmarks/search_reliability.py                       # 40 draws, today's search
    python benchmarks/search_reliability.py --config today,today-point
    python benchmarks/search_reliability.py --draws 30 --config today,new
    python benchmarks/search_reliability.py --quick               # 3 draws, one line
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import RESULTS, Transcript, machine, provenance, write_text
from benchmarks._noise import DrawNoise, NoiseSizes, Sized, measured_noise
from benchmarks.search_efficiency import Landscape

NEAR = 0.10  # "within 10 % of the true cheapest feasible bundle's energy"
QUICK_DRAWS = 3
#: --quick judges on the split's original 961 examples: the bootstrap is 3x cheaper.
QUICK_TEST_EXAMPLES = 961

#: The expert's stacks of issue 21 item 2 (the second is outside this landscape's knobs).
EXPERT = (
    "attention=sdpa,fast_tokenizer,layer_prune=2:top,seq_len=96",
    "layer_prune=2:top,precision=bf16,seq_len=128",
)

#: Cost phases, from the trials' ``phase`` attribute.
PHASES = {"baseline": "baseline", "single": "seeds", "sampler": "trials", "guided": "trials"}
PHASE_ORDER = ("baseline", "seeds", "trials", "finals")


@dataclass(frozen=True, slots=True)
class Config:
    """A search to judge: ``SearchSettings`` changes plus replay flags.

    Attributes:
        note: What it is, for the report.
        changes: Passed to ``SearchSettings.replace``.
        keep_predictions: Runs keep test-set predictions (the bootstrap path); off, the
            search judges F1 on point estimates, as replays did before.
    """

    note: str
    changes: Mapping[str, Any] = field(default_factory=dict)
    keep_predictions: bool = True


CONFIGS: dict[str, Config] = {
    "today": Config(
        "optimize() as shipped, the README main command's defaults (finals add rounds while "
        "a finalist is undecided, up to --max-rounds 6)"
    ),
    "fixed": Config(
        "the same with finals in 3 fixed rounds (--max-rounds 3: the finals before issue 21 "
        "item 7)",
        {"max_rounds": 3},
    ),
    "today-point": Config(
        "the same fed no predictions (point-estimate F1 verdicts)", keep_predictions=False
    ),
    "new": Config(
        "the README main command with --anchor-every 3 (a baseline anchor every 3 "
        "measured trials against drift) and --production-runs 10 (the search stops when a "
        "further trial would not pay for itself over 10 runs)",
        {"production_runs": 10, "anchor_every": 3},
    ),
    "new-pay": Config(
        "the README main command with --production-runs 10 alone (no anchors)",
        {"production_runs": 10},
    ),
    "promote": Config(
        "the README main command with --production-runs 100: besides stopping the search "
        "when a trial would not pay over 100 runs, a final phase that confirms nothing "
        "promotes the next bundle when 100 runs repay its rounds (issue 21 item 7b)",
        {"production_runs": 100},
    ),
}


@dataclass(frozen=True, slots=True)
class Outcome:
    """One draw of one configuration, judged against the truth.

    Attributes:
        oracle: The search's oracle (canonical knob text) or ``None``.
        verdict: ``within10``, ``costly`` (truly feasible, more than 10 % above the
            cheapest), ``infeasible`` (truly) or ``none`` (no oracle).
        energy_ratio: Oracle's true energy / the true cheapest feasible energy.
        cost_bre: Energy spent per phase in true full-run baseline energies.
        why: For a failed draw, where the search lost the near-best bundles.
        extrapolation_pct: The result's median extrapolation error on finalists.
        beats_expert: The oracle is truly feasible and no costlier than the expert's stack.
        bet: The best bet: the result's ``not_confirmed`` bundle (cheaper than the oracle,
            within the budget on its point estimate) or else the oracle; ``None``: neither.
        bet_verdict: ``verdict``'s judgement of ``bet``.
        final_runs: Full-fidelity runs of the finals.
        finalists: Bundles the finals judged (the baseline left out), in the order run.
    """

    oracle: str | None
    verdict: str
    energy_ratio: float | None
    cost_bre: Mapping[str, float]
    why: str | None
    extrapolation_pct: float | None
    beats_expert: bool | None
    bet: str | None
    bet_verdict: str
    final_runs: int
    finalists: tuple[str, ...] = ()


def load_truth(path: Path, full_f1: Path | None = None) -> Landscape:
    """The measured landscape as the truth (budget -1 % F1).

    Energy is the landscape's (its short runs extrapolated to the full run). F1 is its
    short runs' too, unless ``full_f1`` names a complete ``landscape_full_f1.csv``: then
    every combination takes its numerics class's mean F1 over three full runs, a
    replayed full run of one of those seeds takes that run's F1, and F1 noise is drawn
    per class rather than per bundle (``DrawNoise(f1_class=..., full_runs=...)``).
    """
    from benchmarks._common import read_csv
    from benchmarks.landscape_full_f1 import class_f1, class_of, full_f1_truth
    from benchmarks.landscape_measured import replay_landscape

    m = replay_landscape(path)
    if m is None:
        raise SystemExit(f"{path}: the landscape is incomplete; finish landscape_measured.py")
    points, label, runs = m["points"], m["label"], None
    if full_f1 is not None:
        found = full_f1_truth(full_f1)
        if found is None:
            raise SystemExit(f"{full_f1}: incomplete; finish landscape_full_f1.py")
        truth, f1_label = found
        points = {
            key: dataclasses.replace(
                p, f1=truth[class_of(key)][0], degenerate=truth[class_of(key)][1]
            )
            for key, p in points.items()
        }
        label = f"energy {label}; {f1_label}"
        measured = class_f1(read_csv(full_f1)[0])
        runs = {(key, seed): f1 for key, seeds in measured.items() for seed, f1 in seeds.items()}
    return Landscape(
        "measured",
        label,
        points,
        m["registry"],
        m["noise_rel"],
        0.25,
        f1_class=None if full_f1 is None else class_of,
        full_runs=runs,
    )


def near_best(land: Landscape) -> set[str]:
    """Truly feasible bundles within :data:`NEAR` of the true cheapest feasible energy."""
    return {
        k
        for k, p in land.points.items()
        if land.feasible(p) and p.energy_kwh <= land.opt_e * (1 + NEAR)
    }


def replay_draw(
    land: Landscape, sizes: NoiseSizes, config: Config, *, seed: int, draw: int
) -> Outcome:
    """Run the whole search once on draw ``draw`` and judge its oracle against the truth."""
    import optuna

    from greensearch.config import StudyConfig
    from greensearch.record import TrialRecord
    from greensearch.schema import Phase
    from greensearch.search import ReplayRunner, SearchSettings, optimize

    noise = DrawNoise(
        sizes,
        seed=seed * 100_003 + draw,
        predictions=config.keep_predictions,
        f1_class=land.f1_class,
        full_runs=land.full_runs,
    )
    replay = ReplayRunner(land.points, noise=noise, test_examples=int(sizes.n_test.value))
    settings = SearchSettings(
        study=StudyConfig(name="replay", source="<replay>"),
        budget_f1_pct=land.budget_pct,
        study_name="s",
        idle_seconds=0,
        seed=draw,  # the sampler's seed is part of the draw
    ).replace(**config.changes)
    storage = optuna.storages.InMemoryStorage()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = optimize(settings, storage=storage, registry=land.registry, run_fn=replay)
    trials = optuna.load_study(study_name="s", storage=storage).get_trials(deepcopy=False)
    cost = dict.fromkeys(PHASE_ORDER, 0.0)
    measured: set[str] = set()
    finalists: dict[str, None] = {}  # ordered
    for t in trials:
        rec = TrialRecord.from_trial(t)
        if rec.is_claim:  # a claim holds a final run's record; the final trial counts it
            continue
        phase = "finals" if rec.is_final else PHASES[rec.phase or Phase.SAMPLER]
        cost[phase] += rec.energy_kwh_spent / land.base_e
        if t.state == optuna.trial.TrialState.COMPLETE:
            if phase == "finals":
                finalists.setdefault(rec.knobs or "")
            else:
                measured.add(rec.knobs or "")
    oracle = result.oracle.knobs if result.oracle else None
    best = near_best(land)
    ratio = land.points[oracle].energy_kwh / land.opt_e if oracle is not None else None
    verdict = _judge(land, best, oracle)
    bet = result.not_confirmed.knobs if result.not_confirmed is not None else oracle
    final_runs = sum(
        1
        for t in trials
        if TrialRecord.from_trial(t).is_claim and TrialRecord.from_trial(t).final_record
    )
    why = None
    if verdict != "within10":
        why = (
            "near-best never measured in the search"
            if not best & measured
            else "near-best measured, not a finalist"
            if not best & finalists.keys()
            else "near-best a finalist, not confirmed"
        )
    expert = land.points.get(EXPERT[0])
    beats = (
        None
        if expert is None
        else verdict in ("within10", "costly")
        and land.points[oracle or ""].energy_kwh <= expert.energy_kwh
    )
    extra = result.extrapolation
    return Outcome(
        oracle=oracle,
        verdict=verdict,
        energy_ratio=ratio,
        cost_bre=cost,
        why=why,
        extrapolation_pct=extra["median_abs_error_pct"] if extra else None,
        beats_expert=beats,
        bet=bet,
        bet_verdict=_judge(land, best, bet),
        final_runs=final_runs,
        finalists=tuple(k for k in finalists if k),
    )


def _judge(land: Landscape, best: set[str], key: str | None) -> str:
    """``within10``, ``costly``, ``infeasible`` or ``none``: a named bundle against the truth."""
    if key is None:
        return "none"
    if not land.feasible(land.points[key]):
        return "infeasible"
    return "within10" if key in best else "costly"


def _setting(item: str) -> tuple[str, Any]:
    """``FIELD=VALUE`` of ``--set`` as a ``SearchSettings`` change (VALUE as int, float,
    or text)."""
    from greensearch.search import SearchSettings

    field_name, sep, text = item.partition("=")
    fields = {f.name for f in dataclasses.fields(SearchSettings)}
    if not sep or field_name not in fields:
        raise ValueError(f"--set {item}: expected FIELD=VALUE with FIELD a SearchSettings field")
    value: Any = text
    for kind in (int, float):
        try:
            value = kind(text)
            break
        except ValueError:
            continue
    return field_name, value


def _pct(n: int, of: int) -> str:
    return f"{100.0 * n / of:.0f}%"


def _quartiles(xs: list[float]) -> tuple[float, float, float]:
    if len(xs) < 2:
        return xs[0], xs[0], xs[0]
    q1, q2, q3 = statistics.quantiles(xs, n=4, method="inclusive")
    return q1, q2, q3


def report(name: str, note: str, outcomes: list[Outcome], out: Callable[[str], None]) -> str:
    """Print one configuration's table and failure breakdown; return its one-line summary."""
    n = len(outcomes)
    count = {v: sum(o.verdict == v for o in outcomes) for v in ("within10", "infeasible", "none")}
    count["costly"] = n - sum(count.values())
    totals = [sum(o.cost_bre.values()) for o in outcomes]
    out(f"\n== {name}: {note} ==")
    out(
        f"oracle truly feasible and within 10 % of the cheapest: {_pct(count['within10'], n)} "
        f"(goal >= 90 %); truly infeasible: {_pct(count['infeasible'], n)} (goal <= 5 %); "
        f"feasible, > 10 % costlier: {_pct(count['costly'], n)}; no oracle: "
        f"{_pct(count['none'], n)}"
    )
    bets = {v: sum(o.bet_verdict == v for o in outcomes) for v in ("within10", "infeasible")}
    out(
        "best bet (the cheaper unconfirmed bundle within the budget on its point estimate, "
        f"else the oracle): within 10 %: {_pct(bets['within10'], n)}; truly infeasible: "
        f"{_pct(bets['infeasible'], n)}"
    )
    runs = sorted(o.final_runs for o in outcomes)
    out(
        f"full-fidelity runs in the finals: median {statistics.median(runs):g} "
        f"({runs[0]}..{runs[-1]})"
    )
    out(f"{'cost (baseline-run equivalents)':<34} {'median':>7} {'IQR':>14}")
    for phase in (*PHASE_ORDER, "total"):
        xs = totals if phase == "total" else [o.cost_bre[phase] for o in outcomes]
        q1, q2, q3 = _quartiles(xs)
        out(f"  {phase:<32} {q2:7.2f} {f'{q1:.2f} .. {q3:.2f}':>14}")
    ratios = sorted(o.energy_ratio for o in outcomes if o.energy_ratio is not None)
    if ratios:
        q1, q2, q3 = _quartiles(ratios)
        out(f"oracle true energy / cheapest feasible: median {q2:.3f} (IQR {q1:.3f} .. {q3:.3f})")
    extra = [o.extrapolation_pct for o in outcomes if o.extrapolation_pct is not None]
    if extra:
        out(
            "median |extrapolation error| on finalists, median over draws: "
            f"{statistics.median(extra):.1f} %"
        )
    expert = [o.beats_expert for o in outcomes if o.beats_expert is not None]
    if expert:
        out(
            f"oracle truly feasible and no costlier than the expert's {EXPERT[0]}: "
            f"{_pct(sum(expert), len(expert))}"
        )
    named: dict[str, int] = {}
    for o in outcomes:
        named[o.oracle or "(none)"] = named.get(o.oracle or "(none)", 0) + 1
    out("oracles named (draws, true energy / cheapest feasible):")
    for key, k in sorted(named.items(), key=lambda kv: -kv[1])[:6]:
        ratio = next((o.energy_ratio for o in outcomes if o.oracle == key), None)
        out(f"  {k:3d}/{n}  {key}" + (f"  x{ratio:.3f}" if ratio is not None else ""))
    whys: dict[str, int] = {}
    for o in outcomes:
        if o.why is not None:
            key = f"{o.verdict}: {o.why}"
            whys[key] = whys.get(key, 0) + 1
    out("why draws fail:" + ("" if whys else " none failed"))
    for key, k in sorted(whys.items(), key=lambda kv: -kv[1]):
        out(f"  {k:3d}/{n}  {key}")
    q1, med, q3 = _quartiles(totals)
    return (
        f"RELIABILITY config={name} draws={n} within10={_pct(count['within10'], n)} "
        f"infeasible={_pct(count['infeasible'], n)} costly={_pct(count['costly'], n)} "
        f"none={_pct(count['none'], n)} bet_within10={_pct(bets['within10'], n)} "
        f"bet_infeasible={_pct(bets['infeasible'], n)} cost_median={med:.1f} bre"
    )


def per_draw(land: Landscape, outcomes: list[Outcome], out: Callable[[str], None]) -> None:
    """One line per draw: its verdict, oracle and what the finals judged, with the truth
    of each (ΔF1 at full fidelity, energy over the true cheapest feasible)."""

    def truth(key: str) -> str:
        p = land.points[key]
        return f"{key or 'baseline'} ({-land.loss(p):+.2f} %, x{p.energy_kwh / land.opt_e:.2f})"

    out("per draw (verdict, oracle; finals judged, each with its true ΔF1 and energy):")
    for d, o in enumerate(outcomes):
        finals = "; ".join(truth(k) for k in o.finalists) or "-"
        cost = sum(o.cost_bre.values())
        out(f"  {d:3d} {o.verdict:<10} {o.oracle or '(none)'}")
        out(f"      cost {cost:.2f} bre, {o.final_runs} final runs; finals: {finals}")


def paired(
    name: str, first: str, outcomes: list[Outcome], against: list[Outcome]
) -> tuple[str, ...]:
    """How ``outcomes`` differ from ``against`` (the first configuration) draw by draw:
    the same draws meet the same noise, so a paired difference is the fair comparison
    where two configurations' medians can fall on different draws."""
    pairs = list(zip(outcomes, against, strict=True))
    diff = [sum(a.cost_bre.values()) - sum(b.cost_bre.values()) for a, b in pairs]
    lower = sum(d < -0.01 for d in diff)
    higher = sum(d > 0.01 for d in diff)
    changed = [
        f"{d} {b.verdict}->{a.verdict}" for d, (a, b) in enumerate(pairs) if a.verdict != b.verdict
    ]
    return (
        f"{name} against {first}, draw by draw: total cost lower in {lower}, higher in "
        f"{higher}, equal in {len(diff) - lower - higher} of {len(diff)}; difference mean "
        f"{statistics.mean(diff):+.2f} bre, median {statistics.median(diff):+.2f}, range "
        f"{min(diff):+.2f} .. {max(diff):+.2f}",
        f"  verdicts changed: {', '.join(changed) or 'none'}",
    )


def describe_truth(land: Landscape, out: Callable[[str], None]) -> None:
    """The truth the draws are judged against, and where the expert's stacks stand."""
    best = near_best(land)
    out(
        f"truth: {land.label}; {len(land.points)} combinations; cheapest feasible (budget "
        f"-{land.budget_pct:g} % F1): {land.opt_key or 'baseline'} at "
        f"x{land.opt_e / land.base_e:.3f} of the baseline's energy; {len(best)} truly "
        "feasible bundle(s) within 10 % of it"
    )
    for stack in EXPERT:
        p = land.points.get(stack)
        if p is None:
            out(f"expert stack {stack}: outside this landscape's knobs (not judged)")
            continue
        out(
            f"expert stack {stack}: x{p.energy_kwh / land.base_e:.3f} of the baseline's energy, "
            f"ΔF1 {-land.loss(p):+.2f} %, {'feasible' if land.feasible(p) else 'infeasible'}, "
            f"x{p.energy_kwh / land.opt_e:.3f} of the cheapest feasible"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0, help="seed of the draws")
    parser.add_argument(
        "--config", default="today", help=f"comma-separated, of {', '.join(CONFIGS)}"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"{QUICK_DRAWS} draws on {QUICK_TEST_EXAMPLES} test examples, one line",
    )
    parser.add_argument(
        "--drift-scale",
        type=float,
        default=1.0,
        help="multiply both drift SDs (sensitivity: the minute-scale size is one observation)",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="also replay 'today' with this SearchSettings change (repeatable; all changes "
        "make one configuration, named after them), e.g. --set near_misses=2; with "
        "--config '' only that one",
    )
    parser.add_argument(
        "--per-draw", action="store_true", help="list each draw's oracle and finalists"
    )
    parser.add_argument("--measured", type=Path, default=RESULTS / "landscape_measured.csv")
    parser.add_argument(
        "--truth-f1",
        choices=("full", "short"),
        default="full",
        help="the truth's F1: each numerics class's three full runs (landscape_full_f1.csv, "
        "default) or the landscape's own short run of each combination (the truth until "
        "2026-12-07)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="report file (default benchmarks/results/search_reliability.txt; --quick: none)",
    )
    args = parser.parse_args(argv)
    names = [c.strip() for c in args.config.split(",") if c.strip()]
    unknown = [c for c in names if c not in CONFIGS]
    if unknown or not (names or args.set):
        parser.error(f"unknown config {', '.join(unknown) or '(none)'}; use {', '.join(CONFIGS)}")
    configs = dict(CONFIGS)
    if args.set:
        try:
            changes = dict(_setting(item) for item in args.set)
        except ValueError as exc:
            parser.error(str(exc))
        name = "today+" + ",".join(args.set)
        configs[name] = Config(f"'today' with {', '.join(args.set)}", changes)
        names.append(name)
    if args.quick:
        args.draws, names = min(args.draws, QUICK_DRAWS), names[:1]
    start = time.perf_counter()
    out = Transcript(echo=not args.quick)

    full_f1 = RESULTS / "landscape_full_f1.csv" if args.truth_f1 == "full" else None
    land = load_truth(args.measured, full_f1)
    sizes = measured_noise(RESULTS, args.measured, full_f1)
    if args.drift_scale != 1.0:
        sizes = dataclasses.replace(
            sizes,
            **{
                name: Sized(
                    getattr(sizes, name).value * args.drift_scale,
                    f"{getattr(sizes, name).source}; x{args.drift_scale:g} (--drift-scale)",
                )
                for name in ("slow_sd", "fast_sd")
            },
        )
    if args.quick:
        sizes = dataclasses.replace(
            sizes, n_test=Sized(QUICK_TEST_EXAMPLES, "--quick: fewer examples, for speed")
        )
    out(f"search reliability: {args.draws} draws (--seed {args.seed}); replayed on {machine()}")
    describe_truth(land, out)
    out("noise per draw (sources):")
    for line in sizes.describe():
        out("  " + line)
    lines = []
    runs: dict[str, list[Outcome]] = {}
    for name in names:
        outcomes = [
            replay_draw(land, sizes, configs[name], seed=args.seed, draw=d)
            for d in range(args.draws)
        ]
        runs[name] = outcomes
        lines.append(report(name, configs[name].note, outcomes, out))
        if args.per_draw:
            per_draw(land, outcomes, out)
        if name != names[0]:
            for line in paired(name, names[0], outcomes, runs[names[0]]):
                out(line)
    out(f"total {time.perf_counter() - start:.0f} s")
    for line in lines:
        out(line, echo=True)
    path = args.out or (None if args.quick else RESULTS / "search_reliability.txt")
    if path is not None:
        write_text(
            path,
            out.text,
            provenance(
                "replayed CSV",
                "replayed",
                draws=args.draws,
                seed=args.seed,
                drift_scale=args.drift_scale,
            ),
        )
    return 0


if __name__ == "__main__":
    # the search's advice (e.g. "this task resolves F1 losses of ...") would repeat per draw
    logging.getLogger("greensearch").setLevel(logging.ERROR)
    raise SystemExit(main())
