"""Units: one registry, our own dimensions, parsing with units, printing with prefixes."""

import math

import pytest

from costmodel import units
from costmodel.errors import UserError


def test_one_registry_with_our_dimensions():
    ureg = units.registry()
    assert units.registry() is ureg
    for name, dim in [("FLOP", "[compute]"), ("token", "[token]"), ("param", "[param]"),
                      ("sequence", "[sequence]"), ("iteration", "[iteration]"),
                      ("byte", "[information]"), ("USD", "[currency]")]:
        assert str(ureg.Unit(name).dimensionality) == dim


def test_flop_count_and_rate_are_different_dimensions():
    assert units.unit("FLOP").dimensionality != units.unit("FLOP/s").dimensionality


@pytest.mark.parametrize(
    "text, unit, expected",
    [
        ("12 GiB", "byte", 12 * 2**30),
        ("12 GB", "byte", 12e9),
        ("30 day", "s", 30 * 86400),
        ("58.3 TFLOP/s", "FLOP/s", 58.3e12),
        ("250 ms", "s/iteration", 0.25),  # a time for a time per iteration: per one iteration
        ("2.5 kWh", "kWh", 2.5),
        ("3.6 MJ", "kWh", 1.0),
        ("1,024", "token/sequence", 1024),
        ("1e-3", "1", 0.001),
    ],
)
def test_parse_value(text, unit, expected):
    if text == "250 ms":
        assert units.parse_value("250 ms/iteration", unit, "iter_time") == pytest.approx(expected)
        with pytest.raises(UserError, match="wrong unit"):
            units.parse_value("250 ms*token", unit, "iter_time")
    assert units.parse_value(text, unit, "x") == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("bad", ["nan", "inf", "-inf", "twelve", "12 parsecs", ""])
def test_bad_values_are_one_line_errors(bad):
    with pytest.raises(UserError) as info:
        units.parse_value(bad, "byte", "gpu_memory")
    assert "\n" not in str(info.value)
    assert "gpu_memory" in str(info.value)


def test_wrong_dimension_names_both():
    with pytest.raises(UserError, match="expected something convertible to sequence"):
        units.parse_value("3 GiB", "sequence", "micro_batch")


def test_float_inputs_must_be_finite():
    with pytest.raises(UserError):
        units.parse_value(math.nan, "1", "mfu")


@pytest.mark.parametrize(
    "value, unit, expected",
    [
        (12 * 2**30, "byte", "12 GiB"),
        (1.5 * 2**20, "byte", "1.500 MiB"),
        (58.3e12, "FLOP/s", "58.30 TFLOP/s"),
        (2.55e15, "FLOP", "2.550 PFLOP"),
        (124_439_808, "param", "124.4M param"),
        (0.25, "s/iteration", "250 ms/iteration"),
        (3.5 * 3600, "s", "3.500 h"),
        (30 * 86400, "s", "30 day"),
        (0.4, "1", "0.4000"),
    ],
)
def test_format_quantity(value, unit, expected):
    assert units.format_quantity(value, unit) == expected
