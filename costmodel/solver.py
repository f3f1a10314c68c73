"""Evaluating a scenario forward, inverting it for one unknown, optimising, sweeping grids.

Numbers are plain floats in each quantity's canonical unit inside; units come back at the edges
(`costmodel.api`). The inner loops call compiled closures, never `subs`/`evalf`; the one symbolic
step (a closed-form inverse) is solved once per scenario structure and cached.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import attrs

from costmodel import units
from costmodel.errors import OutOfRange, UserError
from costmodel.registry import CompiledFormula, symbol
from costmodel.scenario import Scenario

MAX_VALUE = 1e30  # beyond this a search is "unbounded"
REL_TOL = 1e-12


@attrs.frozen(kw_only=True)
class Solved:
    """How the solver chose a value for a freed input."""

    name: str  # the freed input
    value: float
    reason: str  # e.g. "wall_time = 30 day"
    method: str  # "closed form", "numeric root", "largest feasible", ...
    expr: object = None  # the closed form (sympy), if any


@attrs.define
class Evaluation:
    scenario: Scenario
    env: dict[str, float]  # every number known: inputs and results
    missing: dict[str, tuple[str, ...]]  # derived quantity -> inputs nobody gave
    solved: list[Solved] = attrs.Factory(list)
    warnings: list[str] = attrs.Factory(list)


# --- forward ----------------------------------------------------------------------------------


def order(scenario: Scenario) -> list[CompiledFormula]:
    """The scenario's formulas in dependency order."""
    return scenario.order


def numeric_inputs(scenario: Scenario) -> dict[str, float]:
    q = scenario.registry.quantities
    return {k: v for k, v in scenario.values.items() if q[k].kind != "choice"}


def forward(scenario: Scenario, env: dict[str, float], only: set[str] | None = None) -> dict:
    """Fill `env` with every derived quantity computable from it; returns what is missing."""
    missing: dict[str, tuple[str, ...]] = {}
    for f in order(scenario):
        if only is not None and f.target not in only:
            continue
        absent = tuple(n for n in f.inputs if n not in env)
        if absent:
            missing[f.target] = tuple(sorted({m for n in absent for m in missing.get(n, (n,))}))
            continue
        env[f.target] = float(f.evaluate(env))
    return missing


def upstream(scenario: Scenario, target: str) -> dict[str, int]:
    """Every name `target` depends on, with its distance in formulas."""
    dist = {target: 0}
    frontier = [target]
    while frontier:
        nxt = []
        for name in frontier:
            f = scenario.formulas.get(name)
            for dep in f.inputs if f else ():
                if dep not in dist:
                    dist[dep] = dist[name] + 1
                    nxt.append(dep)
        frontier = nxt
    return dist


def needed(scenario: Scenario, targets: Sequence[str]) -> set[str]:
    names: set[str] = set()
    for t in targets:
        names.update(n for n in upstream(scenario, t) if n in scenario.formulas)
    return names


def validate(scenario: Scenario, env: dict[str, float]) -> None:
    """Family checks and the domains of derived results: a clear error, never a wrong number."""
    for check in scenario.checks:
        if all(n in env for n in check.inputs) and not bool(check.evaluate(env)):
            shown = ", ".join(f"{n}={_show(scenario, n, env[n])}" for n in check.inputs)
            raise UserError(f"{check.check.message} ({shown}; source: {check.check.source})")
    quantities = scenario.registry.quantities
    for name, f in scenario.formulas.items():
        if name not in env:
            continue
        value = env[name]
        q = quantities[name]
        if not math.isfinite(value):
            raise UserError(f"{name} is not finite for these inputs (formula {f.formula.expr!r})")
        if q.maximum is not None and value > q.maximum * (1 + 1e-9):
            raise UserError(
                f"{name} comes out as {_show(scenario, name, value)}, above its maximum "
                f"{q.maximum:g}: the inputs ask for more than is possible"
            )
        if q.minimum is not None and value < q.minimum - 1e-9 * max(1.0, abs(q.minimum)):
            inputs = ", ".join(f"{n}={_show(scenario, n, env[n])}" for n in f.inputs if n in env)
            raise UserError(
                f"{name} comes out as {_show(scenario, name, value)}, below its minimum "
                f"{q.minimum:g}, for {inputs}: these inputs are outside the formula's range"
            )


def _show(scenario: Scenario, name: str, value: float) -> str:
    return units.format_quantity(value, scenario.unit(name))


def evaluate(scenario: Scenario, targets: Sequence[str] = ()) -> Evaluation:
    """Forward evaluation, after meeting any constraints (user-given derived quantities)."""
    plan = []
    if scenario.constraints:
        scenario, plan = plan_constraints(scenario)
    env = numeric_inputs(scenario)
    result = Evaluation(scenario=scenario, env=env, missing={})
    if plan:
        _meet_constraints(scenario, env, result, plan)
    result.missing = forward(scenario, env)
    for t in targets:
        if t not in env:
            explain_missing(scenario, t, result.missing)
    validate(scenario, env)
    return result


def explain_missing(scenario: Scenario, target: str, missing: dict) -> None:
    """Raise the user's error for a target that could not be computed: which inputs it lacks."""
    registry = scenario.registry
    registry.quantity(target)
    if target in missing:
        names = ", ".join(missing[target])
        raise UserError(f"cannot compute {target}: no value for {names}; give it with --set NAME=VALUE")
    raise UserError(f"{target} is not computed for family {scenario.family.name} in this scenario")


# --- freeing an input ---------------------------------------------------------------------------


def free_candidates(scenario: Scenario, targets: Sequence[str], exclude=()) -> list[str]:
    """Inputs the solver may free to meet `targets`, best first."""
    q = scenario.registry.quantities
    distances = [upstream(scenario, t) for t in targets]
    common = set(distances[0])
    for d in distances[1:]:
        common &= set(d)
    if not common - set(scenario.formulas):
        common = set().union(*distances)
    preference = scenario.family.free_order
    rules = {n for n, f in scenario.formulas.items() if f.formula.overridable}
    candidates = [
        n
        for n in common
        if ((n not in scenario.formulas and n in scenario.values) or n in rules)
        and n not in targets
        and n not in scenario.constraints
        and n not in scenario.pinned
        and n not in exclude
        and q[n].kind in ("real", "integer")
        and not scenario.origins.get(n, "").startswith("hardware")
    ]
    return sorted(
        candidates,
        key=lambda n: (
            preference.index(n) if n in preference else len(preference),
            q[n].free_rank if q[n].free_rank is not None else 1_000,
            0 if q[n].plausible is not None else 1,  # an assumption of the model before a fact of the run
            sum(d.get(n, 99) for d in distances),
            n,
        ),
    )


def plan_constraints(scenario: Scenario) -> tuple[Scenario, list[tuple[str, str]]]:
    """For each user-given derived quantity the input to free; a default rule chosen as that
    input (nanochat's iters, the time model's mfu) is dropped and its value becomes the start."""
    used: set[str] = set()
    plan = []
    for target in sorted(scenario.constraints, key=lambda t: len(upstream(scenario, t))):
        options = free_candidates(scenario, [target], exclude=used)
        if not options:
            raise UserError(
                f"{target} is computed from inputs you gave; to fix it to the value you gave, "
                f"leave one of its inputs free"
            )
        used.add(options[0])
        plan.append((target, options[0]))
    for _, leaf in plan:
        if leaf in scenario.formulas:
            scenario = as_input(scenario, leaf)
    return scenario, plan


def as_input(scenario: Scenario, name: str) -> Scenario:
    """The scenario with the default rule for `name` dropped; its current value is the start."""
    plain = attrs.evolve(scenario, constraints={})
    env = numeric_inputs(plain)
    forward(plain, env, only=needed(plain, [name]))
    if name not in env:
        explain_missing(plain, name, forward(plain, dict(numeric_inputs(plain))))
    formulas = {k: v for k, v in scenario.formulas.items() if k != name}
    return attrs.evolve(
        scenario,
        formulas=formulas,
        values={**scenario.values, name: env[name]},
        origins={**scenario.origins, name: "default rule, freed"},
    )


def _meet_constraints(scenario: Scenario, env: dict[str, float], result: Evaluation,
                      plan: list[tuple[str, str]]) -> None:
    """Solve each planned input so that its user-given derived quantity holds."""
    for _ in range(50 if len(plan) > 1 else 1):
        for target, leaf in plan:
            solved = solve_for(scenario, env, leaf, target, scenario.constraints[target])
            env[leaf] = solved.value
            result.solved = [s for s in result.solved if s.name != leaf] + [solved]
        if len(plan) == 1 or all(_close(_value_of(scenario, env, t), v)
                                 for t, v in scenario.constraints.items()):
            break
    else:
        raise UserError("the given values could not all be met at once; give fewer of them")
    for target, value in scenario.constraints.items():
        env.pop(target, None)


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-9 * max(abs(a), abs(b), 1e-300)


def _value_of(scenario: Scenario, env: dict[str, float], target: str) -> float:
    trial = dict(env)
    trial.pop(target, None)
    missing = forward(scenario, trial, only=needed(scenario, [target]))
    if target not in trial:
        explain_missing(scenario, target, missing)
    return trial[target]


# --- one unknown --------------------------------------------------------------------------------


def function_of(scenario: Scenario, env: dict[str, float], leaf: str, target: str) -> Callable:
    """`u -> target` with every other input as in `env` (only the formulas on the path run)."""
    path = [f for f in order(scenario) if f.target in needed(scenario, [target])]
    base = {k: v for k, v in env.items() if k not in {f.target for f in path}}
    for f in path:
        for n in f.inputs:
            if n not in base and n not in scenario.formulas and n != leaf:
                raise UserError(f"cannot compute {target}: no value for {n}")

    def fn(u: float) -> float:
        local = dict(base)
        local[leaf] = u
        for f in path:
            local[f.target] = f.evaluate(local)
        return float(local[target])

    return fn


def solve_for(scenario: Scenario, env: dict, leaf: str, target: str, value: float) -> Solved:
    """Choose `leaf` so that `target` equals `value` (integers: not exceeding it), re-verified."""
    q = scenario.registry.quantities[leaf]
    fn = function_of(scenario, env, leaf, target)
    reason = f"{target} = {_show(scenario, target, value)}"
    closed = _closed_form(scenario, leaf, target)
    root, method, expr = None, "numeric root", None
    if closed is not None:
        local = dict(env)
        local["__given__"] = value
        for candidate, compiled in closed:
            try:
                r = float(compiled(local))
            except (ValueError, ZeroDivisionError, OverflowError, KeyError, TypeError):
                continue
            if math.isfinite(r) and r > 0 and _close(fn(r), value):
                root, method, expr = r, "closed form", candidate
                break
    if root is None:
        root = _bracketed_root(fn, value, env.get(leaf, 1.0), q, scenario, leaf, target)
    if q.kind == "integer":
        root = _round_feasible(fn, value, root, q, scenario, leaf, target)
        method += ", rounded so as not to exceed the given value"
        root = _valid_step(scenario, env, leaf, root, fn, value)
    if q.maximum is not None and root > q.maximum * (1 + 1e-9):
        raise OutOfRange(
            f"{leaf} comes out as {_show(scenario, leaf, root)}, above its maximum {q.maximum:g}, "
            f"to make {target} = {_show(scenario, target, value)}: that is more than is possible",
            leaf,
            root,
        )
    achieved = fn(root)
    if q.kind != "integer" and not _close(achieved, value) and abs(achieved - value) > 1e-6 * abs(value):
        raise UserError(
            f"no value of {leaf} gives {target} = {_show(scenario, target, value)}; the closest is "
            f"{leaf} = {_show(scenario, leaf, root)} giving {_show(scenario, target, achieved)}"
        )
    return Solved(name=leaf, value=root, reason=reason, method=method, expr=expr)


def _closed_form(scenario: Scenario, leaf: str, target: str):
    key = (id(scenario.formulas.get(target)), tuple(sorted(needed(scenario, [target]))), leaf, target)
    return _closed_form_cached(key, scenario)


_CLOSED: dict = {}


def _closed_form_cached(key, scenario: Scenario):
    if key in _CLOSED:
        return _CLOSED[key]
    composed = symbol(key[3])
    for _ in range(len(scenario.formulas) + 1):
        names = {s.name for s in composed.free_symbols} & set(scenario.formulas)
        if not names:
            break
        composed = composed.xreplace({symbol(n): scenario.formulas[n].numeric for n in names})
    u = symbol(key[2])
    solutions = _linear_or_quadratic(composed, u)
    from costmodel.expressions import compile_numeric

    _CLOSED[key] = [(e, compile_numeric(e)) for e in solutions] if solutions else None
    return _CLOSED[key]


def _linear_or_quadratic(composed, u):
    """Roots of composed(u) = __given__ when the numerator is of degree 1 or 2 in u, else None.

    Read off the polynomial's coefficients (sympy.solve on the same equation takes seconds)."""
    import sympy as sp

    from costmodel.expressions import floordiv

    if u not in composed.free_symbols or composed.has(
        sp.floor, sp.ceiling, sp.Piecewise, sp.Min, sp.Max, sp.Mod, sp.Abs, floordiv
    ):
        return None
    given = sp.Symbol("__given__")
    try:
        numerator, _ = sp.fraction(sp.together(composed - given))
        poly = sp.Poly(sp.expand(numerator), u)
    except (sp.PolynomialError, NotImplementedError, TypeError, ValueError):
        return None
    coeffs = poly.all_coeffs()
    if poly.degree() == 1:
        a, b = coeffs
        return [-b / a]
    if poly.degree() == 2:
        a, b, c = coeffs
        root = sp.sqrt(b**2 - 4 * a * c)
        return [(-b + root) / (2 * a), (-b - root) / (2 * a)]
    return None


def _bracketed_root(fn, value, start, q, scenario, leaf, target) -> float:
    """Bracket the root by doubling/halving from `start`, then bisect (monotone `fn` assumed)."""
    low_bound = 1.0 if q.kind == "integer" else (q.minimum or 0.0)
    a = max(float(start) if start else 1.0, low_bound if low_bound > 0 else 1e-12)
    ga = fn(a) - value
    if ga == 0:
        return a
    b, direction = a, 0
    for _ in range(60):
        b *= 2
        gb = fn(b) - value
        if gb != ga:
            direction = 1 if gb > ga else -1
            break
    if direction == 0:
        raise UserError(f"{target} does not change with {leaf}: cannot solve for {leaf}")
    up = (ga < 0) == (direction > 0)
    lo, hi = a, a
    for _ in range(200):
        nxt = hi * 2 if up else lo / 2
        if up and nxt > MAX_VALUE:
            raise UserError(
                f"{target} cannot reach {_show(scenario, target, value)}: even {leaf} = "
                f"{units.format_number(hi)} gives {_show(scenario, target, fn(hi))}"
            )
        if not up and (nxt < max(low_bound, 1e-300) or (q.kind == "integer" and nxt < 1)):
            floor_value = max(low_bound, 1.0 if q.kind == "integer" else 1e-300)
            raise UserError(
                f"{target} = {_show(scenario, target, value)} is out of reach: even at {leaf} = "
                f"{units.format_number(floor_value)} it is {_show(scenario, target, fn(floor_value))}"
            )
        g = fn(nxt) - value
        if up:
            lo, hi = hi, nxt
        else:
            lo, hi = nxt, lo
        if (g >= 0) == (direction > 0) if up else (g <= 0) == (direction > 0):
            break
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if (fn(mid) - value) * direction < 0:
            lo = mid
        else:
            hi = mid
        if hi - lo <= REL_TOL * hi:
            break
    return 0.5 * (lo + hi)


def _round_feasible(fn, value, root, q, scenario, leaf, target) -> float:
    """The whole number nearest the root on the side where `target` does not exceed `value`."""
    lower, upper = math.floor(root + 1e-9), math.ceil(root - 1e-9)
    candidates = sorted({max(1, lower - 1), max(1, lower), max(1, upper), max(1, upper + 1)})
    ok = [n for n in candidates if fn(n) <= value * (1 + 1e-12)]
    if not ok:
        raise UserError(
            f"{target} = {_show(scenario, target, value)} is out of reach: even {leaf} = "
            f"{candidates[0]} gives {_show(scenario, target, fn(candidates[0]))}"
        )
    increasing = fn(candidates[-1]) >= fn(candidates[0])
    return float(max(ok) if increasing else min(ok))


def _valid_step(scenario: Scenario, env: dict, leaf: str, u: float, fn, value: float) -> float:
    """Step a whole-number answer on, in the direction that keeps the given value met, until the
    family's rules hold (nanochat's vocabulary must split over n_gpus: 5 GPUs -> 8)."""
    increasing = fn(u + 1) >= fn(u)
    step = -1.0 if increasing else 1.0
    for _ in range(100_000):
        trial = dict(env)
        trial[leaf] = u
        forward(scenario, trial)
        failed = [c for c in scenario.checks
                  if all(n in trial for n in c.inputs) and not bool(c.evaluate(trial))]
        if not failed:
            return u
        u += step
        if u < 1:
            break
    raise UserError(f"no whole {leaf} meets the given value and the family's rules "
                    f"({failed[0].check.message})")


# --- optimisation -------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Constraint:
    lhs: str | float  # a quantity name or a number in the other side's canonical unit
    op: str  # "<=" or ">="
    rhs: str | float
    text: str
    rhs_scale: float = 1.0  # the right side's canonical unit in the left side's


def parse_constraint(scenario: Scenario, text: str) -> Constraint:
    """'mem_peak <= gpu_memory_usable' or 'wall_time <= 30 day'."""
    for op in ("<=", ">="):
        if op in text:
            left, right = (part.strip() for part in text.split(op, 1))
            break
    else:
        raise UserError(f"constraint {text!r}: write NAME <= NAME|VALUE or NAME >= NAME|VALUE")
    registry = scenario.registry
    if left not in registry.quantities:
        left, right, op = right, left, {"<=": ">=", ">=": "<="}[op]
    name = left
    registry.quantity(name)
    if right in registry.quantities:
        a, b = registry.quantities[name].unit, registry.quantities[right].unit
        if units.describe_unit(a)[1] != units.describe_unit(b)[1]:
            raise UserError(f"constraint {text!r}: {name} [{a}] and {right} [{b}] are not comparable")
        scale = units.describe_unit(b)[0] / units.describe_unit(a)[0]
        return Constraint(lhs=name, op=op, rhs=right, text=text, rhs_scale=scale)
    value = registry.parse_value(name, right, where=f"constraint {text!r}")
    return Constraint(lhs=name, op=op, rhs=value, text=text)


def optimise(
    scenario: Scenario, objective: str, constraints: Sequence[Constraint], maximize: bool
) -> Evaluation:
    """Best value of `objective` over one freed input, subject to the constraints."""
    registry = scenario.registry
    registry.quantity(objective)
    if objective in scenario.values and objective not in scenario.formulas:
        if objective in scenario.pinned:
            raise UserError(f"{objective} is given; it cannot also be optimised")
        leaf = objective
    else:
        options = free_candidates(scenario, [objective])
        if not options:
            raise UserError(f"{objective} depends on no free input to vary")
        leaf = options[0]
        if leaf in scenario.formulas:
            scenario = as_input(scenario, leaf)
    plan = []
    if scenario.constraints:
        scenario, plan = plan_constraints(attrs.evolve(scenario, pinned=scenario.pinned | {leaf}))
        scenario = attrs.evolve(scenario, pinned=scenario.pinned - {leaf})
    q = registry.quantities[leaf]
    env0 = numeric_inputs(scenario)

    def state(u: float) -> tuple[dict, list[str]]:
        env = dict(env0)
        env[leaf] = u
        result = Evaluation(scenario=scenario, env=env, missing={})
        if plan:
            _meet_constraints(scenario, env, result, plan)
        missing = forward(scenario, env)
        for name in [objective] + [n for c in constraints for n in (c.lhs, c.rhs) if isinstance(n, str)]:
            if name not in env:
                explain_missing(scenario, name, missing)
        violated = [c for c in constraints if not _holds(c, env)]
        return env, violated

    def objective_at(u: float) -> float:
        return state(u)[0][objective]

    low = 1.0 if q.kind == "integer" or q.positive else (q.minimum or 0.0)
    start = max(low, 1.0)
    env, violated = state(start)
    increasing = _direction(objective_at, start, q)
    want_up = increasing == maximize
    if violated and want_up:
        worst = violated[0]
        raise UserError(_infeasible(scenario, leaf, start, env, worst))
    best = _search(lambda u: not state(u)[1], start, want_up, q, scenario, leaf, objective)
    if q.kind == "integer":
        best = _nearest_valid(scenario, state, best, want_up, leaf)
    env, violated = state(best)
    if violated:
        raise UserError(_infeasible(scenario, leaf, best, env, violated[0]))
    validate(scenario, env)
    result = Evaluation(scenario=scenario, env=env, missing={})
    result.missing = forward(scenario, env)
    word = "largest" if want_up else "smallest"
    how = "maximises" if maximize else "minimises"
    reason = f"{how} {objective} subject to " + ", ".join(c.text for c in constraints)
    result.solved.append(Solved(name=leaf, value=best, reason=reason, method=f"{word} feasible {leaf}"))
    nxt = best + 1 if want_up else best - 1
    if q.kind == "integer" and nxt >= 1:
        env_next, violated_next = state(nxt)
        if violated_next:
            c = violated_next[0]
            result.warnings.append(
                f"{leaf} = {units.format_number(nxt)} would break {c.text}: "
                + _sides(scenario, c, env_next)
            )
    return result


def _holds(c: Constraint, env: dict[str, float]) -> bool:
    left = env[c.lhs] if isinstance(c.lhs, str) else c.lhs
    right = env[c.rhs] * c.rhs_scale if isinstance(c.rhs, str) else c.rhs
    slack = 1e-12 * max(abs(left), abs(right))
    return left <= right + slack if c.op == "<=" else left >= right - slack


def _sides(scenario: Scenario, c: Constraint, env: dict[str, float]) -> str:
    unit = scenario.unit(c.lhs)
    left = units.format_quantity(env[c.lhs], unit)
    right = units.format_quantity(env[c.rhs] if isinstance(c.rhs, str) else c.rhs, unit)
    right_name = f"{c.rhs} = " if isinstance(c.rhs, str) else ""
    verb = "needs" if c.op == "<=" else "gives"
    return f"{verb} {c.lhs} = {left}, has {right_name}{right}"


def _infeasible(scenario, leaf, u, env, c: Constraint) -> str:
    return (
        f"no feasible {leaf}: even at {leaf} = {units.format_number(u)}, "
        f"{c.text} does not hold: {_sides(scenario, c, env)}"
    )


def _direction(fn, start: float, q) -> bool:
    a = fn(start)
    for k in range(1, 40):
        b = fn(start * 2**k)
        if b != a:
            return b > a
    return True


def _search(feasible, start, up, q, scenario, leaf, objective) -> float:
    """The last feasible value from `start` in direction `up` (feasibility assumed monotone)."""
    integer = q.kind == "integer"
    good, bad = start, None
    step = start
    for _ in range(200):
        trial = good + step if up else good - step / 2 if not integer else good - max(1, step // 2)
        if up and trial > MAX_VALUE:
            raise UserError(f"{objective} is unbounded: {leaf} can grow without limit under these constraints")
        if not up and trial <= (0 if not integer else 0):
            return good
        if feasible(trial):
            good = trial
            step *= 2
        else:
            bad = trial
            break
    if bad is None:
        return good
    while abs(bad - good) > (1 if integer else REL_TOL * max(abs(good), 1e-300)):
        mid = (good + bad) / 2
        if integer:
            mid = math.floor(mid) if up else math.ceil(mid)
            if mid in (good, bad):
                break
        if feasible(mid):
            good = mid
        else:
            bad = mid
    return good


def _nearest_valid(scenario, state, best, up, leaf) -> float:
    """Step back from `best` until the family's validity checks pass (e.g. divisibility)."""
    for _ in range(10000):
        env, violated = state(best)
        try:
            validate(scenario, env)
            return best
        except UserError:
            best = best - 1 if up else best + 1
            if best < 1:
                break
    raise UserError(f"no valid {leaf} satisfies the family's rules under these constraints")


# --- sweeps -------------------------------------------------------------------------------------


def sweep_numeric(scenario: Scenario, grid: dict[str, Sequence[float]]):
    """Evaluate every formula over the cartesian grid of numeric inputs, vectorised with numpy."""
    import numpy as np

    names = list(grid)
    mesh = np.meshgrid(*[np.asarray(grid[n], dtype=float) for n in names], indexing="ij")
    env: dict[str, Any] = {k: v for k, v in numeric_inputs(scenario).items()}
    for name, arr in zip(names, mesh):
        env[name] = arr.ravel()
    size = mesh[0].size if mesh else 1
    for f in order(scenario):
        if all(n in env for n in f.inputs):
            value = f.vector(env)
            env[f.target] = np.broadcast_to(np.asarray(value, dtype=float), (size,))
    return env, size
