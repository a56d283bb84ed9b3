"""Registry behaviour: parsing, formatting, bad values, unknown names, conflicts, availability."""

from __future__ import annotations

import pytest

from greensearch.config import StudyConfig
from greensearch.exceptions import ConfigError, KnobConflictError, KnobUnavailableError
from greensearch.knobs import (
    RESOURCES,
    Knob,
    KnobRegistry,
    Param,
    Requirement,
    default_registry,
    parse_bundle,
)
from greensearch.schema import PIPELINE_PHASES
from tests.knobs._plans import assert_pair_composes

STUDY = StudyConfig(name="unit", source="<unit>")

#: The knobs of _data_knobs, _training_knobs and _system_knobs, with their phase.
MINE = {
    "fast_tokenizer": "data",
    "seq_len": "data",
    "dedup": "data",
    "data_fraction": "data",
    "dynamic_padding": "data",
    "group_by_length": "data",
    "batch_size": "training",
    "grad_accumulation": "training",
    "lr_schedule": "training",
    "early_stopping": "training",
    "optimizer": "training",
    "pin_memory": "training",
    "dataloader_workers": "training",
    "power_limit": "system",
}


def test_my_knobs_are_registered_in_their_phase() -> None:
    registry = default_registry()
    for name, phase in MINE.items():
        assert registry.get(name).phase == phase


def test_every_knob_declares_valid_phase_targets_and_costs() -> None:
    assert PIPELINE_PHASES == ("data", "model", "training", "system", "inference")
    for knob in default_registry():
        assert knob.phase in PIPELINE_PHASES, knob.name
        assert knob.targets and set(knob.targets) <= set(RESOURCES), knob.name
        assert set(knob.costs) <= set(RESOURCES), knob.name
        assert knob.description and "\n" not in knob.description, knob.name


def test_trade_off_knobs_declare_costs() -> None:
    registry = default_registry()
    assert registry.get("grad_accumulation").costs == ("compute",)
    assert "memory" in registry.get("grad_accumulation").targets
    assert registry.get("power_limit").costs == ("compute",)
    assert registry.get("batch_size").costs == ("memory",)


@pytest.mark.parametrize("name", sorted(MINE))
def test_search_values_parse_and_round_trip(name: str) -> None:
    knob = default_registry().get(name)
    values = knob.values_for_search()
    assert values
    for raw in values:
        value = knob.parse(raw)
        assert knob.parse(knob.format_value(value)) == value


@pytest.mark.parametrize(
    ("name", "raw", "canonical"),
    [
        ("grad_accumulation", "on", "2:same_batch"),
        ("grad_accumulation", "2", "2:same_batch"),
        ("grad_accumulation", "4:keep_effective", "4:keep_effective"),
        ("early_stopping", "3", "3:0.1"),
        ("early_stopping", "3:0.05", "3:0.05"),
        ("dedup", "0.80", "0.8"),
        ("data_fraction", "0.25", "0.25"),
        ("optimizer", "adamw_8bit", "adamw_8bit"),
        ("lr_schedule", "cosine", "cosine"),
        ("power_limit", "100", "100"),
        ("dataloader_workers", "4", "4"),
        ("seq_len", "512", "512"),
        ("pin_memory", "on", "on"),
    ],
)
def test_parse_format_round_trip(name: str, raw: str, canonical: str) -> None:
    knob = default_registry().get(name)
    assert knob.format_value(knob.parse(raw)) == canonical


def test_paper_vocabulary_parses() -> None:
    text = (
        "grad_accumulation=2,optimizer=adamw_8bit,pin_memory,dataloader_workers=4,"
        "lr_schedule=cosine,group_by_length,power_limit=100,fast_tokenizer,seq_len=512"
    )
    canonical = default_registry().canonical(parse_bundle(text))
    assert canonical == (
        "dataloader_workers=4,fast_tokenizer,grad_accumulation=2:same_batch,"
        "group_by_length,lr_schedule=cosine,optimizer=adamw_8bit,pin_memory,"
        "power_limit=100,seq_len=512"
    )


@pytest.mark.parametrize(
    ("bundle", "message"),
    [
        ("grad_accumulation=two", r"knob 'grad_accumulation': steps must be int, got 'two'"),
        ("grad_accumulation=1", r"knob 'grad_accumulation': steps must be in \[2, 64\]"),
        ("grad_accumulation=2:sometimes", r"knob 'grad_accumulation': mode must be one of"),
        ("grad_accumulation=2:same_batch:x", r"knob 'grad_accumulation' takes"),
        ("batch_size=0", r"knob 'batch_size': n must be in"),
        ("lr_schedule=cosinus", r"knob 'lr_schedule': kind must be one of cosine\|"),
        ("optimizer=adam", r"knob 'optimizer': name must be one of"),
        ("early_stopping=0", r"knob 'early_stopping': patience must be in"),
        ("early_stopping=2:0.9", r"knob 'early_stopping': every must be in"),
        ("dedup=0.3", r"knob 'dedup': threshold must be in \[0.5, 1.0\]"),
        ("dedup=high", r"knob 'dedup': threshold must be float"),
        ("data_fraction=1.5", r"knob 'data_fraction': fraction must be in"),
        ("data_fraction=half", r"knob 'data_fraction': fraction must be float"),
        ("dataloader_workers=-1", r"knob 'dataloader_workers': n must be in"),
        ("power_limit=lots", r"knob 'power_limit': watts must be int, got 'lots'"),
        ("power_limit=0", r"knob 'power_limit': watts must be in"),
        ("pin_memory=yes", r"knob 'pin_memory' is a flag"),
        ("dynamic_padding=1", r"knob 'dynamic_padding' is a flag"),
    ],
)
def test_bad_values_name_the_knob(bundle: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        default_registry().resolve(parse_bundle(bundle), check_available=False)


@pytest.mark.parametrize(
    ("typo", "suggestion"),
    [
        ("grad_acumulation", "grad_accumulation"),
        ("dataloader_worker", "dataloader_workers"),
        ("powerlimit", "power_limit"),
        ("early_stoping", "early_stopping"),
        ("dedupe", "dedup"),
    ],
)
def test_unknown_knob_suggests_the_closest(typo: str, suggestion: str) -> None:
    with pytest.raises(ConfigError, match=rf"unknown knob '{typo}'; did you mean .*{suggestion}"):
        default_registry().resolve({typo: "on"})


def test_my_knobs_compose_pairwise() -> None:
    """None of them truly excludes another: every pair of CPU-runnable ones plans both."""
    registry = default_registry()
    names = [n for n in MINE if registry.get(n).unavailable_reason() is None]
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            first_a, first_b = (registry.get(n).values_for_search()[0] for n in (a, b))
            assert_pair_composes(STUDY, {a: first_a}, {b: first_b})


def test_conflict_names_both_knobs() -> None:
    registry = KnobRegistry()
    registry.register(
        Knob(
            name="alpha",
            phase="training",
            targets=("memory",),
            description="a",
            apply=lambda plan, value: None,
            conflicts=("beta",),
        )
    )
    registry.register(
        Knob(
            name="beta",
            phase="training",
            targets=("memory",),
            description="b",
            apply=lambda plan, value: None,
        )
    )
    with pytest.raises(KnobConflictError, match="knobs 'alpha' and 'beta' cannot both be on"):
        registry.resolve({"beta": "on", "alpha": "on"})
    assert issubclass(KnobConflictError, ConfigError)


def test_unavailable_knob_is_rejected_with_its_reason() -> None:
    registry = KnobRegistry()
    registry.register(
        Knob(
            name="needs_pkg",
            phase="system",
            targets=("compute",),
            description="x",
            apply=lambda plan, value: None,
            needs=(Requirement("package", "no_such_package_gs"),),
        )
    )
    assert "no_such_package_gs" in (registry.get("needs_pkg").unavailable_reason() or "")
    with pytest.raises(KnobUnavailableError, match="needs_pkg.*pip install no_such_package_gs"):
        registry.resolve({"needs_pkg": "on"})
    registry.resolve({"needs_pkg": "on"}, check_available=False)  # listing still works
    assert issubclass(KnobUnavailableError, ConfigError)  # the CLI exits 2


def test_unavailable_paper_knobs_here_raise_with_reason() -> None:
    registry = default_registry()
    for bundle in ({"pin_memory": "on"}, {"power_limit": "100"}, {"optimizer": "adamw_8bit"}):
        name = next(iter(bundle))
        knob = registry.get(name)
        reason = knob.unavailable_reason(knob.parse(bundle[name]))
        if reason is None:
            continue  # this machine has what it needs
        with pytest.raises(KnobUnavailableError, match=rf"knob '{name}.*unavailable here: "):
            registry.plan(STUDY, bundle)


def test_param_range_is_inclusive() -> None:
    param = Param("n", int, 2, low=2, high=4)
    assert (param.convert("2", "k"), param.convert("4", "k")) == (2, 4)
    with pytest.raises(ConfigError, match="knob 'k'"):
        param.convert("5", "k")


def test_emulation_notes_name_the_knobs_a_machine_only_emulates(tmp_path):
    from tests.machines import fake_machine

    reg = default_registry()
    bundle = {"precision": "bf16", "seq_len": "128"}
    avx2 = fake_machine(tmp_path / "avx2")
    assert reg.emulation_notes(bundle, avx2) == [
        "precision=bf16: bf16 emulated on this CPU: expect a cost"
    ]
    zen5 = fake_machine(tmp_path / "zen5", extra="avx512f avx512_bf16")
    assert reg.emulation_notes(bundle, zen5) == []
