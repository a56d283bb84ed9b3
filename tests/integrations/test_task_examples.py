"""The entity-F1 and exact-match examples through ``greensearch optimize --script``, offline.

Each runs the CLI as a user would (only the meter is the test's: deterministic, no
hardware) and asserts what it answers: the metric it names, each finalist's verdict
against the budget, the oracle or why there is none, and each run's metric worked out
again from the per-example values the run kept.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import greensearch.energy
from greensearch.cli import main
from greensearch.stats import RunPredictions

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _optimize(tmp_path, monkeypatch, capsys, clock_meter, script: str, *extra: str):
    """``greensearch optimize --script`` in-process: its exit code, JSON answer, records."""
    monkeypatch.setattr(greensearch.energy, "make_meter", lambda *a, **k: clock_meter)
    argv = ["optimize", "--script", str(EXAMPLES / script), "--budget-f1", "-30%"]
    argv += ["--n-trials", "2", "--fidelity", "0.5", "--repeats", "2"]
    argv += ["--baseline-repeats", "1", "--near-misses", "0", "--finalists", "1"]
    argv += ["--confidence", "0.5", "--idle-seconds", "0", "--sampler", "grid", *extra]
    argv += ["--storage", f"sqlite:///{tmp_path / 's.db'}"]
    argv += ["--results", str(tmp_path / "runs.jsonl"), "--json"]
    code = main(argv)
    answer = json.loads(capsys.readouterr().out)
    lines = (tmp_path / "runs.jsonl").read_text().splitlines()
    return code, answer, [json.loads(line) for line in lines]


def _assert_judged(answer: dict, records: list[dict], metric: str) -> None:
    """The answer names the metric; ΔMetric is against the baseline's mean; every
    finalist's verdict follows the point-estimate rule; an oracle is a feasible finalist
    (Holm's rule over the finalists may confirm fewer), and none is named without one."""
    assert answer["metric"] == metric
    assert answer["budget_f1_pct"] == -30.0
    base = answer["baseline"]
    full_base = [r for r in records if r["knobs"] == "" and r["fidelity"] == 1.0]
    assert base["f1"] == pytest.approx(sum(r["metrics"]["f1"] for r in full_base) / len(full_base))
    bundles = [f for f in answer["finalists"] if f["knobs"]]
    assert bundles, "the finals judged no bundle"
    for row in bundles:
        assert row["delta_f1_pct"] == pytest.approx(100 * (row["f1"] - base["f1"]) / base["f1"])
        expected = "feasible" if row["delta_f1_pct"] >= -30.0 else "infeasible"
        assert row["f1_verdict"] == expected
    feasible = [f for f in bundles if f["f1_verdict"] == "feasible"]
    if answer["oracle"] is not None:
        assert answer["oracle"]["knobs"] in {f["knobs"] for f in feasible}
        assert answer["oracle_rule"]
    else:
        assert not feasible or answer["oracle_rule"]


def test_the_ner_example_is_judged_on_entity_f1(tmp_path, monkeypatch, capsys, clock_meter):
    code, answer, records = _optimize(
        tmp_path,
        monkeypatch,
        capsys,
        clock_meter,
        "script_ner.py",
        "--include",
        "layer_prune",
        "--script-args",
        "--rows 64 --epochs 2 --lr 1e-3",
    )
    assert code == 0
    _assert_judged(answer, records, "entity_f1")
    for r in records:
        kept = RunPredictions.from_run_record(r)
        assert kept is not None and kept.metric == "entity_f1" and kept.n == 64
        tp, fp, fn = (int(c.sum()) for c in kept.entity_counts())
        assert r["metrics"]["f1"] == pytest.approx(2 * tp / (2 * tp + fp + fn))
        assert set(r["stages"]) == {"script"}
        assert 0 < r["script_train_s"] < r["stages"]["script"]["duration_s"]  # its loop
    # the search ran the baseline and the declared knob's first value at fidelity 0.5,
    # with the script's own arguments: half of 2 epochs of 64 sentences in batches of 16
    assert [r["knobs"] for r in records[:2]] == ["", "layer_prune=2:top"]
    assert records[0]["train_steps"] == 4


def test_the_ner_script_fine_tunes_the_packaged_encoder_with_its_knobs(tmp_path, monkeypatch):
    """Run alone with a bundle, the script loads the packaged all-MiniLM-L6-v2 (its
    pretrained weights, not a new model), removes the top layers ``layer_prune`` names,
    and trains in bf16 autocast when ``precision`` asks for it."""
    import torch
    from safetensors.torch import load_file
    from transformers import AutoModelForTokenClassification

    from greensearch.data import packaged_encoder
    from tests.integrations.examples import load_example

    loaded, autocasts = [], []
    real_load = AutoModelForTokenClassification.from_pretrained
    real_autocast = torch.autocast

    def spy_load(name, **kwargs):
        model = real_load(name, **kwargs)
        loaded.extend((model, name))
        return model

    def spy_autocast(device, dtype=None, enabled=True):
        autocasts.append((dtype, enabled))
        return real_autocast(device, dtype=dtype, enabled=enabled)

    monkeypatch.setattr(AutoModelForTokenClassification, "from_pretrained", spy_load)
    monkeypatch.setattr(torch, "autocast", spy_autocast)
    monkeypatch.setenv("GREENSEARCH_BUNDLE", '{"layer_prune": "2:top", "precision": "bf16"}')
    monkeypatch.setenv("GREENSEARCH_REPORT", str(tmp_path / "report.json"))
    # one step of AdamW moves each weight by about the learning rate, and no further
    load_example("script_ner.py").main(["--rows", "8", "--epochs", "1", "--lr", "1e-6"])
    model, name = loaded
    assert name == packaged_encoder()
    shipped = load_file(str(Path(name) / "model.safetensors"))
    key = next(k for k in shipped if k.endswith("layer.3.output.dense.weight"))
    kept = model.bert.encoder.layer
    assert len(kept) == 4 and model.config.num_hidden_layers == 4  # 6 less the top 2
    moved = (kept[3].output.dense.weight.float() - shipped[key].float()).abs().max()
    assert 0 < moved < 1e-5  # fine-tuned from the shipped weights (a new init: ~0.1 away)
    assert (torch.bfloat16, True) in autocasts
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["metric"] == "entity_f1" and len(report["entity_counts"]) == 8


def test_the_arithmetic_example_is_judged_on_exact_match(
    tmp_path, monkeypatch, capsys, clock_meter
):
    code, answer, records = _optimize(
        tmp_path,
        monkeypatch,
        capsys,
        clock_meter,
        "script_arithmetic.py",
        "--include",
        "lr_schedule",
    )
    assert code == 0
    _assert_judged(answer, records, "exact_match")
    for r in records:
        kept = RunPredictions.from_run_record(r)
        assert kept is not None and kept.metric == "exact_match" and kept.n == 300
        assert kept.values is not None and set(kept.values.tolist()) <= {0.0, 1.0}
        assert r["metrics"]["f1"] == pytest.approx(kept.values.mean())
    assert [r["knobs"] for r in records[:2]] == ["", "lr_schedule=cosine"]
