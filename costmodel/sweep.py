"""Sweeps: one scenario evaluated over the cartesian grid of some of its inputs.

    >>> from costmodel.sweep import sweep
    >>> rows = sweep("nanogpt", {"micro_batch": [1, 2, 4, 8], "checkpointing": ["none", "full"]},
    ...              targets=["mem_peak"], preset="gpt2", hardware="rtx-4070")
    >>> rows[0]   # {"micro_batch": 1, "checkpointing": "none", "mem_peak": 4.1e9, "note": ""}

Choice and switch names on the grid (recipe options such as `checkpointing`) re-compose the
scenario for each combination, since they select other formulas; numeric names are evaluated
together over numpy arrays, a chunk of rows at a time (`plan(...).chunks()`: bounded memory for
a million rows). A scenario with a given result to meet (`values={"wall_time": "30 day"}`) is
solved point by point instead.

Every row holds the grid values (numbers in canonical units, integers as int, choices as text,
switches as bool), one number per target in its canonical unit, and `note`: "" when the point is
valid, else why not (a family rule broken, a result outside its formula's range); the targets of
such a point are None. Rows come in grid order, the last grid name varying fastest.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from costmodel.errors import UserError

MAX_POINTS = 1_000_000


def sweep(
    family: str,
    grid: Mapping[str, Sequence[Any]],
    targets: Sequence[str] = (),
    **scenario_kwargs,
) -> list[dict[str, Any]]:
    """Evaluate `targets` (default: every result) at every point of `grid`: a list of rows.

    `grid` maps input names to lists of values, each written as `--set` takes it (a number in the
    canonical unit, text with a unit such as "30 day", a choice's name, true/false).
    `scenario_kwargs` are those of `costmodel.api.estimate` (preset, config, hardware, values, plugins).
    For large grids, `plan(...).chunks()` gives the same rows a chunk at a time, in bounded memory.
    """
    p = plan(family, grid, targets, **scenario_kwargs)
    return [row for chunk in p.chunks() for row in rows_of(chunk, p.header)]


def rows_of(chunk: Mapping[str, list], header: Sequence[str]) -> list[dict[str, Any]]:
    """A columnar chunk as row dicts."""
    return [dict(zip(header, values)) for values in zip(*(chunk[h] for h in header))]


CHUNK = 65_536  # points evaluated (and rows held) at a time


class Plan:
    """A sweep ready to run: its grid parsed, one scenario composed per combination of the
    switches, its columns known; `chunks()` evaluates it a block of rows at a time."""

    def __init__(self, reg, names, parsed, shown, switches, scenarios, targets):
        self.registry = reg
        self.names, self.parsed, self.shown = names, parsed, shown
        self.switches = switches
        self.numbers = [n for n in names if n not in switches]
        self.scenarios = scenarios  # combination of switch indices -> (scenario, pointwise?)
        self.targets = list(targets)
        self.shape = [len(parsed[n]) for n in names]
        self.size = math.prod(self.shape)
        self.columns = self.targets or self._every_result()
        self.header = [*names, *self.columns, "note"]
        self.invalid = 0  # points with a note, counted as chunks are made

    def _every_result(self) -> list[str]:
        """Every result computed for every combination of the switches (probed at one point)."""
        common = None
        for combo, (scenario, pointwise) in self.scenarios.items():
            first = {n: self.parsed[n][0] for n in self.numbers}
            derived = self._derived(scenario, first, pointwise)
            common = derived if common is None else common & derived
        return sorted((common or set()) - set(self.names))

    def _derived(self, scenario, point, pointwise) -> set[str]:
        from costmodel import solver

        if pointwise:
            try:
                ev = solver.evaluate(scenario.with_values(point) if point else scenario)
            except UserError:
                return set(scenario.formulas) | set(scenario.constraints)
            return {n for n in scenario.formulas if n in ev.env} | set(scenario.constraints)
        import numpy as np

        env = solver.evaluate_arrays(scenario, {n: np.array([float(v)]) for n, v in point.items()}, 1)
        return {n for n in scenario.formulas if n in env}

    def chunks(self, size: int | None = None) -> Iterator[dict[str, list]]:
        """The rows in grid order (the last name varying fastest), `size` at a time, as columns:
        name -> list of values, and "note" -> list of texts."""
        import numpy as np

        self.invalid = 0
        size = size or CHUNK
        for start in range(0, self.size, size):
            flat = np.arange(start, min(start + size, self.size))
            index = dict(zip(self.names, np.unravel_index(flat, self.shape))) if self.names else {}
            chunk = {n: _take(self.shown[n], index[n]) for n in self.names}
            results = {c: np.full(len(flat), np.nan) for c in self.columns}
            notes = np.full(len(flat), "", dtype=object)
            combos = _combination_ids(index, self.switches, self.parsed, len(flat), np)
            for combo, members in combos:
                scenario, pointwise = self.scenarios[combo]
                arrays = {n: np.asarray(self.parsed[n], dtype=float)[index[n][members]] for n in self.numbers}
                run = self._pointwise if pointwise else self._vectorised
                values, texts = run(scenario, arrays, len(members), start == 0)
                for c in self.columns:
                    results[c][members] = values[c]
                notes[members] = texts
            bad = notes != ""
            self.invalid += int(bad.sum())
            for c in self.columns:
                column = results[c].tolist()
                for i in np.flatnonzero(bad):
                    column[i] = None
                chunk[c] = column
            chunk["note"] = notes.tolist()
            yield chunk

    def _vectorised(self, scenario, arrays, size, first):
        """Every point at once over numpy arrays; (column -> values, notes)."""
        import numpy as np

        from costmodel import solver

        env = solver.evaluate_arrays(scenario, arrays, size)
        if first:
            probe = dict(solver.numeric_inputs(scenario))
            _check_targets(scenario, self.targets, env, solver.forward(scenario, probe))
        notes = np.full(size, "", dtype=object)
        for i in _suspect_points(scenario, env, size, np):
            point = {k: _scalar(v, i) for k, v in env.items()}
            try:
                solver.validate(scenario, point)
            except UserError as exc:
                notes[i] = str(exc)
        values = {c: np.broadcast_to(np.asarray(env.get(c, np.nan), dtype=float), (size,))
                  for c in self.columns}
        return values, notes

    def _pointwise(self, scenario, arrays, size, first):
        """One solve per point (a given result to meet, or a derived name on the grid)."""
        from costmodel import solver

        values = {c: [math.nan] * size for c in self.columns}
        notes = [""] * size
        for i in range(size):
            point = {n: float(a[i]) for n, a in arrays.items()}
            s = scenario.with_values(point) if point else scenario
            try:
                ev = solver.evaluate(s)
            except UserError as exc:
                notes[i] = str(exc)
                continue
            _check_targets(s, self.targets, ev.env, ev.missing)
            for c in self.columns:
                values[c][i] = ev.env.get(c, math.nan)
        if first and size and all(notes):  # no point could be solved: the first failure says why
            raise UserError(notes[0])
        return values, notes


def plan(family: str, grid: Mapping[str, Sequence[Any]], targets: Sequence[str] = (),
         **scenario_kwargs) -> Plan:
    """Parse the grid and compose the scenarios of a sweep (nothing is evaluated yet)."""
    from costmodel import api

    reg = api.registry(scenario_kwargs.get("plugins", ()))
    names, parsed, shown = _parse_grid(reg, grid)
    computed = {f.target for f in reg.formulas} | {f.target for fs in reg.family_formulas.values() for f in fs}
    for t in targets:
        if reg.quantity(t).kind in ("choice", "bool") and t not in computed:  # `fits` is a result
            raise UserError(f"{t} is a recipe option, not a result: put it on the grid")
    values = dict(scenario_kwargs.pop("values", None) or {})
    switches = [n for n in names if reg.quantities[n].kind in ("choice", "bool")]
    numbers = [n for n in names if n not in switches]
    scenarios = {}
    for combo in itertools.product(*(range(len(parsed[n])) for n in switches)):
        fixed = {n: grid_value(reg, n, parsed[n][i]) for n, i in zip(switches, combo)}
        first = {n: grid_value(reg, n, parsed[n][0]) for n in numbers}
        scenario = api.scenario(family, values={**values, **fixed, **first}, **scenario_kwargs)
        pointwise = bool(scenario.constraints) or any(n in scenario.formulas for n in numbers)
        scenarios[combo] = (scenario, pointwise)
    return Plan(reg, names, parsed, shown, switches, scenarios, targets)


def _take(values: list, index) -> list:
    return list(map(values.__getitem__, index.tolist()))


def _combination_ids(index, switches, parsed, size, np):
    """(combination of switch indices, positions in the chunk that have it) for each present."""
    if not switches:
        return [((), np.arange(size))]
    shape = [len(parsed[n]) for n in switches]
    ids = np.ravel_multi_index([index[n] for n in switches], shape)
    out = []
    for combo_id in np.unique(ids):
        combo = tuple(int(i) for i in np.unravel_index(combo_id, shape))
        out.append((combo, np.flatnonzero(ids == combo_id)))
    return out


def grid_value(reg, name: str, value: Any) -> Any:
    """A parsed grid value as `compose` takes it (switches back to true/false)."""
    if reg.quantities[name].kind == "bool":
        return bool(value)
    return value


def _parse_grid(reg, grid: Mapping[str, Sequence[Any]]):
    if not grid:
        raise UserError("give at least one grid: NAME=v1,v2,...")
    names = list(grid)
    points = math.prod(1 if isinstance(v, (str, bytes)) or not isinstance(v, Sequence) else len(v)
                       for v in grid.values())
    if points > MAX_POINTS:  # refused before any value is read
        raise UserError(f"the grid has {points:,} points; at most {MAX_POINTS:,}")
    parsed: dict[str, list[Any]] = {}
    shown: dict[str, list[Any]] = {}
    for name in names:
        q = reg.quantity(name)
        raw = grid[name]
        if isinstance(raw, (str, bytes)) or not isinstance(raw, Sequence):
            raw = [raw]
        if not raw:
            raise UserError(f"grid {name}: no values")
        parsed[name] = [reg.parse_value(name, v, where="grid") for v in raw]
        if len(set(parsed[name])) != len(parsed[name]):
            raise UserError(f"grid {name}: a value appears twice")
        if q.kind == "bool":
            shown[name] = [bool(v) for v in parsed[name]]
        elif q.kind == "integer":
            shown[name] = [int(v) for v in parsed[name]]
        else:
            shown[name] = list(parsed[name])
    return names, parsed, shown


def _scalar(value: Any, i: int) -> float:
    try:
        return float(value[i])
    except (TypeError, IndexError):
        return float(value)


def _check_targets(scenario, targets: Sequence[str], env: Mapping[str, Any], missing: Mapping) -> None:
    from costmodel import solver

    for t in targets:
        if t not in env:
            solver.explain_missing(scenario, t, dict(missing))


def _suspect_points(scenario, env: Mapping[str, Any], size: int, np) -> list[int]:
    """Points where a family check or a result's domain may fail (re-checked one by one)."""
    bad = np.zeros(size, dtype=bool)
    quantities = scenario.registry.quantities
    for name in scenario.formulas:
        if name not in env:
            continue
        value = np.asarray(env[name], dtype=float)
        bad |= ~np.isfinite(value)
        minimum = quantities[name].minimum
        if minimum is not None:
            bad |= value < minimum - 1e-9 * max(1.0, abs(minimum))
    for check in scenario.checks:
        if not all(n in env for n in check.inputs):
            continue
        ok = None
        try:
            vector = _check_vector(check)
            ok = np.broadcast_to(np.asarray(vector(env), dtype=bool), (size,))
        except Exception:  # a relation numpy cannot take: decide point by point
            ok = np.array([bool(check.evaluate({n: _scalar(env[n], i) for n in check.inputs}))
                           for i in range(size)])
        bad |= ~ok
    return [int(i) for i in np.flatnonzero(bad)]


@functools.lru_cache(maxsize=256)
def _check_vector(check):
    """A family check over numpy arrays, compiled once (not once per chunk)."""
    from costmodel import programs

    return programs.compile_program(check.program, numpy=True)


# --- the command line's grid syntax --------------------------------------------------------------

_NUMBER = r"[-+]?(?:\d[\d_]*\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_RANGE_RE = re.compile(rf"^({_NUMBER})\.\.({_NUMBER})(?:\s*([:*])\s*({_NUMBER}))?\s*(.*)$")


def parse_grid(items: Sequence[str]) -> dict[str, list[str]]:
    """`NAME=v1,v2,...` items into a grid; values may be ranges.

    `A..B` is every whole step from A to B (both included), `A..B:S` steps by S, `A..B*F`
    multiplies by F (`micro_batch=1..64*2` is 1, 2, 4, ..., 64). A unit may follow a range
    (`wall_time=1..4 day`). Commas separate values: write thousands with `_` (`1_024`).
    """
    grid: dict[str, list[str]] = {}
    for item in items:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name or not text.strip():
            raise UserError(f"--grid {item!r}: write NAME=v1,v2,... or NAME=A..B")
        if name in grid:
            raise UserError(f"--grid {name} is given twice")
        values: list[str] = []
        for part in text.split(","):
            part = part.strip().strip("'\"")
            if not part:
                raise UserError(f"--grid {item!r}: an empty value")
            values.extend(expand_range(part, name))
        grid[name] = values
    return grid


def expand_range(text: str, name: str = "") -> list[str]:
    """'1..8' -> ['1', ..., '8']; '1..64*2' -> ['1', '2', ..., '64']; anything else -> [text]."""
    m = _RANGE_RE.match(text)
    if not m:
        return [text]
    op, by, unit = m.group(3), m.group(4), m.group(5).strip()
    label = f"--grid {name}={text}" if name else text
    start, stop = _finite(m.group(1), label), _finite(m.group(2), label)
    if stop < start:
        raise UserError(f"{label}: the range ends before it starts")
    numbers: list[float] = []
    if op == "*":
        factor = _finite(by, label)
        if factor <= 1 or start <= 0:
            raise UserError(f"{label}: a geometric range needs a start above 0 and a factor above 1")
        count = math.floor(math.log(stop / start) / math.log(factor) + 1e-9) + 1
        if count > MAX_POINTS:
            raise UserError(f"{label}: {count:,} values; a grid has at most {MAX_POINTS:,} points")
        x = start
        while x <= stop * (1 + 1e-12):
            numbers.append(x)
            x *= factor
            if len(numbers) > MAX_POINTS:
                break
    else:
        step = _finite(by, label) if by else 1.0
        if step <= 0:
            raise UserError(f"{label}: the step must be above 0")
        span = (stop - start) / step
        count = math.floor(span + 1e-9) + 1 if span < 10 * MAX_POINTS else math.inf
        if count > MAX_POINTS:
            shown = f"{count:,}" if count != math.inf else f"more than {10 * MAX_POINTS:,}"
            raise UserError(f"{label}: {shown} values; a grid has at most {MAX_POINTS:,} points")
        numbers = [start + k * step for k in range(count)]
    return [_number(x) + (f" {unit}" if unit else "") for x in numbers]


def _finite(text: str, label: str) -> float:
    value = float(text.replace("_", ""))
    if not math.isfinite(value) or abs(value) > 1e300:
        raise UserError(f"{label}: {text} is beyond the range of numbers costmodel takes")
    return value


def _number(x: float) -> str:
    if float(x).is_integer() and abs(x) < 1e15:
        return str(int(x))
    return repr(round(x, 12))
