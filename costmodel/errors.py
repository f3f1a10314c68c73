"""The two kinds of failure costmodel reports: the user's and a plugin's.

Both carry one line of text. The CLI prints it to stderr and exits 1; nothing else reaches a user.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class CostModelError(Exception):
    """Base class: a failure with a one-line message meant for people."""


class UserError(CostModelError):
    """Something in the user's input: a name, a value, a file, a question with no answer."""


class Unreachable(UserError):
    """A question no value in range answers: a target out of reach of the freed input, or a result
    above its quantity's hard bound. `check` judges a claim that leads here impossible."""


class OutOfRange(Unreachable):
    """A solved value beyond its quantity's bound; carries the value (claim checking reports it)."""

    def __init__(self, message: str, name: str, value: float):
        super().__init__(message)
        self.name = name
        self.value = value


class DivisionByZero(UserError, ZeroDivisionError):
    """A formula divided by zero for the user's inputs (still a ZeroDivisionError to solvers)."""


class Overflow(UserError, OverflowError):
    """A formula's number overflowed for the user's inputs (still an OverflowError to solvers)."""


class PluginError(CostModelError):
    """A plugin that declares something broken (bad formula, dimension error, hook typo)."""


def unknown(kind: str, name: str, valid: Iterable[str]) -> UserError:
    """'unknown family 'nanogtp'; did you mean: nanogpt' with the closest valid names."""
    valid = sorted(set(valid))
    close = difflib.get_close_matches(name, valid, n=3, cutoff=0.5)
    if close:
        hint = "did you mean: " + ", ".join(close)
    elif valid and len(valid) <= 12:
        hint = "valid: " + ", ".join(valid)
    else:
        listing = {"family": "costmodel families", "hardware": "costmodel hardware"}.get(kind)
        hint = f"{len(valid)} valid names" + (f"; list them with `{listing}`" if listing else "")
    return UserError(f"unknown {kind} {name!r}; {hint}")
