"""A column formatted at once (costmodel.columns) reads exactly as each value formatted alone."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from costmodel import columns, units

UNITS = ["byte", "B", "byte/s", "FLOP", "FLOP/s", "W", "Wh", "J", "param", "token", "token/sequence",
         "sequence", "iteration", "s", "s/iteration", "1", "", "dimensionless", "USD", "GPU"]


def edges() -> list[float]:
    """Where a branch of format_quantity changes: zero, non-finite, powers of ten and of 1024,
    the time thresholds, whole numbers, and the floats right beside each."""
    points = [0.0, -0.0, math.nan, math.inf, -math.inf, 5e-324, 0.5, 2.5, 119.99, 120.0, 7200.0,
              3 * 86400.0, 1e15 - 1, 1e4, 9999.5, 999.95, 1023.9999, 123.456]
    points += [10.0 ** k for k in range(-12, 21)] + [2.0 ** k for k in range(0, 64, 10)]
    points += [float(k) for k in range(-30, 30)]
    beside = [math.nextafter(p, d) for p in points if math.isfinite(p) for d in (-math.inf, math.inf)]
    return [sign * p for p in points + beside for sign in (1.0, -1.0)]


@pytest.mark.parametrize("unit", UNITS)
def test_quantities_read_as_format_quantity(unit):
    rng = np.random.default_rng(7)
    values = edges() + (rng.lognormal(0, 14, 3000) * rng.choice([-1, 1], 3000)).tolist()
    assert columns.quantities(values, unit) == [units.format_quantity(v, unit) for v in values]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.none()), max_size=40),
       st.sampled_from(UNITS))
def test_any_column_of_floats_and_gaps(values, unit):
    assert columns.quantities(values, unit) == ["-" if v is None else units.format_quantity(v, unit)
                                                for v in values]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.floats(min_value=-1e17, max_value=1e17), st.none()), max_size=40))
def test_truncated_and_whole(values):
    assert columns.truncated(values) == ["-" if v is None else f"{int(v)}" for v in values]
    with_odd = values + [math.nan, math.inf]
    shown = [repr(v) for v in columns.whole(with_odd)]  # repr: nan equals nan
    assert shown == [repr(None if v is None else round(v) if math.isfinite(v) else v) for v in with_odd]
    assert [type(v) for v in columns.whole(with_odd)] \
        == [type(None if v is None else round(v) if math.isfinite(v) else v) for v in with_odd]


def test_other_columns_are_left_to_the_caller():
    assert columns.quantities(["none", "full"], "1") is None
    assert columns.quantities([1, 2.0], "byte") is None  # an int among floats: value by value
    assert columns.truncated([1, 2, 3]) == ["1", "2", "3"]
    assert columns.truncated([1e300]) is None
