"""Evaluating a scenario forward: every derived quantity computable from the given inputs.

Numbers are plain floats in each quantity's canonical unit inside; units come back at the edges
(`costmodel.api`). The inner loops call compiled closures, never `subs`/`evalf`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import attrs

from costmodel import units
from costmodel.errors import Unreachable, UserError
from costmodel.registry import CompiledFormula
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
            shown = ", ".join(f"{n}={show(scenario, n, env[n])}" for n in check.inputs)
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
            raise Unreachable(
                f"{name} comes out as {show(scenario, name, value)}, above its maximum "
                f"{q.maximum:g}: the inputs ask for more than is possible"
            )
        if q.minimum is not None and value < q.minimum - 1e-9 * max(1.0, abs(q.minimum)):
            inputs = ", ".join(f"{n}={show(scenario, n, env[n])}" for n in f.inputs if n in env)
            raise UserError(
                f"{name} comes out as {show(scenario, name, value)}, below its minimum "
                f"{q.minimum:g}, for {inputs}: these inputs are outside the formula's range"
            )


def show(scenario: Scenario, name: str, value: float) -> str:
    return units.format_quantity(value, scenario.unit(name))


def explain_missing(scenario: Scenario, target: str, missing: dict) -> None:
    """Raise the user's error for a target that could not be computed: which inputs it lacks."""
    registry = scenario.registry
    registry.quantity(target)
    if target in missing:
        names = ", ".join(missing[target])
        raise UserError(f"cannot compute {target}: no value for {names}; give it with --set NAME=VALUE")
    raise UserError(f"{target} is not computed for family {scenario.family.name} in this scenario")


# --- sweeps -------------------------------------------------------------------------------------


def sweep_numeric(scenario: Scenario, grid: dict[str, Sequence[float]]):
    """Evaluate every formula over the cartesian grid of numeric inputs, vectorised with numpy."""
    import numpy as np

    names = list(grid)
    mesh = np.meshgrid(*[np.asarray(grid[n], dtype=float) for n in names], indexing="ij")
    size = mesh[0].size if mesh else 1
    return evaluate_arrays(scenario, {name: arr.ravel() for name, arr in zip(names, mesh)}, size), size


def evaluate_arrays(scenario: Scenario, arrays: dict[str, Any], size: int) -> dict[str, Any]:
    """Every formula over points given as equal-length arrays of inputs (one point per index)."""
    import numpy as np

    env: dict[str, Any] = {k: v for k, v in numeric_inputs(scenario).items()}
    env.update(arrays)
    for f in order(scenario):
        if all(n in env for n in f.inputs):
            value = f.vector(env)
            env[f.target] = np.broadcast_to(np.asarray(value, dtype=float), (size,))
    return env
