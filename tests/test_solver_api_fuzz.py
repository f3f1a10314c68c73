"""The Python API with arbitrary values raises the project's own error, never a bare Python one
(issue 13: 432 of 10,000 calls with arbitrary values crashed with OverflowError or ZeroDivisionError).

Hypothesis draws a family preset, a card, any input the scenario reads and any value for it (zero,
negative, tiny, huge, not finite, with or without a unit, as a number or as text) and asks each
question: estimate, solve for total_tokens given a wall time, and the largest micro-batch that fits.
Either an answer comes back, finite and not negative, or a `costmodel.errors.CostModelError`.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from costmodel import api
from costmodel.errors import CostModelError

SCENARIOS = [("nanogpt", "gpt2"), ("nanogpt", "shakespeare-char"), ("nanochat", "d20")]
CARDS = ["rtx-4070", "h100-sxm", "mi300x"]


def _inputs(family: str, preset: str) -> list[str]:
    s = api.scenario(family, preset=preset, hardware="h100-sxm")
    q = s.registry.quantities
    read = {n for f in s.formulas.values() for n in f.inputs}
    return sorted(n for n in s.values if n in read and q[n].kind in ("real", "integer"))


INPUTS = {key: _inputs(*key) for key in SCENARIOS}
NUMBERS = st.one_of(
    st.sampled_from([0, -1, 1e-300, 5e-324, 1e300, 1e308, 2**64, -0.0, 0.5, 1, 3]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**30), max_value=10**30),
)
TEXTS = st.one_of(NUMBERS.map(repr), NUMBERS.map(lambda v: f"{v!r} s"),
                  st.sampled_from(["1e400", "-1e400", "1e-400", "0 s", "1e308 day", "nan", "inf", "10**10"]))


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_value_gives_an_answer_or_the_projects_error(data):
    family, preset = data.draw(st.sampled_from(SCENARIOS), label="scenario")
    card = data.draw(st.sampled_from(CARDS), label="card")
    name = data.draw(st.sampled_from(INPUTS[(family, preset)]), label="input")
    value = data.draw(st.one_of(NUMBERS, TEXTS), label="value")
    question = data.draw(st.sampled_from(["estimate", "inverse", "fits"]), label="question")
    kwargs = dict(preset=preset, hardware=card, values={name: value})
    try:
        if question == "estimate":
            r = api.estimate(family, **kwargs)
        elif question == "inverse":
            r = api.solve(family, find="total_tokens", given={"wall_time": "3 day"}, **kwargs)
        else:
            r = api.solve(family, maximize="micro_batch", subject_to=("mem_peak <= gpu_memory_usable",),
                          **{**kwargs, "values": {k: v for k, v in kwargs["values"].items() if k != "micro_batch"}})
    except CostModelError as exc:
        assert str(exc).strip() and "\n" not in str(exc).strip()
        return
    bad = {k: v for k, v in r.numbers.items() if not (math.isfinite(v) and v >= 0)}
    assert not bad, bad


@pytest.mark.parametrize("name,value", [("mfu", 0), ("mfu", 4), ("peak_flops", "1e-300 FLOP/s"),
                                        ("micro_batch", 10**30), ("n_gpus", 10**30), ("wall_time", "1e308 day")])
def test_known_crashers_raise_the_projects_error(name, value):
    with pytest.raises(CostModelError):
        r = api.estimate("nanogpt", preset="gpt2", hardware="rtx-4070", values={name: value})
        bad = {k: v for k, v in r.numbers.items() if not (math.isfinite(v) and v >= 0)}
        assert not bad, bad
        raise CostModelError("answered")  # a finite answer is fine too
