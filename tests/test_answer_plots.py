"""Plots and tables fit to send: the memory bar adds up to mem_peak, the sweep heat map crosses out
the cells above the card's memory, titles name count x card and version, CSV bytes are integers."""

from __future__ import annotations

import csv
import io

import pytest

from costmodel import api, plots


def test_memory_bar_adds_up_to_mem_peak():
    pytest.importorskip("matplotlib")
    r = api.estimate("nanochat", preset="d20", hardware="rtx-4070", values={"micro_batch": 4})
    fig = plots.memory_breakdown({"d20": r}, title=r.scenario_line)
    ax = fig.axes[0]
    top = max(p.get_y() + p.get_height() for p in ax.patches)
    assert top == pytest.approx(r["mem_peak"].m_as("GiB"), rel=1e-9)
    assert ax.get_title() == "nanochat d20 (561.0M param, v0) on 1x RTX 4070: pre-training"


def test_heat_map_crosses_out_what_does_not_fit(cli, tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "h.svg"
    code, text, err = cli("sweep", "nanochat", "-p", "d20", "-H", "2xh100-sxm", "--grid", "micro_batch=8,64",
                          "--grid", "checkpointing=none,full", "--target", "mem_peak", "--plot", str(out))
    assert code == 0, err
    svg = out.read_text()
    assert "mem_peak: nanochat d20 (v0) on 2x H100 SXM" in svg
    assert "above gpu_memory_usable" in svg


def test_csv_bytes_are_integers(cli):
    code, text, err = cli("sweep", "nanochat", "-p", "d20", "-H", "h100-sxm", "--grid", "micro_batch=4,8",
                          "--target", "mem_peak", "--target", "wall_time", "--format", "csv")
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows and all(r["mem_peak [byte]"].isdigit() for r in rows)
