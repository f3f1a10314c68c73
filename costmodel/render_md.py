"""A derivation page as Markdown with LaTeX math (GitHub, KaTeX and MathJax render it)."""

from __future__ import annotations

import re

import sympy as sp

from costmodel import units
from costmodel.render import _Calc, _Page, _canonical_text, _exact, _links, _number_text, _pretty, _split


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


WIDTH = 100  # characters of LaTeX source per line of a step before it wraps (about a page's width)


def _latex_lines(c: _Calc) -> tuple[list[str], list[str], str]:
    """The three forms of a step in LaTeX (right-hand sides only); the first two as one or more lines."""
    units_map = {sym: _latex_unit(name) for sym, name in c.unit_symbols.items()}
    symbolic = {sym: _latex_name(sym.name) for sym in c.quantities}
    numbers = {sym: _latex_value(v, u) for sym, (v, u) in c.quantities.items()}
    return (_wrapped(c.expr, {**units_map, **symbolic}), _wrapped(c.expr, {**units_map, **numbers}),
            _latex_result(c.value, c.unit))


def _wrapped(expr: sp.Expr, names: dict) -> list[str]:
    """`expr` in LaTeX, broken before a top-level + or - when one line would pass WIDTH: a long sum
    term by term, and a product with a long sum as `factor * (terms)` with the terms on lines."""
    def latex(e: sp.Expr) -> str:
        return sp.latex(e, symbol_names=names, mul_symbol="dot")

    whole = latex(expr)
    if len(whole) <= WIDTH:
        return [whole]
    if isinstance(expr, sp.Add):
        return _pack([latex(t) for t in expr.as_ordered_terms()], "", "")
    if isinstance(expr, sp.Mul):
        sums = [f for f in expr.args if isinstance(f, sp.Add)]
        if sums:
            inner = max(sums, key=lambda f: len(latex(f)))
            rest = sp.Mul(*(f for f in expr.args if f is not inner), evaluate=False)
            head = "" if rest == 1 else latex(rest) + r" \cdot "
            return _pack([latex(t) for t in inner.as_ordered_terms()], head + r"\bigl(", r"\bigr)")
    return [whole]


def _pack(terms: list[str], opening: str, closing: str) -> list[str]:
    """Terms joined by + (a term's own leading minus kept), greedily filled into lines of WIDTH."""
    lines, line = [], opening
    for i, term in enumerate(terms):
        piece = term if i == 0 else (f" {term}" if term.startswith("-") else f" + {term}")
        if len(line) + len(piece) > WIDTH and line.strip():
            lines.append(line)
            line = r"\quad" + piece
        else:
            line += piece
    return lines + [line + closing]


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


def markdown(page: _Page) -> str:
    out = [f"# {page.title}", ""]
    out += ["## Summary", "", "| | |", "|---|---|"]
    out.append(f"| target | `{page.target}`: {_md_cell(page.target_doc)} |")
    out.append(f"| value | **{_md_cell(_pretty(page.value, page.unit))}**"
               + (f" ({_md_cell(_exact(page))})" if _exact(page) else "") + " |")
    for key, value in page.scenario:
        out.append(f"| {key} | {_md_cell(value)} |")
    out.append("")
    if page.key_numbers:
        out += ["### Key numbers", "", "| quantity | value |", "|---|---:|"]
        out += [f"| `{n}` | {_md_cell(v)} |" for n, v in page.key_numbers]
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
        out += ["$$", r"\begin{aligned}"]
        for lead, lines in ((f"{_latex_name(c.name)} &= ", symbolic), ("&= ", numbers)):
            out += [f"{lead if i == 0 else '&'}{line} \\\\" for i, line in enumerate(lines)]
        out += [rf"&= {result}", r"\end{aligned}", "$$", ""]
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


def _md_source(text: str) -> str:
    return "".join(f"[{piece}]({address})" if address else piece for piece, address in _links(text))
