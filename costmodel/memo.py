"""Work a registry determines, remembered: what composing and searching redo for every group.

A plan composes thousands of scenarios that differ in a few choices and a card's numbers; most of
the work of each (parsing the layers of values, selecting the formulas for the choices, ordering
them) repeats work done for another one. `Memo` keeps such results keyed by everything that
decides them (the request's content: names, values, choices), and an entry counts only for the
registry object it was made with (plugin sets never mix; a registry is never changed once loaded).

`straightforward()` turns every memo off for the code inside it: the tests compare a plan made
that way with the same plan made with the memos, number for number and line for line.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Hashable, Iterator
from typing import Any

_OFF = contextvars.ContextVar("costmodel_memo_off", default=False)


@contextlib.contextmanager
def straightforward() -> Iterator[None]:
    """Every memo off inside: each result is computed from scratch (the reference the memos must equal)."""
    token = _OFF.set(True)
    try:
        yield
    finally:
        _OFF.reset(token)


def on() -> bool:
    return not _OFF.get()


def forget() -> None:
    """Empty every memo (a cold start, as in a new process)."""
    for m in _ALL:
        m.clear()


_ALL: list[Memo] = []


class Memo:
    """A bounded map from a content key to a result made with one registry; the oldest goes first."""

    def __init__(self, size: int):
        self.size = size
        self._entries: dict[Hashable, tuple[Any, Any]] = {}
        _ALL.append(self)

    def get(self, registry: Any, key: Hashable, make: Callable[[], Any]) -> Any:
        """The result for `key` made with `registry`: remembered, or made now (and remembered).
        `registry` None: a result every registry shares (the key holds all that decides it)."""
        if _OFF.get():
            return make()
        try:
            known = self._entries.get(key)
        except TypeError:  # an unhashable value in the key: nothing to remember by
            return make()
        if known is not None and known[0] is registry:
            return known[1]
        value = make()
        if len(self._entries) >= self.size:
            self._entries.pop(next(iter(self._entries)))
        self._entries[key] = (registry, value)
        return value

    def clear(self) -> None:
        self._entries.clear()
