"""Formula text to sympy, through a whitelist of Python AST nodes; sympy to fast evaluators.

Text is parsed with `ast.parse` and each node is translated by hand; nothing is ever evaluated,
executed or sympified. Calls are allowed only to the names in `FUNCTIONS`, and attribute access,
subscripts, lambdas, comprehensions and strings (outside conditions) are rejected.

`compile_numeric` turns a sympy expression into a closure over plain floats (or numpy arrays): the
inner loops of the solver and of sweeps call those, never `subs`/`evalf`.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Mapping

import sympy as sp

from costmodel.errors import PluginError

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

_BINOPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
    ast.FloorDiv: lambda a, b: sp.floor(a / b),
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


class ExpressionError(ValueError):
    """A formula text outside the whitelist, or naming something unknown."""


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
        return sp.Integer(node.value) if isinstance(node.value, int) else sp.Float(node.value)

    def visit_Name(self, node: ast.Name):
        return self.resolve(node.id)

    def visit_BinOp(self, node: ast.BinOp):
        op = _BINOPS.get(type(node.op))
        if op is None:
            raise ExpressionError(f"operator {type(node.op).__name__} is not allowed")
        return op(self.visit(node.left), self.visit(node.right))

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


def _boolean(value):
    """A bool quantity (0/1) used as a test means `value != 0`."""
    if isinstance(value, (sp.logic.boolalg.Boolean, sp.core.relational.Relational)):
        return value
    return sp.Ne(value, 0)


# --- conditions over choices ----------------------------------------------------------------


class Condition:
    """A condition over choice/bool quantities ('attention == "eager"'), decided at composition.

    Parsed by the same whitelist idea; it is interpreted by walking the tree, never executed.
    """

    def __init__(self, text: str):
        self.text = text
        try:
            self._tree = ast.parse(text.strip(), mode="eval").body
        except SyntaxError as exc:
            raise ExpressionError(f"condition {text!r} is not valid: {exc.msg}") from None
        self.names: set[str] = set()
        self.literals: dict[str, set[str]] = {}
        self._collect(self._tree)

    def _collect(self, node, subject: str | None = None) -> None:
        if isinstance(node, ast.BoolOp):
            for v in node.values:
                self._collect(v)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            self._collect(node.operand)
        elif isinstance(node, ast.Name):
            self.names.add(node.id)
        elif isinstance(node, ast.Compare) and len(node.ops) == 1:
            if not isinstance(node.left, ast.Name):
                raise ExpressionError(f"condition {self.text!r}: compare a quantity name to text")
            if not isinstance(node.ops[0], (ast.Eq, ast.NotEq, ast.In, ast.NotIn)):
                raise ExpressionError(f"condition {self.text!r}: use ==, !=, in or not in")
            self.names.add(node.left.id)
            for literal in self._literals(node.comparators[0]):
                self.literals.setdefault(node.left.id, set()).add(literal)
        elif isinstance(node, ast.Constant) and isinstance(node.value, bool):
            pass
        else:
            raise ExpressionError(f"condition {self.text!r}: {type(node).__name__} is not allowed")

    def _literals(self, node) -> list:
        if isinstance(node, ast.Constant) and isinstance(node.value, (str, bool)):
            return [node.value]
        if isinstance(node, (ast.Tuple, ast.List)):
            return [x for elt in node.elts for x in self._literals(elt)]
        raise ExpressionError(f"condition {self.text!r}: compare with text literals only")

    def holds(self, values: Mapping[str, object]) -> bool:
        return bool(self._eval(self._tree, values))

    def _eval(self, node, values):
        if isinstance(node, ast.BoolOp):
            results = (self._eval(v, values) for v in node.values)
            return all(results) if isinstance(node.op, ast.And) else any(results)
        if isinstance(node, ast.UnaryOp):
            return not self._eval(node.operand, values)
        if isinstance(node, ast.Name):
            return bool(values[node.id])
        if isinstance(node, ast.Constant):
            return node.value
        left = values[node.left.id]
        literals = self._literals(node.comparators[0])
        op = node.ops[0]
        if isinstance(op, ast.Eq):
            return left == literals[0]
        if isinstance(op, ast.NotEq):
            return left != literals[0]
        if isinstance(op, ast.In):
            return left in literals
        return left not in literals


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


class _Backend:
    def __init__(self, np=None):
        self.np = np
        if np is None:
            self.floor, self.ceil = math.floor, math.ceil
            self.log, self.exp, self.sqrt = math.log, math.exp, math.sqrt
            self.minimum = lambda *xs: min(xs)
            self.maximum = lambda *xs: max(xs)
        else:
            self.floor, self.ceil = np.floor, np.ceil
            self.log, self.exp, self.sqrt = np.log, np.exp, np.sqrt
            self.minimum = lambda *xs: _reduce(np.minimum, xs)
            self.maximum = lambda *xs: _reduce(np.maximum, xs)

    def where(self, cond, a, b):
        if self.np is None:
            return a if cond else b
        return self.np.where(cond, a, b)


def _reduce(fn, xs):
    result = xs[0]
    for x in xs[1:]:
        result = fn(result, x)
    return result


def compile_numeric(expr: sp.Expr, numpy: bool = False) -> Callable[[Mapping[str, float]], float]:
    """A closure evaluating `expr` from a mapping of symbol name -> float (or numpy array)."""
    backend = _Backend(__import__("numpy") if numpy else None)
    return _compile(expr, backend)


def _compile(e, b: _Backend):  # noqa: C901 - one dispatch table, read top to bottom
    if e.is_Number:
        value = float(e)
        return lambda env: value
    if e is sp.true or e is sp.false:
        value = bool(e)
        return lambda env: value
    if e.is_Symbol:
        name = e.name
        return lambda env: env[name]
    if isinstance(e, sp.Piecewise):
        pieces = [(_compile(v, b), _compile(c, b)) for v, c in e.args]
        if b.np is None:  # scalars: only the branch taken is evaluated

            def first_true(env):
                for value, cond in pieces:
                    if cond(env):
                        return value(env)
                raise ValueError(f"no branch of {e} applies")

            return first_true
        where = b.where

        def piecewise(env):
            result = pieces[-1][0](env)
            for value, cond in reversed(pieces[:-1]):
                result = where(cond(env), value(env), result)
            return result

        return piecewise
    args = [_compile(a, b) for a in e.args]
    if isinstance(e, sp.Add):
        return _fold(args, operator.add)
    if isinstance(e, sp.Mul):
        return _fold(args, operator.mul)
    if isinstance(e, sp.Pow):
        base, exponent = args
        if e.exp == -1:
            return lambda env: 1.0 / base(env)
        if e.exp == sp.Rational(1, 2):
            sqrt = b.sqrt
            return lambda env: sqrt(base(env))
        return lambda env: base(env) ** exponent(env)
    if isinstance(e, sp.floor):
        (x,), floor = args, b.floor
        return lambda env: floor(x(env))
    if isinstance(e, sp.ceiling):
        (x,), ceil = args, b.ceil
        return lambda env: ceil(x(env))
    if isinstance(e, sp.Abs):
        (x,) = args
        return lambda env: abs(x(env))
    if isinstance(e, sp.Min):
        fn = b.minimum
        return lambda env: fn(*[a(env) for a in args])
    if isinstance(e, sp.Max):
        fn = b.maximum
        return lambda env: fn(*[a(env) for a in args])
    if isinstance(e, sp.Mod):
        x, y = args
        return lambda env: x(env) % y(env)
    if isinstance(e, sp.log):
        log = b.log
        if len(args) == 2:
            x, base = args
            return lambda env: log(x(env)) / log(base(env))
        (x,) = args
        return lambda env: log(x(env))
    if isinstance(e, sp.exp):
        (x,), exp = args, b.exp
        return lambda env: exp(x(env))
    relations = {
        sp.Eq: operator.eq,
        sp.Ne: operator.ne,
        sp.Lt: operator.lt,
        sp.Le: operator.le,
        sp.Gt: operator.gt,
        sp.Ge: operator.ge,
    }
    for kind, fn in relations.items():
        if isinstance(e, kind):
            x, y = args
            return lambda env, fn=fn: fn(x(env), y(env))
    if isinstance(e, sp.And):
        if b.np is not None:
            return _fold(args, b.np.logical_and)
        return lambda env: all(a(env) for a in args)
    if isinstance(e, sp.Or):
        if b.np is not None:
            return _fold(args, b.np.logical_or)
        return lambda env: any(a(env) for a in args)
    if isinstance(e, sp.Not):
        (x,) = args
        if b.np is not None:
            return lambda env: b.np.logical_not(x(env))
        return lambda env: not x(env)
    raise PluginError(f"cannot evaluate {type(e).__name__} in {e}")


def _fold(args, fn):
    if len(args) == 2:
        first, second = args
        return lambda env: fn(first(env), second(env))

    def folded(env):
        result = args[0](env)
        for a in args[1:]:
            result = fn(result, a(env))
        return result

    return folded
