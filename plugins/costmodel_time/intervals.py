"""Error bars: the interval every time and memory answer carries, from how far costmodel was off on real runs.

costmodel's estimates are checked against published and field runs (docs/validation.md). For time,
each fitted run was predicted with the efficiency model refitted without it (leave-one-out); the
ratios measured / predicted of the runs in a regime (small models below 300 M parameters, large
ones above) say how far the truth lies from an estimate of that regime. The 80 % interval of an
estimate is the estimate times the 10th and 90th percentile of those ratios. Memory has only a few
field runs that report a peak, too few for percentiles (the 10th-90th percentile of 4 runs is
narrower than their own range, which covers a fifth run only 3 times in 5): its interval is the
80 % prediction interval of a further run, from the mean and standard deviation of the logarithms of
the ratios with Student's t (`prediction_band`), which widens as the runs get fewer.

    37.2 h, 80 % interval 31.0-45.1 h, from 14 runs

The formulas (`iter_time_low`, `wall_time_high`, `mem_peak_high`, ...) put the bounds into every
estimate; `memory_verdict` turns the peak and its interval into fits (2) / borderline (1) / does
not fit (0). The functions below are what `check`, `plan` and the renderers use:

    band_for(n_params)             the time interval of a model of that size (Band)
    memory_band()                  the memory interval (Band)
    memory_verdict(peak, usable)   "fits" / "borderline" / "does not fit"
    describe(value, band, fmt)     "37.2 h, 80 % interval 31.0-45.1 h, from 14 runs"
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence

import attrs

from costmodel.declarations import Formula
from costmodel_time import residuals

LEVEL = 0.8  # the central share of the runs an interval covers
SMALL_MODEL = 3e8  # parameters: below, the "small" regime
VERDICTS = {2: "fits", 1: "borderline", 0: "does not fit"}


@attrs.frozen
class Band:
    """measured / predicted at the interval's ends, and how many runs say so."""

    low: float
    high: float
    runs: int
    regime: str


def quantile(values: Sequence[float], q: float) -> float:
    """The q-quantile with linear interpolation between order statistics (numpy's default)."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no residuals")
    pos = q * (len(ordered) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def band(ratios: Sequence[float], regime: str, level: float = LEVEL) -> Band:
    tail = (1 - level) / 2
    return Band(low=quantile(ratios, tail), high=quantile(ratios, 1 - tail), runs=len(ratios), regime=regime)


# Student's t, one-sided 0.90 quantile (the two-sided 80 % critical value) by degrees of freedom; NIST/SEMATECH
# e-Handbook of Statistical Methods, table 1.3.6.7.2 (upper critical values of the t distribution)
T_90 = {1: 3.078, 2: 1.886, 3: 1.638, 4: 1.533, 5: 1.476, 6: 1.440, 7: 1.415, 8: 1.397, 9: 1.383, 10: 1.372,
        15: 1.341, 20: 1.325, 30: 1.310, 60: 1.296, 100: 1.290}
Z_90 = statistics.NormalDist().inv_cdf(0.9)  # the normal's 0.90 quantile (1.2816), the limit of many degrees of freedom


def t_90(df: int) -> float:
    """T_90 at df, the next tabulated df below it when df falls between rows (a slightly wider interval)."""
    if df < 1:
        raise ValueError("a prediction interval needs at least two runs")
    return T_90[max(k for k in T_90 if k <= df)] if df <= 100 else Z_90


def prediction_band(ratios: Sequence[float], regime: str) -> Band:
    """The 80 % prediction interval of one more run's ratio: log ratios normal, mean m and sample standard
    deviation s of n runs, m -/+ t(n - 1) s sqrt(1 + 1/n) (the interval of a new observation, not of the mean)."""
    n = len(ratios)
    logs = [math.log(r) for r in ratios]
    mean = statistics.fmean(logs)
    half = t_90(n - 1) * statistics.stdev(logs) * math.sqrt(1 + 1 / n)
    return Band(low=math.exp(mean - half), high=math.exp(mean + half), runs=n, regime=regime)


def _ratios(pairs) -> list[float]:
    return [ratio for _, ratio in pairs]


def time_band(regime: str) -> Band:
    return band(_ratios(residuals.TIME[regime]), regime)


def band_for(n_params: float) -> Band:
    """The time interval of an estimate for a model of n_params parameters."""
    return time_band("small" if n_params < SMALL_MODEL else "large")


def memory_band(pairs=None) -> Band:
    return prediction_band(_ratios(residuals.MEMORY if pairs is None else pairs), "memory")


def memory_verdict(peak: float, usable: float, mem: Band | None = None) -> str:
    """fits (even at the interval's high end) / borderline / does not fit (even at its low end)."""
    mem = mem or memory_band()
    if peak * max(mem.high, 1.0) <= usable:
        return "fits"
    if peak * min(mem.low, 1.0) > usable:
        return "does not fit"
    return "borderline"


def describe(value: float, b: Band, fmt: Callable[[float], str] = lambda x: f"{x:.3g}") -> str:
    """'37.2 h, 80 % interval 31.0-45.1 h, from 14 runs' (fmt formats a value with its unit)."""
    return f"{fmt(value)}, {LEVEL:.0%} interval {fmt(value * b.low)}-{fmt(value * b.high)}, from {b.runs} runs"


def _formulas() -> list[Formula]:
    small, large, mem = time_band("small"), time_band("large"), memory_band()
    source = ("leave-one-out errors of the validation runs (docs/validation.md; plugins/costmodel_time/residuals.py, "
              "generated by benchmarks/validation_table.py)")
    size = f"n_params < {SMALL_MODEL:g} * param"
    out = [
        Formula(target="time_interval_low", expr=f"{small.low:.4f} if {size} else {large.low:.4f}",
                doc=f"lower end of the {LEVEL:.0%} interval of a time, as a multiple of the estimate "
                f"({small.runs} small-model runs, {large.runs} large-model runs)", source=source),
        Formula(target="time_interval_high", expr=f"{small.high:.4f} if {size} else {large.high:.4f}",
                doc=f"upper end of the {LEVEL:.0%} interval of a time, as a multiple of the estimate", source=source),
        Formula(target="memory_interval_low", expr=f"{mem.low:.4f}",
                doc=f"lower end of the {LEVEL:.0%} interval of a memory peak, as a multiple of the estimate "
                f"({mem.runs} runs)", source=source),
        Formula(target="memory_interval_high", expr=f"{mem.high:.4f}",
                doc=f"upper end of the {LEVEL:.0%} interval of a memory peak, as a multiple of the estimate",
                source=source),
        Formula(target="time_interval_runs", expr=f"{small.runs} if {size} else {large.runs}",
                doc="how many validation runs the time interval comes from", source=source),
        Formula(target="memory_interval_runs", expr=f"{mem.runs}",
                doc="how many validation runs the memory interval comes from", source=source),
        Formula(target="mem_peak_low", expr="mem_peak * memory_interval_low",
                doc="lower end of the interval of mem_peak", source="definition"),
        Formula(target="mem_peak_high", expr="mem_peak * memory_interval_high",
                doc="upper end of the interval of mem_peak", source="definition"),
        Formula(target="memory_verdict",
                expr="2 if mem_peak * max(memory_interval_high, 1) <= gpu_memory_usable else "
                "(0 if mem_peak * min(memory_interval_low, 1) > gpu_memory_usable else 1)",
                doc="2 fits (even at the interval's high end), 1 borderline, 0 does not fit (even at its low end)",
                source="definition; the interval of mem_peak (costmodel_time.intervals, docs/validation.md \"Error bars\")"),
    ]
    for name, unit_doc in (("iter_time", "time of a step"), ("train_time", "time of the steps"),
                           ("wall_time", "time of the run"), ("gpu_hours", "GPU-hours, n_gpus x wall_time"),
                           ("energy", "energy, power x wall_time"), ("energy_cost", "energy x price"),
                           ("cloud_cost", "GPU-hours x price")):
        for end in ("low", "high"):
            out.append(Formula(target=f"{name}_{end}", expr=f"{name} * time_interval_{end}",
                               doc=f"{end}er end of the interval of {name} ({unit_doc}: in proportion to the "
                               "run's time)", source="definition"))
    return out


FORMULAS = _formulas()
