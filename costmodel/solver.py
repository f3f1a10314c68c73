"""The solver: forward evaluation (`forward`), one unknown (`inverse`), optimisation (`optimise`).

`evaluate` meets any user-given derived quantities, then evaluates forward; the other names are
re-exported so that `costmodel.solver` stays the one entry point for callers.
"""

from __future__ import annotations

from collections.abc import Sequence

from costmodel.forward import (  # noqa: F401  (re-exported)
    MAX_VALUE, REL_TOL, Evaluation, Solved, evaluate_arrays, explain_missing, forward, needed,
    numeric_inputs, order, sweep_numeric, upstream, validate,
)
from costmodel.inverse import (  # noqa: F401  (re-exported)
    meet_constraints, as_input, free_candidates, plan_constraints, solve_for,
)
from costmodel.optimisation import Constraint, optimise, parse_constraint  # noqa: F401  (re-exported)
from costmodel.scenario import Scenario


def evaluate(scenario: Scenario, targets: Sequence[str] = ()) -> Evaluation:
    """Forward evaluation, after meeting any constraints (user-given derived quantities)."""
    plan = []
    if scenario.constraints:
        scenario, plan = plan_constraints(scenario)
    env = numeric_inputs(scenario)
    result = Evaluation(scenario=scenario, env=env, missing={})
    if plan:
        meet_constraints(scenario, env, result, plan)
    result.missing = forward(scenario, env)
    for t in targets:
        if t not in env:
            explain_missing(scenario, t, result.missing)
    validate(scenario, env)
    return result
