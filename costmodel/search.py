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

A group's evaluation lives in costmodel/search_group.py, its structure in costmodel/search_structure.py.

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
from costmodel.memo import Memo

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
        rest = np.empty((len(points), len(metrics) - 1))  # the kept points' other metrics, row by row
        for p in points:  # a later point never beats an earlier one on every metric
            others = np.array([p.values[m] for m in metrics[1:]])
            if kept and np.any(np.all(rest[:len(kept)] <= others, axis=1)):
                continue
            rest[len(kept)] = others
            kept.append(p)
        sign = -1.0 if self.maximize else 1.0
        return sorted(kept, key=key or (lambda p: sign * p.objective))


@attrs.frozen(kw_only=True)
class Rule:
    """Inputs computed from a first evaluation: `compute(env)` returns {name: array}. `refine(env)`,
    when given, corrects them once from the evaluation at the computed values (a cost that grows
    with them, e.g. evaluations every eval_interval steps, is only known there); it reads the same
    results."""

    names: tuple[str, ...]
    compute: Callable[[Mapping[str, Any]], dict[str, Any]]
    reads: tuple[str, ...]  # results compute() needs from the first evaluation
    refine: Callable[[Mapping[str, Any]], dict[str, Any]] | None = None


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
    from costmodel import api, memo
    from costmodel.search_group import Shared, _Group
    from costmodel.search_structure import _Lacking

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
    hopeless: dict[tuple, Any] = {}  # combinations lacking an input no card gives
    shared = Shared() if memo.on() else None  # results the groups share (costmodel.search_group)

    def refuse(fixed, alike, message: str) -> None:  # this combination of choices cannot answer
        errors.append(message)
        size = math.prod(len(parsed[n]) for n in numbers)
        result.outcomes.extend(Outcome(choices={**fixed, **({CARD: c} if alike else {})}, candidates=size,
                                       invalid=message) for c in (alike or [None]))
        result.candidates += size * len(alike or [None])

    for alike in kinds.values() if cards else [None]:
        hardware = reg.card(alike[0]) if alike else base["hardware"]  # a card, not a name: no file looked up
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
                               alike, card_values or {}, rule, score, monotone, chunk, set(values), shared)
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


_COMPOSED = Memo(4096)


def _compose(reg, base: Mapping[str, Any], hardware, values: Mapping[str, Any]):
    """A group's scenario from the user's request as `api.scenario` read it, with the group's
    choices and numbers; kept for the next search of the same request (a plan asked again)."""
    from costmodel.scenario import compose

    def make():
        return compose(reg, base["family"], preset=base["preset"], config=base["config"],
                       config_overrides=base["config_overrides"], hardware=hardware, values=dict(values))

    if base.get("config") is not None:  # a file may change between two searches
        return make()
    card = hardware.name if hasattr(hardware, "name") else hardware
    key = (base["family"], base["preset"], tuple(base["config_overrides"]), card,
           tuple(sorted((k, repr(v)) for k, v in values.items())))
    return _COMPOSED.get(reg, key, make)


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
