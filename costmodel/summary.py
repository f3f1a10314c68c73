"""What a user reads first: one line naming the scenario, the feasibility verdict, a short summary.

- `scenario_line`: family, model and size, version, count x card, pre-training or fine-tuning, and
  the recipe options that differ from the family's defaults.
- `feasibility`: when the step does not fit in the card's usable memory, one sentence with what is
  needed, what is usable, the shortfall and the largest item (it goes to stderr and to `warnings`).
- `TOPICS`: the summary `estimate` prints, grouped by topic; a name not computed in a scenario is
  left out.
- error bars: every time and memory answer carries its 80 % interval from the validation runs
  (costmodel_time.intervals): `with_interval` ("37.2 h (80 % interval 31-45 h, from 24 runs)"),
  `time_line` (the headline after the memory verdict) and `memory_line` (fits / borderline / does
  not fit, with the margin). A value with an interval prints with 3 significant digits, its ends
  with 2 when the interval is wide.

Everything here reads the shared vocabulary (docs/usage.md), never a family's own names.
"""

from __future__ import annotations

from typing import Any

# The summary, by topic: the quantities a user asks about first (seeds: tokens per iteration,
# parameters, FLOPs, seconds per iteration, hours, VRAM, electricity, cost).
TOPICS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("model", ("n_params", "n_params_trainable", "flops_per_token")),
    ("tokens and FLOPs", ("tokens_per_iter", "iters", "total_tokens", "model_flops")),
    ("memory", ("mem_peak", "gpu_memory_usable", "mem_free", "mem_shortfall", "fits")),
    ("time", ("iter_time", "tokens_per_second", "mfu", "wall_time")),
    ("energy and money", ("gpu_power", "energy", "energy_cost", "gpu_hours", "cloud_cost")),
)

# the answers that carry an interval: (lower end, upper end, how many runs it comes from), all computed by
# costmodel_time.intervals; LEVEL_TEXT is its LEVEL (tests/test_time.py checks they agree)
INTERVALS = {
    "iter_time": ("iter_time_low", "iter_time_high", "time_interval_runs"),
    "train_time": ("train_time_low", "train_time_high", "time_interval_runs"),
    "wall_time": ("wall_time_low", "wall_time_high", "time_interval_runs"),
    "mem_peak": ("mem_peak_low", "mem_peak_high", "memory_interval_runs"),
    # what scales with the run's time: GPU-hours, energy and what they cost
    **{name: (f"{name}_low", f"{name}_high", "time_interval_runs")
       for name in ("gpu_hours", "energy", "energy_cost", "cloud_cost")},
}
LEVEL_TEXT = "80 %"
# given as an input (by the user, a family or a solved given), these replace the efficiency model: the time is
# then the user's, and the validation runs' interval says nothing about it
TIME_GIVENS = ("mfu", "compute_hfu", "hfu", "iter_time", "train_time", "wall_time")
WIDE = 0.2  # an interval wider than this share of the value prints its ends with 2 significant digits

# the memory items a shortfall is explained by, largest first
MEMORY_ITEMS = ("mem_weights", "mem_frozen", "mem_grads", "mem_optimizer", "mem_activations",
                "mem_logits", "mem_overhead")

# recipe options that are bookkeeping rather than a user's choice of recipe
_NOT_RECIPE = ("layout", "version", "currency")


def scenario_line(result) -> str:
    """'nanochat d32 (1.879B param, v0) on 1x RTX 4070: pre-training; recipe: optimizer=adamw8bit'."""
    s = result.evaluation.scenario
    values = {**result.input_numbers, **result.evaluation.env}
    model = s.family.name
    label = s.preset or (_stem(s.config) if s.config else "")
    if label:
        model += f" {label}"
    details = []
    if "n_params" in values:
        details.append(_fmt(values["n_params"], "param"))
    if "version" in s.values:
        details.append(str(s.values["version"]))
    if details:
        model += f" ({', '.join(details)})"
    count = int(values.get("n_gpus", 1))
    where = f"on {count}x {s.hardware.name}" if s.hardware else f"on {count} GPU(s), no card given (-H)"
    line = f"{model} {where}: {training_kind(result)}"
    recipe = changed_recipe(s)
    if recipe:
        line += "; recipe: " + ", ".join(f"{k}={v}" for k, v in recipe)
    return line


def scenario_label(s) -> str:
    """'nanochat d20 (v0) on 8x H100 SXM': a scenario before it is evaluated (plot titles)."""
    label = s.family.name + (f" {s.preset}" if s.preset else (f" {_stem(s.config)}" if s.config else ""))
    if "version" in s.values:
        label += f" ({s.values['version']})"
    card = s.hardware.name if s.hardware else "no card"
    return f"{label} on {int(s.values.get('n_gpus', 1))}x {card}"


def training_kind(result) -> str:
    """'pre-training', or 'fine-tuning (LoRA on frozen nf4 weights: trains 9.437M of 1.879B param)'."""
    s = result.evaluation.scenario
    values = {**result.input_numbers, **result.evaluation.env}
    trainable, total = values.get("n_params_trainable"), values.get("n_params")
    if trainable is None or total is None or trainable >= total:
        return "pre-training"
    chosen = s.values.get("weights")
    how = f"weights={chosen}: a frozen base with trained adapters; " if chosen is not None else ""
    return f"fine-tuning ({how}trains {_fmt(trainable, 'param')} of {_fmt(total, 'param')})"


def changed_recipe(s) -> list[tuple[str, str]]:
    """The recipe options whose value differs from what the family runs by default."""
    q = s.registry.quantities
    out = []
    for name, value in sorted(s.choices.items()):
        if name in _NOT_RECIPE:
            continue
        default = s.family.defaults.get(name)
        if default is None:
            recipe = s.registry.recipes.get(name)
            default = recipe.default if recipe is not None else q[name].default
        if default is None:
            continue
        if q[name].kind == "bool":
            same = bool(value) == _truthy(default)
            shown = "true" if value else "false"
        else:
            same = str(value) == str(default)
            shown = str(value)
        if not same:
            out.append((name, shown))
    return out


def feasibility(numbers: dict[str, float], unit) -> str | None:
    """The sentence that says a step does not fit, or None when it fits (or nobody computed it)."""
    if numbers.get("fits", 1) >= 1 or "mem_peak" not in numbers:
        return None
    need = numbers["mem_peak"]
    usable = numbers.get("gpu_memory_usable")
    text = f"DOES NOT FIT: one GPU needs mem_peak = {_fmt(need, unit('mem_peak'))}"
    if usable is not None:
        text += (f", the card has {_fmt(usable, unit('mem_peak'))} usable, short by "
                 f"{_fmt(need - usable, unit('mem_peak'))}")
    return text + _largest_item(numbers, unit) + "; " + FIT_HINT


def _largest_item(numbers: dict[str, float], unit) -> str:
    """'; the largest item is mem_activations = 39.47 GiB', or '' when no memory item was computed."""
    items = sorted(((numbers[n], n) for n in MEMORY_ITEMS if n in numbers), reverse=True)
    if not items:
        return ""
    value, name = items[0]
    return f"; the largest item is {name} = {_fmt(value, unit(name))}"


FIT_HINT = ("--set fits=1 picks the largest micro-batch that fits; `costmodel plan` searches the recipes "
            "(optimizer, checkpointing, precision, offload) for one that fits")


def communication(numbers: dict[str, float], unit) -> str | None:
    """The sentence that says fewer data-parallel GPUs would be faster, or None.

    A step on n GPUs takes C + A(n): C the computation (grad_accum micro-steps, then the optimizer
    update O that every GPU repeats), A(n) = (1 - comm_overlap) x 2 (n-1)/n x bytes / bandwidth the
    exposed ring all-reduce. From n/2 GPUs to n, A grows by (1 - comm_overlap) x allreduce_time /
    (n - 1), while the computation shrinks by C - O (half the micro-steps each), or not at all for
    the same batch per GPU: fewer tokens per second exactly when the growth exceeds C - O."""
    gpus, allreduce, compute = (numbers.get(n) for n in ("n_gpus", "allreduce_time", "compute_time"))
    if not gpus or gpus < 2 or allreduce is None or compute is None:
        return None
    growth = (1 - numbers.get("comm_overlap", 0.0)) * allreduce / (gpus - 1)
    shrink = compute - numbers.get("optimizer_time", 0.0)
    if growth <= shrink:
        return None
    per_step = unit("allreduce_time")
    return (f"communication dominates: fewer GPUs would train faster here (for the same batch, from half as many to "
            f"{gpus:g} GPUs the exposed gradient all-reduce grows by {_fmt(growth, per_step)}, the computation shrinks by "
            f"{_fmt(shrink, per_step)}); a larger batch per GPU or a faster interconnect helps")


def memory_line(numbers: dict[str, float], unit) -> str | None:
    """'fits: one GPU needs 10.3 GiB of 12.0 GiB usable (1.73 GiB free; 80 % interval of the peak
    9.5-11 GiB, from 4 runs)'; 'borderline: ...' when the interval straddles the card's memory; the
    DOES NOT FIT sentence when even its low end does not fit."""
    if "mem_peak" not in numbers or "gpu_memory_usable" not in numbers:
        return feasibility(numbers, unit)
    need, usable = numbers["mem_peak"], numbers["gpu_memory_usable"]
    u = unit("mem_peak")
    spread = interval_text("mem_peak", numbers, unit)
    of_peak = f"; {spread.replace(' interval ', ' interval of the peak ', 1)}" if spread else ""
    digits = 3 if spread else 4
    need_t, usable_t = _fmt(need, u, digits), _fmt(usable, u, digits)
    margin = (f"{_fmt(usable - need, u, digits)} free" if need <= usable
              else f"short by {_fmt(need - usable, u, digits)}")
    verdict = numbers.get("memory_verdict")
    if verdict is None:
        verdict = 2 if feasibility(numbers, unit) is None else 0
    if feasibility(numbers, unit) is not None or int(verdict) == 0:
        largest = _largest_item(numbers, unit)
        low_end = ": borderline, its low end fits" if int(verdict) == 1 else ""
        return (f"DOES NOT FIT: one GPU needs {need_t}, the card has {usable_t} usable "
                f"({margin}{of_peak}{low_end}){largest}; {FIT_HINT}")
    if int(verdict) == 1:
        return (f"borderline: one GPU needs {need_t} of {usable_t} usable ({margin}{of_peak}): fits at the estimate, "
                "not at the interval's high end")
    return f"fits: one GPU needs {need_t} of {usable_t} usable ({margin}{of_peak})"


def model_intervals(numbers: dict[str, Any], inputs) -> dict[str, Any]:
    """`numbers` without the time intervals when an input in TIME_GIVENS fixes the time (a given mfu,
    a given iter_time): the interval is the efficiency model's, not the user's."""
    if not any(name in inputs for name in TIME_GIVENS):
        return numbers
    dropped = {ends[0] for name, ends in INTERVALS.items() if ends[2] == "time_interval_runs"}
    dropped |= {ends[1] for name, ends in INTERVALS.items() if ends[2] == "time_interval_runs"}
    dropped |= {"time_interval_low", "time_interval_high", "time_interval_runs"}
    return {k: v for k, v in numbers.items() if k not in dropped}


def interval_text(name: str, numbers: dict[str, float], unit) -> str | None:
    """'80 % interval 31-45 h, from 24 runs' in the unit the value of `name` prints in; None when
    `name` carries no interval in this scenario."""
    ends = INTERVALS.get(name)
    if ends is None or name not in numbers or not all(n in numbers for n in ends):
        return None
    value, low, high, runs = numbers[name], numbers[ends[0]], numbers[ends[1]], numbers[ends[2]]
    return f"{LEVEL_TEXT} interval {_range(value, low, high, unit(name))}, from {int(runs)} runs"


def with_interval(name: str, numbers: dict[str, float], unit) -> str:
    """'37.2 h (80 % interval 31-45 h, from 24 runs)', or the value alone (4 digits) without one."""
    spread = interval_text(name, numbers, unit)
    if spread is None:
        return _fmt(numbers[name], unit(name))
    return f"{_fmt(numbers[name], unit(name), 3)} ({spread})"


def answer_text(name: str, numbers: dict[str, float], unit, givens=()) -> str:
    """The answer of `solve`: with its own interval (a time, a memory peak), or, for a count solved
    for a given time, the count that fits the time's interval."""
    if name in INTERVALS:
        return with_interval(name, numbers, unit)
    spread = given_time_interval(name, numbers, unit, givens)
    if spread is None:
        return _fmt(numbers[name], unit(name))
    return f"{_fmt(numbers[name], unit(name), 3)} ({spread})"


def time_line(numbers: dict[str, float], unit, where: str) -> str | None:
    """'time: 90.7 day for 294.9B token on 1x RTX 4070 (80 % interval 75-110 day, from 24 runs);
    13.1 s/iteration': the run's time in the first lines of `estimate`."""
    if "wall_time" not in numbers:
        return None
    spread = interval_text("wall_time", numbers, unit)
    text = f"time: {_fmt(numbers['wall_time'], unit('wall_time'), 3 if spread else 4)}"
    if numbers.get("fits", 1) < 1:  # a step that does not fit does not run at all: the time is hypothetical
        text = "time if it fit: " + text.removeprefix("time: ")
    if "total_tokens" in numbers:
        text += f" for {_fmt(numbers['total_tokens'], unit('total_tokens'))}"
    text += f" {where}" if where else ""
    text += f" ({spread})" if spread else ""
    if "iter_time" in numbers:
        text += f"; {_fmt(numbers['iter_time'], unit('iter_time'), 3 if spread else 4)}"
    return text


def _display_unit(value: float, unit_text: str) -> tuple[float | None, str]:
    """The scale and unit suffix `value` prints with (units.format_quantity's choice) for times, sizes
    and counts: (3600, ' h'), (2**30, ' GiB'), (1e9, 'B token'); (None, '') for anything else."""
    import re

    from costmodel import units

    text = units.format_quantity(float(value), unit_text, 3)
    match = re.match(r"^-?[\d,.]+(e[-+]?\d+)?([kMBT]?)( .*)?$", text)
    if match is None or match.group(1):
        return None, ""
    letter, rest = match.group(2), match.group(3) or ""
    if letter:
        return {"k": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}[letter], letter + rest
    head, canonical = rest.strip().split("/")[0], unit_text.split("/")[0]
    if canonical == "s":
        scales = {"ms": 1e-3, "s": 1.0, "min": 60.0, "h": 3600.0, "day": 86400.0}
    elif canonical == "byte":
        scales = {"B": 1.0, "KiB": 2.0**10, "MiB": 2.0**20, "GiB": 2.0**30, "TiB": 2.0**40, "PiB": 2.0**50}
    else:  # printed in its own unit (h, kWh, USD)
        scales = {canonical: 1.0}
    if head not in scales:
        return None, ""
    return scales[head], rest


def _range(value: float, low: float, high: float, unit_text: str) -> str:
    """'31-45 h' in the unit `value` prints with; 2 significant digits when the range is wide."""
    from costmodel import units

    digits = 2 if value and (high - low) / abs(value) > WIDE else 3
    scale, suffix = _display_unit(value, unit_text)
    if scale is None:
        return f"{_fmt(low, unit_text, digits)} to {_fmt(high, unit_text, digits)}"
    return f"{units.format_number(low / scale, digits)}-{units.format_number(high / scale, digits)}{suffix}"


def given_time_interval(name: str, numbers: dict[str, float], unit, givens) -> str | None:
    """A count solved for a given time (total_tokens for wall_time = 30 day): the time's interval turned
    around: if the run takes r times the estimate, r in [low, high], only 1/r of the count fits."""
    timed = [g for g in givens if g in INTERVALS and g != "mem_peak"]
    needed = ("time_interval_low", "time_interval_high", "time_interval_runs")
    if not timed or name not in numbers or not all(n in numbers for n in needed):
        return None
    if unit(name).split("/")[0] not in ("token", "iteration", "FLOP"):
        return None
    value = numbers[name]
    low, high = value / numbers["time_interval_high"], value / numbers["time_interval_low"]
    return (f"{LEVEL_TEXT} interval {_range(value, low, high, unit(name))} in the given {timed[0]}, "
            f"from {int(numbers['time_interval_runs'])} runs")


CURRENCIES = ("EUR", "GBP", "JPY", "CHF", "CNY", "INR", "KRW", "CAD", "AUD", "SEK", "TWD")


def currency_of(request_values: dict[str, Any]) -> str | None:
    """The currency a user's prices are written in ('0.30 EUR/kWh' -> 'EUR'), or None (US dollars)."""
    import re

    for value in request_values.values():
        for code in CURRENCIES:
            if isinstance(value, str) and re.search(rf"\b{code}\b", value, re.IGNORECASE):
                return code
    return None


def in_currency(value_usd: float, code: str) -> str:
    from costmodel import units

    return f"{units.format_number(units.quantity(value_usd, 'USD').to(code).magnitude)} {code}"


def summary_names(numbers: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """The topics with the names computed in this scenario. A cloud run (a GPU-hour price given)
    shows what the rental costs; its price already pays for the power, so no electricity bill."""
    out = []
    for title, names in TOPICS:
        present = [n for n in names if n in numbers]
        if "cloud_cost" in present and "energy_cost" in present:
            present.remove("energy_cost")
        if "n_params_trainable" in present and numbers.get("n_params_trainable") == numbers.get("n_params"):
            present.remove("n_params_trainable")
        if present:
            out.append((title, present))
    return out


def _fmt(value: float, unit: str, digits: int = 4) -> str:
    from costmodel import units

    return units.format_quantity(float(value), unit, digits)


def _stem(path: str) -> str:
    from pathlib import Path

    return Path(path).stem


def _truthy(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes", "on")
    return bool(value)
