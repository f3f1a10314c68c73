"""The one unit registry of costmodel, and how quantities are parsed and printed.

The registry is built lazily from `units.txt` (our own definitions, ~10 ms) instead of pint's
defaults (~200 ms, and they have no FLOP, token or parameter and make bytes dimensionless).
Nothing here is imported on the path of `costmodel --help`.
"""

from __future__ import annotations

import functools
import math
import re
from importlib import resources
from typing import Any

from costmodel.errors import UserError


@functools.cache
def registry():
    """The package's pint UnitRegistry (built once, on first use)."""
    import pint

    ureg = pint.UnitRegistry(None, autoconvert_offset_to_baseunit=False, cache_folder=None)
    with resources.as_file(resources.files("costmodel") / "units.txt") as path:
        ureg.load_definitions(str(path))
    ureg.formatter.default_format = "~"
    return ureg


@functools.lru_cache(maxsize=1024)
def unit(text: str):
    """Parse a unit expression ("FLOP/token", "1", "GiB") into a pint Unit."""
    ureg = registry()
    if text in ("1", "", "dimensionless"):
        return ureg.dimensionless
    if any(ch in text for ch in "()[]{};:'\"\\`$") or "__" in text:
        raise UserError(f"unknown unit {text!r}")
    _bounded_powers(text)
    try:
        return ureg.Unit(text)
    except Exception as exc:  # pint raises several types; the user sees one line
        raise UserError(f"unknown unit {text!r}: {_first_line(exc)}") from None


MAX_EXPONENT = 16  # a unit's power: FLOP/s**2 is as far as physics goes here
MAX_UNIT_TEXT = 200
_POWER_RE = re.compile(r"(\*\*|\^)\s*([-+]?[\d.eE_]*)")
_CHAIN_RE = re.compile(r"(\*\*|\^)\s*[-+]?[\w.]+\s*(\*\*|\^)")


def _bounded_powers(text: str) -> None:
    """Refuse what makes pint's parser compute forever: `s**9**9**9`, `s**1e9`, huge texts."""
    if len(text) > MAX_UNIT_TEXT:
        raise UserError(f"unit text longer than {MAX_UNIT_TEXT} characters")
    if _CHAIN_RE.search(text):
        raise UserError(f"unknown unit {text!r}: a power of a power is not a unit")
    for _, exponent in _POWER_RE.findall(text):
        try:
            value = float(exponent.replace("_", ""))
        except ValueError:
            raise UserError(f"unknown unit {text!r}: write a power as a plain number (s**2)") from None
        if not abs(value) <= MAX_EXPONENT:
            raise UserError(f"unknown unit {text!r}: a power beyond {MAX_EXPONENT}")


@functools.lru_cache(maxsize=1024)
def is_unit_name(name: str) -> bool:
    """Whether a bare name is a unit of the registry (used by the expression parser)."""
    try:
        _bounded_powers(name)
        registry().Unit(name)
    except Exception:
        return False
    return True


# Unit texts met so far: text -> (size in root units, dimension). Kept with the registry cache, so
# a cached run converts "30 day" or "12 GiB" without building the pint registry at all.
_TABLE: dict[str, tuple[float, tuple[tuple[str, float], ...]]] = {}


def describe_unit(text: str) -> tuple[float, tuple[tuple[str, float], ...]]:
    """(size of one `text` in root units, dimension as sorted (name, exponent) pairs)."""
    key = text.strip() or "1"
    known = _TABLE.get(key)
    if known is None:
        root = registry().Quantity(1.0, unit(key)).to_root_units()
        dims = tuple(sorted((str(k), float(v)) for k, v in root.dimensionality.items()))
        known = _TABLE[key] = (float(root.magnitude), dims)
    return known


def root_scale(text: str) -> float:
    """Size of one `text` in root units (1 for FLOP, 3.6e9 for kWh in g*m^2/s^2)."""
    return describe_unit(text)[0]


def table() -> dict:
    return dict(_TABLE)


def remember(entries: dict) -> None:
    _TABLE.update(entries)


PER_ONE = ("[iteration]", "[sequence]", "[token]")


def _implicit_per(given, target) -> bool:
    """'100 ms' for an iteration time, '1024 token' for a sequence length: the target is the given
    unit per one iteration, sequence or token, and nothing else differs."""
    have, want = dict(given), dict(target)
    for count in PER_ONE:
        if want.get(count, 0) == -1 and have.get(count, 0) == 0:
            trial = dict(have)
            trial[count] = -1.0
            if trial == want:
                return True
    return False


def _dims_text(dims) -> str:
    if not dims:
        return "dimensionless"
    parts = [f"{name}" if exp == 1 else f"{name}**{exp:g}" for name, exp in dims if exp > 0]
    below = [f"{name}" if exp == -1 else f"{name}**{-exp:g}" for name, exp in dims if exp < 0]
    text = " * ".join(parts) or "1"
    return text + (" / " + " / ".join(below) if below else "")


def quantity(value: float, unit_text: str):
    """A pint Quantity from a magnitude and a unit text."""
    return registry().Quantity(value, unit(unit_text))


_NUMBER_RE = re.compile(r"^\s*([-+]?(?:\d[\d_,]*\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(.*?)\s*$")
_COMMA_RE = re.compile(r"^\s*[-+]?\d[\d_,]*,")  # a number with a comma in it
_THOUSANDS_RE = re.compile(r"^\s*[-+]?\d{1,3}(?:,\d{3})+(?![\d,])")  # 32,768 or 1,000,000.5
MAX_DIGITS = 400  # a number written with more digits than this is refused before it is read


def parse_value(text: str | float | int, unit_text: str, name: str) -> float:
    """Parse "12 GiB", "30 day", "58.3 TFLOP/s" or a bare number into a float in `unit_text`.

    A bare number is taken in the canonical unit. A value in a unit of another dimension, NaN
    and infinities are errors that name the quantity.
    """
    if isinstance(text, bool):
        raise UserError(f"{name}: expected a number, got {text!r}")
    if isinstance(text, (int, float)):
        try:
            value = float(text)
        except OverflowError:
            raise UserError(f"{name}: a number beyond the float range") from None
        _finite(value, name, text)
        return value
    if _COMMA_RE.match(str(text)) and not _THOUSANDS_RE.match(str(text)):
        # '2,5' is a German 2.5 or a mistyped 25: never guessed (thousands are groups of three)
        raise UserError(f"{name}: {text!r} has a comma that does not separate thousands; write a "
                        "decimal point (2.5), and thousands as 32,768 or 32_768")
    if len(str(text)) > MAX_DIGITS:
        raise UserError(f"{name}: a value of more than {MAX_DIGITS} characters")
    match = _NUMBER_RE.match(str(text))
    if not match:
        if str(text).strip().lower() in ("nan", "inf", "+inf", "-inf", "infinity"):
            raise UserError(f"{name}: {text!r} is not a finite number")
        raise UserError(f"{name}: cannot read {text!r} as a number with a unit (e.g. '12 GiB')")
    number = float(match.group(1).replace("_", "").replace(",", ""))
    _finite(number, name, text)
    unit_part = match.group(2)
    if not unit_part:
        return number
    try:
        given_scale, given_dims = describe_unit(unit_part)
    except UserError as exc:
        raise UserError(f"{name}: {exc}") from None
    target_scale, target_dims = describe_unit(unit_text)
    if given_dims != target_dims and _implicit_per(given_dims, target_dims):
        return number * given_scale / target_scale  # "100 ms" for s/iteration: per one iteration
    if given_dims != target_dims:
        raise UserError(
            f"{name}: {text!r} has the wrong unit: expected something convertible to "
            f"{pretty_unit(unit_text) or 'a pure number'} ({_dims_text(target_dims)}), "
            f"got {_dims_text(given_dims)}"
        )
    return number * given_scale / target_scale


def _finite(value: float, name: str, text: Any) -> None:
    if not math.isfinite(value):
        raise UserError(f"{name}: {text!r} is not a finite number")


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


# --- printing -------------------------------------------------------------------------------

_DECIMAL = [(1e18, "E"), (1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")]
_BINARY = [(2**50, "Pi"), (2**40, "Ti"), (2**30, "Gi"), (2**20, "Mi"), (2**10, "Ki")]
_COUNT_WORDS = [(1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")]


def pretty_unit(unit_text: str) -> str:
    """The unit as users read it ("1" prints as nothing)."""
    return "" if unit_text in ("1", "", "dimensionless") else unit_text


def format_number(value: float, digits: int = 4) -> str:
    """A number with `digits` significant digits, thousands separated, no exponent below 1e15."""
    if value == 0:
        return "0"
    if not math.isfinite(value):
        return str(value)
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    magnitude = abs(value)
    if magnitude >= 1e15 or magnitude < 1e-4:
        return f"{value:.{digits - 1}e}"
    decimals = max(0, digits - 1 - int(math.floor(math.log10(magnitude))))
    return f"{value:,.{decimals}f}"


def format_quantity(value: float, unit_text: str, digits: int = 4) -> str:
    """Print a magnitude given in `unit_text` with a sensible prefix.

    Memory (byte) uses binary prefixes (GiB), FLOP and FLOP/s decimal ones (TFLOP/s), times read as
    ms/s/min/h/day, counts of params and tokens as k/M/B/T.
    """
    if isinstance(value, str):
        return value
    u = pretty_unit(unit_text)
    head, _, tail = u.partition("/")
    rest = f"/{tail}" if tail else ""
    if head in ("byte", "B"):
        return _prefixed(value, _BINARY, "B" + rest, digits)
    if head in ("FLOP", "W", "Wh", "J"):
        return _prefixed(value, _DECIMAL, head + rest, digits)
    if head in ("param", "token", "sequence", "iteration") and abs(value) >= 1e4:
        return _prefixed(value, _COUNT_WORDS, " " + head + rest, digits, joiner="")
    if u == "s" or u == "s/iteration":
        return _seconds(value, rest if u != "s" else "", digits)
    text = format_number(value, digits)
    return f"{text} {u}".rstrip()


def _prefixed(value, table, unit_text, digits, joiner=" "):
    for scale, prefix in table:
        if abs(value) >= scale:
            return f"{format_number(value / scale, digits)}{joiner}{prefix}{unit_text}".replace(
                "  ", " "
            )
    return f"{format_number(value, digits)} {unit_text.strip()}"


def _seconds(value: float, rest: str, digits: int) -> str:
    magnitude = abs(value)
    if magnitude < 1:
        return f"{format_number(value * 1e3, digits)} ms{rest}"
    if magnitude < 120:
        return f"{format_number(value, digits)} s{rest}"
    if magnitude < 7200:
        return f"{format_number(value / 60, digits)} min{rest}"
    if magnitude < 3 * 86400:
        return f"{format_number(value / 3600, digits)} h{rest}"
    return f"{format_number(value / 86400, digits)} day{rest}"
