"""docs/plugins.md runs as printed.

Its tutorial blocks (`<!-- tutorial: NAME -->` before the fence) and reference snippets
(`<!-- example: NAME -->`) are written to a temporary folder and loaded the ways the page says:
by path through the CLI and the API, through an entry point, through COSTMODEL_PLUGIN_PATH. The
expected numbers are worked out by hand below, from the tutorial's formulas and defaults, not by
calling the engine. The hook reference is checked against `costmodel.hookspecs`: every hook is
documented with its exact signature, nothing else is documented as a hook, and every hook has a
test here that implements it in a throwaway plugin.
"""

from __future__ import annotations

import inspect
import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

from costmodel import api, hookspecs
from costmodel.cli import main
from costmodel.errors import UserError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DOC = Path(__file__).resolve().parents[1] / "docs" / "plugins.md"
BLOCK = re.compile(
    r"<!-- (?P<kind>tutorial|example): (?P<name>[\w.\-]+) -->[ \t]*\n"
    r"```(?P<lang>\w*)[ \t]*\n(?P<body>.*?)^```",
    re.S | re.M,
)
BUILTINS = "core,nanogpt,nanochat,memory,time,llama"  # as tests/conftest.py

# --- the tutorial's numbers, by hand -------------------------------------------------------------
# Defaults: n_layer 4, d_model 256, d_ff 1024, seq_len 256, micro_batch 16, grad_accum 1,
# n_gpus 1, iters 5000, mfu 0.3. The "round" card peaks at 100 TFLOP/s bf16 dense.
N_PARAMS = 2 * 4 * 256 * (2 * 256 + 1024)  # Kaplan's 2 n_layer d_model (2 d_attn + d_ff)
FLOPS_PER_TOKEN = 6 * N_PARAMS  # 18,874,368
TOKENS_PER_ITER = 16 * 256 * 1 * 1  # 4,096
TOTAL_TOKENS = 5000 * TOKENS_PER_ITER  # 20,480,000
MODEL_FLOPS = FLOPS_PER_TOKEN * TOTAL_TOKENS  # 386,547,056,640,000
ROUND_PEAK = 100e12
WALL_TIME = MODEL_FLOPS / (0.3 * ROUND_PEAK)  # 12.884901888 s

ROUND_CARD = """\
name = "Round GPU"
doc = "a card with round numbers, for arithmetic by hand"
aliases = ["round"]
[values]
peak_flops_bf16 = "100 TFLOP/s"
gpu_memory = "16 GiB"
board_power = "100 W"
[sources]
peak_flops_bf16 = "made up for tests/test_plugin_docs.py"
gpu_memory = "made up for tests/test_plugin_docs.py"
board_power = "made up for tests/test_plugin_docs.py"
"""

SNIPPET_IMPORTS = (
    "from costmodel import hookimpl\n"
    "from costmodel.declarations import Choice, Formula, Hardware, Quantity, Recipe\n\n"
)


def doc_blocks(kind: str | None = None) -> dict[str, tuple[str, str]]:
    """{name: (language, code)} of the marked blocks of docs/plugins.md."""
    found: dict[str, tuple[str, str]] = {}
    for m in BLOCK.finditer(DOC.read_text(encoding="utf-8")):
        if kind is None or m["kind"] == kind:
            assert m["name"] not in found, f"two blocks named {m['name']}"
            found[m["name"]] = (m["lang"], m["body"])
    return found


def write_block(folder: Path, name: str, as_name: str | None = None) -> str:
    _, code = doc_blocks()[name]
    path = folder / (as_name or name)
    path.write_text(code, encoding="utf-8")
    return str(path)


def write_snippets(folder: Path, *names: str, file: str = "extras.py") -> str:
    """Reference snippets of the hooks section joined into one throwaway plugin module."""
    blocks = doc_blocks("example")
    code = SNIPPET_IMPORTS + "\n\n".join(blocks[n][1] for n in names)
    path = folder / file
    path.write_text(code, encoding="utf-8")
    return str(path)


@pytest.fixture(autouse=True)
def fresh(tmp_path, monkeypatch):
    """The registry is cached per tuple of plugin paths, in memory and on disk: forget the one and
    give every test its own disk cache."""
    monkeypatch.setenv("COSTMODEL_CACHE_DIR", str(tmp_path / "cache"))
    api.reload()
    yield
    api.reload()


def forget(monkeypatch, tmp_path: Path, name: str) -> None:
    """A fresh disk cache too (a test that loads the same files in two ways)."""
    monkeypatch.setenv("COSTMODEL_CACHE_DIR", str(tmp_path / f"cache-{name}"))
    api.reload()


@pytest.fixture
def folder(tmp_path) -> Path:
    (tmp_path / "round.toml").write_text(ROUND_CARD, encoding="utf-8")
    return tmp_path


@pytest.fixture
def card(folder) -> str:
    """The round-numbers card, as a hardware TOML file (`-H path.toml`)."""
    return str(folder / "round.toml")


@pytest.fixture(params=["tinylm.py", "tinylm.toml"])
def tutorial(request, folder) -> str:
    """The tutorial family, once as Python and once as TOML."""
    return write_block(folder, request.param)


def cli_json(capsys, *args: str) -> dict:
    code = main([*args, "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def value(data: dict, name: str) -> float:
    section = data["results"] if name in data["results"] else data["inputs"]
    return section[name]["value"]


# --- the blocks themselves -----------------------------------------------------------------------


def test_the_hand_arithmetic():
    assert N_PARAMS == 12 * 4 * 256**2 == 3_145_728  # d_ff = 4 d_model: Kaplan's 12 n_layer d^2
    assert MODEL_FLOPS == 386_547_056_640_000
    assert WALL_TIME == pytest.approx(12.884901888, rel=1e-12)


def test_tutorial_blocks_are_there_and_short():
    blocks = doc_blocks("tutorial")
    assert set(blocks) == {"tinylm.py", "pyproject.toml", "tinylm.toml", "minillama.toml"}
    assert blocks["tinylm.py"][0] == "python" and blocks["tinylm.toml"][0] == "toml"
    for name, (_, code) in blocks.items():
        lines = code.rstrip("\n").splitlines()
        assert len(lines) < 40, f"{name}: {len(lines)} lines; the tutorial promises under 40"


def test_reference_snippets_are_there():
    assert {"register_quantities", "register_recipes", "register_formulas", "register_hardware",
            "test_tinylm.py", "presets.py", "presets.toml"} <= set(doc_blocks("example"))


# --- the tutorial family, by path ---------------------------------------------------------------


def test_tutorial_through_the_api(tutorial, folder, card):
    r = api.estimate("tinylm", hardware=card, plugins=[tutorial])
    assert r["n_params"].m_as("param") == N_PARAMS
    assert r["flops_per_token"].m_as("FLOP/token") == FLOPS_PER_TOKEN
    assert r["tokens_per_iter"].m_as("token/iteration") == TOKENS_PER_ITER
    assert r["total_tokens"].m_as("token") == TOTAL_TOKENS
    assert r["model_flops"].m_as("FLOP") == pytest.approx(MODEL_FLOPS, rel=1e-12)
    assert r["wall_time"].m_as("s") == pytest.approx(WALL_TIME, rel=1e-12)
    assert r["wall_time"].m_as("ms") == pytest.approx(WALL_TIME * 1e3, rel=1e-12)
    assert not [w for w in r.warnings if "broken" in w]


def test_tutorial_through_the_cli(tutorial, folder, capsys, card):
    data = cli_json(capsys, "estimate", "tinylm", "--plugin", tutorial, "-H", card)
    assert data["family"] == "tinylm" and data["hardware"] == "Round GPU"
    assert value(data, "n_params") == N_PARAMS
    assert data["results"]["n_params"]["unit"] == "param"
    assert value(data, "flops_per_token") == FLOPS_PER_TOKEN
    assert value(data, "total_tokens") == TOTAL_TOKENS
    assert value(data, "wall_time") == pytest.approx(WALL_TIME, rel=1e-12)
    assert data["results"]["wall_time"]["unit"] == "s"


def test_python_and_toml_declare_the_same_family(folder, capsys, card):
    py = write_block(folder, "tinylm.py")
    py = cli_json(capsys, "estimate", "tinylm", "--plugin", py, "-H", card)
    api.reload()
    toml = write_block(folder, "tinylm.toml")
    toml = cli_json(capsys, "estimate", "tinylm", "--plugin", toml, "-H", card)
    assert py["results"] == toml["results"]
    assert py["inputs"] == toml["inputs"]


def with_preset(folder: Path, name: str) -> str:
    """The tutorial family with the page's preset snippet added, as the page says to."""
    blocks = doc_blocks()
    code = blocks[name][1]
    if name.endswith(".toml"):
        code += "\n" + blocks["presets.toml"][1]
    else:
        anchor = "    formulas=["
        assert code.count(anchor) == 1
        code = code.replace(anchor, blocks["presets.py"][1] + anchor)
    path = folder / name
    path.write_text(code, encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("name", ["tinylm.py", "tinylm.toml"])
def test_preset_and_set(name, folder, capsys, card):
    plugin = with_preset(folder, name)
    data = cli_json(capsys, "estimate", "tinylm", "--plugin", plugin, "-H", card,
                    "--preset", "wide", "--set", "micro_batch=32")
    n_params = 2 * 2 * 512 * (2 * 512 + 2048)
    assert n_params == 12 * 2 * 512**2 == 6_291_456
    assert value(data, "n_params") == n_params
    assert value(data, "tokens_per_iter") == 32 * 256
    assert value(data, "wall_time") == pytest.approx(
        6 * n_params * 32 * 256 * 5000 / (0.3 * ROUND_PEAK), rel=1e-12
    )
    assert data["inputs"]["n_layer"]["value"] == 2 and data["inputs"]["micro_batch"]["value"] == 32
    (family,) = [f for f in api.families([plugin]) if f.name == "tinylm"]
    assert family.presets == {"wide": {"n_layer": 2, "d_model": 512, "d_ff": 2048}}


def test_the_check_is_the_users_error(tutorial, folder, capsys, card):
    code = main(["estimate", "tinylm", "--plugin", tutorial, "-H", card,
                 "--set", "d_model=100"])
    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    assert "d_model must be a multiple of 64 (the head size)" in err
    assert "d_model=100" in err and "tinylm convention" in err


def test_inverse_solve_frees_iters(tutorial, folder, capsys, card):
    """--find total_tokens --given wall_time=1h: free_order frees iters, rounded down to fit."""
    seconds_per_iter = FLOPS_PER_TOKEN * TOKENS_PER_ITER / (0.3 * ROUND_PEAK)
    iters = math.floor(3600 / seconds_per_iter)
    assert iters == 1_396_983
    data = cli_json(capsys, "solve", "tinylm", "--plugin", tutorial, "-H", card,
                    "--find", "total_tokens", "--given", "wall_time=1 h")
    assert value(data, "iters") == iters
    assert value(data, "total_tokens") == iters * TOKENS_PER_ITER  # 5,722,042,368
    assert value(data, "wall_time") <= 3600
    assert (iters + 1) * seconds_per_iter > 3600
    api.reload()
    r = api.solve("tinylm", find="total_tokens", given={"wall_time": "1 h"},
                  hardware=card, plugins=[tutorial])
    assert r["total_tokens"].m_as("token") == iters * TOKENS_PER_ITER


def test_the_numbers_the_page_prints(folder):
    """The prose quotes RTX 4070 figures (58.3 TFLOP/s dense bf16, docs/hardware.md)."""
    plugin = write_block(folder, "tinylm.py")
    r = api.estimate("tinylm", hardware="rtx-4070", plugins=[plugin])
    assert r["wall_time"].m_as("s") == pytest.approx(MODEL_FLOPS / (0.3 * 58.3e12), rel=1e-12)
    text = DOC.read_text(encoding="utf-8")
    assert "22.10 s" in text and f"{MODEL_FLOPS:.3e}" == "3.865e+14" and "3.865e14" in text
    iters = math.floor(3600 / (FLOPS_PER_TOKEN * TOKENS_PER_ITER / (0.3 * 58.3e12)))
    assert f"{iters:,} steps" in text  # 814,441
    solved = api.solve("tinylm", find="total_tokens", given={"wall_time": "1 h"},
                       hardware="rtx-4070", plugins=[plugin])
    assert solved["total_tokens"].m_as("token") == iters * TOKENS_PER_ITER
    assert f"{iters * TOKENS_PER_ITER / 1e9:.3f}B" in text  # 3.336B
    assert "--set d_model=100\nerror: d_model must be a multiple of 64" in text


def test_explain_cites_the_sources(folder, card):
    plugin = write_block(folder, "tinylm.py")
    text = api.explain("tinylm", target="wall_time", hardware=card,
                       plugins=[plugin])
    assert "Kaplan et al. 2020" in text and "Chowdhery et al. 2022" in text


# --- the Llama-shaped family: memory and time from features alone --------------------------------
# By hand from the definitions (docs/plugins.md walks through it): d 256, 8 query heads and 2 kv
# heads of 32, d_ff 768 (SwiGLU: gate, up, down), V 32000, 4 layers, untied, RMSNorm with weights.
D, Q, KV, FF, V, L, T, B = 256, 8 * 32, 2 * 32, 768, 32000, 4, 512, 8
LLAMA_MATRICES = L * (2 * D * Q + 2 * D * KV + 3 * D * FF)
LLAMA_PARAMS = LLAMA_MATRICES + 2 * V * D + L * 2 * D + D
LLAMA_FLOPS = 6 * (LLAMA_MATRICES + V * D) + 12 * L * Q * T  # PaLM's convention
# amp-bf16 under autocast: r = 4 (the fp32 residual stream), a = 2
LLAMA_LAYER = 2 * 4 * D + 5 * 2 * D + 2 * (2 * Q + 2 * KV) + 4 * 2 * FF + 2 * 4 + 4 * 8
LLAMA_OUTSIDE = 8 + 8 + 4 * D + 4 + 2 * D  # ids, targets; final norm input and rstd; lm_head input
LLAMA_ACTIVATIONS = B * T * (L * LLAMA_LAYER + LLAMA_OUTSIDE) + 2 * (LLAMA_MATRICES + V * D)
LLAMA_LOSS = B * T * V * 4 * 3  # fp32 log-softmax saved, and its two gradients in the backward
LLAMA_TENSORS = 12 * LLAMA_PARAMS + T * 32 * 2 + LLAMA_ACTIVATIONS + LLAMA_LOSS
LLAMA_PEAK = 1.05 * LLAMA_TENSORS + 287_047_680 + 8_519_680 + 1_048_576  # docs/memory.md: overhead


def test_the_llama_hand_arithmetic():
    assert LLAMA_PARAMS == 19_400_960 and LLAMA_FLOPS == 73_531_392
    assert LLAMA_LAYER == 12_072 and LLAMA_OUTSIDE == 1_556
    assert LLAMA_ACTIVATIONS == 226_574_336 and LLAMA_TENSORS == 2_032_282_624
    assert round(LLAMA_PEAK) == 2_430_512_691


def test_llama_from_features_alone(folder, capsys):
    plugin = write_block(folder, "minillama.toml")
    assert "[[formulas]]" not in (folder / "minillama.toml").read_text()
    data = cli_json(capsys, "estimate", "minillama", "--plugin", plugin, "-H", "rtx-4070")
    assert value(data, "n_params") == LLAMA_PARAMS
    assert value(data, "flops_per_token") == LLAMA_FLOPS
    assert value(data, "act_layer") == LLAMA_LAYER and value(data, "act_outside") == LLAMA_OUTSIDE
    assert value(data, "mem_activations") == LLAMA_ACTIVATIONS
    assert value(data, "mem_weights") == 4 * LLAMA_PARAMS and value(data, "mem_optimizer") == 8 * LLAMA_PARAMS
    assert value(data, "mem_moment_loss") == LLAMA_TENSORS == value(data, "mem_tensors_peak")
    assert value(data, "mem_peak") == pytest.approx(LLAMA_PEAK, rel=1e-12)
    step = LLAMA_FLOPS * B * T / (0.4 * 58.3e12)  # the RTX 4070's dense bf16 peak (docs/hardware.md)
    assert value(data, "iter_time") == pytest.approx(step, rel=1e-12)
    assert value(data, "wall_time") == pytest.approx(5000 * step, rel=1e-12)
    assert data["warnings"] == []
    text = DOC.read_text(encoding="utf-8")
    assert "2.264 GiB" in text and f"{step * 1e3:.2f} ms" in text and f"{5000 * step:.2f} s" in text


def test_llama_without_a_feature_says_which(folder, capsys):
    code = write_block(folder, "minillama.toml")
    text = (folder / "minillama.toml").read_text()
    (folder / "minillama.toml").write_text(text.replace('mlp = "swiglu"\n', ""))
    data = cli_json(capsys, "estimate", "minillama", "--plugin", code, "-H", "rtx-4070")
    assert not {"mem_peak", "n_params", "act_layer"} & set(data["results"])  # left out, never guessed
    assert value(data, "mem_buffers") == T * 32 * 2  # what does not depend on the MLP is still there
    (note,) = [w for w in data["warnings"] if "architecture feature" in w]
    assert "does not declare the architecture feature(s) mlp:" in note


def test_llama_misspelled_feature_is_an_error(folder, capsys, tmp_path, monkeypatch):
    code = write_block(folder, "minillama.toml")
    text = (folder / "minillama.toml").read_text()
    (folder / "minillama.toml").write_text(text.replace("tied_embeddings = false", "tied_embedding = false"))
    assert main(["estimate", "minillama", "--plugin", code]) == 1
    err = capsys.readouterr().err
    assert "unknown quantity 'tied_embedding'; did you mean: tied_embeddings" in err
    assert len(err.strip().splitlines()) == 1


def test_the_features_table_lists_every_feature():
    """The table of docs/plugins.md has one row per feature the registry declares, with its default."""
    text = DOC.read_text(encoding="utf-8")
    table = text.split("<!-- features table -->", 1)[1].split("\n\n", 1)[0]
    rows = {m[0]: m[1] for m in re.findall(r"^\| `(\w+)` \| [^|]+ \| ([^|]+) \|", table, re.M)}
    quantities = api.registry().quantities
    features = {n for n, q in quantities.items() if q.feature}
    assert set(rows) == features
    for name in features:
        default = quantities[name].default
        if default is not None and quantities[name].kind == "bool":
            assert rows[name].strip() == str(default).lower(), name
        elif default is not None:
            assert rows[name].strip() == str(default), name


# --- discovery -----------------------------------------------------------------------------------


def test_entry_point_as_the_pyproject_declares_it(folder, monkeypatch, card):
    """Install the tutorial as a distribution (a .dist-info on sys.path) with the page's
    pyproject.toml entry points, and let the engine find it like any installed plugin."""
    project = tomllib.loads(doc_blocks("tutorial")["pyproject.toml"][1])
    dist, version = project["project"]["name"], project["project"]["version"]
    entry_points = project["project"]["entry-points"]["costmodel"]
    assert entry_points == {"tinylm": "costmodel_tinylm"}
    assert project["tool"]["setuptools"]["py-modules"] == ["costmodel_tinylm"]

    site = folder / "site"
    site.mkdir()
    write_block(site, "tinylm.py", as_name="costmodel_tinylm.py")
    info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(
        "[costmodel]\n" + "".join(f"{k} = {v}\n" for k, v in entry_points.items())
    )
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("COSTMODEL_PLUGINS", BUILTINS + ",tinylm")
    try:
        api.reload()
        r = api.estimate("tinylm", hardware=card)
        assert r["n_params"].m_as("param") == N_PARAMS
        assert r["wall_time"].m_as("s") == pytest.approx(WALL_TIME, rel=1e-12)
        (info_row,) = [p for p in api.plugins() if p.name == "tinylm"]
        assert info_row.origin == f"entry point tinylm = costmodel_tinylm ({dist})"
        assert info_row.hooks == ("register_families",) and info_row.error is None

        monkeypatch.setenv("COSTMODEL_PLUGINS", BUILTINS)  # the allow-list leaves it out
        api.reload()
        assert "tinylm" not in {p.name for p in api.plugins()}
        with pytest.raises(UserError, match="unknown family 'tinylm'"):
            api.estimate("tinylm")
    finally:
        sys.modules.pop("costmodel_tinylm", None)


def test_plugin_path_environment_variable(folder, monkeypatch, card):
    plugins = folder / "my-plugins"
    plugins.mkdir()
    write_block(plugins, "tinylm.toml")
    (plugins / "_ignored.py").write_text("raise RuntimeError('files starting with _ are skipped')")
    monkeypatch.setenv("COSTMODEL_PLUGIN_PATH", str(plugins))
    api.reload()
    r = api.estimate("tinylm", hardware=card)
    assert r["wall_time"].m_as("s") == pytest.approx(WALL_TIME, rel=1e-12)


def test_a_folder_given_to_plugin(folder, card):
    plugins = folder / "my-plugins"
    plugins.mkdir()
    write_block(plugins, "tinylm.py")
    r = api.estimate("tinylm", hardware=card, plugins=[str(plugins)])
    assert r["n_params"].m_as("param") == N_PARAMS


def test_empty_allow_list_loads_no_entry_points(folder, monkeypatch):
    monkeypatch.setenv("COSTMODEL_PLUGINS", "")
    api.reload()
    assert not [p for p in api.plugins() if p.origin.startswith("entry point")]
    # without core there is no vocabulary: the family cannot declare formulas for n_params
    with pytest.raises(UserError, match="n_params"):
        api.estimate("tinylm", plugins=[write_block(folder, "tinylm.toml")])


def test_a_broken_plugin_is_reported_by_name(folder, monkeypatch, capsys, tmp_path, card):
    tutorial = write_block(folder, "tinylm.py")
    typo = folder / "typo.py"
    typo.write_text(
        "from costmodel import hookimpl\n\n\n"
        "@hookimpl\n"
        "def register_family(register):  # misspelled: the hook is register_families\n"
        "    pass\n"
    )
    monkeypatch.setenv("COSTMODEL_PLUGIN_PATH", str(typo))
    api.reload()
    code = main(["plugins", "--json"])
    out, _ = capsys.readouterr()
    assert code == 0
    (row,) = [p for p in json.loads(out) if p["name"] == "typo"]
    assert row["origin"] == str(typo) and row["hooks"] == []
    assert "register_family" in row["error"]

    # questions are still answered
    api.reload()
    code = main(["estimate", "tinylm", "--plugin", tutorial, "-H", card])
    out, err = capsys.readouterr()
    assert code == 0 and "wall_time" in out

    # named explicitly, it is an error
    monkeypatch.delenv("COSTMODEL_PLUGIN_PATH")
    forget(monkeypatch, tmp_path, "explicit")
    code = main(["plugins", "--plugin", str(typo)])
    _, err = capsys.readouterr()
    assert code == 1 and err.startswith("error: plugin typo") and "register_family" in err


def test_a_dimension_error_names_the_formula(folder, monkeypatch, capsys, tmp_path):
    broken = folder / "broken.toml"
    broken.write_text(doc_blocks()["tinylm.toml"][1].replace(
        'expr = "2 * n_layer * d_model * (2 * d_model + d_ff) * param"', 'expr = "12 * FLOP"'))
    monkeypatch.setenv("COSTMODEL_PLUGIN_PATH", str(broken))
    api.reload()
    (row,) = [p for p in api.plugins() if p.name == "broken"]
    assert "formula n_params = '12 * FLOP': dimension error" in row.error
    assert "[compute]" in row.error and "[param]" in row.error

    # other questions are answered, with a note naming the broken plugin
    code = main(["estimate", "nanogpt", "--preset", "gpt2"])
    out, err = capsys.readouterr()
    assert code == 0 and "n_params" in out
    assert "note: plugin " in err and "is broken: formula n_params = '12 * FLOP'" in err

    # named explicitly, a TOML family with an error is the user's error
    monkeypatch.delenv("COSTMODEL_PLUGIN_PATH")
    forget(monkeypatch, tmp_path, "explicit")
    assert main(["families", "--plugin", str(broken)]) == 1
    assert "dimension error" in capsys.readouterr().err


# --- the hook reference --------------------------------------------------------------------------


def spec_hooks() -> dict:
    marker = hookspecs.hookspec.project_name + "_spec"
    return {
        name: fn
        for name, fn in vars(hookspecs).items()
        if inspect.isfunction(fn) and hasattr(fn, marker)
    }


def documented_hooks() -> dict[str, str]:
    """{name: 'name(args)'} of the hook headings of the page (#### `register_x(register)`)."""
    text = DOC.read_text(encoding="utf-8")
    return {m[1]: m[0] for m in re.findall(r"^#{2,5} `((\w+)\([^)]*\))`\s*$", text, re.M)
            if m[1].startswith("register_")}


def test_every_hook_is_documented_with_its_exact_signature():
    hooks = spec_hooks()
    assert set(hooks) == {"register_quantities", "register_recipes", "register_formulas",
                          "register_families", "register_hardware", "register_log_formats"}
    documented = documented_hooks()
    for name, fn in hooks.items():
        assert name in documented, f"hook {name} is not documented in docs/plugins.md"
        assert documented[name] == f"{name}{inspect.signature(fn)}"


def test_no_documented_hook_is_missing_from_hookspecs():
    extra = set(documented_hooks()) - set(spec_hooks())
    assert not extra, f"documented but not hooks: {sorted(extra)}"


def test_every_hook_has_a_test():
    tests = {name for name in globals() if name.startswith("test_hook_")}
    assert {f"test_hook_{hook}" for hook in spec_hooks()} <= tests


def test_explicit_broken_plugin_is_an_error_even_after_a_cached_run(folder, monkeypatch, capsys):
    broken = folder / "broken.toml"
    broken.write_text(doc_blocks()["tinylm.toml"][1].replace(
        'expr = "2 * n_layer * d_model * (2 * d_model + d_ff) * param"', 'expr = "12 * FLOP"'))
    monkeypatch.setenv("COSTMODEL_PLUGIN_PATH", str(broken))
    api.reload()
    assert main(["families"]) == 0  # reported, not fatal; this run fills the disk cache
    monkeypatch.delenv("COSTMODEL_PLUGIN_PATH")
    api.reload()
    code = main(["families", "--plugin", str(broken)])
    capsys.readouterr()
    assert code == 1


def test_hook_register_families(folder):
    plugin = write_block(folder, "tinylm.py")
    (row,) = [p for p in api.plugins([plugin]) if p.name == "tinylm"]
    assert row.hooks == ("register_families",) and row.error is None
    (family,) = [f for f in api.families([plugin]) if f.name == "tinylm"]
    assert family.free_order == ("iters",) and family.source.startswith("Kaplan et al. 2020")
    assert {q.name for q in family.quantities} == {"d_ff"}


def test_hook_register_quantities(folder):
    plugin = write_snippets(folder, "register_quantities")
    registry = api.registry([plugin])
    assert registry.quantities["tokens_per_param"].unit == "token/param"
    assert registry.parse_value("tokens_per_param", "2 ktoken/param") == 2000
    assert registry.parse_value("warmup_iters", "3 step") == 3
    (row,) = [p for p in api.plugins([plugin]) if p.name == "extras"]
    assert row.hooks == ("register_quantities",) and row.error is None


def test_hook_register_formulas(folder, card):
    extras = write_snippets(folder, "register_quantities", "register_formulas")
    r = api.estimate("tinylm", hardware=card,
                     plugins=[write_block(folder, "tinylm.py"), extras])
    assert r["tokens_per_param"].m_as("token/param") == pytest.approx(TOTAL_TOKENS / N_PARAMS)
    assert TOTAL_TOKENS / N_PARAMS == pytest.approx(6.5104166)


def test_hook_register_recipes(folder, card):
    extras = write_snippets(folder, "register_quantities", "register_recipes")
    tutorial = write_block(folder, "tinylm.py")
    kwargs = dict(hardware=card, plugins=[tutorial, extras])
    r = api.estimate("tinylm", **kwargs)
    assert r.inputs["warmup"] == "none" and r["warmup_iters"].m_as("iteration") == 0
    r = api.estimate("tinylm", values={"warmup": "linear"}, **kwargs)
    assert r["warmup_iters"].m_as("iteration") == 5000 // 100
    with pytest.raises(UserError, match="warmup"):
        api.estimate("tinylm", values={"warmup": "cosine"}, **kwargs)


def test_hook_register_hardware(folder):
    extras = write_snippets(folder, "register_hardware")
    values = api.hardware_values("round", plugins=[extras])
    assert values["peak_flops_bf16"].m_as("FLOP/s") == 100e12
    assert values["gpu_memory"].m_as("byte") == 16 * 2**30
    r = api.estimate("tinylm", hardware="Round GPU",
                     plugins=[write_block(folder, "tinylm.py"), extras])
    assert r.hardware == "Round GPU"
    assert r["wall_time"].m_as("s") == pytest.approx(WALL_TIME, rel=1e-12)


def test_hook_register_log_formats(folder):
    """A third party's log format: calibrate reads its lines, drops its warm-up, and the
    built-in formats find nothing in it. Step times by hand: median of 2.0, 2.2, 2.1 = 2.1 s."""
    from costmodel.calibrate import calibrate

    extras = write_snippets(folder, "register_log_formats")
    (row,) = [p for p in api.plugins([extras]) if p.name == "extras"]
    assert row.hooks == ("register_log_formats",) and row.error is None
    log = folder / "run.log"
    log.write_text("round step 0 took 30.0 s\nround step 1 took 2.0 s\nround step 2 took 2.2 s\n"
                   "round step 3 took 2\nround step 4 took 2.1 s\n")
    c = calibrate("tinylm", log, plugins=[write_block(folder, "tinylm.py"), extras])
    assert c.log.format == "round" and c.warmup == 1
    assert [s.step for s in c.used] == [1, 2, 4]
    assert c.log.problems == ((4, "round step line cut off; skipped"),)
    assert c.values["iter_time"] == pytest.approx(2.1)


def test_the_testing_example_passes(folder):
    """The page's example test module, run by pytest in its own process next to tinylm.py."""
    write_block(folder, "tinylm.py")
    write_block(folder, "test_tinylm.py")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_tinylm.py"],
        cwd=folder, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "3 passed" in proc.stdout


def test_snippet_imports_are_what_the_page_says():
    text = " ".join(DOC.read_text(encoding="utf-8").split())
    for line in SNIPPET_IMPORTS.strip().splitlines():
        assert f"`{line}`" in text


def test_page_mentions_every_declaration_field():
    """The reference tables cover every field of the records (attrs metadata is the truth)."""
    import attrs

    from costmodel import declarations

    text = DOC.read_text(encoding="utf-8")
    for cls in (declarations.Quantity, declarations.Formula, declarations.Check,
                declarations.Family, declarations.Hardware):
        for field in attrs.fields(cls):
            if field.name == "origin":  # set by the engine when reading a file
                continue
            assert f"`{field.name}`" in text, f"{cls.__name__}.{field.name} is not documented"

