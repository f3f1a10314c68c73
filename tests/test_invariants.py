"""Invariants over random scenarios of every family, recipe and card (hypothesis, about a minute).

The checks live in benchmarks/invariants.py, whose command line runs 10,000 scenarios; here
hypothesis draws the scenarios and shrinks any violation to a small one.
"""

import importlib.util
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from costmodel import api

SCRIPT = Path(__file__).parent.parent / "benchmarks" / "invariants.py"
_spec = importlib.util.spec_from_file_location("costmodel_invariants", SCRIPT)
invariants = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(invariants)


@settings(max_examples=30, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_scenarios_keep_every_invariant(data):
    scenario = invariants.random_scenario(lambda name, options: data.draw(st.sampled_from(options), label=name))
    assert not invariants.violations(scenario)


def test_the_reported_non_monotone_micro_batch_is_maximised_right():
    """nanochat v0 d32 on 8 RTX 4090s, 32,768 tokens a step of 64: micro-batch 64 (one micro-step, no
    gradient buffer held across micro-steps) needs less memory than 32 and fits; the answer is 64."""
    values = {"version": "v0", "n_gpus": 8, "total_batch_size": 32768, "seq_len": 64, "optimizer": "muon"}
    r = api.solve("nanochat", preset="d32", hardware="rtx-4090", maximize="micro_batch",
                  subject_to=("mem_peak <= gpu_memory_usable",), values=values)
    best = r.input_numbers.get("micro_batch", r.numbers.get("micro_batch"))
    assert best == 64
    at = api.estimate("nanochat", preset="d32", hardware="rtx-4090", values={**values, "micro_batch": 64})
    assert at.numbers["mem_peak"] <= at.input_numbers.get("gpu_memory_usable", at.numbers.get("gpu_memory_usable"))


def test_the_checker_finds_a_planted_violation(monkeypatch):
    """The checks are not vacuous: a fits test that always says yes is caught."""
    scenario = {"family": "nanogpt", "preset": "gpt2-medium", "hardware": "rtx-4070",
                "values": {"micro_batch": 32, "seq_len": 2048, "n_gpus": 1}}
    real = invariants._numbers
    monkeypatch.setattr(invariants, "_numbers", lambda r: {**real(r), "fits": 1.0})
    assert ("fits" in [name for name, _ in invariants.violations(scenario)])


@pytest.mark.parametrize("family,preset,values", [
    ("nanochat", "d32", {"version": "v0", "total_batch_size": 512, "micro_batch": 1, "seq_len": 64}),
    ("nanochat", "d20", {"version": "v0"}),
    ("nanogpt", "gpt2", {"gradient_accumulation_steps": 8, "micro_batch": 1, "seq_len": 64}),
])
@pytest.mark.parametrize("card", ["l4", "rtx-4090", "h100-sxm"])
def test_fewer_gpus_being_faster_is_said_exactly_when_it_is_so(family, preset, values, card):
    """Doubling the GPUs for the same run lowers tokens per second (PCIe cards, a 1.9B model, a tiny
    batch) only with the note that communication dominates, and the note is never there otherwise."""
    for n in (2, 4, 8):
        half = api.estimate(family, preset=preset, hardware=card, values={**values, "n_gpus": n // 2})
        full = api.estimate(family, preset=preset, hardware=card, values={**values, "n_gpus": n})
        slower = full.numbers["tokens_per_second"] < half.numbers["tokens_per_second"]
        said = any("communication dominates" in w for w in full.warnings)
        assert slower == said, (n, half.numbers["tokens_per_second"], full.numbers["tokens_per_second"])
