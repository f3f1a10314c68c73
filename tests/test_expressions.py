"""Formula text: parsed through a whitelist into sympy, never executed; dimensions checked."""

import pytest
import sympy as sp

from costmodel import expressions, programs
from costmodel.declarations import Formula, Quantity
from costmodel.errors import PluginError
from costmodel.registry import Registry

X, Y = sp.symbols("x y")


def resolve(name):
    if name in ("x", "y"):
        return {"x": X, "y": Y}[name]
    raise expressions.ExpressionError(f"unknown {name}")


@pytest.mark.parametrize(
    "text, expected",
    [
        ("x + 2*y", X + 2 * Y),
        ("x ** 2 / y", X**2 / Y),
        ("x // y", expressions.floordiv(X, Y)),
        ("x % y", sp.Mod(X, Y)),
        ("ceil(x / 64) * 64", sp.ceiling(X / 64) * 64),
        ("max(x, y) - min(x, y)", sp.Max(X, Y) - sp.Min(X, Y)),
        ("x if x > y else y", sp.Piecewise((X, X > Y), (Y, True))),
        ("-x + +y", -X + Y),
        ("log2(x)", sp.log(X, 2)),
    ],
)
def test_whitelisted_forms(text, expected):
    assert sp.simplify(expressions.parse(text, resolve) - expected) == 0


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('touch /tmp/costmodel-pwned')",
        "x.real",
        "x[0]",
        "(lambda: 1)()",
        "[x for x in y]",
        "open('/etc/passwd')",
        "eval('1')",
        "'text'",
        "x if True else y",
        "f(x)",
        "max(*x)",
        "min(x, key=y)",
        "x; y",
        "x = 1",
        "x @ y",
        "x << 2",
    ],
)
def test_everything_else_is_rejected(text, tmp_path):
    with pytest.raises(expressions.ExpressionError):
        expressions.parse(text, resolve)


def test_rejected_text_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    with pytest.raises(expressions.ExpressionError):
        expressions.parse(f"__import__('os').system('touch {marker}')", resolve)
    assert not marker.exists()


def test_conditions_are_interpreted_not_executed():
    c = programs.Condition('attention == "eager" and not compile')
    assert c.holds({"attention": "eager", "compile": 0})
    assert not c.holds({"attention": "flash", "compile": 0})
    assert programs.Condition('precision in ("bf16", "amp-bf16")').holds({"precision": "bf16"})
    with pytest.raises(expressions.ExpressionError):
        programs.Condition("__import__('os')")


def registry_with(*quantities):
    reg = Registry()
    for q in quantities:
        reg.add_quantity(q, "test")
    return reg


def test_dimension_error_names_the_formula():
    reg = registry_with(
        Quantity(name="n_params", unit="param", doc="d"),
        Quantity(name="wall_time", unit="s", doc="d"),
        Quantity(name="n_layer", doc="d", kind="integer"),
    )
    bad = Formula(target="wall_time", expr="n_params * 2", doc="d", source="s")
    with pytest.raises(PluginError, match=r"wall_time = 'n_params \* 2'.*dimension error"):
        reg.add_formula(bad, "plugin")
    with pytest.raises(PluginError, match="dimension error"):
        reg.add_formula(Formula(target="n_params", expr="n_layer * param + n_layer",
                                doc="d", source="s"), "plugin")


def test_unit_conversion_is_applied():
    """An expression in GiB for a target in byte, and kWh from W x s: factors are exact."""
    reg = registry_with(
        Quantity(name="mem", unit="byte", doc="d"),
        Quantity(name="n", doc="d"),
        Quantity(name="power", unit="W", doc="d"),
        Quantity(name="time", unit="s", doc="d"),
        Quantity(name="energy", unit="kWh", doc="d"),
    )
    reg.add_formula(Formula(target="mem", expr="n * GiB", doc="d", source="s"), "p")
    reg.add_formula(Formula(target="energy", expr="power * time", doc="d", source="s"), "p")
    mem, energy = reg.formulas
    assert mem.evaluate({"n": 3.0}) == pytest.approx(3 * 2**30)
    assert energy.evaluate({"power": 200.0, "time": 3600.0}) == pytest.approx(0.2)


def test_zero_fits_any_unit():
    reg = registry_with(Quantity(name="f", unit="FLOP/token", doc="d"), Quantity(name="b", kind="bool", doc="d"))
    reg.add_formula(Formula(target="f", expr="0 * FLOP/token", doc="d", source="s"), "p")
    reg.add_formula(Formula(target="f", expr="(3 * FLOP/token) if b else 0", doc="d", source="s"), "p")
    assert reg.formulas[1].evaluate({"b": 1.0}) == 3.0
    assert reg.formulas[1].evaluate({"b": 0.0}) == 0.0


def test_choice_only_in_conditions():
    reg = registry_with(Quantity(name="mode", kind="choice", choices=("a", "b"), doc="d"),
                        Quantity(name="y", doc="d"))
    with pytest.raises(PluginError, match="belongs in the condition"):
        reg.add_formula(Formula(target="y", expr="mode", doc="d", source="s"), "p")
    with pytest.raises(PluginError, match="no choice"):
        reg.add_formula(Formula(target="y", expr="1", doc="d", source="s", condition='mode == "c"'), "p")
