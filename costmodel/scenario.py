"""A scenario: one family, its preset and config, one card, recipe choices and the user's values.

Composing a scenario layers the values (quantity defaults < recipe defaults < hardware < family
defaults < preset < config file < user), decides every formula's condition, and keeps for each derived quantity the one
formula that applies (a family's own formula before a generic one). A value the user gives for a
derived quantity either replaces a default rule (`overridable`) or becomes a constraint that the
solver meets by freeing an upstream input.
"""

from __future__ import annotations

import enum
import functools
import graphlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from costmodel.declarations import PRESET_CARD, Family, Hardware, Value
from costmodel.errors import UserError
from costmodel import memo
from costmodel.memo import Memo
from costmodel.registry import CompiledCheck, CompiledFormula, Registry


class Source(enum.Enum):
    """Where an input's value came from, in the order the layers apply."""

    DEFAULT = "default"  # the quantity's own default
    RECIPE = "recipe default"
    HARDWARE = "hardware"  # a card's datasheet value
    FAMILY = "family default"
    PRESET = "preset"
    CONFIG = "config"
    USER = "user"
    FREED_RULE = "default rule, freed"  # a family rule the solver turned into an input


@attrs.frozen
class Origin:
    """An input's provenance: the layer (`source`) and which one (`detail`: card, family, preset,
    config file). `str()` is the text users see ("hardware RTX 4070", "preset small")."""

    source: Source
    detail: str = ""

    def __str__(self) -> str:
        if self.source is Source.FAMILY:
            return f"{self.detail} default"
        if self.source in (Source.HARDWARE, Source.PRESET, Source.CONFIG):
            return f"{self.source.value} {self.detail}"
        return self.source.value


@attrs.frozen(kw_only=True, eq=False)
class Scenario:
    registry: Registry = attrs.field(repr=False)
    family: Family
    preset: str | None
    config: str | None
    hardware: Hardware | None
    values: dict[str, Any]  # inputs: float in canonical unit, or str for choices
    origins: dict[str, Origin]
    pinned: frozenset[str]  # given by the user (never freed by the solver)
    formulas: dict[str, CompiledFormula] = attrs.field(repr=False)
    checks: tuple[CompiledCheck, ...] = attrs.field(repr=False)
    constraints: dict[str, float]  # derived quantity -> the user's value
    request: dict[str, Any] = attrs.field(repr=False)  # the arguments of `compose`
    notes: tuple[str, ...] = ()  # what reading the request left out (a config file's ignored keys, a loader's notes)

    @property
    def choices(self) -> dict[str, Any]:
        q = self.registry.quantities
        return {k: v for k, v in self.values.items() if q[k].kind in ("choice", "bool")}

    def unit(self, name: str) -> str:
        return self.registry.quantities[name].unit

    def with_values(self, values: Mapping[str, Value]) -> Scenario:
        """The same scenario with more user values (re-composed: choices may change formulas)."""
        request = dict(self.request)
        request["values"] = {**request.get("values", {}), **values}
        return compose(self.registry, **request)

    @functools.cached_property
    def order(self) -> list[CompiledFormula]:
        """The formulas in dependency order (inputs before what reads them)."""
        return [self.formulas[name] for name in _topological(self.formulas)]


def compose(
    registry: Registry,
    family: str,
    *,
    preset: str | None = None,
    config: str | None = None,
    config_overrides: list[str] | tuple[str, ...] = (),
    hardware: str | Hardware | None = None,
    values: Mapping[str, Value] | None = None,
) -> Scenario:
    fam = registry.family(family)
    layered: dict[str, Any] = {}
    origins: dict[str, Origin] = {}

    def put(items, origin: Origin, key=None) -> None:  # one layer of values, parsed (once per content)
        if key is None:
            items = tuple(items)
            key = (origin, tuple((name, type(value), value) for name, value in items))  # True is not 1 here
            make = lambda: _parse_layer(registry, fam, items, origin)  # noqa: E731
        else:  # a layer the registry alone decides, remembered by its name (items: what makes them)
            make = lambda: _parse_layer(registry, fam, tuple(items()), origin)  # noqa: E731
        values = _LAYERS.get(registry, key, make)
        layered.update(values)
        origins.update(dict.fromkeys(values, origin))

    put(lambda: _defaults(registry), Origin(Source.DEFAULT), key="defaults")
    put(lambda: ((r.name, r.default) for r in registry.recipes.values()), Origin(Source.RECIPE), key="recipes")
    preset_values: dict[str, Value] = {}
    if preset is not None:
        if preset not in fam.presets:
            from costmodel.errors import unknown

            raise unknown(f"preset of {fam.name}", preset, fam.presets)
        preset_values = dict(fam.presets[preset])
    preset_card = preset_values.pop(PRESET_CARD, None)  # a run preset names the card it ran on
    card = _card(registry, hardware if hardware is not None else preset_card)
    if card is not None:
        put(card.values.items(), Origin(Source.HARDWARE, card.name))
    put(fam.defaults.items(), Origin(Source.FAMILY, fam.name))
    put(preset_values.items(), Origin(Source.PRESET, preset))
    notes = []
    if config is not None or config_overrides:
        if fam.config_loader is None:
            raise UserError(f"family {fam.name} reads no config files or flags")
        where = Origin(Source.CONFIG, Path(config).name if config else "flags")
        loaded = fam.config_loader(config, list(config_overrides))
        notes += list(getattr(loaded, "notes", ()))  # a loader may return notes with its values
        read = dict(loaded)
        ignored = read.pop(IGNORED_KEYS, ())
        if ignored:
            label = f"config {Path(config).name}" if config else "flags"
            notes.append(f"{label}: read but not modelled (no cost depends on them): {', '.join(ignored)}")
        put(read.items(), where)
    put((values or {}).items(), Origin(Source.USER))
    pinned = set(values or {})

    switches = _SWITCHES.get(registry, "switches", lambda: frozenset(
        name for name, q in registry.quantities.items() if q.kind in ("choice", "bool")))
    choices = {k: v for k, v in layered.items() if k in switches}
    selected, acyclic, checks = _SELECTED.get(registry, (fam.name, tuple(sorted(choices.items()))),
                                              lambda: _selection(registry, fam, choices))
    formulas = dict(selected)
    for name in [n for n in layered if origins[n].source is Source.DEFAULT and n in formulas]:
        del layered[name]  # a quantity's own default yields to any formula for it
    constraints = {}
    for name in list(formulas):
        if name in layered:
            if formulas[name].formula.overridable or name not in pinned:
                del formulas[name]  # a default rule the given value replaces
            else:
                constraints[name] = layered.pop(name)
    if not acyclic:  # (removing formulas from an acyclic selection cannot make a cycle)
        _check_acyclic(formulas)
    return Scenario(
        registry=registry,
        family=fam,
        preset=preset,
        config=config,
        hardware=card,
        values=layered,
        origins=origins,
        pinned=frozenset(pinned),
        formulas=formulas,
        checks=checks,
        constraints=constraints,
        request=dict(
            family=family,
            preset=preset,
            config=config,
            config_overrides=tuple(config_overrides),
            hardware=card,
            values=dict(values or {}),
        ),
        notes=tuple(notes),
    )


IGNORED_KEYS = "__ignored__"  # in what a config_loader returns: keys it read and does not model

# what composing repeats for every scenario of a search, remembered per content (costmodel.memo)
_SWITCHES = Memo(4)  # the names of the choices and switches
_LAYERS = Memo(4096)  # (a layer's items, its origin), or the name of a registry's layer -> the parsed values
_SELECTED = Memo(8192)  # (family, choices) -> (formulas, whether they are acyclic, checks)
_LOOPS = Memo(16)  # family -> where its formulas could form a cycle
_SELECTORS = Memo(16)  # family -> its formulas grouped by the choices their conditions read


def _defaults(registry: Registry) -> tuple[tuple[str, Value], ...]:
    return tuple((q.name, q.default) for q in registry.quantities.values() if q.default is not None)


def _parse_layer(registry: Registry, fam: Family, items, origin: Origin) -> dict[str, Any]:
    where = "" if origin.source is Source.USER else str(origin)
    parsed = {}
    for name, value in items:
        if name not in registry.quantities:
            raise _unknown_input(registry, fam, name, origin)
        parsed[name] = registry.parse_value(name, value, where=where)
    return parsed


def _selection(registry: Registry, fam: Family, choices: dict[str, Any]):
    """The formulas and checks that apply for these choices, and whether the formulas are acyclic."""
    selected = _select(registry, fam, choices)
    checks = tuple(
        c for c in registry.family_checks.get(fam.name, ()) if c.condition is None or _holds(c, choices)
    )
    loops = _LOOPS.get(registry, fam.name, lambda: _loops(registry, fam))
    acyclic = all(_sorted_graph(_graph({n: selected[n] for n in loop if n in selected})) is not None for loop in loops)
    return selected, acyclic, checks


def _loops(registry: Registry, fam: Family) -> list[frozenset[str]]:
    """The groups of targets that the family's candidate formulas, all taken at once, make mutually
    dependent (strongly connected, or reading themselves): a cycle of any selection lies in one."""
    graph: dict[str, set[str]] = {}
    for f in [*registry.family_formulas.get(fam.name, ()), *registry.formulas]:
        graph.setdefault(f.target, set()).update(f.inputs)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    loops = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1 or v in graph.get(v, ()):
                loops.append(frozenset(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return loops


def _card(registry: Registry, hardware: str | Hardware | None) -> Hardware | None:
    if hardware is None or isinstance(hardware, Hardware):
        return hardware
    if hardware.endswith(".toml") or Path(hardware).is_file():
        card = Hardware.from_toml(hardware)
        for name in card.values:
            registry.quantity(name)
        return card
    return registry.card(hardware)


def _holds(item, choices: dict[str, Any]) -> bool:
    try:
        return item.condition.holds(choices)
    except KeyError:
        return False


def _select(registry: Registry, fam: Family, choices: dict[str, Any]) -> dict[str, CompiledFormula]:
    """For each target the one applicable formula; a family's own formulas come first."""
    if not memo.on():
        return _select_each(registry, fam, choices)
    return _SELECTORS.get(registry, fam.name, lambda: _Selector(registry, fam)).select(registry, fam, choices)


class _Selector:
    """`_select` by parts: the targets grouped by the choices their formulas' conditions read, each
    group's pick remembered per the values of those choices (a search's combinations of choices
    share most of them). The formulas keep `_select_each`'s order: the family's, then the
    generic ones, each in the order declared."""

    def __init__(self, registry: Registry, fam: Family):
        candidates: dict[str, list[tuple[int, int, str, CompiledFormula]]] = {}
        levels = (registry.family_formulas.get(fam.name, ()), registry.formulas)
        for level, formulas in enumerate(levels):
            for position, f in enumerate(formulas):  # (level, position) as one number: the order kept
                candidates.setdefault(f.target, []).append((level, level * len(levels[0]) + position, f.target, f))
        groups: dict[tuple[str, ...], list] = {}
        for found in candidates.values():
            names = set().union(*(f.condition.names for *_, f in found if f.condition is not None))
            groups.setdefault(tuple(sorted(names)), []).append(found)
        self.groups = [(names, targets, {}) for names, targets in groups.items()]

    def select(self, registry: Registry, fam: Family, choices: dict[str, Any]) -> dict[str, CompiledFormula]:
        picked = []
        for names, targets, known in self.groups:
            key = tuple(choices.get(n, _ABSENT) for n in names)
            part = known.get(key)
            if part is None:
                part = known[key] = _pick(targets, choices)
            if part is _OVERLAP:
                return _select_each(registry, fam, choices)  # which says which two formulas overlap
            picked.extend(part)
        picked.sort()  # by the one number (unique: the rest is never compared)
        return {target: f for _, target, f in picked}


_ABSENT = object()  # a choice without a value (its conditions do not hold)
_OVERLAP = object()  # two formulas of one level apply for a target


def _pick(targets, choices: dict[str, Any]):
    """(order, target, formula) of each target's applicable formula, or _OVERLAP."""
    out = []
    for found in targets:
        for level in (0, 1):
            applicable = [(order, target, f) for lv, order, target, f in found
                          if lv == level and (f.condition is None or _holds(f, choices))]
            if len(applicable) > 1:
                return _OVERLAP
            if applicable:
                out.append(applicable[0])
                break
    return out


def _select_each(registry: Registry, fam: Family, choices: dict[str, Any]) -> dict[str, CompiledFormula]:
    """`_select` formula by formula (the reference `_Selector` must equal)."""
    chosen: dict[str, CompiledFormula] = {}
    decided: dict[str, bool] = {}  # condition text -> whether it holds (many formulas share one)
    for level in (registry.family_formulas.get(fam.name, ()), registry.formulas):
        level_targets: dict[str, CompiledFormula] = {}
        for f in level:
            if f.target in chosen:
                continue
            if f.condition is not None:
                holds = decided.get(f.condition.text)
                if holds is None:
                    holds = decided[f.condition.text] = _holds(f, choices)
                if not holds:
                    continue
            other = level_targets.get(f.target)
            if other is not None:
                raise UserError(
                    f"two formulas apply for {f.target}: {other.formula.expr!r} ({other.plugin}) "
                    f"and {f.formula.expr!r} ({f.plugin}); their conditions must not overlap"
                )
            level_targets[f.target] = f
        chosen.update(level_targets)
    return chosen


def _graph(formulas: dict[str, CompiledFormula]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return tuple((name, tuple(d for d in f.inputs if d in formulas)) for name, f in sorted(formulas.items()))


def _topological(formulas: dict[str, CompiledFormula]) -> list[str]:
    """The targets of `formulas` with every formula after those it reads; a cycle is an error."""
    return list(_ordered_graph(_graph(formulas)))


@functools.lru_cache(maxsize=1024)
def _sorted_graph(graph: tuple[tuple[str, tuple[str, ...]], ...]) -> tuple[str, ...] | None:
    """graphlib's order of a dependency graph, kept per graph (a search composes hundreds of
    scenarios that share a few graphs); None for a graph with a cycle."""
    try:
        return tuple(graphlib.TopologicalSorter(dict(graph)).static_order())
    except graphlib.CycleError:
        return None


def _ordered_graph(graph: tuple[tuple[str, tuple[str, ...]], ...]) -> tuple[str, ...]:
    order = _sorted_graph(graph)
    if order is None:
        try:
            graphlib.TopologicalSorter(dict(graph)).prepare()
        except graphlib.CycleError as exc:
            cycle = list(reversed(exc.args[1]))
            raise UserError(f"formulas form a cycle: {' -> '.join(cycle)}") from None
    return order


def _check_acyclic(formulas: dict[str, CompiledFormula]) -> None:
    _topological(formulas)


def _unknown_input(registry: Registry, fam: Family, name: str, origin: Origin) -> UserError:
    from costmodel.errors import unknown

    error = unknown("quantity", name, registry.quantities)
    return UserError(str(error) if origin.source is Source.USER else f"{origin}: {error}")
