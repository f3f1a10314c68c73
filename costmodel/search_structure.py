"""A search group's structure: which of its scenario's formulas it needs, in which order, which
of them move with an axis and which the horizon rule recomputes. A group that cannot compute a
wanted result raises `_Lacking` with the inputs it lacks.
"""

from __future__ import annotations

from costmodel.errors import UserError
from costmodel.memo import Memo

_STRUCTURES = Memo(4096)  # per composed scenario (the memo's owner) and the question's shape


class _Lacking(UserError):
    """A group that cannot compute a wanted result, with the inputs it lacks: another kind of card
    gives the same group none of them unless one of its cards does."""

    def __init__(self, message: str, names):
        super().__init__(message)
        self.names = frozenset(names)


def _structure(s, wanted: frozenset, inputs: frozenset, numbers: tuple, card_names: tuple, rule_names: tuple):
    """A group's formulas: (the ones that move with an axis in dependency order, those of them the
    horizon rule recomputes, the ones fixed over the grid, the names that move). It depends on the
    composed scenario and the question's shape only: kept for the next search of that scenario."""
    key = (id(s), wanted, inputs, numbers, card_names, rule_names)  # valid only for `s` itself: Memo checks
    return _STRUCTURES.get(s, key, lambda: _walk(s, wanted, inputs, numbers, card_names, rule_names))


def _walk(s, wanted: frozenset, inputs: frozenset, numbers: tuple, card_names: tuple, rule_names: tuple):
    """`_structure` computed: one pass over the needed formulas in dependency order."""
    from costmodel import solver

    formulas = s.formulas
    available = set(inputs) | set(numbers) | set(card_names)
    lacking: dict[str, tuple[str, ...]] = {}
    downstream = set(rule_names)
    moving = set(numbers) | set(card_names) | set(rule_names)
    order, again, fixed_formulas = [], [], []
    for name in _ordered(_needed(s, wanted)):  # one pass, in dependency order
        f = formulas[name]
        inputs_read = f.inputs
        if not available.issuperset(inputs_read):
            absent = [n for n in inputs_read if n not in available]
            lacking[name] = tuple(sorted({m for n in absent for m in lacking.get(n, (n,))}))
            continue
        available.add(name)
        recomputed = bool(downstream) and not downstream.isdisjoint(inputs_read)
        if recomputed:
            downstream.add(name)
        if not moving.isdisjoint(inputs_read):
            moving.add(name)
        else:
            fixed_formulas.append(f)
        if name in moving:
            order.append(f)
            if recomputed:
                again.append(f)
    for name in sorted(wanted - available):
        try:
            solver.explain_missing(s, name, lacking)
        except UserError as exc:
            raise _Lacking(str(exc), lacking.get(name, ())) from None
    return order, again, fixed_formulas, frozenset(moving)


def _needed(s, wanted) -> dict[str, list[str]]:
    """The formulas the wanted names depend on (one walk for all of them), each with the formulas
    among its inputs (in the order it reads them)."""
    formulas = s.formulas
    deps: dict[str, list[str]] = {}
    stack = [n for n in wanted if n in formulas]
    while stack:
        name = stack.pop()
        if name in deps:
            continue
        deps[name] = reads = [n for n in formulas[name].inputs if n in formulas]
        stack.extend([n for n in reads if n not in deps])
    return deps


def _ordered(deps: dict[str, list[str]]) -> list[str]:
    """The formulas of `deps` in dependency order (inputs first, each root in name order, each
    formula's inputs in the order it reads them): a walk of the few a search needs, cheaper than
    ordering the whole scenario. A cycle cannot occur: composing checked."""
    result: list[str] = []
    done: set[str] = set()

    def visit(name: str) -> None:
        done.add(name)
        for dep in deps[name]:
            if dep not in done:
                visit(dep)
        result.append(name)

    for name in sorted(deps):
        if name not in done:
            visit(name)
    return result
