"""Searching a space of recipes: the best point over choices and whole numbers, under constraints.

    >>> from costmodel.search import search
    >>> found = search({"family": "nanochat", "preset": "d20", "hardware": "rtx-4070"},
    ...                {"checkpointing": ["none", "full"], "micro_batch": [1, 2, 4, 8]},
    ...                objective="wall_time", constraints=["mem_peak <= gpu_memory_usable"])
    >>> found.best.choices, found.best.numbers    # the fastest recipe that fits

The space is the cartesian product of some inputs' values. Choices (recipe options such as
`checkpointing`, switches such as `compile`) select formulas, so each combination of them is one
*group*: one composed scenario. Inside a group the whole numbers (`micro_batch`, `n_gpus`, ...)
and the cards (`cards=[...]`: each card's catalogue numbers) are evaluated together with numpy,
each on an axis of its own, so that a formula costs the size of the axes it depends on, not of
the grid (the weights do not depend on the micro-batch). A group's grid goes through in chunks
of at most `CHUNK` points: memory stays bounded whatever the grid's size, and a space of more
than `MAX_CANDIDATES` points is refused before anything runs.

Pruning: a constraint whose left side never decreases along an axis (`monotone`, by default a
larger micro-batch never needs less memory) is first evaluated at that axis's smallest value;
where it fails there it fails everywhere, and a group where it fails at every point is decided
without evaluating the rest of its grid.

A point is a candidate when the family's rules hold and every result lies in its domain; it is
feasible when, besides, every constraint holds. `SearchResult.outcomes` holds, per group and
card, the best feasible point, or the point closest to feasibility and the constraint it breaks
there (what the planner's "why not" lines are made of).

`rule`: inputs computed from a first evaluation (the planner's horizon: `iters` for a number of
tokens, or for a time); the formulas downstream of them are evaluated again.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from costmodel.errors import UserError

CHUNK = 1 << 16  # points evaluated at once (about 100 arrays of this size at most: ~50 MB)
MAX_CANDIDATES = 200_000_000  # about a minute of one core; more is refused
MONOTONE = {"micro_batch": ("mem_peak", "mem_tensors_peak", "mem_activations")}
CARD = "hardware"  # the name of the cards' axis in points and outcomes


@attrs.frozen(kw_only=True)
class Point:
    """One point of the space: its choices (and card), its numbers, and the results asked for."""

    choices: dict[str, Any]  # choice name -> value; CARD -> card name when cards are searched
    numbers: dict[str, float]  # searched whole numbers, and what `rule` computed
    values: dict[str, float]  # objective, constraint sides, reported names (canonical units)
    objective: float

    def setting(self) -> dict[str, Any]:
        """The point as `--set` values (the card apart)."""
        out = {k: v for k, v in self.choices.items() if k != CARD}
        out.update({k: int(v) if float(v).is_integer() else v for k, v in self.numbers.items()})
        return out


@attrs.define
class Outcome:
    """What one group (a combination of choices) gave on one card."""

    choices: dict[str, Any]
    candidates: int = 0  # points of the space in this group and card
    valid: int = 0  # of which the family's rules hold
    feasible: int = 0  # of which every constraint holds too
    pruned: bool = False  # decided at the monotone axis's smallest value
    best: Point | None = None
    closest: Point | None = None  # no feasible point: the one nearest to feasibility
    broken: str | None = None  # ... and the constraint it breaks
    invalid: str | None = None  # no valid point at all: why (a family rule, a missing value)


@attrs.define
class SearchResult:
    objective: str
    maximize: bool
    constraints: tuple[str, ...]
    outcomes: list[Outcome]
    candidates: int = 0
    evaluated: int = 0  # points evaluated in full (the others were pruned)
    seconds: float = 0.0

    @property
    def best(self) -> Point | None:
        """The best feasible point of the whole space (ties: the first in the space's order)."""
        found = [o.best for o in self.outcomes if o.best is not None]
        if not found:
            return None
        sign = -1.0 if self.maximize else 1.0
        return min(found, key=lambda p: sign * p.objective)

    @property
    def feasible(self) -> int:
        return sum(o.feasible for o in self.outcomes)

    def front(self, metrics: Sequence[str], key: Callable[[Point], Any] | None = None) -> list[Point]:
        """The groups' best points that no other best point beats (at least as good on every
        metric, smaller is better, and better on one), ordered by `key` (default: the objective)."""
        import numpy as np

        points = sorted((o.best for o in self.outcomes if o.best is not None),
                        key=lambda p: tuple(p.values[m] for m in metrics))
        kept: list[Point] = []
        rest = np.empty((0, len(metrics) - 1))
        for p in points:  # a later point never beats an earlier one on every metric
            others = np.array([p.values[m] for m in metrics[1:]])
            if len(rest) and np.any(np.all(rest <= others, axis=1)):
                continue
            kept.append(p)
            rest = np.vstack([rest, others])
        sign = -1.0 if self.maximize else 1.0
        return sorted(kept, key=key or (lambda p: sign * p.objective))


@attrs.frozen(kw_only=True)
class Rule:
    """Inputs computed from a first evaluation: `compute(env)` returns {name: array}."""

    names: tuple[str, ...]
    compute: Callable[[Mapping[str, Any]], dict[str, Any]]
    reads: tuple[str, ...]  # results compute() needs from the first evaluation


def search(
    scenario: Mapping[str, Any],
    space: Mapping[str, Sequence[Any]],
    *,
    objective: str,
    maximize: bool = False,
    constraints: Sequence[str] = (),
    where: Sequence[str] = (),
    report: Sequence[str] = (),
    cards: Sequence[str] | None = None,
    card_values: Mapping[str, Mapping[str, Any]] | None = None,
    rule: Rule | None = None,
    score: Callable[[Mapping[str, Any]], Any] | None = None,
    monotone: Mapping[str, Sequence[str]] = MONOTONE,
    max_candidates: int = MAX_CANDIDATES,
    chunk: int = CHUNK,
) -> SearchResult:
    """The best `objective` over `space` subject to `constraints`.

    `scenario`: the keyword arguments of `costmodel.api.scenario` (family, preset, config,
    hardware, values, plugins). `space`: input name -> values (choices by name, numbers as
    `--set` takes them). `constraints`: 'NAME <= NAME|VALUE' limits; `where`: the same syntax for
    rules that define the space (a point breaking one is no candidate, not a failure).
    `cards`: search these cards too (their catalogue numbers, with `card_values` on top).
    `score(env)`: rank by this array instead of the objective itself (a tie-break folded in);
    `Point.objective` is then the score.
    """
    from costmodel import api

    started = time.perf_counter()
    kwargs = dict(scenario)
    family = kwargs.pop("family")
    values = dict(kwargs.pop("values", None) or {})
    reg = api.registry(kwargs.get("plugins", ()))
    cards = [reg.card(c).name for c in cards] if cards else None
    card_values = {reg.card(c).name: dict(v) for c, v in (card_values or {}).items()}
    if not space and not cards:
        raise UserError("nothing to search: give at least one input with several values")
    names = list(space)
    parsed = {n: _parse(reg, n, space[n]) for n in names}
    pinned = sorted(set(names) & set(values))
    if pinned:
        raise UserError(f"{pinned[0]} is given; it cannot also be searched")
    switches = [n for n in names if reg.quantities[n].kind in ("choice", "bool")]
    numbers = [n for n in names if n not in switches]
    n_cards = len(cards) if cards else 1
    total = math.prod(len(parsed[n]) for n in names) * n_cards
    if total > max_candidates:
        raise UserError(
            f"the search space has {total:,} points; at most {max_candidates:,}: pin some choices "
            "or narrow a range"
        )
    result = SearchResult(objective=objective, maximize=maximize, constraints=tuple(constraints), outcomes=[])
    # cards that give the same names compose alike (a card's value replaces a default rule)
    given = kwargs.pop("hardware", None)
    errors: list[str] = []
    kinds: dict[frozenset, list[str]] = {}
    rules = {f.target for f in reg.formulas} | {f.target for fs in reg.family_formulas.values() for f in fs}
    for card in cards or []:
        names_given = frozenset(reg.hardware_values[card]) | frozenset((card_values or {}).get(card, {}))
        kinds.setdefault(names_given & rules, []).append(card)
    # the user's request read once (names, counts, contradictions); the groups compose from it
    base = api.scenario(family, hardware=cards[0] if cards else given, values=values, **kwargs).request
    hopeless: dict[tuple, _Lacking] = {}  # combinations lacking an input no card gives

    def refuse(fixed, alike, message: str) -> None:  # this combination of choices cannot answer
        errors.append(message)
        size = math.prod(len(parsed[n]) for n in numbers)
        result.outcomes.extend(Outcome(choices={**fixed, **({CARD: c} if alike else {})}, candidates=size,
                                       invalid=message) for c in (alike or [None]))
        result.candidates += size * len(alike or [None])

    for alike in kinds.values() if cards else [None]:
        hardware = alike[0] if alike else base["hardware"]
        from_cards = set().union(*(set(reg.hardware_values[c]) | set(card_values.get(c, {})) for c in alike or []))
        for combo in itertools.product(*(parsed[n] for n in switches)):
            fixed = dict(zip(switches, combo))
            known = hopeless.get(combo)
            if known is not None and not known.names & from_cards:  # composing it again cannot help
                refuse(fixed, alike, str(known))
                continue
            first = {n: parsed[n][0] for n in numbers}
            extra = (card_values or {}).get(alike[0], {}) if alike else {}
            s = _compose(reg, base, hardware, {**extra, **base["values"], **fixed, **first})
            try:
                group = _Group(s, fixed, numbers, parsed, objective, maximize, constraints, where, report,
                               alike, card_values or {}, rule, score, monotone, chunk, set(values))
            except UserError as exc:  # not a candidate
                if isinstance(exc, _Lacking):
                    hopeless[combo] = exc
                refuse(fixed, alike, str(exc))
                continue
            result.outcomes.extend(group.run())
            result.candidates += group.candidates
            result.evaluated += group.evaluated
    if errors and len(errors) == len(kinds or [None]) * math.prod(len(parsed[n]) for n in switches):
        raise UserError(errors[0])  # no combination can answer: the question itself is wrong
    result.seconds = time.perf_counter() - started
    return result


_COMPOSED: dict[tuple, Any] = {}


def _compose(reg, base: Mapping[str, Any], hardware, values: Mapping[str, Any]):
    """A group's scenario from the user's request as `api.scenario` read it, with the group's
    choices and numbers; kept for the next search of the same request (a plan asked again)."""
    from costmodel.scenario import compose

    card = hardware.name if hasattr(hardware, "name") else hardware
    key = None
    if base.get("config") is None:
        key = (base["family"], base["preset"], tuple(base["config_overrides"]), card,
               tuple(sorted((k, repr(v)) for k, v in values.items())))
        if key in _COMPOSED and _COMPOSED[key].registry is reg:  # the same plugins loaded
            return _COMPOSED[key]
    s = compose(reg, base["family"], preset=base["preset"], config=base["config"],
                config_overrides=base["config_overrides"], hardware=hardware, values=dict(values))
    if key is not None:
        if len(_COMPOSED) >= 4096:
            _COMPOSED.pop(next(iter(_COMPOSED)))
        _COMPOSED[key] = s
    return s


def _parse(reg, name: str, raw: Sequence[Any]) -> list[Any]:
    q = reg.quantity(name)
    if isinstance(raw, (str, bytes)) or not isinstance(raw, Sequence):
        raw = [raw]
    if not raw:
        raise UserError(f"search {name}: no values")
    out = [reg.parse_value(name, v, where="search") for v in raw]
    if q.kind == "bool":
        out = [bool(v) for v in out]
    if len(set(out)) != len(out):
        raise UserError(f"search {name}: a value appears twice")
    return out


class _Group:
    """One combination of choices: a composed scenario evaluated over the numeric axes."""

    def __init__(self, s, fixed, numbers, parsed, objective, maximize, constraints, where, report,
                 cards, card_values, rule, score, monotone, chunk, user_values=frozenset()):
        import numpy as np

        from costmodel import solver

        self.np = np
        self.s = s
        self.fixed = fixed
        self.maximize = maximize
        self.objective = objective
        self.chunk = chunk
        self.rule = rule
        self.score = score
        reg = s.registry
        for n in numbers:
            if n in s.formulas:
                raise UserError(f"{n} is computed in this scenario; only inputs can be searched")
        if s.constraints:
            raise UserError("a search takes inputs, not given results: "
                            + ", ".join(sorted(s.constraints)) + " is computed")
        self.limits = [solver.parse_constraint(s, c) for c in constraints]
        self.rules = [solver.parse_constraint(s, c) for c in where]
        # the axes: searched numbers, then the cards
        self.axes: list[tuple[str, Any]] = [(n, np.asarray(parsed[n], dtype=float)) for n in numbers]
        self.cards = cards
        self.card_arrays: dict[str, Any] = {}
        if cards:
            known = set().union(*(reg.hardware_values[c] for c in cards), *(card_values.get(c, {}) for c in cards))
            for name in sorted(known):
                if name in user_values:  # the user's value holds on every card
                    continue
                column = []
                for c in cards:
                    given = card_values.get(c, {})
                    v = given.get(name, reg.hardware_values[c].get(name, math.nan))
                    column.append(reg.parse_value(name, v, where=f"card {c}") if isinstance(v, str) else float(v))
                self.card_arrays[name] = np.asarray(column, dtype=float)
            self.axes.append((CARD, np.arange(len(cards), dtype=float)))
        self.shape = tuple(len(a) for _, a in self.axes)
        self.candidates = math.prod(self.shape) if self.shape else 1
        self.evaluated = 0
        # what to evaluate
        wanted = {objective, *report}
        for c in self.limits + self.rules:
            wanted.update(x for x in (c.lhs, c.rhs) if isinstance(x, str))
        for check in s.checks:
            wanted.update(check.inputs)
        if rule is not None:
            wanted.update(rule.reads)
        self.report = sorted(wanted)
        self.constants: dict[str, Any] = dict(solver.numeric_inputs(s))
        order, again, fixed_formulas, moving = _structure(
            s, frozenset(wanted), frozenset(self.constants), tuple(numbers), tuple(self.card_arrays),
            tuple(rule.names) if rule is not None else ())
        # what no axis reaches is the same at every point: evaluated (and checked) once
        with np.errstate(all="ignore"):
            for f in fixed_formulas:
                try:
                    self.constants[f.target] = _array(np, f.vector(self.constants))
                except (ArithmeticError, ValueError):
                    self.constants[f.target] = math.nan  # out of range: said below
        self.order, self.again = order, again
        quantities = s.registry.quantities
        self.broken = next((f"{f.target} is outside its range ({f.formula.expr})" for f in fixed_formulas
                            if not _in_range(float(self.constants[f.target]), quantities[f.target])), None)
        self.moving_checks = [c for c in s.checks if moving & set(c.inputs)]
        if self.broken is None:
            self.broken = next((c.check.message for c in s.checks if not moving & set(c.inputs)
                                and not bool(c.evaluate(self.constants))), None)
        self.monotone = [c for c in self.limits if c.op == "<=" and isinstance(c.lhs, str)
                         and any(c.lhs in monotone.get(n, ()) for n, _ in self.axes)]
        self.monotone_axis = next((i for i, (n, _) in enumerate(self.axes) if n in monotone
                                   and any(c.lhs in monotone[n] for c in self.monotone)), None)

    # --- evaluation over a block of the grid --------------------------------------------------

    def _env(self, block: list[Any]) -> dict[str, Any]:
        env: dict[str, Any] = dict(self.constants)
        k = len(block)
        for i, ((name, _), values) in enumerate(zip(self.axes, block)):
            shape = [1] * k
            shape[i] = len(values)
            arr = values.reshape(shape)
            if name == CARD:
                for card_name, column in self.card_arrays.items():
                    env[card_name] = column[values.astype(int)].reshape(shape)
            else:
                env[name] = arr
        return env

    def _evaluate(self, block: list[Any]) -> dict[str, Any]:
        np = self.np
        env = self._env(block)
        with np.errstate(all="ignore"):
            for f in self.order:
                env[f.target] = _array(np, f.vector(env))
            if self.rule is not None:
                env.update({k: _array(np, v) for k, v in self.rule.compute(env).items()})
                for f in self.again:
                    env[f.target] = _array(np, f.vector(env))
        return env

    def _valid(self, env, shape) -> tuple[Any, str | None]:
        """Points where the family's rules hold and results lie in their domains; why not, if none."""
        np = self.np
        if self.broken is not None:  # a rule broken, or a result out of range, at every point
            return np.zeros(shape, dtype=bool), self.broken
        ok = np.ones(shape, dtype=bool)
        why = None
        quantities = self.s.registry.quantities
        with np.errstate(all="ignore"):
            for f in self.order:
                value = env[f.target]
                q = quantities[f.target]
                if not isinstance(value, np.ndarray):  # the same at every point
                    if _in_range(value, q):
                        continue
                    good = False
                else:
                    low, high = value.min(), value.max()  # NaN in either: the slow path below
                    if (-math.inf < low and high < math.inf
                            and (q.minimum is None or low >= q.minimum - 1e-9 * max(1.0, abs(q.minimum)))
                            and (q.maximum is None or high <= q.maximum * (1 + 1e-9))):
                        continue  # in range at every point
                    good = np.isfinite(value)
                    if q.minimum is not None:
                        good &= value >= q.minimum - 1e-9 * max(1.0, abs(q.minimum))
                    if q.maximum is not None:
                        good &= value <= q.maximum * (1 + 1e-9)
                    if good.all():
                        continue
                ok &= good
                if why is None and not np.any(ok):
                    why = f"{f.target} is outside its range ({f.formula.expr})"
            for check in self.moving_checks:
                holds = np.asarray(check_vector(check)(env), dtype=bool)
                if not np.all(holds):
                    ok &= holds
                    if why is None and not np.any(ok):
                        why = check.check.message
            for c in self.rules:
                holds = _holds(np, c, env)
                if not np.all(holds):
                    ok &= holds
                    if why is None and not np.any(ok):
                        why = f"no point has {c.text}"
        return np.broadcast_to(ok, shape), why

    # --- the group ------------------------------------------------------------------------------

    def run(self) -> list[Outcome]:
        np = self.np
        n_cards = len(self.cards) if self.cards else 1
        per_card = self.candidates // n_cards
        outcomes = [Outcome(choices={**self.fixed, **({CARD: c} if self.cards else {})},
                            candidates=per_card) for c in (self.cards or [None])]
        full = [values for _, values in self.axes]
        # a grid of one block costs one pass of the formulas whatever its size: pruning it first
        # would only add a pass
        if self.monotone_axis is not None and len(full[self.monotone_axis]) > 1 and self.candidates > self.chunk:
            smallest = list(full)
            smallest[self.monotone_axis] = full[self.monotone_axis][:1]
            env = self._evaluate(smallest)
            shape = tuple(len(v) for v in smallest)
            over = np.zeros(shape, dtype=bool)
            for c in self.monotone:
                with np.errstate(invalid="ignore"):
                    over |= np.broadcast_to(~_holds(np, c, env) & np.isfinite(env[c.lhs]), shape)
            if np.all(over):  # fails at the smallest value, so at every value: decided
                valid, why = self._valid(env, shape)
                self._closest(env, smallest, valid, outcomes, why, pruned=True)
                return outcomes
        for block in _blocks(full, self.chunk):
            env = self._evaluate(block)
            shape = tuple(len(v) for v in block)
            self.evaluated += math.prod(shape)
            valid, why = self._valid(env, shape)
            feasible = valid.copy()
            for c in self.limits:
                feasible &= np.broadcast_to(_holds(np, c, env), shape)
            self._best(env, block, valid, feasible, outcomes)
            if not all(o.feasible for o in outcomes):
                self._closest(env, block, valid, outcomes, why, pruned=False)
        return outcomes

    def _best(self, env, block, valid, feasible, outcomes) -> None:
        np = self.np
        shape = valid.shape
        with np.errstate(all="ignore"):
            ranked = self.score(env) if self.score is not None else env[self.objective]
        sign = -1.0 if self.maximize else 1.0
        columns = shape[-1] if self.cards else 1
        score = np.where(feasible, sign * np.broadcast_to(ranked, shape), np.inf).reshape(-1, columns)
        valid_count = valid.reshape(-1, columns).sum(axis=0)
        feasible_count = feasible.reshape(-1, columns).sum(axis=0)
        rows = np.argmin(score, axis=0)
        best = score[rows, np.arange(columns)]
        cards = block[-1].astype(int) if self.cards else [0]
        chosen = []
        for j, card_index in enumerate(cards):
            out = outcomes[card_index]
            out.valid += int(valid_count[j])
            if not feasible_count[j]:
                continue
            out.feasible += int(feasible_count[j])
            if out.best is None or best[j] < sign * out.best.objective:
                chosen.append(j)
        if not chosen:
            return
        index = np.unravel_index(rows[chosen] * columns + np.asarray(chosen), shape)
        for j, point in zip(chosen, self._points(env, block, index, [sign * best[j] for j in chosen])):
            outcomes[cards[j]].best = point

    def _closest(self, env, block, valid, outcomes, why, pruned) -> None:
        """For each card with no feasible point: the valid point that breaks its constraints least."""
        np = self.np
        shape = valid.shape
        excess = np.zeros(shape)
        first = np.full(shape, -1)
        with np.errstate(all="ignore"):
            for i, c in enumerate(self.limits):
                lhs, rhs = _sides(np, c, env)
                gap = np.broadcast_to((lhs - rhs) / np.maximum(np.abs(rhs), 1e-300), shape)
                if c.op == ">=":
                    gap = -gap
                gap = np.where(np.isfinite(gap), np.maximum(gap, 0.0), np.inf)
                first = np.where((first < 0) & (gap > 0), i, first)
                excess = excess + gap
        excess = np.where(valid, excess, np.inf)
        columns = shape[-1] if self.cards else 1
        flat_excess = excess.reshape(-1, columns)
        for j, card_index in enumerate(block[-1].astype(int) if self.cards else [0]):
            out = outcomes[card_index]
            if out.feasible:
                continue
            out.pruned = out.pruned or pruned
            if pruned:
                out.valid = 0
            flat = int(np.argmin(flat_excess[:, j]))
            if not math.isfinite(flat_excess[flat, j]):
                if out.closest is None and out.invalid is None:
                    out.invalid = why or "no valid point"
                continue
            index = np.unravel_index(flat * columns + j, shape)
            if out.closest is None or flat_excess[flat, j] < out.closest.values.get("__excess__", math.inf):
                point = self._point(env, block, index, math.nan)
                point.values["__excess__"] = float(flat_excess[flat, j])
                out.closest = point
                broken = int(first[index])
                out.broken = self.limits[broken].text if broken >= 0 else None
                out.invalid = None

    def _point(self, env, block, index, objective: float) -> Point:
        np = self.np
        return self._points(env, block, tuple(np.asarray([i]) for i in index), [objective])[0]

    def _points(self, env, block, index: tuple, objectives: list[float]) -> list[Point]:
        """The points at `index` (one array of positions per axis), their reported values read
        with one numpy gather per name."""
        count = len(objectives)
        numbers: list[dict[str, float]] = [{} for _ in range(count)]
        choices = [dict(self.fixed) for _ in range(count)]
        for (name, _), values, where in zip(self.axes, block, index):
            picked = values[where].tolist()
            for k in range(count):
                if name == CARD:
                    choices[k][CARD] = self.cards[int(picked[k])]
                else:
                    numbers[k][name] = picked[k]
        if self.rule is not None:
            for name in self.rule.names:
                for k, v in enumerate(_gather(env[name], index, count)):
                    numbers[k][name] = v
        report = [(n, _gather(env[n], index, count)) for n in self.report if n in env]
        return [Point(choices=choices[k], numbers=numbers[k], values={n: column[k] for n, column in report},
                      objective=float(objectives[k])) for k in range(count)]


_STRUCTURES: dict[tuple, tuple] = {}


class _Lacking(UserError):
    """A group that cannot compute a wanted result, with the inputs it lacks: another kind of card
    gives the same group none of them unless one of its cards does."""

    def __init__(self, message: str, names):
        super().__init__(message)
        self.names = frozenset(names)


def _structure(s, wanted: frozenset, inputs: frozenset, numbers: tuple, card_names: tuple, rule_names: tuple):
    """A group's formulas: (the ones that move with an axis in dependency order, those of them the
    horizon rule recomputes, the ones fixed over the grid, the names that move). It depends on the
    composed scenario and the question's shape only: kept for the next search of that scenario."""
    from costmodel import solver

    key = (id(s), wanted, inputs, numbers, card_names, rule_names)
    known = _STRUCTURES.get(key)
    if known is not None and known[0] is s:
        return known[1]
    order = _ordered(s, _needed(s, wanted))
    available = set(inputs) | set(numbers) | set(card_names)
    lacking: dict[str, tuple[str, ...]] = {}
    for f in order:
        absent = [n for n in f.inputs if n not in available]
        if absent:
            lacking[f.target] = tuple(sorted({m for n in absent for m in lacking.get(n, (n,))}))
        else:
            available.add(f.target)
    order = [f for f in order if f.target in available]
    for name in sorted(wanted - available):
        try:
            solver.explain_missing(s, name, lacking)
        except UserError as exc:
            raise _Lacking(str(exc), lacking.get(name, ())) from None
    again = []
    if rule_names:
        downstream = set(rule_names)
        for f in order:
            if not downstream.isdisjoint(f.inputs):
                downstream.add(f.target)
                again.append(f)
    moving = set(numbers) | set(card_names) | set(rule_names)
    fixed_formulas = []
    for f in order:
        if not moving.isdisjoint(f.inputs):
            moving.add(f.target)
        else:
            fixed_formulas.append(f)
    result = ([f for f in order if f.target in moving], [f for f in again if f.target in moving],
              fixed_formulas, frozenset(moving))
    if len(_STRUCTURES) >= 4096:
        _STRUCTURES.pop(next(iter(_STRUCTURES)))
    _STRUCTURES[key] = (s, result)
    return result


def _needed(s, wanted) -> set[str]:
    """The formulas the wanted names depend on (one walk for all of them)."""
    seen: set[str] = set()
    stack = [n for n in wanted if n in s.formulas]
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        stack.extend(n for n in s.formulas[name].inputs if n in s.formulas and n not in seen)
    return seen


def _ordered(s, names: set[str]) -> list:
    """The formulas of `names` in dependency order (inputs first): a walk of the few a search
    needs, cheaper than ordering the whole scenario. A cycle cannot occur: composing checked."""
    result: list = []
    done: set[str] = set()

    def visit(name: str) -> None:
        if name in done or name not in names:
            return
        done.add(name)
        for dep in s.formulas[name].inputs:
            visit(dep)
        result.append(s.formulas[name])

    for name in sorted(names):
        visit(name)
    return result


def _gather(value, index: tuple, count: int) -> list[float]:
    """Some points of a value broadcast over the axes (an array with 1 on the axes it ignores)."""
    if not hasattr(value, "shape") or value.size == 1:
        return [float(value if not hasattr(value, "shape") else value.ravel()[0])] * count
    return value[tuple(i if n > 1 else 0 for i, n in zip(index, value.shape))].astype(float).tolist()


def _in_range(value: float, q) -> bool:
    if not math.isfinite(value):
        return False
    if q.minimum is not None and value < q.minimum - 1e-9 * max(1.0, abs(q.minimum)):
        return False
    return q.maximum is None or value <= q.maximum * (1 + 1e-9)


def _array(np, value):
    if isinstance(value, np.ndarray):
        return value.astype(float) if value.dtype == bool else value
    return float(value)


def _sides(np, c, env):
    lhs = env[c.lhs] if isinstance(c.lhs, str) else c.lhs
    rhs = env[c.rhs] * c.rhs_scale if isinstance(c.rhs, str) else c.rhs
    return np.asarray(lhs, dtype=float), np.asarray(rhs, dtype=float)


def _holds(np, c, env):
    lhs, rhs = _sides(np, c, env)
    slack = 1e-12 * np.maximum(np.abs(lhs), np.abs(rhs))
    return lhs <= rhs + slack if c.op == "<=" else lhs >= rhs - slack


_CHECKS: dict[tuple, Any] = {}


def check_vector(check):
    """A family check compiled over numpy arrays (cached by its program)."""
    if check.program not in _CHECKS:
        from costmodel.programs import compile_program

        _CHECKS[check.program] = compile_program(check.program, numpy=True)
    return _CHECKS[check.program]


def _blocks(axes: list[Any], chunk: int):
    """The grid in blocks of at most `chunk` points: leading axes one value at a time, one axis
    sliced, the trailing axes whole."""
    sizes = [len(a) for a in axes]
    if math.prod(sizes) <= chunk:
        yield list(axes)
        return
    j = 0
    while math.prod(sizes[j + 1:]) > chunk:
        j += 1
    step = max(1, chunk // math.prod(sizes[j + 1:]))
    for lead in itertools.product(*(range(n) for n in sizes[:j])):
        for start in range(0, sizes[j], step):
            block = [axes[i][k:k + 1] for i, k in enumerate(lead)]
            block.append(axes[j][start:start + step])
            block.extend(axes[j + 1:])
            yield block


# --- `costmodel solve --maximize X --free NAME,...` ------------------------------------------------

MAX_FREE_INTEGER = 1024  # an integer objective freed without a range: searched over 1..this


def solve_free(family: str, objective: str, maximize: bool, constraints: Sequence[str],
               free: Sequence[str], **scenario):
    """The best `objective` over the free inputs (`NAME` for a choice or switch, `NAME=1..64` for a
    number), subject to `constraints`: an Evaluation of the winner, saying what was chosen."""
    from costmodel import api, solver, units
    from costmodel.sweep import expand_range

    reg = api.registry(scenario.get("plugins", ()))
    space: dict[str, list[Any]] = {}
    for item in (part.strip() for text in free for part in _split_free(text)):
        name, sep, text = item.partition("=")
        q = reg.quantity(name.strip())
        if sep:
            space[q.name] = [v for part in text.split(",") for v in expand_range(part.strip(), q.name)]
        elif q.kind == "choice":
            space[q.name] = list(q.choices)
        elif q.kind == "bool":
            space[q.name] = [False, True]
        elif q.kind == "integer" and q.name == objective:
            space[q.name] = list(range(1, MAX_FREE_INTEGER + 1))
        else:
            raise UserError(f"--free {q.name}: give the values to try, e.g. --free {q.name}=1..64")
    values = dict(scenario.pop("values", None) or {})
    q = reg.quantity(objective)
    base = api.scenario(family, values=values, **scenario)
    if objective in base.values and objective not in base.formulas and objective not in space:
        if q.kind != "integer":
            raise UserError(f"{objective} is an input: free it with a range, e.g. --free {objective}=1..64")
        space[objective] = list(range(1, MAX_FREE_INTEGER + 1))
    found = search({"family": family, "values": values, **scenario}, space, objective=objective,
                   maximize=maximize, constraints=constraints)
    best = found.best
    if best is None:
        near = [o for o in found.outcomes if o.closest is not None]
        why = ""
        if near:
            o = min(near, key=lambda o: o.closest.values.get("__excess__", math.inf))
            why = f"; the nearest, {o.closest.setting()}, breaks {o.broken}"
        raise UserError(f"no combination of {', '.join(space)} meets " + ", ".join(constraints) + why)
    chosen = best.setting()
    result = solver.evaluate(api.scenario(family, values={**values, **chosen}, **scenario))
    shown = ", ".join(f"{k} = {v if isinstance(v, str) else units.format_number(float(v))}" for k, v in chosen.items())
    how = "largest" if maximize else "smallest"
    result.warnings.insert(0, f"{shown} chosen: the {how} {objective} of {found.candidates:,} candidates"
                              + (" subject to " + ", ".join(constraints) if constraints else ""))
    return result


def _split_free(text: str) -> list[str]:
    """'optimizer,checkpointing,micro_batch=1..64' -> the three items (a range may hold commas
    only after '=': 'micro_batch=1,2,4' stays one item)."""
    items: list[str] = []
    for part in text.split(","):
        if items and "=" in items[-1] and "=" not in part and not part.strip().isidentifier():
            items[-1] += "," + part
        else:
            items.append(part)
    return [i for i in items if i.strip()]
