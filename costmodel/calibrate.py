"""Calibrate a scenario from a real training log: measured step time, true MFU, time left.

Reads the step lines that nanoGPT's train.py and nanochat's scripts/base_train.py print:

    iter 120: loss 3.2190, time 143.07ms, mfu 31.52%                       (nanoGPT)
    step 00004/71680 (0.01%) | loss: 9.1 | lrm: 1.00 | dt: 1571.88ms | ...  (nanochat, every version)

and a few header lines that state the run's size (tokens per step, parameters, FLOPs per token), to
check them against the scenario. Lines that look like step lines but do not parse (cut off by a
crash, garbled) are reported by number and skipped; everything else in the log is ignored.

The statistics drop the warm-up (the first steps include torch.compile: nanoGPT itself waits 5
steps before its MFU, nanochat 10 before its timing) and, for nanoGPT, the steps that follow an
evaluation (their time includes it). The true MFU divides the scenario's model FLOPs per step by
the median step time and by the peak of the named card, not nanoGPT's fixed A100 312e12 or
nanochat v0's fixed H100 989e12.
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from costmodel.errors import UserError

# nanoGPT train.py@3adf61e154c3 L327 and L265; model.py L301 (MFU relative to 312e12)
_NANOGPT_ITER = re.compile(
    r"\biter (?P<step>\d+): loss (?P<loss>\S+), time (?P<ms>[0-9.]+)ms, mfu (?P<mfu>-?[0-9.]+)%\s*$"
)
_NANOGPT_ITER_START = re.compile(r"\biter \d+:")
_NANOGPT_EVAL = re.compile(r"\bstep (?P<step>\d+): train loss \S+, val loss \S+\s*$")
# nanochat scripts/base_train.py: v0 (3a5e0bc L293) ... head (92d63d4 L567): fields joined by " | "
_NANOCHAT_STEP_START = re.compile(r"\bstep (?P<step>\d+)/(?P<total>\d+) \((?P<pct>[0-9.]+)%\)")
_NANOCHAT_FIELD = re.compile(r"^\s*(?P<key>[a-z0-9_/ ]+?):\s*(?P<value>.*?)\s*$")

# header lines: nanoGPT train.py L102, model.py L148; nanochat base_train.py v0 L92-L106, head L255-L413
_HEADERS = [
    ("tokens_per_iter", re.compile(r"tokens per iteration will be: (?P<v>[0-9,]+)"), 1.0),
    ("tokens_per_iter", re.compile(r"Total batch size (?P<v>[0-9,]+) => gradient accumulation"), 1.0),
    ("n_params", re.compile(r"Number of parameters: (?P<v>[0-9,]+)"), 1.0),
    ("n_params_reported", re.compile(r"number of parameters: (?P<v>[0-9.]+)M"), 1e6),
    ("flops_per_token", re.compile(r"Estimated FLOPs per token: (?P<v>[0-9.eE+-]+)"), 1.0),
]

# what the MFU a log prints is relative to (FLOP/s per GPU), where it is fixed
_LOG_MFU_PEAK = {"nanogpt": 312e12, "nanochat-v0": 989e12}
_WARMUP = {"nanogpt": 5, "nanochat": 10}


@attrs.frozen(kw_only=True)
class Step:
    """One parsed step line."""

    line: int
    step: int
    seconds: float
    loss: float | None
    mfu_printed: float | None  # as printed, in percent (nanoGPT: -100 before its 5th step)
    total: int | None = None  # nanochat prints the number of iterations
    after_eval: bool = False  # nanoGPT: an evaluation ran inside this step's time


@attrs.frozen(kw_only=True)
class ParsedLog:
    format: str  # "nanogpt", "nanochat-v0" or "nanochat" (newer: bf16_mfu relative to its GPU table)
    steps: tuple[Step, ...]
    problems: tuple[tuple[int, str], ...]  # (line number, what is wrong)
    header: dict[str, float]  # tokens_per_iter, n_params, ... as the log states them
    lines: int


def _number(text: str) -> float:
    value = float(text.replace(",", ""))
    if not math.isfinite(value):
        raise ValueError(text)
    return value


def _loss(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _nanochat_step(line: str, start: re.Match) -> tuple[Step | None, str | None, str]:
    """A nanochat step line, or why it does not parse; and which MFU label it printed."""
    rest = line[start.end():]
    fields: dict[str, str] = {}
    for part in rest.split("|")[1:]:
        m = _NANOCHAT_FIELD.match(part)
        if m is None:
            if part.strip():
                return None, f"unreadable field {part.strip()[:30]!r}", ""
            continue
        fields[m.group("key").strip()] = m.group("value")
    if "total time" not in fields or not re.fullmatch(r"[0-9.]+m", fields["total time"]):
        return None, "cut off (no 'total time' at the end)", ""
    if "eta" in fields and not re.fullmatch(r"[0-9.]+m", fields["eta"]):
        return None, "cut off in 'eta'", ""
    dt = fields.get("dt", "")
    if not re.fullmatch(r"[0-9.]+ms", dt):
        return None, f"no step time (dt: {dt!r})", ""
    label = "bf16_mfu" if "bf16_mfu" in fields else "mfu"
    try:
        seconds = _number(dt[:-2]) / 1000
        mfu = _number(fields[label]) if label in fields else None
    except ValueError:
        return None, "a number does not parse", ""
    step = Step(
        line=0,
        step=int(start.group("step")),
        seconds=seconds,
        loss=_loss(fields.get("loss", "")),
        mfu_printed=mfu,
        total=int(start.group("total")),
    )
    return step, None, label


def parse_log(text: str) -> ParsedLog:
    """Every step line of a nanoGPT or nanochat log; problems noted by line number."""
    nanogpt: list[Step] = []
    nanochat: list[Step] = []
    problems: list[tuple[int, str]] = []
    header: dict[str, float] = {}
    labels: set[str] = set()
    pending_eval: int | None = None
    lines = text.splitlines()
    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r\n")
        if not line.strip():
            continue
        start = _NANOCHAT_STEP_START.search(line)
        if start is not None:
            step, problem, label = _nanochat_step(line, start)
            if step is None:
                problems.append((number, f"nanochat step line {problem}; skipped"))
            elif step.seconds <= 0:
                problems.append((number, "step time is 0; skipped"))
            else:
                nanochat.append(attrs.evolve(step, line=number))
                labels.add(label)
            continue
        m = _NANOGPT_EVAL.search(line)
        if m is not None:
            pending_eval = int(m.group("step"))
            continue
        if _NANOGPT_ITER_START.search(line):
            m = _NANOGPT_ITER.search(line)
            if m is None:
                problems.append((number, "nanoGPT iteration line cut off or garbled; skipped"))
                continue
            step_no = int(m.group("step"))
            seconds = float(m.group("ms")) / 1000
            if seconds <= 0:
                problems.append((number, "step time is 0; skipped"))
                continue
            nanogpt.append(
                Step(
                    line=number,
                    step=step_no,
                    seconds=seconds,
                    loss=_loss(m.group("loss")),
                    mfu_printed=float(m.group("mfu")),
                    after_eval=pending_eval == step_no,
                )
            )
            pending_eval = None
            continue
        for name, pattern, scale in _HEADERS:
            h = pattern.search(line)
            if h is not None:
                try:
                    header[name] = _number(h.group("v")) * scale
                except ValueError:
                    problems.append((number, f"header line for {name} does not parse; ignored"))
    if nanogpt and nanochat:
        keep_nanochat = len(nanochat) >= len(nanogpt)
        other = nanogpt if keep_nanochat else nanochat
        problems.append((other[0].line, f"{len(other)} step lines of the other trainer's format ignored"))
    if nanochat and (not nanogpt or len(nanochat) >= len(nanogpt)):
        fmt = "nanochat" if "bf16_mfu" in labels else "nanochat-v0"
        steps = nanochat
    else:
        fmt, steps = "nanogpt", nanogpt
    return ParsedLog(format=fmt, steps=tuple(steps), problems=tuple(problems), header=header, lines=len(lines))


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
    parsed = parse_log(text)
    if not parsed.steps:
        raise UserError(f"{log}: no nanoGPT or nanochat step lines found ({parsed.lines} lines read)")
    if warmup is None:
        warmup = _WARMUP["nanogpt" if parsed.format == "nanogpt" else "nanochat"]
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
    for name, unit in (("tokens_per_iter", "token/iteration"), ("n_params", "param"),
                       ("n_params_reported", "param"), ("flops_per_token", "FLOP/token")):
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
        log_peak = _LOG_MFU_PEAK.get(parsed.format)
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
        last_training_step = total - 1  # nanochat trains steps 0 .. num_iterations-1
    elif iters is not None:
        last_training_step = int(round(iters)) - 1  # nanoGPT: iterations 0 .. max_iters
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
