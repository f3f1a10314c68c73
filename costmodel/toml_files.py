"""Declarative records read from TOML: hardware cards and model families. Parsed, never executed."""

from __future__ import annotations

import difflib
import sys
from pathlib import Path
from typing import Any

import attrs

from costmodel.declarations import Check, Family, Formula, Hardware, Quantity
from costmodel.errors import UserError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

HARDWARE_KEYS = {"name", "aliases", "vendor", "doc", "notes", "values", "sources", "interconnect"}
FAMILY_KEYS = {"family", "quantities", "defaults", "presets", "formulas", "checks", "config"}


MAX_DEPTH = 16  # tables and arrays nested deeper than this are refused (cards and families use 3)


def load(path: str) -> dict[str, Any]:
    """A TOML file's tables: a regular UTF-8 file within `files.LIMITS['toml']`, nested at most
    MAX_DEPTH deep."""
    from costmodel import files

    text = files.read_text(path, "TOML file", "toml")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{path}: malformed TOML: {exc}") from None
    except RecursionError:
        raise UserError(f"{path}: TOML nested deeper than {MAX_DEPTH} levels") from None
    _check_depth(data, path)
    return data


def _check_depth(data: Any, path: str) -> None:
    """Refuse absurd nesting (`a.b.c....` keys parse without recursion; walking them would not)."""
    level = [data]
    for _ in range(MAX_DEPTH + 1):
        level = [v for item in level
                 for v in (item.values() if isinstance(item, dict) else item)
                 if isinstance(v, (dict, list))]
        if not level:
            return
    raise UserError(f"{path}: TOML nested deeper than {MAX_DEPTH} levels")


def read_hardware(path: str) -> Hardware:
    """One card from a TOML file; the file's stem is an alias. Schema: docs/hardware.md."""
    data = load(path)
    _only(data, HARDWARE_KEYS, path)
    values = _table(data, "values", path)
    sources = _table(data, "sources", path)
    info = {"interconnect": str(data["interconnect"])} if "interconnect" in data else {}
    for name, value in values.items():
        if isinstance(value, str) and name == "interconnect":
            info[name] = value
    values = {k: v for k, v in values.items() if k not in info}
    missing = sorted(k for k in values if not str(sources.get(k, "")).strip())
    if missing:
        raise UserError(f"{path}: values without a source: {', '.join(missing)}")
    return _build(
        Hardware,
        path,
        name=_text(data, "name", path),
        doc=_text(data, "doc", path),
        vendor=str(data.get("vendor", "")),
        aliases=tuple(str(a) for a in data.get("aliases", ())) + (Path(path).stem,),
        values={k: _value_text(v, f"{path}: values.{k}") for k, v in values.items()},
        sources={k: str(v) for k, v in sources.items()},
        notes=tuple(str(n) for n in data.get("notes", ())),
        info=info,
        origin=str(path),
    )


def read_family(path: str) -> Family:
    """A model family declared in TOML: [family], [quantities.NAME], [defaults], [presets.NAME],
    [[formulas]], [[checks]] and [config] (how a JSON config file maps onto the inputs, read by
    costmodel.config_json). Formulas are text parsed by the engine's whitelist."""
    data = load(path)
    _only(data, FAMILY_KEYS, path)
    head = _table(data, "family", path)
    _only(head, {"name", "doc", "source", "aliases", "free_order"}, f"{path}: [family]")
    quantities = []
    for name, spec in _table(data, "quantities", path, required=False).items():
        if not isinstance(spec, dict):
            raise UserError(f"{path}: quantities.{name} must be a table")
        quantities.append(_build(Quantity, f"{path}: quantities.{name}", name=name, **spec))
    formulas = [
        _build(Formula, f"{path}: formulas[{i}]", **_row(f, path, "formulas", i))
        for i, f in enumerate(_array(data, "formulas", path))
    ]
    checks = [
        _build(Check, f"{path}: checks[{i}]", **_row(c, path, "checks", i))
        for i, c in enumerate(_array(data, "checks", path))
    ]
    presets = _table(data, "presets", path, required=False)
    for name, values in presets.items():
        if not isinstance(values, dict):
            raise UserError(f"{path}: presets.{name} must be a table")
    return _build(
        Family,
        path,
        name=_text(head, "name", path),
        doc=_text(head, "doc", path),
        source=_text(head, "source", path),
        aliases=tuple(head.get("aliases", ())),
        free_order=tuple(head.get("free_order", ())),
        quantities=tuple(quantities),
        defaults=_table(data, "defaults", path, required=False),
        presets=presets,
        formulas=tuple(formulas),
        checks=tuple(checks),
        config_loader=_config_loader(data, path),
    )


def _config_loader(data: dict, path: str):
    if "config" not in data:
        return None
    from costmodel.config_json import JsonConfig

    return JsonConfig.from_table(data["config"], path)


def _build(cls, where: str, **fields):
    try:
        return cls(**fields)
    except TypeError as exc:
        message = str(exc).split(".__init__()")[-1].strip()
        unexpected = [n for n in fields if n not in {f.name for f in attrs.fields(cls)}]
        if unexpected:
            message = (f"has no field {', '.join(map(repr, unexpected))}; "
                       f"{_closest(unexpected, [f.name for f in attrs.fields(cls)])}")
        raise UserError(f"{where}: {cls.__name__} {message}") from None
    except ValueError as exc:
        raise UserError(f"{where}: {exc}") from None


def _only(data: dict, allowed: set[str], path: str) -> None:
    extra = sorted(set(data) - allowed)
    if extra:
        raise UserError(f"{path}: unknown key(s) {', '.join(extra)}; {_closest(extra, allowed)}")


def _closest(names: list[str], allowed) -> str:
    close = sorted({c for n in names for c in difflib.get_close_matches(n, sorted(allowed), n=3, cutoff=0.6)})
    return f"did you mean: {', '.join(close)}" if close else f"allowed: {', '.join(sorted(allowed))}"


def _table(data: dict, key: str, path: str, required: bool = True) -> dict:
    value = data.get(key)
    if value is None:
        if required:
            raise UserError(f"{path}: missing [{key}] table")
        return {}
    if not isinstance(value, dict):
        raise UserError(f"{path}: {key} must be a table")
    return value


def _array(data: dict, key: str, path: str) -> list:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise UserError(f"{path}: {key} must be an array of tables ([[{key}]])")
    return value


def _row(row: dict, path: str, key: str, i: int) -> dict:
    for name, value in row.items():
        if name == "assumptions":
            if not isinstance(value, list):
                raise UserError(f"{path}: {key}[{i}].assumptions must be a list of text")
        elif not isinstance(value, (str, bool)):
            raise UserError(f"{path}: {key}[{i}].{name} must be text")
    return {k: tuple(v) if k == "assumptions" else v for k, v in row.items()}


def _text(data: dict, key: str, path: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise UserError(f"{path}: {key} must be non-empty text")
    return value


def _value_text(value: Any, where: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise UserError(f"{where}: expected a number or text with a unit")
    return str(value)
