"""The names people use: a count with the card (`8xh100-sxm`), a family's own names as aliases.

A request reaches `compose` in costmodel's names. Before that:
- `-H 8xh100-sxm` (also `8 x H100 SXM`, `8×h100`) is the card and `n_gpus = 8`; `--gpus 8` is the same
  count. Two different counts are refused.
- `--set KEY=VALUE` where KEY is one of the family's own names (nanoGPT's train.py keys such as
  batch_size or max_iters, nanochat's base_train flags such as device_batch_size) goes to the family's
  config reader as the flag `--KEY=VALUE`, which maps it to costmodel's names and checks its type.
- A family name and costmodel's name for the same input, given with different values, are refused;
  so is a value given for a derived quantity that contradicts the inputs given for its default rule
  (grad_accum = 4 with gradient_accumulation_steps = 8 on one GPU).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from costmodel.declarations import Hardware, Value
from costmodel.errors import UserError

_COUNT = re.compile(r"^\s*(\d+)\s*(?:x|X|\u00d7|\*)\s*(\S.*?)\s*$")


def split_count(hardware: str | Hardware | None) -> tuple[int | None, str | Hardware | None]:
    """'8xh100-sxm' -> (8, 'h100-sxm'); anything else -> (None, unchanged)."""
    if not isinstance(hardware, str):
        return None, hardware
    m = _COUNT.match(hardware)
    if not m:
        return None, hardware
    count = int(m.group(1))
    if count < 1:
        raise UserError(f"--hardware {hardware!r}: the count of GPUs must be at least 1")
    return count, m.group(2)


def gpu_count(values: dict[str, Value], *counts: tuple[str, int | None]) -> dict[str, Value]:
    """`values` with n_gpus set from `-H Nx...` or `--gpus N`; different counts are refused."""
    given = {label: n for label, n in counts if n is not None}
    if "n_gpus" in values:
        given["--set n_gpus"] = values["n_gpus"]
    distinct = {_as_int(v) for v in given.values()}
    if len(distinct) > 1:
        shown = ", ".join(f"{label} = {v}" for label, v in given.items())
        raise UserError(f"two different GPU counts: {shown}")
    out = dict(values)
    if given and "n_gpus" not in out:
        out["n_gpus"] = next(iter(given.values()))
    return out


def _as_int(value: Value) -> Any:
    try:
        return int(float(str(value)))
    except (ValueError, OverflowError):  # not a number, or not finite: parse_value names it
        return value


def family_names(quantities: Mapping[str, Any], config_keys, values: Mapping[str, Value]
                 ) -> tuple[dict[str, Value], list[str]]:
    """Split the user's values into costmodel's names and the family's own (as `--KEY=VALUE` flags)."""
    canonical: dict[str, Value] = {}
    flags: list[str] = []
    for name, value in values.items():
        if name not in quantities and name in config_keys:
            flags.append(f"--{name}={value}")
        else:
            canonical[name] = value
    return canonical, flags


def refuse_contradictions(registry, values: Mapping[str, Value], mapped: Mapping[str, Value],
                          flags: list[str]) -> None:
    """An input given under both names (costmodel's and the family's own) with different values."""
    for name, value in mapped.items():
        if name in values and not _same(registry, name, values[name], value):
            raise UserError(
                f"{name} = {values[name]} contradicts {' '.join(flags)}: both set {name}; give one"
            )


def refuse_rule_contradictions(scenario, recompose) -> None:
    """A user-given derived quantity whose default rule reads an input the user also gave that
    nothing else reads, and the rule gives another value: `grad_accum = 4` with
    `gradient_accumulation_steps = 8` on one GPU."""
    from costmodel import solver

    registry = scenario.registry
    given = scenario.request.get("values", {})
    renamed = {f.target for formulas in registry.family_formulas.values() for f in formulas
               if f.formula.overridable}  # the only names such a rule can define
    for name in sorted(scenario.pinned):
        if name in scenario.formulas or name not in given or name not in renamed:
            continue
        other = recompose({k: v for k, v in given.items() if k != name})
        rule = other.formulas.get(name)
        if rule is None or not rule.formula.overridable or rule.family is None:
            continue  # only a family's own rules rename its settings
        # an input that only this rule reads is the same setting under another name
        # (gradient_accumulation_steps for grad_accum); one read elsewhere too is a setting of its
        # own that the given value takes precedence over (total_batch_size for nanochat's iters)
        readers = {n: [f for f in other.formulas.values() if n in f.inputs] for n in rule.inputs}
        read = sorted(n for n in rule.inputs if n in scenario.pinned and len(readers[n]) == 1)
        if not read:
            continue
        env = solver.numeric_inputs(other)
        solver.forward(other, env, only=solver.needed(other, [name]))
        if name in env and not _close(env[name], scenario.values[name]):
            unit = registry.quantities[name].unit
            from costmodel import units

            shown = ", ".join(f"{n} = {given[n]}" for n in read)
            raise UserError(
                f"{name} = {given[name]} contradicts {shown}, which give {name} = "
                f"{units.format_quantity(env[name], unit)} ({rule.formula.doc}); give one of them"
            )


def same_setting_rules(scenario) -> frozenset[str]:
    """Default rules that only rename a setting the user gave (nanoGPT's iters = max_iters + 1 when
    max_iters is given): the solver must not free them, or it would overrule the user's value."""
    out = set()
    for name, f in scenario.formulas.items():
        if not f.formula.overridable or f.family is None:
            continue
        for n in f.inputs:
            if n in scenario.pinned and sum(n in g.inputs for g in scenario.formulas.values()) == 1:
                out.add(name)
    return frozenset(out)


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-9 * max(abs(a), abs(b), 1.0)


def _same(registry, name: str, a: Value, b: Value) -> bool:
    try:
        return registry.parse_value(name, a) == registry.parse_value(name, b)
    except UserError:
        return False
