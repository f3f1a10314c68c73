"""Validity rules of a traced model: the shapes its formulas hold for, as the family's [[checks]].

A trace measures shapes where every width is a multiple of every count (tracing.pool), so the
fitted formulas are exact there. Elsewhere (d_model not divisible by n_head) the user's factory may
refuse the shape, or build another model (a head size rounded down), and the formulas would be
wrong; a solver free to pick any whole d_model must not go there. Two sources of rules:

- probed (`probe`): every rule `a % b == 0` and `a % (2 * b) == 0` between integer arguments (a
  varied and b a count, varied or fixed; or a fixed and b varied) that holds at every measured
  shape is tested at a probe shape that breaks it alone: one name moved from a measured shape (the
  base first, then the others, whose widths and counts coincide less) so that every other
  candidate that holds there still holds. When the model refuses the probe, or
  measures there other than the fitted formulas say, the rule is the model's (the reason is kept
  for the message). A rule implied by a stronger one that was kept is dropped.
- given (`given`): `--check "d_model % n_head == 0"`, parsed through costmodel's formula
  whitelist (never evaluated as Python), with the --fixed names replaced by their values; the
  trace measures only shapes that meet it.

Rules read the varied names only (fixed ones are numbers in them), so they are checks of the family.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping, Sequence

import attrs

from costmodel.errors import UserError

MAX_DIVISOR = 128  # a fixed number above this is a size, not a count another width splits into
REASON = 160  # characters of an exception kept in a rule's message
BASES = 16  # measured shapes a probe may start from besides the base (bounds the search)


@attrs.frozen
class Rule:
    """`text` as the family reads it; `why` how trace knows; `holds(point)` on a trace shape."""

    text: str
    why: str
    holds: Callable[[Mapping[str, object]], bool] = attrs.field(eq=False, repr=False)


@attrs.frozen
class _Candidate:
    """a % (m * b) == 0, a and b a varied name or a fixed number."""

    a: str | int
    b: str | int
    m: int

    def holds(self, point: Mapping[str, object]) -> bool:
        a = point[self.a] if isinstance(self.a, str) else self.a
        b = point[self.b] if isinstance(self.b, str) else self.b
        return int(a) % (self.m * int(b)) == 0

    def text(self) -> str:
        if isinstance(self.b, int):
            return f"{self.a} % {self.m * self.b} == 0"
        return f"{self.a} % {self.b if self.m == 1 else f'({self.m} * {self.b})'} == 0"

    def names(self) -> list[str]:
        return [n for n in (self.a, self.b) if isinstance(n, str)]

    def weaker(self) -> _Candidate:
        return _Candidate(self.a, self.b, 1)


def given(texts: Sequence[str], varied: Sequence[str], fixed: Mapping[str, object]) -> list[Rule]:
    """The user's --check rules, parsed (never evaluated as Python)."""
    from costmodel import programs
    from costmodel.expressions import compile_numeric, parse

    import sympy as sp

    numbers = {k: int(v) if isinstance(v, bool) else v for k, v in fixed.items()
               if isinstance(v, (int, float))}
    rules = []
    for text in texts:
        def resolve(name: str, text=text):
            if name in varied:
                return sp.Symbol(name, positive=True)
            if name in numbers:
                return sp.Integer(numbers[name]) if isinstance(numbers[name], int) else sp.Float(numbers[name])
            raise programs.ExpressionError(f"unknown name {name!r}")

        try:
            expr = parse(text, resolve)
        except programs.ExpressionError as exc:
            raise UserError(f"--check {text!r}: {exc} (it may read the --vary names, except the sequence "
                            "length, and numeric --fixed names)") from None
        if not isinstance(expr, (sp.core.relational.Relational, sp.And, sp.Or, sp.Not)):
            raise UserError(f"--check {text!r}: not a condition (write e.g. 'd_model % n_head == 0')")
        test = compile_numeric(expr)

        def holds(point, test=test):
            return bool(test({k: float(v) for k, v in point.items()}))

        shown = ast.unparse(_Numbers(numbers).visit(ast.parse(text.strip(), mode="eval")))
        rules.append(Rule(shown, "given with --check", holds))
    return rules


class _Numbers(ast.NodeTransformer):
    """The fixed names of a --check replaced by their values (the family does not have them)."""

    def __init__(self, numbers: Mapping[str, object]):
        self.numbers = numbers

    def visit_Name(self, node: ast.Name):
        return ast.Constant(self.numbers[node.id]) if node.id in self.numbers else node


def candidates(integers: Sequence[str], counts: Sequence[str], fixed: Mapping[str, object]) -> list[_Candidate]:
    """Divisibility rules worth probing, the stronger (a % (2 b)) before the weaker."""
    numbers = {k: v for k, v in fixed.items() if isinstance(v, int) and not isinstance(v, bool) and v >= 1}
    divisors = [*counts, *(v for v in numbers.values() if 1 < v <= MAX_DIVISOR)]
    pairs = [(a, b) for a in integers for b in divisors if a != b]
    pairs += [(v, b) for v in numbers.values() for b in counts]
    out = []
    for a, b in dict.fromkeys(pairs):
        out += [_Candidate(a, b, 2), _Candidate(a, b, 1)]
    return out


def probe(cands: Sequence[_Candidate], measured: Sequence[Mapping], run: Callable, agrees: Callable,
          user: Sequence[Rule], where: str) -> list[Rule]:
    """The candidates the model holds to (module doc). `run(point)` measures a shape (an object with
    a `reason` when the model refuses it); `agrees(point, row)` is None when the fitted formulas
    give the measurement, else what differs."""
    alive = [c for c in cands if all(c.holds(p) for p in measured)]
    kept: list[_Candidate] = []
    rules = []
    for c in list(alive):
        if c not in alive:
            continue
        if c.m == 1 and _Candidate(c.a, c.b, 2) in kept:
            continue  # implied by the stronger rule kept
        others = [o for o in alive if o != c and o.weaker() != c]
        point = base = None
        for base in [*measured[:1], *measured[-BASES:]]:  # the base shape, then the latest (random) ones
            point = _breaking(c, others, base, user)
            if point is not None:
                break
        if point is None:
            continue
        row = run(point)
        reason = getattr(row, "reason", None)
        if reason is None:
            reason = agrees(point, row)
            if reason is None:
                alive.remove(c)  # the model and its formulas are fine without it
                continue
            reason = f"the model builds there but measures {reason}"
        else:
            reason = f"the model refuses it: {reason}"
        kept.append(c)
        name = next(n for n in c.names() if point[n] != base[n])
        rules.append(Rule(c.text(), f"{where} at {name}={point[name]}, {reason[:REASON]}", c.holds))
    return rules


def _breaking(c: _Candidate, others: Sequence[_Candidate], base: Mapping, user: Sequence[Rule]) -> dict | None:
    """The base shape with one name of `c` moved (the nearest value) so that c breaks, every other
    candidate holding at the base still holds and the user's rules too; None if there is none."""
    if not c.holds(base):
        return None
    holding = [o for o in others if o.holds(base)]
    for name in c.names():
        x = int(base[name])
        for v in sorted(range(1, 4 * x + 17), key=lambda v: (abs(v - x), v)):
            point = {**base, name: v}
            if (not c.holds(point) and all(o.holds(point) for o in holding)
                    and all(r.holds(point) for r in user)):
                return point
    return None
