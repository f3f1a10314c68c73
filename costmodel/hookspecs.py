"""The whole plugin API of costmodel: six registrar hooks.

Each hook receives a `register` callback and calls it once per record; the engine handles
duplicates, parsing and the dimension checks. Implement them with `@costmodel.hookimpl`.
Hooks are called with keyword arguments only, and results never depend on plugin load order.
"""

from pluggy import HookimplMarker, HookspecMarker

hookspec = HookspecMarker("costmodel")
hookimpl = HookimplMarker("costmodel")


@hookspec
def register_quantities(register):
    """Declare quantities: call `register(Quantity(...))` for each new name."""


@hookspec
def register_recipes(register):
    """Declare recipe options: call `register(Recipe(...))`; a recipe is a choice with formulas."""


@hookspec
def register_formulas(register):
    """Contribute generic formulas that apply to every family: call `register(Formula(...))`."""


@hookspec
def register_families(register):
    """Declare model families: call `register(Family(...))`."""


@hookspec
def register_hardware(register):
    """Declare accelerators: call `register(Hardware(...))` (or `Hardware.from_toml(path)`)."""


@hookspec
def register_log_formats(register):
    """Declare training-log formats for `costmodel calibrate`: call `register(LogFormat(...))`."""
