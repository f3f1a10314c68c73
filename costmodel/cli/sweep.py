"""`costmodel sweep`: one scenario over a grid of inputs, as a table, CSV or JSON, and a plot."""

from __future__ import annotations

import itertools
import os
import sys
from pathlib import Path
from collections.abc import Iterator
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
    p = sweeping.plan(family, parsed, targets=targets, **kwargs)
    reg = api.registry(kwargs["plugins"])
    header = {"family": family, "preset": preset, "hardware": _card_name(reg, hardware)}
    kept: list[dict] = []  # the plotted columns only, when there is a plot
    chunks = _keeping(p, kept, [*p.names, *targets[:1], "note"]) if plot is not None else p.chunks()
    text = FORMATTERS[format](p, chunks, reg, header)
    if output is None:
        for piece in text:
            sys.stdout.write(piece)
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
        names = p.names
        with files.replacing(plot, force=force, inputs=read, option="--plot") as temp:
            if len(names) == 1:
                plots.sweep_line(kept, names[0], targets[0], temp, registry=reg, title=title, limit=limit)
            else:
                plots.sweep_heatmap(kept, names[0], names[1], targets[0], temp, registry=reg, title=title,
                                    limit=limit)
        sys.stderr.write(f"wrote {plot}\n")
    if p.invalid:
        sys.stderr.write(f"note: {p.invalid} of {p.size} points are not valid (see the note column)\n")


def _keeping(p, kept: list, columns: list[str]):
    """The plan's chunks, passed on, keeping the rows' `columns` for a plot."""
    from costmodel.sweep import rows_of

    for chunk in p.chunks():
        kept.extend(rows_of(chunk, columns))
        yield chunk


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


# Each formatter takes the plan and its chunks and yields text, a chunk at a time: a sweep of a
# million rows is written in bounded memory.


def _table(p, chunks, reg, header) -> Iterator[str]:
    """Aligned columns; widths come from the header and the first chunk (a later, wider cell
    widens only its own line)."""
    q = reg.quantities
    heads = [*p.names, *p.columns]
    numeric = [c in q and q[c].kind not in ("choice", "bool") for c in heads]
    widths = None
    for chunk in chunks:
        cells = [_cells(chunk[c], q[c].unit, q[c].kind, c in p.names) for c in heads]
        notes = chunk["note"]
        if widths is None:
            widths = [max([len(h)] + [len(t) for t in column]) for h, column in zip(heads, cells)]
            top = heads + (["note"] if any(notes) else [])
            yield _line(top, widths + [0], numeric + [False]) + "\n"
            yield _line(["-" * w for w in widths] + (["----"] if any(notes) else []),
                        widths + [0], numeric + [False]) + "\n"
        padded = [list(map(str.rjust if right else str.ljust, column, itertools.repeat(w, len(column))))
                  for column, w, right in zip(cells, widths, numeric)]
        lines = list(map("  ".join, zip(*padded)))
        if not (numeric[-1] and "" not in cells[-1]):  # only a left-aligned or empty last cell leaves spaces
            lines = [line.rstrip() for line in lines]
        if any(notes):
            lines = [f"{line}  {note}" if note else line for line, note in zip(lines, notes)]
        yield "\n".join(lines) + "\n"


def _line(texts: list[str], widths: list[int], right: list[bool]) -> str:
    parts = [(t.rjust(w) if r else t.ljust(w)) for t, w, r in zip(texts, widths, right)]
    return "  ".join(parts).rstrip()


def _cells(values: list, unit: str, kind: str, on_grid: bool) -> list[str]:
    """A column's cells: a column of numbers formatted at once (`costmodel.columns`), any other
    each distinct value once."""
    from costmodel import columns

    if kind not in ("choice", "bool"):
        whole = kind == "integer" and (on_grid or unit in ("1", ""))
        texts = columns.truncated(values) if whole else columns.quantities(values, unit)
        if texts is not None:
            return texts
    seen: dict = {}
    out = []
    for v in values:
        key = (type(v), v)
        text = seen.get(key)
        if text is None:
            text = seen[key] = _cell(v, unit, kind, on_grid)
        out.append(text)
    return out


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


def _plain_column(values: list) -> list[str]:
    """`_plain` over a column, fast for the common cases: every value a float, or an int."""
    kinds = set(map(type, values))
    if kinds == {float}:  # repr of a whole float < 1e16 ends in ".0"
        texts = list(map(repr, values))
        if any(t.endswith(".0") for t in texts):
            texts = [t[:-2] if t.endswith(".0") else t for t in texts]
        return texts
    if kinds == {int}:  # grid integers, whole bytes
        return list(map(str, values))
    if kinds == {str}:  # the notes
        return values
    return list(map(_plain, values))


def _csv(p, chunks, reg, header) -> Iterator[str]:
    import csv
    import io

    heads = [*p.names, *p.columns]
    whole = {c for c in heads if c in reg.quantities and reg.quantities[c].unit == "byte"}
    yield ",".join(_csv_head(c, reg) for c in heads) + ",note\n"
    for chunk in chunks:
        buffer = io.StringIO()
        columns = [_plain_column(_whole(chunk[c]) if c in whole else chunk[c]) for c in heads]
        csv.writer(buffer, lineterminator="\n").writerows(zip(*columns, chunk["note"]))
        yield buffer.getvalue()


def _whole(values: list) -> list:
    """Bytes are whole numbers."""
    from costmodel import columns

    rounded = columns.whole(values)
    if rounded is not None:
        return rounded
    return [round(v) if type(v) is float and v == v and abs(v) != float("inf") else v for v in values]


def _json_value(value) -> str:
    import json
    import math

    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    return json.dumps(value)


def _json_column(values: list) -> list[str]:
    """`_json_value` over a column, fast when every value is a finite float, an int or a text."""
    import math

    kinds = set(map(type, values))
    if kinds == {float} and all(map(math.isfinite, values)):
        return list(map(repr, values))
    if kinds == {int}:
        return list(map(str, values))
    if kinds == {str}:  # the notes: mostly "", each distinct text encoded once
        encoded = {v: _json_value(v) for v in set(values)}
        return list(map(encoded.__getitem__, values))
    return list(map(_json_value, values))


def _json(p, chunks, reg, header) -> Iterator[str]:
    """One JSON object: family, preset, hardware, grid, targets, units, then the rows, written as
    they are computed."""
    import json

    from costmodel import units

    q = reg.quantities
    heads = [*p.names, *p.columns, "note"]
    document = {
        **header,
        "grid": {n: p.shown[n] for n in p.names},
        "targets": list(p.columns),
        "units": {c: units.pretty_unit(q[c].unit) for c in heads[:-1] if q[c].kind not in ("choice", "bool")},
    }
    head = json.dumps(document, indent=2)
    yield head[:-2] + ',\n  "rows": ['
    keys = [json.dumps(h).replace("{", "{{").replace("}", "}}") for h in heads]
    template = "\n    {{" + ", ".join(f"{k}: {{}}" for k in keys) + "}}"
    separator = ""
    for chunk in chunks:
        columns = [_json_column(chunk[h]) for h in heads]
        yield separator + ",".join(map(template.format, *columns))
        separator = ","
    yield "\n  ]\n}\n"


FORMATTERS = {"table": _table, "csv": _csv, "json": _json}
