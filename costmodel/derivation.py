"""Derivations: the ordered steps that produced a result, each checkable by hand.

Every step reads `symbolic form = the same form with numbers substituted = result with unit`,
with the formula's doc, source and assumptions, built from the sympy expression tree (not from
source text). Inputs are listed with where their value came from; values the solver chose say why.
"""

from __future__ import annotations

from typing import Any

import attrs
from sympy.printing.str import StrPrinter

from costmodel import units
from costmodel.registry import CompiledFormula, symbol
from costmodel.solver import Evaluation, Solved, upstream


@attrs.frozen(kw_only=True)
class Step:
    name: str
    value: Any  # float in `unit`, or a choice (str)
    unit: str
    kind: str  # "input", "formula", "solved"
    origin: str = ""  # for inputs: default, preset, user, hardware ...
    formula: CompiledFormula | None = None
    solved: Solved | None = None
    doc: str = ""


def steps(evaluation: Evaluation, target: str) -> list[Step]:
    """Inputs first (name order), then formulas in dependency order, ending with `target`."""
    scenario = evaluation.scenario
    registry = scenario.registry
    env = evaluation.env
    registry.quantity(target)
    if target not in env and target not in scenario.values:
        from costmodel.solver import explain_missing

        explain_missing(scenario, target, evaluation.missing)
    names = upstream(scenario, target)
    solved = {s.name: s for s in evaluation.solved}
    result: list[Step] = []
    for name in sorted(n for n in names if n not in scenario.formulas):
        q = registry.quantities[name]
        value = scenario.values.get(name, env.get(name))
        if name in solved:
            result.append(Step(name=name, value=solved[name].value, unit=q.unit, kind="solved",
                               solved=solved[name], doc=q.doc))
        else:
            result.append(Step(name=name, value=value, unit=q.unit, kind="input",
                               origin=str(scenario.origins.get(name, "")), doc=q.doc))
    for f in scenario.order:
        if f.target in names:
            result.append(Step(name=f.target, value=env[f.target], unit=registry.quantities[f.target].unit,
                               kind="formula", formula=f, doc=f.formula.doc))
    return result


def _number(value: float) -> str:
    """Six significant digits without float noise: 0.83, not 0.830000 or 0.830000000000000."""
    mantissa, e, exponent = units.format_number(value, digits=6).partition("e")
    if "." in mantissa:
        mantissa = mantissa.rstrip("0").rstrip(".")
    return mantissa + (e + exponent if e else "")


def number_names(step: Step, env: dict[str, float], registry) -> dict:
    """symbol -> its value as printed, with its unit: '(1,024 token/sequence)'."""
    names = {}
    for name in step.formula.inputs:
        unit = registry.quantities[name].unit
        shown = _number(env[name])
        names[symbol(name)] = f"({shown} {unit})" if unit not in ("1", "") else shown
    return names


class _NamedPrinter(StrPrinter):
    """sympy's text printer, printing chosen symbols as given text (the tree is not changed, so
    equal numbers are never merged: 6*6 stays 6*6, not 6**2)."""

    def __init__(self, names: dict):
        super().__init__()
        self._names = names

    def _print_Symbol(self, expr):
        return self._names.get(expr, expr.name)

    def _print_Float(self, expr):
        return _number(float(expr))

    def _print_Piecewise(self, expr):
        """`a if cond else b`, as formulas are written."""
        *pieces, (last, _) = expr.args
        text = self._print(last)
        for value, cond in reversed(pieces):
            text = f"({self._print(value)} if {self._print(cond)} else {text})"
        return text


def substituted(step: Step, env: dict[str, float], registry) -> str:
    """The formula as text with every quantity replaced by its value."""
    return _NamedPrinter(number_names(step, env, registry)).doprint(step.formula.expr)


def render_text(evaluation: Evaluation, target: str) -> str:
    """Plain-text derivation of `target` (one block per step)."""
    scenario = evaluation.scenario
    registry = scenario.registry
    lines = [f"Derivation of {target} for {scenario.family.name}"
             + (f" (preset {scenario.preset})" if scenario.preset else "")
             + (f" on {scenario.hardware.name}" if scenario.hardware else "")]
    chosen = {k: v for k, v in scenario.choices.items()}
    if chosen:
        lines.append("Recipe options: " + ", ".join(f"{k}={_choice(v, registry.quantities[k])}"
                                                    for k, v in sorted(chosen.items())))
    lines.append("")
    all_steps = steps(evaluation, target)
    inputs = [s for s in all_steps if s.kind != "formula"]
    if inputs:
        lines.append("Inputs:")
        for s in inputs:
            if registry.quantities[s.name].kind in ("choice", "bool"):
                continue
            where = s.origin if s.kind == "input" else f"solved: {s.solved.reason} ({s.solved.method})"
            lines.append(f"  {s.name} = {units.format_quantity(s.value, s.unit)}   [{where}]")
        lines.append("")
    for n, s in enumerate((s for s in all_steps if s.kind == "formula"), start=1):
        f = s.formula
        lines.append(f"{n}. {s.name}: {f.formula.doc}")
        lines.append(f"   {s.name} = {_NamedPrinter({}).doprint(f.expr)}")
        lines.append(f"   {' ' * len(s.name)} = {substituted(s, evaluation.env, registry)}")
        lines.append(f"   {' ' * len(s.name)} = {units.format_quantity(s.value, s.unit)}")
        lines.append(f"   source: {f.formula.source}")
        for a in f.formula.assumptions:
            lines.append(f"   assumes: {a}")
        if f.formula.condition:
            lines.append(f"   applies when: {f.formula.condition}")
        lines.append("")
    for w in evaluation.warnings:
        lines.append(f"note: {w}")
    return "\n".join(lines).rstrip() + "\n"


def _choice(value: Any, q) -> str:
    if q.kind == "bool":
        return "true" if value else "false"
    return str(value)


FORMATS = ("text", "md", "html")


def render(evaluation: Evaluation, target: str, format: str = "text") -> str:
    """The derivation of `target` in one of `FORMATS` (md and html: `costmodel.render`)."""
    if format not in FORMATS:
        from costmodel.errors import unknown

        raise unknown("format", format, FORMATS)
    if format == "text":
        return render_text(evaluation, target)
    from costmodel import render as pages

    return pages.render(evaluation, target, format)
