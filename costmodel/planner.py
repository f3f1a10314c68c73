"""The planner: the fastest or cheapest feasible way to reach a goal, over every recipe.

    >>> from costmodel.planner import plan
    >>> p = plan("nanochat", preset="d32", hardware=["rtx-4070"])
    >>> p.summary()        # the answer in one line
    >>> p.to_dict()        # what `costmodel plan --json` prints

A thin layer on `costmodel.search`: it turns a goal into an objective, constraints and a horizon
rule, builds the search space from the scenario (docs/plan.md), and words the answer (costmodel.plan_text).

Goals:
  fit       (default) the fastest recipe that fits, for the scenario's own horizon or `tokens`
            (fine-tuning has no horizon of its own: it needs `tokens`, or the user's iters);
  deadline  tokens N by a time T: the fewest GPUs (`by="cost"`: the cheapest);
  days      the most tokens in D days;
  budget    the most tokens for a price (needs a GPU-hour price).

The space: every recipe option of the vocabulary (precision, optimizer, weights, checkpointing,
attention, compile, parallelism) that the user did not pin, the micro-batch (1-64) with the
accumulation that keeps the tokens per optimizer step fixed (unless `free_batch`), the GPU count
where the goal asks for it, and the cards. Frozen-base recipes (LoRA, int8, NF4) only with
`finetune`: they train adapters, not the model.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from costmodel import units
from costmodel.errors import UserError
from costmodel.plan_text import _bytes, _show_choice, _time, point_dict, summary, table
from costmodel.search import CARD, MAX_CANDIDATES, Point, Rule, SearchResult, search

# the vocabulary's recipe options (../shared/DESIGN.md), searched unless pinned
RECIPE_OPTIONS = ("precision", "optimizer", "weights", "checkpointing", "attention", "compile", "parallelism",
                  "offload")
FULL_WEIGHTS = "full"  # the `weights` choice that trains every parameter (pre-training)
MICRO_BATCHES = (1, 2, 4, 8, 16, 32, 64)  # and the scenario's own micro-batch
GPU_COUNTS = (1, 2, 3, 4, 5, 6, 7, 8, 16, 24, 32, 40, 48, 56, 64)  # one node of up to 8, or whole nodes
FIT = "mem_peak <= gpu_memory_usable"
REPORT = ("wall_time", "train_time", "iter_time", "iters", "tokens_per_iter", "total_tokens", "mem_peak",
          "gpu_memory_usable", "mem_weights", "mem_grads", "mem_optimizer_resident", "gpu_hours", "energy",
          "n_gpus", "micro_batch", "grad_accum")
COSTS = ("cloud_cost", "energy_cost")
INTERVAL = ("wall_time_low", "wall_time_high", "mem_peak_high")  # the time plugin's 80 % intervals, where loaded
CHANGES = "__changes__"  # a point's number of choices that differ from the scenario's own recipe
FEWER_TOKENS = "__fewer_tokens__"  # minus the tokens: for fronts where more tokens are better


@attrs.frozen(kw_only=True)
class Goal:
    kind: str = "fit"  # fit | deadline | days | budget
    tokens: float | None = None  # deadline: the tokens to train; fit: the horizon (else the scenario's)
    deadline: float | None = None  # s
    days: float | None = None  # s
    budget: float | None = None  # USD
    by: str = "gpus"  # deadline: gpus | cost


@attrs.define
class Plan:
    family: str
    preset: str | None
    mode: str  # "pre-training" | "fine-tuning"
    goal: Goal
    cards: list[str]
    request: dict[str, Any]  # the scenario keyword arguments (values: the user's)
    found: SearchResult
    best: Point | None
    baseline: dict[str, Any] | None  # the scenario as given: does it fit?
    front: list[Point]
    rejected: list[dict[str, str]]
    by_card: list[Point]
    notes: list[str]
    caveats: list[str]  # what the chosen recipe costs besides time and memory
    accumulation: str | None  # the input that sets the micro-steps per optimizer step, if searched
    units: dict[str, str]
    priced: bool
    horizon: str = ""  # fit: where the number of tokens comes from ("--tokens", "the scenario's horizon")
    safe: Point | None = None  # when the best is borderline: a plan that fits at its peak's interval's high end

    def summary(self) -> str:
        """The answer in one line."""
        return summary(self)

    def table(self) -> list[str]:
        """The ranked Pareto front (time, memory, cost) as aligned lines."""
        return table(self, self.front)

    def setting(self, point: Point | None = None) -> dict[str, Any]:
        """The `--set` values that reproduce a plan (the best one by default)."""
        point = point or self.best
        if point is None:
            raise UserError("no plan reaches the goal")
        return {**self.request.get("values", {}), **point.setting()}

    def estimate(self, point: Point | None = None):
        """The forward estimate of a plan (the best one by default)."""
        from costmodel import api

        point = point or self.best
        kwargs = {k: v for k, v in self.request.items() if k not in ("values", "hardware")}
        return api.estimate(self.family, hardware=point.choices.get(CARD) or self.request.get("hardware"),
                            values=self.setting(point), **kwargs)

    def explain(self, format: str = "text") -> str:
        """The derivation of the best plan's objective."""
        target = "wall_time" if self.goal.kind in ("fit", "deadline") else "total_tokens"
        return self.estimate().explain(target, format)

    def to_dict(self) -> dict[str, Any]:
        return {
            "family": self.family,
            "preset": self.preset,
            "mode": self.mode,
            "horizon": self.horizon or None,
            "goal": attrs.asdict(self.goal),
            "summary": self.summary(),
            "best": None if self.best is None else point_dict(self, self.best),
            "safe": None if self.safe is None else point_dict(self, self.safe),
            "baseline": self.baseline,
            "front": [point_dict(self, p) for p in self.front],
            "cards": [point_dict(self, p) for p in self.by_card] if len(self.cards) > 1 else [],
            "rejected": self.rejected,
            "caveats": self.caveats,
            "notes": self.notes,
            "search": {"candidates": self.found.candidates, "evaluated": self.found.evaluated,
                       "feasible": self.found.feasible, "seconds": round(self.found.seconds, 3)},
        }


def plan(
    family: str,
    *,
    hardware: str | Sequence[str] | None = None,
    goal: Goal | None = None,
    finetune: bool = False,
    free_batch: bool = False,
    gpus: Sequence[int] | None = None,
    prices: Mapping[str, Any] | None = None,
    preset: str | None = None,
    config: str | None = None,
    config_overrides: Sequence[str] = (),
    values: Mapping[str, Any] | None = None,
    plugins: Sequence[str] = (),
) -> Plan:
    """Search every recipe for the best way to reach `goal` on the given card(s)."""
    from costmodel import api

    goal = goal or Goal()
    values = dict(values or {})
    reg = api.registry(plugins)
    cards, count = _cards(reg, hardware)
    if count is not None:  # -H 8xh100-sxm: the GPU count is given with the card
        if gpus is not None or int(float(values.get("n_gpus", count))) != count:
            raise UserError(f"two different GPU counts: -H {hardware} and "
                            + ("--gpus" if gpus is not None else f"--set n_gpus={values['n_gpus']}"))
        values["n_gpus"] = count
    prices = {reg.card(k).name: v for k, v in (prices or {}).items()}
    for card in prices:
        if card not in cards:
            raise UserError(f"--price {card}: the card is not among those planned for")
    unpriced = [c for c in cards if c not in prices]
    if prices and unpriced and "gpu_hour_price" not in values and _every(hardware):
        cards = [c for c in cards if c in prices]  # -H all with prices: the cards the user priced
    kwargs = dict(preset=preset, config=config, config_overrides=tuple(config_overrides), plugins=tuple(plugins))
    base = api.scenario(family, hardware=cards[0], values=values, **kwargs)
    horizon = _horizon(base, goal, finetune)
    space, where, notes = _space(base, reg, values, finetune, free_batch, gpus, goal)
    if len(cards) < len(unpriced) + len(prices):
        notes.append(f"-H all with prices: the {len(cards)} priced card(s) compared; {len(unpriced)} without a price "
                     "left out (--set gpu_hour_price=... prices them all alike)")
    priced = "gpu_hour_price" in values or (bool(prices) and len(prices) == len(cards))
    if prices and not priced:
        missing = [c for c in cards if c not in prices]
        raise UserError(f"give a price for every card planned for, or none: no price for {missing[0]}")
    objective, maximize, constraints, rule, score = _goal(goal, priced, reg)
    if rule is not None:
        if "iters" in values:
            raise UserError("iters is given: the goal sets the number of steps; leave iters out")
        values["iters"] = 1  # placeholder: the horizon rule computes it at every point
    card_values = {c: {"gpu_hour_price": prices[c]} for c in prices}
    report = sorted(set(REPORT) | ({"cloud_cost"} if priced else set()) | {objective}
                    | {n for n in INTERVAL if n in reg.quantities})
    total = math.prod(len(v) for v in space.values()) * len(cards)
    if total > MAX_CANDIDATES:
        raise UserError(f"the plan would search {total:,} candidates; at most {MAX_CANDIDATES:,}: name fewer cards "
                        "(-H), narrow --gpus, or pin recipe options (--set optimizer=adamw)")
    found = search(
        {"family": family, "values": values, **kwargs}, space, objective=objective, maximize=maximize,
        constraints=constraints, where=where, report=report, cards=cards, card_values=card_values,
        rule=rule, score=score,
    )
    baseline = _baseline(family, cards[0], values, kwargs, rule)
    for point in (o.best for o in found.outcomes if o.best is not None):
        point.values[CHANGES] = _changes(point, (baseline or {}).get("recipe", {}))
        point.values[FEWER_TOKENS] = -point.values["total_tokens"]
    rank = _ranking(maximize)
    best = min((o.best for o in found.outcomes if o.best is not None), key=rank, default=None)
    # the front: time (or, when the goal is tokens, tokens), memory, cost, closeness to the recipe
    metrics = [FEWER_TOKENS if maximize else "wall_time", "mem_peak", "cloud_cost" if priced else "gpu_hours",
               CHANGES]
    result = Plan(
        family=base.family.name, preset=preset,
        mode="fine-tuning" if finetune else "pre-training", goal=goal, cards=cards,
        request={"hardware": cards[0] if len(cards) == 1 else None, "values": {k: v for k, v in values.items()
                                                                               if k != "iters" or rule is None},
                 **kwargs},
        found=found, best=best, baseline=baseline,
        front=found.front(metrics, key=rank), rejected=_rejected(found, reg, base, values),
        by_card=_by_card(found, rank), notes=notes, safe=_safe(found, best, rank),
        caveats=_caveats(reg, best, values, (baseline or {}).get("recipe", {})),
        accumulation=_accumulation(base),
        units={n: reg.quantities[n].unit for n in report if n in reg.quantities}, priced=priced,
        horizon=horizon,
    )
    return result


# --- the space ----------------------------------------------------------------------------------


def _cards(reg, hardware) -> tuple[list[str], int | None]:
    """The cards to plan for, and the GPU count written with them (`8xh100-sxm`), if any."""
    from costmodel.naming import split_count

    if hardware is None:
        raise UserError("give the card(s) to plan for: -H CARD[,CARD...] or -H all")
    names = [hardware] if isinstance(hardware, str) else list(hardware)
    names = [n.strip() for item in names for n in item.split(",") if n.strip()]
    if names == ["all"]:
        return sorted(reg.hardware), None
    out, counts = [], set()
    for n in names:
        count, n = split_count(n)
        if count is not None:
            counts.add(count)
        card = reg.card(n).name
        if card not in out:
            out.append(card)
    if not out:
        raise UserError("give the card(s) to plan for: -H CARD[,CARD...] or -H all")
    if len(counts) > 1:
        raise UserError(f"-H {hardware}: one GPU count for all cards (or --gpus to search counts)")
    return out, counts.pop() if counts else None


def _every(hardware) -> bool:
    """-H all."""
    names = [hardware] if isinstance(hardware, str) else list(hardware or ())
    return [n.strip() for item in names for n in item.split(",") if n.strip()] == ["all"]


def _space(base, reg, values, finetune, free_batch, gpus, goal) -> tuple[dict, list[str], list[str]]:
    """Input name -> values to search; rules that define the space; notes for the user."""
    q = reg.quantities
    space: dict[str, list[Any]] = {}
    notes: list[str] = []
    for name in RECIPE_OPTIONS:
        if name not in q or name in values:
            continue
        if q[name].kind == "bool":
            space[name] = [False, True]
        elif name == "weights":
            space[name] = list(q[name].choices) if finetune else [FULL_WEIGHTS]
        else:
            space[name] = list(q[name].choices)
    if finetune and "weights" in values and values["weights"] == FULL_WEIGHTS:
        notes.append("weights=full is pinned: fine-tuning every parameter")
    if not finetune and values.get("weights", FULL_WEIGHTS) != FULL_WEIGHTS:
        raise UserError(f"weights={values['weights']} trains adapters on a frozen model: that is fine-tuning; "
                        "add --finetune")
    if gpus is not None:
        space["n_gpus"] = sorted({int(g) for g in gpus})
    elif goal.kind == "deadline" and "n_gpus" not in values:
        space["n_gpus"] = list(GPU_COUNTS)
    n_max = max(space.get("n_gpus", [base.values.get("n_gpus", 1)]))
    if n_max <= 1 and "parallelism" in space:
        space["parallelism"] = space["parallelism"][:1]  # one GPU: nothing to shard
    if "micro_batch" not in values:
        own = int(base.values.get("micro_batch", 1))
        space["micro_batch"] = sorted(set(MICRO_BATCHES) | {own})
    where: list[str] = []
    accumulation = _accumulation(base)
    if accumulation is not None and accumulation not in values:
        tokens = _value(base, "tokens_per_iter")
        step = base.values.get(accumulation)
        if free_batch:
            space[accumulation] = [2**k for k in range(0, 8)]
            notes.append(f"free batch: {accumulation} searched over 1-128")
        elif tokens is not None and step is not None:
            options = set()
            for mb in space.get("micro_batch", [base.values.get("micro_batch", 1)]):
                k = step * base.values.get("micro_batch", 1) / mb
                if k >= 1 and float(k).is_integer():
                    options.add(int(k))
            space[accumulation] = sorted(options) or [int(step)]
            where = [f"tokens_per_iter >= {tokens!r}", f"tokens_per_iter <= {tokens!r}"]
            notes.append(f"tokens per optimizer step kept at {units.format_number(tokens * 1.0)} "
                         f"(micro_batch x {accumulation}); --free-batch to vary it")
    elif free_batch and "total_batch_size" in base.formulas and "total_batch_size" not in values:
        own = _value(base, "total_batch_size")
        space["total_batch_size"] = [own * 2.0**k for k in range(-3, 3)]
        notes.append("free batch: total_batch_size searched from 1/8 to 4 times the family's")
    return space, where, notes


def _horizon(base, goal: Goal, finetune: bool) -> str:
    """Where a fit plan's number of tokens comes from, in words. Fine-tuning has no horizon of its
    own: the scenario's is pre-training's (nanochat: 20 tokens per parameter), so a fine-tuning
    plan needs the user's (--tokens, or iters and what sets it given by the user or a config)."""
    from costmodel.scenario import Source

    if goal.kind != "fit":
        return ""
    if goal.tokens is not None:
        return "--tokens"
    given = [n for n in _horizon_inputs(base) if n in base.origins
             and base.origins[n].source in (Source.USER, Source.CONFIG)]
    if given:
        return f"your {given[0]}"
    if finetune:
        raise UserError("fine-tuning has no length of its own (the scenario's horizon is pre-training's): give "
                        "--tokens N (your data's tokens times the epochs), --days D, or --set iters=N")
    return f"preset {base.preset}'s horizon" if base.preset else "the family's default horizon"


def _horizon_inputs(base) -> list[str]:
    """`iters` and the inputs upstream of it that set the length of the run, not the batch or the
    model (nanoGPT: max_iters; nanochat: target_tokens, target_param_data_ratio)."""
    def upstream(name: str, seen: set[str]) -> set[str]:
        f = base.formulas.get(name)
        for n in (f.inputs if f is not None else ()):
            if n not in seen:
                seen.add(n)
                upstream(n, seen)
        return seen

    shape = upstream("tokens_per_iter", set()) | upstream("n_params", {"n_params"})
    return ["iters"] + sorted(n for n in upstream("iters", set()) - shape if not n.startswith("n_params"))


def _accumulation(base) -> str | None:
    """The input that sets micro-steps per optimizer step (grad_accum itself, or what the family
    derives it from, such as nanoGPT's gradient_accumulation_steps); None when the family fixes
    the tokens per step by a rule (nanochat's total_batch_size)."""
    if "grad_accum" not in base.formulas:
        return "grad_accum" if "grad_accum" in base.values else None
    f = base.formulas["grad_accum"]
    own = {"micro_batch", "seq_len", "n_gpus"}
    inputs = [n for n in f.inputs if n not in own and n not in base.formulas and n in base.values]
    return inputs[0] if len(inputs) == 1 else None


def _value(s, name: str) -> float | None:
    from costmodel import solver

    env = dict(solver.numeric_inputs(s))
    solver.forward(s, env, only=solver.needed(s, [name]))
    return env.get(name)


# --- the goal -----------------------------------------------------------------------------------


def _goal(goal: Goal, priced: bool, reg):
    """(objective, maximize, constraints, horizon rule, score)."""
    import numpy as np

    constraints = [FIT]
    if goal.kind == "fit":
        return "wall_time", False, constraints, None if goal.tokens is None else _tokens_rule(goal.tokens), None
    if goal.kind == "deadline":
        deadline = goal.deadline
        rule = _tokens_rule(goal.tokens)
        constraints.append(f"wall_time <= {deadline!r}")
        if goal.by == "cost":
            objective = "cloud_cost" if priced else "gpu_hours"
            return objective, False, constraints, rule, None
        # fewest GPUs; among them the fastest
        return "n_gpus", False, constraints, rule, lambda env: env["n_gpus"] + 0.5 * env["wall_time"] / deadline
    if goal.kind == "days":
        limit = goal.days
        rule = _time_rule(lambda env: limit, ())
        constraints.append(f"wall_time <= {limit!r}")
        return "total_tokens", True, constraints, rule, None
    if goal.kind == "budget":
        if not priced:
            raise UserError("--budget needs a GPU-hour price: --set gpu_hour_price='2 USD/h', or --price CARD=PRICE "
                            "for every card")
        # the time the budget buys: cost / (price x GPUs), in seconds (the price is per GPU-hour)
        q = reg.quantities
        seconds = (units.quantity(goal.budget, q["cloud_cost"].unit)
                   / (units.quantity(1.0, q["gpu_hour_price"].unit) * units.quantity(1.0, q["n_gpus"].unit))).m_as("s")
        rule = _time_rule(lambda env: seconds / (env["gpu_hour_price"] * env["n_gpus"]), ("gpu_hour_price", "n_gpus"))
        constraints.append(f"cloud_cost <= {goal.budget!r}")
        return "total_tokens", True, constraints, rule, None
    raise UserError(f"unknown goal {goal.kind!r}")


def _tokens_rule(tokens: float) -> Rule:
    """iters = the whole steps that train at least `tokens`."""
    import numpy as np

    return Rule(names=("iters",), reads=("tokens_per_iter",),
                compute=lambda env: {"iters": np.ceil(tokens / env["tokens_per_iter"] - 1e-9)})


def _time_rule(limit, reads: tuple[str, ...]) -> Rule:
    """iters = the whole steps that fit in the time limit after the run's fixed costs."""
    import numpy as np

    def compute(env):
        fixed = env["wall_time"] - env["train_time"]  # compilation, evaluation, checkpoints (at 1 step)
        return {"iters": np.maximum(np.floor((limit(env) - fixed) / env["iter_time"]), 0.0)}

    def refine(env):
        """Fewer steps where the run overshoots: costs that grow with the steps (an evaluation every
        eval_interval steps) were counted at 1 step. Each step taken off saves at least its iter_time
        (and evaluations only fall), so one correction lands within the limit."""
        over = env["wall_time"] - limit(env)
        cut = np.where(over > 0, np.ceil(over / env["iter_time"]), 0.0)
        return {"iters": np.maximum(env["iters"] - cut, 0.0)}

    return Rule(names=("iters",), reads=("wall_time", "train_time", "iter_time", *reads), compute=compute,
                refine=refine)


# --- the answer ---------------------------------------------------------------------------------


def _baseline(family, card, values, kwargs, rule) -> dict[str, Any] | None:
    """The scenario as given (the family's standard recipe): does it fit?"""
    from costmodel import api

    vals = dict(values)
    if rule is not None:
        vals.pop("iters", None)
    try:
        r = api.estimate(family, hardware=card, values=vals, **kwargs)
    except UserError as exc:
        return {"fits": False, "error": str(exc)}
    mem, has = r.numbers.get("mem_peak"), r.input_numbers.get("gpu_memory_usable")
    if mem is None or has is None:
        return None
    q = r.evaluation.scenario.registry.quantities
    recipe = {n: r.input_numbers[n] for n in RECIPE_OPTIONS if n in r.input_numbers and n in q}
    return {"fits": bool(mem <= has), "mem_peak": mem, "gpu_memory_usable": has, "recipe": recipe,
            "micro_batch": r.input_numbers.get("micro_batch"), "hardware": card}


def _rejected(found: SearchResult, reg, base, pinned: Mapping[str, Any] = {}) -> list[dict[str, str]]:
    """One line per choice value that no feasible recipe has: why it fails."""
    out = []
    names = [n for n in found.outcomes[0].choices if n != CARD] if found.outcomes else []
    for name in names:
        groups: dict[Any, list] = {}  # value -> its outcomes, in the order of the first
        for o in found.outcomes:
            groups.setdefault(o.choices[name], []).append(o)
        for value, group in groups.items():
            if len(group) == len(found.outcomes) and len(names) > 0 and _all_same(found, name):
                continue  # not a choice here: one value only
            if any(o.feasible for o in group):
                continue
            recipe, label, (verb, reason, nearest) = f"{name}={_show_choice(value)}", _label(reg, name, value), _why(group)
            reason = _unmodelled(reason, pinned)
            out.append({"recipe": recipe, "label": label, "reason": reason,
                        "line": f"no recipe with {recipe} ({label}) {verb}: {reason}",
                        "nearest": None if nearest is None else {
                            "hardware": nearest.choices.get(CARD), "values": nearest.setting()}})
    return out


def _all_same(found, name) -> bool:
    return len({o.choices[name] for o in found.outcomes}) == 1


def _label(reg, name: str, value: Any) -> str:
    recipe = reg.recipes.get(name)
    if recipe is not None:
        for c in recipe.choices:
            if c.name == value:
                return c.doc
    q = reg.quantities[name]
    return f"{q.doc}: {_show_choice(value)}"


def _unmodelled(reason: str, pinned: Mapping[str, Any]) -> str:
    """'cannot compute energy: no value for offload_time; give it ...' (a choice that no formula
    models together with the rest of the recipe) in the planner's words."""
    import re

    m = re.match(r"cannot compute \w+: no value for (\w+)", reason)
    if m is None:
        return reason
    fixed = [f"{k}={_show_choice(v)}" for k, v in pinned.items() if k in RECIPE_OPTIONS]
    return (f"no formula gives {m[1]} for it with the rest of the recipe"
            + (f" (pinned: {', '.join(fixed)})" if fixed else ""))


def _why(group) -> tuple[str, str, Point | None]:
    """(verb, reason, the nearest point) for outcomes none of which is feasible."""
    closest = [o for o in group if o.closest is not None]
    if not closest:
        reasons = [o.invalid for o in group if o.invalid]
        return "is valid", reasons[0] if reasons else "no valid configuration", None
    verb, reason = _reason(closest)
    return verb, reason, min(closest, key=lambda o: o.closest.values.get("__excess__", math.inf)).closest


def _reason(closest) -> tuple[str, str]:
    nearest = min(closest, key=lambda o: o.closest.values.get("__excess__", math.inf))
    p, broken = nearest.closest, nearest.broken
    v = p.values
    card = p.choices.get(CARD)
    on = f" on the {card}" if card else ""
    if broken == FIT:
        static = sum(v.get(n, 0.0) for n in ("mem_weights", "mem_grads", "mem_optimizer_resident"))
        has = v["gpu_memory_usable"]
        if static > has:
            return "fits", (f"weights, gradients and optimizer states alone need {_bytes(static)}; "
                            f"{_bytes(has)} usable{on}")
        mb = int(v.get("micro_batch", 1))
        return "fits", f"the smallest peak is {_bytes(v['mem_peak'])} (micro_batch {mb}); {_bytes(has)} usable{on}"
    if broken is not None and broken.startswith("wall_time"):
        return "meets the time", f"the fastest that fits takes {_time(v['wall_time'])}{on}"
    if broken is not None and broken.startswith("cloud_cost"):
        return "meets the budget", f"the cheapest that fits costs {units.format_quantity(v['cloud_cost'], 'USD')}{on}"
    return "is valid", f"breaks {broken}{on}" if broken else "no valid configuration"


def _caveats(reg, best: Point | None, pinned: Mapping[str, Any], standard: Mapping[str, Any]) -> list[str]:
    """What the chosen recipe costs besides time and memory: the caveats its choices declare
    (`Choice.caveats`, where each plugin puts them), each with its source."""
    from costmodel.programs import Condition

    if best is None:
        return []
    chosen = _Chosen({**{n: r.default for n, r in reg.recipes.items()}, **standard, **pinned, **best.choices})
    out = []
    for name, recipe in reg.recipes.items():
        for choice in recipe.choices:
            if choice.name != chosen.get(name):
                continue
            for c in choice.caveats:
                if c.condition is None or Condition(c.condition).holds(chosen):
                    out.append(f"{c.text}; source: {c.source}")
    return out


class _Chosen(dict):
    """A recipe's choices; a name no loaded plugin declares is not chosen (None)."""

    def __missing__(self, key):
        return None


def _ranking(maximize: bool):
    """Best first: the objective; on a tie, fewer changes to the scenario's own recipe (the model
    sees no difference, the user knows that recipe; counted into `CHANGES` beforehand), then the
    smaller peak."""
    sign = -1.0 if maximize else 1.0

    def key(p: Point):
        return (sign * p.objective, p.values[CHANGES], p.values.get("mem_peak", 0.0))

    return key


def _safe(found: SearchResult, best: Point | None, rank) -> Point | None:
    """When the best plan's peak is borderline (its 80 % interval passes the usable memory), the
    best of the groups' best plans whose interval stays inside it."""
    def inside(p: Point) -> bool:
        return p.values.get("mem_peak_high", 0.0) <= p.values["gpu_memory_usable"]

    if best is None or inside(best):
        return None
    return min((o.best for o in found.outcomes if o.best is not None and inside(o.best)), key=rank, default=None)


def _changes(p: Point, standard: Mapping[str, Any]) -> int:
    return sum(1 for k, v in p.choices.items() if k != CARD and standard.get(k, v) != v)


def _by_card(found: SearchResult, rank) -> list[Point]:
    best: dict[str, Point] = {}
    for o in found.outcomes:
        card = o.choices.get(CARD)
        if o.best is None or card is None:
            continue
        if card not in best or rank(o.best) < rank(best[card]):
            best[card] = o.best
    return sorted(best.values(), key=rank)

