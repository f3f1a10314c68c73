"""Derivations as Markdown (LaTeX math) and as one self-contained HTML page (MathML).

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

import html
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
        return _markdown(page)
    if format == "html":
        return _html(page)
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
        for name, _ in c.in_force:
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
        options.append(_Row(name=name, value=shown, origin=scenario.origins.get(name, ""),
                            meaning=meaning, steps=", ".join(str(n) for n in used[name])))

    value = env.get(target, scenario.values.get(target))
    head = [("family", scenario.family.name)]
    if scenario.preset:
        head.append(("preset", scenario.preset))
    if scenario.config:
        head.append(("config", str(scenario.config)))
    if scenario.hardware is not None:
        head.append(("hardware", scenario.hardware.name))
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
    )


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


def _latex_number(text: str) -> str:
    mantissa, e, exponent = text.partition("e")
    out = mantissa.replace(",", "{,}")
    if e:
        out += rf" \times 10^{{{int(exponent)}}}"
    return out


def _latex_unit(unit: str) -> str:
    if not unit:
        return ""
    text = re.sub(r"\*\*\s*(-?\d+)", r"^{\1}", unit)
    text = text.replace("*", r"\cdot ").replace(" ", r"\ ")
    return rf"\mathrm{{{text}}}"


def _latex_name(name: str) -> str:
    return rf"\mathit{{{name.replace('_', chr(92) + '_')}}}"


def _latex_value(value: float, unit: str) -> str:
    """A quantity's value as it appears in a substituted line: parenthesised when it has a unit."""
    number = _latex_number(_number_text(value))
    u = units.pretty_unit(unit)
    if not u and value >= 0 and "times" not in number:
        return number
    inner = rf"{number}\,{_latex_unit(u)}" if u else number
    return rf"\left({inner}\right)"


def _latex_quantity(text: str) -> str:
    """A printed quantity ('4.232 GiB') as LaTeX."""
    number, unit = _split(text)
    if not number:
        return rf"\mathrm{{{unit}}}"
    return _latex_number(number) + (rf"\,{_latex_unit(unit)}" if unit else "")


def _latex_lines(c: _Calc) -> tuple[str, str, str]:
    """The three forms of a step in LaTeX (right-hand sides only)."""
    units_map = {sym: _latex_unit(name) for sym, name in c.unit_symbols.items()}
    symbolic = {sym: _latex_name(sym.name) for sym in c.quantities}
    numbers = {sym: _latex_value(v, u) for sym, (v, u) in c.quantities.items()}
    lhs_symbolic = sp.latex(c.expr, symbol_names={**units_map, **symbolic}, mul_symbol="dot")
    lhs_numbers = sp.latex(c.expr, symbol_names={**units_map, **numbers}, mul_symbol="dot")
    return lhs_symbolic, lhs_numbers, _latex_result(c.value, c.unit)


def _latex_result(value: float, unit: str) -> str:
    canonical = _canonical_text(value, unit)
    pretty = _pretty(value, unit)
    out = _latex_quantity(canonical)
    if _split(pretty) != _split(canonical):
        out += r" \approx " + _latex_quantity(pretty)
    return out


# --- Markdown ----------------------------------------------------------------------------------


def _md_cell(text: str) -> str:
    return str(text).replace("|", r"\|").replace("\n", " ")


def _markdown(page: _Page) -> str:
    out = [f"# {page.title}", ""]
    out += ["## Summary", "", "| | |", "|---|---|"]
    out.append(f"| target | `{page.target}`: {_md_cell(page.target_doc)} |")
    out.append(f"| value | **{_md_cell(_pretty(page.value, page.unit))}**"
               + (f" ({_md_cell(_exact(page))})" if _exact(page) else "") + " |")
    for key, value in page.scenario:
        out.append(f"| {key} | {_md_cell(value)} |")
    out.append("")
    if page.inputs:
        out += ["### Inputs", "", "| quantity | value | origin | meaning |", "|---|---:|---|---|"]
        out += [f"| `{r.name}` | {_md_cell(r.value)} | {_md_cell(r.origin)} | {_md_cell(r.meaning)} |"
                for r in page.inputs]
        out.append("")
    if page.options or page.other_options:
        out += ["### Recipe options", ""]
    if page.options:
        out += ["| option | choice | origin | meaning | steps |", "|---|---|---|---|---|"]
        out += [f"| `{r.name}` | `{r.value}` | {_md_cell(r.origin)} | {_md_cell(r.meaning)} | {r.steps} |"
                for r in page.options]
        out.append("")
    if page.other_options:
        out.append(("Other options (no step depends on them): " if page.options else
                    "No step depends on the options: ")
                   + ", ".join(f"`{n} = {v}`" for n, v in page.other_options))
        out.append("")
    if page.calcs:
        out += ["## Steps", ""]
    for c in page.calcs:
        symbolic, numbers, result = _latex_lines(c)
        out += [f"### {c.number}. `{c.name}`: {c.doc}", ""]
        out += ["$$", r"\begin{aligned}",
                rf"{_latex_name(c.name)} &= {symbolic} \\",
                rf"&= {numbers} \\",
                rf"&= {result}",
                r"\end{aligned}", "$$", ""]
        out.append(f"- source: {_md_source(c.source)}")
        for a in c.assumptions:
            out.append(f"- assumes: {a}")
        if c.condition:
            forced = ", ".join(f"`{n} = {v}`" for n, v in c.in_force)
            out.append(f"- applies when: `{c.condition}`" + (f" (in force: {forced})" if forced else ""))
        out.append(f"- plugin: `{c.plugin}`")
        out.append("")
    if page.notes:
        out += ["## Notes", ""] + [f"- {n}" for n in page.notes] + [""]
    return "\n".join(out).rstrip() + "\n"


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


def _md_source(text: str) -> str:
    return "".join(f"[{piece}]({address})" if address else piece for piece, address in _links(text))


def _html_source(text: str) -> str:
    return "".join(
        f'<a href="{html.escape(address)}">{html.escape(piece)}</a>' if address else html.escape(piece)
        for piece, address in _links(text)
    )


# --- MathML -------------------------------------------------------------------------------------


def _mathml_printer():
    from sympy.printing.mathml import MathMLPresentationPrinter

    class Printer(MathMLPresentationPrinter):
        """sympy's presentation printer, printing symbols from a mapping to MathML fragments."""

        def __init__(self, symbols: dict[sp.Symbol, str], **settings):
            super().__init__(settings)
            self._symbols = symbols

        def _fragment(self, text: str):
            from xml.dom import minidom

            wrapped = minidom.parseString(f"<mrow>{text}</mrow>").documentElement
            node = self.dom.importNode(wrapped, True)
            if len(node.childNodes) == 1:
                return node.childNodes[0]
            return node

        def _print_Symbol(self, sym, style="plain"):
            if sym in self._symbols:
                return self._fragment(self._symbols[sym])
            return super()._print_Symbol(sym, style)

        def _print_Piecewise(self, expr):
            mrow = self.dom.createElement("mrow")
            brace = self.dom.createElement("mo")
            brace.appendChild(self.dom.createTextNode("{"))
            mrow.appendChild(brace)
            table = self.dom.createElement("mtable")
            for value, condition in expr.args:
                tr = self.dom.createElement("mtr")
                left = self.dom.createElement("mtd")
                left.appendChild(self._print(value))
                right = self.dom.createElement("mtd")
                word = self.dom.createElement("mtext")
                if condition == sp.true:
                    word.appendChild(self.dom.createTextNode("\u2003otherwise"))
                    right.appendChild(word)
                else:
                    word.appendChild(self.dom.createTextNode("\u2003if\u2002"))
                    right.appendChild(word)
                    right.appendChild(self._print(condition))
                tr.appendChild(left)
                tr.appendChild(right)
                table.appendChild(tr)
            mrow.appendChild(table)
            return mrow

    return Printer


_SUPERSCRIPTS = str.maketrans("-0123456789", "\u207b\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079")


def _mml_unit(unit: str) -> str:
    if not unit:
        return ""
    text = re.sub(r"\*\*\s*(-?\d+)", lambda m: m.group(1).translate(_SUPERSCRIPTS), unit)
    text = text.replace("*", "\u00b7")
    return f'<mi mathvariant="normal" class="u">{html.escape(text)}</mi>'


def _mml_name(name: str) -> str:
    return f'<mi mathvariant="normal" class="q">{html.escape(name)}</mi>'


def _mml_number(text: str) -> str:
    mantissa, e, exponent = text.partition("e")
    out = f"<mn>{html.escape(mantissa)}</mn>"
    if e:
        out += f"<mo>\u00d7</mo><msup><mn>10</mn><mn>{int(exponent)}</mn></msup>"
    return out


_THIN = '<mspace width="0.2em"/>'


def _mml_value(value: float, unit: str) -> str:
    text = _number_text(value)
    number = _mml_number(text)
    u = units.pretty_unit(unit)
    if not u and value >= 0 and "e" not in text:
        return number
    inner = number + (_THIN + _mml_unit(u) if u else "")
    return f"<mrow><mo>(</mo>{inner}<mo>)</mo></mrow>"


def _mml_quantity(text: str) -> str:
    number, unit = _split(text)
    if not number:
        return _mml_unit(unit)
    return _mml_number(number) + (_THIN + _mml_unit(unit) if unit else "")


def _mml_lines(c: _Calc) -> tuple[str, str, str]:
    Printer = _mathml_printer()
    units_map = {sym: _mml_unit(name) for sym, name in c.unit_symbols.items()}
    symbolic = {sym: _mml_name(sym.name) for sym in c.quantities}
    numbers = {sym: _mml_value(v, u) for sym, (v, u) in c.quantities.items()}
    first = Printer({**units_map, **symbolic}, mul_symbol="dot").doprint(c.expr)
    second = Printer({**units_map, **numbers}, mul_symbol="dot").doprint(c.expr)
    canonical = _canonical_text(c.value, c.unit)
    pretty = _pretty(c.value, c.unit)
    third = _mml_quantity(canonical)
    if _split(pretty) != _split(canonical):
        third += "<mo>\u2248</mo>" + _mml_quantity(pretty)
    return first, second, third


def _math(inner: str) -> str:
    return f"<math><mrow>{inner}</mrow></math>"


# --- HTML ---------------------------------------------------------------------------------------

_CSS = """
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
       color: #1b1f24; background: #ffffff; margin: 0; line-height: 1.45; }
main { max-width: 72rem; margin: 0 auto; padding: 1.5rem 2rem 3rem; }
h1 { font-size: 1.6rem; margin: 0 0 1rem; }
h2 { font-size: 1.25rem; margin: 2rem 0 0.6rem; border-bottom: 1px solid #d0d7de; padding-bottom: 0.2rem; }
h3 { font-size: 1.05rem; margin: 1.2rem 0 0.4rem; }
code { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 0.92em;
       background: #f3f4f6; padding: 0 0.2em; border-radius: 3px; }
table { border-collapse: collapse; margin: 0.4rem 0 0.8rem; }
th, td { border: 1px solid #d0d7de; padding: 0.25rem 0.6rem; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
td.num { text-align: right; white-space: nowrap; }
table.summary th { width: 8rem; }
.value { font-weight: 600; }
.muted { color: #57606a; }
section.step { border: 1px solid #d0d7de; border-radius: 6px; padding: 0.6rem 1rem 0.4rem; margin: 1rem 0; }
section.step h3 { margin-top: 0.2rem; }
.calc { display: grid; grid-template-columns: max-content minmax(0, 1fr); column-gap: 0.5rem;
        row-gap: 0.45rem; align-items: baseline; margin: 0.6rem 0; overflow-x: auto; }
.calc .lhs { text-align: right; }
.form { white-space: nowrap; }
math { font-size: 1.2em; math-style: normal; }
mi.q { font-style: italic; }
mi.u { color: #0b5394; }
mtd { text-align: left; padding: 0.05em 0.3em; }
.form.result { font-weight: 600; }
.label { font-size: 0.7rem; text-transform: uppercase; letter-spacing: 0.05em; color: #8c959f;
         margin-left: 0.8rem; font-family: system-ui, sans-serif; font-weight: normal; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; column-gap: 0.8rem; row-gap: 0.15rem;
          margin: 0.4rem 0; font-size: 0.92rem; }
dl.meta dt { color: #57606a; }
dl.meta dd { margin: 0; }
.other-options code { white-space: nowrap; }
a { color: #0969da; }
footer { margin-top: 2rem; font-size: 0.8rem; color: #8c959f; }
""".strip()


def _html(page: _Page) -> str:
    from costmodel import __version__

    e = html.escape
    out = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{e(page.title)}</title>", f"<style>\n{_CSS}\n</style>", "</head>", "<body>",
           "<main>", f"<h1>{e(page.title)}</h1>"]

    out += ['<section class="summary">', "<h2>Summary</h2>", '<table class="summary">']
    out.append(f"<tr><th>target</th><td><code>{e(page.target)}</code>: {e(page.target_doc)}</td></tr>")
    value = _pretty(page.value, page.unit)
    canonical = f' <span class="muted">({e(_exact(page))})</span>' if _exact(page) else ""
    out.append(f'<tr><th>value</th><td><span class="value">{e(value)}</span>{canonical}</td></tr>')
    for key, text in page.scenario:
        out.append(f"<tr><th>{e(key)}</th><td>{e(text)}</td></tr>")
    out.append("</table>")
    if page.inputs:
        out += ["<h3>Inputs</h3>", '<table class="inputs">',
                "<tr><th>quantity</th><th>value</th><th>origin</th><th>meaning</th></tr>"]
        out += [f'<tr><td><code>{e(r.name)}</code></td><td class="num">{e(r.value)}</td>'
                f"<td>{e(r.origin)}</td><td>{e(r.meaning)}</td></tr>" for r in page.inputs]
        out.append("</table>")
    if page.options or page.other_options:
        out.append("<h3>Recipe options</h3>")
    if page.options:
        out += ['<table class="options">',
                "<tr><th>option</th><th>choice</th><th>origin</th><th>meaning</th><th>steps</th></tr>"]
        out += [f"<tr><td><code>{e(r.name)}</code></td><td><code>{e(r.value)}</code></td>"
                f"<td>{e(r.origin)}</td><td>{e(r.meaning)}</td><td>{e(r.steps)}</td></tr>"
                for r in page.options]
        out.append("</table>")
    if page.other_options:
        out.append('<p class="other-options">'
                   + ("Other options (no step depends on them): " if page.options else
                      "No step depends on the options: ")
                   + ", ".join(f"<code>{e(n)} = {e(v)}</code>" for n, v in page.other_options) + "</p>")
    out.append("</section>")

    if page.calcs:
        out += ['<section class="steps">', "<h2>Steps</h2>"]
    for c in page.calcs:
        symbolic, numbers, result = _mml_lines(c)
        eq = "<mo>=</mo>"
        out += [f'<section class="step" id="step-{c.number}">',
                f"<h3>{c.number}. <code>{e(c.name)}</code>: {e(c.doc)}</h3>",
                '<div class="calc">',
                f'<div class="lhs">{_math(_mml_name(c.name))}</div>',
                f'<div class="form symbolic">{_math(eq + symbolic)}<span class="label">formula</span></div>',
                '<div class="lhs"></div>',
                f'<div class="form substituted">{_math(eq + numbers)}<span class="label">numbers</span></div>',
                '<div class="lhs"></div>',
                f'<div class="form result">{_math(eq + result)}<span class="label">result</span></div>',
                "</div>", '<dl class="meta">',
                f"<dt>source</dt><dd>{_html_source(c.source)}</dd>"]
        out += [f"<dt>assumes</dt><dd>{e(a)}</dd>" for a in c.assumptions]
        if c.condition:
            forced = ", ".join(f"<code>{e(n)} = {e(v)}</code>" for n, v in c.in_force)
            out.append(f"<dt>applies when</dt><dd><code>{e(c.condition)}</code>"
                       + (f" (in force: {forced})" if forced else "") + "</dd>")
        out.append(f"<dt>plugin</dt><dd><code>{e(c.plugin)}</code></dd>")
        out += ["</dl>", "</section>"]
    if page.calcs:
        out.append("</section>")
    if page.notes:
        out += ['<section class="notes">', "<h2>Notes</h2>", "<ul>"]
        out += [f"<li>{e(n)}</li>" for n in page.notes]
        out += ["</ul>", "</section>"]
    out += [f"<footer>costmodel {e(__version__)}: every step reads formula = numbers = result; "
            "numbers are in each quantity's canonical unit.</footer>", "</main>", "</body>", "</html>"]
    return "\n".join(out) + "\n"
