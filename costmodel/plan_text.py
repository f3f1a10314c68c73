"""The planner's answer in words: the one line, the ranked tables, a plan as JSON.

    summary(plan)          pre-training or fine-tuning, the model, the horizon, whether the standard
                           recipe fits, the best plan with its time (and the time's 80 % interval)
    table(plan, points)    aligned rows: hardware, recipe changes, time, peak memory, cost, energy, tokens
    point_dict(plan, p)    one plan for `--json`

Times carry the 80 % interval of the time plugin (`wall_time_low/high`) where it is loaded; for the
days and budget goals, whose time is fixed by the goal, the tokens carry it instead.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from costmodel import units
from costmodel.search import CARD, Point

if TYPE_CHECKING:
    from costmodel.planner import Plan

DAY = 86400.0


def _show_choice(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _bytes(x: float) -> str:
    return units.format_quantity(x, "byte")


def _recipe_text(p: Plan, point: Point) -> str:
    """The choices that differ from the scenario's own recipe, then micro-batch x accumulation."""
    standard = (p.baseline or {}).get("recipe", {})
    parts = [f"{name}={_show_choice(value)}" for name, value in point.choices.items()
             if name != CARD and standard.get(name) != value]
    n = point.numbers
    ga = point.values.get("grad_accum")
    if "micro_batch" in n:
        parts.append(f"micro_batch={int(n['micro_batch'])}" + (f" x grad_accum={units.format_number(ga)}"
                                                                if ga is not None else ""))
    shown_elsewhere = {"micro_batch", "n_gpus", "iters"}
    if ga is not None:  # the family's own accumulation input says the same as grad_accum
        shown_elsewhere.add(p.accumulation)
    for name, value in n.items():
        if name not in shown_elsewhere:
            parts.append(f"{name}={units.format_number(value)}")
    return ", ".join(parts) or "the standard recipe"


def _where(p: Plan, point: Point) -> str:
    gpus = int(point.values.get("n_gpus", 1))
    card = point.choices.get(CARD) or (p.cards[0] if p.cards else "")
    return f"{gpus} x {card}"


def _tokens(x: float) -> str:
    return units.format_quantity(x, "token")


def _time(x: float) -> str:
    return units.format_quantity(x, "s")


def _span(point: Point) -> tuple[float, float] | None:
    """The 80 % interval of the plan's time as multiples of it (the time plugin's
    wall_time_low/high, from the validation runs' errors), or None where not loaded."""
    v = point.values
    if "wall_time_low" not in v or "wall_time_high" not in v or not v.get("wall_time"):
        return None
    return v["wall_time_low"] / v["wall_time"], v["wall_time_high"] / v["wall_time"]


def _time_with_interval(point: Point) -> str:
    """'158.6 day (80 % interval 120.1-190.3 day)', or the time alone without an interval."""
    v, span = point.values, _span(point)
    if span is None:
        return _time(v["wall_time"])
    return f"{_time(v['wall_time'])} (80 % interval {_range(_time(v['wall_time'] * span[0]), _time(v['wall_time'] * span[1]))})"


def _range(low: str, high: str) -> str:
    """'145.9-167.7 day' where both ends have the same unit, else '59.5 min-1.2 h'."""
    a, _, unit_a = low.partition(" ")
    b, _, unit_b = high.partition(" ")
    return f"{a}-{high}" if unit_a == unit_b else f"{low}-{high}"


def _tokens_with_interval(point: Point, seconds: float) -> str:
    """The tokens trained in `seconds`, with the range the time's interval gives them."""
    tokens = _tokens(_tokens_in(point, seconds))
    span = _span(point)
    if span is None:
        return tokens
    low, high = (_tokens(_tokens_in(point, seconds, scale)) for scale in (span[1], span[0]))
    return f"{tokens} (80 % interval {_range(low, high)})"


def _cost(p: Plan, point: Point) -> str:
    v = point.values
    if p.priced and "cloud_cost" in v:
        return units.format_quantity(v["cloud_cost"], "USD")
    return units.format_number(v["gpu_hours"]) + " GPU-hours"


def _tokens_in(point: Point, seconds: float, scale: float = 1.0) -> float:
    """Tokens the plan's recipe trains in `seconds` (whole steps after its fixed costs), with its
    times `scale` times the estimate (an end of their interval)."""
    v = point.values
    fixed = (v["wall_time"] - v["train_time"]) * scale
    return max(math.floor((seconds - fixed) / (v["iter_time"] * scale)), 0) * v["tokens_per_iter"]


def _either(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def summary(p: Plan) -> str:
    name = p.family + (f" {p.preset}" if p.preset else "")
    head = f"{p.mode} {name}"
    b = p.best
    base = ""
    if p.baseline is not None and p.baseline.get("mem_peak") is not None and p.goal.kind == "fit":
        if p.baseline["fits"]:
            base = "the standard recipe fits; "
        else:
            own = {f"{k}={_show_choice(v)}" for k, v in p.baseline.get("recipe", {}).items()}
            standard = [r["recipe"] for r in p.rejected if r["recipe"] in own]
            base = (f"the standard recipe does not fit ({_bytes(p.baseline['mem_peak'])} needed, "
                    f"{_bytes(p.baseline['gpu_memory_usable'])} usable)")
            if standard and b is not None:
                base = ("no standard recipe fits: none with " + _either(standard)
                        + f" (the family's own needs {_bytes(p.baseline['mem_peak'])}, "
                        f"{_bytes(p.baseline['gpu_memory_usable'])} usable)")
            base += "; "
    if b is None:  # the nearest miss says why
        from costmodel.planner import RECIPE_OPTIONS, _why

        pinned = [f"{k}={_show_choice(v)}" for k, v in p.request.get("values", {}).items() if k in RECIPE_OPTIONS]
        verb, reason, _ = _why(p.found.outcomes) if p.found.outcomes else ("is valid", "nothing to search", None)
        return (f"{head} on {', '.join(p.cards)}: {base}no recipe" + (f" with {', '.join(pinned)}" if pinned else "")
                + f" {verb}: {reason}" + ("" if p.mode == "fine-tuning" else " (fine-tuning recipes: --finetune)"))
    v = b.values
    where = _where(p, b)
    recipe = _recipe_text(p, b)
    if p.goal.kind == "fit":
        return (f"{head} on {where}, {_tokens(v['total_tokens'])} ({p.horizon}): {base}fastest that fits: {recipe}: "
                f"{_time_with_interval(b)}; {_tokens_with_interval(b, 30 * DAY)} in 30 days "
                f"(peak {_bytes(v['mem_peak'])} of {_bytes(v['gpu_memory_usable'])}{_borderline(v)})"
                + ("" if p.safe is None else f"; fits even then: {_recipe_text(p, p.safe)}: {_time(p.safe.values['wall_time'])} "
                   f"(peak {_bytes(p.safe.values['mem_peak'])})"))
    if p.goal.kind == "deadline":
        what = "fewest GPUs" if p.goal.by == "gpus" else ("cheapest" if p.priced else
                                                           "fewest GPU-hours (no prices given: --price CARD=PRICE)")
        late = v.get("wall_time_high", 0.0) > p.goal.deadline
        return (f"{head}, {_tokens(p.goal.tokens)} by {_time(p.goal.deadline)}: {what}: {where}, {recipe}: "
                f"{_time_with_interval(b)}, {_cost(p, b)}" + ("; the interval's high end misses the deadline"
                                                              if late else ""))
    if p.goal.kind == "days":
        return (f"{head}, most tokens in {units.format_number(p.goal.days / DAY)} days: {where}, {recipe}: "
                f"{_tokens_with_interval(b, _limit(p, b))}, {_cost(p, b)}")
    budget = units.format_quantity(p.goal.budget, "USD")
    return (f"{head}, most tokens for {budget}: {where}, {recipe}: {_tokens_with_interval(b, _limit(p, b))} in "
            f"{_time(v['wall_time'])}, {_cost(p, b)}")


def _borderline(v) -> str:
    """'; borderline: ...' when the peak's 80 % interval reaches past the usable memory."""
    high = v.get("mem_peak_high")
    if high is None or high <= v["gpu_memory_usable"]:
        return ""
    return f"; borderline: the peak's 80 % interval reaches {_bytes(high)}"


def _limit(p: Plan, point: Point) -> float:
    """The time a days or budget goal gives the plan (the budget at the plan's price per second)."""
    if p.goal.kind == "days":
        return p.goal.days
    v = point.values
    return v["wall_time"] * p.goal.budget / v["cloud_cost"] if v.get("cloud_cost") else v["wall_time"]


def point_dict(p: Plan, point: Point) -> dict[str, Any]:
    return {
        "hardware": point.choices.get(CARD) or (p.cards[0] if p.cards else None),
        "recipe": {k: v for k, v in point.choices.items() if k != CARD},
        "numbers": {k: int(v) if float(v).is_integer() else v for k, v in point.numbers.items()},
        "results": {k: {"value": v, "unit": units.pretty_unit(p.units.get(k, "1"))}
                    for k, v in point.values.items() if not k.startswith("__")},
    }


def table(p: Plan, points: Sequence[Point]) -> list[str]:
    cost = "cost" if p.priced else "GPU-hours"
    interval = " (80 % interval)" if any(_span(point) is not None for point in points) else ""
    tokens_found = p.goal.kind in ("days", "budget")  # the time is the goal's; the tokens are uncertain
    rows = [("#", "hardware", "recipe", "time" + ("" if tokens_found else interval), "peak memory", cost, "energy",
             "tokens" + (interval if tokens_found else ""))]
    for i, point in enumerate(points, 1):
        v = point.values
        time = _time(v["wall_time"]) if tokens_found else _time_with_interval(point)
        tokens = _tokens_with_interval(point, _limit(p, point)) if tokens_found else _tokens(v["total_tokens"])
        rows.append((str(i), _where(p, point), _recipe_text(p, point), time.replace("80 % interval ", ""),
                     _bytes(v["mem_peak"]), _cost(p, point).replace(" GPU-hours", " h"),
                     units.format_quantity(v["energy"], "kWh"), tokens.replace("80 % interval ", "")))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
