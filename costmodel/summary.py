"""What a user reads first: one line naming the scenario, the feasibility verdict, a short summary.

- `scenario_line`: family, model and size, version, count x card, pre-training or fine-tuning, and
  the recipe options that differ from the family's defaults.
- `feasibility`: when the step does not fit in the card's usable memory, one sentence with what is
  needed, what is usable, the shortfall and the largest item (it goes to stderr and to `warnings`).
- `TOPICS`: the summary `estimate` prints, grouped by topic; a name not computed in a scenario is
  left out.

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
    items = sorted(((numbers[n], n) for n in MEMORY_ITEMS if n in numbers), reverse=True)
    text = f"DOES NOT FIT: one GPU needs mem_peak = {_fmt(need, unit('mem_peak'))}"
    if usable is not None:
        text += (f", the card has {_fmt(usable, unit('mem_peak'))} usable, short by "
                 f"{_fmt(need - usable, unit('mem_peak'))}")
    if items:
        value, name = items[0]
        text += f"; the largest item is {name} = {_fmt(value, unit(name))}"
    return text + "; " + FIT_HINT


FIT_HINT = ("--set fits=1 picks the largest micro-batch that fits; `costmodel plan` searches the recipes "
            "(optimizer, checkpointing, precision, offload) for one that fits")


def memory_line(numbers: dict[str, float], unit) -> str | None:
    """'fits: needs 10.26 GiB of 11.99 GiB usable (1.730 GiB free)', or the DOES NOT FIT sentence."""
    if "mem_peak" not in numbers or "gpu_memory_usable" not in numbers:
        return feasibility(numbers, unit)
    need, usable = numbers["mem_peak"], numbers["gpu_memory_usable"]
    u = unit("mem_peak")
    if feasibility(numbers, unit) is not None:
        items = sorted(((numbers[n], n) for n in MEMORY_ITEMS if n in numbers), reverse=True)
        largest = f"; the largest item is {items[0][1]} = {_fmt(items[0][0], unit(items[0][1]))}" if items else ""
        return (f"DOES NOT FIT: one GPU needs {_fmt(need, u)}, the card has {_fmt(usable, u)} usable "
                f"(short by {_fmt(need - usable, u)}){largest}; {FIT_HINT}")
    return f"fits: one GPU needs {_fmt(need, u)} of {_fmt(usable, u)} usable ({_fmt(usable - need, u)} free)"


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


def _fmt(value: float, unit: str) -> str:
    from costmodel import units

    return units.format_quantity(float(value), unit)


def _stem(path: str) -> str:
    from pathlib import Path

    return Path(path).stem


def _truthy(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes", "on")
    return bool(value)
