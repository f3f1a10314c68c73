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


def _md_source(text: str) -> str:
    return "".join(f"[{piece}]({address})" if address else piece for piece, address in _links(text))
