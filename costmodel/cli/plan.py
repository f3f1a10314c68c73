"""`costmodel plan`: the fastest or cheapest feasible way to reach a goal, over every recipe."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Optional

import typer

from costmodel.cli.questions import EXTRA, Config, Family, Json, Plugins, Preset, Sets, scenario_kwargs

Cards = Annotated[Optional[str], typer.Option("--hardware", "-H", help="card(s) to plan for: CARD[,CARD...] or all")]


def register(app: typer.Typer) -> None:
    app.command(context_settings=EXTRA)(plan)


def plan(
    ctx: typer.Context,
    family: Family,
    hardware: Cards = None,
    fit: Annotated[bool, typer.Option("--fit", help="the fastest recipe that fits (the default goal)")] = False,
    tokens: Annotated[Optional[str], typer.Option("--tokens", help="tokens to train, e.g. 11.2e9 (with --deadline: by then; "
                                                  "alone: the horizon, which fine-tuning needs)")] = None,
    deadline: Annotated[Optional[str], typer.Option("--deadline", help="time to train --tokens in, e.g. '24 h'")] = None,
    days: Annotated[Optional[float], typer.Option("--days", help="the most tokens in this many days")] = None,
    budget: Annotated[Optional[str], typer.Option("--budget", help="the most tokens for this price, e.g. '500 USD'")] = None,
    by: Annotated[str, typer.Option("--by", help="with --deadline: gpus (fewest GPUs) or cost (cheapest)")] = "gpus",
    finetune: Annotated[bool, typer.Option("--finetune", help="fine-tuning: also search LoRA / int8 / NF4 adapters")] = False,
    free_batch: Annotated[bool, typer.Option("--free-batch", help="let the tokens per optimizer step change")] = False,
    gpus: Annotated[Optional[str], typer.Option("--gpus", help="GPU counts to search, e.g. 8 or 1..64")] = None,
    price: Annotated[Optional[list[str]], typer.Option("--price", help="CARD=PRICE per GPU-hour, e.g. h100-sxm='2.5 USD/h'")] = None,
    top: Annotated[int, typer.Option("--top", help="rows of the ranked table")] = 10,
    preset: Preset = None,
    config: Config = None,
    set: Sets = None,
    plugin: Plugins = None,
    json_: Json = False,
    explain_: Annotated[bool, typer.Option("--explain", help="also print the chosen plan's derivation")] = False,
) -> None:
    """Search every recipe for the fastest (or cheapest) way to reach a goal on your card(s).

    Example: costmodel plan nanochat --preset d32 -H rtx-4070
    Example: costmodel plan nanochat --preset d20 -H all --tokens 11.2e9 --deadline '24 h' --by cost
    Example: costmodel plan nanogpt --preset gpt2 -H rtx-4070 --days 30
    """
    from costmodel import planner
    from costmodel.cli.questions import parse_assignments

    kwargs = scenario_kwargs(ctx, preset, config, set, None, plugin)
    for name in ("hardware", "gpus", "args"):  # the cards and GPU counts are searched here
        kwargs.pop(name, None)
    goal = _goal(family, kwargs, fit, tokens, deadline, days, budget, by)
    result = planner.plan(
        family, hardware=hardware, goal=goal, finetune=finetune, free_batch=free_batch,
        gpus=_counts(gpus), prices=parse_assignments(price, "--price"), **kwargs,
    )
    if json_:
        sys.stdout.write(json.dumps(result.to_dict(), indent=2) + "\n")
        return
    sys.stdout.write(render(result, top) + "\n")
    if explain_ and result.best is not None:
        sys.stdout.write("\n" + result.explain())
    stats = result.found
    sys.stderr.write(f"note: searched {stats.candidates:,} candidates ({stats.evaluated:,} evaluated in full, "
                     f"the rest pruned; {stats.feasible:,} feasible) in {stats.seconds:.2f} s\n")
    for note in result.notes:
        sys.stderr.write(f"note: {note}\n")


def render(result, top: int = 10) -> str:
    """The answer line, the ranked front, the cards compared, and why the rest fails."""
    lines = [result.summary()]
    if result.front:
        goal, cost = result.goal, "cost" if result.priced else "GPU-hours"
        ranked = {"fit": "time", "days": "tokens", "budget": "tokens"}.get(goal.kind) or (
            "GPUs, then time" if goal.by == "gpus" else cost)
        what = "tokens" if goal.kind in ("days", "budget") else "time"
        lines += ["", f"best plans, ranked by {ranked} ({result.mode}); no other plan is better in {what}, "
                      f"peak memory and {cost} at once:"]
        lines += ["  " + row for row in result.table()[: top + 1]]
    if len(result.cards) > 1:
        lines += ["", "cards compared (each card's best plan):"]
        lines += ["  " + row for row in planner_table(result)]
    lines += [""] + [f"caveat: {c}" for c in result.caveats] if result.caveats else []
    if result.rejected:
        lines += ["", "rejected:"]
        lines += [f"  {r['line']}" for r in result.rejected]
    return "\n".join(lines)


def planner_table(result) -> list[str]:
    from costmodel.plan_text import table

    rows = table(result, result.by_card)
    names = {p.choices.get("hardware") for p in result.by_card}
    missing = [c for c in result.cards if c not in names]
    return rows + [f"{c}: no plan reaches the goal" for c in missing]


def _goal(family, kwargs, fit, tokens, deadline, days, budget, by):
    from costmodel import api
    from costmodel.errors import UserError
    from costmodel.plan_text import DAY
    from costmodel.planner import Goal

    reg = api.registry(kwargs.get("plugins", ()))
    asked = [name for name, given in (("--tokens --deadline", deadline), ("--days", days is not None),
                                      ("--budget", budget)) if given]
    if fit and asked:
        asked.insert(0, "--fit")
    if len(asked) > 1:
        raise UserError(f"give one goal: {asked[0]} or {asked[1]}")
    if tokens and (days is not None or budget):
        raise UserError("--tokens sets the tokens of --fit or --deadline; --days and --budget find them")
    if by not in ("gpus", "cost"):
        raise UserError(f"--by {by!r}: use gpus or cost")
    count = None if tokens is None else reg.parse_value("total_tokens", tokens, where="--tokens")
    if count is not None and not count > 0:
        raise UserError(f"--tokens {tokens}: must be above 0")
    if deadline:
        if not tokens:
            raise UserError("--deadline needs --tokens: the tokens to train by then")
        return Goal(kind="deadline", tokens=count,
                    deadline=reg.parse_value("wall_time", deadline, where="--deadline"), by=by)
    if by != "gpus":
        raise UserError("--by goes with --tokens and --deadline")
    if days is not None:
        if not days > 0:
            raise UserError("--days must be above 0")
        return Goal(kind="days", days=days * DAY)
    if budget:
        return Goal(kind="budget", budget=reg.parse_value("cloud_cost", budget, where="--budget"))
    return Goal(kind="fit", tokens=count)


def _counts(text: str | None) -> list[int] | None:
    from costmodel.errors import UserError
    from costmodel.sweep import expand_range

    if text is None:
        return None
    out = []
    for part in text.split(","):
        for v in expand_range(part.strip(), "--gpus"):
            try:
                n = float(v)
            except ValueError:
                raise UserError(f"--gpus {text!r}: write N, N,M or A..B") from None
            if n < 1 or not n.is_integer():
                raise UserError(f"--gpus {text!r}: GPU counts are whole numbers from 1")
            out.append(int(n))
    return out
