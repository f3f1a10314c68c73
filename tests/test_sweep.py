"""Sweeps: grids of numbers (vectorised), recipe options and switches (re-composed), given results
(solved point by point), invalid points, the grid syntax and the `costmodel sweep` command.

Expected numbers are worked out here from the family below and the RTX 4070's datasheet figure
(58.3 TFLOP/s dense BF16 with FP32 accumulate):
    n_params  = 12 x 12 layers x 768^2 = 84,934,656 param
    mem_peak  = 16 byte/param x n_params + a x 768 x 12 x micro_batch x 1,024 + overhead
                a = 34 byte/token (checkpointing none) or 2 (full); overhead 1 GiB (compile) or 0.5 GiB
    iter_time = 6 x n_params x micro_batch x 1,024 / (0.5 x 58.3e12) s
"""

from __future__ import annotations

import csv
import io
import json
import math

import pytest
import typer
from typer.testing import CliRunner

from costmodel.cli.sweep import register
from costmodel.errors import UserError
from costmodel.sweep import expand_range, parse_grid, sweep

FAMILY = """
[family]
name = "stoy"
doc = "A toy model for sweep tests"
source = "tests/test_sweep.py"
free_order = ["iters"]

[quantities.st_layers]
doc = "layers"
kind = "integer"
positive = true

[quantities.st_width]
doc = "model width"
kind = "integer"
positive = true

[defaults]
st_layers = 12
st_width = 768
micro_batch = 8
seq_len = "1024 token/sequence"
grad_accum = 1
n_gpus = 1
iters = 1000
mfu = 0.5
compile = true

[[formulas]]
target = "n_params"
expr = "12 * st_layers * st_width**2 * param"
doc = "block weights"
source = "test"

[[formulas]]
target = "flops_per_token"
expr = "6 * FLOP/(param*token) * n_params"
doc = "6N"
source = "test"

[[formulas]]
target = "iter_time"
expr = "flops_per_token * tokens_per_iter / (mfu * peak_flops_bf16)"
doc = "step time"
source = "test"

[[formulas]]
target = "wall_time"
expr = "iters * iter_time"
doc = "run time"
source = "test"

[[formulas]]
target = "mem_activations"
expr = "34 * byte/token * st_width * st_layers * micro_batch * seq_len"
doc = "all kept"
source = "test"
condition = 'checkpointing == "none"'

[[formulas]]
target = "mem_activations"
expr = "2 * byte/token * st_width * st_layers * micro_batch * seq_len"
doc = "layer inputs"
source = "test"
condition = 'checkpointing == "full"'

[[formulas]]
target = "mem_overhead"
expr = "1 * GiB"
doc = "compiled"
source = "test"
condition = "compile"

[[formulas]]
target = "mem_overhead"
expr = "0.5 * GiB"
doc = "eager"
source = "test"
condition = "not compile"

[[formulas]]
target = "mem_peak"
expr = "16 * byte/param * n_params + mem_activations + mem_overhead"
doc = "sum"
source = "test"

[[checks]]
expr = "st_width % st_layers == 0"
message = "st_width must be a multiple of st_layers"
source = "test"
"""

GIB = 2**30
N = 12 * 12 * 768**2
PEAK = 58.3e12


def mem_peak(mb: int, checkpointing: str = "none", compile: bool = True, width: int = 768) -> int:
    n = 12 * 12 * width**2
    per_token = 34 if checkpointing == "none" else 2
    return 16 * n + per_token * width * 12 * mb * 1024 + (GIB if compile else GIB // 2)


def iter_time(mb: int) -> float:
    return 6 * N * mb * 1024 / (0.5 * PEAK)


def test_hand_arithmetic():
    assert N == 84_934_656
    assert mem_peak(8) == 1_358_954_496 + 2_566_914_048 + 1_073_741_824 == 4_999_610_368


@pytest.fixture(scope="module")
def family(tmp_path_factory):
    path = tmp_path_factory.mktemp("sweep") / "stoy.toml"
    path.write_text(FAMILY)
    return str(path)


def test_numbers_are_vectorised_and_rows_in_grid_order(family):
    rows = sweep("stoy", {"micro_batch": [1, 2, 4], "mfu": [0.25, 0.5]}, targets=["mem_peak", "iter_time"],
                 plugins=[family], hardware="rtx-4070")
    assert [(r["micro_batch"], r["mfu"]) for r in rows] == [(1, 0.25), (1, 0.5), (2, 0.25), (2, 0.5),
                                                            (4, 0.25), (4, 0.5)]
    for r in rows:
        assert set(r) == {"micro_batch", "mfu", "mem_peak", "iter_time", "note"}
        assert r["note"] == "" and isinstance(r["micro_batch"], int)
        assert r["mem_peak"] == mem_peak(r["micro_batch"])
        expected = 6 * N * r["micro_batch"] * 1024 / (r["mfu"] * PEAK)
        assert r["iter_time"] == pytest.approx(expected, rel=1e-12)


def test_choices_and_switches_recompose_the_scenario(family):
    rows = sweep("stoy", {"checkpointing": ["none", "full"], "compile": ["true", "false"], "micro_batch": [2, 8]},
                 targets=["mem_peak"], plugins=[family])
    assert len(rows) == 8
    assert rows[0] == {"checkpointing": "none", "compile": True, "micro_batch": 2,
                       "mem_peak": mem_peak(2, "none", True), "note": ""}
    for r in rows:
        assert r["mem_peak"] == mem_peak(r["micro_batch"], r["checkpointing"], r["compile"])
    # full checkpointing at micro-batch 8, no compile: 1,358,954,496 + 2 x 768 x 12 x 8,192 + 0.5 GiB
    assert rows[-1]["mem_peak"] == 1_358_954_496 + 150_994_944 + 536_870_912


def test_invalid_points_carry_a_note_and_no_numbers(family):
    rows = sweep("stoy", {"st_width": [768, 770]}, targets=["n_params"], plugins=[family])
    assert rows[0] == {"st_width": 768, "n_params": N, "note": ""}
    assert rows[1]["n_params"] is None
    assert "st_width must be a multiple of st_layers" in rows[1]["note"] and "st_width=770" in rows[1]["note"]


def test_given_result_is_met_at_every_point(family):
    """wall_time = 1 h: iters is freed at each point and rounded down to whole steps."""
    rows = sweep("stoy", {"micro_batch": [4, 8]}, targets=["iters", "total_tokens", "wall_time"],
                 plugins=[family], hardware="rtx-4070", values={"wall_time": "1 h"})
    for r, mb in zip(rows, (4, 8)):
        iters = math.floor(3600 / iter_time(mb))
        assert r["iters"] == iters
        assert r["total_tokens"] == iters * mb * 1024
        assert 3600 - iter_time(mb) < r["wall_time"] <= 3600


def test_a_derived_quantity_on_the_grid(family):
    rows = sweep("stoy", {"wall_time": ["1 h", "2 h"]}, targets=["iters"], plugins=[family], hardware="rtx-4070")
    assert [r["wall_time"] for r in rows] == [3600.0, 7200.0]
    assert [r["iters"] for r in rows] == [math.floor(t / iter_time(8)) for t in (3600, 7200)]


def test_default_targets_are_every_result(family):
    (row,) = sweep("stoy", {"micro_batch": [8]}, plugins=[family])
    assert row["mem_peak"] == mem_peak(8) and row["n_params"] == N
    assert "tokens_per_iter" in row and "st_layers" not in row


def test_bad_grids(family):
    with pytest.raises(UserError, match="did you mean: micro_batch"):
        sweep("stoy", {"micro_bach": [1]}, plugins=[family])
    with pytest.raises(UserError, match="must be greater than 0"):
        sweep("stoy", {"micro_batch": [0, 1]}, plugins=[family])
    with pytest.raises(UserError, match="unknown choice for checkpointing"):
        sweep("stoy", {"checkpointing": ["nope"]}, plugins=[family])
    with pytest.raises(UserError, match="recipe option"):
        sweep("stoy", {"micro_batch": [1]}, targets=["checkpointing"], plugins=[family])
    with pytest.raises(UserError, match="cannot compute iter_time: no value for peak_flops_bf16"):
        sweep("stoy", {"micro_batch": [1]}, targets=["iter_time"], plugins=[family])
    with pytest.raises(UserError, match="at least one grid"):
        sweep("stoy", {}, plugins=[family])


# --- grid syntax ----------------------------------------------------------------------------------


def test_ranges():
    assert expand_range("1..5") == ["1", "2", "3", "4", "5"]
    assert expand_range("1..64*2") == ["1", "2", "4", "8", "16", "32", "64"]
    assert expand_range("1..100*2") == ["1", "2", "4", "8", "16", "32", "64"]
    assert expand_range("0.3..0.5:0.1") == ["0.3", "0.4", "0.5"]
    assert expand_range("2..10:4") == ["2", "6", "10"]
    assert expand_range("1..3 day") == ["1 day", "2 day", "3 day"]
    assert expand_range("30 day") == ["30 day"] and expand_range("full") == ["full"]
    for bad, message in (("8..1", "ends before"), ("1..8*1", "factor above 1"), ("1..8:0", "step")):
        with pytest.raises(UserError, match=message):
            expand_range(bad)


def test_parse_grid():
    assert parse_grid(["micro_batch=1..4,8", "checkpointing=none,full"]) == {
        "micro_batch": ["1", "2", "3", "4", "8"], "checkpointing": ["none", "full"]}
    assert parse_grid(["wall_time='1 h', '2 h'"]) == {"wall_time": ["1 h", "2 h"]}
    for bad, message in ((["micro_batch"], "NAME=v1"), (["a=1", "a=2"], "twice"), (["a=1,,2"], "empty")):
        with pytest.raises(UserError, match=message):
            parse_grid(bad)


# --- the command ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def run(family):
    app = typer.Typer()
    register(app)

    @app.callback()
    def main():  # a group, as in `costmodel`: the command is called by name
        pass

    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, ["sweep", "stoy", "--plugin", family, *args])

    return invoke


def test_cli_table(run):
    r = run("--grid", "micro_batch=1..4*2", "--grid", "checkpointing=none,full", "--target", "mem_peak")
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["micro_batch", "checkpointing", "mem_peak"]
    assert len(lines) == 2 + 3 * 2
    # 1 sequence, no checkpointing: 1,358,954,496 + 34 x 768 x 12 x 1,024 (= 320,864,256) + 1 GiB
    # = 2,753,560,576 byte = 2.564 GiB
    assert mem_peak(1) == 2_753_560_576
    assert lines[2].split() == ["1", "none", "2.564", "GiB"]


def test_cli_csv_to_a_file(run, tmp_path):
    out = tmp_path / "s.csv"
    r = run("--grid", "micro_batch=1,2", "--target", "mem_peak", "--target", "n_params", "-f", "csv", "-o", str(out))
    assert r.exit_code == 0, r.output
    assert r.stdout == ""
    table = list(csv.reader(io.StringIO(out.read_text())))
    assert table[0] == ["micro_batch [sequence]", "mem_peak [byte]", "n_params [param]", "note"]
    assert table[1] == ["1", str(mem_peak(1)), str(N), ""]
    assert table[2] == ["2", str(mem_peak(2)), str(N), ""]


def test_cli_json(run):
    r = run("--grid", "st_width=768,770", "--target", "n_params", "-f", "json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["family"] == "stoy" and doc["grid"] == {"st_width": [768, 770]}
    assert doc["targets"] == ["n_params"] and doc["units"]["n_params"] == "param"
    assert doc["rows"][0] == {"st_width": 768, "n_params": N, "note": ""}
    assert doc["rows"][1]["n_params"] is None and "multiple of st_layers" in doc["rows"][1]["note"]


def test_cli_errors_are_user_errors(run):
    r = run("--grid", "micro_batch=1..4", "--format", "xml")
    assert isinstance(r.exception, UserError) and "unknown format 'xml'" in str(r.exception)
    r = run("--grid", "micro_batch=1", "--target", "mem_peak", "--target", "n_params", "--plot", "x.png")
    assert isinstance(r.exception, UserError) and "exactly one" in str(r.exception)
    r = run("--grid", "micro_batch=1", "--target", "mem_peak", "--plot", "x.gif")
    assert isinstance(r.exception, UserError) and "FILE.png" in str(r.exception)


def test_cli_plot(run, tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "heat.png"
    r = run("--grid", "micro_batch=1..8*2", "--grid", "checkpointing=none,full", "--target", "mem_peak",
            "--plot", str(out))
    assert r.exit_code == 0, r.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_plot_without_matplotlib(run, tmp_path, monkeypatch):
    import builtins

    real = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    r = run("--grid", "micro_batch=1,2", "--target", "mem_peak", "--plot", str(tmp_path / "x.png"))
    assert isinstance(r.exception, UserError)
    assert str(r.exception) == "plots need matplotlib: pip install 'costmodel[plot]'"
    assert not (tmp_path / "x.png").exists()


def test_wired_into_costmodel(cli, family):
    """Once `costmodel.cli` registers the command: one line and exit 1 for a mistake."""
    from costmodel.cli import app

    if "sweep" not in {c.name or c.callback.__name__ for c in app.registered_commands}:
        pytest.skip("costmodel sweep is not wired into costmodel.cli yet")
    code, out, err = cli("sweep", "stoy", "--plugin", family, "--grid", "micro_bach=1")
    assert code == 1 and err.startswith("error: ") and err.count("\n") == 1
    code, out, err = cli("sweep", "stoy", "--plugin", family, "--grid", "micro_batch=1", "--target", "n_params")
    assert code == 0, err
    assert out.splitlines()[0].split() == ["micro_batch", "n_params"]
    assert out.splitlines()[2].split() == ["1", "84.93M", "param"]  # 84,934,656 param


# --- streaming: rows a chunk at a time, in bounded memory ------------------------------------------


def test_chunks_give_the_same_rows_whatever_their_size():
    from costmodel.sweep import plan, rows_of

    grid = {"micro_batch": [1, 2, 4, 8, 16], "checkpointing": ["none", "full"], "seq_len": [256, 1024, 512]}
    p = plan("nanogpt", grid, targets=["mem_peak"], preset="gpt2", hardware="rtx-4070")
    whole = [r for c in p.chunks() for r in rows_of(c, p.header)]
    assert len(whole) == 30 and [r["checkpointing"] for r in whole[:4]] == ["none"] * 3 + ["full"]
    for size in (1, 7, 29):
        assert [r for c in p.chunks(size) for r in rows_of(c, p.header)] == whole
    assert whole == sweep("nanogpt", grid, targets=["mem_peak"], preset="gpt2", hardware="rtx-4070")


def test_large_sweep_streams_in_bounded_memory(tmp_path, monkeypatch):
    """20,000 rows as CSV and JSON, 2,048 at a time: the memory Python allocates stays far below
    the rows' size (benchmarks/bench.py times a million)."""
    import json
    import tracemalloc

    from costmodel.cli import main

    args = ["sweep", "nanogpt", "-p", "gpt2", "-H", "rtx-4070", "--grid", "micro_batch=1..40",
            "--grid", "seq_len=1..500", "-t", "mem_peak"]
    main(args[:6] + ["--grid", "micro_batch=1,2", "-t", "mem_peak"])  # registry and imports first
    monkeypatch.setattr("costmodel.sweep.CHUNK", 2048)
    for fmt in ("csv", "json"):
        out = tmp_path / f"s.{fmt}"
        tracemalloc.start()
        assert main(args + ["-f", fmt, "-o", str(out)]) == 0
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert out.stat().st_size > 300_000
        assert peak < 6 * 2**20, f"{fmt}: {peak / 2**20:.1f} MiB"  # all rows at once: ~60 MiB
    rows = json.loads(out.read_text())["rows"]
    assert len(rows) == 20_000 and rows[-1]["micro_batch"] == 40 and rows[-1]["seq_len"] == 500
