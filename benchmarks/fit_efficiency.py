"""Fit the free constants of the default efficiency model to the published and field runs.

    python3 benchmarks/fit_efficiency.py          # fit, print the constants and each run's error
    python3 benchmarks/fit_efficiency.py --loo    # and the leave-one-out errors

The model is costmodel's own (plugins/costmodel_time/efficiency.py): every prediction below is
`costmodel.api.estimate` of the run's scenario with trial constants given as `--set` values, so
what is fitted is exactly what users get. Objective: weighted least squares of log(predicted /
reported) over the runs with a fit weight (benchmarks/published_runs.py, benchmarks/field_runs.py),
solved by Levenberg-Marquardt over the logarithms of the constants (through `Pieces`, the
prediction recombined from what the constants do not move; equal to costmodel.api's, tests/test_time.py). Not fitted: the matmul ceiling
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
NAMES = ("activation_traffic", "logit_traffic", "l2_working_set", "layer_overhead", "eager_launch_factor",
         "era_factor")
START = (346.0, 41.7, 2.15, 0.00292, 5.96, 1.87)
UNITS = ("byte/token", "byte/token", "", "s", "", "")


def _values(run: Run, constants: Sequence[float]) -> dict[str, str]:
    """The trial constants as `--set` values for this run (compiled or eager traffic by its recipe)."""
    from costmodel_time.efficiency import EAGER_TRAFFIC_FACTOR

    c = dict(zip(NAMES, constants))
    values = run.scenario()["values"]
    compiled = bool(values.get("compile"))
    out = {
        "activation_traffic": f"{(1.0 if compiled else EAGER_TRAFFIC_FACTOR) * c['activation_traffic']} byte/token",
        "l2_working_set": c["l2_working_set"],
        "layer_overhead": f"{(1.0 if compiled else c['eager_launch_factor']) * c['layer_overhead']} s",
        "software_slowdown": c["era_factor"] if values.get("pytorch_2023") and compiled else 1.0,
    }
    if not values.get("fused_loss"):  # llm.c's fused classifier: counted, not fitted
        out["logit_traffic"] = f"{c['logit_traffic']} byte/token"
    return out


def predict(run: Run, constants: Sequence[float] | None = None) -> float:
    """The run's compared quantity as costmodel predicts it (canonical unit)."""
    from costmodel import api, units

    extra = _values(run, constants) if constants is not None else {}
    result = api.estimate(run.family, targets=[run.compare], **run.scenario(extra))
    unit = api.registry(run.plugins).quantities[run.compare].unit
    return float(result[run.compare].m_as(units.unit(unit)))


# What a run's prediction is made of, read once from costmodel.api at the shipped constants: everything the
# fitted constants do not move. `Pieces.predict` recombines them with trial constants by the efficiency
# model's formulas (plugins/costmodel_time/efficiency.py); tests/test_time.py checks that it equals
# `predict` (costmodel.api) for every run, at the shipped constants and at moved ones.
PIECE_TARGETS = ("matmul_time", "micro_step_tokens", "mem_bandwidth", "n_layer", "d_model", "vocab_size",
                 "n_head", "seq_len", "score_traffic", "fp8_traffic", "l2_cache", "traffic_element_bytes",
                 "dram_share", "activation_traffic", "logit_traffic", "memory_traffic", "layer_overhead",
                 "grad_accum", "optimizer_time", "step_overhead", "exposed_comm_time", "compute_time", "iters", "compile_time",
                 "eval_time", "checkpoint_time")


class Pieces:
    """One run's prediction as a function of the fitted constants, without going through costmodel.api."""

    def __init__(self, run: Run):
        from costmodel import api
        from costmodel_time.efficiency import FIT

        scenario = run.scenario()
        result = api.estimate(run.family, targets=list(PIECE_TARGETS), **scenario)
        v = {k: float(result[k].to_base_units().magnitude) for k in PIECE_TARGETS}
        values = scenario["values"]
        self.run = run
        self.compiled = bool(values.get("compile"))
        self.era = bool(values.get("pytorch_2023"))
        self.v = v
        # the activation traffic's multiple of the fitted constant (2 without compile); the logit traffic
        # is fitted unless counted (llm.c's fused classifier)
        self.activation_multiple = v["activation_traffic"] / FIT["activation_traffic"]
        self.logit_fitted = not values.get("fused_loss")  # as in _values
        tokens = v["micro_step_tokens"]
        self.ws_per_unit = tokens * v["d_model"] * v["traffic_element_bytes"]  # the L2 working set per l2_working_set
        score = v["score_traffic"] * v["n_layer"] * v["n_head"] * v["seq_len"]
        self.other_traffic = score + v["fp8_traffic"]
        bare = (v["activation_traffic"] * v["n_layer"] * v["d_model"] * v["dram_share"]
                + v["logit_traffic"] * v["vocab_size"] + self.other_traffic)
        self.traffic_multiple = v["memory_traffic"] / bare  # precision and recomputation
        self.eval_per_compute = v["eval_time"] / v["compute_time"]

    def predict(self, constants: Sequence[float]) -> float:
        c = dict(zip(NAMES, constants))
        v = self.v
        ws = self.ws_per_unit * c["l2_working_set"]
        dram = ws / (ws + v["l2_cache"]) if ws + v["l2_cache"] > 0 else 1.0
        logit = c["logit_traffic"] if self.logit_fitted else v["logit_traffic"]
        traffic = (self.activation_multiple * c["activation_traffic"] * v["n_layer"] * v["d_model"] * dram
                   + logit * v["vocab_size"] + self.other_traffic) * self.traffic_multiple
        memory = v["micro_step_tokens"] * traffic / v["mem_bandwidth"]
        slowdown = c["era_factor"] if self.era and self.compiled else 1.0
        launch = c["layer_overhead"] * (1.0 if self.compiled else c["eager_launch_factor"]) * v["n_layer"]
        gpu = v["matmul_time"] + memory * slowdown
        micro = math.sqrt(gpu**2 + launch**2) + v["step_overhead"]
        compute = v["grad_accum"] * micro + v["optimizer_time"]
        iter_time = compute + v["exposed_comm_time"]
        if self.run.compare == "iter_time":
            return iter_time
        train = v["iters"] * iter_time
        if self.run.compare == "train_time":
            return train
        return train + v["compile_time"] + v["checkpoint_time"] + self.eval_per_compute * compute


_PIECES: dict[str, Pieces] = {}


def pieces(run: Run) -> Pieces:
    if run.key not in _PIECES:
        _PIECES[run.key] = Pieces(run)
    return _PIECES[run.key]


def residuals(constants: Sequence[float], runs: Sequence[Run]) -> np.ndarray:
    return np.array([math.sqrt(r.fit_weight) * math.log(pieces(r).predict(constants) / r.reported) for r in runs])


def objective(constants: Sequence[float], runs: Sequence[Run]) -> float:
    return float(np.sum(residuals(constants, runs) ** 2))


def fit(runs: Sequence[Run], start: Sequence[float] = START, iterations: int = 300) -> np.ndarray:
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
            step[j] = 1e-6
            jac[:, j] = (residuals(np.exp(theta + step), runs) - res) / 1e-6
        a = jac.T @ jac
        g = jac.T @ res
        delta = np.linalg.solve(a + lam * np.diag(np.diag(a) + 1e-12), -g)
        trial = theta + delta
        trial_res = residuals(np.exp(trial), runs)
        trial_cost = float(trial_res @ trial_res)
        if trial_cost < cost:
            theta, res, lam = trial, trial_res, lam / 3
            done = cost - trial_cost < 1e-14 * max(cost, 1e-30) or np.max(np.abs(delta)) < 1e-9
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


def leave_one_out(runs: Sequence[Run], constants: Sequence[float] | None = None) -> dict[str, float]:
    """For each fitted run: relative error of its prediction from a full refit without it.

    Each refit is the same Levenberg-Marquardt fit as the shipped one, over the other runs, started from
    the shipped constants and run to convergence; the left-out run is then predicted with the refitted
    constants."""
    from costmodel_time.efficiency import FIT

    constants = constants if constants is not None else [FIT[name] for name in NAMES]
    fitted = [r for r in runs if r.fit_weight > 0]
    out = {}
    for i, run in enumerate(fitted):
        refit = fit(fitted[:i] + fitted[i + 1:], start=constants)
        out[run.key] = float(pieces(run).predict(refit) / run.reported - 1)
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
