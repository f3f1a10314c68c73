"""JSON config files (a Hugging Face `config.json`) read through a mapping the family declares.

A TOML family says how its inputs come from such a file in a `[config]` table (schema:
docs/plugins.md, "Config files"); this module turns that table into the family's `config_loader`.
It knows no model: which key feeds which quantity, what a missing key means, and which values of
a text key are accepted all come from the table.

    [config]
    doc = "..."                  # what files these are
    source = "..."               # where the keys' meaning is defined
    required = ["hidden_size"]   # keys a file must give
    ignored = ["rope_theta"]     # keys read and known not to change the cost
    [config.keys]                # key -> quantity, or a list of quantities it sets together
    hidden_size = "d_model"
    [config.absent]              # the value a missing (or null) key stands for
    tie_word_embeddings = false
    num_key_value_heads = { same_as = "num_attention_heads" }
    [config.match.model_type]    # the accepted values of a text key, and what each one sets
    qwen2 = { qkv_bias = true }

Reading a file: JSON only (no code runs), at most 1 MiB, NaN/Infinity refused. A key given twice
with two values, two keys that set one quantity to different values, a value of a text key that the
table does not list, and a key that contradicts what a matched value fixes are errors. Keys the
table does not mention are returned as a note, so that a user sees what was not read.
`--key=value` overrides (after `--config`) replace a key of the file; the value is read as JSON.
"""

from __future__ import annotations

import difflib
import json
import math
from pathlib import Path
from typing import Any

import attrs

from costmodel.errors import UserError

MAX_BYTES = 1 << 20
TABLE_KEYS = {"doc", "source", "required", "ignored", "keys", "absent", "match"}


class ConfigValues(dict):
    """{quantity: value} read from a config file, with notes for the user (unread keys)."""

    def __init__(self, values=(), notes: tuple[str, ...] = ()):
        super().__init__(values)
        self.notes = tuple(notes)


@attrs.frozen(kw_only=True, eq=False)
class JsonConfig:
    """A family's `config_loader` for JSON files, built from its TOML `[config]` table."""

    doc: str
    source: str
    keys: dict[str, tuple[str, ...]]
    required: tuple[str, ...] = ()
    ignored: tuple[str, ...] = ()
    absent: dict[str, Any] = attrs.field(factory=dict)
    match: dict[str, dict[str, dict[str, Any]]] = attrs.field(factory=dict)

    @classmethod
    def from_table(cls, table: Any, where: str) -> JsonConfig:
        """Check the `[config]` table's shape; every error names `where`."""
        if not isinstance(table, dict):
            raise UserError(f"{where}: config must be a table")
        extra = sorted(set(table) - TABLE_KEYS)
        if extra:
            raise UserError(f"{where}: unknown key(s) {', '.join(extra)} in [config]; "
                            f"allowed: {', '.join(sorted(TABLE_KEYS))}")
        keys = {}
        for key, target in _dict(table, "keys", where).items():
            names = (target,) if isinstance(target, str) else target
            if not isinstance(names, list | tuple) or not names or not all(
                isinstance(n, str) and n.isidentifier() for n in names
            ):
                raise UserError(f"{where}: config.keys.{key} must be a quantity name or a list of them")
            keys[key] = tuple(names)
        absent = _dict(table, "absent", where, required=False)
        for key, value in absent.items():
            if isinstance(value, dict):
                if set(value) != {"same_as"} or not isinstance(value["same_as"], str):
                    raise UserError(f"{where}: config.absent.{key} must be a value or {{ same_as = \"KEY\" }}")
            elif not _scalar(value):
                raise UserError(f"{where}: config.absent.{key} must be a number, true/false or text")
            if key not in keys:
                raise UserError(f"{where}: config.absent.{key} names a key that config.keys does not map")
        match = {}
        for key, cases in _dict(table, "match", where, required=False).items():
            if not isinstance(cases, dict) or not cases:
                raise UserError(f"{where}: config.match.{key} must be a table of accepted values")
            for value, sets in cases.items():
                if not isinstance(sets, dict) or not all(_scalar(v) for v in sets.values()):
                    raise UserError(f"{where}: config.match.{key}.{value} must be a table of inputs")
            match[key] = {value: dict(sets) for value, sets in cases.items()}
        return cls(
            doc=_text(table, "doc", where),
            source=_text(table, "source", where),
            keys=keys,
            required=_names(table, "required", where),
            ignored=_names(table, "ignored", where),
            absent=dict(absent),
            match=match,
        )

    def quantities(self) -> set[str]:
        """Every quantity this mapping can set (for checks at registration)."""
        names = {n for targets in self.keys.values() for n in targets}
        return names | {n for cases in self.match.values() for sets in cases.values() for n in sets}

    def known_keys(self) -> set[str]:
        return set(self.keys) | set(self.match) | set(self.ignored)

    def __call__(self, path: str | None, overrides: list[str] | tuple[str, ...] = ()) -> ConfigValues:
        name = Path(path).name if path else "overrides"
        data = read_json(path) if path is not None else {}
        for arg in overrides:
            key, value = self._override(arg)
            data[key] = value
        return self.values(data, name)

    def values(self, data: dict[str, Any], name: str) -> ConfigValues:
        """The inputs a parsed file sets, in the family's quantity names."""
        data = {k: v for k, v in data.items() if v is not None}  # null: not given
        missing = [k for k in self.required if k not in data]
        if missing:
            raise UserError(f"{name}: missing key(s) {', '.join(missing)} ({self.doc})")
        out: dict[str, Any] = {}
        setter: dict[str, str] = {}  # quantity -> the key that set it

        def put(quantity: str, value: Any, key: str) -> None:
            if quantity in out and setter[quantity] != key and out[quantity] != value:
                raise UserError(
                    f"{name}: {setter[quantity]} = {_shown(out[quantity])} and {key} = {_shown(value)} "
                    f"contradict each other (both set {quantity})"
                )
            out[quantity] = value
            setter[quantity] = key

        for key, targets in self.keys.items():
            if key in data:
                value = data[key]
            elif key in self.absent:
                value = self.absent[key]
                if isinstance(value, dict):
                    source = value["same_as"]
                    if source not in data:
                        continue
                    value = data[source]
            else:
                continue
            if not _scalar(value) or isinstance(value, str):
                raise UserError(f"{name}: {key} must be a number or true/false, got {_shown(value)}")
            for quantity in targets:
                put(quantity, value, key)
        for key, cases in self.match.items():
            if key not in data:
                continue
            value = data[key]
            if not isinstance(value, str) or value not in cases:
                close = difflib.get_close_matches(str(value), list(cases), n=3, cutoff=0.6)
                hint = f"did you mean: {', '.join(close)}" if close else f"accepted: {', '.join(cases)}"
                raise UserError(f"{name}: {key} {_shown(value)} is not one this family reads; {hint}")
            for quantity, fixed in cases[value].items():
                explicit = setter.get(quantity)
                if explicit in data and out[quantity] != fixed:
                    raise UserError(
                        f"{name}: {explicit} = {_shown(out[quantity])} contradicts {key} {value!r}, "
                        f"which fixes {quantity} = {_shown(fixed)}"
                    )
                out[quantity] = fixed
                setter[quantity] = f"{key} {value!r}"
        unread = sorted(set(data) - self.known_keys())
        notes = ()
        if unread:
            notes = (f"{name}: key(s) not read (they do not change costmodel's inputs, or this family "
                     f"does not model them): {', '.join(unread)}",)
        return ConfigValues(out, notes)

    def _override(self, arg: str) -> tuple[str, Any]:
        text = arg[2:] if arg.startswith("--") else arg
        key, sep, raw = text.partition("=")
        if not sep or not key:
            raise UserError(f"override {arg!r} is not of the form --key=value")
        if key not in self.known_keys():
            close = difflib.get_close_matches(key, sorted(self.known_keys()), n=3, cutoff=0.6)
            hint = f"did you mean: {', '.join(close)}" if close else "not a key this family reads"
            raise UserError(f"override {arg!r}: unknown config key {key!r}; {hint}")
        try:
            value = json.loads(raw, parse_constant=_no_constant)
        except UserError:
            raise UserError(f"override {arg!r}: not a finite number") from None
        except (ValueError, RecursionError):
            value = raw  # a bare word: text, as a JSON string would be
        return key, value


def read_json(path: str) -> dict[str, Any]:
    """A JSON object from a file: bounded, NaN/Infinity and contradictory duplicate keys refused."""
    p = Path(path)
    try:
        with p.open("rb") as fh:
            raw = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        raise UserError(f"cannot read config {path}: {exc.strerror or exc}") from None
    if len(raw) > MAX_BYTES:
        raise UserError(f"{p.name}: larger than {MAX_BYTES >> 20} MiB; not a config.json")
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=_no_constant, object_pairs_hook=_unique)
    except UnicodeDecodeError:
        raise UserError(f"{p.name}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise UserError(f"{p.name}:{exc.lineno}: not valid JSON: {exc.msg}") from None
    except RecursionError:
        raise UserError(f"{p.name}: nested too deeply") from None
    except UserError as exc:  # a key given twice with two values, NaN or Infinity
        raise UserError(f"{p.name}: {exc}") from None
    if not isinstance(data, dict):
        raise UserError(f"{p.name}: a config.json holds one JSON object, not {type(data).__name__}")
    return data


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out and out[key] != value:
            raise UserError(f"key {key!r} is given twice: {_shown(out[key])} and {_shown(value)}")
        out[key] = value
    return out


def _no_constant(name: str):
    raise UserError(f"{name} is not a number JSON allows (not valid JSON)")


def _scalar(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, bool | int | str)


def _shown(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _dict(table: dict, key: str, where: str, required: bool = True) -> dict:
    value = table.get(key)
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise UserError(f"{where}: config.{key} must be a table")
    return value


def _names(table: dict, key: str, where: str) -> tuple[str, ...]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UserError(f"{where}: config.{key} must be a list of key names")
    return tuple(value)


def _text(table: dict, key: str, where: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value.strip():
        raise UserError(f"{where}: config.{key} must be non-empty text")
    return value
