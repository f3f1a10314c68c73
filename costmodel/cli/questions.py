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
Json = Annotated[bool, typer.Option("--json", help="print one JSON object (every result; `answer` names the one asked for)")]
Gpus = Annotated[Optional[int], typer.Option("--gpus", help="data-parallel GPUs (also -H 8xh100-sxm); 1 unless a config or run preset says otherwise", min=1)]
Args = Annotated[Optional[str], typer.Option("--args", help="the family's own command-line flags as one string, e.g. '--depth=26 --device_batch_size=16'")]
Force = Annotated[bool, typer.Option("--force", help="replace an existing --output/--plot file")]

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


def inputs(kwargs: dict) -> list[str]:
    """The files a question reads (config, plugins, a card given as a path): never written over."""
    from costmodel import files

    return files.inputs_of(kwargs["config"], kwargs["plugins"], kwargs["hardware"])


def scenario_kwargs(ctx: typer.Context, preset, config, sets, hardware, plugins, given=None,
                    gpus=None, args=None) -> dict:
    """The scenario part of every question; other `--key=value` arguments are the family's own
    flags (nanoGPT's `--max_iters=6000`), read by its config reader."""
    from costmodel.errors import UserError

    extra = list(ctx.args)
    for word in extra:
        if not word.startswith("--") or "=" not in word:
            raise UserError(f"unexpected argument {word!r} (the family's own flags are written --key=value)")
    values = parse_assignments(sets)
    for name, value in parse_assignments(given, "--given").items():
        if name in values and values[name] != value:
            raise UserError(f"{name} is given twice: --set {name}={values[name]} and --given {name}={value}")
        values[name] = value
    return dict(
        preset=preset,
        config=str(config) if config else None,
        config_overrides=tuple(extra),
        hardware=hardware,
        values=values,
        plugins=tuple(plugins or ()),
        gpus=gpus,
        args=args,
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
    gpus: Gpus = None,
    args: Args = None,
    target: Annotated[Optional[list[str]], typer.Option("--target", "-t", help="print only this result (repeatable)")] = None,
    all_: Annotated[bool, typer.Option("--all", help="print every result and every input")] = False,
    plot: Annotated[Optional[Path], typer.Option("--plot", help="write the memory breakdown with the card's limit (.png or .svg; needs matplotlib)")] = None,
    force: Force = False,
) -> None:
    """What a training run needs: model, tokens and FLOPs, memory (fits?), time, energy and money.

    Example: costmodel estimate nanogpt --preset gpt2 --hardware rtx-4070 --set batch_size=16
    Example: costmodel estimate nanochat --preset d32 -H 8xh100-sxm --target wall_time
    """
    from costmodel import api

    from costmodel import files

    kwargs = scenario_kwargs(ctx, preset, config, set, hardware, plugin)
    if plot is not None:
        from costmodel import plots

        plots.require()
    kwargs = scenario_kwargs(ctx, preset, config, set, hardware, plugin, gpus=gpus, args=args)
    if plot is not None:
        files.check_output(plot, force=force, inputs=inputs(kwargs), option="--plot")
    registry = api.registry(kwargs["plugins"])
    for name in target or ():
        registry.quantity(name)  # a misspelled target is an error, not an empty answer
    result = api.estimate(family, **kwargs)
    show(result, json_, everything=all_, targets=target)
    if plot is not None:
        label = (preset or family) + (f" on {result.hardware}" if result.hardware else "")
        with files.replacing(plot, force=force, inputs=inputs(kwargs), option="--plot") as temp:
            plots.memory_breakdown({label: result}, temp, title=result.scenario_line)
        sys.stderr.write(f"wrote {plot}\n")


def solve(
    ctx: typer.Context,
    family: Family,
    find: Annotated[Optional[str], typer.Option("--find", help="the quantity to find")] = None,
    maximize: Annotated[Optional[str], typer.Option("--maximize", help="the quantity to make as large as possible")] = None,
    minimize: Annotated[Optional[str], typer.Option("--minimize", help="the quantity to make as small as possible")] = None,
    given: Annotated[Optional[list[str]], typer.Option("--given", "-g", help="NAME=VALUE that must hold, e.g. wall_time='30 day'")] = None,
    subject_to: Annotated[Optional[list[str]], typer.Option("--subject-to", help="'NAME <= NAME|VALUE' (or >=)")] = None,
    free: Annotated[Optional[list[str]], typer.Option("--free", help="recipe choices to search too: optimizer,checkpointing (numbers: micro_batch=1..64)")] = None,
    preset: Preset = None,
    config: Config = None,
    set: Sets = None,
    hardware: Hardware = None,
    plugin: Plugins = None,
    json_: Json = False,
    gpus: Gpus = None,
    args: Args = None,
    all_: Annotated[bool, typer.Option("--all", help="print every result and every input after the answer")] = False,
    explain_: Annotated[bool, typer.Option("--explain", help="also print the derivation of the answer")] = False,
) -> None:
    """Answer a question in any direction: find an unknown, or the best value under constraints.

    Example: costmodel solve nanogpt --preset gpt2 -H rtx-4070 --find total_tokens --given wall_time='30 day'
    Example: costmodel solve nanogpt --preset gpt2 -H rtx-4070 --maximize micro_batch --subject-to 'mem_peak <= gpu_memory_usable'
    Example: costmodel solve nanogpt --preset gpt2 -H rtx-4070 --maximize micro_batch --free optimizer,checkpointing --subject-to 'mem_peak <= gpu_memory_usable'
    """
    from costmodel import api

    kwargs = scenario_kwargs(ctx, preset, config, set, hardware, plugin, given, gpus=gpus, args=args)
    result = api.solve(family, find=find, maximize=maximize, minimize=minimize,
                       subject_to=tuple(subject_to or ()), free=tuple(free or ()), **kwargs)
    show(result, json_, focus=find or maximize or minimize, everything=all_)
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
    gpus: Gpus = None,
    args: Args = None,
    force: Force = False,
) -> None:
    """The derivation of one quantity, step by step: formula, numbers, result, source.

    Example: costmodel explain nanogpt --preset gpt2 --target flops_per_token
    """
    from costmodel import api

    from costmodel import files

    kwargs = scenario_kwargs(ctx, preset, config, set, hardware, plugin, gpus=gpus, args=args)
    if output is not None:
        files.check_output(output, force=force, inputs=inputs(kwargs))
    text = api.explain(family, target=target, format=format, **kwargs)
    if output is None:
        sys.stdout.write(text)
    else:
        files.write_text(output, text, force=force, inputs=inputs(kwargs))
        sys.stderr.write(f"wrote {output}\n")


def show(result, as_json: bool, focus: str | None = None, everything: bool = False,
         targets: list[str] | None = None) -> None:
    """Print a result: the scenario line, the memory verdict, the answer, then the summary by topic
    (`everything`: every result and input; `targets`: only those). JSON keeps every result."""
    if as_json:
        sys.stdout.write(json.dumps(result.to_dict(), indent=2) + "\n")
        _notes(result, verdict_too=True)
        return
    from costmodel import summary

    q = result.evaluation.scenario.registry.quantities
    numbers = summary.model_intervals({**result.input_numbers, **result.evaluation.env}, result.input_numbers)
    lines = [result.scenario_line]
    unit = lambda n: q[n].unit  # noqa: E731
    memory = summary.memory_line(numbers, unit)
    if memory:
        lines.append(memory)
    if focus is None:
        scenario = result.evaluation.scenario
        where = f"on {int(numbers.get('n_gpus', 1))}x {scenario.hardware.name}" if scenario.hardware else ""
        headline = summary.time_line(numbers, unit, where)
        if headline:
            lines.append(headline)
    lines.append("")
    if focus is not None:
        value = result.numbers.get(focus, result.input_numbers.get(focus))
        mark = "" if result.feasible else "  (INFEASIBLE: the step does not fit in memory)"
        givens = tuple(result.evaluation.scenario.constraints)
        shown = summary.answer_text(focus, numbers, unit, givens) if focus in numbers else _fmt(value, q[focus].unit)
        lines += [f"{focus} = {shown}{mark}", ""]
    if targets:
        rows = [_row(n, numbers, q[n].doc, q) for n in targets if n in numbers]
        lines += _table(rows, q)
    elif everything:
        rows = [_row(n, {**numbers, n: v}, q[n].doc, q) for n, v in result.numbers.items()]
        lines += ["results:"] + _table(rows, q)
        inputs = [(n, v, result.origins.get(n, "")) for n, v in result.input_numbers.items()]
        lines += ["", "inputs:"] + _table(inputs, q)
    else:
        code = summary.currency_of(result.evaluation.scenario.request.get("values", {}))
        for title, names in summary.summary_names(numbers):
            lines.append(f"{title}:")
            rows = []
            for n in names:
                doc = q[n].doc
                if code and q[n].unit == "USD":
                    doc = f"= {summary.in_currency(numbers[n], code)}; {doc}"
                rows.append(_row(n, numbers, doc, q))
            lines += _table(rows, q)
        lines += ["", "every result and input: --all; one result: --target NAME; "
                      "its derivation: costmodel explain ... --target NAME"]
    sys.stdout.write(lines[0] + "\n")
    sys.stdout.flush()
    _notes(result, verdict_too=not memory)  # the memory line on stdout already says it does not fit
    sys.stdout.write("\n".join(lines[1:]) + "\n")


def _row(name: str, numbers: dict, doc: str, quantities) -> tuple[str, object, str]:
    """A table row; a time or memory answer with an interval shows 3 digits and its interval first."""
    from costmodel import summary

    spread = summary.interval_text(name, numbers, lambda n: quantities[n].unit)
    if spread is None:
        return name, numbers[name], doc
    return name, _fmt(numbers[name], quantities[name].unit, 3), f"{spread}; {doc}"


def _notes(result, verdict_too: bool) -> None:
    """The warnings on stderr: 'warning:' for a scenario that does not fit, 'note:' for the rest."""
    for i, w in enumerate(result.warnings):
        verdict = i == 0 and not result.feasible  # the verdict comes first
        if verdict and not verdict_too:
            continue
        sys.stderr.write(f"{'warning' if verdict else 'note'}: {w}\n")
    sys.stderr.flush()


def _fmt(value, unit: str, digits: int = 4) -> str:
    from costmodel import units

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return units.format_quantity(float(value), unit, digits)


def _table(rows, quantities) -> list[str]:
    if not rows:
        return ["  (none)"]
    out = [(name, _fmt(value, quantities[name].unit), note) for name, value, note in rows]
    w1 = max(len(r[0]) for r in out)
    w2 = max(len(r[1]) for r in out)
    return [f"  {n:<{w1}}  {t:>{w2}}  {note}".rstrip() for n, t, note in out]
