"""Everything the loaded plugins declared, parsed and checked once.

The registry collects records from the hooks in a fixed order (quantities, recipes, families,
hardware, formulas), parses every formula into sympy, checks its dimensions with pint, and keeps a
compiled numeric form beside it. A record that fails is reported with the plugin's name; the
plugin's other records and the other plugins still load.
"""

from __future__ import annotations

import contextlib
import contextvars
import difflib

import functools
import math
import re
from typing import Any

import attrs

from costmodel import programs, units
from costmodel.declarations import PRESET_CARD, Check, Family, Formula, Hardware, Quantity, Recipe, Value
from costmodel.errors import PluginError, UserError, unknown
from costmodel.memo import Memo


@functools.cache
def symbol(name: str):
    """The one sympy symbol of a quantity or unit name.

    No assumptions: sympy then asks none while building expressions (fast), and never simplifies
    a condition such as `b != 0` away; the solver adds positivity where it solves.
    """
    import sympy as sp

    return sp.Symbol(name)


class _Picklable:
    """Pickles its fields only: the cached closures and sympy trees are rebuilt on demand."""

    def __getstate__(self):
        return {f.name: getattr(self, f.name) for f in attrs.fields(type(self))}

    def __setstate__(self, state):
        for name, value in state.items():
            object.__setattr__(self, name, value)


@attrs.frozen(kw_only=True, eq=False, slots=False)
class CompiledFormula(_Picklable):
    """A registered formula, parsed and dimension-checked, with its fast numeric program.

    `program` is the expression over magnitudes in canonical units (unit conversions folded in)
    as a tuple tree; `expr` (as written, units kept) and `numeric` (sympy of the program) are
    rebuilt lazily for derivations and symbolic solving.
    """

    formula: Formula
    plugin: str
    family: str | None
    inputs: tuple[str, ...]
    unit_names: tuple[str, ...]
    program: tuple = attrs.field(repr=False)
    condition: programs.Condition | None = attrs.field(repr=False)

    @property
    def target(self) -> str:
        return self.formula.target

    @functools.cached_property
    def expr(self):
        """The sympy expression as written (unit symbols kept), for derivations."""
        return _reparse(self.formula.expr, self.inputs, self.unit_names)

    @functools.cached_property
    def numeric(self):
        """The sympy form of the program (magnitudes in canonical units)."""
        from costmodel.expressions import to_sympy

        return to_sympy(self.program)

    @functools.cached_property
    def evaluate(self):
        """Scalar closure: env (name -> float) -> float; a division by zero or an overflow is a
        one-line error naming the formula and the inputs that caused it."""
        return _guarded(programs.compile_program(self.program), self.target, self.inputs)

    @functools.cached_property
    def vector(self):
        """The same over numpy arrays (sweeps)."""
        return programs.compile_program(self.program, numpy=True)


@attrs.frozen(kw_only=True, eq=False, slots=False)
class CompiledCheck(_Picklable):
    check: Check
    plugin: str
    inputs: tuple[str, ...]
    unit_names: tuple[str, ...]
    program: tuple = attrs.field(repr=False)
    condition: programs.Condition | None = attrs.field(repr=False)

    @functools.cached_property
    def relation(self):
        from costmodel.expressions import to_sympy

        return to_sympy(self.program)

    @functools.cached_property
    def evaluate(self):
        return programs.compile_program(self.program)


def _reparse(text: str, names: tuple[str, ...], unit_names: tuple[str, ...]):
    from costmodel import expressions

    known = set(names) | set(unit_names)

    def resolve(name: str):
        if name not in known:
            raise programs.ExpressionError(f"unknown name {name!r}")
        return symbol(name)

    return expressions.parse(text, resolve)


@attrs.define
class Registry:
    """What the plugins declared. Built by `costmodel.loading.load_registry()`."""

    quantities: dict[str, Quantity] = attrs.Factory(dict)
    quantity_origin: dict[str, str] = attrs.Factory(dict)
    recipes: dict[str, Recipe] = attrs.Factory(dict)
    families: dict[str, Family] = attrs.Factory(dict)
    family_origin: dict[str, str] = attrs.Factory(dict)
    family_aliases: dict[str, str] = attrs.Factory(dict)
    family_formulas: dict[str, list[CompiledFormula]] = attrs.Factory(dict)
    family_checks: dict[str, list[CompiledCheck]] = attrs.Factory(dict)
    formulas: list[CompiledFormula] = attrs.Factory(list)
    hardware: dict[str, Hardware] = attrs.Factory(dict)
    hardware_values: dict[str, dict[str, float]] = attrs.Factory(dict)
    hardware_aliases: dict[str, str] = attrs.Factory(dict)
    log_formats: dict[str, Any] = attrs.Factory(dict)  # name -> costmodel.calibrate.LogFormat
    failures: list[tuple[str, str]] = attrs.Factory(list)
    notes: list[tuple[str, str]] = attrs.Factory(list)  # harmless oddities, shown by `plugins`

    # --- lookups with the user's spelling ------------------------------------------------

    def family(self, name: str) -> Family:
        key = self.family_aliases.get(name.lower(), name)
        if key not in self.families:
            raise unknown("family", name, self.families)
        return self.families[key]

    def card(self, name: str) -> Hardware:
        key = self.hardware_aliases.get(_alias_key(name))
        if key is None:
            raise unknown("hardware", name, self.hardware)
        return self.hardware[key]

    def group(self, group: str) -> list[str]:
        """The quantities in a view (`Quantity.groups`), in declaration order."""
        return [name for name, q in self.quantities.items() if group in q.groups]

    def quantity(self, name: str) -> Quantity:
        if name not in self.quantities:
            raise unknown("quantity", name, self.quantities)
        return self.quantities[name]

    # --- adding records (each raises PluginError naming what is wrong) ----------------------

    def add_quantity(self, q: Quantity, plugin: str) -> None:
        _check_type(q, Quantity)
        units.unit(q.unit)  # the unit must exist
        if q.name not in self.quantities and units.is_unit_name(q.name):
            raise PluginError(f"quantity name {q.name!r} is also a unit; formulas could not tell "
                              "them apart: choose another name")
        if q.kind == "choice" and not q.choices:
            raise PluginError(f"quantity {q.name!r} is a choice with no choices")
        existing = self.quantities.get(q.name)
        if existing is not None:
            if (existing.unit, existing.kind) != (q.unit, q.kind):
                raise PluginError(
                    f"quantity {q.name!r} is declared by {self.quantity_origin[q.name]} as "
                    f"{existing.kind} [{existing.unit}] and here as {q.kind} [{q.unit}]"
                )
            if q.kind == "choice" and set(q.choices) - set(existing.choices):
                merged = existing.choices + tuple(c for c in q.choices if c not in existing.choices)
                self.quantities[q.name] = attrs.evolve(existing, choices=merged)
            if set(q.groups) - set(existing.groups):  # a plugin may show a shared name in a view
                groups = existing.groups + tuple(g for g in q.groups if g not in existing.groups)
                self.quantities[q.name] = attrs.evolve(self.quantities[q.name], groups=groups)
            return
        self.quantities[q.name] = q
        self.quantity_origin[q.name] = plugin
        if q.default is not None:
            try:
                self.parse_value(q.name, q.default, where=f"default of {q.name}")
            except UserError as exc:
                del self.quantities[q.name]
                raise PluginError(str(exc)) from None

    def add_recipe(self, recipe: Recipe, plugin: str) -> list[Formula]:
        _check_type(recipe, Recipe)
        names = [c.name for c in recipe.choices]
        new_choices = recipe.choices
        if recipe.name in self.recipes:
            old = self.recipes[recipe.name]
            clash = set(names) & {c.name for c in old.choices}
            if clash:
                raise PluginError(f"recipe {recipe.name!r}: choices {sorted(clash)} already exist")
            recipe = attrs.evolve(old, choices=old.choices + recipe.choices)
        self.recipes[recipe.name] = recipe
        self.add_quantity(
            Quantity(name=recipe.name, doc=recipe.doc, kind="choice", choices=names), plugin
        )
        formulas = []
        for choice in new_choices:
            for f in choice.formulas:
                extra = f'{recipe.name} == "{choice.name}"'
                condition = f"({f.condition}) and {extra}" if f.condition else extra
                formulas.append(attrs.evolve(f, condition=condition))
        return formulas

    def add_family(self, family: Family, plugin: str) -> None:
        _check_type(family, Family)
        if family.name in self.families:
            raise PluginError(
                f"family {family.name!r} is already declared by {self.family_origin[family.name]}"
            )
        for q in family.quantities:
            self.add_quantity(q, plugin)
        compiled = [self.compile(f, plugin, family.name) for f in family.formulas]
        checks = [self.compile_check(c, plugin) for c in family.checks]
        family = attrs.evolve(
            family,
            defaults=self._known(family.defaults, f"family {family.name!r} defaults", plugin),
            presets={preset: {**self._known({k: v for k, v in values.items() if k != PRESET_CARD},
                                            f"family {family.name!r} preset {preset!r}", plugin),
                              **({PRESET_CARD: values[PRESET_CARD]} if PRESET_CARD in values else {})}
                     for preset, values in family.presets.items()},
        )
        for name, value in family.defaults.items():
            self.parse_value(name, value, where=f"family {family.name!r} defaults")
        for preset, values in family.presets.items():
            for name, value in values.items():
                if name != PRESET_CARD:  # a run preset's card: looked up when it is used
                    self.parse_value(name, value, where=f"family {family.name!r} preset {preset!r}")
        self.families[family.name] = family
        self.family_origin[family.name] = plugin
        self.family_formulas[family.name] = compiled
        self.family_checks[family.name] = checks
        for alias in (family.name, *family.aliases):
            self.family_aliases[alias.lower()] = family.name

    def _known(self, values: dict, where: str, plugin: str) -> dict:
        """`values` without the names no loaded plugin declares. A name close to a declared one is
        a misspelling (an error naming the closest names); any other is a recipe or feature of a
        plugin that is not loaded: dropped, with a note the user sees."""
        absent = sorted(n for n in values if n not in self.quantities)
        for name in absent:
            close = difflib.get_close_matches(name, list(self.quantities), n=3, cutoff=0.85)
            if close:
                raise PluginError(f"{where}: unknown quantity {name!r}; did you mean: {', '.join(close)}")
        if absent:
            self.notes.append((plugin, f"{where}: {', '.join(absent)} ignored (no loaded plugin declares "
                                       f"{'it' if len(absent) == 1 else 'them'})"))
        return {k: v for k, v in values.items() if k not in absent}

    def add_hardware(self, card: Hardware, plugin: str) -> None:
        _check_type(card, Hardware)
        values = {}
        for name, text in card.values.items():
            if not card.sources.get(name, "").strip():
                raise PluginError(f"hardware {card.name!r}: {name} has no source")
        absent = sorted(n for n in card.values if n not in self.quantities)
        if absent:  # e.g. the time model's hfu_ceiling when that plugin is not loaded: the card still works
            self.notes.append((plugin, f"hardware {card.name!r}: {', '.join(absent)} ignored "
                                       "(no loaded plugin declares them)"))
            card = attrs.evolve(card, values={k: v for k, v in card.values.items() if k not in absent},
                                sources={k: v for k, v in card.sources.items() if k not in absent})
        for name, text in card.values.items():
            values[name] = self.parse_value(name, text, where=f"hardware {card.name!r}")
        key = card.name
        if key in self.hardware:
            raise PluginError(f"hardware {card.name!r} is already declared")
        for alias in (card.name, *card.aliases):
            other = self.hardware_aliases.get(_alias_key(alias))
            if other is not None and other != key:
                raise PluginError(f"hardware alias {alias!r} of {card.name!r} is taken by {other!r}")
        self.hardware[key] = card
        self.hardware_values[key] = values
        for alias in (card.name, *card.aliases):
            self.hardware_aliases[_alias_key(alias)] = key

    def add_log_format(self, log_format, plugin: str) -> None:
        from costmodel.calibrate import LogFormat

        _check_type(log_format, LogFormat)
        if log_format.name in self.log_formats:
            raise PluginError(f"log format {log_format.name!r} is already declared")
        self.log_formats[log_format.name] = log_format

    def add_formula(self, formula: Formula, plugin: str) -> None:
        compiled = self.compile(formula, plugin, None)
        if compiled.condition is None:  # an unconditional second formula would break every scenario
            for other in self.formulas:
                if other.target == compiled.target and other.condition is None and other.plugin != plugin:
                    raise PluginError(f"formula {formula.target} = {formula.expr!r} re-defines "
                                      f"{formula.target}, which {other.plugin} defines always")
        self.formulas.append(compiled)

    # --- parsing and checking ---------------------------------------------------------------

    def resolve(self, name: str):
        if name in self.quantities:
            return symbol(name)
        if units.is_unit_name(name):
            return symbol(name)
        close = unknown("quantity", name, self.quantities)
        raise programs.ExpressionError(f"{name!r} is neither a quantity nor a unit ({close})")

    def compile(self, f: Formula, plugin: str, family: str | None) -> CompiledFormula:
        """The formula parsed, checked and compiled; the same record over the same declarations of
        the names it reads is compiled once per process (registries rebuilt with one more plugin
        recompile only that plugin's formulas)."""
        _check_type(f, Formula)
        names = (f.target, *_identifiers(f.expr, f.condition))
        key = (f, plugin, family, tuple(self.quantities.get(n) for n in names))
        # shared by every registry (the key holds all that decides the result); an unhashable
        # record is compiled every time
        return _COMPILED.get(None, key, lambda: self._compile(f, plugin, family))

    def _compile(self, f: Formula, plugin: str, family: str | None) -> CompiledFormula:
        where = f"formula {f.target} = {f.expr!r}"
        if f.target not in self.quantities:
            raise PluginError(f"{where}: target is not a declared quantity")
        target = self.quantities[f.target]
        if target.kind == "choice":
            raise PluginError(f"{where}: the target is a choice, formulas compute numbers")
        from costmodel import expressions

        expr, names, unit_names = self._parse(f.expr, where)
        for name in names:
            if self.quantities[name].kind == "choice":
                raise PluginError(f"{where}: choice {name!r} belongs in the condition")
        try:
            got = expressions.dimension(expr, self._symbol_units(expr))
        except PluginError as exc:
            raise PluginError(f"{where}: dimension error: {exc}") from None
        want = units.unit(target.unit)
        if got.dimensionality != want.dimensionality and expr != 0:
            raise PluginError(
                f"{where}: dimension error: the expression is in {got:~} "
                f"({got.dimensionality}) but {f.target} is in {target.unit} ({want.dimensionality})"
            )
        return CompiledFormula(
            formula=f,
            plugin=plugin,
            family=family,
            inputs=names,
            unit_names=unit_names,
            program=expressions.to_program(self._numeric(expr, target.unit)),
            condition=self._condition(f.condition, where),
        )

    def compile_check(self, c: Check, plugin: str) -> CompiledCheck:
        _check_type(c, Check)
        where = f"check {c.expr!r}"
        from costmodel import expressions

        relation, names, unit_names = self._parse(c.expr, where)
        try:
            expressions.dimension(relation, self._symbol_units(relation))
        except PluginError as exc:
            raise PluginError(f"{where}: dimension error: {exc}") from None
        return CompiledCheck(
            check=c,
            plugin=plugin,
            inputs=names,
            unit_names=unit_names,
            program=expressions.to_program(self._numeric(relation, None)),
            condition=self._condition(c.condition, where),
        )

    def _parse(self, text: str, where: str):
        """sympy expression, the quantity names it reads, the unit names it uses."""
        from costmodel import expressions

        seen: set[str] = set()

        def resolve(name: str):
            symbol_ = self.resolve(name)
            seen.add(name)
            return symbol_

        try:
            expr = expressions.parse(text, resolve)
        except expressions.ExpressionError as exc:
            raise PluginError(f"{where}: {exc}") from None
        # inputs: the quantities the (simplified) expression reads; the other names of the text
        # (units, and quantities sympy simplified away, as in `0 * FLOP/token`) are kept too, so
        # the text can be parsed again for derivations
        names = tuple(sorted(s.name for s in expr.free_symbols if s.name in self.quantities))
        other = tuple(sorted(seen - set(names)))
        return expr, names, other

    def _numeric(self, expr, target_unit: str | None):
        """`expr` over magnitudes in canonical units, giving its target's canonical magnitude.

        Each quantity symbol is scaled to root units (`x` -> `x * scale`), each unit symbol becomes
        its size in root units, and the whole is divided by the target unit's size.
        """
        import sympy as sp

        replace = {}
        for s in expr.free_symbols:
            if s.name not in self.quantities:
                replace[s] = sp.Float(units.root_scale(s.name))
            else:
                scale = units.root_scale(self.quantities[s.name].unit)
                if scale != 1.0:
                    replace[s] = s * sp.Float(scale)
        numeric = expr.xreplace(replace) if replace else expr
        if target_unit is not None:
            scale = units.root_scale(target_unit)
            if scale != 1.0:
                numeric = numeric / sp.Float(scale)
        return numeric

    def _symbol_units(self, expr) -> dict:
        """The pint unit of every symbol of `expr` (quantities: canonical unit; units: itself)."""
        return {
            s: units.unit(self.quantities[s.name].unit if s.name in self.quantities else s.name)
            for s in expr.free_symbols
        }

    def _condition(self, text: str | None, where: str) -> programs.Condition | None:
        if text is None:
            return None
        try:
            condition = programs.Condition(text)
        except programs.ExpressionError as exc:
            raise PluginError(f"{where}: {exc}") from None
        for name in condition.names:
            q = self.quantities.get(name)
            if q is None or q.kind not in ("choice", "bool"):
                raise PluginError(f"{where}: condition names {name!r}, not a choice or bool quantity")
            bad = {v for v in condition.literals.get(name, ()) if v not in q.choices}
            if bad and q.kind == "choice":
                raise PluginError(f"{where}: {name} has no choice {sorted(bad)}; {list(q.choices)}")
        return condition

    # --- values -------------------------------------------------------------------------------

    def parse_value(self, name: str, value: Value, where: str = "", bounded: bool = True) -> Any:
        """A value for a quantity, in its canonical unit (float), or a choice (str) / bool (0/1).
        `bounded=False` admits values above the quantity's maximum (a claim to be judged)."""
        q = self.quantity(name)
        label = f"{where}: {name}" if where else name
        if q.kind == "choice":
            text = str(value).strip()
            if text not in q.choices:
                raise unknown(f"choice for {name}", text, q.choices)
            return text
        if q.kind == "bool":
            return _parse_bool(value, label)
        number = units.parse_value(value, q.unit, label)
        check_domain(q, number, label, bounded)
        return number


_COMPILED = Memo(8192)  # Registry.compile's: same record, same declarations
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@functools.lru_cache(maxsize=8192)
def _identifiers(expr: str, condition: str | None) -> tuple[str, ...]:
    """Every name the texts could refer to (a superset: function names and literals too)."""
    return tuple(sorted(set(_IDENTIFIER.findall(f"{expr} {condition or ''}"))))


def _guarded(fn, target: str, inputs: tuple[str, ...]):
    from costmodel.errors import DivisionByZero, Overflow

    def run(env):
        try:
            return fn(env)
        except ZeroDivisionError:
            zero = [n for n in inputs if env.get(n) == 0] or list(inputs)
            raise DivisionByZero(f"cannot compute {target}: division by zero "
                                 f"({_shown(zero, env)})") from None
        except OverflowError:
            big = sorted(inputs, key=lambda n: -abs(float(env.get(n, 0))))[:3]
            raise Overflow(f"cannot compute {target}: the number overflows ({_shown(big, env)})") from None

    return run


def _shown(names, env) -> str:
    return ", ".join(f"{n} = {units.format_number(float(env[n]))}" for n in names if n in env)


_BEYOND_MAXIMUM: contextvars.ContextVar[frozenset[str]] = contextvars.ContextVar("beyond_maximum",
                                                                                  default=frozenset())


@contextlib.contextmanager
def beyond_maximum(names):
    """Within the block, values of the named quantities above their hard maximum are admitted (no
    other quantity's): claim checking evaluates what an impossible given result implies for an
    assumption of the model (mfu above 1) and calls it impossible."""
    token = _BEYOND_MAXIMUM.set(frozenset(names))
    try:
        yield
    finally:
        _BEYOND_MAXIMUM.reset(token)


def check_domain(q: Quantity, number: float, label: str, bounded: bool = True) -> None:
    if not math.isfinite(number):
        raise UserError(f"{label}: {number} is not a finite number")
    if q.positive and number <= 0:
        raise UserError(f"{label}: must be greater than 0, got {units.format_number(number)}")
    if q.minimum is not None and number < q.minimum:
        raise UserError(f"{label}: must be at least {q.minimum:g}, got {units.format_number(number)}")
    if bounded and q.maximum is not None and number > q.maximum and q.name not in _BEYOND_MAXIMUM.get():
        raise UserError(f"{label}: must be at most {q.maximum:g}, got {units.format_number(number)}")
    if q.kind == "integer" and not float(number).is_integer():
        raise UserError(f"{label}: must be a whole number, got {units.format_number(number)}")


def _parse_bool(value: Value, label: str) -> float:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)) and value in (0, 1):
        return float(value)
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return 1.0
    if text in ("false", "0", "no", "off"):
        return 0.0
    raise UserError(f"{label}: expected true or false, got {value!r}")


def _alias_key(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def _check_type(record: Any, kind: type) -> None:
    if not isinstance(record, kind):
        raise PluginError(f"expected a {kind.__name__}, got {type(record).__name__}")
