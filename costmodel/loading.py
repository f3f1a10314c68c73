"""Finding plugins and building the registry from them.

Built-in plugins are entry points of the group `costmodel`, exactly like a third party's. Local
plugins come by path: a `.py` file (a Python plugin, imported), a `.toml` file (a declarative family,
parsed) or a folder of those. `COSTMODEL_PLUGINS=name,name` limits which entry points load
(empty: none). A plugin that fails to import, misspells a hook or declares something broken is
reported by name and the others load; a path the user named explicitly is an error instead.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import attrs

from costmodel import hookspecs
from costmodel.errors import CostModelError, UserError

ENTRY_POINT_GROUP = "costmodel"
ENV_ALLOW = "COSTMODEL_PLUGINS"
ENV_PATHS = "COSTMODEL_PLUGIN_PATH"
HOOKS = (
    "register_quantities",
    "register_recipes",
    "register_families",
    "register_hardware",
    "register_formulas",
    "register_log_formats",
)


@attrs.frozen(kw_only=True)
class PluginInfo:
    name: str
    origin: str  # "entry point <dist>", a file path, ...
    hooks: tuple[str, ...] = ()
    error: str | None = None


def plugin_manager():
    import pluggy

    pm = pluggy.PluginManager("costmodel")
    pm.add_hookspecs(hookspecs)
    return pm


def load_registry(paths: Sequence[str] = ()):
    """Load every allowed entry-point plugin plus the plugins at `paths`; build the registry.

    The built registry is cached on disk (see `costmodel.cache`), keyed by every file the plugins
    are made of and every file the build read: a cached run imports neither the plugins, nor sympy,
    nor pint. Before the first build, the registry the package ships for its built-in plugins
    (`costmodel.prebuilt`) is used when its sources are exactly those installed.
    """
    from costmodel import cache

    modules = _entry_point_modules()
    key = cache.fingerprint(paths, modules)
    hit = cache.read(key)
    if hit is None and key is not None and not paths and not _env_paths():
        from costmodel import prebuilt  # the first run after an install (see costmodel.prebuilt)

        hit = prebuilt.read(modules)
    if hit is not None:
        return hit
    with cache.recording() as read:
        registry, infos = _build(paths)
    cache.write(key, registry, infos, deps=read)
    return registry, infos


def _entry_point_modules() -> list[tuple[str, str]]:
    """(name, module) of the entry points that would load, without importing them."""
    from importlib.metadata import entry_points

    allow = os.environ.get(ENV_ALLOW)
    allowed = None if allow is None else {n.strip() for n in allow.split(",") if n.strip()}
    found, seen = [], set()
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in seen or (allowed is not None and ep.name not in allowed and ep.value not in allowed):
            continue
        seen.add(ep.name)
        found.append((ep.name, ep.value))
    return found


def _build(paths: Sequence[str]):
    from costmodel.registry import Registry

    pm = plugin_manager()
    infos: dict[str, PluginInfo] = {}
    declarative = []  # TOML families: (path, Family)
    explicit: set[str] = set()  # plugin names and TOML paths the user named: their errors are errors
    _load_entry_points(pm, infos)
    for path in _env_paths():
        _load_path(pm, infos, declarative, path, explicit=None)
    for path in paths:
        _load_path(pm, infos, declarative, path, explicit=explicit)
    registry = Registry()
    failures = _collect(pm, registry, infos, declarative)
    for plugin, message in failures:
        if plugin in explicit:
            raise UserError(f"plugin {plugin}: {message}")
    registry.failures.extend(failures)
    for info in infos.values():  # plugins that never loaded (import error, misspelled hook)
        if info.error and not any(name == info.name for name, _ in failures):
            registry.failures.append((info.name, info.error))
    return registry, list(infos.values())


def _load_entry_points(pm, infos: dict[str, PluginInfo]) -> None:
    from importlib.metadata import entry_points

    allow = os.environ.get(ENV_ALLOW)
    allowed = None if allow is None else {n.strip() for n in allow.split(",") if n.strip()}
    seen = set()
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in seen:
            continue
        seen.add(ep.name)  # a package found twice on sys.path registers once
        if allowed is not None and ep.name not in allowed and ep.value not in allowed:
            continue
        dist = getattr(ep, "dist", None)
        origin = f"entry point {ep.name} = {ep.value} ({dist.name if dist else '?'})"
        try:
            module = ep.load()
        except (Exception, SystemExit) as exc:  # a broken plugin must not take the others down
            infos[ep.name] = PluginInfo(name=ep.name, origin=origin, error=_why(exc))
            continue
        _register(pm, infos, ep.name, module, origin, explicit=False)


def _register(pm, infos, name, module, origin, explicit: bool) -> None:
    try:
        pm.register(module, name=name)
        pm.check_pending()
    except (Exception, SystemExit) as exc:
        if pm.is_registered(module):
            pm.unregister(module)
        message = f"plugin {name} ({origin}): {_why(exc)}"
        if explicit:
            raise UserError(message) from None
        infos[name] = PluginInfo(name=name, origin=origin, error=_why(exc))
        return
    hooks = tuple(h.name for h in pm.get_hookcallers(module) or ())
    infos[name] = PluginInfo(name=name, origin=origin, hooks=hooks)


def _env_paths() -> list[str]:
    value = os.environ.get(ENV_PATHS, "")
    return [p for p in value.split(os.pathsep) if p.strip()]


def _load_path(pm, infos, declarative, path: str, explicit: set[str] | None) -> None:
    """Load a .py plugin, a .toml family or a folder of them; `explicit` collects the names of
    what the user named (None: found through COSTMODEL_PLUGIN_PATH, errors are only reported)."""
    p = Path(path)
    if not p.exists():
        if explicit is not None:
            raise UserError(f"plugin path {path!r} does not exist")
        infos[str(p)] = PluginInfo(name=p.stem, origin=str(p), error="path does not exist")
        return
    if p.is_dir():
        children = _plugin_files(p)
        if not children:
            message = "a folder without .py or .toml plugins in it"
            if explicit is not None:
                raise UserError(f"plugin path {path!r}: {message}")
            infos[str(p)] = PluginInfo(name=p.name or str(p), origin=str(p), error=message)
        for child in children:
            _load_path(pm, infos, declarative, str(child), explicit)
        return
    try:  # a FIFO, a device or a huge file is refused before it is read or imported
        from costmodel.files import LIMITS, regular_file

        regular_file(p, "plugin", LIMITS["plugin"])
    except UserError as exc:
        if explicit is not None:
            raise
        infos[str(p)] = PluginInfo(name=p.stem, origin=str(p), error=str(exc))
        return
    if p.suffix == ".toml":
        from costmodel.toml_files import read_family

        try:
            family = read_family(str(p))
        except CostModelError as exc:
            if explicit is not None:
                raise UserError(str(exc)) from None
            infos[str(p)] = PluginInfo(name=p.stem, origin=str(p), error=str(exc))
            return
        declarative.append((str(p), family))
        infos[str(p)] = PluginInfo(name=p.stem, origin=str(p), hooks=("register_families",))
        if explicit is not None:
            explicit.add(str(p))
        return
    if p.suffix != ".py":
        raise UserError(f"plugin path {path!r}: expected a .py file, a .toml family or a folder")
    explicit_flag = explicit is not None
    name = f"costmodel_local_{p.stem}"
    try:
        spec = importlib.util.spec_from_file_location(name, p)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)  # a Python plugin is code its user chose to run
    except (Exception, SystemExit) as exc:  # sys.exit() at import: reported, not obeyed
        if explicit_flag:
            raise UserError(f"plugin {p.name}: {_why(exc)}") from None
        infos[str(p)] = PluginInfo(name=p.stem, origin=str(p), error=_why(exc))
        return
    _register(pm, infos, p.stem, module, str(p), explicit is not None)
    if explicit is not None:
        explicit.add(p.stem)


MAX_FOLDER = 1000  # entries of a plugin folder looked at (the folder is not searched recursively)


def _plugin_files(folder: Path) -> list[Path]:
    """The .py and .toml files directly in `folder` (not _private ones), in name order."""
    found = []
    with os.scandir(folder) as entries:
        for i, entry in enumerate(entries):
            if i >= MAX_FOLDER:
                raise UserError(f"plugin path {str(folder)!r}: more than {MAX_FOLDER} entries; "
                                "give a folder of plugins")
            name = entry.name
            if name.endswith((".py", ".toml")) and not name.startswith(("_", ".")):
                found.append(folder / name)
    return sorted(found)


def _collect(pm, registry, infos, declarative) -> list[tuple[str, str]]:
    """Call the hooks in a fixed order, plugin by plugin, each record checked on its own."""
    failures: list[tuple[str, str]] = []
    pending_formulas = []  # generic and recipe formulas wait until every quantity is known

    def registrar(plugin: str, hook: str):
        def register(record) -> None:
            try:
                if hook == "register_quantities":
                    registry.add_quantity(record, plugin)
                elif hook == "register_recipes":
                    for f in registry.add_recipe(record, plugin):
                        pending_formulas.append((plugin, f))
                elif hook == "register_families":
                    families.append((plugin, record))
                elif hook == "register_hardware":
                    registry.add_hardware(record, plugin)
                elif hook == "register_log_formats":
                    registry.add_log_format(record, plugin)
                else:
                    pending_formulas.append((plugin, record))
            except CostModelError as exc:
                failures.append((plugin, str(exc)))
            except (TypeError, ValueError) as exc:
                failures.append((plugin, _why(exc)))

        return register

    families: list = []
    for hook in HOOKS:
        caller = getattr(pm.hook, hook)
        for impl in sorted(caller.get_hookimpls(), key=_load_order):
            try:
                impl.function(register=registrar(impl.plugin_name, hook))
            except (Exception, SystemExit) as exc:
                failures.append((impl.plugin_name, f"{hook} failed: {_why(exc)}"))
        if hook == "register_families":
            families.extend((path, fam) for path, fam in declarative)
            families.sort(key=lambda pf: getattr(pf[1], "name", ""))
            # every family's quantities first: a family may read another's names, in any order
            for plugin, family in families:
                for q in getattr(family, "quantities", ()):
                    try:
                        registry.add_quantity(q, plugin)
                    except CostModelError:
                        pass  # reported with the family below
            for plugin, family in families:
                try:
                    registry.add_family(family, plugin)
                except CostModelError as exc:
                    failures.append((plugin, str(exc)))
                except (TypeError, ValueError, AttributeError) as exc:
                    failures.append((plugin, _why(exc)))
    for plugin, formula in pending_formulas:
        try:
            registry.add_formula(formula, plugin)
        except CostModelError as exc:
            failures.append((plugin, str(exc)))
        except (TypeError, ValueError, AttributeError) as exc:
            failures.append((plugin, _why(exc)))
    for plugin, message in failures:
        for key, info in list(infos.items()):
            if info.name == plugin or key == plugin:
                infos[key] = attrs.evolve(info, error=message)
    return failures


def _load_order(impl) -> tuple[int, str]:
    """The shared vocabulary (`core`) first, then plugins by name: never the import order."""
    return (0 if impl.plugin_name == "core" else 1, impl.plugin_name)


def _why(exc: BaseException) -> str:
    if isinstance(exc, SystemExit):
        return f"called sys.exit({exc.code!r})"
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
