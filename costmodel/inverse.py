"""Inverting a scenario for one unknown: which input to free, closed forms, numeric roots.

The one symbolic step (a closed-form inverse) is solved once per composed equation and cached.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence

import attrs

from costmodel import units
from costmodel.errors import OutOfRange, Unreachable, UserError
from costmodel.forward import (
    MAX_VALUE, REL_TOL, Evaluation, Solved, explain_missing, forward, needed, numeric_inputs, order,
    show, upstream,
)
from costmodel.registry import symbol
from costmodel.scenario import Origin, Scenario, Source


# --- freeing an input ---------------------------------------------------------------------------


def free_candidates(scenario: Scenario, targets: Sequence[str], exclude=()) -> list[str]:
    """Inputs the solver may free to meet `targets`, best first: the declared freeable ones
    (`freeable`) that nobody fixed."""
    return [n for n in freeable(scenario, targets)
            if not fixed_by_user(scenario, n) and n not in scenario.constraints and n not in exclude]


def freeable(scenario: Scenario, targets: Sequence[str]) -> list[str]:
    """The run inputs upstream of `targets` that are declared freeable, best first, whoever gave
    them: the family's `free_order`, then the vocabulary's `free_rank` (iters 0: a given wall time
    means fewer or more steps; micro_batch 1: a given memory peak means a smaller or larger
    micro-batch); and the one input of a given that only renames it (nanoGPT's block_size is
    seq_len). Nothing else ever moves to meet a given value: not the model's constants (the
    efficiency model, mfu, allocator slack, power fractions, prices), not the card, not a choice."""
    q = scenario.registry.quantities
    distances = [upstream(scenario, t) for t in targets]
    common = set(distances[0])
    for d in distances[1:]:
        common &= set(d)
    if not common - set(scenario.formulas):
        common = set().union(*distances)
    preference = scenario.family.free_order
    renamed = {n for t in targets if t in scenario.formulas for n in scenario.formulas[t].inputs
               if scenario.formulas[t].inputs == (n,) and n not in scenario.formulas}
    declared = [n for n in common
                if (n in preference or q[n].free_rank is not None or n in renamed)
                and n not in targets
                and q[n].kind in ("real", "integer")
                and (n not in scenario.formulas or scenario.formulas[n].formula.overridable)
                and (n in scenario.formulas or n in scenario.values)
                and not (n in scenario.origins and scenario.origins[n].source is Source.HARDWARE)]
    return sorted(
        declared,
        key=lambda n: (
            preference.index(n) if n in preference else len(preference),
            q[n].free_rank if q[n].free_rank is not None else 1_000,
            sum(d.get(n, 99) for d in distances),
            n,
        ),
    )


def fixed_by_user(scenario: Scenario, name: str) -> bool:
    """A value the user wrote (`--set`, `--given`, a family flag such as `--max_iters`, a key of the
    `--config` file), or a rule that only renames one: the solver never moves it."""
    origin = scenario.origins.get(name)
    return name in scenario.pinned or (origin is not None and origin.source is Source.CONFIG)


def plan_constraints(scenario: Scenario) -> tuple[Scenario, list[tuple[str, str]]]:
    """For each user-given derived quantity the input to free: the best declared freeable one
    upstream of it. When the user fixed that input (or another given already moves it), the
    question is over-determined and refused, naming both givens. A default rule chosen as the
    input (nanochat's iters) is dropped and its value becomes the start."""
    used: dict[str, str] = {}
    plan = []
    for target in sorted(scenario.constraints, key=lambda t: len(upstream(scenario, t))):
        _refuse_label(scenario, target)
        ranked = [n for n in freeable(scenario, [target]) if n not in scenario.constraints]
        if not ranked:
            raise UserError(
                f"{target} is computed from inputs you gave or from the model's own constants, none of which "
                f"the solver moves; to fix it to the value you gave, ask for the input to change "
                f"(--find NAME), or give fewer values"
            )
        best = ranked[0]
        if fixed_by_user(scenario, best) or best in used:
            raise UserError(_over_determined(scenario, target, best, used.get(best)))
        used[best] = target
        plan.append((target, best))
    for _, leaf in plan:
        if leaf in scenario.formulas:
            scenario = as_input(scenario, leaf)
    return scenario, plan


def _over_determined(scenario: Scenario, target: str, leaf: str, other: str | None) -> str:
    """'wall_time = 30 day and max_iters = 1,000 are both given, but wall_time follows from
    max_iters: ...' (the givens that conflict, and what to do)."""
    given = f"{target} = {given_text(scenario, target)}"
    if other is not None:
        clash = f"{other} = {given_text(scenario, other)}"
        why = f"both follow from {leaf}, the input the solver would move for either"
    else:
        shown = _renamed(scenario, leaf)
        clash = f"{shown} = {given_text(scenario, shown)}"
        origin = scenario.origins.get(shown)
        if origin is not None and origin.source is Source.CONFIG:
            clash += f" ({origin})"
        why = f"{target} follows from {shown} and the rest of the scenario"
    others = [n for n in free_candidates(scenario, [target])
              if n != leaf and leaf not in upstream(scenario, n) and n not in upstream(scenario, leaf)]
    example = f" (e.g. --find {others[0]})" if others else ""
    return (f"over-determined: {given} and {clash} are both given, but {why}; drop one of them, or ask "
            f"for an input that may change instead with --find NAME{example}")


def _renamed(scenario: Scenario, leaf: str) -> str:
    """The user's own name for a rule that only renames a setting (nanoGPT's iters <- max_iters)."""
    if leaf in scenario.formulas and leaf not in scenario.values:
        for n in scenario.formulas[leaf].inputs:
            if fixed_by_user(scenario, n):
                return n
    return leaf


def given_text(scenario: Scenario, name: str) -> str:
    value = scenario.constraints.get(name, scenario.values.get(name))
    if value is None:
        return "(given)"
    if isinstance(value, str):
        return value
    return show(scenario, name, value)


def _refuse_label(scenario: Scenario, target: str) -> None:
    """A yes/no test (`fits`) or a label picked by conditions (`peak_moment`) is read, not met:
    no input moves it continuously, so no value of one is solved for."""
    f = scenario.formulas.get(target)
    if f is None:
        return
    if scenario.registry.quantities[target].kind == "bool" or _discrete(f.program):
        raise UserError(f"{target} is a label computed from other results, not a value to meet; give "
                        f"the inputs instead (or ask with --subject-to, e.g. 'mem_peak <= gpu_memory_usable')")


def _discrete(program: tuple) -> bool:
    """A piecewise choice among numbers (`1 if a >= b else 2`)."""
    if program[0] == "num":
        return True
    if program[0] != "piecewise":
        return False
    return all(_discrete(value) for value, _ in program[1])


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
        origins={**scenario.origins, name: Origin(Source.FREED_RULE)},
    )


def meet_constraints(scenario: Scenario, env: dict[str, float], result: Evaluation,
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
    reason = f"{target} = {show(scenario, target, value)}"
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
            f"{leaf} comes out as {show(scenario, leaf, root)}, above its maximum {q.maximum:g}, "
            f"to make {target} = {show(scenario, target, value)}: that is more than is possible",
            leaf,
            root,
        )
    achieved = fn(root)
    if q.kind != "integer" and not _close(achieved, value) and abs(achieved - value) > 1e-6 * abs(value):
        raise UserError(
            f"no value of {leaf} gives {target} = {show(scenario, target, value)}; the closest is "
            f"{leaf} = {show(scenario, leaf, root)} giving {show(scenario, target, achieved)}"
        )
    return Solved(name=leaf, value=root, reason=reason, method=method, expr=expr)


def _closed_form(scenario: Scenario, leaf: str, target: str):
    """The closed-form roots for `leaf`, cached by the equation system itself: the programs of
    every formula `target` is composed of (two scenarios share a cached inverse only when they
    compose the same equations)."""
    system = tuple((n, scenario.formulas[n].program) for n in sorted(needed(scenario, [target])))
    return _closed_form_of(system, leaf, target)


@functools.lru_cache(maxsize=256)
def _closed_form_of(system: tuple, leaf: str, target: str):
    from costmodel.expressions import compile_numeric, to_sympy

    numeric = {n: to_sympy(program) for n, program in system}
    if any(_piecewise(e) for e in numeric.values()):
        return None  # the composition would hold it too; composing max() of sums takes sympy seconds
    composed = symbol(target)
    for _ in range(len(numeric) + 1):
        names = {s.name for s in composed.free_symbols} & set(numeric)
        if not names:
            break
        composed = composed.xreplace({symbol(n): numeric[n] for n in names})
    solutions = _linear_or_quadratic(composed, symbol(leaf))
    return tuple((e, compile_numeric(e)) for e in solutions) if solutions else None


def _linear_or_quadratic(composed, u):
    """Roots of composed(u) = __given__ when the numerator is of degree 1 or 2 in u, else None.

    Read off the polynomial's coefficients (sympy.solve on the same equation takes seconds)."""
    import sympy as sp

    if u not in composed.free_symbols or _piecewise(composed):
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


def _piecewise(expr) -> bool:
    """Whether `expr` holds a function with no polynomial inverse (max, floor, a condition)."""
    import sympy as sp

    from costmodel.expressions import floordiv

    return expr.has(sp.floor, sp.ceiling, sp.Piecewise, sp.Min, sp.Max, sp.Mod, sp.Abs, floordiv)


def _bracketed_root(fn, value, start, q, scenario, leaf, target) -> float:
    """Bracket the root by doubling/halving from `start`, then bisect (monotone `fn` assumed). A target that
    rises and then falls (a throughput past its best micro-batch) is first searched the way it moves at
    `start`; if that side never reaches `value`, the other side is scanned for a crossing before giving up."""
    try:
        return _monotone_root(fn, value, start, q, scenario, leaf, target)
    except Unreachable:
        low_bound, x = _start(start, q)
        gx = fn(x) - value
        floor_value = max(low_bound, 1e-300)
        while x > floor_value:
            lower = max(x / 2, floor_value)
            g = fn(lower) - value
            if (g < 0) != (gx < 0):
                return _bisect(fn, value, lower, x, 1 if g < gx else -1)
            x, gx = lower, g
        raise


def _bisect(fn, value, lo, hi, direction) -> float:
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if (fn(mid) - value) * direction < 0:
            lo = mid
        else:
            hi = mid
        if hi - lo <= REL_TOL * hi:
            break
    return 0.5 * (lo + hi)


def _start(start, q) -> tuple[float, float]:
    """The leaf's lowest value and where the search for a root starts."""
    low_bound = 1.0 if q.kind == "integer" else (q.minimum or 0.0)
    return low_bound, max(float(start) if start else 1.0, low_bound if low_bound > 0 else 1e-12)


def _monotone_root(fn, value, start, q, scenario, leaf, target) -> float:
    low_bound, a = _start(start, q)
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
            raise Unreachable(
                f"{target} cannot reach {show(scenario, target, value)}: even {leaf} = "
                f"{units.format_number(hi)} gives {show(scenario, target, fn(hi))}"
            )
        if not up and (nxt < max(low_bound, 1e-300) or (q.kind == "integer" and nxt < 1)):
            floor_value = max(low_bound, 1.0 if q.kind == "integer" else 1e-300)
            raise Unreachable(
                f"{target} = {show(scenario, target, value)} is out of reach: even at {leaf} = "
                f"{units.format_number(floor_value)} it is {show(scenario, target, fn(floor_value))}"
            )
        g = fn(nxt) - value
        if up:
            lo, hi = hi, nxt
        else:
            lo, hi = nxt, lo
        if (g >= 0) == (direction > 0) if up else (g <= 0) == (direction > 0):
            break
    return _bisect(fn, value, lo, hi, direction)


def _round_feasible(fn, value, root, q, scenario, leaf, target) -> float:
    """The whole number nearest the root on the side where `target` does not exceed `value`."""
    lower, upper = math.floor(root + 1e-9), math.ceil(root - 1e-9)
    candidates = sorted({max(1, lower - 1), max(1, lower), max(1, upper), max(1, upper + 1)})
    ok = [n for n in candidates if fn(n) <= value * (1 + 1e-12)]
    if not ok:
        raise Unreachable(
            f"{target} = {show(scenario, target, value)} is out of reach: even {leaf} = "
            f"{candidates[0]} gives {show(scenario, target, fn(candidates[0]))}"
        )
    increasing = fn(candidates[-1]) >= fn(candidates[0])
    return float(max(ok) if increasing else min(ok))


def _valid_step(scenario: Scenario, env: dict, leaf: str, u: float, fn, value: float) -> float:
    """Step a whole-number answer on, in the direction that keeps the given value met, until the
    family's rules hold (nanochat's vocabulary must split over n_gpus: 5 GPUs -> 8)."""
    increasing = fn(u + 1) >= fn(u)
    step = -1.0 if increasing else 1.0
    moved = {id(c) for c in scenario.checks if any(leaf in upstream(scenario, n) for n in c.inputs)}
    for _ in range(100_000):
        trial = dict(env)
        trial[leaf] = u
        forward(scenario, trial)
        failed = [c for c in scenario.checks
                  if all(n in trial for n in c.inputs) and not bool(c.evaluate(trial))]
        if not failed:
            return u
        if not all(id(c) in moved for c in failed):  # a rule `leaf` does not reach: no step helps
            failed = [c for c in failed if id(c) not in moved]
            break
        u += step
        if u < 1:
            break
    raise UserError(f"no whole {leaf} meets the given value and the family's rules "
                    f"({failed[0].check.message})")
