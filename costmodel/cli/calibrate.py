"""`costmodel calibrate`: measured step time, true MFU and time left, from a training log."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from costmodel.cli.questions import EXTRA, Config, Family, Hardware, Json, Plugins, Preset, Sets, scenario_kwargs

Log = Annotated[Path, typer.Option("--log", "-l", help="the training log, in a format a plugin registers (see `costmodel plugins`)")]
Warmup = Annotated[
    Optional[int],
    typer.Option("--warmup", help="steps to drop at the start (default: the log format's own warm-up)"),
]


def register(app: typer.Typer) -> None:
    app.command(context_settings=EXTRA)(calibrate)


def calibrate(
    ctx: typer.Context,
    family: Family,
    log: Log,
    warmup: Warmup = None,
    preset: Preset = None,
    config: Config = None,
    set: Sets = None,
    hardware: Hardware = None,
    plugin: Plugins = None,
    json_: Json = False,
) -> None:
    """Read a real training log: median step time, its spread, true MFU on the card, time left.

    Lines that look like step lines but are cut off or garbled are named on stderr and skipped.
    The scenario options describe the logged run; its true MFU is then measured, not estimated.

    Example: costmodel calibrate nanogpt --preset gpt2 -H rtx-4070 --set micro_batch=16 --log train.log
    Example: costmodel calibrate nanochat --preset d32 --set version=v0 -H h100-sxm --log base_train.log --json
    """
    from costmodel import calibrate as cal

    kwargs = scenario_kwargs(ctx, preset, config, set, hardware, plugin)
    result = cal.calibrate(family, log, warmup=warmup, **kwargs)
    for line, message in result.log.problems:
        sys.stderr.write(f"note: {log}:{line}: {message}\n")
    if json_:
        data = {"family": family, "hardware": hardware, "log": str(log), **result.to_dict()}
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
    else:
        sys.stdout.write(render(result, log))
    for note in result.notes:
        sys.stderr.write(f"note: {note}\n")


def render(result, log) -> str:
    """The text report: what was read, the step time, utilisation and what is left."""
    from costmodel import units

    v, u = result.values, result.units

    def show(name: str) -> str:
        return units.format_quantity(v[name], u[name])

    def pct(name: str) -> str:
        return f"{100 * v[name]:.1f} %"

    s = result.stats
    rows = [
        (f"step time (median of {s.count})", show("iter_time")),
        ("spread (10th-90th percentile)", f"{show('iter_time_p10')} .. {show('iter_time_p90')}"
         f" (mean {show('iter_time_mean')}, sd {show('iter_time_stdev')})"),
        ("first step", show("first_step_time")),
    ]
    if "compile_time" in v:
        label = "first - median - evaluation" if result.first_step.after_eval and "eval_time_each" in v else (
            "first - median")
        rows.append((f"compile warm-up ({label})", show("compile_time")))
    if "eval_time_each" in v:
        rows.append(("one evaluation", show("eval_time_each")))
    if "tokens_per_second" in v:
        rows.append(("throughput", show("tokens_per_second")))
    if "mfu" in v:
        rows.append(("true MFU on this card", f"{pct('mfu')} of {show('peak_flops')} per GPU (HFU {pct('hfu')})"))
    if "mfu_printed" in v:
        extra = f" = {pct('mfu_printed_rebased')} of this card's peak" if "mfu_printed_rebased" in v else ""
        rows.append(("MFU the log printed", pct("mfu_printed") + extra))
    if "iter_time_predicted" in v:
        rows.append(("costmodel's estimate", f"{show('iter_time_predicted')} "
                     f"(measured / estimate = {v['measured_over_predicted']:.2f})"))
    if "eta" in v:
        rows += [
            (f"steps left after step {int(v['last_step'])}", f"{int(v['iters_remaining']):,}"
             + (f" and {int(v['evals_remaining']):,} evaluations" if v.get("evals_remaining") else "")),
            ("time left", f"{show('eta')} ({show('eta_p10')} .. {show('eta_p90')})"),
            ("whole training at this pace", show("train_time")),
        ]
    width = max(len(label) for label, _ in rows)
    problems = len(result.log.problems)
    lines = [
        f"{log}: {result.log.format} log, {len(result.log.steps)} step lines "
        f"({len(result.dropped_warmup)} warm-up and {len(result.dropped_eval)} after an evaluation left out; "
        f"{problems} unreadable line{'' if problems == 1 else 's'} skipped)",
        "",
    ]
    lines += [f"  {label:<{width}}  {value}" for label, value in rows]
    if "mfu_recommended" in v:
        lines += ["", f"  to use it: --set mfu={v['mfu_recommended']:.4g}"]
    elif "mfu" in v:
        lines += ["", "  no --set mfu to recommend: the scenario is not the logged run (see the notes)"]
    return "\n".join(lines) + "\n"
