"""Removing any one built-in plugin leaves the others working (COSTMODEL_PLUGINS allow-list).

The generic plugins (memory, time) depend only on the architecture features of the vocabulary,
never on a family; the families need neither of them. `core` is the vocabulary itself: without it
every other plugin is reported broken by name, and nothing crashes.
"""

from __future__ import annotations

import pytest

from costmodel import api

BUILTINS = ("core", "nanogpt", "nanochat", "memory", "time")
# nanoGPT's gpt2 checkpoint: 124,439,808 parameters with wpe (model.py@3adf61e154c3 L148-L160
# prints 124.44M less wpe's 1024 x 768); nanochat v0 d20: 20 blocks of 12 d^2 (d = 1280) and untied wte
# and lm_head of 65536 x 1280 (gpt.py@fae3aca9519a L74-L77, L159-L162): 560,988,160
GPT2_PARAMS = 12 * (12 * 768**2 + 13 * 768) + (50257 + 1024 + 2) * 768
D20_V0_PARAMS = 20 * 12 * 1280**2 + 2 * 65536 * 1280


@pytest.fixture
def only(monkeypatch, tmp_path):
    def load(names):
        monkeypatch.setenv("COSTMODEL_PLUGINS", ",".join(names))
        monkeypatch.setenv("COSTMODEL_CACHE_DIR", str(tmp_path / "-".join(names)))
        api.reload()
        return api.registry()

    yield load
    api.reload()


@pytest.mark.parametrize("removed", [p for p in BUILTINS if p != "core"])
def test_each_plugin_can_be_removed(only, removed):
    loaded = [p for p in BUILTINS if p != removed]
    registry = only(loaded)
    assert not registry.failures, registry.failures
    assert {p.name for p in api.plugins() if p.origin.startswith("entry point")} == set(loaded)
    card = "h100-sxm" if "time" in loaded else None
    for family, preset, params in (("nanogpt", "gpt2", GPT2_PARAMS), ("nanochat", "d20", D20_V0_PARAMS)):
        if family not in loaded:
            assert family not in registry.families
            continue
        values = {"version": "v0"} if family == "nanochat" else {}
        r = api.estimate(family, preset=preset, hardware=card, values=values)
        assert r["n_params"].m_as("param") == params
        assert ("mem_peak" in r.numbers) is ("memory" in loaded)
        assert ("wall_time" in r.numbers) is ("time" in loaded)
        assert not [w for w in r.warnings if "broken" in w or "architecture feature" in w]
        if "memory" in loaded:
            assert r["mem_peak"].m_as("byte") > r["mem_weights"].m_as("byte") > 0


def test_without_core_the_others_are_reported_not_crashed(only):
    registry = only([p for p in BUILTINS if p != "core"])
    assert {name for name, _ in registry.failures} == {"nanogpt", "nanochat", "memory", "time"}
    assert not registry.families
