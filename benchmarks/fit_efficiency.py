"""Fit the free constants of the default efficiency model to the published and field runs.

    python3 benchmarks/fit_efficiency.py          # fit, print the constants and each run's error
    python3 benchmarks/fit_efficiency.py --loo    # and the leave-one-out errors

The model is costmodel's own (plugins/costmodel_time/efficiency.py): every prediction below is
`costmodel.api.estimate` of the run's scenario with trial constants given as `--set` values, so
what is fitted is exactly what users get. Objective: weighted least squares of log(predicted /
reported) over the runs with a fit weight (benchmarks/published_runs.py, benchmarks/field_runs.py),
solved by Levenberg-Marquardt over the logarithms of the constants. Not fitted: the matmul ceiling
`hfu_ceiling` (measured, per card where a measurement exists), the bytes of eager attention scores
and of the optimizer step (counted). The result, rounded to three significant digits, is what
costmodel_time.efficiency.FIT ships; tests/test_time.py checks that it is this objective's minimum.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from field_runs import TIME_RUNS  # noqa: E402
from published_runs import RUNS as PUBLISHED  # noqa: E402
from published_runs import Run  # noqa: E402

RUNS = PUBLISHED + TIME_RUNS  # every run with a time
# the fitted constants (keys of costmodel_time.efficiency.FIT) and where they start
NAMES = ("activation_traffic", "logit_traffic", "l2_working_set", "step_overhead", "layer_overhead",
         "eager_launch_factor", "era_factor")
START = (232.0, 34.9, 2.8, 0.00219, 0.0013, 5.32, 1.44)
UNITS = ("byte/token", "byte/token", "", "s", "s", "", "")


def _values(run: Run, constants: Sequence[float]) -> dict[str, str]:
    """The trial constants as `--set` values for this run (compiled or eager traffic by its recipe)."""
    from costmodel_time.efficiency import EAGER_TRAFFIC_FACTOR

    c = dict(zip(NAMES, constants))
    values = run.scenario()["values"]
    compiled = bool(values.get("compile"))
    out = {
        "activation_traffic": f"{(1.0 if compiled else EAGER_TRAFFIC_FACTOR) * c['activation_traffic']} byte/token",
        "logit_traffic": f"{c['logit_traffic']} byte/token",
        "l2_working_set": c["l2_working_set"],
        "layer_overhead": f"{(1.0 if compiled else c['eager_launch_factor']) * c['layer_overhead']} s",
        "software_slowdown": c["era_factor"] if values.get("pytorch_2023") else 1.0,
    }
    if values.get("python_loop", True):  # a native trainer (llm.c) has no per-micro-step Python overhead
        out["step_overhead"] = f"{c['step_overhead']} s"
    return out


def predict(run: Run, constants: Sequence[float] | None = None) -> float:
    """The run's compared quantity as costmodel predicts it (canonical unit)."""
    from costmodel import api, units

    extra = _values(run, constants) if constants is not None else {}
    result = api.estimate(run.family, targets=[run.compare], **run.scenario(extra))
    unit = api.registry(run.plugins).quantities[run.compare].unit
    return float(result[run.compare].m_as(units.unit(unit)))


def residuals(constants: Sequence[float], runs: Sequence[Run]) -> np.ndarray:
    return np.array([math.sqrt(r.fit_weight) * math.log(predict(r, constants) / r.reported) for r in runs])


def objective(constants: Sequence[float], runs: Sequence[Run]) -> float:
    return float(np.sum(residuals(constants, runs) ** 2))


def fit(runs: Sequence[Run], start: Sequence[float] = START, iterations: int = 200) -> np.ndarray:
    """Levenberg-Marquardt over log(constants); returns the constants."""
    runs = [r for r in runs if r.fit_weight > 0]
    theta = np.log(np.asarray(start, dtype=float))
    res = residuals(np.exp(theta), runs)
    cost = float(res @ res)
    lam = 1e-2
    for _ in range(iterations):
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


def _jacobian(theta: np.ndarray, runs: Sequence[Run]) -> tuple[np.ndarray, np.ndarray]:
    res = residuals(np.exp(theta), runs)
    jac = np.empty((len(res), len(theta)))
    for j in range(len(theta)):
        step = np.zeros_like(theta)
        step[j] = 1e-5
        jac[:, j] = (residuals(np.exp(theta + step), runs) - res) / 1e-5
    return res, jac


def leave_one_out(runs: Sequence[Run], constants: Sequence[float] | None = None) -> dict[str, float]:
    """For each fitted run: relative error of its prediction from a fit without it.

    The refit without a run is two Gauss-Newton steps from the full fit (`constants`, by default the
    shipped ones) over the other runs, with the Jacobian of the full fit: the standard approximate
    leave-one-out of a nonlinear least-squares fit, accurate when the fit is near its minimum and
    fast enough to regenerate docs/validation.md in seconds. The left-out run is then predicted
    through costmodel.api as always."""
    from costmodel_time.efficiency import FIT

    constants = constants if constants is not None else [FIT[name] for name in NAMES]
    fitted = [r for r in runs if r.fit_weight > 0]
    theta0 = np.log(np.asarray(constants, dtype=float))
    res0, jac = _jacobian(theta0, fitted)
    out = {}
    for i, run in enumerate(fitted):
        keep = np.arange(len(fitted)) != i
        a, theta = jac[keep], theta0.copy()
        res = res0[keep]
        for _ in range(2):
            delta = np.linalg.lstsq(a, -res, rcond=None)[0]
            theta = theta + delta
            res = residuals(np.exp(theta), [r for r, k in zip(fitted, keep) if k])
        out[run.key] = predict(run, np.exp(theta)) / run.reported - 1
    return out


def main(argv: list[str]) -> int:
    constants = rounded(fit(RUNS))
    print("fitted constants (rounded):")
    for name, value, unit in zip(NAMES, constants, UNITS):
        print(f"  {name:28s} {value:g} {unit}")
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
