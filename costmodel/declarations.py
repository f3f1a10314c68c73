"""What plugins declare: quantities, formulas, checks, recipes, families and hardware.

Every record is frozen and keyword-only. Records hold text (expressions, units, values with units)
exactly as a plugin or a TOML file wrote it; the registry parses and checks them when they are
registered (`costmodel.registry`). Nothing here imports sympy or pint.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Union

import attrs

Value = Union[str, int, float, bool]
KINDS = ("real", "integer", "bool", "choice")


def _nonempty(instance, attribute, value) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{type(instance).__name__}.{attribute.name} must be a non-empty string")


def _identifier(instance, attribute, value) -> None:
    if not isinstance(value, str) or not value.isidentifier():
        raise ValueError(f"{type(instance).__name__}.{attribute.name} must be an identifier, got {value!r}")


def _kind(instance, attribute, value) -> None:
    if value not in KINDS:
        raise ValueError(f"Quantity {instance.name!r}: kind must be one of {KINDS}, got {value!r}")


def _frozen_dict(value: Mapping | None) -> dict:
    return dict(value or {})


@attrs.frozen(kw_only=True)
class Quantity:
    """A named quantity with its canonical unit; declared once, referred to by name everywhere."""

    name: str = attrs.field(validator=_identifier)
    doc: str = attrs.field(validator=_nonempty)
    unit: str = attrs.field(default="1", metadata={"help": "canonical unit (pint syntax)"})
    kind: str = attrs.field(default="real", validator=_kind)
    choices: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    minimum: float | None = attrs.field(default=0.0, metadata={"help": "inclusive lower bound"})
    positive: bool = attrs.field(default=False, metadata={"help": "strictly greater than 0"})
    maximum: float | None = attrs.field(
        default=None, metadata={"help": "hard upper bound (mfu: 1 = the card's whole peak)"}
    )
    limit: str | None = attrs.field(
        default=None,
        metadata={"help": "a quantity of the same unit this one cannot exceed in a scenario, a physical "
                          "bound (gpu_power: board_power); `costmodel check` calls a claim above it "
                          "impossible"},
    )
    plausible: tuple[float, float] | None = attrs.field(
        default=None,
        converter=lambda v: None if v is None else (float(v[0]), float(v[1])),
        metadata={"help": "documented range; `costmodel check` calls values outside implausible, and "
                          "varies such an assumption to test a claim about what depends on it"},
    )
    tolerance: float | None = attrs.field(
        default=None,
        metadata={"help": "relative accuracy of the model for this quantity: a claim within it is "
                          "consistent (None: exact arithmetic, 1%)"},
    )
    default: Value | None = attrs.field(
        default=None, metadata={"help": "value used when no family, preset or user gives one"}
    )
    free_rank: int | None = attrs.field(
        default=None,
        metadata={"help": "when a result is given, inputs with a lower rank are freed first "
                          "(iters 0: a given wall time means fewer or more steps)"},
    )
    groups: tuple[str, ...] = attrs.field(
        default=(), converter=tuple,
        metadata={"help": "the standard views that show it, in declaration order: 'memory part' (a "
                          "slice of the memory bars), 'memory limit' (the line over them), 'time and "
                          "cost' (a panel across cards), 'card summary' (a column of `costmodel hardware`)"},
    )
    feature: bool = attrs.field(
        default=False,
        metadata={"help": "an architecture feature (docs/plugins.md): a family declares it, and a "
                          "missing one is named when the memory or time model needs it"},
    )


@attrs.frozen(kw_only=True)
class Formula:
    """`target = expr`, with a citation. `condition` selects it by recipe choices."""

    target: str = attrs.field(validator=_identifier)
    expr: str = attrs.field(validator=_nonempty)
    doc: str = attrs.field(validator=_nonempty)
    source: str = attrs.field(validator=_nonempty)
    assumptions: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    condition: str | None = None
    overridable: bool = attrs.field(
        default=False, metadata={"help": "a default rule: a user-given target replaces it"}
    )


@attrs.frozen(kw_only=True)
class Check:
    """A validity rule of a family: `expr` must hold, else `message` is the user's error."""

    expr: str = attrs.field(validator=_nonempty)
    message: str = attrs.field(validator=_nonempty)
    source: str = attrs.field(validator=_nonempty)
    condition: str | None = None


def _condition_text(instance, attribute, value) -> None:
    if value is None:
        return
    from costmodel.programs import Condition, ExpressionError

    try:
        Condition(value)
    except ExpressionError as exc:
        raise ValueError(f"{type(instance).__name__}.{attribute.name}: {exc}") from None


@attrs.frozen(kw_only=True)
class Caveat:
    """What a choice costs that the model does not price (accuracy, convergence, stability): said
    whenever a plan uses the choice. `condition` (over choices, as a formula's) limits it: pure
    bf16's lost updates do not apply when the fp32 master weights live on the CPU."""

    text: str = attrs.field(validator=_nonempty)
    source: str = attrs.field(validator=_nonempty)
    condition: str | None = attrs.field(default=None, validator=_condition_text)


@attrs.frozen(kw_only=True)
class Choice:
    """One option of a recipe; its formulas apply only when the option is chosen."""

    name: str = attrs.field(validator=_nonempty)
    doc: str = attrs.field(validator=_nonempty)
    source: str = attrs.field(validator=_nonempty)
    formulas: tuple[Formula, ...] = attrs.field(default=(), converter=tuple)
    caveats: tuple[Caveat, ...] = attrs.field(default=(), converter=tuple)


@attrs.frozen(kw_only=True)
class Recipe:
    """A named training choice (precision, optimizer, ...): a choice quantity and its options."""

    name: str = attrs.field(validator=_identifier)
    doc: str = attrs.field(validator=_nonempty)
    choices: tuple[Choice, ...] = attrs.field(converter=tuple)
    default: str = attrs.field(validator=_nonempty)

    @default.validator
    def _default_is_a_choice(self, attribute, value) -> None:
        names = [c.name for c in self.choices]
        if value not in names:
            raise ValueError(f"Recipe {self.name!r}: default {value!r} is not one of {names}")


PRESET_CARD = "hardware"  # a run preset's card (a published run: `"hardware": "h100-sxm"`)


@attrs.frozen(kw_only=True)
class Family:
    """A model family: its own quantities, defaults, presets, formulas and validity checks.

    A preset sets inputs; a run preset (a published run) also names its card under PRESET_CARD
    and its GPU count as n_gpus, which the user's `--hardware` and values replace.
    """

    name: str = attrs.field(validator=_nonempty)
    doc: str = attrs.field(validator=_nonempty)
    source: str = attrs.field(validator=_nonempty)
    quantities: tuple[Quantity, ...] = attrs.field(default=(), converter=tuple)
    defaults: dict[str, Value] = attrs.field(factory=dict, converter=_frozen_dict)
    presets: dict[str, dict[str, Value]] = attrs.field(factory=dict, converter=_frozen_dict)
    formulas: tuple[Formula, ...] = attrs.field(default=(), converter=tuple)
    checks: tuple[Check, ...] = attrs.field(default=(), converter=tuple)
    aliases: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    config_loader: Callable[[str | None, list[str]], dict[str, Value]] | None = attrs.field(
        default=None, eq=False
    )
    config_keys: frozenset[str] = attrs.field(
        factory=frozenset, converter=frozenset,
        metadata={"help": "the family's own names config_loader reads (train.py keys, base_train flags): "
                          "`--set KEY=VALUE` and `--KEY=VALUE` pass them to it"},
    )
    free_order: tuple[str, ...] = attrs.field(
        default=(), converter=tuple, metadata={"help": "inputs to free first when a result is given"}
    )


@attrs.frozen(kw_only=True)
class Hardware:
    """One accelerator: values with units (`gpu_memory`, `peak_flops_bf16`, ...), each with a source."""

    name: str = attrs.field(validator=_nonempty)
    doc: str = attrs.field(validator=_nonempty)
    vendor: str = ""
    aliases: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    values: dict[str, str] = attrs.field(factory=dict, converter=_frozen_dict)
    sources: dict[str, str] = attrs.field(factory=dict, converter=_frozen_dict)
    notes: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    info: dict[str, str] = attrs.field(factory=dict, converter=_frozen_dict)
    origin: str = ""

    @classmethod
    def from_toml(cls, path: str) -> Hardware:
        """Read one card from a TOML file (schema: docs/hardware.md); the file's stem is an alias."""
        from costmodel.toml_files import read_hardware

        return read_hardware(path)
