"""Repeated questions: a scenario's equation system composed once per shape, then only numbers.

The *shape* of a question is everything but its numbers: the family, preset, card, plugins, the
names the user gives and the values of the choices among them. `evaluate` composes the first
question of a shape as usual and keeps a `System` for it:

- the formulas that no given number reaches are evaluated once (constants of the shape);
- the others, and the family's checks and the results' domains they touch, are translated from
  their programs (`costmodel.programs`) into one straight-line Python function over a list of
  slots. Only fixed operator templates, slot numbers and float literals go into that function's
  text: no name, no expression text and nothing a user or a plugin wrote, so nothing of theirs
  is ever executed;
- a later question of the same shape copies the slots, puts in its numbers and runs the function.

Whatever the fast function cannot decide (a question that solves for a given result, an error, a
rule broken, a result out of its domain) goes through `costmodel.solver.evaluate`, which words the
error exactly as it always does: the fast path only ever returns what the slow path would.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from costmodel.errors import PluginError, UserError

MAX_SHAPES = 256  # systems kept (one per shape of question); the oldest goes first
_SYSTEMS: dict[tuple, Any] = {}
_SLOW = object()
_KNOWN_CARDS: dict[tuple, set[str]] = {}  # card names met, per set of plugins (no file of that name)
_KWARGS = frozenset({"preset", "config", "config_overrides", "hardware", "values", "plugins"})  # a shape the fast path does not take (given results to solve for)


def evaluate(family: str, targets: Sequence[str] = (), **kwargs):
    """`costmodel.solver.evaluate(api.scenario(family, **kwargs), targets)`, faster when asked again."""
    from costmodel import api, solver

    key = _shape(family, kwargs)
    system = _SYSTEMS.get(key) if key is not None else _SLOW
    if system is None:
        s = api.scenario(family, **kwargs)
        system = _SLOW if s.constraints else _build(s, kwargs.get("values") or {})
        if len(_SYSTEMS) >= MAX_SHAPES:
            _SYSTEMS.pop(next(iter(_SYSTEMS)))
        _SYSTEMS[key] = system
        if system is _SLOW:
            return solver.evaluate(s, targets)
    if system is _SLOW:
        return solver.evaluate(api.scenario(family, **kwargs), targets)
    result = system.run(kwargs.get("values") or {}, targets)
    if result is None:  # something to word as an error, or to solve: the ordinary path
        return solver.evaluate(api.scenario(family, **kwargs), targets)
    return result


def layout(evaluation, compute):
    """`compute(evaluation)`, kept with the shape's system for a fast evaluation."""
    system = getattr(evaluation, "system", None)
    if system is None:
        return compute(evaluation)
    if system.layout is None:
        system.layout = compute(evaluation)
    return system.layout


def forget() -> None:
    """Drop every kept system (after plugins are reloaded)."""
    _SYSTEMS.clear()
    _KNOWN_CARDS.clear()


def _shape(family: str, kwargs: Mapping[str, Any]) -> tuple | None:
    """What determines the composed system, numbers apart; None when it cannot be told cheaply
    (a config file or a card file, which may change on disk)."""
    from costmodel import api

    if kwargs.get("config") is not None:
        return None
    hardware = kwargs.get("hardware")
    if hardware is not None and (not isinstance(hardware, str) or hardware.endswith(".toml")):
        return None
    if not _KWARGS.issuperset(k for k, v in kwargs.items() if v is not None):
        return None  # a GPU count or a family command line: the ordinary path reads them
    plugins = tuple(str(p) for p in kwargs.get("plugins", ()))
    reg = api.registry(plugins)
    if hardware is not None and hardware not in _KNOWN_CARDS.setdefault(plugins, set()):
        if Path(hardware).is_file():
            return None
        try:
            reg.card(hardware)
        except UserError:
            return None  # the ordinary path says what is unknown
        _KNOWN_CARDS[plugins].add(hardware)
    shape = []
    for name, value in sorted((kwargs.get("values") or {}).items()):
        q = reg.quantities.get(name)
        if q is None:
            return None  # the ordinary path says what is unknown
        shape.append((name, value if q.kind in ("choice", "bool") else None))
    return (plugins, family, kwargs.get("preset"), tuple(kwargs.get("config_overrides", ())),
            hardware, tuple(shape))


@attrs.define
class System:
    """One shape's equation system: constant slots, and a function for the rest."""

    scenario: Any
    names: list[str]  # slot -> quantity name (inputs, then results in dependency order)
    slots: list[float]  # the constants (and the first question's numbers)
    variables: dict[str, int]  # user-given numeric input -> slot
    function: Any  # slots -> None (fills the variable results); False when a check fails
    missing: dict[str, tuple[str, ...]]
    first_moving: int = 0  # slots from here on change with the numbers
    constants: dict[str, float] = attrs.Factory(dict)  # name -> value of the slots before first_moving
    layout: Any = None  # what api.Result shows, the same for every question of the shape
    known: frozenset[str] = frozenset()  # every name the system gives a number

    def run(self, values: Mapping[str, Any], targets: Sequence[str]):
        reg = self.scenario.registry
        slots = list(self.slots)
        given = {}
        for name, slot in self.variables.items():
            number = reg.parse_value(name, values[name])
            slots[slot] = number
            given[name] = number
        try:
            if not self.function(slots):
                return None
        except (ArithmeticError, ValueError, TypeError):
            return None
        if targets and not self.known.issuperset(targets):
            return None
        return _evaluation_type()(self, slots, values, given)

    def env(self, slots: list[float], given: Mapping[str, float]) -> dict[str, float]:
        env = self.constants.copy()
        env.update(zip(self.names[self.first_moving:], slots[self.first_moving:]))
        env.update(given)
        return env

    def scenario_of(self, values: Mapping[str, Any], given: Mapping[str, float]):
        return _copy(self.scenario, values={**self.scenario.values, **given},
                     request={**self.scenario.request, "values": dict(values)})


@functools.cache
def _evaluation_type():
    """An evaluation of a shape's system that makes its `env` and `scenario` on first access (a
    question answered, nothing read yet, costs the system's function and little more). Made on
    first use: the solver imports late."""
    from costmodel.solver import Evaluation

    class FastEvaluation(Evaluation):
        def __init__(self, system: System, slots: list[float], values: Mapping[str, Any], given: dict):
            self.system, self._made = system, (slots, values, given)
            self.missing, self.solved, self.warnings = dict(system.missing), [], []

        @functools.cached_property
        def env(self) -> dict[str, float]:
            slots, _, given = self._made
            return self.system.env(slots, given)

        @functools.cached_property
        def scenario(self):
            _, values, given = self._made
            return self.system.scenario_of(values, given)

    return FastEvaluation


def _build(s, given: Mapping[str, Any]) -> System | object:
    """Compose the shape's system from its first scenario (`given`: the user's values)."""
    from costmodel import solver

    quantities = s.registry.quantities
    rules = {f.target for f in s.registry.formulas} | {f.target for f in s.registry.family_formulas.get(
        s.family.name, ())}
    if rules & set(given):
        return _SLOW  # a given result replaces a rule: the scenario checks it against the rule's inputs
    variables = [n for n in given if n in s.values and quantities[n].kind not in ("choice", "bool")]
    if any(n not in s.values or s.values[n] != s.registry.parse_value(n, v) for n, v in given.items()
           if quantities[n].kind not in ("choice", "bool")):
        return _SLOW  # the scenario did not take the user's numbers as they are: compose each time
    env = dict(solver.numeric_inputs(s))
    try:
        missing = solver.forward(s, env)
    except (ArithmeticError, ValueError, TypeError):
        return _SLOW
    moving = set(variables)
    computed = []
    for f in solver.order(s):
        if f.target in env and moving & set(f.inputs):
            moving.add(f.target)
            computed.append(f)
    if not _constants_valid(s, env, moving):
        return _SLOW  # the ordinary path words the error every time
    names = sorted(set(env) - {f.target for f in computed}) + [f.target for f in computed]
    slot = {n: i for i, n in enumerate(names)}
    first = len(names) - len(computed)
    # the shape's constants go in as literals: Python folds what only they make at compile time
    ref = {n: f"({_literal(env[n])})" if i < first and n not in variables and _finite(env[n]) else i
           for n, i in slot.items()}
    lines = ["def _system(s):"]
    for f in computed:
        lines.append(f"    s[{slot[f.target]}] = _float({_code(f.program, ref)})")
    # every result finite (one sum: a NaN or an infinity anywhere makes it so), and within its range
    tests = [f"_finite(_sum(s[{first}:]))"] if computed else []
    lowest: dict[float, list[str]] = {}
    highest: dict[float, list[str]] = {}
    for f in computed:
        q = quantities[f.target]
        if q.minimum is not None:
            lowest.setdefault(q.minimum - 1e-9 * max(1.0, abs(q.minimum)), []).append(f"s[{slot[f.target]}]")
        if q.maximum is not None:
            highest.setdefault(q.maximum * (1 + 1e-9), []).append(f"s[{slot[f.target]}]")
    tests += [f"_min({', '.join(xs)}, _inf) >= {_literal(bound)}" for bound, xs in lowest.items()]
    tests += [f"_max({', '.join(xs)}, -_inf) <= {_literal(bound)}" for bound, xs in highest.items()]
    for check in s.checks:
        if all(n in slot for n in check.inputs) and moving & set(check.inputs):
            tests.append(f"bool({_code(check.program, ref)})")
    lines.append("    return " + (" and ".join(tests) if tests else "True"))
    namespace = dict(_NAMESPACE)
    exec(compile("\n".join(lines), "<costmodel system>", "exec"), namespace)  # noqa: S102 - see module doc
    return System(scenario=s, names=names, slots=[env[n] for n in names],
                  variables={n: slot[n] for n in variables}, function=namespace["_system"], missing=missing,
                  first_moving=first, constants={n: env[n] for n in names[:first]}, known=frozenset(names))


def _copy(record, **changes):
    """`attrs.evolve` without re-running converters and validators (the fields are already checked)."""
    new = object.__new__(type(record))
    for name in _field_names(type(record)):
        object.__setattr__(new, name, changes[name] if name in changes else getattr(record, name))
    return new


@functools.cache
def _field_names(cls) -> tuple[str, ...]:
    return tuple(f.name for f in attrs.fields(cls))


def _constants_valid(s, env, moving) -> bool:
    """The family's checks and the results' domains that no given number reaches."""
    quantities = s.registry.quantities
    for name in s.formulas:
        if name in env and name not in moving:
            q, value = quantities[name], env[name]
            if not math.isfinite(value):
                return False
            if q.minimum is not None and value < q.minimum - 1e-9 * max(1.0, abs(q.minimum)):
                return False
            if q.maximum is not None and value > q.maximum * (1 + 1e-9):
                return False
    for check in s.checks:
        if all(n in env for n in check.inputs) and not moving & set(check.inputs):
            if not bool(check.evaluate(env)):
                return False
    return True


def _no_branch():
    raise ValueError("no branch of a conditional applies")


_NAMESPACE = {
    "__builtins__": {},
    "_floor": math.floor, "_ceil": math.ceil, "_exp": math.exp, "_log": math.log, "_sqrt": math.sqrt,
    "_min": min, "_max": max, "_abs": abs, "bool": bool, "_finite": math.isfinite, "_no_branch": _no_branch,
    "_inf": math.inf, "_float": float, "_sum": sum,
}
_INFIX = {"add": "+", "mul": "*", "eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">=",
          "mod": "%", "div": "/", "floordiv": "//"}
_CALLS = {"floor": "_floor", "ceil": "_ceil", "exp": "_exp", "abs": "_abs"}


def _finite(x) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)


def _literal(x: float) -> str:
    x = float(x)
    if math.isfinite(x):
        return repr(x)
    if math.isnan(x):
        raise PluginError("a formula holds a NaN constant")
    return "_inf" if x > 0 else "(-_inf)"


def _code(p: tuple, slot: Mapping[str, int | str]) -> str:  # noqa: C901 - one table, as programs._compile
    """A program as a Python expression over slots (the templates of programs.compile_program);
    a name mapped to a string (a constant's literal) is written as that string."""
    op = p[0]
    if op == "num":
        return _literal(p[1])
    if op == "sym":
        at = slot[p[1]]
        return at if isinstance(at, str) else f"s[{int(at)}]"
    if op in ("add", "mul"):
        return "(" + f" {_INFIX[op]} ".join(_code(a, slot) for a in p[1]) + ")"
    if op in ("min", "max"):
        return f"_{op}(" + ", ".join(_code(a, slot) for a in p[1]) + ")"
    if op in ("and", "or"):
        return "(" + f" {op} ".join(f"bool({_code(a, slot)})" for a in p[1]) + ")"
    if op == "not":
        return f"(not {_code(p[1], slot)})"
    if op in _CALLS:
        return f"{_CALLS[op]}({_code(p[1], slot)})"
    if op in _INFIX:
        return f"({_code(p[1], slot)} {_INFIX[op]} {_code(p[2], slot)})"
    if op == "pow":
        base, exponent = _code(p[1], slot), p[2]
        if exponent == ("num", -1.0):
            return f"(1.0 / {base})"
        if exponent == ("num", 0.5):
            return f"_sqrt({base})"
        return f"({base} ** {_code(exponent, slot)})"
    if op == "log":
        args = [_code(a, slot) for a in p[1]]
        return f"(_log({args[0]}) / _log({args[1]}))" if len(args) == 2 else f"_log({args[0]})"
    if op == "piecewise":
        text = "_no_branch()"
        for value, cond in reversed(p[1]):
            text = f"({_code(value, slot)} if {_code(cond, slot)} else {text})"
        return text
    raise PluginError(f"cannot evaluate program node {op!r}")
