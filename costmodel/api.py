"""The Python API: the CLI's commands as functions returning pint quantities.

    >>> from costmodel.api import estimate
    >>> r = estimate("nanogpt", preset="gpt2", hardware="rtx-4070")
    >>> r.results["n_params"]            # a pint Quantity in param
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from costmodel import fast, units
from costmodel.declarations import Hardware, Value
from costmodel.errors import UserError
from costmodel.loading import PluginInfo, load_registry
from costmodel.registry import Registry
from costmodel.scenario import Scenario, compose
from costmodel.solver import Evaluation


@functools.lru_cache(maxsize=8)
def _load(paths: tuple[str, ...]) -> tuple[Registry, list[PluginInfo]]:
    return load_registry(paths)


def registry(plugins: Sequence[str] = ()) -> Registry:
    """The registry of every loaded plugin (built once per set of plugin paths)."""
    return _load(tuple(str(p) for p in plugins))[0]


def reload() -> None:
    """Forget loaded plugins (tests that register throwaway plugins call this)."""
    _load.cache_clear()
    fast.forget()


@attrs.frozen(kw_only=True, eq=False, slots=False)
class Result:
    """What a question gave: inputs and results as pint quantities, warnings, and how to explain.

    `numbers` holds the results as plain floats in canonical units (`units` names them),
    `input_numbers` the inputs shown. A result is cheap to make: those, `origins` and `warnings`
    are read from the evaluation on first access, and the pint quantities of `inputs` and
    `results` are made on first access of those.
    """

    family: str
    hardware: str | None
    evaluation: Evaluation = attrs.field(repr=False)
    answer: str | None = None  # the quantity a question asked for (solve), None for estimate
    targets: tuple[str, ...] = ()  # the results asked for (estimate's targets=)
    notes: tuple[str, ...] = ()  # warnings said first (how a micro-batch that fits was chosen)

    @functools.cached_property
    def _layout(self) -> tuple:
        return fast.layout(self.evaluation, _layout)

    @functools.cached_property
    def numbers(self) -> dict[str, float]:
        """results, float in canonical unit"""
        names = self._layout[0]
        if self.targets:  # what was asked for, and what says whether it holds
            keep = set(self.targets) | {"fits"}
            names = [n for n in names if n in keep]
        env = self.evaluation.env
        return dict(zip(names, map(float, map(env.__getitem__, names))))

    @functools.cached_property
    def _every_number(self) -> dict[str, float]:
        if not self.targets:
            return self.numbers
        names, env = self._layout[0], self.evaluation.env
        return dict(zip(names, map(float, map(env.__getitem__, names))))

    @functools.cached_property
    def input_numbers(self) -> dict[str, Any]:
        """float in canonical unit, str for choices, bool for switches"""
        _, _, _, _, switches, numeric = self._layout
        env, values = self.evaluation.env, self.evaluation.scenario.values
        inputs: dict[str, Any] = dict(switches)  # the choices and switches, in place among the numbers
        for name in numeric:
            inputs[name] = float(env[name]) if name in env else float(values[name])
        return inputs

    @functools.cached_property
    def units(self) -> dict[str, str]:
        """name -> canonical unit, of the inputs and then the results"""
        _, unit_of, _, _, switches, _ = self._layout
        if not self.targets:
            return dict(unit_of)
        return {name: unit_of[name] for name in (*switches, *self.numbers)}

    @functools.cached_property
    def origins(self) -> dict[str, str]:
        """input -> where its value came from"""
        origin_of = self._layout[2]
        solved = {s.name for s in self.evaluation.solved}
        return {k: "solved" if k in solved else v for k, v in origin_of.items()} if solved else dict(origin_of)

    @functools.cached_property
    def warnings(self) -> tuple[str, ...]:
        return self.notes + _warnings(self.evaluation, self.input_numbers, self._every_number, self._layout[3])

    @property
    def feasible(self) -> bool:
        """False when one training step does not fit in the card's usable memory."""
        return self.numbers.get("fits", 1) >= 1

    @property
    def scenario_line(self) -> str:
        """One line: family, model size, version, count x card, pre-training or fine-tuning, recipe."""
        from costmodel.summary import scenario_line

        return scenario_line(self)

    @functools.cached_property
    def inputs(self) -> Mapping[str, Any]:
        """Inputs: pint Quantity, or str for choices, bool for switches (each made when read)."""
        return _Quantities(self.input_numbers, self.units)

    @functools.cached_property
    def results(self) -> Mapping[str, Any]:
        """Results as pint quantities in their canonical units (each made when read)."""
        return _Quantities(self.numbers, self.units)

    def __getitem__(self, name: str):
        if name in self.results:
            return self.results[name]
        if name in self.inputs:
            return self.inputs[name]
        raise KeyError(name)

    def explain(self, target: str, format: str = "text") -> str:
        from costmodel.derivation import render

        return render(self.evaluation, target, format)

    def to_dict(self) -> dict[str, Any]:
        """The `--json` object of the CLI contract (values in canonical units)."""
        return {
            "family": self.family,
            "hardware": self.hardware,
            "scenario": self.scenario_line,
            "answer": self.answer,
            "feasible": self.feasible,
            "inputs": {k: _json_value(v, self.units.get(k, "1")) for k, v in self.input_numbers.items()},
            "results": {k: _json_value(v, self.units[k]) for k, v in self.numbers.items()},
            "warnings": list(self.warnings),
        }

    def table(self) -> list[tuple[str, str, str]]:
        """Rows (name, value as printed, meaning) of the results."""
        q = self.evaluation.scenario.registry.quantities
        return [(k, units.format_quantity(v, self.units[k]), q[k].doc) for k, v in self.numbers.items()]

    def _repr_markdown_(self) -> str:
        rows = ["| quantity | value | meaning |", "|---|---|---|"]
        rows += [f"| `{n}` | {v} | {d} |" for n, v, d in self.table()]
        return "\n".join(rows)

    def _repr_html_(self) -> str:
        import html

        body = "".join(
            f"<tr><td><code>{html.escape(n)}</code></td><td>{html.escape(v)}</td>"
            f"<td>{html.escape(d)}</td></tr>"
            for n, v, d in self.table()
        )
        return f"<table><tr><th>quantity</th><th>value</th><th>meaning</th></tr>{body}</table>"


class _Quantities(Mapping):
    """A read-only mapping name -> pint Quantity (str for a choice, bool for a switch) over plain
    numbers and their units; a quantity is made the first time it is read."""

    def __init__(self, numbers: Mapping[str, Any], unit_of: Mapping[str, str]):
        self._numbers, self._units, self._made = numbers, unit_of, {}

    def __getitem__(self, name: str):
        made = self._made.get(name)
        if made is None:
            v = self._numbers[name]
            made = self._made[name] = v if isinstance(v, (str, bool)) else _quantity(v, self._units[name])
        return made

    def __iter__(self):
        return iter(self._numbers)

    def __len__(self) -> int:
        return len(self._numbers)

    def __contains__(self, name) -> bool:
        return name in self._numbers

    def __repr__(self) -> str:
        return repr(dict(self.items()))


def _json_value(v, unit: str) -> dict[str, Any]:
    """{"value": ..., "unit": ...} in the canonical unit ("" for choices and pure numbers)."""
    if isinstance(v, (str, bool)):
        return {"value": v, "unit": ""}
    return {"value": float(v), "unit": units.pretty_unit(unit)}


def _quantity(value: float, unit_text: str):
    return units.registry().Quantity(value, _unit(unit_text))


@functools.lru_cache(maxsize=1024)
def _unit(unit_text: str):
    """A quantity's canonical unit, parsed once (the texts come from the registry's quantities)."""
    return units.unit(unit_text)


def _result(evaluation: Evaluation, answer: str | None = None, targets: Sequence[str] = ()) -> Result:
    scenario = evaluation.scenario
    return Result(answer=answer, targets=tuple(targets), family=scenario.family.name,
                  hardware=scenario.hardware.name if scenario.hardware else None, evaluation=evaluation)


def _warnings(evaluation: Evaluation, inputs: dict[str, Any], results: dict[str, float],
              tail: tuple[str, ...]) -> tuple[str, ...]:
    """A result's warnings: the scenario's notes, what was solved, givens not met exactly, a step
    that does not fit, then the shape's own (missing features, plugins)."""
    from costmodel.summary import communication, feasibility

    scenario = evaluation.scenario
    q = scenario.registry.quantities
    env = evaluation.env
    warnings = list(evaluation.warnings)
    for s in evaluation.solved:
        warnings.insert(0, f"{s.name} = {units.format_quantity(s.value, q[s.name].unit)} "
                           f"solved so that {s.reason} ({s.method})")
    for name, given in scenario.constraints.items():
        reached = env.get(name)
        if reached is not None and abs(reached - given) > 1e-3 * max(abs(given), 1e-300):  # visible at 4 digits
            whole = [s.name for s in evaluation.solved if q[s.name].kind == "integer"]
            why = f" ({', '.join(whole)} must be a whole number)" if whole else ""
            warnings.append(f"{name} reaches {units.format_quantity(reached, q[name].unit)}, not exactly the "
                            f"given {units.format_quantity(given, q[name].unit)}{why}")
    fits = results.get("fits", inputs.get("fits", 1))
    verdict = None if fits >= 1 else feasibility({**inputs, **results}, lambda n: q[n].unit)
    if verdict is not None:
        warnings.insert(0, verdict)
    dominated = communication({**inputs, **results}, lambda n: q[n].unit)
    if dominated is not None:
        warnings.append(dominated)
    return scenario.notes + tuple(warnings) + tail


def _missing_features(evaluation: Evaluation) -> list[str]:
    """One line naming the architecture features (Quantity.feature) that a generic formula needs and
    the family does not declare: without them its results are left out, never guessed."""
    scenario = evaluation.scenario
    q = scenario.registry.quantities
    given = set(scenario.values) | set(scenario.formulas)
    needed = {n for names in evaluation.missing.values() for n in names}
    for f in scenario.registry.formulas:  # a choice nobody gave selects no formula
        if f.target not in scenario.formulas and f.condition is not None:
            needed |= f.condition.names
    absent = sorted(n for n in needed if n in q and q[n].feature and n not in given)
    if not absent:
        return []
    return [f"family {scenario.family.name} does not declare the architecture feature(s) {', '.join(absent)}: "
            "the memory and time results that need them are left out (declare them in its defaults; "
            "docs/plugins.md, Architecture features)"]


def _layout(evaluation: Evaluation):
    """Which results a result has, everyone's units, the inputs' origins, the warnings that end
    it (missing features, plugins), and the inputs it shows: a dict of them in order with the
    choices' and switches' values filled in, and the numeric ones to fill. The same for every
    question of one shape (`costmodel.fast` keeps it)."""
    scenario = evaluation.scenario
    q = scenario.registry.quantities
    env = evaluation.env
    solved = {s.name for s in evaluation.solved}
    read = {n for f in scenario.formulas.values() if f.target in env for n in f.inputs}
    shown = [name for name in sorted(scenario.values)
             if q[name].kind in ("choice", "bool") or name in read or name in scenario.pinned or name in solved]
    results = [name for name in sorted(scenario.formulas) if name in env]
    switches = {name: None for name in shown}
    for name in shown:
        kind = q[name].kind
        if kind in ("choice", "bool"):
            switches[name] = scenario.values[name] if kind == "choice" else bool(scenario.values[name])
    numeric = [name for name in shown if q[name].kind not in ("choice", "bool")]
    tail = tuple(_missing_features(evaluation)) + tuple(_plugin_warnings(scenario.registry))
    return (results, {n: q[n].unit for n in (*shown, *results)},
            {name: str(scenario.origins.get(name, "")) for name in shown}, tail, switches, numeric)


def _plugin_warnings(reg: Registry) -> list[str]:
    return ([f"plugin {name} is broken: {message}" for name, message in reg.failures]
            + [f"plugin {name}: {message}" for name, message in reg.notes])


def scenario(
    family: str,
    *,
    preset: str | None = None,
    config: str | None = None,
    config_overrides: Sequence[str] = (),
    hardware: str | Hardware | None = None,
    values: Mapping[str, Value] | None = None,
    plugins: Sequence[str] = (),
    gpus: int | None = None,
    args: str | None = None,
) -> Scenario:
    """Compose a scenario (the shared first step of every question).

    `hardware` may carry a count (`"8xh100-sxm"`), as may `gpus`; `values` may use the family's own
    names (`batch_size`, `device_batch_size`); `args` is the family's command line as one string
    (`"--depth=26 --device_batch_size=16"`) and `config_overrides` its flags one by one.
    """
    import shlex

    from costmodel import naming
    from costmodel.scenario import IGNORED_KEYS

    reg = registry(plugins)
    fam = reg.family(family)
    count, hardware = naming.split_count(hardware)
    given = naming.gpu_count(dict(values or {}), ("--hardware", count), ("--gpus", gpus))
    given, flags = naming.family_names(reg.quantities, fam.config_keys, given)
    if flags:
        if fam.config_loader is None:
            raise UserError(f"family {fam.name} has no names of its own to read {flags[0]!r}")
        mapped = dict(fam.config_loader(None, flags))
        mapped.pop(IGNORED_KEYS, None)
        naming.refuse_contradictions(reg, given, mapped, flags)
        given = {**mapped, **given}
    overrides = tuple(config_overrides)
    if args:
        try:
            overrides += tuple(shlex.split(args))
        except ValueError as exc:
            raise UserError(f"--args {args!r}: {exc}") from None

    def build(user_values: Mapping[str, Value]) -> Scenario:
        return compose(reg, family, preset=preset, config=config, config_overrides=overrides,
                       hardware=hardware, values=dict(user_values))

    s = build(given)
    naming.refuse_rule_contradictions(s, build)
    kept = naming.same_setting_rules(s)
    return attrs.evolve(s, pinned=s.pinned | kept) if kept else s


def estimate(family: str, *, targets: Sequence[str] = (), **kwargs) -> Result:
    """Everything computable for a scenario (`costmodel estimate`)."""
    for t in targets:
        registry(kwargs.get("plugins", ())).quantity(t)
    values, notes = _fit_if_asked(family, kwargs.pop("values", None), kwargs)
    result = _result(fast.evaluate(family, targets, values=values, **kwargs), targets=targets)
    return attrs.evolve(result, notes=tuple(notes) + result.notes) if notes else result


def _fit_if_asked(family: str, values: Mapping[str, Value] | None, kwargs: dict,
                  constraints: Sequence[str] = ()) -> tuple[dict, list[str]]:
    """`fits = 1` among the values: the largest micro-batch that fits (tokens per step kept), as
    values to evaluate with, and the notes that say what changed."""
    values = dict(values or {})
    wanted = values.pop("fits", None)
    if wanted is None and not constraints:
        return values, []
    if wanted is not None and str(wanted).strip().lower() not in ("1", "1.0", "true", "yes"):
        raise UserError(f"fits = {wanted}: give fits=1 (the largest micro-batch that fits); "
                        "a scenario that does not fit needs no solving")
    if "micro_batch" in values:
        raise UserError("fits=1 chooses micro_batch: do not give micro_batch as well")
    from costmodel import fitting, solver

    texts = [*constraints, *([fitting.FITS] if wanted is not None and fitting.FITS not in constraints else [])]

    def build(more: Mapping[str, Value]):
        s = scenario(family, values={**values, **more}, **kwargs)
        return solver.evaluate(s), [solver.parse_constraint(s, c) for c in texts]

    base, _ = build({})
    sides = [n.strip() for c in texts for n in c.replace(">=", "<=").split("<=")]
    if "micro_batch" not in base.env or any(n not in base.env for n in sides if n.isidentifier()):
        raise UserError("fits=1 needs a card to fit on and a micro-batch to vary: give --hardware "
                        "(e.g. -H rtx-4070)")
    chosen, notes = fitting.largest_micro_batch(base, build, texts)
    return {**values, **chosen}, notes


def solve(
    family: str,
    *,
    find: str | None = None,
    maximize: str | None = None,
    minimize: str | None = None,
    given: Mapping[str, Value] | None = None,
    subject_to: Sequence[str] = (),
    values: Mapping[str, Value] | None = None,
    free: Sequence[str] = (),
    **kwargs,
) -> Result:
    """Answer a question in any direction (`costmodel solve`).

    `find=X, given={Y: v}`: X such that Y = v (X is freed, or an input upstream of it).
    `maximize=X, subject_to=["mem_peak <= gpu_memory_usable"]`: the best X under constraints.
    `free=["optimizer", "checkpointing"]`: recipe choices (and `NAME=1..64` numbers) searched too
    (`costmodel.search.solve_free`).
    """
    from costmodel import solver

    asked = [a for a in (find, maximize, minimize) if a]
    if len(asked) != 1:
        raise UserError("ask exactly one of --find, --maximize, --minimize")
    merged = {**(values or {}), **(given or {})}
    target = asked[0]
    if target in merged:
        raise UserError(f"{target} is both given and asked for")
    if free:
        from costmodel.search import solve_free

        if find or given:
            raise UserError("--free goes with --maximize or --minimize (and --subject-to), not --find/--given")
        return _result(solve_free(family, target, bool(maximize), tuple(subject_to), tuple(free),
                                  values=merged, **kwargs), answer=target)
    if maximize == "micro_batch":  # the same run in fewer, larger micro-steps
        if subject_to or "fits" in merged:
            chosen, notes = _fit_if_asked(family, merged, kwargs, subject_to)
        else:
            raise UserError("--maximize micro_batch needs a limit: --subject-to 'mem_peak <= gpu_memory_usable' "
                            "(or --given fits=1)")
        result = _result(solver.evaluate(scenario(family, values=chosen, **kwargs)), answer=target)
        return attrs.evolve(result, notes=tuple(notes) + result.notes)
    merged, fit_notes = _fit_if_asked(family, merged, kwargs)
    if fit_notes:
        result = solve(family, find=find, maximize=maximize, minimize=minimize, values=merged,
                       subject_to=subject_to, **kwargs)
        return attrs.evolve(result, notes=tuple(fit_notes) + result.notes)
    s = scenario(family, values=merged, **kwargs)
    s.registry.quantity(target)
    read = {n for f in s.formulas.values() for n in f.inputs}
    for name in given or {}:
        if name not in s.formulas and name not in s.constraints and name not in read:
            raise UserError(f"{name} is neither computed nor read in this scenario of {s.family.name}: "
                            "it cannot be a given (is a plugin or the hardware missing?)")
    rule = s.formulas.get(target)
    if rule is not None and rule.formula.overridable and (s.constraints or maximize or minimize):
        # The target of a default rule (nanochat's iters horizon) is what the user asks for:
        # drop the rule and solve for the target itself, starting from the rule's value.
        start = _default_value(s, target)
        s = scenario(family, values={**merged, target: start}, **kwargs)
        s = attrs.evolve(s, pinned=s.pinned - {target})
    if maximize or minimize:
        constraints = [solver.parse_constraint(s, c) for c in subject_to]
        return _result(solver.optimise(s, target, constraints, maximize=bool(maximize)), answer=target)
    if subject_to:
        raise UserError("--subject-to goes with --maximize or --minimize")
    if not s.constraints:
        return _result(solver.evaluate(s, [target]), answer=target)
    return _result(_find(s, target), answer=target)


def _default_value(s: Scenario, target: str) -> float:
    """The value a default rule gives without the user's constraints (a starting point), or 1."""
    from costmodel import solver

    plain = attrs.evolve(s, constraints={})
    env = solver.numeric_inputs(plain)
    solver.forward(plain, env)
    value = env.get(target, 1.0)
    return value if value > 0 else 1.0


def _find(s: Scenario, target: str) -> Evaluation:
    """Solve the constraints freeing `target` itself when it is an input, else what feeds it."""
    from costmodel import solver

    if target in s.values and target not in s.formulas:
        if len(s.constraints) != 1:
            raise UserError(f"give exactly one result to solve {target} for")
        (given,) = s.constraints
        if target not in solver.upstream(s, given):
            raise UserError(f"{given} does not depend on {target}")
        env = solver.numeric_inputs(s)
        result = Evaluation(scenario=s, env=env, missing={})
        result.solved.append(solver.solve_for(s, env, target, given, s.constraints[given]))
        inputs = dict(env)
        env[target] = result.solved[-1].value
        result.missing = solver.forward(s, env)
        solver.validate(s, env)
        if s.registry.quantities[target].kind == "integer":
            result.warnings.extend(_alternatives(s, inputs, target, given, env))
        return result
    return solver.evaluate(s, [target])


def _alternatives(s: Scenario, inputs: dict, leaf: str, given: str, env: dict) -> list[str]:
    """For a whole-number answer, the nearest smaller values and why they are not the answer:
    '8 n_gpus give wall_time = 29.4 h (over 24 h); 9-15 break: <the family's rule>'."""
    from costmodel import solver
    from costmodel.inverse import function_of

    q = s.registry.quantities
    answer = int(env[leaf])
    value = s.constraints[given]
    unit = q[given].unit
    fn = function_of(s, inputs, leaf, given)
    increasing = fn(answer + 1) >= fn(answer)
    step = 1 if increasing else -1  # towards the values that break the given
    broken: list[int] = []
    rule = ""
    notes = []
    k = answer + step
    while k >= 1 and len(broken) < 10_000:
        trial = dict(inputs)
        trial[leaf] = float(k)
        solver.forward(s, trial)
        failed = [c for c in s.checks if all(n in trial for n in c.inputs) and not bool(c.evaluate(trial))]
        if not failed:
            notes.append(f"{leaf} = {k} gives {given} = {units.format_quantity(trial[given], unit)}, "
                         f"which misses the given {units.format_quantity(value, unit)}")
            break
        broken.append(k)
        rule = rule or failed[0].check.message.split(":", 1)[0]
        k += step
    if not broken:
        return []  # plain rounding: the next whole number just misses the given value
    lo, hi = min(broken), max(broken)
    span = f"{lo}" if lo == hi else f"{lo}-{hi}"
    notes.append(f"{leaf} = {span} would break the family's rule ({rule})")
    reached = env[given]
    notes.insert(0, f"{leaf} = {answer} (a whole number) gives {given} = "
                    f"{units.format_quantity(reached, unit)}, the given was {units.format_quantity(value, unit)}")
    return notes


def sweep_grid(family: str, grid: Mapping[str, Sequence], targets: Sequence[str] = (), **kwargs) -> list[dict]:
    """Rows of a grid of scenarios (`costmodel sweep`); see `costmodel.sweep.sweep`."""
    from costmodel.sweep import sweep

    return sweep(family, grid, targets=targets, **kwargs)


def plan(family: str, **kwargs):
    """The fastest or cheapest feasible recipe for a goal (`costmodel plan`); see `costmodel.planner.plan`."""
    from costmodel.planner import plan as plan_

    return plan_(family, **kwargs)


def explain(family: str, *, target: str, format: str = "text", **kwargs) -> str:
    """The derivation of `target` (`costmodel explain`)."""
    return estimate(family, targets=[target], **kwargs).explain(target, format)


def families(plugins: Sequence[str] = ()) -> list:
    reg = registry(plugins)
    return [reg.families[name] for name in sorted(reg.families)]


def family_inputs(family: str, plugins: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Every input of a family's default scenario and every recipe option: name, unit, default
    (in the canonical unit), kind, choices with their meaning, meaning, and where the default
    comes from (`costmodel families FAMILY`)."""
    s = scenario(family, plugins=plugins)
    reg = s.registry
    read = {n for f in s.formulas.values() for n in f.inputs}
    rows = []
    for name in sorted(s.values):
        q = reg.quantities[name]
        if name not in read and q.kind not in ("choice", "bool"):
            continue  # a default nobody reads in this family
        value = s.values[name]
        recipe = reg.recipes.get(name)
        choices = ([{"name": c.name, "doc": c.doc} for c in recipe.choices] if recipe is not None
                   else [{"name": c, "doc": ""} for c in q.choices])
        rows.append({
            "name": name,
            "kind": "recipe option" if recipe is not None else q.kind,
            "unit": units.pretty_unit(q.unit) if q.kind not in ("choice", "bool") else "",
            "default": value if isinstance(value, str) else (bool(value) if q.kind == "bool" else float(value)),
            "choices": choices,
            "doc": recipe.doc if recipe is not None else q.doc,
            "origin": str(s.origins.get(name, "")),
        })
    for name, f in sorted(s.formulas.items()):
        if f.formula.overridable:  # a default rule: a value given replaces it
            q = reg.quantities[name]
            rows.append({"name": name, "kind": q.kind, "unit": units.pretty_unit(q.unit),
                         "default": f"rule: {f.formula.expr}", "choices": [], "doc": q.doc,
                         "origin": f"default rule ({f.formula.doc})"})
    return sorted(rows, key=lambda r: r["name"])


def hardware(plugins: Sequence[str] = ()) -> list[Hardware]:
    reg = registry(plugins)
    return [reg.hardware[name] for name in sorted(reg.hardware)]


def hardware_values(name: str, plugins: Sequence[str] = ()) -> dict[str, Any]:
    """A card's values as pint quantities."""
    reg = registry(plugins)
    card = reg.card(name)
    return {k: _quantity(v, reg.quantities[k].unit) for k, v in reg.hardware_values[card.name].items()}


def plugins(paths: Sequence[str] = ()) -> list[PluginInfo]:
    return _load(tuple(str(p) for p in paths))[1]
