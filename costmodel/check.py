"""Claim checking: is a number someone gave for a scenario possible, plausible, consistent?

For each claim `NAME=VALUE` about a scenario:

1. costmodel's own value of NAME and the ratio claim / costmodel.
2. A claim beyond a hard bound of NAME (`Quantity.maximum`, e.g. mfu above 1) is **impossible**.
3. If NAME depends on an *assumption* of the model (a quantity declaring a `plausible` range, such
   as `mfu`), the solver finds the value of that assumption the claim implies (claimed iteration
   time -> implied mfu). Beyond the assumption's hard bound: **impossible** ("implies 2,531 % of
   the card's peak"); outside its documented range: **implausible**; inside: **consistent**.
4. If NAME is itself a default rule of the model (an estimate such as the power draw), a claim
   within its tolerance (25 % when none is declared) is **consistent**, else **implausible**.
5. If NAME depends on no assumption, it is the scenario's own arithmetic (parameters, tokens,
   FLOPs): within the quantity's `tolerance` (1 % when none is declared) it is **consistent**,
   otherwise **impossible** for exact counts and **implausible** for modelled quantities.

Everything else of the scenario (the config, the preset, the card) is taken as given.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from costmodel import units
from costmodel.errors import OutOfRange, Unreachable, UserError

EXACT_TOLERANCE = 0.01
RULE_TOLERANCE = 0.25  # claims about a default rule's estimate (power, warm-up) within 25%


@attrs.frozen(kw_only=True)
class Verdict:
    name: str
    claimed: float  # canonical unit
    value: float  # costmodel's, canonical unit
    unit: str
    verdict: str  # "impossible", "implausible" or "consistent"
    reason: str
    implied: dict[str, float] = attrs.field(factory=dict)  # assumption -> implied value

    @property
    def ratio(self) -> float:
        return self.claimed / self.value if self.value else float("inf")

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "claimed": {"value": self.claimed, "unit": units.pretty_unit(self.unit)},
            "costmodel": {"value": self.value, "unit": units.pretty_unit(self.unit)},
            "ratio": self.ratio,
            "verdict": self.verdict,
            "reason": self.reason,
            "implied": self.implied,
        }


def check(family: str, claims: Mapping[str, Any] | Sequence[tuple[str, Any]], **kwargs) -> list[Verdict]:
    """A verdict for each claim (`costmodel check`); claims as a mapping or (name, value) pairs."""
    from costmodel import api

    pairs = list(claims.items()) if isinstance(claims, Mapping) else list(claims)
    if not pairs:
        raise UserError("give at least one --claim NAME=VALUE")
    base = api.estimate(family, **kwargs)
    registry = base.evaluation.scenario.registry
    return [_verdict(family, base, registry, name, text, kwargs) for name, text in pairs]


def _verdict(family, base, registry, name: str, text, kwargs) -> Verdict:
    q = registry.quantity(name)
    if q.kind in ("choice", "bool"):
        raise UserError(f"{name} is a choice; claims are about numbers")
    claimed = registry.parse_value(name, text, where="claim")
    value = base.numbers.get(name, base.input_numbers.get(name))
    if value is None or isinstance(value, (str, bool)):
        raise UserError(f"costmodel computes no {name} for this scenario; nothing to check it against")
    show = lambda v: units.format_quantity(v, q.unit)  # noqa: E731
    verdict = lambda kind, reason, implied=None: Verdict(  # noqa: E731
        name=name, claimed=claimed, value=value, unit=q.unit, verdict=kind, reason=reason,
        implied=implied or {})
    ratio = claimed / value if value else float("inf")
    if q.maximum is not None and claimed > q.maximum:
        return verdict("impossible", f"{name} cannot exceed {q.maximum:g}")
    if q.plausible is not None:
        return _against_range(verdict, name, q, claimed)
    scenario = base.evaluation.scenario
    rule = scenario.formulas.get(name)
    if rule is not None and rule.formula.overridable:
        # a default rule of the model (power draw, compile warm-up, a price): an estimate itself
        tolerance = q.tolerance if q.tolerance is not None else RULE_TOLERANCE
        if abs(ratio - 1) <= tolerance:
            return verdict("consistent", f"within {tolerance:.0%} of costmodel's estimate {show(value)}")
        return verdict("implausible", f"costmodel estimates {show(value)} ({rule.formula.doc}; "
                                      f"source: {rule.formula.source}): off by {_factor(ratio)}")
    assumption = _assumption_upstream(scenario, name)
    if assumption is not None:
        return _implied(verdict, family, kwargs, registry, name, text, assumption, ratio, show, value)
    tolerance = q.tolerance if q.tolerance is not None else EXACT_TOLERANCE
    if abs(ratio - 1) <= tolerance:
        return verdict("consistent", f"within {tolerance:.0%} of costmodel's {show(value)}")
    off = _factor(ratio)
    if q.tolerance is None:
        return verdict("impossible", f"the scenario's own arithmetic gives {show(value)}: the claim is "
                                     f"off by {off}")
    return verdict("implausible", f"costmodel gives {show(value)} (the claim is off by {off}; the "
                                  f"model's accuracy is about {tolerance:.0%})")


def _against_range(verdict, name, q, claimed) -> Verdict:
    low, high = q.plausible
    if claimed < low or claimed > high:
        return verdict("implausible", f"outside the documented range {low:g} to {high:g} of {name}")
    return verdict("consistent", f"inside the documented range {low:g} to {high:g} of {name}")


def _assumption_upstream(scenario, name: str) -> str | None:
    from costmodel.solver import upstream

    quantities = scenario.registry.quantities
    found = [n for n, d in sorted(upstream(scenario, name).items(), key=lambda kv: (kv[1], kv[0]))
             if n != name and quantities[n].plausible is not None]
    return found[0] if found else None


def _implied(verdict, family, kwargs, registry, name, text, assumption, ratio, show, value) -> Verdict:
    """Solve for the assumption the claim implies, and judge that."""
    from costmodel import api

    a = registry.quantities[assumption]
    values = dict(kwargs.get("values") or {})
    rest = {k: v for k, v in kwargs.items() if k != "values"}
    try:
        solved = api.solve(family, find=assumption, given={name: text}, values=values, **rest)
    except OutOfRange as exc:
        implied = {exc.name: exc.value}
        return verdict("impossible", f"implies {exc.name} = {_percent(exc.value)}, more than "
                                     f"{registry.quantities[exc.name].maximum:g}: costmodel gives "
                                     f"{show(value)} (claim/costmodel = {ratio:.3g})", implied)
    except Unreachable as exc:
        return verdict("impossible", f"no {assumption} up to {a.maximum:g} gives it: {exc}")
    implied = solved.input_numbers.get(assumption, solved.numbers.get(assumption))
    shown = f"{assumption} = {_percent(implied)}"
    context = f"costmodel gives {show(value)} (claim/costmodel = {ratio:.3g})"
    if a.maximum is not None and implied > a.maximum * (1 + 1e-9):
        return verdict("impossible", f"implies {shown}, more than {a.maximum:g}: {context}",
                       {assumption: implied})
    low, high = a.plausible
    if implied < low or implied > high:
        side = "below" if implied < low else "above"
        return verdict("implausible", f"implies {shown}, {side} the documented range "
                                      f"{_percent(low)} to {_percent(high)}: {context}", {assumption: implied})
    return verdict("consistent", f"implies {shown}, inside the documented range "
                                 f"{_percent(low)} to {_percent(high)}: {context}", {assumption: implied})


def _percent(x: float) -> str:
    return f"{x:.1%}" if x < 10 else f"{x:,.0%}"


def _factor(ratio: float) -> str:
    if ratio <= 0:
        return "everything"
    factor = ratio if ratio >= 1 else 1 / ratio
    direction = "too high" if ratio >= 1 else "too low"
    return f"a factor of {units.format_number(factor, 3)} ({direction})"
