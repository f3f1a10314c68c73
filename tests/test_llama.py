"""The llama family (plugins/costmodel_llama/llama.toml) and the JSON config reader it declares.

Parameter counts are checked against numbers worked out by hand from each model's published
config.json (the real files are in tests/data/hf/; their URLs in docs/families/llama.md).
The PyTorch validation is tests/validation/test_llama_reference.py.
"""

from __future__ import annotations

import json
from importlib import resources

import pytest

from costmodel import api
from costmodel.config_json import JsonConfig, read_json
from costmodel.errors import UserError

from pathlib import Path

HF = Path(__file__).parent / "data" / "hf"
# (config file, preset, parameters by hand: see test_llama_reference.PRESETS for the sums)
PUBLISHED = [
    ("tinyllama-1.1b.json", "tinyllama-1.1b", 1_100_048_384),
    ("llama-3.2-1b.json", "llama-3.2-1b", 1_235_814_400),
    ("smollm2-360m.json", "smollm2-360m", 361_821_120),
    ("qwen2.5-0.5b.json", "qwen2.5-0.5b", 494_032_768),
]
SHAPE = ("n_layer", "d_model", "n_head", "n_kv_head", "head_dim", "d_ff", "vocab_size",
         "tied_embeddings", "qkv_bias", "out_bias", "mlp_bias")



def _value(result, name):
    return result.input_numbers.get(name, result.numbers.get(name))


@pytest.mark.parametrize("config, preset, params", PUBLISHED)
def test_a_real_config_json_gives_the_published_count_and_the_presets_shape(config, preset, params):
    from_file = api.estimate("llama", config=str(HF / config))
    from_preset = api.estimate("llama", preset=preset)
    assert from_file["n_params"].m_as("param") == params
    assert from_preset["n_params"].m_as("param") == params
    for name in SHAPE:
        assert _value(from_file, name) == _value(from_preset, name), name
    assert not from_file.warnings  # every key of the real files is known


def test_qwen2_model_type_sets_the_qkv_bias():
    r = api.estimate("llama", config=str(HF / "qwen2.5-0.5b.json"))
    assert r.input_numbers["qkv_bias"] is True and r.input_numbers["out_bias"] is False
    # 24 layers x (896 + 2*128) bias entries
    unbiased = api.estimate("llama", preset="qwen2.5-0.5b", values={"qkv_bias": False})
    assert r["n_params"].m_as("param") - unbiased["n_params"].m_as("param") == 24 * (896 + 256)


def test_missing_keys_mean_what_transformers_assumes(tmp_path):
    data = json.loads((HF / "tinyllama-1.1b.json").read_text())
    for key in ("num_key_value_heads", "tie_word_embeddings", "attention_bias"):
        data.pop(key)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(data))
    r = api.estimate("llama", config=str(path))
    assert r["n_kv_head"].m_as("1") == 32  # MHA: num_key_value_heads = num_attention_heads
    assert r.input_numbers["tied_embeddings"] is False
    assert r["head_dim"].m_as("1") == 64  # hidden_size / num_attention_heads
    # MHA adds 2 * 2048 * (2048 - 256) k/v weights per layer to TinyLlama's count
    assert r["n_params"].m_as("param") == 1_100_048_384 + 22 * 2 * 2048 * (2048 - 256)


def test_unknown_keys_are_listed_in_a_note(tmp_path, cli):
    data = json.loads((HF / "smollm2-360m.json").read_text())
    data.update({"num_experts": 8, "qk_layernorm": True})
    path = tmp_path / "config.json"
    path.write_text(json.dumps(data))
    r = api.estimate("llama", config=str(path))
    assert any("num_experts, qk_layernorm" in w for w in r.warnings)
    code, _, err = cli("estimate", "llama", "--config", str(path))
    assert code == 0 and "note: config.json: key(s) not read" in err and "num_experts" in err


def test_overrides_after_config(cli):
    r = api.estimate("llama", config=str(HF / "tinyllama-1.1b.json"),
                     config_overrides=["--num_hidden_layers=2", "--tie_word_embeddings=true"])
    # 32000*2048 (tied) + 2*(2*2048*2048 + 2*2048*256 + 3*2048*5632 + 2*2048) + 2048
    assert r["n_params"].m_as("param") == 32000 * 2048 + 2 * 44_044_288 + 2048
    code, _, err = cli("estimate", "llama", "--config", str(HF / "tinyllama-1.1b.json"),
                       "--num_hidden_layer=2")
    assert code == 1 and "did you mean: num_hidden_layers" in err


@pytest.mark.parametrize("change, message", [
    ({"num_key_value_heads": 5}, "must be a multiple of num_key_value_heads"),
    ({"num_attention_heads": 30, "num_key_value_heads": 30}, "no head_dim is given"),
    ({"model_type": "gemma"}, "model_type 'gemma' is not one this family reads"),
    ({"hidden_act": "gelu"}, "hidden_act 'gelu'"),
    ({"hidden_size": "2048"}, "hidden_size must be a number"),
    ({"num_hidden_layers": 2.5}, "must be a whole number"),
    ({"num_hidden_layers": True}, "expected a number"),
    ({"attention_bias": True, "model_type": "qwen2"}, "contradicts model_type 'qwen2'"),
    ({"vocab_size": None}, "missing key(s) vocab_size"),
])
def test_contradictory_or_unreadable_configs_are_refused(tmp_path, cli, change, message):
    data = json.loads((HF / "tinyllama-1.1b.json").read_text())
    data.update(change)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(data))
    code, out, err = cli("estimate", "llama", "--config", str(path))
    assert code == 1 and out == ""
    assert message in err and len(err.strip().splitlines()) == 1, err


@pytest.mark.parametrize("text, message", [
    ('{"hidden_size": 2048, "hidden_size": 1024}', "'hidden_size' is given twice: 2048 and 1024"),
    ('{"hidden_size": NaN}', "not valid JSON"),
    ("[1, 2]", "one JSON object, not list"),
    ("{", "not valid JSON"),
])
def test_malformed_json_is_refused(tmp_path, text, message):
    path = tmp_path / "config.json"
    path.write_text(text)
    with pytest.raises(UserError) as info:
        read_json(str(path))
    assert message in str(info.value)


def _documented_toml() -> str:
    """The family as docs/families/llama.md prints it for users to copy."""
    page = (Path(__file__).resolve().parents[1] / "docs" / "families" / "llama.md").read_text()
    marker = "<!-- file: plugins/costmodel_llama/llama.toml -->\n```toml\n"
    return page[page.index(marker) + len(marker):].rsplit("```", 1)[0]


def test_the_docs_print_the_family_file_exactly():
    assert _documented_toml() == (resources.files("costmodel_llama") / "llama.toml").read_text()


def test_a_users_copy_of_the_toml_gives_identical_results(tmp_path):
    text = _documented_toml().replace('name = "llama"', 'name = "myllama"').replace(
        'aliases = ["llama2", "llama3", "mistral", "qwen2", "smollm", "tinyllama"]', "aliases = []")
    mine = tmp_path / "myllama.toml"
    mine.write_text(text)
    for kwargs in ({"preset": "tinyllama-1.1b"}, {"config": str(HF / "qwen2.5-0.5b.json")},
                   {"preset": "llama-3.1-8b", "values": {"attention": "eager", "seq_len": 4096}}):
        builtin = api.estimate("llama", hardware="rtx-4090", **kwargs)
        copy = api.estimate("myllama", hardware="rtx-4090", plugins=[str(mine)], **kwargs)
        assert copy.numbers == builtin.numbers
        assert copy.input_numbers == builtin.input_numbers


def test_the_config_table_is_checked_when_the_family_is_read(tmp_path):
    source = resources.files("costmodel_llama") / "llama.toml"
    bad = tmp_path / "bad.toml"
    bad.write_text(source.read_text().replace("[config.absent]", "[config.absnet]"))
    with pytest.raises(UserError, match=r"unknown key\(s\) absnet in \[config\]"):
        api.estimate("llama", plugins=[str(bad)])


def test_every_quantity_the_mapping_sets_is_declared():
    family = api.registry().family("llama")
    assert isinstance(family.config_loader, JsonConfig)
    assert family.config_loader.quantities() <= set(api.registry().quantities)


def test_estimate_cli_with_preset_and_hardware(cli):
    code, out, err = cli("estimate", "llama", "--preset", "tinyllama-1.1b", "-H", "rtx-4090", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["results"]["n_params"]["value"] == 1_100_048_384
    assert data["hardware"] == "RTX 4090"


def test_the_family_loads_from_its_entry_point():
    plugins = {p.name: p for p in api.plugins()}
    assert plugins["llama"].error is None and plugins["llama"].hooks == ("register_families",)


def test_the_config_example_of_the_plugin_docs(tmp_path):
    """docs/plugins.md's `[config]` example, added to its tutorial family, reads a config.json."""
    import re

    page = (Path(__file__).resolve().parents[1] / "docs" / "plugins.md").read_text()

    def block(kind, name):
        return re.search(rf"<!-- {kind}: {re.escape(name)} -->\n```toml\n(.*?)^```", page, re.S | re.M)[1]

    family = block("tutorial", "tinylm.toml").replace(
        "[quantities]\n", '[quantities]\nqkv_bias = { doc = "q/k/v biases", kind = "bool" }\n')
    path = tmp_path / "tinylm.toml"
    path.write_text(family + block("example", "config.toml"))
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"hidden_size": 512, "num_hidden_layers": 2, "num_attention_heads": 8,
                                  "model_type": "qwen2", "rope_theta": 1e4, "use_cache": True}))
    r = api.estimate("tinylm", plugins=[str(path)], config=str(config))
    assert r["n_params"].m_as("param") == 2 * 2 * 512 * (2 * 512 + 1024)  # Kaplan's count
    values = api.scenario("tinylm", plugins=[str(path)], config=str(config)).values
    assert values["n_kv_head"] == 8 and values["qkv_bias"] == 1  # absent: same as the heads; qwen2
    assert r.warnings[0].endswith("not model them): use_cache")


@pytest.mark.parametrize("loaded", ["core,llama", "core,llama,memory", "core,llama,time",
                                    "core,llama,memory,time"])
def test_the_family_needs_only_core(monkeypatch, tmp_path, loaded):
    """The family is data over core's vocabulary; memory and time add their numbers when loaded."""
    monkeypatch.setenv("COSTMODEL_PLUGINS", loaded)
    monkeypatch.setenv("COSTMODEL_CACHE_DIR", str(tmp_path))
    api.reload()
    try:
        assert not api.registry().failures
        r = api.estimate("llama", preset="llama-3.2-1b", hardware="h100-sxm")
        assert r["n_params"].m_as("param") == 1_235_814_400
        assert ("mem_peak" in r.numbers) is ("memory" in loaded)
        assert ("wall_time" in r.numbers) is ("time" in loaded)
        assert not [w for w in r.warnings if "broken" in w or "architecture feature" in w]
    finally:
        api.reload()
