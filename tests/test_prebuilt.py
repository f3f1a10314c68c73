"""The registry shipped in the package is current, equal to a build, and used only when it fits.

The shipped files (costmodel/prebuilt_registry.pickle and .py) are written by
`python scripts/build_prebuilt.py`: a change to the engine, a built-in plugin or the hardware
catalogue makes them stale; rerun it and commit what it writes.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from costmodel import api, loading, prebuilt

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "build_prebuilt.py"


@pytest.fixture
def modules():
    return loading._entry_point_modules()


@pytest.fixture
def empty_cache(tmp_path, monkeypatch, fresh_registry):
    monkeypatch.setenv("COSTMODEL_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_the_shipped_registry_is_current(modules):
    from costmodel import prebuilt_registry

    assert sorted(n for n, _ in modules) == sorted(os.environ["COSTMODEL_PLUGINS"].split(","))
    assert prebuilt.key(modules, prebuilt_registry.MODULES) == prebuilt_registry.KEY, \
        "stale: run python scripts/build_prebuilt.py and commit what it writes"
    assert hashlib.sha256(prebuilt.DATA.read_bytes()).hexdigest() == prebuilt_registry.SHA256


def test_the_key_covers_every_plugin_module_and_card(modules):
    from costmodel import prebuilt_registry

    names = {name for name, _ in prebuilt.files(modules, prebuilt_registry.MODULES)}
    assert "costmodel/registry.py" in names and "costmodel/units.txt" in names
    assert {"costmodel_core/__init__.py", "costmodel_nanogpt/__init__.py"} <= names
    assert "costmodel.catalogue/rtx-4070.toml" in names
    assert not any(n.endswith(("prebuilt_registry.pickle", "prebuilt_registry.py")) for n in names)


def test_it_equals_a_fresh_build(modules, monkeypatch):
    shipped, infos = prebuilt.read(modules)
    monkeypatch.setenv("COSTMODEL_CACHE", "0")
    built, built_infos = loading.load_registry(())
    assert infos == built_infos
    assert shipped.quantities == built.quantities
    assert shipped.families == built.families
    assert shipped.hardware == built.hardware  # the cards' files: this machine's paths again
    assert shipped.hardware_values == built.hardware_values
    for mine, theirs in ((shipped.formulas, built.formulas),
                         *zip(shipped.family_formulas.values(), built.family_formulas.values())):
        assert [(f.target, f.inputs, f.program, f.condition and f.condition.text) for f in mine] \
            == [(f.target, f.inputs, f.program, f.condition and f.condition.text) for f in theirs]
    assert all(Path(card.origin).is_file() for card in shipped.hardware.values())


def test_a_first_run_uses_it_without_sympy(empty_cache):
    code = ("import sys; from costmodel.cli import main; "
            "main(['estimate', 'nanogpt', '--preset', 'gpt2', '-H', 'rtx-4070']); "
            "sys.stderr.write('SYMPY' if 'sympy' in sys.modules else 'NO-SYMPY')")
    env = {**os.environ, "COSTMODEL_CACHE_DIR": str(empty_cache)}
    first = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    built = subprocess.run([sys.executable, "-c", code], env={**env, "COSTMODEL_CACHE": "0"},
                           capture_output=True, text=True)
    assert first.stderr.endswith("NO-SYMPY") and built.stderr.endswith("SYMPY"), first.stderr
    assert first.stdout == built.stdout and "mem_peak" in first.stdout


def test_plugin_paths_are_built_not_prebuilt(empty_cache, toy):
    assert "toy" in api.registry((toy,)).families


def test_stale_or_altered_files_are_ignored(modules, tmp_path, monkeypatch):
    from costmodel import prebuilt_registry

    assert prebuilt.read(modules) is not None
    monkeypatch.setattr(prebuilt_registry, "KEY", "0" * 32)  # sources changed since the build
    assert prebuilt.read(modules) is None
    monkeypatch.undo()
    altered = tmp_path / "prebuilt_registry.pickle"
    data = bytearray(prebuilt.DATA.read_bytes())
    data[-20] ^= 1
    altered.write_bytes(bytes(data))
    monkeypatch.setattr(prebuilt, "DATA", altered)
    assert prebuilt.read(modules) is None


def test_an_edit_of_any_source_changes_the_key(modules, tmp_path, monkeypatch):
    real = prebuilt.roots(modules)
    copies = []
    for name, folder in real:
        copy = tmp_path / name
        shutil.copytree(folder, copy, ignore=shutil.ignore_patterns("__pycache__"))
        copies.append((name, copy))
    monkeypatch.setattr(prebuilt, "roots", lambda _: copies)
    engine = ("registry.py",)
    before = prebuilt.key(modules, engine)
    assert before == prebuilt.key(modules, engine)
    for edited in ("costmodel.catalogue/rtx-4070.toml", "costmodel_nanogpt/__init__.py", "costmodel/registry.py",
                   "costmodel/units.txt"):
        path = tmp_path / edited
        path.write_text(path.read_text() + "\n")  # same meaning, other bytes
        assert prebuilt.key(modules, engine) != before, edited
        before = prebuilt.key(modules, engine)
    api = tmp_path / "costmodel" / "api.py"  # not imported by the build: not in the key
    api.write_text(api.read_text() + "\n")
    assert prebuilt.key(modules, engine) == before


def test_a_planted_payload_does_not_run(modules, tmp_path, monkeypatch):
    """Even with a matching hash (someone who can write the package's code), the unpickler admits
    costmodel's own classes only."""
    from costmodel import prebuilt_registry

    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    data = pickle.dumps(Payload())
    planted = tmp_path / "planted.pickle"
    planted.write_bytes(data)
    monkeypatch.setattr(prebuilt, "DATA", planted)
    monkeypatch.setattr(prebuilt_registry, "SHA256", hashlib.sha256(data).hexdigest())
    assert prebuilt.read(modules) is None
    assert not marker.exists()


def test_the_build_script_checks_freshness():
    done = subprocess.run([sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "current" in done.stdout
