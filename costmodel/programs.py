"""What runs without sympy: conditions over choices, and compiled numeric programs.

A formula's numeric form is a *program*, a tree of plain tuples such as ("add", (("sym", "x"),
("num", 2.0))). It pickles without sympy (the registry cache keeps it) and compiles here into
closures over floats (the math module) or numpy arrays (sweeps).
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping

from costmodel.errors import PluginError


class ExpressionError(ValueError):
    """A formula text outside the whitelist, or naming something unknown."""


_DECIDED: dict[tuple, bool] = {}
_ABSENT = object()  # a name without a value (the condition may still be decided without it)


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

    def _collect(self, node) -> None:
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
        """Whether the condition holds for these choices (remembered per condition text and the
        values of the names it reads: composing a scenario decides hundreds of conditions)."""
        key = (self.text, *(values.get(n, _ABSENT) for n in sorted(self.names)))
        known = _DECIDED.get(key)
        if known is None:
            known = _DECIDED[key] = bool(self._eval(self._tree, values))
        return known

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


def compile_program(program: tuple, numpy: bool = False) -> Callable[[Mapping[str, float]], float]:
    """A closure evaluating a program from a mapping of name -> float (or numpy array)."""
    import math as m

    if numpy:
        import numpy as np

        b = dict(floor=np.floor, ceil=np.ceil, log=np.log, exp=np.exp, sqrt=np.sqrt,
                 min=np.minimum, max=np.maximum, and_=np.logical_and, or_=np.logical_or,
                 not_=np.logical_not, where=np.where, np=True)
    else:
        b = dict(floor=m.floor, ceil=m.ceil, log=m.log, exp=m.exp, sqrt=m.sqrt,
                 min=min, max=max, and_=lambda x, y: bool(x) and bool(y),
                 or_=lambda x, y: bool(x) or bool(y), not_=lambda x: not x, where=None, np=False)
    return _compile(program, b)


_BINARY_FN = {
    "add": operator.add,
    "mul": operator.mul,
    "eq": operator.eq,
    "ne": operator.ne,
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
    "mod": operator.mod,
    "div": operator.truediv,
    "floordiv": operator.floordiv,
}


def _compile(p: tuple, b: dict):  # noqa: C901 - one dispatch table, read top to bottom
    op = p[0]
    if op == "num":
        value = p[1]
        return lambda env: value
    if op == "sym":
        name = p[1]
        return lambda env: env[name]
    if op in ("add", "mul"):
        return _fold([_compile(a, b) for a in p[1]], _BINARY_FN[op])
    if op in ("min", "max", "and", "or"):
        fn = b[op] if op in ("min", "max") else b[op + "_"]
        return _fold([_compile(a, b) for a in p[1]], fn)
    if op in ("floor", "ceil", "exp", "not"):
        fn, (x,) = b[op if op != "not" else "not_"], [_compile(p[1], b)]
        return lambda env: fn(x(env))
    if op == "abs":
        x = _compile(p[1], b)
        return lambda env: abs(x(env))
    if op in _BINARY_FN:
        fn, x, y = _BINARY_FN[op], _compile(p[1], b), _compile(p[2], b)
        return lambda env: fn(x(env), y(env))
    if op == "pow":
        base, exponent = _compile(p[1], b), p[2]
        if exponent == ("num", -1.0):
            return lambda env: 1.0 / base(env)
        if exponent == ("num", 0.5):
            sqrt = b["sqrt"]
            return lambda env: sqrt(base(env))
        if exponent[0] == "num" and float(exponent[1]).is_integer() and 0 < exponent[1] <= 4:
            k = int(exponent[1])
            return lambda env: base(env) ** k
        power = _compile(exponent, b)
        return lambda env: base(env) ** power(env)
    if op == "log":
        log = b["log"]
        args = [_compile(a, b) for a in p[1]]
        if len(args) == 2:
            x, base = args
            return lambda env: log(x(env)) / log(base(env))
        (x,) = args
        return lambda env: log(x(env))
    if op == "piecewise":
        pieces = [(_compile(v, b), _compile(c, b)) for v, c in p[1]]
        if not b["np"]:  # scalars: only the branch taken is evaluated

            def first_true(env):
                for value, cond in pieces:
                    if cond(env):
                        return value(env)
                raise ValueError("no branch of a conditional applies")

            return first_true
        where = b["where"]

        def piecewise(env):
            result = pieces[-1][0](env)
            for value, cond in reversed(pieces[:-1]):
                result = where(cond(env), value(env), result)
            return result

        return piecewise
    raise PluginError(f"cannot evaluate program node {op!r}")


def _fold(args, fn):
    if len(args) == 1:
        return args[0]
    if len(args) == 2:
        first, second = args
        return lambda env: fn(first(env), second(env))

    def folded(env):
        result = args[0](env)
        for a in args[1:]:
            result = fn(result, a(env))
        return result

    return folded
