"""One group of a search (costmodel.search): a composed scenario evaluated over its numeric axes.

A group is one combination of choices. Its searched whole numbers and its cards are numpy axes of
their own; what no axis reaches is evaluated (and checked) once; the rest goes through in blocks of
at most `chunk` points. The structure (which formulas move with which axis: search_structure.py)
is kept per composed scenario for the next search of it. The groups of one search share their
formulas' results (`Shared`).
"""

from __future__ import annotations

import itertools
import math
from typing import Any

from costmodel.errors import UserError
from costmodel.memo import Memo
from costmodel.search import CARD, Outcome, Point
from costmodel.search_structure import _structure


class _Group:
    """One combination of choices: a composed scenario evaluated over the numeric axes."""

    def __init__(self, s, fixed, numbers, parsed, objective, maximize, constraints, where, report,
                 cards, card_values, rule, score, monotone, chunk, user_values=frozenset(), shared=None):
        import numpy as np

        from costmodel import solver

        self.np = np
        self.s = s
        self.fixed = fixed
        self.maximize = maximize
        self.objective = objective
        self.chunk = chunk
        self.rule = rule
        self.score = score
        self.shared = shared  # results shared with the search's other groups (None: each computed here)
        self._keys: dict[str, int] = {}
        reg = s.registry
        for n in numbers:
            if n in s.formulas:
                raise UserError(f"{n} is computed in this scenario; only inputs can be searched")
        if s.constraints:
            raise UserError("a search takes inputs, not given results: "
                            + ", ".join(sorted(s.constraints)) + " is computed")
        self.limits = [_CONSTRAINTS.get(reg, c, lambda c=c: solver.parse_constraint(s, c)) for c in constraints]
        self.rules = [_CONSTRAINTS.get(reg, c, lambda c=c: solver.parse_constraint(s, c)) for c in where]
        # the axes: searched numbers, then the cards
        self.axes: list[tuple[str, Any]] = [(n, np.asarray(parsed[n], dtype=float)) for n in numbers]
        self.cards = cards
        self.card_arrays: dict[str, Any] = {}
        if cards:
            given = tuple((c, tuple(sorted(card_values.get(c, {}).items()))) for c in cards)
            self.card_arrays = _CARD_ARRAYS.get(reg, (given, frozenset(user_values)),
                                                lambda: _card_arrays(np, reg, cards, card_values, user_values))
            self.axes.append((CARD, np.arange(len(cards), dtype=float)))
        self.shape = tuple(len(a) for _, a in self.axes)
        self.candidates = math.prod(self.shape) if self.shape else 1
        self.evaluated = 0
        # what to evaluate
        wanted = {objective, *report}
        for c in self.limits + self.rules:
            wanted.update(x for x in (c.lhs, c.rhs) if isinstance(x, str))
        for check in s.checks:
            wanted.update(check.inputs)
        if rule is not None:
            wanted.update(rule.reads)
        self.report = sorted(wanted)
        self.constants: dict[str, Any] = dict(solver.numeric_inputs(s))
        order, again, fixed_formulas, moving = _structure(
            s, frozenset(wanted), frozenset(self.constants), tuple(numbers), tuple(self.card_arrays),
            tuple(rule.names) if rule is not None else ())
        # what no axis reaches is the same at every point: evaluated (and checked) once
        keys: dict[str, int] = {}
        fixed_targets = [(f.formula.target, f) for f in fixed_formulas]
        constants = self.constants
        with np.errstate(all="ignore"):
            for target, f in fixed_targets:
                constants[target] = self._result(target, f, constants, keys, fixed=True)
        self._fixed_keys = keys
        self.order = [(f.formula.target, f) for f in order]
        self.again = [(f.formula.target, f) for f in again]
        self.broken = next((f"{target} is outside its range ({f.formula.expr})" for target, f in fixed_targets
                            if not self._in_domain(target, float(constants[target]), keys)), None)
        self.moving_checks = [c for c in s.checks if moving & set(c.inputs)]
        if self.broken is None:
            self.broken = next((c.check.message for c in s.checks if not moving & set(c.inputs)
                                and not bool(c.evaluate(self.constants))), None)
        self.monotone = [c for c in self.limits if c.op == "<=" and isinstance(c.lhs, str)
                         and any(c.lhs in monotone.get(n, ()) for n, _ in self.axes)]
        self.monotone_axis = next((i for i, (n, _) in enumerate(self.axes) if n in monotone
                                   and any(c.lhs in monotone[n] for c in self.monotone)), None)

    def _in_domain(self, target: str, value, keys: dict[str, int]):
        """`_in_domain` of target's value; the same value (node) is in the same domain in every group."""
        q = self.s.registry.quantities[target]
        shared = self.shared
        if shared is None:
            return _in_domain(self.np, value, q)
        node = keys[target]
        good = shared.domain.get(node, _MISSING)
        if good is _MISSING:
            good = _in_domain(self.np, value, q)
            shared.keep(node, good, shared.domain)
        return good

    # --- evaluation over a block of the grid --------------------------------------------------

    def _env(self, block: list[Any]) -> dict[str, Any]:
        env: dict[str, Any] = dict(self.constants)
        keys = self._keys = dict(self._fixed_keys)
        shared = self.shared
        k = len(block)
        for i, ((name, _), values) in enumerate(zip(self.axes, block)):
            shape = [1] * k
            shape[i] = len(values)
            arr = values.reshape(shape)
            if name == CARD:
                for card_name, column in self.card_arrays.items():
                    env[card_name] = column[values.astype(int)].reshape(shape)
                    if shared is not None:
                        keys[card_name] = shared.node(("axis", i, k, tuple(env[card_name].ravel().tolist())))
            else:
                env[name] = arr
                if shared is not None:
                    keys[name] = shared.node(("axis", i, k, tuple(values.tolist())))
        return env

    def _evaluate(self, block: list[Any]) -> dict[str, Any]:
        np = self.np
        env = self._env(block)
        keys = self._keys
        with np.errstate(all="ignore"):
            for target, f in self.order:
                env[target] = self._result(target, f, env, keys)
            if self.rule is not None:
                steps = [("rule", self.rule.compute)]
                if self.rule.refine is not None:
                    steps.append(("refine", self.rule.refine))
                for label, compute in steps:
                    computed = compute(env)
                    if self.shared is not None:
                        reads = tuple(self._key(n, env, keys) for n in (*self.rule.reads, *self.rule.names)
                                      if n in env)
                        keys.update({n: self.shared.node((label, n, reads)) for n in computed})
                    env.update({k: _array(np, v) for k, v in computed.items()})
                    for target, f in self.again:
                        env[target] = self._result(target, f, env, keys)
        return env

    def _key(self, name: str, env, keys: dict[str, int]) -> int:
        """The node of an input's value in `shared` (a number: the number itself)."""
        key = keys.get(name)
        if key is None:
            key = keys[name] = self.shared.constant(env[name])
        return key

    def _result(self, target: str, f, env, keys: dict[str, int], fixed: bool = False):
        """`f` over `env` (fixed: a number, NaN where it cannot be computed), or the same result
        another group computed from the same values."""
        shared = self.shared
        if shared is not None:
            read = tuple(map(keys.get, f.inputs))
            if None in read:
                read = tuple([self._key(n, env, keys) for n in f.inputs])
            nodes = shared.nodes
            node = keys[target] = nodes.setdefault((f, read), len(nodes))
            known = shared.results.get(node, _MISSING)
            if known is not _MISSING:
                return known
        try:
            value = _array(self.np, f.vector(env))
        except (ArithmeticError, ValueError):
            if not fixed:
                raise
            value = math.nan  # out of range: said where the group is checked
        if shared is not None:
            shared.keep(node, value)
        return value

    def _valid(self, env, shape) -> tuple[Any, str | None]:
        """Points where the family's rules hold and results lie in their domains; why not, if none."""
        np = self.np
        if self.broken is not None:  # a rule broken, or a result out of range, at every point
            return np.zeros(shape, dtype=bool), self.broken
        ok = np.ones(shape, dtype=bool)
        why = None
        keys = self._keys
        with np.errstate(all="ignore"):
            for target, f in self.order:
                good = self._in_domain(target, env[target], keys)
                if good is True:
                    continue
                ok &= good
                if why is None and not np.any(ok):
                    why = f"{target} is outside its range ({f.formula.expr})"
            for check in self.moving_checks:
                holds = np.asarray(check_vector(check)(env), dtype=bool)
                if not np.all(holds):
                    ok &= holds
                    if why is None and not np.any(ok):
                        why = check.check.message
            for c in self.rules:
                holds = _holds(np, c, env)
                if not np.all(holds):
                    ok &= holds
                    if why is None and not np.any(ok):
                        why = f"no point has {c.text}"
        return np.broadcast_to(ok, shape), why

    # --- the group ------------------------------------------------------------------------------

    def run(self) -> list[Outcome]:
        np = self.np
        n_cards = len(self.cards) if self.cards else 1
        per_card = self.candidates // n_cards
        outcomes = [Outcome(choices={**self.fixed, **({CARD: c} if self.cards else {})},
                            candidates=per_card) for c in (self.cards or [None])]
        full = [values for _, values in self.axes]
        # a grid of one block costs one pass of the formulas whatever its size: pruning it first
        # would only add a pass
        if self.monotone_axis is not None and len(full[self.monotone_axis]) > 1 and self.candidates > self.chunk:
            smallest = list(full)
            smallest[self.monotone_axis] = full[self.monotone_axis][:1]
            env = self._evaluate(smallest)
            shape = tuple(len(v) for v in smallest)
            over = np.zeros(shape, dtype=bool)
            for c in self.monotone:
                with np.errstate(invalid="ignore"):
                    over |= np.broadcast_to(~_holds(np, c, env) & np.isfinite(env[c.lhs]), shape)
            if np.all(over):  # fails at the smallest value, so at every value: decided
                valid, why = self._valid(env, shape)
                self._closest(env, smallest, valid, outcomes, why, pruned=True)
                return outcomes
        for block in _blocks(full, self.chunk):
            env = self._evaluate(block)
            shape = tuple(len(v) for v in block)
            self.evaluated += math.prod(shape)
            valid, why = self._valid(env, shape)
            feasible = valid.copy()
            for c in self.limits:
                feasible &= np.broadcast_to(_holds(np, c, env), shape)
            self._best(env, block, valid, feasible, outcomes)
            if not all(o.feasible for o in outcomes):
                self._closest(env, block, valid, outcomes, why, pruned=False)
        return outcomes

    def _best(self, env, block, valid, feasible, outcomes) -> None:
        np = self.np
        shape = valid.shape
        with np.errstate(all="ignore"):
            ranked = self.score(env) if self.score is not None else env[self.objective]
        sign = -1.0 if self.maximize else 1.0
        columns = shape[-1] if self.cards else 1
        score = np.where(feasible, sign * np.broadcast_to(ranked, shape), np.inf).reshape(-1, columns)
        valid_count = valid.reshape(-1, columns).sum(axis=0)
        feasible_count = feasible.reshape(-1, columns).sum(axis=0)
        rows = np.argmin(score, axis=0)
        best = score[rows, np.arange(columns)]
        cards = block[-1].astype(int) if self.cards else [0]
        chosen = []
        for j, card_index in enumerate(cards):
            out = outcomes[card_index]
            out.valid += int(valid_count[j])
            if not feasible_count[j]:
                continue
            out.feasible += int(feasible_count[j])
            if out.best is None or best[j] < sign * out.best.objective:
                chosen.append(j)
        if not chosen:
            return
        index = np.unravel_index(rows[chosen] * columns + np.asarray(chosen), shape)
        for j, point in zip(chosen, self._points(env, block, index, [sign * best[j] for j in chosen])):
            outcomes[cards[j]].best = point

    def _closest(self, env, block, valid, outcomes, why, pruned) -> None:
        """For each card with no feasible point: the valid point that breaks its constraints least."""
        np = self.np
        shape = valid.shape
        excess = np.zeros(shape)
        first = np.full(shape, -1)
        with np.errstate(all="ignore"):
            for i, c in enumerate(self.limits):
                lhs, rhs = _sides(np, c, env)
                gap = np.broadcast_to((lhs - rhs) / np.maximum(np.abs(rhs), 1e-300), shape)
                if c.op == ">=":
                    gap = -gap
                gap = np.where(np.isfinite(gap), np.maximum(gap, 0.0), np.inf)
                first = np.where((first < 0) & (gap > 0), i, first)
                excess = excess + gap
        excess = np.where(valid, excess, np.inf)
        columns = shape[-1] if self.cards else 1
        flat_excess = excess.reshape(-1, columns)
        for j, card_index in enumerate(block[-1].astype(int) if self.cards else [0]):
            out = outcomes[card_index]
            if out.feasible:
                continue
            out.pruned = out.pruned or pruned
            if pruned:
                out.valid = 0
            flat = int(np.argmin(flat_excess[:, j]))
            if not math.isfinite(flat_excess[flat, j]):
                if out.closest is None and out.invalid is None:
                    out.invalid = why or "no valid point"
                continue
            index = np.unravel_index(flat * columns + j, shape)
            if out.closest is None or flat_excess[flat, j] < out.closest.values.get("__excess__", math.inf):
                point = self._point(env, block, index, math.nan)
                point.values["__excess__"] = float(flat_excess[flat, j])
                out.closest = point
                broken = int(first[index])
                out.broken = self.limits[broken].text if broken >= 0 else None
                out.invalid = None

    def _point(self, env, block, index, objective: float) -> Point:
        np = self.np
        return self._points(env, block, tuple(np.asarray([i]) for i in index), [objective])[0]

    def _points(self, env, block, index: tuple, objectives: list[float]) -> list[Point]:
        """The points at `index` (one array of positions per axis), their reported values read
        with one numpy gather per name."""
        count = len(objectives)
        numbers: list[dict[str, float]] = [{} for _ in range(count)]
        choices = [dict(self.fixed) for _ in range(count)]
        for (name, _), values, where in zip(self.axes, block, index):
            picked = values[where].tolist()
            for k in range(count):
                if name == CARD:
                    choices[k][CARD] = self.cards[int(picked[k])]
                else:
                    numbers[k][name] = picked[k]
        if self.rule is not None:
            for name in self.rule.names:
                for k, v in enumerate(_gather(env[name], index, count)):
                    numbers[k][name] = v
        report = [(n, _gather(env[n], index, count)) for n in self.report if n in env]
        return [Point(choices=choices[k], numbers=numbers[k], values={n: column[k] for n, column in report},
                      objective=float(objectives[k])) for k in range(count)]


_CONSTRAINTS = Memo(256)  # a constraint's text -> its reading (which depends on the registry only)
_CARD_ARRAYS = Memo(256)  # (cards and the values given for them, the user's names) -> the cards' columns


def _card_arrays(np, reg, cards, card_values, user_values) -> dict[str, Any]:
    """Each name a card gives (or is given for it) -> its value on every card (NaN where a card
    gives none); the user's values hold on every card and are left out."""
    arrays = {}
    known = set().union(*(reg.hardware_values[c] for c in cards), *(card_values.get(c, {}) for c in cards))
    for name in sorted(known):
        if name in user_values:  # the user's value holds on every card
            continue
        column = []
        for c in cards:
            given = card_values.get(c, {})
            v = given.get(name, reg.hardware_values[c].get(name, math.nan))
            column.append(reg.parse_value(name, v, where=f"card {c}") if isinstance(v, str) else float(v))
        arrays[name] = np.asarray(column, dtype=float)
    return arrays


def _gather(value, index: tuple, count: int) -> list[float]:
    """Some points of a value broadcast over the axes (an array with 1 on the axes it ignores)."""
    if not hasattr(value, "shape") or value.size == 1:
        return [float(value if not hasattr(value, "shape") else value.ravel()[0])] * count
    return value[tuple(i if n > 1 else 0 for i, n in zip(index, value.shape))].astype(float).tolist()


def _in_domain(np, value, q):
    """True where a result lies in its quantity's domain at every point; else False (a number
    outside it) or where it does (an array of booleans)."""
    if not isinstance(value, np.ndarray):  # the same at every point
        return _in_range(value, q)
    low, high = value.min(), value.max()  # NaN in either: the slow path below
    if (-math.inf < low and high < math.inf
            and (q.minimum is None or low >= q.minimum - 1e-9 * max(1.0, abs(q.minimum)))
            and (q.maximum is None or high <= q.maximum * (1 + 1e-9))):
        return True  # in range at every point
    good = np.isfinite(value)
    if q.minimum is not None:
        good &= value >= q.minimum - 1e-9 * max(1.0, abs(q.minimum))
    if q.maximum is not None:
        good &= value <= q.maximum * (1 + 1e-9)
    return True if good.all() else good


_MISSING = object()


class Shared:
    """Formula results shared by the groups of one search. A result is kept under what it was
    computed from: the formula and, for each input, the node of its value (a number, an axis's
    values, or another kept result), so a group whose formula reads the same values as another
    group's takes that result instead of computing it again: the same function of the same
    values. Arrays are kept up to `limit` bytes in all (a large grid shares nothing more)."""

    def __init__(self, limit: int = 64 << 20):
        self.nodes: dict[tuple, int] = {}
        self.results: dict[int, Any] = {}
        self.domain: dict[int, Any] = {}  # node -> whether its value lies in its quantity's domain
        self.limit = limit
        self.size = 0

    def node(self, key: tuple) -> int:
        return self.nodes.setdefault(key, len(self.nodes))

    def constant(self, value) -> int:
        if type(value) in (float, int, bool):  # True is not 1, nor -0.0 0.0, here (a division tells them apart)
            return self.node(("=", type(value), value, math.copysign(1.0, value)))
        return self.node(("unique", len(self.nodes)))  # anything else: shared with nothing

    def keep(self, node: int, value, kept: dict | None = None) -> None:
        """Keep `value` as node's result (or in `kept`), while the arrays kept stay under the limit."""
        size = getattr(value, "nbytes", 8)
        if self.size + size <= self.limit:
            (self.results if kept is None else kept)[node] = value
            self.size += size


def _in_range(value: float, q) -> bool:
    if not math.isfinite(value):
        return False
    if q.minimum is not None and value < q.minimum - 1e-9 * max(1.0, abs(q.minimum)):
        return False
    return q.maximum is None or value <= q.maximum * (1 + 1e-9)


def _array(np, value):
    if isinstance(value, np.ndarray):
        return value.astype(float) if value.dtype == bool else value
    return float(value)


def _sides(np, c, env):
    lhs = env[c.lhs] if isinstance(c.lhs, str) else c.lhs
    rhs = env[c.rhs] * c.rhs_scale if isinstance(c.rhs, str) else c.rhs
    return np.asarray(lhs, dtype=float), np.asarray(rhs, dtype=float)


def _holds(np, c, env):
    lhs, rhs = _sides(np, c, env)
    slack = 1e-12 * np.maximum(np.abs(lhs), np.abs(rhs))
    return lhs <= rhs + slack if c.op == "<=" else lhs >= rhs - slack


_CHECKS: dict[tuple, Any] = {}


def check_vector(check):
    """A family check compiled over numpy arrays (cached by its program)."""
    if check.program not in _CHECKS:
        from costmodel.programs import compile_program

        _CHECKS[check.program] = compile_program(check.program, numpy=True)
    return _CHECKS[check.program]


def _blocks(axes: list[Any], chunk: int):
    """The grid in blocks of at most `chunk` points: leading axes one value at a time, one axis
    sliced, the trailing axes whole."""
    sizes = [len(a) for a in axes]
    if math.prod(sizes) <= chunk:
        yield list(axes)
        return
    j = 0
    while math.prod(sizes[j + 1:]) > chunk:
        j += 1
    step = max(1, chunk // math.prod(sizes[j + 1:]))
    for lead in itertools.product(*(range(n) for n in sizes[:j])):
        for start in range(0, sizes[j], step):
            block = [axes[i][k:k + 1] for i, k in enumerate(lead)]
            block.append(axes[j][start:start + step])
            block.extend(axes[j + 1:])
            yield block
