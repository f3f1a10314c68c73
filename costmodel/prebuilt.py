"""The prebuilt registry shipped in the package: a first run without parsing a single formula.

Building the registry of the built-in plugins parses every formula with sympy and checks its
dimensions with pint: 1.5 to 3 s, which every user paid on the first command after an install (the
disk cache of `costmodel.cache` only helps from the second). The package therefore carries the
registry of its built-in plugins, built by `scripts/build_prebuilt.py`:

  - `prebuilt_registry.pickle`: the same payload as a disk-cache entry (registry, plugin infos,
    unit table), with the hardware cards' file names made relative to their package;
  - `prebuilt_registry.py`: the `KEY` it was built from, the engine `MODULES` the build imported
    and the `SHA256` of the pickle's bytes.

Trust: the data is used only if its bytes hash to the `SHA256` recorded in the package's own code
(so it is exactly as trusted as the modules beside it), and it is unpickled by the disk cache's
restricted unpickler (costmodel's own classes and `ast` nodes only) and shape-checked.

Freshness: `KEY` hashes, by content and with paths relative to each package, every file the wheel
ships of the built-in plugins and of the card catalogue, the engine's data files and the engine
modules the build imported (`MODULES`; a new import can only come with an edit of one of them), the
entry points that load and the Python version. Any such edit (a registry module, a formula, a
card), another set of plugins (an allow-list, a third-party plugin) or another Python gives another
key: the prebuilt registry is then ignored and
the registry is built and cached as usual. It is never used with plugin paths (`--plugin`,
COSTMODEL_PLUGIN_PATH) or with `COSTMODEL_CACHE=0`.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import os
import sys
from collections.abc import Iterable
from pathlib import Path

FORMAT = 1
DATA = Path(__file__).with_name("prebuilt_registry.pickle")
RECORD = "costmodel.prebuilt_registry"  # the generated module holding KEY and SHA256
SHIPPED = (".py", ".toml", ".txt", ".typed")  # what the wheel carries of each package
_OWN = {"prebuilt_registry.pickle", "prebuilt_registry.py"}  # generated: never part of the key
CATALOGUE = "costmodel.catalogue"


def roots(modules: Iterable[tuple[str, str]]) -> list[tuple[str, Path]] | None:
    """(package name, folder) of the engine, the card catalogue and every entry-point plugin."""
    from costmodel.cache import _package_dir

    names = ["costmodel", CATALOGUE] + sorted({value.split(":")[0].split(".")[0] for _, value in modules})
    found = [(name, _package_dir(name)) for name in names]
    if any(folder is None or not folder.is_dir() for _, folder in found):
        return None
    return found


def files(modules: Iterable[tuple[str, str]], engine: Iterable[str] | None = None) -> list[tuple[str, Path]] | None:
    """(portable name, path) of every shipped file of those packages, in a fixed order, of the
    engine's only its data files and the modules named in `engine` (paths relative to it; None:
    all); the catalogue counts once whether it is a folder of its own (source tree) or inside
    the engine's (installed wheel)."""
    engine = None if engine is None else set(engine)
    found_roots = roots(modules)
    if found_roots is None:
        return None
    nested = [folder for _, folder in found_roots]
    out = []
    for name, folder in found_roots:
        others = [o for o in nested if o != folder and folder in o.parents]
        for folder_path, dirs, names in os.walk(folder):
            here = Path(folder_path)
            dirs[:] = sorted(d for d in dirs if d != "__pycache__" and not d.startswith(".")
                             and here / d not in others)
            for n in sorted(names):
                rel = (here / n).relative_to(folder).as_posix()
                if not n.endswith(SHIPPED) or (name == "costmodel" and (
                        rel in _OWN or (engine is not None and n.endswith(".py") and rel not in engine))):
                    continue
                out.append((f"{name}/{rel}", here / n))
    return out


def key(modules: Iterable[tuple[str, str]], engine: Iterable[str]) -> str | None:
    """The content key of the registry these entry points build; None if a file can't be read."""
    from costmodel.cache import content_hash

    modules = sorted(modules)
    listed = files(modules, engine)
    if listed is None:
        return None
    digest = hashlib.sha256(repr((FORMAT, sys.version_info[:2], modules)).encode())
    for name, path in listed:
        content = content_hash(path)
        if content is None:
            return None
        digest.update(f"{name}\0{content}\0".encode())
    return digest.hexdigest()[:32]


def read(modules: list[tuple[str, str]]):
    """(registry, plugin infos) from the prebuilt registry, or None when it is absent, stale,
    altered or malformed."""
    try:
        record = importlib.import_module(RECORD)
        expected_key, expected_hash, engine = record.KEY, record.SHA256, record.MODULES
    except (ImportError, AttributeError):
        return None
    if key(modules, engine) != expected_key:
        return None
    try:
        data = DATA.read_bytes()
    except OSError:
        return None
    if hashlib.sha256(data).hexdigest() != expected_hash:
        return None
    from costmodel import cache, units

    try:
        loaded = cache._Unpickler(io.BytesIO(data)).load()
    except Exception:  # a malformed file only costs a build
        return None
    if not cache._right_shape(loaded):
        return None
    registry, infos, unit_table = loaded
    located = {name: folder for name, folder in roots(modules)}
    _relocate(registry, lambda rel: _absolute(rel, located))
    units.remember(unit_table)
    return registry, infos


# --- building (scripts/build_prebuilt.py) --------------------------------------------------------


def build(modules: list[tuple[str, str]]) -> tuple[str, tuple[str, ...], bytes]:
    """(key, engine modules, pickle bytes) of a fresh build of these entry points; raises
    RuntimeError when the build cannot be shipped (a plugin failed, or it read a file the key does
    not cover)."""
    import pickle

    from costmodel import cache, loading, units

    with cache.recording() as read_files:
        registry, infos = loading._build(())
    engine = _engine_modules()
    listed = files(modules, engine)
    the_key = key(modules, engine)
    if listed is None or the_key is None:
        raise RuntimeError("a package of the built-in plugins cannot be located")
    if registry.failures:
        raise RuntimeError(f"the built-in plugins do not load cleanly: {registry.failures}")
    covered = {os.path.abspath(p) for _, p in listed}
    uncovered = sorted(set(read_files) - covered)
    if uncovered:
        raise RuntimeError(f"the build read files the key does not cover: {uncovered}")
    located = {name: folder for name, folder in roots(modules)}
    _relocate(registry, lambda path: _relative(path, located))
    payload = pickle.dumps((registry, infos, units.table()), protocol=pickle.HIGHEST_PROTOCOL)
    return the_key, engine, payload


def _engine_modules() -> tuple[str, ...]:
    """The engine's modules imported so far (by the build and what ran before it), relative to it."""
    folder = Path(sys.modules["costmodel"].__file__).parent
    found = set()
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if (name == "costmodel" or name.startswith("costmodel.")) and file and Path(file).parent.is_relative_to(folder):
            rel = Path(file).relative_to(folder).as_posix()
            if rel.endswith(".py") and rel not in _OWN:
                found.add(rel)
    return tuple(sorted(found))


def _relocate(registry, change) -> None:
    """Rewrite the cards' file names (their only machine paths) in place."""
    import attrs

    for name, card in list(registry.hardware.items()):
        if card.origin:
            registry.hardware[name] = attrs.evolve(card, origin=change(card.origin))


def _relative(path: str, located: dict[str, Path]) -> str:
    full = Path(path).absolute()
    for name, folder in sorted(located.items(), key=lambda nf: -len(str(nf[1]))):
        if folder in full.parents:
            return f"<{name}>/{full.relative_to(folder).as_posix()}"
    raise RuntimeError(f"card file {path} is outside the packages")


def _absolute(text: str, located: dict[str, Path]) -> str:
    if text.startswith("<") and ">/" in text:
        name, _, rest = text[1:].partition(">/")
        if name in located:
            return str(located[name] / rest)
    return text
