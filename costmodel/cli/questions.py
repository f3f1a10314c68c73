"""Commands that ask a question of a scenario: estimate, solve, explain."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

Family = Annotated[str, typer.Argument(help="model family, e.g. nanogpt or nanochat (see `costmodel families`)")]
Preset = Annotated[Optional[str], typer.Option("--preset", "-p", help="a preset of the family, e.g. gpt2 or d32")]
Config = Annotated[Optional[Path], typer.Option("--config", help="the family's own config file (parsed, never executed)")]
Sets = Annotated[Optional[list[str]], typer.Option("--set", "-s", help="NAME=VALUE, with or without a unit: micro_batch=16, wall_time='30 day'")]
Hardware = Annotated[Optional[str], typer.Option("--hardware", "-H", help="a card of `costmodel hardware`, or a TOML file")]
Plugins = Annotated[Optional[list[str]], typer.Option("--plugin", help="a local plugin: .py file, .toml family or folder")]
Json = Annotated[bool, typer.Option("--json", help="print one JSON object")]

EXTRA = {"allow_extra_args": True, "ignore_unknown_options": True}


def register(app: typer.Typer) -> None:
    app.command(context_settings=EXTRA)(estimate)
    app.command(context_settings=EXTRA)(solve)
    app.command(context_settings=EXTRA)(explain)


def parse_assignments(items: list[str] | None, option: str = "--set") -> dict[str, str]:
    """NAME=VALUE pairs; quotes around the value are removed."""
    from costmodel.errors import UserError

    out: dict[str, str] = {}
    for item in items or ():
        name, sep, value = item.partition("=")
        name, value = name.strip(), value.strip().strip("'\"")
        if not sep or not name or not value:
            raise UserError(f"{option} {item!r}: write NAME=VALUE")
        out[name] = value
    return out


def scenario_kwargs(ctx: typer.Context, preset, config, sets, hardware, plugins, given=None) -> dict:
    """The scenario part of every question; `--key=value` after --config go to the family."""
    from costmodel.errors import UserError

    extra = list(ctx.args)
    if extra and config is None:
        raise UserError(f"unexpected argument {extra[0]!r} (overrides like --key=value need --config)")
    values = parse_assignments(sets)
    values.update(parse_assignments(given, "--given"))
    return dict(
        preset=preset,
        config=str(config) if config else None,
        config_overrides=tuple(extra),
        hardware=hardware,
        values=values,
        plugins=tuple(plugins or ()),
    )


def estimate(
    ctx: typer.Context,
    family: Family,
    preset: Preset = None,
    config: Config = None,
    set: Sets = None,
    hardware: Hardware = None,
    plugin: Plugins = None,
    json_: Json = False,
    plot: Annotated[Optional[Path], typer.Option("--plot", help="write the memory breakdown with the card's limit (.png or .svg; needs matplotlib)")] = None,
) -> None:
    """Everything costmodel can compute for a scenario: parameters, FLOPs, tokens, memory, time, cost.

    Example: costmodel estimate nanogpt --preset gpt2 --hardware rtx-4070 --set micro_batch=16
    """
    from costmodel import api

    if plot is not None:
        from costmodel import plots

        plots.require()
    result = api.estimate(family, **scenario_kwargs(ctx, preset, config, set, hardware, plugin))
    show(result, json_)
    if plot is not None:
        label = (preset or family) + (f" on {result.hardware}" if result.hardware else "")
        plots.memory_breakdown({label: result}, str(plot))
        sys.stderr.write(f"wrote {plot}\n")


def solve(
    ctx: typer.Context,
    family: Family,
    find: Annotated[Optional[str], typer.Option("--find", help="the quantity to find")] = None,
    maximize: Annotated[Optional[str], typer.Option("--maximize", help="the quantity to make as large as possible")] = None,
    minimize: Annotated[Optional[str], typer.Option("--minimize", help="the quantity to make as small as possible")] = None,
    given: Annotated[Optional[list[str]], typer.Option("--given", "-g", help="NAME=VALUE that must hold, e.g. wall_time='30 day'")] = None,
    subject_to: Annotated[Optional[list[str]], typer.Option("--subject-to", help="'NAME <= NAME|VALUE' (or >=)")] = None,
    preset: Preset = None,
    config: Config = None,
    set: Sets = None,
    hardware: Hardware = None,
    plugin: Plugins = None,
    json_: Json = False,
    explain_: Annotated[bool, typer.Option("--explain", help="also print the derivation of the answer")] = False,
) -> None:
    """Answer a question in any direction: find an unknown, or the best value under constraints.

    Example: costmodel solve nanogpt --preset gpt2 -H rtx-4070 --find total_tokens --given wall_time='30 day'
    Example: costmodel solve nanogpt --preset gpt2 -H rtx-4070 --maximize micro_batch --subject-to 'mem_peak <= gpu_memory_usable'
    """
    from costmodel import api

    kwargs = scenario_kwargs(ctx, preset, config, set, hardware, plugin, given)
    result = api.solve(family, find=find, maximize=maximize, minimize=minimize,
                       subject_to=tuple(subject_to or ()), **kwargs)
    show(result, json_, focus=find or maximize or minimize)
    if explain_ and not json_:
        sys.stdout.write("\n" + result.explain(find or maximize or minimize))


def explain(
    ctx: typer.Context,
    family: Family,
    target: Annotated[str, typer.Option("--target", "-t", help="the quantity to derive")],
    format: Annotated[str, typer.Option("--format", "-f", help="text, md or html")] = "text",
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="write to this file")] = None,
    preset: Preset = None,
    config: Config = None,
    set: Sets = None,
    hardware: Hardware = None,
    plugin: Plugins = None,
) -> None:
    """The derivation of one quantity, step by step: formula, numbers, result, source.

    Example: costmodel explain nanogpt --preset gpt2 --target flops_per_token
    """
    from costmodel import api

    text = api.explain(family, target=target, format=format,
                       **scenario_kwargs(ctx, preset, config, set, hardware, plugin))
    if output is None:
        sys.stdout.write(text)
    else:
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            from costmodel.errors import UserError

            raise UserError(f"cannot write {output}: {exc.strerror}") from None
        sys.stderr.write(f"wrote {output}\n")


def show(result, as_json: bool, focus: str | None = None) -> None:
    """Print a result: a JSON object, or an aligned table of results then the inputs used."""
    if as_json:
        sys.stdout.write(json.dumps(result.to_dict(), indent=2) + "\n")
        return
    q = result.evaluation.scenario.registry.quantities
    title = result.family + (f" on {result.hardware}" if result.hardware else "")
    lines = [title, ""]
    if focus is not None:
        value = result.numbers.get(focus, result.input_numbers.get(focus))
        lines += [f"{focus} = {_fmt(value, q[focus].unit)}", ""]
    rows = [(n, v, q[n].doc) for n, v in result.numbers.items()]
    lines += ["results:"] + _table(rows, q)
    inputs = [(n, v, result.origins.get(n, "")) for n, v in result.input_numbers.items()]
    lines += ["", "inputs:"] + _table(inputs, q)
    sys.stdout.write("\n".join(lines) + "\n")
    for w in result.warnings:
        sys.stderr.write(f"note: {w}\n")


def _fmt(value, unit: str) -> str:
    from costmodel import units

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return units.format_quantity(float(value), unit)


def _table(rows, quantities) -> list[str]:
    if not rows:
        return ["  (none)"]
    out = [(name, _fmt(value, quantities[name].unit), note) for name, value, note in rows]
    w1 = max(len(r[0]) for r in out)
    w2 = max(len(r[1]) for r in out)
    return [f"  {n:<{w1}}  {t:>{w2}}  {note}".rstrip() for n, t, note in out]
