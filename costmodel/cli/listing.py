"""Listings: families, hardware, plugins (each with --json)."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Optional

import typer

Json = Annotated[bool, typer.Option("--json", help="print JSON")]
Plugins = Annotated[Optional[list[str]], typer.Option("--plugin", help="a local plugin: .py file, .toml family or folder")]


def register(app: typer.Typer) -> None:
    app.command()(families)
    app.command()(hardware)
    app.command()(plugins)


def families(
    name: Annotated[Optional[str], typer.Argument(help="show one family: every input and recipe option")] = None,
    plugin: Plugins = None,
    json_: Json = False,
) -> None:
    """The model families the loaded plugins declare, with their presets; or one family in full.

    Example: costmodel families --json
    Example: costmodel families nanochat
    """
    from costmodel import api

    if name is not None:
        _family(api, name, tuple(plugin or ()), json_)
        return
    items = [
        {"name": f.name, "doc": f.doc, "source": f.source, "aliases": list(f.aliases),
         "presets": sorted(f.presets), "inputs": sorted(f.defaults)}
        for f in api.families(tuple(plugin or ()))
    ]
    if json_:
        _json(items)
        return
    for f in items:
        presets = ", ".join(f["presets"]) or "-"
        sys.stdout.write(f"{f['name']:<12} {f['doc']}\n{'':<12} presets: {presets}\n")


def _family(api, name: str, plugins: tuple[str, ...], as_json: bool) -> None:
    from costmodel import units

    fam = api.registry(plugins).family(name)
    rows = api.family_inputs(fam.name, plugins)
    presets = {p: {k: v for k, v in values.items()} for p, values in sorted(fam.presets.items())}
    own = sorted(fam.config_keys)
    if as_json:
        _json({"name": fam.name, "doc": fam.doc, "source": fam.source, "presets": presets,
               "inputs": rows, "own_names": own})
        return
    out = [f"{fam.name}: {fam.doc}", f"source: {fam.source}", "", "presets:"]
    for p, values in presets.items():
        out.append(f"  {p:<16} " + ", ".join(f"{k}={v}" for k, v in values.items()))
    out += ["", "inputs and recipe options (give them with --set NAME=VALUE):"]
    width = max(len(r["name"]) for r in rows)
    for r in rows:
        default = r["default"]
        if isinstance(default, bool):
            shown = "true" if default else "false"
        elif isinstance(default, str):
            shown = default
        else:
            shown = units.format_number(default) + (f" {r['unit']}" if r["unit"] else "")
        out.append(f"  {r['name']:<{width}}  {shown:<16} {r['doc']}  [{r['origin']}]")
        for c in r["choices"]:
            out.append(f"  {'':<{width}}    - {c['name']}" + (f": {c['doc']}" if c["doc"] else ""))
    if own:
        out += ["", f"{fam.name}'s own names (as --set NAME=VALUE, --NAME=VALUE or in --args/--config): "
                + ", ".join(own)]
    sys.stdout.write("\n".join(out) + "\n")


def hardware(
    name: Annotated[Optional[str], typer.Argument(help="show one card with every value and its source")] = None,
    plugin: Plugins = None,
    json_: Json = False,
) -> None:
    """The GPU catalogue (dense peaks; memory in binary units), or one card in full.

    Example: costmodel hardware rtx-4070
    """
    from costmodel import api, units

    reg = api.registry(tuple(plugin or ()))
    cards = [reg.card(name)] if name else api.hardware(tuple(plugin or ()))
    items = []
    for card in cards:
        values = reg.hardware_values[card.name]
        items.append({
            "name": card.name, "vendor": card.vendor, "doc": card.doc, "aliases": list(card.aliases),
            "values": {k: {"value": v, "unit": units.pretty_unit(reg.quantities[k].unit),
                           "source": card.sources.get(k, "")} for k, v in values.items()},
            "notes": list(card.notes), **card.info,
        })
    if json_:
        _json(items if name is None else items[0])
        return
    if name is not None:
        card, item = cards[0], items[0]
        sys.stdout.write(f"{card.name} ({card.vendor}): {card.doc}\n")
        for k, v in item["values"].items():
            shown = units.format_quantity(v["value"], reg.quantities[k].unit)
            sys.stdout.write(f"  {k:<24} {shown:>14}   {v['source']}\n")
        for note in card.notes:
            sys.stdout.write(f"  note: {note}\n")
        return
    columns = reg.group("card summary")  # quantity metadata, declared by the plugins
    cells = [[units.format_quantity(v[k], reg.quantities[k].unit, 4) if k in v else "-" for k in columns]
             for v in (reg.hardware_values[card.name] for card in cards)]
    widths = [max([len(k)] + [len(row[i]) for row in cells]) for i, k in enumerate(columns)]
    sys.stdout.write(f"{'name':<18}" + "".join(f" {k:>{w}}" for k, w in zip(columns, widths)) + "\n")
    for card, row in zip(cards, cells):
        sys.stdout.write(f"{card.name:<18}" + "".join(f" {c:>{w}}" for c, w in zip(row, widths)) + "\n")


def plugins(plugin: Plugins = None, json_: Json = False) -> None:
    """The loaded plugins, where each comes from, its hooks, and any error.

    Example: costmodel plugins --json
    """
    from costmodel import api

    items = [
        {"name": p.name, "origin": p.origin, "hooks": list(p.hooks), "error": p.error}
        for p in api.plugins(tuple(plugin or ()))
    ]
    if json_:
        _json(items)
        return
    for p in items:
        status = f"BROKEN: {p['error']}" if p["error"] else ", ".join(p["hooks"])
        sys.stdout.write(f"{p['name']:<20} {p['origin']}\n{'':<20} {status}\n")


def _json(data) -> None:
    sys.stdout.write(json.dumps(data, indent=2) + "\n")
