"""The registry cache: a checked registry pickled to disk, keyed by what it was built from.

Building the registry parses every formula with sympy and checks its dimensions with pint (about
a second). The result has no sympy or pint objects in it (formulas are kept as programs, see
`costmodel.programs`), so a cached run starts in a fraction of that. The key covers the engine's
own files, every file of every plugin package that would load, the plugin paths given, the
allow-list, and the versions of Python, sympy and pint: editing any of them rebuilds.

`COSTMODEL_CACHE=0` turns the cache off; `COSTMODEL_CACHE_DIR` moves it (default
`$XDG_CACHE_HOME/costmodel` or `~/.cache/costmodel`). A cache that cannot be read or written is
ignored silently: it only ever saves time.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
import tempfile
from collections.abc import Iterable, Sequence
from importlib import util
from pathlib import Path

FORMAT = 1


def directory() -> Path | None:
    if os.environ.get("COSTMODEL_CACHE", "1") == "0":
        return None
    base = os.environ.get("COSTMODEL_CACHE_DIR")
    if base:
        return Path(base)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return Path(xdg) / "costmodel" if xdg else Path.home() / ".cache" / "costmodel"


def fingerprint(paths: Sequence[str], modules: Iterable[tuple[str, str]]) -> str | None:
    """A hash of everything the registry is built from; None when something can't be located."""
    if directory() is None:
        return None
    digest = hashlib.sha256()
    digest.update(repr((FORMAT, sys.version, os.environ.get("COSTMODEL_PLUGINS"))).encode())
    for dist in ("sympy", "pint", "pluggy", "attrs"):
        digest.update(_version(dist).encode())
    roots = [_package_dir("costmodel"), _package_dir("costmodel.catalogue")]
    for name, value in modules:
        digest.update(f"{name}={value}".encode())
        roots.append(_package_dir(value.split(":")[0].split(".")[0]))
    digest.update(repr(("explicit", list(paths))).encode())  # a path given by the user fails loudly,
    digest.update(os.environ.get("COSTMODEL_PLUGIN_PATH", "").encode())  # one from the env only notes
    roots += [Path(p) for p in paths]
    roots += [Path(p) for p in os.environ.get("COSTMODEL_PLUGIN_PATH", "").split(os.pathsep) if p.strip()]
    for root in roots:
        if root is None:
            return None
        for path in _files(root):
            try:
                stat = path.stat()
            except OSError:
                return None
            digest.update(f"{path}:{stat.st_mtime_ns}:{stat.st_size}".encode())
    return digest.hexdigest()[:32]


def _version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "-"


def _package_dir(module: str) -> Path | None:
    try:
        spec = util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if spec.submodule_search_locations:
        return Path(list(spec.submodule_search_locations)[0])
    return Path(spec.origin) if spec.origin else None


def _files(root: Path) -> list[Path]:
    if root.is_file() or not root.exists():
        return [root]
    return sorted(p for p in root.rglob("*") if p.suffix in (".py", ".toml", ".txt") and p.is_file())


def read(key: str | None):
    """(registry, plugin infos) from the cache, or None."""
    folder = directory()
    if key is None or folder is None:
        return None
    try:
        with open(folder / f"registry-{key}.pickle", "rb") as fh:
            registry, infos, unit_table = pickle.load(fh)
    except Exception:  # a missing, stale or unreadable cache only costs time
        return None
    from costmodel import units

    units.remember(unit_table)
    return registry, infos


def write(key: str | None, registry, infos) -> None:
    folder = directory()
    if key is None or folder is None:
        return
    from costmodel import units

    try:
        folder.mkdir(parents=True, exist_ok=True)
        data = pickle.dumps((registry, infos, units.table()), protocol=pickle.HIGHEST_PROTOCOL)
        with tempfile.NamedTemporaryFile(dir=folder, delete=False, suffix=".tmp") as fh:
            fh.write(data)
        os.replace(fh.name, folder / f"registry-{key}.pickle")
        _evict(folder)
    except Exception:  # unpicklable plugin objects, read-only home: no cache, same answers
        try:
            os.unlink(fh.name)
        except Exception:
            pass


KEEP = 16


def _evict(folder: Path) -> None:
    """Keep the most recently written registries only."""
    files = sorted(folder.glob("registry-*.pickle"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in files[KEEP:]:
        try:
            old.unlink()
        except OSError:
            pass
