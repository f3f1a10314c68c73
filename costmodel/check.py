"""Claim checking: is a number someone gave for a scenario possible, plausible, consistent?

A claim `NAME=VALUE` is read with the precision its digits state: "1.9e9" (or "1.9B") means
1.85e9 to 1.95e9, "524288" means 524,287.5 to 524,288.5; "2.5..4.5 s" (or "2.5–4.5 s", "2.5 to
4.5 s") is a range. Then, for the claim about a scenario:

1. costmodel's own value of NAME and the ratio claim / costmodel.
2. **Physical bounds are hard.** Beyond NAME's maximum (`Quantity.maximum`: mfu above 1) or its
   limit in the scenario (`Quantity.limit`: power above the card's board power, memory in use above
   the card's memory, FLOP/s above the card's peak) the claim is **impossible**.
3. If costmodel's value lies within the claim (its range, or the precision of its digits), the claim
   is **consistent**. Otherwise the end of the claim nearest costmodel's value is judged:
   A time or memory answer with an 80 % interval (costmodel_time.intervals, docs/validation.md): a
   claim inside that interval is **consistent** too.
4. NAME with a documented range (`Quantity.plausible`, such as `mfu`): outside it **implausible**.
5. NAME a default rule of the model (an estimate such as the power draw): within its tolerance (25 %
   when none is declared) **consistent**, else **implausible**.
6. NAME depending on an *assumption* of the model (a quantity declaring a `plausible` range, such as
   `mfu`) that the scenario does not fix: the solver finds the value of the assumption the claim
   implies (claimed iteration time -> implied mfu). Beyond its hard bound: **impossible**; outside
   its documented range: **implausible**; inside: **consistent**.
7. Otherwise NAME is the scenario's own arithmetic (parameters, tokens, FLOPs; or anything once a
   given result, `--set iter_time=2.5s`, fixes the assumptions): within the quantity's `tolerance` (1 %
   when none is declared) **consistent**, else **impossible** for exact counts and **implausible**
   for modelled quantities.

A yes/no result (`fits`) is consistent when it agrees; when it does not, implausible if the modelled
quantities it rests on (`mem_peak`, 25 %) could flip it within their accuracy, else impossible.
Everything else of the scenario (the config, the preset, the card, given results) is taken as given.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from costmodel import units
from costmodel.errors import OutOfRange, Unreachable, UserError

EXACT_TOLERANCE = 0.01
RULE_TOLERANCE = 0.25  # claims about a default rule's estimate (power, warm-up) within 25%
_EPS = 1e-9

# "2.5..4.5 s", "2.5–4.5 s" (en or em dash), "2.5 to 4.5 s", "2.5 - 4.5 s" (a hyphen with spaces)
_RANGE = re.compile(r"\s*(?:\.\.|[–—]|\s-\s|\bto\b)\s*")
_NUMBER = re.compile(r"^\s*(?P<sign>[-+]?)(?P<int>\d[\d,_]*)?(?:\.(?P<frac>\d*))?(?:[eE](?P<exp>[-+]?\d+))?"
                     r"\s*(?P<rest>.*?)\s*$")
# counts written with a magnitude: "1.9B", "40.56M", "10.5 billion" (never for bytes: "9 GB" is a size)
_MAGNITUDES = {"k": 3, "thousand": 3, "M": 6, "million": 6, "B": 9, "billion": 9, "T": 12, "trillion": 12}


@attrs.frozen(kw_only=True)
class Claimed:
    """A claimed value as written and the interval its digits (or its range) state, canonical unit."""

    text: str
    value: float  # the value as written (a range: its first end)
    low: float
    high: float
    is_range: bool = False  # two ends written ("2.5..4.5 s"), not one value's precision


@attrs.frozen(kw_only=True)
class Verdict:
    name: str
    claimed: float  # canonical unit, as written (a range: its first end)
    value: float  # costmodel's, canonical unit
    unit: str
    verdict: str  # "impossible", "implausible" or "consistent"
    reason: str
    implied: dict[str, float] = attrs.field(factory=dict)  # assumption -> implied value
    low: float | None = None  # the interval the claim states (its range or the precision of its digits)
    high: float | None = None
    text: str = ""

    @property
    def ratio(self) -> float:
        return self.claimed / self.value if self.value else float("inf")

    def to_dict(self) -> dict[str, Any]:
        unit = units.pretty_unit(self.unit)
        claimed = {"value": self.claimed, "unit": unit, "text": self.text}
        if self.low is not None:
            claimed.update(low=self.low, high=self.high)
        return {
            "name": self.name,
            "claimed": claimed,
            "costmodel": {"value": self.value, "unit": unit},
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
    scenario = api.scenario(family, **kwargs)  # the user's own values: within their bounds
    from costmodel.registry import beyond_maximum

    # only the model's assumptions (a documented range: mfu) are solved for, and only here, to judge a
    # claim: the implied value is reported with its verdict, never given as an answer; one beyond its
    # hard bound is admitted to show what would follow, and called impossible
    assumptions = {n for n, q in scenario.registry.quantities.items() if q.plausible is not None}
    with beyond_maximum(assumptions):
        kwargs, givens, fixed = _through_assumptions(family, kwargs, scenario)
        base = api.estimate(family, **kwargs)
        fixed = fixed | {s.name for s in base.evaluation.solved}
        registry = base.evaluation.scenario.registry
        return [_Judge(family, base, registry, name, kwargs, (givens, fixed)).verdict(text)
                for name, text in pairs]


def _through_assumptions(family: str, kwargs: dict, scenario) -> tuple[dict, str, set[str]]:
    """Results given to the scenario (`--set iter_time=2.5s`, a claim conditional on a rate) are met
    through the assumption they rest on (mfu), never by changing the model, the run or the card: the
    scenario is evaluated at the assumption's value they imply. A given result that needs the
    assumption beyond its hard bound (more than the card's peak) is impossible in itself; what follows
    from it is still arithmetic, and the reasons say so."""
    from costmodel import api
    from costmodel.scenario import Source
    from costmodel.solver import upstream

    if not scenario.constraints:
        return kwargs, "", set()
    quantities = scenario.registry.quantities
    user = {n for n, o in scenario.origins.items() if o.source is Source.USER}
    values = dict(kwargs.get("values") or {})
    rest = {k: v for k, v in kwargs.items() if k != "values"}
    shown, fixed = [], set()
    for name, target in sorted(scenario.constraints.items()):
        text = f"{name} = {units.format_quantity(target, quantities[name].unit)}"
        near = sorted((d, n) for n, d in upstream(scenario, name).items()
                      if quantities[n].plausible is not None and n not in user and n not in fixed and n != name)
        if not near or name not in values:
            shown.append(text)
            continue
        assumption = near[0][1]
        others = {k: v for k, v in values.items() if k != name}
        try:
            solved = api.solve(family, find=assumption, given={name: values[name]}, values=others, **rest)
            implied = solved.input_numbers.get(assumption, solved.numbers.get(assumption))
            shown.append(f"{text} ({assumption} = {_percent(implied)})")
        except OutOfRange as exc:
            implied = exc.value
            shown.append(f"{text} (which needs {assumption} = {_percent(implied)}, more than "
                         f"{quantities[assumption].maximum:g})")
        values = {**others, assumption: repr(float(implied))}
        fixed.add(assumption)
    return {**rest, "values": values}, " given " + ", ".join(shown), fixed


# --- reading a claim ----------------------------------------------------------------------------


def parse_claim(registry, name: str, text: Any) -> Claimed:
    """`text` as a value of `name` with the interval its digits or its range state (canonical unit)."""
    q = registry.quantity(name)
    if q.kind == "bool" or isinstance(text, bool):
        value = registry.parse_value(name, text, where="claim", bounded=False)
        return Claimed(text=str(text), value=value, low=value, high=value)
    raw = str(text).strip()
    parts = _RANGE.split(raw)
    if len(parts) == 2 and _NUMBER.match(parts[0]) and _NUMBER.match(parts[1]):
        first, second = parts
        unit = _NUMBER.match(second).group("rest")
        if unit and not _NUMBER.match(first).group("rest"):
            first = f"{first} {unit}"
        a, b = _one(registry, name, first), _one(registry, name, second)
        if a.value > b.value:
            a, b = b, a
        return Claimed(text=raw, value=a.value, low=a.low, high=b.high, is_range=True)
    return _one(registry, name, raw)


def _one(registry, name: str, text: str) -> Claimed:
    q = registry.quantity(name)
    m = _NUMBER.match(text)
    if m is None or (m.group("int") is None and not m.group("frac")):
        value = registry.parse_value(name, text, where="claim", bounded=False)
        return Claimed(text=text, value=value, low=value, high=value)
    digits_int = (m.group("int") or "0").replace(",", "").replace("_", "")
    frac = m.group("frac") or ""
    exponent = int(m.group("exp") or 0)
    rest = m.group("rest")
    magnitude = _MAGNITUDES.get(rest.rstrip("."))
    if magnitude is not None and not _is_size(q.unit):
        exponent += magnitude
        rest = ""
    mantissa = float(f"{m.group('sign')}{digits_int}.{frac or '0'}")
    written = mantissa * 10.0**exponent
    half = 0.5 * 10.0 ** (exponent - len(frac))  # half a unit of the last digit written
    canonical = registry.parse_value(name, f"{written!r} {rest}".strip(), where="claim", bounded=False)
    scale = canonical / written if written else units.parse_value(f"1 {rest}".strip(), q.unit, name)
    return Claimed(text=text, value=canonical, low=canonical - abs(half * scale),
                   high=canonical + abs(half * scale))


def _is_size(unit: str) -> bool:
    """Whether a unit measures information ("9 GB" is a size there, never 9 billion)."""
    return any(name == "[information]" for name, _ in units.describe_unit(unit)[1])


# --- judging ------------------------------------------------------------------------------------


class _Judge:
    """The verdicts on claims about one quantity of one scenario."""

    def __init__(self, family, base, registry, name, kwargs, givens=("", frozenset())):
        self.family, self.base, self.registry, self.name, self.kwargs = family, base, registry, name, kwargs
        self.q = q = registry.quantity(name)
        if q.kind == "choice":
            raise UserError(f"{name} is a choice; claims are about numbers or yes/no results")
        value = base.numbers.get(name, base.input_numbers.get(name))
        if value is None or isinstance(value, str):
            raise UserError(f"costmodel computes no {name} for this scenario; nothing to check it against")
        self.value = float(value)
        self.scenario = base.evaluation.scenario
        from costmodel.solver import upstream

        text, fixed = givens
        self.givens = text if fixed & set(upstream(self.scenario, name)) else ""

    def show(self, v: float) -> str:
        if v == self.value and self._spread() is not None:  # costmodel's own time or memory: with its interval
            from costmodel import summary

            return summary.with_interval(self.name, self._numbers(), lambda n: self.registry.quantity(n).unit)
        return units.format_quantity(v, self.q.unit)

    def _numbers(self) -> dict:
        from costmodel import summary

        numbers = {**self.base.input_numbers, **self.base.evaluation.env}
        return summary.model_intervals(numbers, self.base.input_numbers)

    def _spread(self) -> tuple[float, float] | None:
        """The 80 % interval of costmodel's value (costmodel_time.intervals), unless a given result fixes it."""
        from costmodel import summary

        ends = summary.INTERVALS.get(self.name)
        numbers = self._numbers()
        if ends is None or self.givens or not all(n in numbers for n in ends):
            return None
        return float(numbers[ends[0]]), float(numbers[ends[1]])

    def verdict(self, text) -> Verdict:
        claim = parse_claim(self.registry, self.name, text)
        self.claim = claim
        if self.q.kind == "bool":
            return self._yes_no(claim)
        bound = self._bound()
        if bound is not None and claim.low > bound[0] * (1 + _EPS):
            limit, what = bound
            return self._make(claim, "impossible", f"more than {what}: a physical bound "
                                                   f"({self._as_claimed(claim)} claimed)")
        high = min(claim.high, bound[0]) if bound is not None else claim.high
        if claim.low * (1 - _EPS) <= self.value <= high * (1 + _EPS):
            where = "the claimed range" if claim.is_range else "the precision of the claim's digits"
            return self._make(claim, "consistent", f"costmodel's {self.show(self.value)}{self.givens} lies within "
                                                   f"{where} ({self._interval(claim.low, high)})")
        spread = self._spread()
        if spread is not None and claim.low * (1 - _EPS) <= spread[1] and high * (1 + _EPS) >= spread[0]:
            return self._make(claim, "consistent", f"{self._as_claimed(claim)} lies within costmodel's "
                                                   f"{self.show(self.value)}")
        end = claim.low if self.value < claim.low else high
        kind, reason, implied = self._end(end)
        if claim.low != claim.high:
            interval = self._interval(claim.low, claim.high)
            shown = interval.split(" to ")[0 if end == claim.low else -1]
            reason = f"at {shown} (of the claimed {interval}, the value nearest costmodel's): {reason}"
        return self._make(claim, kind, reason, implied)

    def _make(self, claim: Claimed, kind: str, reason: str, implied=None) -> Verdict:
        return Verdict(name=self.name, claimed=claim.value, value=self.value, unit=self.q.unit, verdict=kind,
                       reason=reason, implied=implied or {}, low=claim.low, high=claim.high, text=claim.text)

    def _interval(self, low: float, high: float) -> str:
        return interval_text(low, high, self.q.unit)

    def _as_claimed(self, claim: Claimed) -> str:
        return self.show(claim.value) if not claim.is_range else self._interval(claim.low, claim.high)

    def _bound(self) -> tuple[float, str] | None:
        """The hard bound of the quantity in this scenario: its maximum or its limit, the lower."""
        bounds = []
        if self.q.maximum is not None:
            bounds.append((self.q.maximum, f"{self.q.maximum:g}, the most {self.name} can be"))
        if self.q.limit is not None:
            limit = self.base.numbers.get(self.q.limit, self.base.input_numbers.get(self.q.limit))
            if isinstance(limit, (int, float)) and not isinstance(limit, bool):
                bounds.append((float(limit), f"{self.q.limit} = {self.show(float(limit))}"))
        return min(bounds) if bounds else None

    def _end(self, claimed: float) -> tuple[str, str, dict]:
        """The verdict on one claimed value outside costmodel's: (kind, reason, implied)."""
        q, value = self.q, self.value
        ratio = claimed / value if value else float("inf")
        if q.plausible is not None:
            low, high = q.plausible
            inside = low <= claimed <= high
            return ("consistent" if inside else "implausible",
                    f"{'inside' if inside else 'outside'} the documented range {low:g} to {high:g} of {self.name}"
                    f" (costmodel's own {self.show(value)})", {})
        rule = self.scenario.formulas.get(self.name)
        if rule is not None and rule.formula.overridable and self.name not in self._solved():
            tolerance = q.tolerance if q.tolerance is not None else RULE_TOLERANCE
            if abs(ratio - 1) <= tolerance:
                return "consistent", f"within {tolerance:.0%} of costmodel's estimate {self.show(value)}", {}
            return "implausible", (f"costmodel estimates {self.show(value)} ({rule.formula.doc}; source: "
                                   f"{rule.formula.source}): off by {_factor(ratio)}"), {}
        assumption = self._assumption_upstream()
        if assumption is not None:
            return self._implied(claimed, assumption, ratio)
        modelled = self._modelled()
        tolerance = modelled[1] if modelled else EXACT_TOLERANCE
        given = self.givens
        if abs(ratio - 1) <= tolerance:
            return "consistent", f"within {tolerance:.0%} of costmodel's {self.show(value)}{given}", {}
        off = _factor(ratio)
        if modelled is None:
            return "impossible", (f"the scenario's own arithmetic gives {self.show(value)}{given}: the claim is "
                                  f"off by {off}"), {}
        basis = "" if modelled[0] == self.name else f" (it rests on {modelled[0]}, a model)"
        return "implausible", (f"costmodel gives {self.show(value)}{given}{basis}: the claim is off by {off}, more "
                               f"than the model's accuracy of about {tolerance:.0%}"), {}

    def _modelled(self) -> tuple[str, float] | None:
        """The quantity itself, or the nearest one it depends on, that declares a model accuracy
        (`tolerance`: mem_peak, gpu_power), unless the scenario fixes it; with that accuracy."""
        from costmodel.solver import upstream

        quantities = self.registry.quantities
        fixed = self._fixed()
        found = [(d, n) for n, d in upstream(self.scenario, self.name).items()
                 if quantities[n].tolerance is not None and (n == self.name or n not in fixed)]
        if not found:
            return None
        _, name = min(found)
        return name, max(quantities[n].tolerance for _, n in found)

    def _solved(self) -> set[str]:
        return {s.name for s in self.base.evaluation.solved}

    def _fixed(self) -> set[str]:
        """Assumptions the scenario fixes: solved from a given result, or set by the user."""
        from costmodel.scenario import Source

        user = {n for n, origin in self.scenario.origins.items() if origin.source is Source.USER}
        return self._solved() | user

    def _assumption_upstream(self) -> str | None:
        """The nearest assumption (a quantity with a documented range) the value depends on, unless the
        scenario fixes it (a given result, or the user's own value)."""
        from costmodel.solver import upstream

        quantities = self.registry.quantities
        fixed = self._fixed()
        found = [n for n, d in sorted(upstream(self.scenario, self.name).items(), key=lambda kv: (kv[1], kv[0]))
                 if n != self.name and quantities[n].plausible is not None and n not in fixed]
        return found[0] if found else None

    def _implied(self, claimed: float, assumption: str, ratio: float) -> tuple[str, str, dict]:
        """Solve for the assumption the claimed value implies, and judge that."""
        from costmodel import api

        a = self.registry.quantities[assumption]
        values = dict(self.kwargs.get("values") or {})
        rest = {k: v for k, v in self.kwargs.items() if k != "values"}
        context = f"costmodel gives {self.show(self.value)} (claim/costmodel = {ratio:.3g})"
        given = f"{claimed!r} {self.q.unit}" if self.q.unit != "1" else claimed
        try:
            solved = api.solve(self.family, find=assumption, given={self.name: given}, values=values, **rest)
        except OutOfRange as exc:
            bound = self.registry.quantities[exc.name].maximum
            return ("impossible", f"implies {exc.name} = {_percent(exc.value)}, more than {bound:g}: {context}",
                    {exc.name: exc.value})
        except Unreachable as exc:
            return "impossible", f"no {assumption} up to {a.maximum:g} gives it: {exc}", {}
        implied = solved.input_numbers.get(assumption, solved.numbers.get(assumption))
        shown = f"{assumption} = {_percent(implied)}"
        if a.maximum is not None and implied > a.maximum * (1 + _EPS):
            return "impossible", f"implies {shown}, more than {a.maximum:g}: {context}", {assumption: implied}
        low, high = a.plausible
        if implied < low or implied > high:
            side = "below" if implied < low else "above"
            return ("implausible", f"implies {shown}, {side} the documented range {_percent(low)} to "
                                   f"{_percent(high)}: {context}", {assumption: implied})
        return ("consistent", f"implies {shown}, inside the documented range {_percent(low)} to "
                              f"{_percent(high)}: {context}", {assumption: implied})

    def _yes_no(self, claim: Claimed) -> Verdict:
        """A yes/no result: agreeing is consistent; disagreeing is implausible if the modelled quantities
        it rests on could flip it within their accuracy, else impossible."""
        from costmodel.solver import forward

        said = _yes(claim.value)
        rule = self.scenario.formulas.get(self.name)
        env = dict(self.base.evaluation.env)
        inputs = rule.inputs if rule is not None else ()
        shown = ", ".join(f"{n} = {units.format_quantity(env[n], self.registry.quantity(n).unit)}"
                          for n in inputs if n in env)
        basis = f" ({rule.formula.expr} with {shown})" if rule is not None and shown else ""
        if bool(claim.value) == bool(self.value):
            return self._make(claim, "consistent", f"costmodel also gives {said}{basis}")
        for dep in inputs:
            tolerance = self.registry.quantity(dep).tolerance
            if tolerance is None or dep not in env:
                continue
            for factor in (1 - tolerance, 1 + tolerance):
                trial = dict(env)
                trial[dep] = env[dep] * factor
                forward(self.scenario, trial, only={self.name})
                if bool(trial.get(self.name)) == bool(claim.value):
                    return self._make(claim, "implausible", (
                        f"costmodel gives {_yes(self.value)}{basis}, but {dep} {_factor_word(factor)} by its "
                        f"{tolerance:.0%} accuracy would give {said}"))
        modelled = [d for d in inputs if self.registry.quantity(d).tolerance is not None]
        why = (f": {', '.join(modelled)} would have to be off by more than the model's accuracy" if modelled
               else ": the scenario's own arithmetic")
        return self._make(claim, "impossible", f"costmodel gives {_yes(self.value)}{basis}{why}")


def interval_text(low: float, high: float, unit: str) -> str:
    """'1.850B param to 1.950B param', with enough digits that the two ends read apart."""
    for digits in range(4, 12):
        a, b = (units.format_quantity(x, unit, digits) for x in (low, high))
        if a != b:
            return f"{a} to {b}"
    return a


def _yes(value: float) -> str:
    return "yes (1)" if bool(value) else "no (0)"


def _factor_word(factor: float) -> str:
    return "lower" if factor < 1 else "higher"


def _percent(x: float) -> str:
    return f"{x:.1%}" if x < 10 else f"{x:,.0%}"


def _factor(ratio: float) -> str:
    if ratio <= 0:
        return "everything"
    factor = ratio if ratio >= 1 else 1 / ratio
    direction = "too high" if ratio >= 1 else "too low"
    return f"a factor of {units.format_number(factor, 3)} ({direction})"

