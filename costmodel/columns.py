"""A column of numbers as text at once: a sweep of a million rows prints in about a second.

Each function gives exactly the text of its one-value counterpart, applied value by value
(`units.format_quantity`, `int`, `repr`, `round`): numpy decides for every value which branch of
that function it takes (prefix, scale, number of decimals), and then every value of one branch is
formatted by one format string, `str.format` mapped over the group. Where numpy's log10 could
disagree with `math.log10` about the number of decimals (a value within a hair of a power of
ten), the value's decimals are decided by `math.log10` itself.

Each returns None when the column is not made of the numbers it handles (the caller then goes
value by value).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from costmodel import units

_NONE = "-"  # a point that is not valid, in a table


def floats(values: Sequence) -> tuple[np.ndarray, np.ndarray] | None:
    """(float64 array, mask of the Nones) of a column of floats and Nones, else None."""
    kinds = set(map(type, values))
    if not kinds <= {float, type(None)}:
        return None
    if type(None) not in kinds:
        return np.array(values, dtype=float), np.zeros(len(values), dtype=bool)
    missing = np.fromiter((v is None for v in values), dtype=bool, count=len(values))
    array = np.array([math.nan if v is None else v for v in values], dtype=float)
    return array, missing


def quantities(values: Sequence, unit_text: str, none: str = _NONE) -> list[str] | None:
    """`[units.format_quantity(v, unit_text) for v in values]`, None printed as `none`."""
    got = floats(values)
    if got is None:
        return None
    x, missing = got
    with np.errstate(over="ignore", invalid="ignore"):  # every branch is computed; np.where keeps the right one
        scaled, suffix_of, suffixes = _scaled(x, unit_text)
    out = _numbers(scaled, suffix_of, suffixes)
    for i in np.flatnonzero(missing).tolist():
        out[i] = none
    return out


def truncated(values: Sequence, none: str = _NONE) -> list[str] | None:
    """`[f"{int(v)}" for v in values]` over ints or finite floats (None printed as `none`)."""
    kinds = set(map(type, values))
    if kinds == {int}:  # grid values: few distinct, each written once
        distinct = {v: str(v) for v in set(values)}
        return list(map(distinct.__getitem__, values))
    got = floats(values)
    if got is None:
        return None
    x, missing = got
    if not (np.isfinite(x) | missing).all() or (np.abs(x[~missing]) >= 2.0**62).any():
        return None
    out = list(map(str, np.where(missing, 0, np.trunc(x)).astype(np.int64).tolist()))
    for i in np.flatnonzero(missing).tolist():
        out[i] = none
    return out


def whole(values: Sequence) -> list | None:
    """`[round(v) ...]` of a column of floats and Nones (None kept), as the CSV writes bytes."""
    got = floats(values)
    if got is None:
        return None
    x, missing = got
    finite = np.isfinite(x)
    if (np.abs(x[finite]) >= 2.0**62).any():
        return None
    rounded = np.where(finite, np.rint(np.where(finite, x, 0.0)), 0.0).astype(np.int64).tolist()
    if finite.all():
        return rounded
    keep = x.tolist()  # nan and inf stay floats, None stays None
    for i in np.flatnonzero(~finite).tolist():
        rounded[i] = None if missing[i] else keep[i]
    return rounded


# --- the branches of units.format_quantity ---------------------------------------------------------


def _scaled(x: np.ndarray, unit_text: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(the number each value prints, the index of the text after it, those texts)."""
    u = units.pretty_unit(unit_text)
    head, _, tail = u.partition("/")
    rest = f"/{tail}" if tail else ""
    magnitude = np.abs(x)
    if head in ("byte", "B"):
        return _prefixed(x, magnitude, units._BINARY, "B" + rest, " ")
    if head in ("FLOP", "W", "Wh", "J"):
        return _prefixed(x, magnitude, units._DECIMAL, head + rest, " ")
    if head in ("param", "token", "sequence", "iteration"):
        big = magnitude >= 1e4
        scaled, which, suffixes = _prefixed(x, magnitude, units._COUNT_WORDS, " " + head + rest, "")
        plain = len(suffixes)
        suffixes.append((" " + u).rstrip())
        return np.where(big, scaled, x), np.where(big, which, plain), suffixes
    if u in ("s", "s/iteration"):
        rest = rest if u != "s" else ""
        steps = [(magnitude < 1, x * 1e3, " ms"), (magnitude < 120, x, " s"), (magnitude < 7200, x / 60, " min"),
                 (magnitude < 3 * 86400, x / 3600, " h")]
        scaled = x / 86400
        which = np.full(len(x), len(steps))
        for i, (condition, value, _) in reversed(list(enumerate(steps))):
            scaled = np.where(condition, value, scaled)
            which = np.where(condition, i, which)
        return scaled, which, [s + rest for _, _, s in steps] + [" day" + rest]
    return x, np.zeros(len(x), dtype=int), [(" " + u).rstrip()]


def _prefixed(x, magnitude, table, unit_text: str, joiner: str):
    scaled = x.copy()
    which = np.full(len(x), len(table))
    for i, (scale, _) in reversed(list(enumerate(table))):  # the largest scale that fits wins
        hit = magnitude >= scale
        scaled = np.where(hit, x / scale, scaled)
        which = np.where(hit, i, which)
    suffixes = [f"{joiner}{prefix}{unit_text}".replace("  ", " ") for _, prefix in table]
    return scaled, which, suffixes + [f" {unit_text.strip()}"]


# --- units.format_number over an array, digits = 4 ------------------------------------------------

_ZERO, _ODD, _INT, _EXP = range(4)  # then _FIXED + decimals
_FIXED = 4


def _numbers(s: np.ndarray, suffix_of: np.ndarray, suffixes: list[str], digits: int = 4) -> list[str]:
    magnitude = np.abs(s)
    finite = np.isfinite(s)
    safe = np.where(finite & (magnitude > 0), magnitude, 1.0)
    exponent = np.floor(np.log10(safe))
    near = finite & (magnitude > 0) & (np.abs(safe / 10.0 ** np.rint(np.log10(safe)) - 1) < 1e-9)
    for i in np.flatnonzero(near).tolist():  # a power of ten: decide as math.log10 does
        exponent[i] = math.floor(math.log10(float(safe[i])))
    decimals = np.maximum(0, digits - 1 - exponent).astype(int)
    branch = np.select(
        [s == 0, ~finite, (s == np.trunc(s)) & (magnitude < 1e15), (magnitude >= 1e15) | (magnitude < 1e-4)],
        [_ZERO, _ODD, _INT, _EXP], default=_FIXED + decimals)
    key = branch * len(suffixes) + suffix_of
    keys = np.unique(key).tolist()
    out = np.empty(len(s), dtype=object)
    for k in keys:
        at = np.flatnonzero(key == k) if len(keys) > 1 else slice(None)
        kind, suffix = divmod(k, len(suffixes))
        tail = suffixes[suffix].replace("{", "{{").replace("}", "}}")
        group = s[at]
        if kind == _ZERO:
            texts = ["0" + suffixes[suffix]] * len(group)
        elif kind == _ODD:
            texts = [str(v) + suffixes[suffix] for v in group.tolist()]
        elif kind == _INT:
            texts = list(map(("{:,}" + tail).format, group.astype(np.int64).tolist()))
        elif kind == _EXP:
            texts = list(map(("{:.%de}" % (digits - 1) + tail).format, group.tolist()))
        else:
            texts = list(map(("{:,.%df}" % (kind - _FIXED) + tail).format, group.tolist()))
        if len(keys) == 1:
            return texts
        out[at] = np.array(texts, dtype=object)
    return out.tolist()
