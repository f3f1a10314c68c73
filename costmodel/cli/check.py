"""`costmodel check`: verdicts on claims about a scenario."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Optional

import typer

from costmodel.cli.questions import (
    EXTRA, Config, Family, Hardware, Json, Plugins, Preset, Sets, parse_assignments, scenario_kwargs,
)


def register(app: typer.Typer) -> None:
    app.command(context_settings=EXTRA)(check)


def check(
    ctx: typer.Context,
    family: Family,
    claim: Annotated[Optional[list[str]], typer.Option("--claim", "-c", help="NAME=VALUE someone claims, e.g. iter_time='100 ms'")] = None,
    preset: Preset = None,
    config: Config = None,
    set: Sets = None,
    hardware: Hardware = None,
    plugin: Plugins = None,
    json_: Json = False,
) -> None:
    """Check claims about a scenario: costmodel's value, the ratio, and a verdict with its reason
    (impossible, implausible or consistent).

    A value states its precision by its digits ("1.9e9" or "1.9B": 1.85e9 to 1.95e9); a range is
    written "2.5..4.5 s" or "2.5 to 4.5 s". Give a result of the scenario with --set (iter_time=2.5s)
    to check claims that are conditional on it; fits=1 claims the step fits in memory.

    Example: costmodel check nanogpt --preset gpt2 -H rtx-4070 --claim iter_time="100 ms" --claim model_flops=2.55e15
    """
    from costmodel.check import check as run_check
    from costmodel.check import interval_text

    kwargs = scenario_kwargs(ctx, preset, config, set, hardware, plugin)
    verdicts = run_check(family, _claims(claim or []), **kwargs)
    if json_:
        sys.stdout.write(json.dumps([v.to_dict() for v in verdicts], indent=2) + "\n")
        return
    from costmodel import units

    for v in verdicts:
        claimed = units.format_quantity(v.claimed, v.unit)
        if v.low is not None and v.low != v.high:
            claimed = f"{v.text} ({interval_text(v.low, v.high, v.unit)})"
        ours = units.format_quantity(v.value, v.unit)
        sys.stdout.write(f"{v.name}: claimed {claimed}, costmodel {ours}, ratio {v.ratio:.3g}\n"
                         f"  {v.verdict.upper()}: {v.reason}\n")


def _claims(items: list[str]) -> list[tuple[str, str]]:
    """NAME=VALUE texts as pairs (the same name may be claimed twice)."""
    return [next(iter(parse_assignments([item], "--claim").items())) for item in items]
