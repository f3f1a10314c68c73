"""Plots of results: memory per recipe, time and cost across hardware, sweeps as lines and heat maps.

matplotlib is an optional extra (`pip install 'costmodel[plot]'`); it is imported only inside the
functions that draw, and without it they raise a one-line `UserError` saying how to install it.
Figures are drawn with `matplotlib.figure.Figure` (no pyplot, no window, no global state); each
function returns its Figure and, given a path, saves it there (the suffix chooses .png, .svg or
.pdf; SVG text stays text).

    >>> from costmodel import plots
    >>> results = plots.memory_by_recipe("nanogpt", [{"checkpointing": "none"}, {"checkpointing": "full"}],
    ...                                  preset="gpt2", hardware="rtx-4070")
    >>> plots.memory_breakdown(results, "memory.png")
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from costmodel.errors import UserError

INSTALL = "pip install 'costmodel[plot]'"

# What a plot shows is quantity metadata (`Quantity.groups`), never a list of names here.
MEMORY_PARTS = "memory part"  # the slices of the memory bars, in declaration order
MEMORY_LIMIT = "memory limit"  # the line over them (the first of the group the results have)
PEAK = "mem_peak"  # the vocabulary's peak: what the memory bar adds up to
AT_PEAK = "other at the peak"  # the part of mem_peak the listed parts leave out (temporaries)
TIME_AND_COST = "time and cost"  # one panel each across cards

# colour-blind friendly (Okabe-Ito), one per memory part in order, then repeating
_PALETTE = ("#0072B2", "#56B4E9", "#009E73", "#E69F00", "#D55E00", "#999999", "#CC79A7", "#F0E442")


def require():
    """matplotlib's Figure class, or a one-line error naming the extra to install."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise UserError(f"plots need matplotlib: {INSTALL}") from None
    return Figure


# --- data from the API ---------------------------------------------------------------------------


def memory_by_recipe(family: str, recipes: Sequence[Mapping[str, Any]] | Mapping[str, Mapping[str, Any]],
                     **kwargs) -> dict[str, Any]:
    """`costmodel.api.estimate` once per recipe; `recipes` is a list of option sets, or label -> options.

    Each option set is added to `values` (e.g. `{"checkpointing": "full", "precision": "bf16"}`).
    Returns label -> Result, ready for `memory_breakdown`.
    """
    from costmodel import api

    if not isinstance(recipes, Mapping):
        recipes = {_label(options): options for options in recipes}
    base = dict(kwargs.pop("values", None) or {})
    return {label: api.estimate(family, values={**base, **options}, **kwargs)
            for label, options in recipes.items()}


def across_hardware(family: str, cards: Sequence[str], **kwargs) -> dict[str, Any]:
    """`costmodel.api.estimate` once per card; returns card name -> Result (for `time_and_cost`)."""
    from costmodel import api

    out = {}
    for card in cards:
        result = api.estimate(family, hardware=card, **kwargs)
        out[result.hardware or card] = result
    return out


def _label(options: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={_text(v)}" for k, v in options.items()) or "defaults"


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _registry(results: Mapping[str, Any]):
    return next(iter(results.values())).evaluation.scenario.registry


def _value(result, name: str) -> float | None:
    """A number of a Result in its canonical unit: a result, an input, or a scenario value."""
    env = result.evaluation.env
    if name in env:
        return float(env[name])
    value = result.evaluation.scenario.values.get(name)
    if value is None or isinstance(value, str):
        return None
    return float(value)


# --- display units ------------------------------------------------------------------------------


def display_unit(unit: str, values: Sequence[float]) -> tuple[float, str]:
    """A readable unit for numbers in `unit`: (divide by this, label). Bytes show in GiB."""
    finite = [abs(v) for v in values if v is not None and math.isfinite(v)]
    top = max(finite) if finite else 0.0
    head, _, tail = unit.partition("/")
    rest = f"/{tail}" if tail else ""
    if head in ("byte", "B"):
        return 2.0**30, "GiB" + rest
    if unit == "s":
        for scale, name in ((86400.0, "day"), (3600.0, "h"), (60.0, "min")):
            if top >= 2 * scale:
                return scale, name
        return 1.0, "s"
    if head in ("FLOP", "W", "token", "param"):
        for scale, prefix in ((1e18, "E"), (1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
            if top >= scale:
                return scale, f"{prefix}{head}{rest}"
    return 1.0, "" if unit in ("1", "") else unit


def _axis_label(name: str, unit: str) -> str:
    return f"{name} [{unit}]" if unit else name


def _save(fig, path):
    """Save `fig` to `path` (if any) and return it."""
    if path is None:
        return fig
    import matplotlib

    path = Path(path)
    if path.suffix.lower() not in (".png", ".svg", ".pdf"):
        raise UserError(f"{path}: write a .png, .svg or .pdf file")
    try:
        with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "costmodel"}):
            fig.savefig(path, dpi=120, bbox_inches="tight")
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror}") from None
    return fig


# --- memory per recipe --------------------------------------------------------------------------


def memory_breakdown(results: Mapping[str, Any], path=None, *, title: str | None = None,
                     limit: float | None = None):
    """Stacked bars of the memory parts per recipe, with the card's usable memory as a line.

    `results` maps a label to a `costmodel.api.Result`; parts a result lacks count as 0 (a part no
    result has is left out of the legend). `limit` (bytes) defaults to the results' own
    `gpu_memory_usable`.
    """
    Figure = require()
    if not results:
        raise UserError("nothing to plot: no results")
    labels = list(results)
    registry = _registry(results)
    every_part = registry.group(MEMORY_PARTS)
    colours = dict(zip(every_part, _PALETTE * (1 + len(every_part) // len(_PALETTE))))
    parts = [p for p in every_part if any(_value(r, p) is not None for r in results.values())]
    if not parts:
        raise UserError("no memory parts to plot: " + (", ".join(every_part) or "none declared")
                        + " are not computed")
    data = {p: [(_value(results[k], p) or 0.0) for k in labels] for p in parts}
    peaks = [_value(results[k], PEAK) for k in labels]
    if all(v is not None for v in peaks):  # the bar is the peak: what the parts leave out is shown
        rest = [peak - sum(data[p][i] for p in parts) for i, peak in enumerate(peaks)]
        if any(r > 0 for r in rest):
            parts.append(AT_PEAK)
            data[AT_PEAK] = [max(r, 0.0) for r in rest]
            colours[AT_PEAK] = "#BBBBBB"
    limit_name = next((n for n in registry.group(MEMORY_LIMIT)
                       if any(_value(r, n) is not None for r in results.values())), None)
    if limit is None and limit_name is not None:
        limits = {_value(r, limit_name) for r in results.values()} - {None}
        limit = min(limits) if limits else None
    scale, unit = 2.0**30, "GiB"

    fig = Figure(figsize=(max(5.0, 1.3 * len(labels) + 3.0), 4.8))
    ax = fig.subplots()
    bottom = [0.0] * len(labels)
    x = list(range(len(labels)))
    for p in parts:
        heights = [v / scale for v in data[p]]
        ax.bar(x, heights, bottom=bottom, label=p, color=colours[p], width=0.6)
        bottom = [b + h for b, h in zip(bottom, heights)]
    for i, (xi, total) in enumerate(zip(x, bottom)):
        peak = peaks[i] / scale if peaks[i] is not None else total
        if peak < total - 1e-9:  # some parts are not all held at the moment of the peak
            ax.hlines(peak, xi - 0.35, xi + 0.35, color="black", linewidth=2,
                      label=f"{PEAK} (not all parts at once)" if i == 0 else None)
        ax.annotate(f"{PEAK} {peak:.2f}", (xi, max(total, peak)), ha="center", va="bottom", fontsize=8,
                    xytext=(0, 2), textcoords="offset points")
    if limit is not None:
        ax.axhline(limit / scale, color="#CC0000", linestyle="--", linewidth=1.5,
                   label=f"{limit_name or 'limit'} = {limit / scale:.2f} {unit}")
    ax.set_xticks(x)
    ax.set_xticklabels([label.replace(", ", "\n") for label in labels], fontsize=8)
    ax.set_ylim(0, max(bottom + ([limit / scale] if limit is not None else [])) * 1.12)
    ax.set_ylabel(f"memory [{unit}]")
    ax.set_title(title or "Memory per recipe")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, path)


# --- time and cost across hardware ---------------------------------------------------------------


def time_and_cost(results: Mapping[str, Any], path=None, *, quantities: Sequence[str] | None = None,
                  title: str | None = None):
    """One bar chart per quantity (default: the "time and cost" group), one bar per card.

    `results` maps a label (a card's name) to a `costmodel.api.Result`; quantities no result
    computes are left out.
    """
    Figure = require()
    if not results:
        raise UserError("nothing to plot: no results")
    labels = list(results)
    if quantities is None:
        quantities = _registry(results).group(TIME_AND_COST)
    shown = [q for q in quantities if any(_value(r, q) is not None for r in results.values())]
    if not shown:
        raise UserError("none of " + ", ".join(quantities) + " is computed for these results")
    fig = Figure(figsize=(max(5.0, 0.9 * len(labels) + 2.5), 3.2 * len(shown)))
    axes = fig.subplots(len(shown), 1, squeeze=False)[:, 0]
    for ax, q in zip(axes, shown):
        first = next(iter(results.values()))
        unit = first.evaluation.scenario.registry.quantities[q].unit
        raw = [_value(results[k], q) for k in labels]
        scale, label_unit = display_unit(unit, [v for v in raw if v is not None])
        heights = [(v / scale if v is not None else 0.0) for v in raw]
        bars = ax.bar(range(len(labels)), heights, color="#0072B2", width=0.6)
        for bar, v in zip(bars, raw):
            text = "n/a" if v is None else f"{v / scale:.3g}"
            ax.annotate(text, (bar.get_x() + bar.get_width() / 2, bar.get_height()), ha="center",
                        va="bottom", fontsize=8, xytext=(0, 2), textcoords="offset points")
        ax.set_xticks(range(len(labels)))
        ax.set_xticklabels(labels, rotation=30, ha="right")
        ax.margins(y=0.15)
        ax.set_ylabel(_axis_label(q, label_unit))
        ax.grid(axis="y", alpha=0.3)
    axes[0].set_title(title or "Time and cost across hardware")
    fig.tight_layout()
    return _save(fig, path)


# --- sweeps ------------------------------------------------------------------------------------


def _unit(registry, name: str) -> str:
    """The canonical unit of `name` ("" for choices and pure numbers); default: built-in plugins."""
    from costmodel import units

    if registry is None:
        from costmodel import api

        registry = api.registry()
    if name not in registry.quantities:
        return ""

    q = registry.quantities[name]
    return "" if q.kind in ("choice", "bool") else units.pretty_unit(q.unit)


def _levels(rows: Sequence[Mapping[str, Any]], name: str) -> list[Any]:
    seen: list[Any] = []
    for r in rows:
        if r[name] not in seen:
            seen.append(r[name])
    return seen


def _tick(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def sweep_heatmap(rows: Sequence[Mapping[str, Any]], x: str, y: str, target: str, path=None, *,
                  registry=None, title: str | None = None, limit: tuple[str, float] | None = None):
    """A heat map of `target` over two grid names (rows from `costmodel.sweep.sweep`).

    Each cell is one grid point, labelled with its value; invalid points (a note) are blank.
    Axes are categorical: the grid values in the order given. `limit` (name, value in the target's
    canonical unit; the card's usable memory for a memory target) crosses out the cells above it.
    """
    Figure = require()
    if not rows:
        raise UserError("nothing to plot: the sweep has no rows")
    for name in (x, y, target):
        if name not in rows[0]:
            raise UserError(f"{name} is not a column of the sweep")
    xs, ys = _levels(rows, x), _levels(rows, y)
    grid = [[math.nan] * len(xs) for _ in ys]
    raw = []
    for r in rows:
        value = r[target]
        if value is not None:
            grid[ys.index(r[y])][xs.index(r[x])] = float(value)
            raw.append(float(value))
    scale, unit = display_unit(_unit(registry, target), raw)
    shown = [[v / scale for v in line] for line in grid]

    import numpy as np

    data = np.ma.masked_invalid(np.array(shown, dtype=float))
    fig = Figure(figsize=(min(16.0, max(5.0, 0.55 * len(xs) + 3.0)), min(12.0, max(3.0, 0.45 * len(ys) + 2.0))))
    ax = fig.subplots()
    image = ax.imshow(data, aspect="auto", origin="lower", cmap="viridis")
    bar = fig.colorbar(image, ax=ax)
    bar.set_label(_axis_label(target, unit))
    ax.set_xticks(range(len(xs)))
    ax.set_xticklabels([_tick(v) for v in xs], rotation=45 if len(xs) > 8 else 0)
    ax.set_yticks(range(len(ys)))
    ax.set_yticklabels([_tick(v) for v in ys])
    ax.set_xlabel(_axis_label(x, _unit(registry, x)))
    ax.set_ylabel(_axis_label(y, _unit(registry, y)))
    if len(xs) * len(ys) <= 400:
        finite = [v for line in shown for v in line if math.isfinite(v)]
        middle = (min(finite) + max(finite)) / 2 if finite else 0.0
        for j, line in enumerate(shown):
            for i, v in enumerate(line):
                if math.isfinite(v):
                    ax.text(i, j, f"{v:.3g}", ha="center", va="center", fontsize=7,
                            color="white" if v < middle else "black")
    over = [(i, j) for j, line in enumerate(grid) for i, v in enumerate(line)
            if limit is not None and math.isfinite(v) and v > limit[1]]
    if over:
        ax.scatter([i for i, _ in over], [j for _, j in over], marker="x", s=220, color="#CC0000",
                   linewidths=1.5, label=f"above {limit[0]} = {limit[1] / scale:.3g} {unit}")
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(0.0, -0.18))
    ax.set_title(title or f"{target} over {x} and {y}")
    return _save(fig, path)


def sweep_line(rows: Sequence[Mapping[str, Any]], x: str, target: str, path=None, *, registry=None,
               title: str | None = None, limit: tuple[str, float] | None = None):
    """`target` over one grid name: a line over numbers, bars over choices; `limit` (name, value)
    is drawn as a dashed line (the card's usable memory for a memory target)."""
    Figure = require()
    if not rows:
        raise UserError("nothing to plot: the sweep has no rows")
    for name in (x, target):
        if name not in rows[0]:
            raise UserError(f"{name} is not a column of the sweep")
    xs = [r[x] for r in rows]
    raw = [r[target] for r in rows]
    scale, unit = display_unit(_unit(registry, target), [v for v in raw if v is not None])
    ys = [math.nan if v is None else v / scale for v in raw]
    fig = Figure(figsize=(6.4, 4.2))
    ax = fig.subplots()
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in xs)
    if numeric:
        ax.plot(xs, ys, marker="o", color="#0072B2")
        positive = [v for v in xs if v > 0]
        if len(positive) == len(xs) and len(xs) > 2 and max(xs) / min(xs) >= 64:
            ax.set_xscale("log", base=2)
    else:
        ax.bar(range(len(xs)), ys, color="#0072B2", width=0.6)
        ax.set_xticks(range(len(xs)))
        ax.set_xticklabels([_tick(v) for v in xs])
    ax.set_xlabel(_axis_label(x, _unit(registry, x)))
    ax.set_ylabel(_axis_label(target, unit))
    if limit is not None:
        ax.axhline(limit[1] / scale, color="#CC0000", linestyle="--", linewidth=1.5,
                   label=f"{limit[0]} = {limit[1] / scale:.3g} {unit}")
        ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    ax.set_title(title or f"{target} over {x}")
    return _save(fig, path)
