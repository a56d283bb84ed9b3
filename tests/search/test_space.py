"""The search space: a bundle read back from stored text enqueues as the sampler's values."""

from __future__ import annotations

import optuna
import pytest

from greensearch.exceptions import ConfigError
from greensearch.knobs import default_registry
from greensearch.search._space import SearchSpace


def _space() -> SearchSpace:
    choices = {"grad_accumulation": ("2", "4", "2:keep_effective"), "seq_len": ("128", "96")}
    return SearchSpace(registry=default_registry(), choices=choices)


def test_a_canonical_value_enqueues_as_the_search_value_it_stands_for():
    """A guided trial grown on the stored core ``grad_accumulation=2:same_batch`` (the
    canonical text of the sampler's ``2``) crashed a live study: Optuna refused
    '2:same_batch' as not among the choices."""
    space = _space()
    params = space.params_of({"grad_accumulation": "2:same_batch", "seq_len": "96"})
    assert params == {"grad_accumulation": "2", "seq_len": "96"}
    study = optuna.create_study(directions=["minimize", "minimize"])
    study.enqueue_trial(params)
    bundle = space.sample(study.ask())
    assert space.key(bundle) == "grad_accumulation=2:same_batch,seq_len=96"


def test_a_value_outside_the_space_is_a_config_error():
    with pytest.raises(ConfigError, match="grad_accumulation=8 is not a value of this search"):
        _space().params_of({"grad_accumulation": "8"})
