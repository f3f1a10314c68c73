"""The registry cache saves time and never changes an answer."""

import os
import time

from costmodel import api, cache


def test_second_load_comes_from_the_cache(tmp_path, monkeypatch, toy, fresh_registry):
    monkeypatch.setenv("COSTMODEL_CACHE_DIR", str(tmp_path))
    first = api.estimate("toy", plugins=[toy]).numbers
    assert list(tmp_path.glob("registry-*.pickle"))
    api.reload()
    second = api.estimate("toy", plugins=[toy]).numbers
    assert first == second


def test_editing_a_plugin_file_rebuilds(tmp_path, monkeypatch, fresh_registry):
    monkeypatch.setenv("COSTMODEL_CACHE_DIR", str(tmp_path / "cache"))
    family = tmp_path / "fam.toml"
    text = ('[family]\nname = "f"\ndoc = "d"\nsource = "s"\n[quantities.a]\ndoc = "a"\n'
            '[defaults]\na = 2\n[[formulas]]\ntarget = "n_params"\nexpr = "A * a * param"\n'
            'doc = "d"\nsource = "s"\n')
    family.write_text(text.replace("A", "3"))
    assert api.estimate("f", plugins=[str(family)]).numbers["n_params"] == 6
    api.reload()
    family.write_text(text.replace("A", "5"))
    os.utime(family, ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))
    assert api.estimate("f", plugins=[str(family)]).numbers["n_params"] == 10


def test_cache_can_be_turned_off(monkeypatch, toy):
    monkeypatch.setenv("COSTMODEL_CACHE", "0")
    assert cache.directory() is None
    assert cache.fingerprint([toy], []) is None
