"""The registry cache saves time and never changes an answer, and cannot be used to run code."""

import hashlib
import hmac
import os
import pickle
import stat
import sys
import textwrap

import pytest

from costmodel import api, cache

FAMILY = ('[family]\nname = "f"\ndoc = "d"\nsource = "s"\n[quantities.a]\ndoc = "a"\n'
          '[defaults]\na = 2\n[[formulas]]\ntarget = "n_params"\nexpr = "A * a * param"\n'
          'doc = "d"\nsource = "s"\n')

# A one-file plugin whose family's default comes from a data file and a helper module next to it.
PLUGIN = '''
import sys
from pathlib import Path

from costmodel import hookimpl
from costmodel.declarations import Family, Formula, Quantity

sys.path.insert(0, str(Path(__file__).parent))
import {helper}

DATA = int((Path(__file__).parent / "width.txt").read_text())

@hookimpl
def register_families(register):
    register(Family(
        name="tiny", doc="tiny family", source="test",
        quantities=[Quantity(name="width", doc="w", kind="integer", positive=True)],
        defaults={{"width": DATA}},
        formulas=[Formula(target="n_params", expr=f"{{{helper}.FACTOR}} * width * param",
                          doc="d", source="s")],
    ))
'''


@pytest.fixture
def cache_dir(tmp_path, monkeypatch, fresh_registry):
    folder = tmp_path / "cache"
    monkeypatch.setenv("COSTMODEL_CACHE_DIR", str(folder))
    return folder


def same_size_edit(path, old, new):
    """Replace `old` by `new` (same length) and restore the modification time."""
    before = os.stat(path)
    text = path.read_text()
    assert len(old) == len(new) and old in text
    path.write_text(text.replace(old, new))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert os.stat(path).st_size == before.st_size


def fresh_process(*modules):
    """What a new process would see: the cached registry is all that is remembered."""
    api.reload()
    for name in modules:
        sys.modules.pop(name, None)


def n_params(family, plugins):
    return api.estimate(family, plugins=plugins).numbers["n_params"]


def test_second_load_comes_from_the_cache(cache_dir, toy):
    first = api.estimate("toy", plugins=[toy]).numbers
    assert list(cache_dir.glob("registry-*.cache"))
    fresh_process()
    second = api.estimate("toy", plugins=[toy]).numbers
    assert first == second


def test_cache_folder_and_key_are_owner_only(cache_dir, toy):
    api.estimate("toy", plugins=[toy])
    assert stat.S_IMODE(cache_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE((cache_dir / "key").stat().st_mode) == 0o600


def test_same_size_edit_with_mtime_restored_rebuilds(tmp_path, cache_dir):
    family = tmp_path / "fam.toml"
    family.write_text(FAMILY.replace("A", "3"))
    assert n_params("f", [str(family)]) == 6
    fresh_process()
    same_size_edit(family, "3 * a", "5 * a")
    assert n_params("f", [str(family)]) == 10


def test_same_relative_path_in_two_folders(tmp_path, cache_dir, monkeypatch):
    for name, factor in (("one", "3"), ("two", "7")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "fam.toml").write_text(FAMILY.replace("A", factor))
    monkeypatch.chdir(tmp_path / "one")
    assert n_params("f", ["fam.toml"]) == 6
    fresh_process()
    monkeypatch.chdir(tmp_path / "two")
    assert n_params("f", ["fam.toml"]) == 14


def make_plugin(folder, helper):
    folder.mkdir()
    (folder / "width.txt").write_text("10")
    (folder / f"{helper}.py").write_text("FACTOR = 3\n")
    path = folder / "tiny.py"
    path.write_text(textwrap.dedent(PLUGIN.format(helper=helper)))
    return path


@pytest.mark.parametrize("edited, old, new, expected", [
    ("width.txt", "10", "20", 60),  # a data file the plugin reads
    ("helper_{}.py", "3", "4", 40),  # a helper module the one-file plugin imports
])
def test_edited_file_read_by_a_python_plugin_rebuilds(tmp_path, cache_dir, edited, old, new, expected):
    helper = f"helper_{expected}_test"
    path = make_plugin(tmp_path / "p", helper)
    assert n_params("tiny", [str(path)]) == 30
    fresh_process(helper)
    same_size_edit(tmp_path / "p" / edited.format(f"{expected}_test"), old, new)
    assert n_params("tiny", [str(path)]) == expected


def signed(folder, payload: bytes) -> bytes:
    """An entry signed with the folder's own key (what only its owner can write)."""
    rest = b"[]\n" + payload
    secret = (folder / "key").read_bytes()
    return cache.MAGIC + hmac.new(secret, rest, hashlib.sha256).hexdigest().encode() + b"\n" + rest


def entry(folder):
    (path,) = folder.glob("registry-*.cache")
    return path


def test_wrong_shaped_entry_is_discarded_and_rebuilt(tmp_path, cache_dir, toy):
    """Even a correctly signed entry holding the wrong object is thrown away, not used."""
    expected = api.estimate("toy", plugins=[toy]).numbers
    path = entry(cache_dir)
    key = path.name[len("registry-"):-len(".cache")]
    path.write_bytes(signed(cache_dir, pickle.dumps({"not": "a registry"})))
    assert cache.read(key) is None and not path.exists()
    fresh_process()
    assert api.estimate("toy", plugins=[toy]).numbers == expected
    assert entry(cache_dir).exists()


class Payload:
    def __reduce__(self):
        return (os.system, (f"touch {MARKER}",))


MARKER = ""


def test_planted_pickle_does_not_run(tmp_path, cache_dir, toy, monkeypatch):
    global MARKER
    MARKER = str(tmp_path / "pwned")
    api.estimate("toy", plugins=[toy])
    path = entry(cache_dir)
    for planted in (pickle.dumps(Payload()),  # a bare pickle under the entry's name
                    cache.MAGIC + b"0" * 64 + b"\n[]\n" + pickle.dumps(Payload())):  # forged signature
        path.write_bytes(planted)
        fresh_process()
        assert api.estimate("toy", plugins=[toy]).numbers
        assert not os.path.exists(MARKER)


def test_signed_entry_still_admits_only_costmodel_objects(tmp_path, cache_dir, toy):
    """Even with the key stolen, unpickling refuses os.system."""
    global MARKER
    MARKER = str(tmp_path / "pwned2")
    api.estimate("toy", plugins=[toy])
    secret = (cache_dir / "key").read_bytes()
    assert cache._verified(signed(cache_dir, pickle.dumps(Payload())), secret) is None
    assert not os.path.exists(MARKER)


def test_folder_open_to_others_is_not_trusted(cache_dir, toy):
    api.estimate("toy", plugins=[toy])
    key = entry(cache_dir).name[len("registry-"):-len(".cache")]
    os.chmod(cache_dir, 0o777)
    try:
        assert cache.read(key) is None
    finally:
        os.chmod(cache_dir, 0o700)
    assert cache.read(key) is not None


def test_cache_can_be_turned_off(monkeypatch, toy):
    monkeypatch.setenv("COSTMODEL_CACHE", "0")
    assert cache.directory() is None
    assert cache.fingerprint([toy], []) is None
