"""`costmodel sweep`: one scenario over a grid of inputs, as a table, CSV or JSON, and a plot."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from costmodel.cli.questions import EXTRA, Config, Family, Force, Hardware, Plugins, Preset, Sets

FORMATS = ("table", "csv", "json")
PLOT_SUFFIXES = (".png", ".svg", ".pdf")


def register(app: typer.Typer) -> None:
    app.command(context_settings=EXTRA)(sweep)


def sweep(
    ctx: typer.Context,
    family: Family,
    grid: Annotated[list[str], typer.Option(
        "--grid", help="NAME=v1,v2,... or a range: micro_batch=1..64 (every integer), "
                       "1..64*2 (doubling), 0.3..0.5:0.05 (step); repeat for more names")],
    target: Annotated[Optional[list[str]], typer.Option(
        "--target", "-t", help="a quantity to compute at each point (repeatable; default: every result)")] = None,
    format: Annotated[str, typer.Option("--format", "-f", help="table, csv or json")] = "table",
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="write the data to this file")] = None,
    plot: Annotated[Optional[Path], typer.Option(
        "--plot", help="draw one target over one grid name (a line) or two (a heat map): FILE.png or FILE.svg")] = None,
    preset: Preset = None,
    config: Config = None,
    set: Sets = None,
    hardware: Hardware = None,
    plugin: Plugins = None,
    force: Force = False,
) -> None:
    """Evaluate a scenario at every point of a grid of inputs; recipe options on the grid too.

    Numbers are in each quantity's canonical unit in csv and json; the table prints them readably.

    Example: costmodel sweep nanogpt -p gpt2 -H rtx-4070 --grid micro_batch=1..64*2 --grid checkpointing=none,full --target mem_peak

    Example: costmodel sweep nanogpt -p gpt2 -H rtx-4070 --grid micro_batch=1,2,4,8 --target iter_time --format csv -o sweep.csv --plot sweep.png
    """
    from costmodel import api
    from costmodel import sweep as sweeping
    from costmodel.cli.questions import scenario_kwargs
    from costmodel.errors import UserError, unknown

    if format not in FORMATS:
        raise unknown("format", format, FORMATS)
    from costmodel import files
    from costmodel.cli.questions import inputs

    targets = list(target or ())
    kwargs = scenario_kwargs(ctx, preset, config, set, hardware, plugin)
    read = inputs(kwargs)
    if plot is not None:
        _check_plot(plot, targets, grid)
        files.check_output(plot, force=force, inputs=read, option="--plot")
    if output is not None:
        files.check_output(output, force=force, inputs=read)
        if plot is not None and os.path.abspath(plot) == os.path.abspath(output):
            raise UserError("--output and --plot name the same file")
    parsed = sweeping.parse_grid(grid)
    rows = sweeping.sweep(family, parsed, targets=targets, **kwargs)
    reg = api.registry(kwargs["plugins"])
    names = list(parsed)
    columns = [c for c in rows[0] if c != "note"] if rows else names + targets
    header = {"family": family, "preset": preset,
              "hardware": _card_name(reg, hardware)}
    text = {"table": _table, "csv": _csv, "json": _json}[format](rows, columns, reg, header, names)
    if output is None:
        sys.stdout.write(text)
    else:
        files.write_text(output, text, force=force, inputs=read)
        sys.stderr.write(f"wrote {output}\n")
    if plot is not None:
        from costmodel import plots

        from costmodel.summary import scenario_label

        base = api.scenario(family, **kwargs)
        title = f"{targets[0]}: {scenario_label(base)}"
        usable = base.values.get("gpu_memory_usable")
        limit = ("gpu_memory_usable", usable) if usable and reg.quantities[targets[0]].unit == "byte" else None
        with files.replacing(plot, force=force, inputs=read, option="--plot") as temp:
            if len(names) == 1:
                plots.sweep_line(rows, names[0], targets[0], temp, registry=reg, title=title, limit=limit)
            else:
                plots.sweep_heatmap(rows, names[0], names[1], targets[0], temp, registry=reg, title=title,
                                    limit=limit)
        sys.stderr.write(f"wrote {plot}\n")
    bad = sum(1 for r in rows if r["note"])
    if bad:
        sys.stderr.write(f"note: {bad} of {len(rows)} points are not valid (see the note column)\n")


def _check_plot(plot: Path, targets: list[str], grid: list[str]) -> None:
    """Fail before computing anything when the plot cannot be drawn."""
    from costmodel import plots
    from costmodel.errors import UserError

    if plot.suffix.lower() not in PLOT_SUFFIXES:
        raise UserError(f"--plot {plot}: write FILE.png or FILE.svg (or .pdf)")
    if len(targets) != 1:
        raise UserError("--plot draws one --target; give exactly one")
    if len(grid) not in (1, 2):
        raise UserError("--plot draws one grid name (a line) or two (a heat map)")
    plots.require()


def _card_name(reg, hardware: str | None) -> str | None:
    if hardware is None:
        return None
    try:
        return reg.card(hardware).name
    except Exception:
        return str(hardware)


def _cell(value, unit: str, kind: str, on_grid: bool = False) -> str:
    """A table cell: grid integers as given (micro_batch 8), everything else readably (4.2 GiB)."""
    from costmodel import units

    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if kind == "integer" and (on_grid or unit in ("1", "")):
        return f"{int(value)}"
    return units.format_quantity(float(value), unit)


def _table(rows, columns, reg, header, names) -> str:
    q = reg.quantities
    cells = [[_cell(r[c], q[c].unit, q[c].kind, c in names) for c in columns] for r in rows]
    notes = any(r["note"] for r in rows)
    heads = list(columns)
    if notes:
        heads.append("note")
        for line, r in zip(cells, rows):
            line.append(r["note"])
    widths = [max([len(h)] + [len(line[i]) for line in cells]) for i, h in enumerate(heads)]
    numeric = [c in q and q[c].kind not in ("choice", "bool") for c in heads]

    def fmt(line):
        parts = [(text.rjust(w) if right else text.ljust(w)) for text, w, right in zip(line, widths, numeric)]
        return "  ".join(parts).rstrip()

    out = [fmt(heads), fmt(["-" * w for w in widths])] + [fmt(line) for line in cells]
    return "\n".join(out) + "\n"


def _csv_head(name: str, reg) -> str:
    from costmodel import units

    q = reg.quantities.get(name)
    if q is None or q.kind in ("choice", "bool"):
        return name
    unit = units.pretty_unit(q.unit)
    return f"{name} [{unit}]" if unit else name


def _plain(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value) if isinstance(value, float) else str(value)


def _csv(rows, columns, reg, header, names) -> str:
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([_csv_head(c, reg) for c in columns] + ["note"])
    whole = {c for c in columns if c in reg.quantities and reg.quantities[c].unit == "byte"}
    for r in rows:  # bytes are whole numbers
        writer.writerow([_plain(round(r[c]) if c in whole and isinstance(r[c], float) else r[c])
                         for c in columns] + [r["note"]])
    return buffer.getvalue()


def _json(rows, columns, reg, header, names) -> str:
    import json

    from costmodel import units

    q = reg.quantities
    document = {
        **header,
        "grid": {n: _unique([r[n] for r in rows]) for n in names},
        "targets": [c for c in columns if c not in names],
        "units": {c: units.pretty_unit(q[c].unit) for c in columns if q[c].kind not in ("choice", "bool")},
        "rows": rows,
    }
    return json.dumps(document, indent=2) + "\n"


def _unique(values):
    seen = []
    for v in values:
        if v not in seen:
            seen.append(v)
    return seen
