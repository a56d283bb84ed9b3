"""Model-guided trials: what the model proposes, and how the search uses the proposals."""

from __future__ import annotations

import optuna
import pytest

from greensearch.config import StudyConfig
from greensearch.interactions._model import OrthogonalityChecker
from greensearch.knobs import parse_bundle
from greensearch.search._guide import propose
from greensearch.search._replay import ReplayRunner
from greensearch.search._space import build_space
from tests.search.landscape import BASE_ENERGY, BASE_F1, landscape, make_registry, true_oracle
from tests.search.run_search import run_search

STUDY = StudyConfig(name="replay", source="<replay>")


def _checker_with_singles(noise_rel: float = 0.01) -> OrthogonalityChecker:
    """A checker that has seen the baseline and every knob alone (what the seeds give)."""
    reg = make_registry()
    checker = OrthogonalityChecker(reg, noise_rel=noise_rel)
    for key, point in landscape().items():
        if key and "," not in key:
            checker.observe(
                parse_bundle(key),
                point.energy_kwh / BASE_ENERGY,
                (point.f1 - BASE_F1) / BASE_F1 * 100,
            )
    return checker


@pytest.fixture
def space():
    return build_space(make_registry(), STUDY)


def test_first_proposal_after_the_seeds_is_the_true_oracle(space) -> None:
    bundle = propose(_checker_with_singles(), space, 1.0, tried=set())
    assert space.key(bundle) == true_oracle(1.0) == "compile,prune=2,trim"


def test_tried_bundles_are_never_proposed_again(space) -> None:
    checker = _checker_with_singles()
    tried = {"compile,prune=2,trim"}
    bundle = propose(checker, space, 1.0, tried)
    # next cheapest predicted-feasible: prune x trim = 0.35 (prune x compile = 0.40)
    assert space.key(bundle) == "prune=2,trim"


def test_knobs_over_the_budget_alone_stay_out_and_conflicts_never_pair(space) -> None:
    checker = _checker_with_singles()
    # lossy alone loses 22 % F1: nothing holding it is predicted within -1 %
    assert "lossy" not in propose(checker, space, 1.0, set())
    # with a 50 % budget lossy is the biggest saver, but it conflicts with compile
    bundle = propose(checker, space, 50.0, set())
    assert space.key(bundle) == "lossy,prune=2,trim"


def test_a_knob_that_saves_nothing_is_left_to_the_sampler(space) -> None:
    checker = _checker_with_singles()
    tried: set[str] = set()
    proposals = []
    while (bundle := propose(checker, space, 1.0, tried)) is not None:
        tried.add(space.key(bundle))
        proposals.append(space.key(bundle))
    # ckpt costs +30 % alone: never in a proposal; every pair/triple of the 3 feasible savers
    assert proposals == ["compile,prune=2,trim", "prune=2,trim", "compile,prune=2", "compile,trim"]


def test_a_cost_within_the_margin_may_still_be_combined(space) -> None:
    """ckpt's +30 % alone is one noisy run when runs vary by 12 % (margin 2·√2·12 % = 34 %):
    it may be neutral, so it is combined too, in the order of the predictions."""
    checker = _checker_with_singles(noise_rel=0.12)
    tried: set[str] = set()
    proposals = []
    while (bundle := propose(checker, space, 1.0, tried)) is not None:
        tried.add(space.key(bundle))
        proposals.append(space.key(bundle))
    # in order of predicted energy: 0.28, 0.35, then 0.28 x 1.3 = 0.364 before 0.40
    assert proposals[:4] == [
        "compile,prune=2,trim",
        "prune=2,trim",
        "ckpt,compile,prune=2,trim",
        "compile,prune=2",
    ]
    ratios = [checker.predict(parse_bundle(k)).energy_ratio for k in proposals]
    assert ratios == sorted(ratios)


def test_a_learned_antagonism_changes_the_next_proposal(space) -> None:
    checker = _checker_with_singles()
    # measured: prune and trim together at 0.60, not the independent 0.35 (x1.71)
    checker.observe({"prune": "2", "trim": "on"}, 0.60, -0.67)
    bundle = propose(checker, space, 1.0, {"prune=2,trim"})
    # the triple is now predicted at 0.28 x 1.71 = 0.48; compile x prune at 0.40
    assert space.key(bundle) == "compile,prune=2"


def test_only_the_strongest_savers_are_combined_when_the_space_is_too_big(
    space, monkeypatch
) -> None:
    import greensearch.search._guide as guide

    monkeypatch.setattr(guide, "MAX_CANDIDATES", 4)  # room for 2 binary knobs: lossy, prune
    checker = _checker_with_singles()
    assert guide.propose(checker, space, 1.0, set()) is None  # lossy,prune breaks -1 %
    assert space.key(guide.propose(checker, space, 50.0, set())) == "lossy,prune=2"


def test_nothing_measured_alone_means_no_proposal(space) -> None:
    assert propose(OrthogonalityChecker(make_registry(), noise_rel=0.01), space, 1.0, set()) is None


def _study(
    guide: bool | None,
    n_trials: int,
    search_only: bool = False,
) -> tuple[list[optuna.trial.FrozenTrial], ReplayRunner]:
    storage = optuna.storages.InMemoryStorage()
    runner = ReplayRunner(landscape(), noise_rel=0.01, seed=1)
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
        registry=make_registry(),
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


def test_search_alternates_guided_and_sampler_trials_after_the_seeds() -> None:
    trials, _ = _study(guide=None, n_trials=12)
    phases = [t.user_attrs["phase"] for t in trials]
    assert phases[:6] == ["baseline"] + ["single"] * 5
    assert phases[6] == "guided" and trials[6].user_attrs["knobs"] == true_oracle(1.0)
    after = phases[6:]
    assert all(a != b or a != "guided" for a, b in zip(after, after[1:], strict=False)), after
    assert after.count("guided") >= 2 and "sampler" in after
    assert len(trials) == 12  # no proposal left waiting past the trial budget


@pytest.mark.parametrize(
    "kw", [{"guide": False}, {"guide": None, "search_only": True}], ids=["no-guide", "extra-worker"]
)
def test_no_guide_leaves_every_trial_to_the_sampler(kw) -> None:
    # extra workers (--search-only) only sample: the main process guides, so two
    # processes never enqueue the same proposal
    trials, _ = _study(n_trials=12, **kw)
    assert not [t for t in trials if t.user_attrs["phase"] == "guided"]
