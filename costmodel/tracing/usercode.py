"""The user's file and factory: the one place where costmodel runs code it did not write.

`load_factory("model.py:FACTORY")` imports that one file (and whatever it imports itself) and
returns its FACTORY. Nothing else is ever imported or run on the user's behalf, and no other
command calls this module. FACTORY is called with keyword arguments, the varied and fixed names;
a class or function whose one argument is a dataclass config (nanoGPT's `GPT(GPTConfig)`) gets
that config built from the names instead.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import inspect
import sys
import typing
from collections.abc import Callable
from pathlib import Path

from costmodel.errors import UserError


def split_target(target: str) -> tuple[Path, str]:
    path, sep, name = target.rpartition(":")
    if not sep or not path or not name.isidentifier():
        raise UserError(f"{target!r}: give FILE.py:FACTORY, e.g. model.py:build_model")
    file = Path(path)
    if file.suffix != ".py" or not file.is_file():
        raise UserError(f"{path}: not a Python file")
    return file, name


def sha256(file: Path) -> str:
    return hashlib.sha256(file.read_bytes()).hexdigest()


def load_factory(file: Path, name: str) -> Callable:
    """Import the named file as a module of its own and return its attribute `name`."""
    module_name = f"costmodel_traced_{sha256(file)[:12]}"
    spec = importlib.util.spec_from_file_location(module_name, file)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses and typing look the module up by name
    folder = str(file.resolve().parent)
    sys.path.insert(0, folder)  # the file's own sibling imports, as `python file.py` would see them
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise UserError(f"{file}: importing it failed: {type(exc).__name__}: {exc}") from None
    finally:
        sys.path.remove(folder)
    factory = getattr(module, name, None)
    if not callable(factory):
        raise UserError(f"{file}: has no callable {name!r}")
    return factory


def _config_class(factory: Callable):
    """The dataclass a factory takes as its one argument, if it does."""
    try:
        params = list(inspect.signature(factory).parameters.values())
    except (TypeError, ValueError):
        return None
    if len(params) != 1:
        return None
    try:
        hints = typing.get_type_hints(factory.__init__ if inspect.isclass(factory) else factory)
    except Exception:
        return None
    kind = hints.get(params[0].name)
    return kind if dataclasses.is_dataclass(kind) else None


def defaults(factory: Callable) -> dict[str, object]:
    """The factory's keyword defaults (or its config dataclass's field defaults)."""
    config = _config_class(factory)
    if config is not None:
        return {f.name: f.default for f in dataclasses.fields(config) if f.default is not dataclasses.MISSING}
    try:
        params = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return {}
    return {p.name: p.default for p in params if p.default is not inspect.Parameter.empty}


def arguments(factory: Callable) -> set[str] | None:
    """Every name the factory (or its config dataclass) takes; None when it takes **kwargs."""
    config = _config_class(factory)
    if config is not None:
        return {f.name for f in dataclasses.fields(config)}
    try:
        params = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind == p.VAR_KEYWORD for p in params):
        return None
    return {p.name for p in params}


def builder(factory: Callable, values: dict[str, object]) -> Callable[[], object]:
    """A thunk that calls the factory with these values."""
    config = _config_class(factory)
    if config is not None:
        known = {f.name for f in dataclasses.fields(config)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise UserError(f"{config.__name__} has no field {', '.join(unknown)}")
        return lambda: factory(config(**values))
    return lambda: factory(**values)
