"""A derivation page as one self-contained HTML file with MathML (renders offline)."""

from __future__ import annotations

import html
import re

import sympy as sp

from costmodel import units
from costmodel.render import _Calc, _Page, _canonical_text, _exact, _links, _number_text, _pretty, _split


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


def html_page(page: _Page) -> str:
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
    if page.key_numbers:
        out += ["<h3>Key numbers</h3>", '<table class="key-numbers">',
                "<tr><th>quantity</th><th>value</th></tr>"]
        out += [f'<tr><td><code>{e(n)}</code></td><td class="num">{e(v)}</td></tr>' for n, v in page.key_numbers]
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
