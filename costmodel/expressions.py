"""Formula text to sympy, through a whitelist of Python AST nodes; sympy to fast evaluators.

Text is parsed with `ast.parse` and each node is translated by hand; nothing is ever evaluated,
executed or sympified. Calls are allowed only to the names in `FUNCTIONS`, and attribute access,
subscripts, lambdas, comprehensions and strings (outside conditions) are rejected.

`to_program` turns a sympy expression into a plain tuple tree that `costmodel.programs` compiles to
closures over floats (or numpy arrays): the solver's and sweeps' inner loops call those, never
`subs`/`evalf`, and a cached registry needs no sympy at all.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Mapping

import sympy as sp

from costmodel.errors import PluginError
from costmodel.programs import ExpressionError, compile_program

FUNCTIONS = {
    "floor": sp.floor,
    "ceil": sp.ceiling,
    "min": sp.Min,
    "max": sp.Max,
    "abs": sp.Abs,
    "sqrt": sp.sqrt,
    "log": sp.log,
    "log2": lambda x: sp.log(x, 2),
    "exp": sp.exp,
}

class floordiv(sp.Function):
    """`a // b` kept as written: sympy would rewrite floor((n - 1)/3) as floor(n/3 - 1/3), which
    is not exact in floating point. Evaluated as Python's float floor division."""

    nargs = 2

    @classmethod
    def eval(cls, a, b):
        if a.is_Number and b.is_Number and b != 0:
            return sp.floor(a / b)
        return None

    def _latex(self, printer):
        return r"\left\lfloor \frac{%s}{%s} \right\rfloor" % (printer._print(self.args[0]), printer._print(self.args[1]))

    def _sympystr(self, printer):
        return f"({printer._print(self.args[0])})//({printer._print(self.args[1])})"


_BINOPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
    ast.FloorDiv: lambda a, b: floordiv(a, b),
    ast.Mod: sp.Mod,
}
_COMPARE = {
    ast.Eq: sp.Eq,
    ast.NotEq: sp.Ne,
    ast.Lt: sp.Lt,
    ast.LtE: sp.Le,
    ast.Gt: sp.Gt,
    ast.GtE: sp.Ge,
}


def parse(text: str, resolve: Callable[[str], sp.Expr]) -> sp.Expr:
    """Parse formula text into sympy; `resolve(name)` returns the symbol for a name or raises."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"not a valid expression: {exc.msg}") from None
    return _Translator(resolve).visit(tree.body)


class _Translator:
    def __init__(self, resolve: Callable[[str], sp.Expr]):
        self.resolve = resolve

    def visit(self, node: ast.AST):
        method = getattr(self, "visit_" + type(node).__name__, None)
        if method is None:
            raise ExpressionError(f"{type(node).__name__} is not allowed in a formula")
        return method(node)

    def visit_Constant(self, node: ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise ExpressionError(f"constant {node.value!r} is not allowed (numbers only)")
        if isinstance(node.value, float) and not math.isfinite(node.value):
            raise ExpressionError("non-finite constant")
        if isinstance(node.value, int) and node.value.bit_length() > MAX_INT_BITS:
            raise ExpressionError(f"an integer constant beyond 2**{MAX_INT_BITS}")
        return sp.Integer(node.value) if isinstance(node.value, int) else sp.Float(node.value)

    def visit_Name(self, node: ast.Name):
        return self.resolve(node.id)

    def visit_BinOp(self, node: ast.BinOp):
        op = _BINOPS.get(type(node.op))
        if op is None:
            raise ExpressionError(f"operator {type(node.op).__name__} is not allowed")
        left, right = self.visit(node.left), self.visit(node.right)
        if isinstance(node.op, ast.Pow):
            _bounded_power(left, right)
        return op(left, right)

    def visit_UnaryOp(self, node: ast.UnaryOp):
        operand = self.visit(node.operand)
        if isinstance(node.op, ast.USub):
            return -operand
        if isinstance(node.op, ast.UAdd):
            return operand
        if isinstance(node.op, ast.Not):
            return sp.Not(_boolean(operand))
        raise ExpressionError(f"operator {type(node.op).__name__} is not allowed")

    def visit_Call(self, node: ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            shown = node.func.id if isinstance(node.func, ast.Name) else "this call"
            raise ExpressionError(
                f"call to {shown} is not allowed; functions: {', '.join(sorted(FUNCTIONS))}"
            )
        if node.keywords or any(isinstance(a, ast.Starred) for a in node.args) or not node.args:
            raise ExpressionError(f"{node.func.id}() takes plain positional arguments")
        return FUNCTIONS[node.func.id](*[self.visit(a) for a in node.args])

    def visit_IfExp(self, node: ast.IfExp):
        return sp.Piecewise(
            (self.visit(node.body), _boolean(self.visit(node.test))), (self.visit(node.orelse), True)
        )

    def visit_Compare(self, node: ast.Compare):
        parts = []
        left = self.visit(node.left)
        for op, comparator in zip(node.ops, node.comparators):
            relation = _COMPARE.get(type(op))
            if relation is None:
                raise ExpressionError(f"comparison {type(op).__name__} is not allowed")
            right = self.visit(comparator)
            parts.append(relation(left, right))
            left = right
        return parts[0] if len(parts) == 1 else sp.And(*parts)

    def visit_BoolOp(self, node: ast.BoolOp):
        values = [_boolean(self.visit(v)) for v in node.values]
        return sp.And(*values) if isinstance(node.op, ast.And) else sp.Or(*values)


MAX_INT_BITS = 256  # integer constants in a formula (the largest real one is 2**40)
MAX_POWER = 64  # |exponent| of a quantity's power in a formula (formulas use 2, 0.5, -1)
MAX_DIGITS = 400  # digits of a number a power of numbers may give


def _bounded_power(base, exponent) -> None:
    """Refuse powers sympy would compute for ever: `10**10**10`, `2**(10**9)`."""
    if exponent.is_Number and not base.is_Number and not abs(exponent) <= MAX_POWER:
        raise ExpressionError(f"a power beyond {MAX_POWER} ({exponent})")
    if base.is_Number and exponent.is_Number and base != 0:
        try:
            digits = abs(float(exponent)) * abs(math.log10(abs(float(base))))
        except (OverflowError, ValueError):
            digits = math.inf
        if not digits <= MAX_DIGITS:
            raise ExpressionError(f"a power of numbers with more than {MAX_DIGITS} digits")


def _boolean(value):
    """A bool quantity (0/1) used as a test means `value != 0`."""
    if isinstance(value, (sp.logic.boolalg.Boolean, sp.core.relational.Relational)):
        return value
    return sp.Ne(value, 0)


# --- dimensional analysis -------------------------------------------------------------------


def dimension(expr: sp.Expr, units: Mapping[sp.Symbol, object]):
    """The pint unit of `expr`, given the unit of every symbol; raises on a dimension mismatch.

    An exact zero fits any unit (`0 * FLOP/token` simplifies to 0; `x if c else 0` is fine).
    """
    from costmodel.units import registry

    ureg = registry()
    one = ureg.Quantity(1.0, ureg.dimensionless)

    def same(args, e, what):
        args = [a for a in args if a is not None]
        for other in args[1:]:
            if other.dimensionality != args[0].dimensionality:
                raise PluginError(f"{what} {args[0].units:~} with {other.units:~} in {e}")
        return ureg.Quantity(1.0, args[0].units) if args else None

    def walk(e):
        if e.is_Number and e == 0:
            return None
        if e.is_Number or e in (sp.true, sp.false):
            return one
        if e.is_Symbol:
            return ureg.Quantity(1.0, units[e])
        if isinstance(e, (sp.Add, sp.Min, sp.Max, sp.Mod)):
            return same([walk(a) for a in e.args], e, "adds or compares")
        if isinstance(e, sp.Mul):
            result = one
            for a in e.args:
                part = walk(a)
                if part is None:
                    return None
                result = result * part
            return ureg.Quantity(1.0, result.units)
        if isinstance(e, sp.Pow):
            base = walk(e.base)
            exponent = walk(e.exp)
            if base is None:
                return None
            if exponent is not None and not exponent.dimensionless:
                raise PluginError(f"exponent with a unit in {e}")
            if base.dimensionless:
                return one
            if not e.exp.is_Number:
                raise PluginError(f"a quantity with a unit raised to a symbolic power in {e}")
            return ureg.Quantity(1.0, (base**float(e.exp)).units)
        if isinstance(e, (sp.floor, sp.ceiling, sp.Abs)):
            return walk(e.args[0])
        if isinstance(e, floordiv):
            a, b = walk(e.args[0]), walk(e.args[1])
            return None if a is None else ureg.Quantity(1.0, (a / (b if b is not None else one)).units)
        if isinstance(e, (sp.log, sp.exp)):
            for a in e.args:
                part = walk(a)
                if part is not None and not part.dimensionless:
                    raise PluginError(f"log/exp of a quantity with a unit in {e}")
            return one
        if isinstance(e, sp.Piecewise):
            for _, cond in e.args:
                walk(cond)
            return same([walk(value) for value, _ in e.args], e, "a conditional mixes")
        if isinstance(e, sp.core.relational.Relational):
            same([walk(e.lhs), walk(e.rhs)], e, "compares")
            return one
        if isinstance(e, (sp.And, sp.Or, sp.Not)):
            for a in e.args:
                walk(a)
            return one
        raise PluginError(f"cannot check the unit of {type(e).__name__} in {e}")

    result = walk(expr)
    return ureg.dimensionless if result is None else result.units


# --- fast numeric evaluation ----------------------------------------------------------------
#
# A compiled formula is kept as a *program*: a tree of plain tuples ("add", (a, b)), ("sym", name),
# ("num", 1.5) ... It is made once from the sympy expression, pickles without sympy, and compiles to
# closures over floats (math) or arrays (numpy). The hot paths never touch sympy.

_NARY = {sp.Add: "add", sp.Mul: "mul", sp.Min: "min", sp.Max: "max", sp.And: "and", sp.Or: "or"}
_UNARY = {sp.floor: "floor", sp.ceiling: "ceil", sp.Abs: "abs", sp.exp: "exp", sp.Not: "not"}
_RELATIONS = {sp.Eq: "eq", sp.Ne: "ne", sp.Lt: "lt", sp.Le: "le", sp.Gt: "gt", sp.Ge: "ge"}


def to_program(e) -> tuple:
    """The sympy expression as a tuple tree (see above)."""
    if e is sp.true or e is sp.false:
        return ("num", float(bool(e)))
    if e.is_Number:
        return ("num", float(e))
    if e.is_Symbol:
        return ("sym", e.name)
    if isinstance(e, sp.Mul):  # a * b / c as a true division: exact quotients stay exact
        numerator = [a for a in e.args if not (a.is_Pow and a.exp.is_Number and a.exp < 0)]
        denominator = [sp.Pow(a.base, -a.exp) for a in e.args if a not in numerator]
        top = _product(numerator)
        if denominator:
            return ("div", top, _product(denominator))
        return top
    if isinstance(e, floordiv):
        return ("floordiv", to_program(e.args[0]), to_program(e.args[1]))
    for kind, name in _NARY.items():
        if isinstance(e, kind):
            return (name, tuple(to_program(a) for a in e.args))
    for kind, name in _UNARY.items():
        if isinstance(e, kind):
            return (name, to_program(e.args[0]))
    for kind, name in _RELATIONS.items():
        if isinstance(e, kind):
            return (name, to_program(e.lhs), to_program(e.rhs))
    if isinstance(e, sp.Pow):
        return ("pow", to_program(e.base), to_program(e.exp))
    if isinstance(e, sp.Mod):
        return ("mod", to_program(e.args[0]), to_program(e.args[1]))
    if isinstance(e, sp.log):
        return ("log", tuple(to_program(a) for a in e.args))
    if isinstance(e, sp.Piecewise):
        return ("piecewise", tuple((to_program(v), to_program(c)) for v, c in e.args))
    raise PluginError(f"cannot evaluate {type(e).__name__} in {e}")


def _product(factors: list) -> tuple:
    if not factors:
        return ("num", 1.0)
    if len(factors) == 1:
        return to_program(factors[0])
    return ("mul", tuple(to_program(f) for f in factors))


def to_sympy(program: tuple):
    """Back from a program to sympy (for closed-form solving and derivations)."""
    op = program[0]
    if op == "num":
        value = program[1]
        return sp.Integer(int(value)) if float(value).is_integer() else sp.Float(value)
    if op == "sym":
        from costmodel.registry import symbol

        return symbol(program[1])
    if op in ("add", "mul", "min", "max", "and", "or"):
        kind = {v: k for k, v in _NARY.items()}[op]
        return kind(*[to_sympy(a) for a in program[1]])
    if op in _UNARY.values():
        kind = {v: k for k, v in _UNARY.items()}[op]
        return kind(to_sympy(program[1]))
    if op in _RELATIONS.values():
        kind = {v: k for k, v in _RELATIONS.items()}[op]
        return kind(to_sympy(program[1]), to_sympy(program[2]))
    if op == "pow":
        return sp.Pow(to_sympy(program[1]), to_sympy(program[2]))
    if op == "div":
        return to_sympy(program[1]) / to_sympy(program[2])
    if op == "floordiv":
        return floordiv(to_sympy(program[1]), to_sympy(program[2]))
    if op == "mod":
        return sp.Mod(to_sympy(program[1]), to_sympy(program[2]))
    if op == "log":
        return sp.log(*[to_sympy(a) for a in program[1]])
    if op == "piecewise":
        return sp.Piecewise(*[(to_sympy(v), to_sympy(c)) for v, c in program[1]])
    raise PluginError(f"unknown program node {op!r}")


def compile_numeric(expr, numpy: bool = False) -> Callable[[Mapping[str, float]], float]:
    """A closure evaluating a sympy expression from a mapping of symbol name -> value."""
    return compile_program(to_program(expr), numpy)
