"""The user's files, read within bounds and written without losing anything.

Reading: only regular files are read (a FIFO would block forever, `/dev/zero` never ends, a
directory is a mistake), each kind of file has a size limit, and text must be UTF-8. Every refusal
is one line that names the file.

Writing: `--output FILE` (and `--plot FILE`) never replaces an existing file unless the user says
`--force`, never writes through a symbolic link onto another file, never writes over a file the same
command reads (its config, plugins, hardware card or log, even with `--force`), and writes
atomically: the data goes to a temporary file in the same folder, which then takes the name in one
step, so an interrupted command leaves the old file or none, never half a file.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from costmodel.errors import UserError

KiB, MiB = 2**10, 2**20

# Size limits by kind of file; each is far above any real file of its kind.
LIMITS = {
    "config": 1 * MiB,  # a nanoGPT config.py or a family's config: a few KiB
    "toml": 4 * MiB,  # a hardware card or a declarative family: a few KiB
    "plugin": 4 * MiB,  # a one-file Python plugin
    "log": 512 * MiB,  # a training log: about 100 bytes a step
}


def _kind_of(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def regular_file(path: str | os.PathLike, what: str, limit: int | None = None) -> os.stat_result:
    """The stat of `path` if it is a regular file within `limit` bytes, else a one-line UserError."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise UserError(f"cannot read {what} {path}: {exc.strerror}") from None
    if not stat.S_ISREG(st.st_mode):
        raise UserError(f"{what} {path} is {_kind_of(st.st_mode)}, not a regular file")
    if limit is not None and st.st_size > limit:
        raise UserError(f"{what} {path} is {_size(st.st_size)}; at most {_size(limit)} is read")
    return st


def read_bytes(path: str | os.PathLike, what: str, kind: str) -> bytes:
    """The content of a regular file of at most `LIMITS[kind]` bytes."""
    limit = LIMITS[kind]
    regular_file(path, what, limit)
    try:  # O_NONBLOCK: a FIFO swapped in after the check cannot block the open
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise UserError(f"cannot read {what} {path}: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UserError(f"{what} {path} is {_kind_of(st.st_mode)}, not a regular file")
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise UserError(f"{what} {path} is larger than {_size(limit)}; at most that is read")
    return data


def read_text(path: str | os.PathLike, what: str, kind: str, errors: str = "strict") -> str:
    """A regular UTF-8 text file of at most `LIMITS[kind]` bytes."""
    data = read_bytes(path, what, kind)
    try:
        return data.decode("utf-8", errors=errors)
    except UnicodeDecodeError as exc:
        raise UserError(f"{what} {path} is not UTF-8 text (byte {exc.start})") from None


def _size(n: int) -> str:
    for scale, name in ((2**30, "GiB"), (MiB, "MiB"), (KiB, "KiB")):
        if n >= scale:
            return f"{n / scale:.3g} {name}"
    return f"{n} bytes"


# --- writing ---------------------------------------------------------------------------------


def inputs_of(*paths: str | os.PathLike | Iterable[str | os.PathLike] | None) -> list[str]:
    """The files and folders a command reads (None and names that are not files are skipped):
    config, plugins (and COSTMODEL_PLUGIN_PATH), a hardware card given as a path, a log."""
    found: list[str] = []
    env = os.environ.get("COSTMODEL_PLUGIN_PATH", "")
    for item in (*paths, [p for p in env.split(os.pathsep) if p.strip()]):
        if item is None:
            continue
        for p in [item] if isinstance(item, (str, os.PathLike)) else item:
            if p is not None and os.path.exists(p):
                found.append(os.fspath(p))
    return found


def check_output(path: str | os.PathLike, *, force: bool = False, inputs: Iterable[str] = (),
                 option: str = "--output") -> None:
    """Refuse an output path that would lose something; see the module's docstring."""
    path = os.fspath(path)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise UserError(f"{option} {path}: {exc.strerror}") from None
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise UserError(f"{option} {path}: the folder {folder} does not exist")
    for given in inputs:
        if _same_or_inside(path, given):
            raise UserError(f"{option} {path} is an input of this command ({given}); "
                            "write the output to another file")
    if st is None:
        return
    if stat.S_ISLNK(st.st_mode):
        if not force:
            raise UserError(f"{option} {path} is a symbolic link; costmodel does not write through "
                            "it (add --force to replace the link itself, never its target)")
        return
    if not stat.S_ISREG(st.st_mode):
        raise UserError(f"{option} {path} is {_kind_of(st.st_mode)}; write to a regular file")
    if not force:
        raise UserError(f"{option} {path} exists; add --force to replace it")


def _same_or_inside(path: str, given: str) -> bool:
    """Whether writing `path` would change `given` (the same file, through any link, or a file
    inside the folder `given`)."""
    real, real_given = os.path.realpath(path), os.path.realpath(given)
    if os.path.isdir(real_given):
        return os.path.commonpath([real, real_given]) == real_given
    if real == real_given:
        return True
    with contextlib.suppress(OSError):
        return os.path.samefile(path, given)  # hard links
    return False


@contextlib.contextmanager
def replacing(path: str | os.PathLike, *, force: bool = False, inputs: Iterable[str] = (),
              option: str = "--output") -> Iterator[str]:
    """A temporary path next to `path` (same suffix); when the block ends without an error it
    becomes `path` in one step, else it is removed and `path` is untouched."""
    path = os.fspath(path)
    inputs = list(inputs)
    check_output(path, force=force, inputs=inputs, option=option)
    folder = os.path.dirname(os.path.abspath(path))
    try:
        fd, temp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.",
                                    suffix=os.path.splitext(path)[1] or ".tmp")
    except OSError as exc:
        raise UserError(f"cannot write {option} {path}: {exc.strerror}") from None
    os.close(fd)
    try:
        yield temp
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temp, 0o666 & ~umask)
        _commit(temp, path, force, inputs, option)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


def _commit(temp: str, path: str, force: bool, inputs: list[str], option: str) -> None:
    check_output(path, force=force, inputs=inputs, option=option)  # nothing appeared meanwhile
    try:
        if force:
            os.replace(temp, path)  # replaces a link itself, never its target
            return
        try:
            os.link(temp, path)  # fails if `path` appeared since the check: no clobbering
        except FileExistsError:
            raise UserError(f"{option} {path} exists; add --force to replace it") from None
        except OSError:  # a file system without hard links
            os.replace(temp, path)
            return
        os.unlink(temp)
    except OSError as exc:
        raise UserError(f"cannot write {option} {path}: {exc.strerror}") from None


def write_text(path: str | os.PathLike, chunks: str | Iterable[str], *, force: bool = False,
               inputs: Iterable[str] = (), option: str = "--output") -> None:
    """Write text (or text chunks, streamed) to `path` safely; see `replacing`."""
    with replacing(path, force=force, inputs=inputs, option=option) as temp:
        try:
            with open(temp, "w", encoding="utf-8", newline="") as fh:
                for chunk in [chunks] if isinstance(chunks, str) else chunks:
                    fh.write(chunk)
        except OSError as exc:
            raise UserError(f"cannot write {option} {path}: {exc.strerror}") from None
