"""Plugins: entry points like the built-ins, local paths, the allow-list, broken plugins reported."""

import json
import textwrap

import pytest

from costmodel import api
from costmodel.errors import UserError

GOOD = '''
from costmodel import hookimpl
from costmodel.declarations import Family, Formula, Quantity

@hookimpl
def register_families(register):
    register(Family(
        name="tiny", doc="tiny family", source="test",
        quantities=[Quantity(name="width", doc="w", kind="integer", positive=True)],
        defaults={"width": 10},
        formulas=[Formula(target="n_params", expr="width**2 * param", doc="d", source="s")],
    ))
'''


def plugin(tmp_path, name, text):
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(text))
    return str(path)


def test_builtins_come_through_entry_points(fresh_registry):
    infos = {p.name: p for p in api.plugins()}
    assert infos["core"].origin.startswith("entry point core = costmodel_core")
    assert "register_quantities" in infos["core"].hooks
    assert infos["core"].error is None


def test_local_python_plugin_by_path(tmp_path, fresh_registry):
    path = plugin(tmp_path, "good", GOOD)
    r = api.estimate("tiny", plugins=[path])
    assert r.results["n_params"].m_as("param") == 100


def test_misspelled_hook_is_rejected_loudly(tmp_path, fresh_registry, cli):
    path = plugin(tmp_path, "typo", GOOD.replace("def register_families", "def register_familes"))
    with pytest.raises(UserError, match="register_familes"):
        api.registry([path])
    code, out, err = cli("plugins", "--plugin", path)
    assert code == 1 and "register_familes" in err


def test_broken_plugin_in_a_folder_is_reported_and_others_load(tmp_path, fresh_registry, cli, monkeypatch):
    folder = tmp_path / "plugins"
    folder.mkdir()
    plugin(folder, "good", GOOD)
    plugin(folder, "broken", "import nonexistent_module_xyz\n")
    plugin(folder, "dimension", GOOD.replace('"tiny"', '"tiny2"').replace("width**2 * param", "width**2 * FLOP"))
    monkeypatch.setenv("COSTMODEL_PLUGIN_PATH", str(folder))
    api.reload()
    reg = api.registry()
    assert "tiny" in reg.families  # the good one loaded
    assert "tiny2" not in reg.families
    errors = {name: message for name, message in reg.failures}
    assert "dimension error" in errors["dimension"]
    code, out, err = cli("plugins", "--json")
    data = {p["name"]: p for p in json.loads(out)}
    assert "ModuleNotFoundError" in data["broken"]["error"]
    assert "dimension error" in data["dimension"]["error"]
    assert data["good"]["error"] is None and data["core"]["error"] is None
    code, out, err = cli("estimate", "tiny", "--json")
    data = json.loads(out)
    assert code == 0 and data["results"]["n_params"]["value"] == 100
    assert any(w.startswith("plugin dimension is broken") for w in data["warnings"])


def test_allow_list_limits_entry_points(monkeypatch, fresh_registry):
    monkeypatch.setenv("COSTMODEL_PLUGINS", "core")
    api.reload()
    assert {p.name for p in api.plugins()} == {"core"}
    monkeypatch.setenv("COSTMODEL_PLUGINS", "")
    api.reload()
    assert api.plugins() == [] and api.registry().quantities == {}


CLASH = '''
from costmodel import hookimpl
from costmodel.declarations import Quantity

@hookimpl
def register_quantities(register):
    register(Quantity(name="n_params", unit="byte", doc="wrong unit"))
'''


def test_duplicate_quantity_with_another_unit_is_reported(tmp_path, fresh_registry, monkeypatch):
    """Found on COSTMODEL_PLUGIN_PATH: reported, the vocabulary keeps its unit; named: an error."""
    path = plugin(tmp_path, "clash", CLASH)
    monkeypatch.setenv("COSTMODEL_PLUGIN_PATH", path)
    reg = api.registry()
    assert any("n_params" in m and "declared by core" in m for _, m in reg.failures)
    assert reg.quantities["n_params"].unit == "param"
    monkeypatch.delenv("COSTMODEL_PLUGIN_PATH")
    with pytest.raises(UserError, match="declared by core"):
        api.registry([path])


def test_quantity_named_like_a_unit_is_rejected(tmp_path, fresh_registry):
    path = plugin(tmp_path, "dayname", GOOD.replace('name="width"', 'name="d"').replace("width**2", "d**2")
                  .replace('{"width": 10}', '{"d": 10}'))
    with pytest.raises(UserError, match="quantity name 'd' is also a unit"):
        api.registry([path])


def test_families_and_hardware_listings(cli, toy):
    code, out, err = cli("families", "--plugin", toy, "--json")
    names = {f["name"]: f for f in json.loads(out)}
    assert names["toy"]["presets"] == ["small"]
    code, out, err = cli("hardware", "--json")
    cards = {c["name"]: c for c in json.loads(out)}
    assert cards["RTX 4070"]["values"]["gpu_memory"]["value"] == 12 * 2**30
    assert cards["RTX 4070"]["values"]["gpu_memory"]["source"]
    code, out, err = cli("hardware", "rtx-4070")
    assert code == 0 and "58.30 TFLOP/s" in out


def test_engine_modules_do_not_shadow_the_api_names():
    """`costmodel.hardware()` and `costmodel.plugins()` are the API's listings; importing the
    plugin loader and the card catalogue must not replace them with modules."""
    import costmodel
    import costmodel.catalogue  # noqa: F401
    import costmodel.loading  # noqa: F401

    assert callable(costmodel.hardware) and callable(costmodel.plugins)
    assert "RTX 4070" in {card.name for card in costmodel.hardware()}
