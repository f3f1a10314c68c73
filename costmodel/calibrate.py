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
    # the run's settings the log states (a printed config), in the family's input names
    settings: dict[str, Any] = attrs.field(factory=dict)
    eval_interval: int | None = None  # steps between evaluations, when the log or the trainer tells


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
    settings: dict[str, Any] = attrs.field(factory=dict)
    eval_interval: int | None = None


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
    steps = []
    for step in best.steps:  # a step takes time: zero, negative or not a number is a broken line
        if math.isfinite(step.seconds) and step.seconds > 0:
            steps.append(step)
        else:
            problems.append((step.line, f"step time {step.seconds:g} s is not a positive duration; skipped"))
    for other in readings[1:]:
        if other.steps:
            problems.append((other.steps[0].line,
                             f"{len(other.steps)} step lines of the {other.format} format ignored"))
    return ParsedLog(format=best.format, steps=tuple(steps), problems=tuple(sorted(problems)),
                     header=dict(best.header), lines=len(lines), warmup=best.warmup, mfu_peak=best.mfu_peak,
                     settings=dict(best.settings), eval_interval=best.eval_interval)


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
        from costmodel import files

        text = files.read_text(log, "log", "log", errors="replace")
    from costmodel import api

    formats = api.registry(tuple(scenario.get("plugins") or ())).log_formats
    parsed = parse_log(text, list(formats.values()))
    if not parsed.steps:
        known = ", ".join(sorted(formats)) or "none registered"
        raise UserError(f"{log}: no step lines of a known log format ({known}) found ({parsed.lines} lines read)")
    notes: list[str] = []
    scenario = _with_log_settings(family, parsed.settings, scenario, notes)
    parsed = _possible_steps(parsed, family, scenario)
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
    values, units, more = _against_scenario(family, parsed, stats, used, first, dropped_eval, scenario)
    notes += more
    _refuse_impossible(log, values, notes)
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


def _possible_steps(parsed: ParsedLog, family: str, scenario: dict) -> ParsedLog:
    """The log without the step lines no GPU can run: a step shorter than the scenario's executed
    FLOPs at the card's whole peak (an HFU above 100 %) is reported by line and skipped, when most
    lines are longer. When most lines are that short, the scenario is not the logged run (its batch,
    GPU count, model or card): the lines stay, and calibrate refuses (`_refuse_impossible`)."""
    from costmodel import api
    from costmodel import units as u

    numbers = {}
    try:
        result = api.estimate(family, **scenario)
        numbers = {**result.input_numbers, **result.numbers}
    except UserError:
        pass  # the scenario's own error is raised where the scenario is evaluated
    need = ("tokens_per_iter", "flops_per_token", "n_gpus", "peak_flops")
    if any(not isinstance(numbers.get(n), float) or not numbers[n] > 0 for n in need):
        return parsed  # no card (or no FLOPs): no bound to hold the lines to
    executed = (numbers["flops_per_token"] + numbers.get("recompute_flops_per_token", 0.0)
                - numbers.get("frozen_flops_saved_per_token", 0.0)) * numbers["tokens_per_iter"]
    floor = executed / (numbers["n_gpus"] * numbers["peak_flops"])
    fast = [st for st in parsed.steps if st.seconds < floor]
    if not fast or not floor > 0 or 2 * len(fast) >= len(parsed.steps):
        return parsed
    shown = u.format_quantity(floor, "s")
    problems = list(parsed.problems) + [
        (st.line, f"step time {u.format_quantity(st.seconds, 's')} is shorter than {shown}, the step at the "
                  f"card's whole peak (HFU {100 * floor / st.seconds:.3g} %): not possible on this card; skipped")
        for st in fast]
    kept = tuple(st for st in parsed.steps if st.seconds >= floor)
    return attrs.evolve(parsed, steps=kept, problems=tuple(sorted(problems)))


def _with_log_settings(family: str, settings: dict, scenario: dict, notes: list[str]) -> dict:
    """The scenario with the run's settings as the log's header states them (a printed config).
    The log knows the run better than a preset or a config file; a value the user gave (`--set`)
    is kept, and a disagreement is named."""
    if not settings:
        return scenario
    from costmodel import api
    from costmodel import units as u
    from costmodel.scenario import Source

    base = api.scenario(family, **scenario)
    registry = base.registry
    try:  # the scenario's own values, inputs and results, to name only what the log changes
        current = {**(r := api.estimate(family, **scenario)).input_numbers, **r.numbers}
    except UserError:
        current = dict(base.values)
    values = dict(scenario.get("values") or {})
    taken = []
    for name, value in settings.items():
        if name not in registry.quantities:
            continue
        if base.origins.get(name) is not None and base.origins[name].source is Source.USER:
            ours, theirs = base.values.get(name), registry.parse_value(name, value, where="log")
            if ours != theirs:
                unit = registry.quantity(name).unit
                shown = u.format_quantity(ours, unit) if isinstance(ours, float) else ours
                notes.append(f"the log's header says {name} = {value}, but --set gives {shown}: keeping yours; "
                             "the measured MFU is that of your scenario")
            continue
        values[name] = value
        if current.get(name) != registry.parse_value(name, value, where="log"):
            taken.append(f"{name}={value}")
    if taken:
        notes.append("settings taken from the log: " + ", ".join(taken))
    return {**scenario, "values": values}


def _eval_each(parsed, stats, dropped_eval, first, get, notes) -> float | None:
    """Time of one evaluation: measured on the steps after an evaluation (the first step, which also
    compiles, left out), else estimated: 2 x eval_iters forward passes, a third of a micro-step each
    (the time plugin's eval_time formula, at the measured step time)."""
    later = [s.seconds for s in dropped_eval if s is not first]
    if later:
        return max(statistics.median(later) - stats.median, 0.0)
    if not first.after_eval:
        return None
    eval_iters, grad_accum = get("eval_iters", "1"), get("grad_accum", "1")
    if not eval_iters or not grad_accum:
        notes.append("the first step includes an evaluation of unknown length (no eval_iters in the log or the "
                      "scenario): its time counts as compilation")
        return None
    notes.append(f"one evaluation estimated as 2 x {eval_iters:g} forward passes of a third of a micro-step each "
                 "(no later evaluation in the log to measure)")
    return 2 * eval_iters * stats.median / (3 * grad_accum)


def _evals_between(parsed, first_step: int, last_step: int, get) -> int:
    """Evaluations at multiples of the interval after `first_step`, up to and including `last_step`."""
    interval = parsed.eval_interval or get("eval_interval", "iteration")
    if not interval or last_step <= first_step:
        return 0
    interval = int(round(interval))
    return last_step // interval - first_step // interval


def _count(x: float) -> str:
    """1,879,048,192 as a log prints it; 1.20796e+10 for a value that is not a whole number."""
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.6g}"


def _refuse_impossible(log, values: dict[str, float], notes: list[str]) -> None:
    """Refuse, in one line, a calibration whose typical logged step is shorter than the scenario's step
    at the card's whole peak (HFU above 100 %): no GPU runs that, so the scenario is not the logged
    run, and every figure set against it (MFU, time left) would be wrong. The line names the step
    times and what disagrees (the header notes), and what to give."""
    hfu = values.get("hfu")
    if hfu is None or not hfu > 1:
        return
    from costmodel import units as u

    median = values["iter_time"]
    floor = median * hfu  # the step at 100 % HFU: the scenario's executed FLOPs at the card's peak
    disagree = [n.split(":")[0] for n in notes if n.startswith(("the log's header says", "the log says"))]
    why = f" ({'; '.join(disagree)})" if disagree else ""
    raise UserError(
        f"{log}: the logged steps (median {u.format_quantity(median, 's')}) are shorter than this scenario's step "
        f"at the card's whole peak ({u.format_quantity(floor, 's')}, HFU {100 * hfu:,.0f} %): the scenario is not "
        f"the logged run{why}; give the run's batch (micro_batch, gradient accumulation, seq_len), GPU count, "
        "model and card (--preset, --config, --set, --hardware) and calibrate again"
    )


def _mfu_bound(mfu: float, notes: list[str]) -> bool:
    """Whether a measured MFU can be recommended: not above mfu's documented range; else the scenario
    probably does more work per step than the logged run, and the note says how. (A step faster than
    the card's whole peak is refused outright: `_refuse_impossible`.)"""
    from costmodel import api

    ceiling = api.registry().quantity("mfu").plausible[1]
    if mfu <= ceiling:
        return True
    notes.append(f"not recommending --set mfu={mfu:.3g}: that is above the {ceiling:.0%} any training run plausibly "
                 "reaches. The scenario does more work per step than the logged run: its batch (micro_batch x "
                 "grad_accum x seq_len), GPU count, model or card is not the run's (see the header notes); give the "
                 "run's settings and calibrate again")
    return False


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
    result = api.estimate(family, **scenario)

    def get(name: str, unit: str) -> float | None:
        try:
            return float(result[name].m_as(u.unit(unit)))
        except (KeyError, TypeError, AttributeError):
            return None

    eval_each = _eval_each(parsed, stats, dropped_eval, first, get, notes)
    if eval_each is not None:
        values["eval_time_each"] = eval_each
        units["eval_time_each"] = "s"
    if first.step == 0 or first.seconds > 2 * stats.median:
        # the first step's extra time is compilation, less the evaluation that ran inside it
        extra = first.seconds - stats.median - ((eval_each or 0.0) if first.after_eval else 0.0)
        values["compile_time"] = max(extra, 0.0)
        units["compile_time"] = "s"

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
            notes.append(f"the log says {name} = {_count(stated)}, the scenario {_count(ours)}: "
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
        if _mfu_bound(mfu, notes):
            values["mfu_recommended"] = mfu
            units["mfu_recommended"] = "1"
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
        evals = _evals_between(parsed, last.step, last_training_step, get) if eval_each else 0
        extra = evals * (eval_each or 0.0)
        values["iters_remaining"] = float(remaining)
        values["evals_remaining"] = float(evals)
        values["eta"] = remaining * stats.median + extra
        values["eta_p10"] = remaining * stats.p10 + extra
        values["eta_p90"] = remaining * stats.p90 + extra
        values["train_time"] = (last_training_step + 1) * stats.median
        units.update(iters_remaining="iteration", evals_remaining="1", eta="s", eta_p10="s", eta_p90="s",
                     train_time="s")
    return values, units, notes
