"""The registry cache: a checked registry saved to disk, keyed by the content it was built from.

Building the registry parses every formula with sympy and checks its dimensions with pint (about
a second). The result has no sympy or pint objects in it (formulas are kept as programs, see
`costmodel.programs`), so a cached run starts in a fraction of that.

What the key covers, by content (never by size or modification time):
  - the engine's own files and every file of every plugin package that would load;
  - the plugin paths given (made absolute) and on COSTMODEL_PLUGIN_PATH, the allow-list, and the
    versions of Python, sympy, pint, pluggy and attrs;
  - every other file the build read or imported (a plugin's helper module, a data file it opens),
    recorded while the registry is built and stored with the entry: each is hashed again before
    the entry is used.

A cache entry is trusted only if it is signed: the cache folder is created owner-only (0700) and
holds a random key readable by its owner alone; each entry carries an HMAC-SHA256 of its bytes under
that key. An entry that is unsigned, signed with another key, in a folder owned by someone else or
open to others, or of the wrong shape is never unpickled (or is discarded) and the registry is
rebuilt. Unpickling itself admits only costmodel's own classes and functions and Python's `ast`
nodes.

`COSTMODEL_CACHE=0` turns the cache off; `COSTMODEL_CACHE_DIR` moves it (default
`$XDG_CACHE_HOME/costmodel` or `~/.cache/costmodel`). A cache that cannot be read or written is
ignored: it only ever saves time.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import io
import json
import os
import pickle
import secrets
import stat
import sys
import sysconfig
from collections.abc import Iterable, Iterator, Sequence
from importlib import util
from pathlib import Path

FORMAT = 2
MAGIC = b"costmodel-registry-cache 2\n"
KEEP = 16  # entries kept (most recently written)
MAX_FILES = 5000  # files hashed for one key; beyond that the cache is not used
MAX_ENTRY = 64 * 2**20  # bytes of one entry
_static: set[str] = set()  # files the last key covered (not repeated among a build's reads)


def directory() -> Path | None:
    if os.environ.get("COSTMODEL_CACHE", "1") == "0":
        return None
    base = os.environ.get("COSTMODEL_CACHE_DIR")
    if base:
        return Path(base)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return Path(xdg) / "costmodel" if xdg else Path.home() / ".cache" / "costmodel"


# --- the key ------------------------------------------------------------------------------------


def fingerprint(paths: Sequence[str], modules: Iterable[tuple[str, str]]) -> str | None:
    """A hash of the content of everything the registry is built from that is known before
    building; None when the cache is off or something can't be located or read."""
    if directory() is None:
        return None
    env_paths = [p for p in os.environ.get("COSTMODEL_PLUGIN_PATH", "").split(os.pathsep) if p.strip()]
    digest = hashlib.sha256()
    digest.update(repr((FORMAT, sys.version, os.environ.get("COSTMODEL_PLUGINS"))).encode())
    for dist in ("sympy", "pint", "pluggy", "attrs"):
        digest.update(_version(dist).encode())
    # a path given by the user fails loudly, one from the environment only notes: keep them apart
    digest.update(repr(("explicit", [os.path.abspath(p) for p in paths])).encode())
    digest.update(repr(("env", [os.path.abspath(p) for p in env_paths])).encode())
    roots = [_package_dir("costmodel")]
    roots.append(_package_dir("costmodel.catalogue"))  # the cards, mapped into the package
    for name, value in modules:
        digest.update(f"{name}={value}".encode())
        roots.append(_package_dir(value.split(":")[0].split(".")[0]))
    if any(root is None for root in roots):
        return None
    files = [f for root in roots for f in _package_files(root)]
    files += [f for p in (*paths, *env_paths) for f in _plugin_path_files(Path(p))]
    if len(files) > MAX_FILES:
        return None
    _static.clear()
    _static.update(str(f) for f in files)
    for path in files:
        content = content_hash(path)
        if content is None:
            return None
        digest.update(f"{path}\0{content}\0".encode())
    return digest.hexdigest()[:32]


def content_hash(path: str | Path) -> str | None:
    """sha256 of a regular file's bytes; '-' for a path that does not exist; None if unreadable."""
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):
            return "-" if stat.S_ISDIR(st.st_mode) else None
        with open(path, "rb") as fh:
            return hashlib.sha256(fh.read()).hexdigest()
    except FileNotFoundError:
        return "-"
    except OSError:
        return None


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


def _package_files(root: Path) -> list[Path]:
    """Every regular file of a package (modules, data files of any kind), not compiled bytecode."""
    if not root.is_dir():
        return [root]
    found = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__" and not d.startswith("."))
        found += [Path(folder) / n for n in sorted(names) if not n.endswith((".pyc", ".pyo"))]
        if len(found) > MAX_FILES:
            break
    return found


def _plugin_path_files(path: Path) -> list[Path]:
    """What loading a plugin path reads: the file, or a folder's plugin files (not recursive)."""
    if not path.is_dir():
        return [path.absolute()]
    try:
        with os.scandir(path) as entries:
            names = []
            for i, entry in enumerate(entries):
                if i > MAX_FILES:
                    break
                names.append(entry.name)
    except OSError:
        return [path.absolute()]
    return [path.absolute() / n for n in sorted(names) if n.endswith((".py", ".toml"))]


# --- what a build reads -------------------------------------------------------------------------

_recording: list[str] | None = None
_hooked = False


def _audit(event: str, args: tuple) -> None:
    if _recording is not None and event == "open" and args and isinstance(args[0], str):
        _recording.append(args[0])


@contextlib.contextmanager
def recording() -> Iterator[list[str]]:
    """Collect the files opened and the modules imported while the block runs (a build); on exit
    the list holds those outside the standard library and site-packages (whose versions or own
    content are in the key already)."""
    global _recording, _hooked
    if not _hooked:
        sys.addaudithook(_audit)
        _hooked = True
    before = set(sys.modules)
    found: list[str] = []
    _recording = found
    try:
        yield found
    finally:
        _recording = None
    for name in set(sys.modules) - before:
        file = getattr(sys.modules.get(name), "__file__", None)
        if isinstance(file, str):
            found.append(file)
    kept = sorted({os.path.abspath(f) for f in found if _worth_keeping(f)})
    found[:] = kept


def _ignored_roots() -> list[str]:
    paths = sysconfig.get_paths()
    roots = {paths.get(k) for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    roots |= {p for p in sys.path if p.rstrip(os.sep).endswith(("site-packages", "dist-packages"))}
    roots |= {"/proc", "/dev", "/sys"}
    folder = directory()
    if folder is not None:
        roots.add(str(folder))
    return [os.path.abspath(r) for r in roots if r]


def _worth_keeping(path: str) -> bool:
    if path.endswith((".pyc", ".pyo")) or not os.path.isfile(path):
        return False
    full = os.path.abspath(path)
    return not any(full == r or full.startswith(r.rstrip(os.sep) + os.sep) for r in _ignored_roots())


# --- signed entries -----------------------------------------------------------------------------


def _secure_folder(create: bool) -> tuple[Path, bytes] | None:
    """(folder, signing key) when the cache folder is ours alone, else None."""
    folder = directory()
    if folder is None:
        return None
    try:
        if create:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = os.lstat(folder)
        if not stat.S_ISDIR(st.st_mode) or not _ours(st):
            return None
        if st.st_mode & 0o077:
            if not create:
                return None
            os.chmod(folder, 0o700)
        return folder, _key(folder, create)
    except OSError:
        return None


def _ours(st: os.stat_result) -> bool:
    return not hasattr(os, "getuid") or st.st_uid == os.getuid()


def _key(folder: Path, create: bool) -> bytes:
    path = folder / "key"
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        if not create:
            raise
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(secrets.token_bytes(32))
        fd = os.open(path, flags)
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode) or not _ours(st) or st.st_mode & 0o077:
            raise PermissionError("cache key not private")
        key = fh.read(64)
    if len(key) != 32:
        raise PermissionError("cache key malformed")
    return key


def _entry(folder: Path, key: str) -> Path:
    return folder / f"registry-{key}.cache"


def read(key: str | None):
    """(registry, plugin infos) from the cache, or None (and a bad entry is removed)."""
    secure = None if key is None else _secure_folder(create=False)
    if secure is None:
        return None
    folder, secret = secure
    path = _entry(folder, key)
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_ENTRY + 1)
    except OSError:
        return None
    loaded = _verified(data, secret)
    if loaded is None:
        with contextlib.suppress(OSError):
            path.unlink()
        return None
    registry, infos, unit_table = loaded
    from costmodel import units

    units.remember(unit_table)
    return registry, infos


def _verified(data: bytes, secret: bytes):
    """The entry's (registry, infos, unit table) if signed, current and of the right shape."""
    if len(data) > MAX_ENTRY or not data.startswith(MAGIC):
        return None
    head, _, rest = data[len(MAGIC):].partition(b"\n")
    if not hmac.compare_digest(head, hmac.new(secret, rest, hashlib.sha256).hexdigest().encode()):
        return None
    deps_line, _, payload = rest.partition(b"\n")
    try:
        deps = json.loads(deps_line)
        if any(content_hash(p) != h for p, h in deps):
            return None  # a file the build read has changed since
        loaded = _Unpickler(io.BytesIO(payload)).load()
    except Exception:  # a malformed entry only costs a rebuild
        return None
    return loaded if _right_shape(loaded) else None


def _right_shape(loaded) -> bool:
    from costmodel.loading import PluginInfo
    from costmodel.registry import Registry

    return (isinstance(loaded, tuple) and len(loaded) == 3 and isinstance(loaded[0], Registry)
            and isinstance(loaded[1], list) and all(isinstance(i, PluginInfo) for i in loaded[1])
            and isinstance(loaded[2], dict))


_SAFE_BUILTINS = {"frozenset", "set", "tuple", "list", "dict", "slice", "complex", "bytes",
                  "bytearray", "range", "object", "bool", "int", "float", "str"}


class _Unpickler(pickle.Unpickler):
    """Admits costmodel's own classes and functions (engine and plugins) and `ast` nodes only."""

    def find_class(self, module: str, name: str):
        top = module.split(".")[0]
        allowed = (
            (module == "builtins" and name in _SAFE_BUILTINS)
            or (module == "ast" and name[:1].isupper())
            or top == "costmodel"
            or top.startswith("costmodel_")
            or top in _plugin_modules()
        )
        if not allowed:
            raise pickle.UnpicklingError(f"{module}.{name} is not allowed in the cache")
        return super().find_class(module, name)


def _plugin_modules() -> set[str]:
    from costmodel.loading import _entry_point_modules

    return {value.split(":")[0].split(".")[0] for _, value in _entry_point_modules()}


def write(key: str | None, registry, infos, deps: Sequence[str] = ()) -> None:
    """Save a built registry with the content hashes of the files the build read."""
    secure = None if key is None else _secure_folder(create=True)
    if secure is None:
        return
    folder, secret = secure
    from costmodel import units

    temp = None
    try:
        hashes = [(p, content_hash(p)) for p in deps if p not in _static]
        if any(h is None for _, h in hashes):
            return
        payload = pickle.dumps((registry, infos, units.table()), protocol=pickle.HIGHEST_PROTOCOL)
        rest = json.dumps(hashes).encode() + b"\n" + payload
        signature = hmac.new(secret, rest, hashlib.sha256).hexdigest().encode()
        fd, temp = _mkstemp(folder)
        with os.fdopen(fd, "wb") as fh:
            fh.write(MAGIC + signature + b"\n" + rest)
        os.replace(temp, _entry(folder, key))
        temp = None
        _evict(folder)
    except Exception:  # unpicklable plugin objects, a full disk: no cache, same answers
        pass
    finally:
        if temp is not None:
            with contextlib.suppress(OSError):
                os.unlink(temp)


def _mkstemp(folder: Path) -> tuple[int, str]:
    import tempfile

    return tempfile.mkstemp(dir=folder, suffix=".tmp")


def _evict(folder: Path) -> None:
    """Keep the most recently written entries only."""
    files = sorted(folder.glob("registry-*.cache"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in files[KEEP:]:
        with contextlib.suppress(OSError):
            old.unlink()
