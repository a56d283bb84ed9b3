"""Model-guided trials: what the model proposes, and how the search uses the proposals."""

from __future__ import annotations

import optuna
import pytest

from greensearch.config import StudyConfig
from greensearch.interactions._model import OrthogonalityChecker
from greensearch.knobs import parse_bundle
from greensearch.search._guide import Evidence, Proposal, next_step, pays_for_itself, propose
from greensearch.search._replay import ReplayRunner
from greensearch.search._space import build_space
from tests.search.landscape import BASE_ENERGY, BASE_F1, landscape, make_registry, true_oracle
from tests.search.run_search import run_search

STUDY = StudyConfig(name="replay", source="<replay>")


def _singles() -> dict[str, tuple[float, float]]:
    """Each knob alone: energy ratio and ΔF1 in percent, as the seeds measure them."""
    return {
        key: (point.energy_kwh / BASE_ENERGY, (point.f1 - BASE_F1) / BASE_F1 * 100)
        for key, point in landscape().items()
        if key and "," not in key
    }


def _checker_with_singles(noise_rel: float = 0.01) -> OrthogonalityChecker:
    """A checker that has seen the baseline and every knob alone (what the seeds give)."""
    checker = OrthogonalityChecker(make_registry(), noise_rel=noise_rel)
    for key, (ratio, f1) in _singles().items():
        checker.observe(parse_bundle(key), ratio, f1)
    return checker


def _evidence(sd: float = 0.0, shift: float = 0.0) -> list[Evidence]:
    """The baseline and the singles as cores (ΔF1 shifted by ``shift``, SD ``sd``)."""
    return [Evidence("", 1.0, 0.0)] + [
        Evidence(key, ratio, f1 + shift, sd) for key, (ratio, f1) in _singles().items()
    ]


def _key(space, proposal: Proposal | None) -> str | None:
    return None if proposal is None else space.key(proposal.bundle)


@pytest.fixture
def space():
    return build_space(make_registry(), STUDY)


def test_a_proposal_adds_one_knob_to_a_measured_core(space) -> None:
    proposal = propose(_checker_with_singles(), space, 1.0, set(), _evidence())
    # prune x trim = 0.35, ΔF1 -0.22 - 0.44 = -0.67 %: the largest saving of any pair;
    # the three savers together (the oracle) wait until the pair is measured
    assert _key(space, proposal) == "prune=2,trim"
    assert proposal is not None and proposal.core in ("prune=2", "trim")
    assert proposal.energy_ratio == pytest.approx(0.35)
    assert proposal.delta_f1_pct == pytest.approx(-0.2 / 0.9 - 0.4 / 0.9)


def test_a_measured_core_grows_to_the_true_oracle(space) -> None:
    checker = _checker_with_singles()
    checker.observe({"prune": "2", "trim": "on"}, 0.35, -0.4 - 0.2 / 0.9 * 1 - 0.04)
    evidence = [*_evidence(), Evidence("prune=2,trim", 0.35, -0.67)]
    proposal = propose(checker, space, 1.0, {"prune=2,trim"}, evidence)
    assert _key(space, proposal) == true_oracle(1.0) == "compile,prune=2,trim"
    assert proposal is not None and proposal.core == "prune=2,trim"


def _neutral_compile_space():
    """The landscape's registry with ``compile`` declared not to change the numbers."""
    import dataclasses

    from greensearch.knobs import KnobRegistry

    registry = KnobRegistry()
    for knob in make_registry():
        registry.register(dataclasses.replace(knob, numerics=knob.name != "compile"))
    return build_space(registry, STUDY)


def test_a_knob_that_keeps_the_numbers_is_worth_only_the_energy_it_adds() -> None:
    """``compile,prune=2`` trains prune's model: with SD 1 % per single it went first as a
    new candidate (0.60 x 0.709, the test above); now it is worth only 0.5 - 0.4 of
    energy at prune's own chance, Φ(0.78 / 1) = 0.782 (no √2: compile adds no F1 of its
    own), and the pair that trains a new model, prune x trim (0.385), goes first."""
    space = _neutral_compile_space()
    noisy = propose(_checker_with_singles(), space, 1.0, set(), _evidence(sd=1.0))
    assert _key(space, noisy) == "prune=2,trim"
    others = {k for k in landscape() if k != "compile,prune=2"}
    only = propose(_checker_with_singles(), space, 1.0, others, _evidence(sd=1.0))
    assert _key(space, only) == "compile,prune=2" and only is not None
    assert only.core == "prune=2" and only.delta_f1_sd_pct == pytest.approx(1.0)
    assert only.p_feasible == pytest.approx(0.782, abs=0.002)
    assert only.expected_saving == pytest.approx((0.5 - 0.4) * 0.782, abs=0.002)


def test_a_core_still_grows_to_the_true_oracle_by_a_knob_that_keeps_the_numbers() -> None:
    space = _neutral_compile_space()
    checker = _checker_with_singles()
    checker.observe({"prune": "2", "trim": "on"}, 0.35, -0.4 - 0.2 / 0.9 * 1 - 0.04)
    evidence = [*_evidence(), Evidence("prune=2,trim", 0.35, -0.67)]
    proposal = propose(checker, space, 1.0, {"prune=2,trim"}, evidence)
    assert _key(space, proposal) == true_oracle(1.0) == "compile,prune=2,trim"
    assert proposal is not None and proposal.expected_saving == pytest.approx(0.35 - 0.28)


def test_singles_that_share_a_lucky_baseline_are_not_stacked(space) -> None:
    """Every single +3 % F1 (one baseline's error): a sum of singles would call every
    stack a gain and measure the 3-knob stack first; one knob on a measured core does not."""
    tried = set(_singles())
    sizes = []
    while proposal := propose(_checker_with_singles(), space, 1.0, tried, _evidence(shift=3.0)):
        tried.add(space.key(proposal.bundle))
        sizes.append(len(proposal.bundle))
    assert sizes == [2, 2, 2]  # the three pairs of savers; the triple once a pair is measured


def test_an_uncertain_addition_is_ranked_by_its_chance_of_meeting_the_budget(space) -> None:
    exact = propose(_checker_with_singles(), space, 1.0, set(), _evidence())
    noisy = propose(_checker_with_singles(), space, 1.0, set(), _evidence(sd=1.0))
    assert exact is not None and noisy is not None
    assert _key(space, exact) == "prune=2,trim" and exact.p_feasible == 1.0
    # with SD 1 % per single (√2 % per pair) prune x trim (0.35, ΔF1 -0.67 %) has
    # P = Φ(0.33 / 1.414) = 0.592, saving 0.65 x 0.592 = 0.385; prune x compile (0.40,
    # ΔF1 -0.22 %) has P = Φ(0.78 / 1.414) = 0.709, saving 0.60 x 0.709 = 0.425: it goes first
    assert _key(space, noisy) == "compile,prune=2"
    assert noisy.p_feasible == pytest.approx(0.709, abs=0.002)
    assert noisy.expected_saving == pytest.approx(0.60 * noisy.p_feasible)


def test_an_unresolved_gain_earns_no_credit(space) -> None:
    """A knob that saves 5 % shows a lucky +5 % ΔF1 in its one short run (SD 3 %: the
    interval spans 0). Taken at its point, prune x compile would look 91 % safe (expected
    saving 0.525 x 0.91 = 0.48) and go before prune x trim (0.65 x 0.53 = 0.35), the pair
    that saves most; credited at 0, it has prune's chance (0.525 x 0.57 = 0.30)."""
    singles = {**_singles(), "compile": (0.95, 5.0)}
    checker = OrthogonalityChecker(make_registry(), noise_rel=0.01)
    for key, (ratio, f1) in singles.items():
        checker.observe(parse_bundle(key), ratio, f1)
    evidence = [Evidence("", 1.0, 0.0)] + [
        Evidence(key, ratio, f1, 3.0) for key, (ratio, f1) in singles.items()
    ]
    proposal = propose(checker, space, 1.0, set(), evidence)
    assert _key(space, proposal) == "prune=2,trim"
    assert proposal is not None and proposal.expected_saving == pytest.approx(0.345, abs=0.005)
    # a gain the run resolves is credited as far as its lower bound: +12 % ± 3 % keeps 6.1 %
    assert Evidence("compile", 0.95, 12.0, 3.0).credited_delta_pct == pytest.approx(6.12, abs=0.01)
    assert Evidence("trim", 0.7, -0.4, 3.0).credited_delta_pct == -0.4


def test_tried_bundles_are_never_proposed_again(space) -> None:
    proposal = propose(_checker_with_singles(), space, 1.0, {"prune=2,trim"}, _evidence())
    # next largest saving: prune x compile = 0.40
    assert _key(space, proposal) == "compile,prune=2"


def test_knobs_over_the_budget_stay_out_and_conflicts_never_pair(space) -> None:
    checker = _checker_with_singles()
    proposals = []
    tried = set(_singles())
    while (proposal := propose(checker, space, 1.0, tried, _evidence())) is not None:
        tried.add(space.key(proposal.bundle))
        proposals.append(space.key(proposal.bundle))
    assert proposals and not [p for p in proposals if "lossy" in p]
    # with a 50 % budget lossy (0.30) with prune (0.5) is the biggest saving; never compile
    wide = propose(checker, space, 50.0, set(), _evidence())
    assert _key(space, wide) == "lossy,prune=2"


def test_a_knob_that_saves_nothing_is_never_added(space) -> None:
    checker = _checker_with_singles()
    tried = set(_singles())
    while (proposal := propose(checker, space, 1.0, tried, _evidence())) is not None:
        tried.add(space.key(proposal.bundle))
    tried -= set(_singles())
    # ckpt costs +30 % alone, beyond the margin 2·√2·1 %: it is never an addition
    assert tried == {"prune=2,trim", "compile,prune=2", "compile,trim"}


def test_a_learned_antagonism_changes_the_next_proposal(space) -> None:
    checker = _checker_with_singles()
    # measured: prune and trim together at 0.60, not the independent 0.35 (x1.71)
    checker.observe({"prune": "2", "trim": "on"}, 0.60, -0.67)
    evidence = [*_evidence(), Evidence("prune=2,trim", 0.60, -0.67)]
    proposal = propose(checker, space, 1.0, {"prune=2,trim"}, evidence)
    # compile on the pair: 0.60 x 0.8 = 0.48; compile x prune alone: 0.40
    assert _key(space, proposal) == "compile,prune=2"


def test_nothing_measured_alone_means_no_proposal(space) -> None:
    checker = OrthogonalityChecker(make_registry(), noise_rel=0.01)
    assert propose(checker, space, 1.0, set(), [Evidence("", 1.0, 0.0)]) is None


def _deeper_checker(prune2: tuple[float, float] = (0.5, -0.2)) -> OrthogonalityChecker:
    """The seeds of the deeper landscape: ``prune=2`` alone as given, the rest as measured."""
    checker = OrthogonalityChecker(make_registry(deeper=True), noise_rel=0.01)
    for key, (ratio, f1) in _singles().items():
        checker.observe(parse_bundle(key), *(prune2 if key == "prune=2" else (ratio, f1)))
    return checker


def test_a_promising_value_opens_the_knobs_next_value_alone() -> None:
    space = build_space(make_registry(deeper=True), STUDY)
    step = next_step(_deeper_checker(), space, 1.0, set(_singles()))
    assert step is not None and space.key(step.bundle) == "prune=3"
    assert step.after == "prune=2" and step.after_ratio == pytest.approx(0.5)
    assert next_step(_deeper_checker(), space, 1.0, {*_singles(), "prune=3"}) is None


def test_a_step_skips_the_values_that_do_the_same_work() -> None:
    """``layer_prune=2:top`` opens ``3:top``: ``2:bottom`` removes as many layers."""
    from greensearch.config import load_study
    from greensearch.knobs import default_registry

    registry = default_registry()
    space = build_space(registry, load_study(), include=["layer_prune", "seq_len"])
    checker = OrthogonalityChecker(registry, noise_rel=0.01)
    checker.observe({"layer_prune": "2:top"}, 0.6, 0.0)
    checker.observe({"seq_len": "128"}, 0.99, 0.0)  # within the noise: opens nothing
    tried = {"layer_prune=2:top", "seq_len=128"}
    step = next_step(checker, space, 1.0, tried)
    assert step is not None and space.key(step.bundle) == "layer_prune=3:top"
    checker.observe({"layer_prune": "3:top"}, 0.5, 0.0)
    step = next_step(checker, space, 1.0, {*tried, "layer_prune=3:top"})
    assert step is not None and space.key(step.bundle) == "layer_prune=4:top"


def test_a_step_opens_only_for_a_knob_of_the_bundle_the_guide_grows_next() -> None:
    """A saver outside the stack being grown (a schedule that looked cheap while the
    machine drifted) opens no step: the turn goes to the stack."""
    from greensearch.config import load_study
    from greensearch.knobs import default_registry

    registry = default_registry()
    space = build_space(registry, load_study(), include=["layer_prune", "lr_schedule"])
    checker = OrthogonalityChecker(registry, noise_rel=0.01)
    checker.observe({"layer_prune": "2:top"}, 0.6, 0.0)
    checker.observe({"lr_schedule": "cosine"}, 0.5, 0.0)  # looks the bigger saver
    tried = {"layer_prune=2:top", "lr_schedule=cosine"}
    anywhere = next_step(checker, space, 1.0, tried)
    assert anywhere is not None and space.key(anywhere.bundle) == "lr_schedule=constant"
    step = next_step(checker, space, 1.0, tried, ("layer_prune",))
    assert step is not None and space.key(step.bundle) == "layer_prune=3:top"
    assert next_step(checker, space, 1.0, tried, ("seq_len",)) is None


@pytest.mark.parametrize(
    "prune2",
    [(0.5, -1.5), (0.98, 0.0)],
    ids=["over-the-budget", "saving-within-the-noise"],
)
def test_a_value_that_is_not_promising_opens_nothing(prune2) -> None:
    space = build_space(make_registry(deeper=True), STUDY)
    assert next_step(_deeper_checker(prune2), space, 1.0, set(_singles())) is None


def test_the_search_measures_the_next_value_and_grows_the_true_oracle_from_it() -> None:
    """Only ``prune=3`` reaches the cheapest feasible bundle: the seeds measure ``prune=2``;
    the step measures ``prune=3`` alone, and the guide stacks on it."""
    trials, runner = _study(guide=None, n_trials=14, deeper=True)
    oracle = true_oracle(1.0, landscape(deeper=True))
    assert oracle == "compile,prune=3,trim"
    phases = [(t.user_attrs["phase"], t.user_attrs["knobs"]) for t in trials]
    # the step is one knob alone, stored as a seed is, before any core grows
    assert phases[6] == ("single", "prune=3")
    assert not any("prune=3" in knobs for _, knobs in phases[:6])
    guided = [knobs for phase, knobs in phases if phase == "guided"]
    assert guided[0] == "prune=3,trim" and oracle in guided


def test_a_trial_pays_for_itself_only_over_enough_production_runs() -> None:
    proposal = Proposal({"trim": "on"}, "", 0.5, 0.0, 0.0, 1.0, 0.5, gain=0.02)
    # a short run costs 0.25 kWh x 0.5; one more trial may save 0.02 x 1 kWh a run
    kw = {"baseline_full_kwh": 1.0, "baseline_run_kwh": 0.25}
    assert not pays_for_itself(proposal, production_runs=6, **kw)  # 0.12 < 0.125
    assert pays_for_itself(proposal, production_runs=7, **kw)  # 0.14 > 0.125


def _study(
    guide: bool | None,
    n_trials: int,
    search_only: bool = False,
    deeper: bool = False,
) -> tuple[list[optuna.trial.FrozenTrial], ReplayRunner]:
    storage = optuna.storages.InMemoryStorage()
    runner = ReplayRunner(landscape(deeper=deeper), noise_rel=0.01, seed=1)
    result = run_search(
        STUDY,
        budget_f1="-1%",
        n_trials=n_trials,
        storage=storage,
        study_name="t",
        fidelity=0.5,
        repeats=1,
        baseline_repeats=3,
        meter=None,
        idle_seconds=0,
        registry=make_registry(deeper=deeper),
        run_fn=runner,
        seed=0,
        guide=guide,
        finalists=1,
        search_only=search_only,
    )
    trials = optuna.load_study(study_name="t", storage=storage).get_trials()
    search = [t for t in trials if t.user_attrs["phase"] not in ("final", "final_run")]
    assert result.n_guided == sum(t.user_attrs["phase"] == "guided" for t in search)
    return search, runner


def test_the_guide_takes_every_turn_it_has_a_proposal_for_then_the_sampler() -> None:
    trials, _ = _study(guide=None, n_trials=12)
    phases = [t.user_attrs["phase"] for t in trials]
    assert phases[:6] == ["baseline"] + ["single"] * 5
    # the best pair first, then the true oracle grown from it one knob at a time
    guided = [t.user_attrs["knobs"] for t in trials if t.user_attrs["phase"] == "guided"]
    assert phases[6] == "guided" and guided[:2] == ["prune=2,trim", true_oracle(1.0)]
    after = phases[6:]
    # back to back while the model has a bundle to propose (alternating, the sampler took
    # every other turn): the sampler explores only once the guide has nothing left
    first_sampler = after.index("sampler")
    assert first_sampler >= 3 and after[:first_sampler] == ["guided"] * first_sampler, after
    assert len(trials) == 12  # no proposal left waiting past the trial budget


@pytest.mark.parametrize(
    "kw", [{"guide": False}, {"guide": None, "search_only": True}], ids=["no-guide", "extra-worker"]
)
def test_no_guide_leaves_every_trial_to_the_sampler(kw) -> None:
    # extra workers (--search-only) only sample: the main process guides, so two
    # processes never enqueue the same proposal
    trials, _ = _study(n_trials=12, **kw)
    assert not [t for t in trials if t.user_attrs["phase"] == "guided"]


@pytest.mark.parametrize(("ratio", "log_sd", "best"), [(0.4, 0.08, 0.55), (0.3, 0.2, 0.6)])
def test_the_expected_improvement_is_a_lognormal_expectation(ratio, log_sd, best) -> None:
    import numpy as np

    from greensearch.search._guide import _improvement

    z = np.random.default_rng(0).standard_normal(400_000)
    want = np.maximum(0.0, 1.0 - best - ratio * np.exp(log_sd * z)).mean()
    assert _improvement(ratio, log_sd, best) == pytest.approx(want, rel=0.01)
    assert _improvement(ratio, 0.0, best) == pytest.approx(max(1.0 - best - ratio, 0.0))
