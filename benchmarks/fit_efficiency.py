"""Fit the two free constants of the default efficiency model to the published runs.

    python3 benchmarks/fit_efficiency.py          # fit, print the constants and each run's error
    python3 benchmarks/fit_efficiency.py --loo    # and the leave-one-out errors

The model is costmodel's own (plugins/costmodel_time/efficiency.py): every prediction below is
`costmodel.api.estimate` of the run's scenario with trial constants given as `--set` values, so
what is fitted is exactly what users get. Objective: weighted least squares of log(predicted /
reported) over the runs with a fit weight (benchmarks/published_runs.py), solved by
Levenberg-Marquardt over the logarithms of the constants. The ceiling `hfu_ceiling` is not fitted:
it is the measured maximum achievable matmul efficiency (costmodel_time.efficiency). The result,
rounded to three significant digits, is what costmodel_time.efficiency.FIT ships; tests/test_time.py
checks that it is this objective's minimum.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from published_runs import RUNS, Run  # noqa: E402

NAMES = ("memory_traffic_coeff", "step_overhead")  # fitted
START = (3.0, 0.008)


def ceiling() -> float:
    from costmodel_time.efficiency import FIT

    return FIT["hfu_ceiling"]


def predict(run: Run, constants: Sequence[float] | None = None) -> float:
    """The run's compared quantity as costmodel predicts it (canonical unit)."""
    from costmodel import api, units

    extra = {"hfu_ceiling": ceiling(), **dict(zip(NAMES, constants))} if constants is not None else {}
    result = api.estimate(run.family, **run.scenario(extra))
    unit = api.registry(run.plugins).quantities[run.compare].unit
    return float(result[run.compare].m_as(units.unit(unit)))


def residuals(constants: Sequence[float], runs: Sequence[Run]) -> np.ndarray:
    return np.array([math.sqrt(r.fit_weight) * math.log(predict(r, constants) / r.reported) for r in runs])


def objective(constants: Sequence[float], runs: Sequence[Run]) -> float:
    return float(np.sum(residuals(constants, runs) ** 2))


def fit(runs: Sequence[Run], start: Sequence[float] = START) -> np.ndarray:
    """Levenberg-Marquardt over log(constants); returns the constants."""
    runs = [r for r in runs if r.fit_weight > 0]
    theta = np.log(np.asarray(start, dtype=float))
    res = residuals(np.exp(theta), runs)
    cost = float(res @ res)
    lam = 1e-2
    for _ in range(200):
        jac = np.empty((len(res), len(theta)))
        for j in range(len(theta)):
            step = np.zeros_like(theta)
            step[j] = 1e-5
            jac[:, j] = (residuals(np.exp(theta + step), runs) - res) / 1e-5
        a = jac.T @ jac
        g = jac.T @ res
        delta = np.linalg.solve(a + lam * np.diag(np.diag(a) + 1e-12), -g)
        trial = theta + delta
        trial_res = residuals(np.exp(trial), runs)
        trial_cost = float(trial_res @ trial_res)
        if trial_cost < cost:
            theta, res, lam = trial, trial_res, lam / 3
            done = cost - trial_cost < 1e-12 * max(cost, 1e-30) or np.max(np.abs(delta)) < 1e-8
            cost = trial_cost
            if done:
                break
        else:
            lam *= 4
            if lam > 1e12:
                break
    return np.exp(theta)


def rounded(constants: Sequence[float]) -> tuple[float, ...]:
    return tuple(float(f"{c:.3g}") for c in constants)


def leave_one_out(runs: Sequence[Run]) -> dict[str, float]:
    """For each fitted run: relative error of its prediction from a fit without it."""
    out = {}
    fitted = [r for r in runs if r.fit_weight > 0]
    for run in fitted:
        constants = fit([r for r in fitted if r is not run])
        out[run.key] = predict(run, constants) / run.reported - 1
    return out


def main(argv: list[str]) -> int:
    constants = rounded(fit(RUNS))
    print(f"fixed: hfu_ceiling {ceiling():g}")
    print("fitted constants (rounded):")
    for name, value in zip(NAMES, constants):
        print(f"  {name:22s} {value:g}")
    print(f"objective at the rounded constants: {objective(constants, [r for r in RUNS if r.fit_weight]):.5f}")
    loo = leave_one_out(RUNS) if "--loo" in argv else {}
    print(f"\n{'run':28s} {'weight':>6s} {'error':>8s} {'loo':>8s}")
    for run in RUNS:
        err = predict(run, constants) / run.reported - 1
        extra = f"{loo[run.key]:+8.1%}" if run.key in loo else ""
        print(f"{run.key:28s} {run.fit_weight:6.2f} {err:+8.1%} {extra}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
