"""Exact polynomials from measurements: rational linear algebra, never a least-squares float.

A quantity measured at many shapes is fitted as a polynomial in the varied names on a stated
monomial basis: every monomial whose degree in each name is at most that name's bound (`Basis`).
The coefficients solve A_S c = y_S over the rationals (sympy's DomainMatrix over QQ), with S as
many shapes as unknowns whose rows are independent (found by elimination modulo a large prime:
independent modulo p implies independent over the rationals), so they are exact; quantities on
one basis share the factorisation. The fit is accepted only when it reproduces every
measurement exactly (residual 0 at every shape), with more shapes than unknowns, and again at
held-out shapes that took no part in the fit. Otherwise `NotPolynomial` names the quantity and
the shapes where the fit broke, with the residuals.

The degree bound of a name is found first by a scan (`degree_along`): the name alone is varied
about a base shape and the lowest degree that fits every point exactly (with at least one point to
spare) is its degree along that line.

A basis may be pruned by the names' interactions (`pairs`): a monomial whose names include a and b
is kept only when a and b interact, i.e. the mixed difference Q(a', b') - Q(a', b) - Q(a, b') +
Q(a, b) at the base shape is not zero. Every monomial holding both names adds to that difference
a product of positive factors (the names are positive, the steps go one way), so a zero difference
means no such monomial, unless terms of opposite signs cancel exactly at the base; then the exact
fit misses shapes away from the base, and the caller fits again on the whole basis. This takes
the basis of a 6-name FLOP count from 96 unknowns to about 30 (Zippel's sparse interpolation,
SIAM J. 1979, prunes by the same kind of evidence, variable by variable).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from fractions import Fraction

import sympy as sp
from sympy.polys.matrices import DomainMatrix

from costmodel.errors import UserError

Point = Mapping[str, int]


class NotPolynomial(UserError):
    """No polynomial of the basis reproduces the measurements (of `quantity`)."""

    def __init__(self, message: str, quantity: str | None = None):
        super().__init__(message)
        self.quantity = quantity


class Underdetermined(UserError):
    """The shapes do not pin every coefficient down (more shapes needed)."""


Pairs = frozenset  # of frozenset({a, b}): the names that interact; None: every pair does


def key(degrees: Mapping[str, int], pairs: Pairs | None = None) -> tuple:
    """A basis as a hashable key: the degree bounds and the interacting pairs among its names."""
    names = [n for n, k in degrees.items() if k]
    if pairs is not None:
        pairs = frozenset(p for p in pairs if p <= set(names))
    return tuple(sorted(degrees.items())), pairs


def monomials(degrees: Mapping[str, int], pairs: Pairs | None = None) -> list[tuple[tuple[str, int], ...]]:
    """Every product of the names with each exponent up to its bound (1 first), keeping only
    products whose names interact pairwise when `pairs` is given."""
    names = sorted(degrees)
    out = []
    for powers in itertools.product(*(range(degrees[n] + 1) for n in names)):
        m = tuple((n, k) for n, k in zip(names, powers) if k)
        if pairs is None or all(frozenset(ab) in pairs for ab in itertools.combinations([n for n, _ in m], 2)):
            out.append(m)
    return sorted(out, key=lambda m: (sum(k for _, k in m), m))


class Design:
    """Which shapes determine the coefficients of every basis: an echelon form of each basis's
    rows modulo a large prime (a full rank modulo p implies a full rank over the rationals), so a
    shape is measured only when it adds to the rank of a basis that is not yet determined."""

    PRIME = 2**61 - 1

    def __init__(self, keys):
        """`keys`: the bases, as `key(degrees, pairs)` gives them."""
        self.bases = {k: monomials(dict(k[0]), k[1]) for k in keys}
        self.rows: dict[tuple, dict[int, list[int]]] = {k: {} for k in self.bases}
        self.size = max(len(b) for b in self.bases.values())

    def full(self) -> bool:
        return all(len(self.rows[k]) == len(b) for k, b in self.bases.items())

    def _reduce(self, key, point: Point) -> list[int]:
        p = self.PRIME
        row = [_value(m, point) % p for m in self.bases[key]]
        for col, pivot_row in self.rows[key].items():
            if row[col]:
                f = row[col]
                row = [(a - f * b) % p for a, b in zip(row, pivot_row)]
        return row

    def helps(self, point: Point) -> bool:
        return any(len(self.rows[k]) < len(b) and any(self._reduce(k, point)) for k, b in self.bases.items())

    def add(self, point: Point) -> None:
        p = self.PRIME
        for key, basis in self.bases.items():
            if len(self.rows[key]) == len(basis):
                continue
            row = self._reduce(key, point)
            col = next((i for i, a in enumerate(row) if a), None)
            if col is None:
                continue
            inv = pow(row[col], p - 2, p)
            row = [a * inv % p for a in row]
            for other in self.rows[key].values():  # keep the rows reduced at the new pivot
                if other[col]:
                    f = other[col]
                    other[:] = [(a - f * b) % p for a, b in zip(other, row)]
            self.rows[key][col] = row


def _value(monomial, point: Point) -> int:
    v = 1
    for name, k in monomial:
        v *= int(point[name]) ** k
    return v


def fit(quantity: str, points: Sequence[Point], values: Sequence[int | Fraction],
        degrees: Mapping[str, int]) -> sp.Expr:
    """The exact polynomial of the basis through every (point, value), or NotPolynomial."""
    return fit_all(points, {quantity: (values, key(degrees))})[quantity]


def fit_all(points: Sequence[Point], quantities: Mapping[str, tuple[Sequence, tuple]]) -> dict:
    """`fit` for many quantities measured at the same points: {label: (values, key(degrees, pairs))}."""
    groups: dict[tuple, list[str]] = {}
    for label, (_, basis_key) in quantities.items():
        groups.setdefault(basis_key, []).append(label)
    out = {}
    for (degrees, pairs), labels in groups.items():
        basis = monomials(dict(degrees), pairs)
        if len(points) <= len(basis):
            raise Underdetermined(f"{labels[0]}: {len(points)} shapes for {len(basis)} unknowns")
        rows = [[_value(m, p) for m in basis] for p in points]
        chosen = _independent(rows, len(basis))
        if chosen is None:
            raise Underdetermined(f"{labels[0]}: the shapes do not determine all {len(basis)} coefficients")
        a = DomainMatrix([[sp.QQ(rows[i][j]) for j in range(len(basis))] for i in chosen],
                         (len(basis), len(basis)), sp.QQ)
        y = DomainMatrix([[_rational(quantities[q][0][i]) for q in labels] for i in chosen],
                         (len(basis), len(labels)), sp.QQ)
        coeffs = a.lu_solve(y).to_Matrix()
        for col, label in enumerate(labels):
            expr = sp.Add(*(coeffs[row, col] * sp.Mul(*(sp.Symbol(n, positive=True) ** k for n, k in m))
                            for row, m in enumerate(basis) if coeffs[row, col] != 0))
            values = quantities[label][0]
            bad = residuals(expr, points, values)
            if bad:
                raise NotPolynomial(_message(label, dict(degrees), bad, len(points)), label)
            out[label] = expr
    return out


def _rational(v):
    v = Fraction(v)
    return sp.QQ(v.numerator, v.denominator)


def _independent(rows: Sequence[Sequence[int]], k: int, prime: int = Design.PRIME) -> list[int] | None:
    """Indices of k rows independent modulo `prime` (so over the rationals), or None."""
    pivots: dict[int, list[int]] = {}
    chosen = []
    for i, row in enumerate(rows):
        r = [x % prime for x in row]
        for col, pivot in pivots.items():
            if r[col]:
                f = r[col]
                r = [(a - f * b) % prime for a, b in zip(r, pivot)]
        col = next((j for j, x in enumerate(r) if x), None)
        if col is None:
            continue
        inv = pow(r[col], prime - 2, prime)
        pivots[col] = [x * inv % prime for x in r]
        chosen.append(i)
        if len(chosen) == k:
            return chosen
    return None


def residuals(expr: sp.Expr, points: Sequence[Point], values: Sequence) -> list[tuple[Point, object, object]]:
    """(point, measured, predicted) wherever expr misses a measurement (exact arithmetic)."""
    symbols = sorted(expr.free_symbols, key=str)
    terms = [(exps, Fraction(int(c.p), int(c.q)))
             for exps, c in (sp.Poly(expr, *symbols).terms() if symbols else [((), sp.Rational(expr))])]
    bad = []
    for p, v in zip(points, values):
        got = Fraction(0)
        for exps, c in terms:
            for s, k in zip(symbols, exps):
                c *= Fraction(p[s.name]) ** k
            got += c
        if Fraction(v) != got:
            bad.append((p, v, got))
    return bad


def degree_along(quantity: str, name: str, xs: Sequence[int], values: Sequence, max_degree: int) -> int:
    """The lowest degree in `name` that fits the scan exactly with a point to spare."""
    for k in range(0, min(max_degree, len(xs) - 2) + 1):
        try:
            fit(quantity, [{name: x} for x in xs], values, {name: k})
            return k
        except (NotPolynomial, Underdetermined):
            continue
    shown = ", ".join(f"{name}={x}: {v}" for x, v in zip(xs, values))
    raise NotPolynomial(
        f"{quantity} is not a polynomial of degree <= {min(max_degree, len(xs) - 2)} in {name} "
        f"(measured {shown}); a shape rounded with // or max? fix {name} with --fixed, or raise "
        f"--degree {name}=K"
    )


def _message(quantity: str, degrees: Mapping[str, int], bad, n: int) -> str:
    shown = "; ".join(
        f"at {', '.join(f'{k}={v}' for k, v in p.items())}: measured {measured}, fit {predicted} "
        f"(residual {Fraction(measured) - predicted})"
        for p, measured, predicted in bad[:4]
    )
    basis = ", ".join(f"{k}<={v}" for k, v in sorted(degrees.items()))
    more = f" (and {len(bad) - 4} more)" if len(bad) > 4 else ""
    return (f"{quantity} is not a polynomial with degrees {basis}: no exact fit through {n} shapes; "
            f"{len(bad)} miss: {shown}{more}")
