"""Derivations as Markdown (LaTeX math) and as one self-contained HTML page (MathML).

This module builds the page (what it says); `render_md` and `render_html` print it.
Both are built from the same sympy expression trees as the text derivation: every step reads
`symbolic form = the same form with numbers substituted = result with unit`. The substituted line
is the symbolic line printed again with each quantity's symbol printed as its value (in the
quantity's canonical unit, with that unit), so both lines keep one term order and one shape.

Markdown puts each step in a `$$ \\begin{aligned} ... \\end{aligned} $$` block (GitHub, KaTeX and
MathJax render it). HTML is one file that renders offline: MathML from sympy's presentation printer,
inline CSS, no script, no fonts or images fetched; the only addresses in it are the sources'
citations, as plain links.
"""

from __future__ import annotations

import re
from typing import Any

import attrs
import sympy as sp

from costmodel import units
from costmodel.derivation import Step, steps
from costmodel.solver import Evaluation


def render(evaluation: Evaluation, target: str, format: str) -> str:
    """The derivation of `target` as "md" or "html"."""
    page = _page(evaluation, target)
    if format == "md":
        from costmodel.render_md import markdown

        return markdown(page)
    if format == "html":
        from costmodel.render_html import html_page

        return html_page(page)
    raise ValueError(f"format {format!r} is not md or html")


# --- what a page says (shared by both formats) ---------------------------------------------------


@attrs.frozen(kw_only=True)
class _Row:
    name: str
    value: str
    origin: str
    meaning: str
    steps: str = ""  # recipe options: the steps whose condition reads it


@attrs.frozen(kw_only=True)
class _Calc:
    number: int
    name: str
    doc: str
    expr: sp.Expr
    quantities: dict[sp.Symbol, tuple[float, str]]  # symbol -> (value, canonical unit)
    unit_symbols: dict[sp.Symbol, str]  # symbol -> unit name
    value: float
    unit: str
    source: str
    assumptions: tuple[str, ...]
    condition: str | None
    in_force: tuple[tuple[str, str], ...]  # the recipe options the condition reads, as chosen
    plugin: str


@attrs.frozen(kw_only=True)
class _Page:
    title: str
    target: str
    target_doc: str
    value: float | str
    unit: str
    scenario: tuple[tuple[str, str], ...]
    inputs: tuple[_Row, ...]
    options: tuple[_Row, ...]  # the recipe options some step's condition reads
    other_options: tuple[tuple[str, str], ...]  # the rest, as chosen
    calcs: tuple[_Calc, ...]
    notes: tuple[str, ...]
    key_numbers: tuple[tuple[str, str], ...] = ()  # the scenario's summary: (name, value as printed)


def _page(evaluation: Evaluation, target: str) -> _Page:
    scenario = evaluation.scenario
    registry = scenario.registry
    quantities = registry.quantities
    env = evaluation.env
    all_steps = steps(evaluation, target)

    inputs = []
    for s in all_steps:
        if s.kind == "formula" or quantities[s.name].kind in ("choice", "bool"):
            continue
        origin = s.origin if s.kind == "input" else f"solved: {s.solved.reason} ({s.solved.method})"
        inputs.append(_Row(name=s.name, value=_pretty(s.value, s.unit), origin=origin or "",
                           meaning=s.doc))

    calcs = []
    formula_steps = [s for s in all_steps if s.kind == "formula"]
    for number, s in enumerate(formula_steps, start=1):
        calcs.append(_calc(number, s, env, registry, scenario))

    used: dict[str, list[int]] = {}
    for c in calcs:
        read = [n for n, _ in c.in_force] + [sym.name for sym in c.quantities if sym.name in scenario.choices]
        for name in dict.fromkeys(read):  # a condition reads it, or the formula itself (nanoGPT's bias)
            used.setdefault(name, []).append(c.number)
    options, other_options = [], []
    for name, value in sorted(scenario.choices.items()):
        q = quantities[name]
        shown = _choice_text(value, q.kind)
        if name not in used:
            other_options.append((name, shown))
            continue
        meaning = q.doc
        recipe = registry.recipes.get(name)
        if recipe is not None:
            choice = next((c for c in recipe.choices if c.name == value), None)
            meaning = f"{recipe.doc}: {choice.doc}" if choice is not None else recipe.doc
        options.append(_Row(name=name, value=shown, origin=str(scenario.origins.get(name, "")),
                            meaning=meaning, steps=", ".join(str(n) for n in used[name])))

    value = env.get(target, scenario.values.get(target))
    head = [("family", scenario.family.name)]
    if scenario.preset:
        head.append(("preset", scenario.preset))
    if scenario.config:
        head.append(("config", str(scenario.config)))
    if scenario.hardware is not None:
        count = int({**scenario.values, **env}.get("n_gpus", 1))
        head.append(("hardware", f"{count}x {scenario.hardware.name}"))
    if "version" in scenario.values:
        head.append(("version", str(scenario.values["version"])))
    title = (f"Derivation of {target} for {scenario.family.name}"
             + (f" (preset {scenario.preset})" if scenario.preset else "")
             + (f" on {scenario.hardware.name}" if scenario.hardware else ""))
    return _Page(
        title=title,
        target=target,
        target_doc=quantities[target].doc,
        value=value,
        unit=quantities[target].unit,
        scenario=tuple(head),
        inputs=tuple(inputs),
        options=tuple(options),
        other_options=tuple(other_options),
        calcs=tuple(calcs),
        notes=tuple(evaluation.warnings),
        key_numbers=_key_numbers(scenario, env),
    )


def _key_numbers(scenario, env: dict) -> tuple[tuple[str, str], ...]:
    """The summary `costmodel estimate` prints, as far as this evaluation computed it."""
    from costmodel.summary import summary_names

    numbers = {**scenario.values, **env}
    return tuple((n, _pretty(numbers[n], scenario.unit(n)))
                 for _, names in summary_names(numbers) for n in names)


def _calc(number: int, s: Step, env: dict[str, float], registry, scenario) -> _Calc:
    f = s.formula
    names = set(f.inputs)
    quantities = {}
    unit_symbols = {}
    for sym in f.expr.free_symbols:
        if sym.name in names:
            quantities[sym] = (env[sym.name], registry.quantities[sym.name].unit)
        else:
            unit_symbols[sym] = sym.name  # a unit written in the formula (e.g. param, byte)
    in_force = ()
    if f.condition is not None:
        choices = scenario.choices
        in_force = tuple((n, _choice_text(choices[n], registry.quantities[n].kind))
                         for n in sorted(f.condition.names) if n in choices)
    return _Calc(
        number=number,
        name=s.name,
        doc=f.formula.doc,
        expr=f.expr,
        quantities=quantities,
        unit_symbols=unit_symbols,
        value=s.value,
        unit=s.unit,
        source=f.formula.source,
        assumptions=tuple(f.formula.assumptions),
        condition=f.formula.condition,
        in_force=in_force,
        plugin=f.plugin,
    )


def _exact(page: _Page) -> str:
    """The target's value in its canonical unit, when that reads differently from the pretty form."""
    if page.value is None or isinstance(page.value, str):
        return ""
    exact = _canonical_text(page.value, page.unit)
    return "" if _split(exact) == _split(_pretty(page.value, page.unit)) else exact


def _choice_text(value: Any, kind: str) -> str:
    if kind == "bool":
        return "true" if value else "false"
    return str(value)


def _pretty(value: Any, unit: str) -> str:
    if value is None:
        return "\N{EM DASH}"
    if isinstance(value, str):
        return value
    return units.format_quantity(float(value), unit)


# --- numbers and units as pieces of math ---------------------------------------------------------

_PRETTY_RE = re.compile(r"^([-+]?(?:\d[\d,]*\.?\d*|\.\d+)(?:e[-+]?\d+)?)(.*)$")


def _number_text(value: float) -> str:
    """Six significant digits, thousands separated, trailing zeros of a fraction dropped."""
    text = units.format_number(float(value), digits=6)
    mantissa, e, exponent = text.partition("e")
    if "." in mantissa:
        mantissa = mantissa.rstrip("0").rstrip(".")
    return mantissa + (e + exponent if e else "")


def _canonical_text(value: float, unit: str) -> str:
    u = units.pretty_unit(unit)
    return f"{_number_text(value)} {u}".rstrip()


def _split(text: str) -> tuple[str, str]:
    """'4.232 GiB' -> ('4.232', 'GiB'); '123.6M param' -> ('123.6', 'M param')."""
    m = _PRETTY_RE.match(text.strip())
    if not m:
        return "", text.strip()
    return m.group(1), m.group(2).strip()


# --- citations as links ---------------------------------------------------------------------------

_URL_RE = re.compile(r"https?://[^\s<>()\"']+[^\s<>()\"'.,;:]")
_ARXIV_RE = re.compile(r"arXiv:(\d{4}\.\d{4,5})(v\d+)?")
_GITHUB_RE = re.compile(
    r"\b([A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*) ([\w./-]+)@([0-9a-f]{7,40})(?: L(\d+)(?:-L?(\d+))?)?"
)


def _links(text: str) -> list[tuple[str, str | None]]:
    """`text` cut into (piece, address or None): URLs, arXiv ids and repo file@commit citations."""
    spans = []
    for m in _URL_RE.finditer(text):
        spans.append((m.start(), m.end(), m.group(0)))
    for m in _ARXIV_RE.finditer(text):
        spans.append((m.start(), m.end(), f"https://arxiv.org/abs/{m.group(1)}{m.group(2) or ''}"))
    for m in _GITHUB_RE.finditer(text):
        repo, path, commit, first, last = m.groups()
        anchor = f"#L{first}" + (f"-L{last}" if last else "") if first else ""
        spans.append((m.start(), m.end(), f"https://github.com/{repo}/blob/{commit}/{path}{anchor}"))
    spans.sort()
    out: list[tuple[str, str | None]] = []
    at = 0
    for start, end, address in spans:
        if start < at:
            continue  # overlapping matches: the first wins
        if start > at:
            out.append((text[at:start], None))
        out.append((text[start:end], address))
        at = end
    if at < len(text):
        out.append((text[at:], None))
    return out
