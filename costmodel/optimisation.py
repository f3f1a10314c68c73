"""Optimising a scenario: the best value of an objective over one freed input, under constraints."""

from __future__ import annotations

import math
from collections.abc import Sequence

import attrs

from costmodel import units
from costmodel.errors import UserError
from costmodel.forward import (
    MAX_VALUE, REL_TOL, Evaluation, Solved, explain_missing, forward, numeric_inputs, upstream, validate,
)
from costmodel.inverse import (
    as_input, free_candidates, fixed_by_user, freeable, given_text, meet_constraints, plan_constraints,
)
from costmodel.scenario import Scenario


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
        ranked = freeable(scenario, [objective])
        if not ranked or fixed_by_user(scenario, ranked[0]):
            raise UserError(_nothing_to_vary(scenario, objective, ranked))
        leaf = ranked[0]
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
            meet_constraints(scenario, env, result, plan)
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
        if want_up:
            best = _beyond(scenario, state, best, q, leaf, objective)
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


def _nothing_to_vary(scenario: Scenario, objective: str, ranked: list[str]) -> str:
    """Why no input is varied: none declared freeable feeds the objective, or the user fixed the
    one that would be (the question is then over-determined)."""
    if not ranked:
        return (f"{objective} depends on no run input the solver may vary (the model's constants never "
                "move); ask for an input instead (--maximize NAME)")
    leaf = ranked[0]
    others = [n for n in free_candidates(scenario, [objective]) if n != leaf
              and leaf not in upstream(scenario, n) and n not in upstream(scenario, leaf)]
    example = f" (e.g. --maximize {others[0]})" if others else ""
    return (f"over-determined: {objective} follows from {leaf} = {given_text(scenario, leaf)}, which is given; "
            f"drop it, or optimise an input that may change instead{example}")


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


def _beyond(scenario, state, best, q, leaf, objective) -> float:
    """Feasibility need not be monotone (a micro-batch that drops gradient accumulation frees its
    buffer): probe 2x, 4x, ... 4096x the answer and continue from a larger feasible, valid value."""
    for _ in range(8):
        for k in range(1, 13):
            u = best * 2**k
            if u > MAX_VALUE:
                break
            env, violated = state(u)
            if violated:
                continue
            try:
                validate(scenario, env)
            except UserError:
                continue
            found = _search(lambda x: not state(x)[1], u, True, q, scenario, leaf, objective)
            best = _nearest_valid(scenario, state, found, True, leaf)
            break
        else:
            return best
    return best


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
