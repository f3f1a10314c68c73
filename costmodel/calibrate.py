"""Calibrate a scenario from a real training log: measured step time, true MFU, time left.

The engine knows no trainer: the families' plugins register the log formats they print
(`register_log_formats`, each a `LogFormat` whose `read` turns the log's lines into a `LogReading`:
the step lines, the lines that look like step lines but do not parse, the header lines that state
the run's size, the trainer's own warm-up and what its printed MFU is relative to). Every format
reads the log; the one that finds the most step lines wins (ties: by name), and the step lines of
the others are noted.

The statistics drop the warm-up (the format's rule, or `--warmup`) and the steps whose time includes
an evaluation. The true MFU divides the scenario's model FLOPs per step by the median step time and
by the peak of the named card; a printed MFU relative to a fixed peak is rebased to that card.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import attrs

from costmodel.errors import UserError

# header names a format may state, and the unit they are compared in
HEADER_UNITS = {"tokens_per_iter": "token/iteration", "n_params": "param", "n_params_reported": "param",
                "flops_per_token": "FLOP/token"}


@attrs.frozen(kw_only=True)
class Step:
    """One parsed step line."""

    line: int
    step: int
    seconds: float
    loss: float | None
    mfu_printed: float | None  # as printed, in percent (a value <= 0 means "not yet measured")
    total: int | None = None  # the number of steps of the run, when the line states it
    after_eval: bool = False  # an evaluation ran inside this step's time


@attrs.frozen(kw_only=True)
class LogReading:
    """What one log format found in a log."""

    format: str  # the name shown (a format may tell versions of its trainer apart)
    steps: tuple[Step, ...]
    problems: tuple[tuple[int, str], ...] = ()  # (line number, what is wrong)
    header: dict[str, float] = attrs.field(factory=dict)  # HEADER_UNITS names, as the log states them
    warmup: int = 0  # steps the trainer itself leaves out of its timing at the start
    mfu_peak: float | None = None  # FLOP/s per GPU the printed MFU is relative to, when fixed


@attrs.frozen(kw_only=True)
class LogFormat:
    """A trainer's log format, registered by a plugin through `register_log_formats`."""

    name: str
    doc: str
    source: str  # where the format is printed (upstream file@commit and lines)
    read: Callable[[Sequence[str]], LogReading]  # the log's lines (no line ends) -> what it found


@attrs.frozen(kw_only=True)
class ParsedLog:
    format: str
    steps: tuple[Step, ...]
    problems: tuple[tuple[int, str], ...]  # (line number, what is wrong)
    header: dict[str, float]  # tokens_per_iter, n_params, ... as the log states them
    lines: int
    warmup: int = 0
    mfu_peak: float | None = None


def number(text: str) -> float:
    """A number as logs print it ("1,879,048,192", "1.2e10"); ValueError if not finite."""
    value = float(text.replace(",", ""))
    if not math.isfinite(value):
        raise ValueError(text)
    return value


def loss(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def parse_log(text: str, formats: Sequence[LogFormat] | None = None) -> ParsedLog:
    """The log read by every format (default: every registered one); the best reading wins."""
    if formats is None:
        from costmodel import api

        formats = list(api.registry(()).log_formats.values())
    lines = [raw.rstrip("\r\n") for raw in text.splitlines()]
    readings = sorted((f.read(lines) for f in formats), key=lambda r: (-len(r.steps), r.format))
    if not readings:
        return ParsedLog(format="", steps=(), problems=(), header={}, lines=len(lines))
    best = readings[0]
    problems = list(best.problems)
    for other in readings[1:]:
        if other.steps:
            problems.append((other.steps[0].line,
                             f"{len(other.steps)} step lines of the {other.format} format ignored"))
    return ParsedLog(format=best.format, steps=best.steps, problems=tuple(sorted(problems)),
                     header=dict(best.header), lines=len(lines), warmup=best.warmup, mfu_peak=best.mfu_peak)


@attrs.frozen(kw_only=True)
class StepStats:
    count: int
    median: float
    mean: float
    stdev: float
    p10: float
    p90: float


def step_stats(seconds: Sequence[float]) -> StepStats:
    values = sorted(seconds)
    # "inclusive": linear interpolation between closest ranks (numpy's default 'linear' method)
    deciles = statistics.quantiles(values, n=10, method="inclusive") if len(values) > 1 else values * 9
    return StepStats(
        count=len(values),
        median=statistics.median(values),
        mean=statistics.fmean(values),
        stdev=statistics.stdev(values) if len(values) > 1 else 0.0,
        p10=deciles[0],
        p90=deciles[-1],
    )


@attrs.frozen(kw_only=True)
class Calibration:
    """What a log says about the run, and what that means on the named card."""

    log: ParsedLog
    warmup: int  # steps dropped from the start
    used: tuple[Step, ...]
    dropped_warmup: tuple[Step, ...]
    dropped_eval: tuple[Step, ...]
    stats: StepStats
    first_step: Step
    values: dict[str, float]  # results, canonical units (s, token/s, 1, iteration)
    units: dict[str, str]
    notes: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.log.format,
            "lines": self.log.lines,
            "steps_parsed": len(self.log.steps),
            "steps_used": len(self.used),
            "dropped_warmup": len(self.dropped_warmup),
            "dropped_after_eval": len(self.dropped_eval),
            "problems": [{"line": n, "message": m} for n, m in self.log.problems],
            "results": {k: {"value": v, "unit": self.units.get(k, "")} for k, v in self.values.items()},
            "notes": list(self.notes),
        }


def calibrate(family: str, log: str | Path, *, warmup: int | None = None, text: str | None = None,
              **scenario) -> Calibration:
    """Parse `log` (a path; or `text`) and set its step times against the scenario `family`/`scenario`.

    `scenario` takes the keyword arguments of `costmodel.api.estimate` (preset, config, hardware,
    values, plugins ...); the scenario should describe the logged run (batch sizes, GPUs, card).
    """
    if text is None:
        try:
            text = Path(log).read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise UserError(f"cannot read log {log}: {exc.strerror}") from None
    from costmodel import api

    formats = api.registry(tuple(scenario.get("plugins") or ())).log_formats
    parsed = parse_log(text, list(formats.values()))
    if not parsed.steps:
        known = ", ".join(sorted(formats)) or "none registered"
        raise UserError(f"{log}: no step lines of a known log format ({known}) found ({parsed.lines} lines read)")
    if warmup is None:
        warmup = parsed.warmup
    if warmup < 0:
        raise UserError("--warmup must be 0 or more")
    first = parsed.steps[0]
    dropped_warmup = tuple(s for s in parsed.steps if s.step < first.step + warmup)
    rest = [s for s in parsed.steps if s.step >= first.step + warmup]
    dropped_eval = tuple(s for s in rest if s.after_eval)
    used = tuple(s for s in rest if not s.after_eval)
    if not used:
        raise UserError(
            f"{log}: all {len(parsed.steps)} step lines are warm-up (the first {warmup} steps); "
            "give a longer log or a smaller --warmup"
        )
    stats = step_stats([s.seconds for s in used])
    values, units, notes = _against_scenario(family, parsed, stats, used, first, dropped_eval, scenario)
    return Calibration(
        log=parsed,
        warmup=warmup,
        used=used,
        dropped_warmup=dropped_warmup,
        dropped_eval=dropped_eval,
        stats=stats,
        first_step=first,
        values=values,
        units=units,
        notes=tuple(notes),
    )


def _against_scenario(family, parsed, stats, used, first, dropped_eval, scenario):
    from costmodel import api
    from costmodel import units as u

    values: dict[str, float] = {
        "iter_time": stats.median,
        "iter_time_mean": stats.mean,
        "iter_time_stdev": stats.stdev,
        "iter_time_p10": stats.p10,
        "iter_time_p90": stats.p90,
        "first_step_time": first.seconds,
        "last_step": float(parsed.steps[-1].step),
    }
    units = {k: "s/iteration" for k in ("iter_time", "iter_time_mean", "iter_time_stdev", "iter_time_p10",
                                        "iter_time_p90")}
    units.update(first_step_time="s", last_step="iteration")
    notes: list[str] = []
    if first.step == 0 or first.seconds > 2 * stats.median:
        values["compile_time"] = max(first.seconds - stats.median, 0.0)
        units["compile_time"] = "s"
    if dropped_eval:
        values["eval_time_each"] = max(statistics.median(s.seconds for s in dropped_eval) - stats.median, 0.0)
        units["eval_time_each"] = "s"

    result = api.estimate(family, **scenario)

    def get(name: str, unit: str) -> float | None:
        try:
            return float(result[name].m_as(u.unit(unit)))
        except KeyError:
            return None

    tokens = get("tokens_per_iter", "token/iteration")
    flops = get("flops_per_token", "FLOP/token")
    recompute = get("recompute_flops_per_token", "FLOP/token") or 0.0
    n_gpus = get("n_gpus", "1")
    peak = get("peak_flops", "FLOP/s")
    iters = get("iters", "iteration")
    predicted = get("iter_time", "s/iteration")
    for name, unit in HEADER_UNITS.items():
        stated = parsed.header.get(name)
        ours = get(name, unit)
        if stated is not None and ours is not None and abs(ours / stated - 1) > 0.01:
            notes.append(f"the log says {name} = {stated:,.6g}, the scenario {ours:,.6g}: "
                         "give the run's settings (--preset, --config, --set) so the two agree")
    if tokens is not None:
        values["tokens_per_second"] = tokens / stats.median
        units["tokens_per_second"] = "token/s"
    if tokens is not None and flops is not None and n_gpus and peak:
        mfu = flops * tokens / (n_gpus * peak * stats.median)
        values["mfu"] = mfu
        values["hfu"] = (flops + recompute) * tokens / (n_gpus * peak * stats.median)
        values["achieved_flops"] = mfu * peak
        values["peak_flops"] = peak
        units.update(mfu="1", hfu="1", achieved_flops="FLOP/s", peak_flops="FLOP/s")
        if values["hfu"] > 1:
            notes.append(f"an HFU of {values['hfu']:.0%} is above the card's peak: the scenario does more work "
                         "per step than the logged run (batch, GPU count, card or model differ)")
        log_peak = parsed.mfu_peak
        printed = [s.mfu_printed for s in used if s.mfu_printed is not None and s.mfu_printed > 0]
        if printed:
            values["mfu_printed"] = statistics.median(printed) / 100
            units["mfu_printed"] = "1"
            if log_peak is not None:
                rebased = values["mfu_printed"] * log_peak / peak
                values["mfu_printed_rebased"] = rebased
                units["mfu_printed_rebased"] = "1"
                if abs(rebased / mfu - 1) > 0.2:
                    notes.append(
                        f"the log's own MFU, rebased to this card, is {rebased:.1%} but the scenario gives "
                        f"{mfu:.1%}: the scenario's batch, GPU count or card may not be the run's"
                    )
    elif peak is None:
        notes.append("no card given: give --hardware for the true MFU")
    if predicted is not None:
        values["iter_time_predicted"] = predicted
        units["iter_time_predicted"] = "s/iteration"
        values["measured_over_predicted"] = stats.median / predicted
        units["measured_over_predicted"] = "1"
    last = parsed.steps[-1]
    total = last.total
    if total is not None:
        last_training_step = total - 1  # the log states the run's steps: 0 .. total-1
    elif iters is not None:
        last_training_step = int(round(iters)) - 1  # the scenario's steps: 0 .. iters-1
    else:
        last_training_step = None
    if last_training_step is not None:
        remaining = max(last_training_step - last.step, 0)
        values["iters_remaining"] = float(remaining)
        values["eta"] = remaining * stats.median
        values["eta_p10"] = remaining * stats.p10
        values["eta_p90"] = remaining * stats.p90
        values["train_time"] = (last_training_step + 1) * stats.median
        units.update(iters_remaining="iteration", eta="s", eta_p10="s", eta_p90="s", train_time="s")
    return values, units, notes
