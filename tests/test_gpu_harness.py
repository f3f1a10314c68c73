"""The GPU measurement harness (benchmarks/gpu/measure.py), run on the CPU with its tiny grid.

Only the logic is checked: that every point is run and predicted, that the CSV and Markdown agree,
that the costmodel scenario describes the reference model that was run, and that a CPU run can never
become validation. No timing is asserted (CPU timings are not validation).
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def measure():
    where = str(ROOT / "benchmarks" / "gpu")
    sys.path.insert(0, where)
    try:
        import measure as module
    finally:
        sys.path.remove(where)
    return module


@pytest.fixture(scope="module")
def run(measure, tmp_path_factory):
    out = tmp_path_factory.mktemp("measure")
    assert measure.main(["--device", "cpu", "--grid", "tiny", "--warmup", "0", "--steps", "1", "--out", str(out)]) == 0
    with open(out / "measurements.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return rows, (out / "measurements.md").read_text(encoding="utf-8")


def test_every_point_is_measured_and_predicted(measure, run):
    rows, _ = run
    points = measure.grid("tiny")
    assert len(rows) == len(points)
    assert {(r["family"], r["attention"], r["checkpointing"]) for r in rows} == {
        (p.family, p.attention, p.checkpointing) for p in points}
    for r in rows:
        assert r["status"] == "measured"
        assert float(r["step_ms"]) > 0
        assert float(r["predicted_low_ms"]) < float(r["predicted_ms"]) < float(r["predicted_high_ms"])
        assert float(r["predicted_peak_gib"]) > float(r["predicted_tensors_gib"]) > 0
        assert r["allocated_gib"] == ""  # no CUDA allocator on a CPU


def test_the_markdown_says_a_cpu_run_is_not_validation(run):
    _, table = run
    assert "not validation" in table
    assert table.count("| nanogpt |") == 3 and table.count("| nanochat |") == 1


def test_a_cpu_run_cannot_be_written_into_the_docs(measure, capsys):
    assert measure.main(["--device", "cpu", "--write-doc"]) == 1
    assert "not validation" in capsys.readouterr().err


def test_the_scenario_is_the_reference_model(measure):
    """costmodel's parameter count for a point equals the reference model's own count."""
    from costmodel import api

    for point in measure.grid("tiny"):
        model, _ = measure.build(point)
        result = api.estimate(point.family, hardware="h100-sxm", values=measure.scenario(point),
                              targets=["n_params"])
        assert result["n_params"].m_as("param") == model.unique_param_count(), point


def test_cards_are_recognised_from_device_names(measure):
    assert measure.card_for("NVIDIA H100 80GB HBM3") == "h100-sxm"
    assert measure.card_for("NVIDIA H100 PCIe") == "h100-pcie"
    assert measure.card_for("NVIDIA A100-SXM4-80GB") == "a100-80gb-sxm"
    assert measure.card_for("NVIDIA GeForce RTX 4070 Ti") == "rtx-4070-ti"
    assert measure.card_for("NVIDIA GeForce RTX 4070") == "rtx-4070"
    assert measure.card_for("Some Future GPU") is None
