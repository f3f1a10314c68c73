"""Plots: memory per recipe, time and cost across hardware, sweep heat maps and lines.

The family below defines the memory parts itself (the memory plugin's names), so these tests do not
depend on any built-in plugin's formulas. Expected numbers are worked out here by hand:
    n_params        = 12 x 10 layers x 1,000^2              =   120,000,000 param
    tokens per micro-step = 4 sequences x 512 token/sequence =         2,048 token
    mem_weights     = 4 byte/param (amp-bf16) or 2 (bf16)    =   480,000,000 or 240,000,000 byte
    mem_grads       = the same as the weights
    mem_optimizer   = 8 byte/param x 120,000,000              =   960,000,000 byte
    mem_activations = 34 byte/token x 1,000 x 10 x 2,048 (none)  =  696,320,000 byte
                    =  2 byte/token x 1,000 x 10 x 2,048 (full)  =   40,960,000 byte
    mem_logits      = 4 byte/token x 1,000 vocab x 2,048      =     8,192,000 byte
    mem_overhead    = 0.5 GiB                                 =   536,870,912 byte
"""

from __future__ import annotations

import pytest

matplotlib = pytest.importorskip("matplotlib")

from costmodel import plots  # noqa: E402
from costmodel.errors import UserError  # noqa: E402

FAMILY = """
[family]
name = "mtoy"
doc = "A toy model for plot tests"
source = "tests/test_plots.py"

[quantities.mt_layers]
doc = "layers"
kind = "integer"
positive = true

[quantities.mt_width]
doc = "model width"
kind = "integer"
positive = true

[quantities.mt_vocab]
doc = "vocabulary"
kind = "integer"
positive = true

[defaults]
mt_layers = 10
mt_width = 1000
mt_vocab = 1000
micro_batch = 4
seq_len = "512 token/sequence"
grad_accum = 1
n_gpus = 1
iters = 1000
mfu = 0.5
gpu_hour_price = "2 USD/h"

[[formulas]]
target = "n_params"
expr = "12 * mt_layers * mt_width**2 * param"
doc = "block weights"
source = "test"

[[formulas]]
target = "flops_per_token"
expr = "6 * FLOP/(param*token) * n_params"
doc = "6N"
source = "test"

[[formulas]]
target = "wall_time"
expr = "iters / iteration * micro_batch * seq_len * flops_per_token / (mfu * peak_flops_bf16)"
doc = "time"
source = "test"

[[formulas]]
target = "cloud_cost"
expr = "wall_time * n_gpus * gpu_hour_price"
doc = "rent"
source = "test"

[[formulas]]
target = "mem_weights"
expr = "4 * byte/param * n_params"
doc = "fp32 weights"
source = "test"
condition = 'precision == "amp-bf16"'

[[formulas]]
target = "mem_weights"
expr = "2 * byte/param * n_params"
doc = "bf16 weights"
source = "test"
condition = 'precision == "bf16"'

[[formulas]]
target = "mem_grads"
expr = "mem_weights"
doc = "grads like weights"
source = "test"

[[formulas]]
target = "mem_optimizer"
expr = "8 * byte/param * n_params"
doc = "adam"
source = "test"

[[formulas]]
target = "mem_activations"
expr = "34 * byte/token * mt_width * mt_layers * micro_batch * seq_len"
doc = "all kept"
source = "test"
condition = 'checkpointing == "none"'

[[formulas]]
target = "mem_activations"
expr = "2 * byte/token * mt_width * mt_layers * micro_batch * seq_len"
doc = "layer inputs"
source = "test"
condition = 'checkpointing == "full"'

[[formulas]]
target = "mem_logits"
expr = "4 * byte/token * mt_vocab * micro_batch * seq_len"
doc = "fp32 logits"
source = "test"

[[formulas]]
target = "mem_overhead"
expr = "0.5 * GiB"
doc = "context"
source = "test"

[[formulas]]
target = "mem_peak"
expr = "mem_weights + mem_grads + mem_optimizer + mem_activations + mem_logits + mem_overhead"
doc = "sum"
source = "test"
"""

GIB = 2**30
N = 12 * 10 * 1000**2
TOKENS = 4 * 512
PARTS = {
    ("none", "amp-bf16"): [4 * N, 4 * N, 8 * N, 34 * 1000 * 10 * TOKENS, 4 * 1000 * TOKENS, GIB // 2],
    ("full", "amp-bf16"): [4 * N, 4 * N, 8 * N, 2 * 1000 * 10 * TOKENS, 4 * 1000 * TOKENS, GIB // 2],
    ("full", "bf16"): [2 * N, 2 * N, 8 * N, 2 * 1000 * 10 * TOKENS, 4 * 1000 * TOKENS, GIB // 2],
}
USABLE_4070 = 12282 * 2**20  # nvidia-smi total of an RTX 4070, MiB


def test_hand_arithmetic():
    assert N == 120_000_000 and TOKENS == 2048
    assert PARTS[("none", "amp-bf16")][3] == 696_320_000
    assert sum(PARTS[("none", "amp-bf16")]) == 3_161_382_912


@pytest.fixture(scope="module")
def family(tmp_path_factory):
    path = tmp_path_factory.mktemp("plots") / "mtoy.toml"
    path.write_text(FAMILY)
    return str(path)


@pytest.fixture(scope="module")
def by_recipe(family):
    recipes = [{"checkpointing": c, "precision": p} for c, p in PARTS]
    return plots.memory_by_recipe("mtoy", recipes, plugins=[family], hardware="rtx-4070")


def test_memory_breakdown_stacks_the_parts(by_recipe, tmp_path):
    assert list(by_recipe) == [f"checkpointing={c}, precision={p}" for c, p in PARTS]
    fig = plots.memory_breakdown(by_recipe, tmp_path / "memory.png")
    assert (tmp_path / "memory.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    ax = fig.axes[0]
    bars = {c.get_label(): [p.get_height() for p in c.patches] for c in ax.containers}
    memory_parts = ["mem_weights", "mem_grads", "mem_optimizer", "mem_activations", "mem_logits", "mem_overhead"]
    assert list(bars) == memory_parts  # the "memory part" group of the core vocabulary, in order
    for i, parts in enumerate(PARTS.values()):
        for name, expected in zip(memory_parts, parts):
            assert bars[name][i] == pytest.approx(expected / GIB, rel=1e-12), (name, i)
    # bars stack: each part starts where the one below ends
    first = [c.patches[0] for c in ax.containers]
    for below, above in zip(first, first[1:]):
        assert above.get_y() == pytest.approx(below.get_y() + below.get_height())
    (limit,) = [line for line in ax.get_lines() if "gpu_memory_usable" in line.get_label()]
    assert limit.get_ydata()[0] == pytest.approx(USABLE_4070 / GIB)  # 11.994 GiB


def test_memory_breakdown_svg_keeps_text(by_recipe, tmp_path):
    plots.memory_breakdown(by_recipe, tmp_path / "memory.svg", title="mtoy on RTX 4070")
    svg = (tmp_path / "memory.svg").read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    for text in ("mem_activations", "gpu_memory_usable", "precision=bf16", "mtoy on RTX 4070"):
        assert text in svg


def test_time_and_cost_across_hardware(family, tmp_path):
    results = plots.across_hardware("mtoy", ["rtx-4070", "h100-sxm"], plugins=[family])
    assert list(results) == ["RTX 4070", "H100 SXM"]
    fig = plots.time_and_cost(results, tmp_path / "cost.png", quantities=("wall_time", "cloud_cost"))
    # wall_time = 1,000 iters x 2,048 tokens x 6 x 120M FLOP / (0.5 x peak)
    flops = 1000 * TOKENS * 6 * N
    seconds = [flops / (0.5 * 58.3e12), flops / (0.5 * 989.4e12)]  # 50.58 s and 2.981 s
    time_ax, cost_ax = fig.axes
    assert "[s]" in time_ax.get_ylabel()  # under 2 minutes: seconds
    assert [p.get_height() for p in time_ax.patches] == pytest.approx(seconds, rel=1e-9)
    assert [p.get_height() for p in cost_ax.patches] == pytest.approx([s / 3600 * 2 for s in seconds], rel=1e-9)
    assert [t.get_text() for t in cost_ax.get_xticklabels()] == ["RTX 4070", "H100 SXM"]


def test_sweep_heatmap_cells(family, tmp_path):
    from costmodel.sweep import sweep

    rows = sweep("mtoy", {"micro_batch": [1, 2, 4], "checkpointing": ["none", "full"]},
                 targets=["mem_peak"], plugins=[family])
    fig = plots.sweep_heatmap(rows, "micro_batch", "checkpointing", "mem_peak", tmp_path / "heat.svg")
    data = fig.axes[0].images[0].get_array()
    assert data.shape == (2, 3)  # y: checkpointing (none, full); x: micro_batch
    fixed = 4 * N + 4 * N + 8 * N + GIB // 2  # weights, grads, optimizer, overhead (amp-bf16)
    for j, per_token in enumerate((34 * 1000 * 10, 2 * 1000 * 10)):
        for i, mb in enumerate((1, 2, 4)):
            tokens = mb * 512
            expected = fixed + per_token * tokens + 4 * 1000 * tokens
            assert data[j, i] == pytest.approx(expected / GIB, rel=1e-12)
    svg = (tmp_path / "heat.svg").read_text()
    assert "micro_batch [sequence]" in svg and "mem_peak [GiB]" in svg


def test_sweep_heatmap_blank_where_invalid(tmp_path):
    rows = [{"a": 1, "b": "x", "t": 1.0, "note": ""}, {"a": 2, "b": "x", "t": None, "note": "bad"}]
    fig = plots.sweep_heatmap(rows, "a", "b", "t")
    data = fig.axes[0].images[0].get_array()
    assert data[0, 0] == 1.0 and bool(data.mask[0, 1])


def test_sweep_line(family, tmp_path):
    from costmodel.sweep import sweep

    rows = sweep("mtoy", {"micro_batch": [1, 2, 4, 8]}, targets=["wall_time"], plugins=[family],
                 hardware="rtx-4070")
    fig = plots.sweep_line(rows, "micro_batch", "wall_time", tmp_path / "line.png")
    (line,) = fig.axes[0].get_lines()
    per_sequence = 1000 * 512 * 6 * N / (0.5 * 58.3e12)  # 25.29 s per sequence of micro-batch
    assert list(line.get_xdata()) == [1, 2, 4, 8]
    assert list(line.get_ydata()) == pytest.approx([mb * per_sequence for mb in (1, 2, 4, 8)], rel=1e-9)


def test_display_units():
    assert plots.display_unit("byte", [5e9]) == (2**30, "GiB")
    assert plots.display_unit("s", [3 * 86400]) == (86400, "day")
    assert plots.display_unit("s", [5000]) == (60, "min")
    assert plots.display_unit("FLOP", [3e21]) == (1e18, "EFLOP")
    assert plots.display_unit("1", [0.4]) == (1.0, "")


def test_bad_plot_requests_are_one_line(tmp_path):
    rows = [{"a": 1, "t": 1.0, "note": ""}]
    with pytest.raises(UserError, match="png, .svg or .pdf"):
        plots.sweep_line(rows, "a", "t", tmp_path / "x.gif")
    with pytest.raises(UserError, match="not a column"):
        plots.sweep_line(rows, "a", "nope")
    with pytest.raises(UserError, match="no results"):
        plots.memory_breakdown({})


def test_without_matplotlib_the_error_names_the_extra(monkeypatch):
    import builtins

    real = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    with pytest.raises(UserError, match=r"pip install 'costmodel\[plot\]'"):
        plots.sweep_line([{"a": 1, "t": 1.0, "note": ""}], "a", "t")


def test_a_plugins_quantity_joins_a_plot_through_its_group(tmp_path):
    """Plots read quantity metadata: a third party's `mem_lora` in the "memory part" group is a
    slice of the memory bars, with no name listed in costmodel.plots."""
    from costmodel import api

    extra = tmp_path / "lora.py"
    extra.write_text(
        "from costmodel import hookimpl\n"
        "from costmodel.declarations import Formula, Quantity\n\n\n"
        "@hookimpl\n"
        "def register_quantities(register):\n"
        "    register(Quantity(name='mem_lora', doc='adapter buffers', unit='byte', groups=('memory part',)))\n\n\n"
        "@hookimpl\n"
        "def register_formulas(register):\n"
        "    register(Formula(target='mem_lora', expr='3 * GiB', doc='made up', source='this test'))\n")
    result = api.estimate("nanogpt", preset="gpt2", hardware="rtx-4070", plugins=[str(extra)])
    fig = plots.memory_breakdown({"gpt2": result})
    bars = {c.get_label(): c.patches[0].get_height() for c in fig.axes[0].containers}
    assert list(bars)[-1] == "mem_lora" and bars["mem_lora"] == pytest.approx(3.0)
